//! `cascade`: the command line. Thin: arguments are parsed (clap), checked into a command, and run
//! against the library crates; each command lives in `commands/<name>.rs`.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad input or usage.

mod args;
mod commands;
mod failure;
mod load;
mod output;
mod table;

/// jemalloc, not the system allocator: `cascade serve` allocates and frees large buffers from many
/// threads (ingest, the watchlist's cascades, checkpoints), and glibc's per-thread arenas kept that
/// freed memory, so resident memory grew with the hours of ingest; jemalloc returns it to the
/// system (BENCHMARKS.md, "cascade serve").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read once at its start (its `malloc_conf`): freed pages go back to the
/// system after about a second instead of ten, by a background thread rather than on the next
/// allocations, so that the service's resident size follows what it holds. The environment variable
/// `_RJEM_MALLOC_CONF` (jemalloc's `MALLOC_CONF` under this build's symbol prefix) still overrides it.
#[export_name = "_rjem_malloc_conf"]
static MALLOC_CONF: MallocConf =
    MallocConf(c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr());

/// A C string pointer that can be a `static` (jemalloc only reads it).
#[repr(transparent)]
struct MallocConf(*const std::ffi::c_char);
// SAFETY: the pointer is to a `'static` C string literal, never written.
unsafe impl Sync for MallocConf {}

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::{
    adjust, backtest, bench, calibrate, clearing, compare, completions, contagion, debtrank, gen,
    greeks, import, margin, scenarios, serve, simulate, stress, validate,
};
use failure::Failure;

#[derive(Parser, Debug)]
#[command(
    name = "cascade",
    version = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("CASCADE_GIT_REV"), ")"),
    about = "Systemic credit exposure in DeFi: how one failure spreads through shared collateral, liquidations and fire sales"
)]
pub struct Cli {
    /// Worker threads, 1 to 4 × the available cores (default: all cores; RAYON_NUM_THREADS is
    /// honoured). Never changes a result.
    #[arg(long, global = true, value_parser = args::parse_threads)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load and check a snapshot (and a scenario), reporting every problem found.
    Validate(validate::ValidateArgs),
    /// Run one stress scenario through the round-by-round cascade.
    Stress(stress::StressArgs),
    /// The same stress under each liquidation mechanism (fixed bonus, Dutch auction, soft bands,
    /// absorb), side by side (docs/mechanisms.md).
    Compare(compare::CompareArgs),
    /// Monte Carlo: correlated (optionally fat-tailed) paths, each through the full cascade
    /// (docs/monte-carlo.md).
    Simulate(simulate::SimulateArgs),
    /// Haircuts and liquidation thresholds: closed forms, and the Monte Carlo bisection
    /// (docs/calibration.md).
    Calibrate(calibrate::CalibrateArgs),
    /// VaR backtests of the volatility models (EWMA, GARCH(1,1)-t, quantile regression) on a price
    /// history: exceedances, Kupiec and Christoffersen tests (docs/volatility.md).
    Backtest(backtest::BacktestArgs),
    /// The risk adjuster: haircut, LT/LTV, borrow factor and margin ratios re-estimated along price
    /// series and applied step by step, as governance would (docs/adjuster.md).
    Adjust(adjust::AdjustArgs),
    /// Exposure graph, contagion coefficients, recursive-leverage loops and concentration
    /// (docs/contagion.md).
    Contagion(contagion::ContagionArgs),
    /// Eisenberg–Noe clearing (with Rogers–Veraart default costs) on any network of liabilities.
    Clearing(clearing::ClearingArgs),
    /// DebtRank on any network of exposures.
    Debtrank(debtrank::DebtrankArgs),
    /// An account's margin explained: equity, requirements, each leg, each Greek, the binding scenario.
    Margin(margin::MarginArgs),
    /// Black-76 value and Greeks of one option (flags) or many (--file F.csv).
    Greeks(greeks::GreeksArgs),
    /// Read real protocol state over JSON-RPC at a pinned block into a snapshot (docs/import.md).
    Import(import::ImportArgs),
    /// The live monitor: ingest prices and positions over HTTP, keep risk current, serve it
    /// (docs/serve.md).
    Serve(serve::ServeArgs),
    /// Write a realistic synthetic system of any size: DIR/snapshot.toml and DIR/positions.parquet.
    Gen(gen::GenArgs),
    /// The benchmark suite: every engine timed against this machine's measured limits.
    Bench(bench::BenchArgs),
    /// List the built-in scenarios, one line each.
    Scenarios(scenarios::ScenariosArgs),
    /// Print a shell completion script (e.g. `cascade completions bash > /etc/bash_completion.d/cascade`).
    Completions(completions::CompletionsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("error: could not start {n} threads: {e}");
            return ExitCode::from(1);
        }
    }
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(msg)) => {
            eprint!("{msg}");
            if !msg.ends_with('\n') {
                eprintln!();
            }
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Validate(args) => validate::run(&args),
        Command::Stress(args) => stress::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Calibrate(args) => calibrate::run(&args),
        Command::Backtest(args) => backtest::run(&args),
        Command::Adjust(args) => adjust::run(&args),
        Command::Contagion(args) => contagion::run(&args),
        Command::Clearing(args) => clearing::run(&args),
        Command::Debtrank(args) => debtrank::run(&args),
        Command::Greeks(args) => greeks::run(&args),
        Command::Margin(args) => margin::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Gen(args) => gen::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Scenarios(args) => scenarios::run(&args),
        Command::Completions(args) => completions::run::<Cli>(&args),
    }
}
