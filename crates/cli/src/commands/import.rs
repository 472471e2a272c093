//! `cascade import`: real protocol state read over JSON-RPC at a pinned block (docs/import.md).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use cascade_chain::aave::{discover_users, parse_address, read_market};
use cascade_chain::dex::{read_pools, token_symbols};
use cascade_chain::rpc::Rpc;
use cascade_chain::snapshot::{check_out_dir, dex_curves_toml, venues, write_market};
use cascade_chain::ChainError;

use crate::failure::Failure;

/// Flags of `cascade import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(Subcommand, Debug)]
enum Source {
    /// An Aave v3 market (or a fork with the same interfaces): reserves, e-mode categories, oracle
    /// prices and every user's positions at one block → DIR/snapshot.toml and DIR/positions.parquet.
    #[command(name = "aave-v3")]
    AaveV3(AaveArgs),
    /// Uniswap v2 pairs and v3 pools (or forks with their interfaces): each pool's liquidity curve
    /// for both of its tokens at one block → a TOML file of `[[venue]]` tables whose `liquidity`
    /// lines go into a snapshot's assets.
    Dex(DexArgs),
}

/// Flags of `cascade import dex`.
#[derive(Args, Debug)]
pub struct DexArgs {
    /// JSON-RPC endpoint (http or https).
    #[arg(long, value_name = "URL")]
    rpc: String,
    /// A Uniswap v2 pair or v3 pool (told apart by the chain); repeatable.
    #[arg(long, value_name = "ADDR", required = true, num_args = 1..)]
    pool: Vec<String>,
    /// Block to read at (default: the latest).
    #[arg(long, value_name = "N")]
    block: Option<u64>,
    /// Seconds before a request is abandoned (each is retried 3 times with backoff).
    #[arg(long, value_name = "S", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Output TOML file (written whole or not at all).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Flags of `cascade import aave-v3`.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("who").required(true).args(["users", "from_block"]))]
pub struct AaveArgs {
    /// JSON-RPC endpoint (http or https).
    #[arg(long, value_name = "URL")]
    rpc: String,
    /// The market's PoolAddressesProvider.
    #[arg(long, value_name = "ADDR")]
    pool_addresses_provider: String,
    /// Block to read at (default: the latest); the same block gives the same files byte for byte.
    #[arg(long, value_name = "N")]
    block: Option<u64>,
    /// Users to read: one address per line (blank lines and `#` comments ignored).
    #[arg(long, value_name = "FILE")]
    users: Option<PathBuf>,
    /// Find the users in the pool's Supply and Borrow events from this block to --block.
    #[arg(long, value_name = "B")]
    from_block: Option<u64>,
    /// Blocks per eth_getLogs request with --from-block.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    log_range: u64,
    /// Requests per JSON-RPC batch.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// Seconds before a request is abandoned (each is retried 3 times with backoff).
    #[arg(long, value_name = "S", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Read the users with one eth_call per call instead of multicall requests (up to 700 calls in
    /// one eth_call, no contract deployed; see docs/import.md#requests).
    #[arg(long)]
    no_multicall: bool,
    /// A Uniswap v2 pair or v3 pool (or fork) whose state at the block becomes the liquidity curve
    /// of one of its tokens (the volatile one, quoted in the stablecoin): a constant product for a
    /// pair, concentrated liquidity for a v3 pool; repeatable. Assets without a pool get an assumed
    /// curve. See docs/import.md#dex-liquidity.
    #[arg(long = "dex-pool", value_name = "ADDR")]
    dex_pools: Vec<String>,
    /// Output folder (new or empty): snapshot.toml and positions.parquet.
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
}

pub fn run(a: &ImportArgs) -> Result<(), Failure> {
    match &a.source {
        Source::AaveV3(args) => aave(args),
        Source::Dex(args) => dex(args),
    }
}

fn addresses(flag: &str, list: &[String]) -> Result<Vec<alloy_primitives::Address>, Failure> {
    list.iter()
        .map(|p| parse_address(p).map_err(|e| Failure::Input(format!("error: {flag} {e}"))))
        .collect()
}

fn dex(a: &DexArgs) -> Result<(), Failure> {
    let pools = addresses("--pool", &a.pool)?;
    crate::output::check_output_path("--out", &a.out)?;
    let rpc = Rpc::new(&a.rpc, Duration::from_secs(a.timeout));
    let block = rpc.block(a.block).map_err(chain)?;
    let read = read_pools(&rpc, block.number, &pools).map_err(chain)?;
    let symbols = token_symbols(&rpc, block.number, &read).map_err(chain)?;
    let text = dex_curves_toml(&read, &symbols, block.number).map_err(chain)?;
    crate::output::write_file(&a.out, text.as_bytes())?;
    eprintln!(
        "wrote {}: {} pool(s), {} curve(s) at block {} (timestamp {})",
        a.out.display(),
        read.len(),
        2 * read.len(),
        block.number,
        block.timestamp
    );
    Ok(())
}

fn chain(e: ChainError) -> Failure {
    if e.is_usage() {
        Failure::Input(format!("error: {e}"))
    } else {
        Failure::Runtime(anyhow::Error::new(e))
    }
}

/// The addresses of a users file, one a line; every bad line is reported.
fn read_users(path: &Path) -> Result<Vec<alloy_primitives::Address>, Failure> {
    let file = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Input(format!("error: {file}: cannot read: {e}")))?;
    let mut users = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match parse_address(line) {
            Ok(a) => users.push(a),
            Err(e) => errors.push(format!("error: {file}:{}: {e}", i + 1)),
        }
    }
    if !errors.is_empty() {
        return Err(Failure::Input(errors.join("\n")));
    }
    if users.is_empty() {
        return Err(Failure::Input(format!(
            "error: {file}: no addresses; expected one user address per line"
        )));
    }
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

fn aave(a: &AaveArgs) -> Result<(), Failure> {
    let provider = parse_address(&a.pool_addresses_provider)
        .map_err(|e| Failure::Input(format!("error: --pool-addresses-provider {e}")))?;
    check_out_dir(&a.out_dir).map_err(chain)?;
    let dex_pools = addresses("--dex-pool", &a.dex_pools)?;
    let listed = match &a.users {
        Some(p) => Some(read_users(p)?),
        None => None,
    };
    let t0 = Instant::now();
    let rpc = Rpc::new(&a.rpc, Duration::from_secs(a.timeout))
        .with_batch(a.batch as usize)
        .with_multicall(!a.no_multicall);
    let block = rpc.block(a.block).map_err(chain)?;
    let users = match (listed, a.from_block) {
        (Some(u), _) => u,
        (None, Some(from)) => {
            if from > block.number {
                return Err(Failure::Input(format!(
                    "error: --from-block {from} is after the block read, {}",
                    block.number
                )));
            }
            let u =
                discover_users(&rpc, provider, (from, block.number), a.log_range).map_err(chain)?;
            eprintln!(
                "found {} users in blocks {from}..={} ({} log requests)",
                u.len(),
                block.number,
                rpc.requests_sent()
            );
            u
        }
        (None, None) => {
            return Err(Failure::Input(
                "error: expected --users FILE or --from-block B".into(),
            ))
        }
    };
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(users.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} users, {elapsed} elapsed, eta {eta}",
        ) {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let market = read_market(&rpc, provider, block, &users, &mut |done, _| {
        bar.set_position(done as u64)
    })
    .map_err(chain)?;
    bar.finish_and_clear();
    let pools = read_pools(&rpc, block.number, &dex_pools).map_err(chain)?;
    let venues = venues(&market, &pools).map_err(chain)?;
    write_market(&market, &venues, &a.out_dir).map_err(chain)?;
    let snap_path = a.out_dir.join("snapshot.toml");
    // What was written must load: a failure here is a bug of the importer, said as such.
    let (snap, diags) = cascade_io::load_snapshot(&snap_path).map_err(|e| {
        Failure::Runtime(anyhow::anyhow!(
            "the written snapshot does not load (an importer bug, please report it):\n{}",
            e.diagnostics
        ))
    })?;
    let assumed = diags
        .items
        .iter()
        .filter(|d| d.field.ends_with("assumed"))
        .count();
    eprintln!(
        "wrote {}: {} reserves, {} e-mode categories, {} users with positions, {} positions at block {} (timestamp {}); {} requests in {} batches ({} calls inside multicalls), {:.1} s",
        snap_path.display(),
        market.reserves.len(),
        market.emodes.len(),
        snap.accounts.len(),
        snap.positions.len(),
        block.number,
        block.timestamp,
        rpc.requests_sent(),
        rpc.batches_sent(),
        rpc.calls_in_multicalls(),
        t0.elapsed().as_secs_f64()
    );
    if let Some(what) = rpc.multicall_refused() {
        eprintln!("note: the endpoint refused a multicall ({what}); the users were read with one eth_call per call from there on");
    }
    if assumed > 0 {
        eprintln!(
            "warning: {assumed} asset(s) have an assumed liquidity curve (no DEX pool read): fire-sale prices are illustrative; see docs/import.md#liquidity"
        );
    }
    Ok(())
}
