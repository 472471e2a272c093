//! `cascade`: the command line (DESIGN §15). Thin: arguments are parsed (clap), checked into a
//! command, and run against the library crates.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad input or usage.

mod bench;
mod builtin;
mod greeks;
mod margin;
mod table;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use cascade_io::{Diagnostics, Format, LoadError, Location, Severity};
use cascade_model::{Scenario, Snapshot};

#[derive(Parser, Debug)]
#[command(
    name = "cascade",
    version,
    about = "Systemic credit exposure in DeFi: how one failure spreads through shared collateral, liquidations and fire sales"
)]
struct Cli {
    /// Worker threads (default: all cores; RAYON_NUM_THREADS is honoured). Never changes a result.
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct SnapshotArg {
    /// Snapshot file (TOML or JSON); default: the built-in example system.
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load and check a snapshot (and a scenario), reporting every problem found.
    Validate {
        #[command(flatten)]
        snapshot: SnapshotArg,
        /// A scenario file or built-in name to check against the snapshot.
        #[arg(long, value_name = "FILE|NAME")]
        scenario: Option<String>,
        /// Findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one stress scenario through the round-by-round cascade.
    Stress(StressArgs),
    /// Monte Carlo: correlated (optionally fat-tailed) paths, each through the full cascade (DESIGN §11).
    Simulate(SimulateArgs),
    /// Haircuts and liquidation thresholds: closed forms, and the Monte Carlo bisection (DESIGN §12).
    Calibrate(CalibrateArgs),
    /// Exposure graph, contagion coefficients, recursive-leverage loops and concentration (DESIGN §13).
    Contagion(ContagionArgs),
    /// Eisenberg–Noe clearing (with Rogers–Veraart default costs) on any network of liabilities.
    Clearing(ClearingArgs),
    /// DebtRank on any network of exposures.
    Debtrank(DebtrankArgs),
    /// An account's margin explained: equity, requirements, each leg, each Greek, the binding scenario.
    Margin(margin::MarginArgs),
    /// Black-76 value and Greeks of one option (flags) or many (--file F.csv) (DESIGN §6).
    Greeks(greeks::GreeksArgs),
    /// Write a realistic synthetic system of any size: DIR/snapshot.toml and DIR/positions.parquet.
    Gen {
        /// Number of accounts.
        #[arg(long)]
        accounts: usize,
        /// Random seed; the same seed gives the same system bit for bit.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Position file format.
        #[arg(long, value_parser = ["parquet", "csv"], default_value = "parquet")]
        format: String,
        /// Also add a derivatives clearinghouse with this many portfolio-margined accounts (a perp
        /// and options on listed series each; their draws do not change the lending book).
        #[arg(long, default_value_t = 0)]
        derivative_accounts: usize,
        /// Options per derivatives account.
        #[arg(long, default_value_t = 10)]
        options_per_account: usize,
    },
    /// The benchmark suite: every engine timed against this machine's measured limits (issue 7).
    Bench(bench::BenchArgs),
}

#[derive(Args, Debug)]
struct StressArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// Scenario file or built-in name (eth-crash, steth-depeg, bridge-hack); default eth-crash.
    #[arg(long, value_name = "FILE|NAME", default_value = "eth-crash")]
    scenario: String,
    /// Circuit breakers: as configured (on), ignored (off), or both runs side by side.
    #[arg(long, value_parser = ["on", "off", "both"], default_value = "on")]
    breakers: String,
    /// JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON result to this file (written whole or not at all).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print load and cascade wall-clock times to stderr.
    #[arg(long)]
    timings: bool,
    /// Also write a self-contained HTML report with charts (written whole or not at all).
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SimulateArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// Number of paths.
    #[arg(long, default_value_t = 1000)]
    paths: usize,
    /// Horizon in days (365-day year).
    #[arg(long, default_value_t = 1.0)]
    horizon_days: f64,
    /// Random seed; the same seed gives the same figures bit for bit, whatever the thread count.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Distribution of the standardised shocks.
    #[arg(long, value_parser = ["normal", "t"], default_value = "normal")]
    dist: String,
    /// Degrees of freedom of the Student-t (> 2).
    #[arg(long, default_value_t = 4.0)]
    dof: f64,
    /// Antithetic variates: odd paths mirror the shocks of the even path before them.
    #[arg(long)]
    antithetic: bool,
    /// A jump/depeg event, ASSET=PROBABILITY:SIZE (e.g. stETH=0.02:-0.07); repeatable.
    #[arg(long = "jump", value_name = "ASSET=P:SIZE")]
    jumps: Vec<String>,
    /// Confidence levels of VaR and ES.
    #[arg(long, value_delimiter = ',', default_value = "0.95,0.99,0.999")]
    alphas: Vec<f64>,
    /// Circuit breakers as configured (on) or ignored (off).
    #[arg(long, value_parser = ["on", "off"], default_value = "on")]
    breakers: String,
    /// Rounds per path at most.
    #[arg(long, default_value_t = 50)]
    max_rounds: u32,
    /// JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write every path's results to this Parquet file (written whole or not at all).
    #[arg(long, value_name = "FILE.parquet")]
    out: Option<PathBuf>,
    /// Also compute each asset's marginal contribution to system ES 99% (one extra run per asset: the
    /// change in ES when its volatility rises 1%, same paths).
    #[arg(long)]
    contributions: bool,
    /// Also write a self-contained HTML report: loss distribution with VaR/ES, figures per protocol,
    /// and the worst path's cascade (written whole or not at all).
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct CalibrateArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// Confidence level of the haircut and of the ES budget.
    #[arg(long, default_value_t = 0.99)]
    alpha: f64,
    /// Days to sell a position (the haircut's horizon T).
    #[arg(long, default_value_t = 1.0)]
    days: f64,
    /// ES budget: a share of each protocol's supplied value.
    #[arg(long, default_value_t = 0.01)]
    budget: f64,
    /// Monte Carlo paths per evaluation (0: closed forms only). Every reserve takes about 30 evaluations.
    #[arg(long, default_value_t = 200)]
    paths: usize,
    /// Monte Carlo horizon in days.
    #[arg(long, default_value_t = 1.0)]
    horizon_days: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Distribution of the Monte Carlo shocks.
    #[arg(long, value_parser = ["normal", "t"], default_value = "t")]
    dist: String,
    #[arg(long, default_value_t = 4.0)]
    dof: f64,
    /// The supply search scales holders up to this many times today's supply.
    #[arg(long, default_value_t = 4.0)]
    max_supply_factor: f64,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ContagionArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// The stress whose bad debt is attributed to looped positions (file or built-in name).
    #[arg(long, value_name = "FILE|NAME", default_value = "eth-crash")]
    scenario: String,
    /// Also write the exposure graph as Graphviz DOT.
    #[arg(long, value_name = "FILE.dot")]
    dot: Option<PathBuf>,
    /// Also write the exposure graph as a CSV edge list (from,to,kind,asset,usd).
    #[arg(long, value_name = "FILE.csv")]
    edges: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ClearingArgs {
    /// Liabilities: `debtor,creditor,amount` (or a dense matrix whose header starts with an empty cell).
    #[arg(long, value_name = "L.csv")]
    liabilities: PathBuf,
    /// External assets: `node,external_assets[,external_liabilities]`.
    #[arg(long, value_name = "E.csv")]
    external_assets: PathBuf,
    /// Rogers–Veraart: share of external assets a defaulting node realises (1 = no cost).
    #[arg(long, default_value_t = 1.0)]
    alpha: f64,
    /// Rogers–Veraart: share of interbank receipts a defaulting node realises (1 = no cost).
    #[arg(long, default_value_t = 1.0)]
    beta: f64,
    /// Shock every node's external assets by this share (0.1 = −10%) before clearing.
    #[arg(long, default_value_t = 0.0)]
    shock: f64,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct DebtrankArgs {
    /// Exposures: `creditor,debtor,amount` (the creditor loses if the debtor is distressed).
    #[arg(long, value_name = "X.csv")]
    exposures: PathBuf,
    /// Equity: `node,equity[,weight]` (weight = economic value, default equity).
    #[arg(long, value_name = "Q.csv")]
    equity: PathBuf,
    /// Initial distress, NODE=FRACTION; repeatable. Without any, every node's DebtRank when it alone
    /// is fully distressed.
    #[arg(long = "shock", value_name = "NODE=FRACTION")]
    shocks: Vec<String>,
    /// `original` (Battiston et al. 2012) or `differential` (Bardoscia et al. 2015).
    #[arg(long, value_parser = ["original", "differential"], default_value = "differential")]
    variant: String,
    #[arg(long)]
    json: bool,
}

/// A failure, with the exit code it maps to.
enum Failure {
    /// Bad input: diagnostics already formatted.
    Input(String),
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Runtime(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if n == 0 {
            eprintln!("error: --threads must be at least 1");
            return ExitCode::from(2);
        }
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

fn input(d: Diagnostics) -> Failure {
    Failure::Input(d.to_string())
}

fn run(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Validate {
            snapshot,
            scenario,
            json,
        } => validate(&snapshot, scenario.as_deref(), json),
        Command::Stress(args) => stress(&args),
        Command::Simulate(args) => simulate(&args),
        Command::Calibrate(args) => calibrate(&args),
        Command::Contagion(args) => contagion(&args),
        Command::Clearing(args) => clearing(&args),
        Command::Debtrank(args) => debtrank(&args),
        Command::Greeks(args) => greeks::run(&args),
        Command::Margin(args) => margin::run(&args),
        Command::Gen {
            accounts,
            seed,
            out,
            format,
            derivative_accounts,
            options_per_account,
        } => gen(
            accounts,
            seed,
            &out,
            &format,
            &cascade_gen::GenOptions {
                derivative_accounts,
                options_per_account,
            },
        ),
        Command::Bench(args) => bench::bench(&args),
    }
}

/// The snapshot named by `--snapshot`, or the built-in one, with its warnings; or every problem found.
fn load_snapshot(arg: &SnapshotArg) -> Result<(Snapshot, Diagnostics), Diagnostics> {
    let r = match &arg.snapshot {
        Some(path) => cascade_io::load::load_snapshot(path),
        None => {
            cascade_io::snapshot_from_str(builtin::SYSTEM_TOML, Format::Toml, builtin::SYSTEM_NAME)
        }
    };
    r.map_err(|e: LoadError| e.diagnostics)
}

/// A scenario: a file if one exists at `arg`, else a built-in name.
fn load_scenario(arg: &str, snapshot: &Snapshot) -> Result<(Scenario, Diagnostics), Diagnostics> {
    let file_error = |msg: String| {
        let mut d = Diagnostics::new();
        d.error(arg, Location::File, "", msg);
        d
    };
    let path = Path::new(arg);
    if !path.exists() {
        return match builtin::scenario(arg) {
            Some(text) => {
                let name = format!("<builtin>/{arg}.toml");
                cascade_io::parse_scenario(text, Format::Toml, &name, snapshot)
                    .map_err(|e| e.diagnostics)
            }
            None => Err(file_error(format!(
                "no such scenario file, and not a built-in scenario (built-in: {})",
                builtin::scenario_names().join(", ")
            ))),
        };
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| file_error(format!("cannot read: {e}")))?;
    if text.trim().is_empty() {
        return Err(file_error("the file is empty; expected a scenario".into()));
    }
    cascade_io::parse_scenario(&text, Format::from_path(arg), arg, snapshot)
        .map_err(|e| e.diagnostics)
}

fn print_warnings(d: &Diagnostics) {
    for w in d.warnings() {
        eprintln!("{w}");
    }
}

fn validate(snapshot: &SnapshotArg, scenario: Option<&str>, json: bool) -> Result<(), Failure> {
    let mut diags = Diagnostics::new();
    let mut summary = None;
    match load_snapshot(snapshot) {
        Err(d) => diags.extend(d),
        Ok((snap, d)) => {
            diags.extend(d);
            if let Some(sc) = scenario {
                match load_scenario(sc, &snap) {
                    Ok((_, d)) | Err(d) => diags.extend(d),
                }
            }
            let derivatives = if snap.perps.is_empty() && snap.options.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} perps, {} options",
                    snap.perps.len(),
                    snap.options.len()
                )
            };
            summary = Some(format!(
                "{} — {} assets, {} protocols, {} accounts, {} positions{derivatives}",
                snap.source,
                snap.assets.len(),
                snap.protocols.len(),
                snap.accounts.len(),
                snap.positions.len()
            ));
        }
    }
    let failed = diags.has_errors();
    if json {
        println!("{}", findings_json(&diags));
    } else {
        eprint!("{diags}");
        if let (false, Some(s)) = (failed, summary) {
            println!(
                "ok: {s}{}",
                match diags.warnings().count() {
                    0 => String::new(),
                    n => format!(", {n} warning(s)"),
                }
            );
        } else {
            eprintln!("{} error(s)", diags.error_count());
        }
    }
    if failed {
        Err(Failure::Input(String::new()))
    } else {
        Ok(())
    }
}

fn findings_json(d: &Diagnostics) -> String {
    let items: Vec<serde_json::Value> = d
        .items
        .iter()
        .map(|x| {
            let (line, row) = match x.location {
                Location::Line(l) => (Some(l as u64), None),
                Location::Row(r) => (None, Some(r)),
                Location::File => (None, None),
            };
            serde_json::json!({
                "severity": if x.severity == Severity::Error { "error" } else { "warning" },
                "file": x.file, "line": line, "row": row, "field": x.field, "message": x.message(),
            })
        })
        .collect();
    let v = serde_json::json!({ "ok": !d.has_errors(), "findings": items });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn stress(args: &StressArgs) -> Result<(), Failure> {
    let t0 = std::time::Instant::now();
    let (snap, d1) = load_snapshot(&args.snapshot).map_err(input)?;
    let (sc, d2) = load_scenario(&args.scenario, &snap).map_err(input)?;
    let load_s = t0.elapsed().as_secs_f64();
    print_warnings(&d1);
    print_warnings(&d2);
    let t1 = std::time::Instant::now();
    let modes: &[bool] = match args.breakers.as_str() {
        "off" => &[false],
        "both" => &[true, false],
        _ => &[true],
    };
    let results: Vec<_> = modes
        .iter()
        .map(|&breakers| {
            cascade_engine::run_with(
                &snap,
                &sc,
                &cascade_engine::Options {
                    breakers,
                    ..Default::default()
                },
            )
        })
        .collect();
    if args.timings {
        eprintln!(
            "timings: load {load_s:.3} s ({} accounts, {} positions), cascade {:.3} s ({} run{}, {} rounds)",
            snap.accounts.len(),
            snap.positions.len(),
            t1.elapsed().as_secs_f64(),
            results.len(),
            if results.len() == 1 { "" } else { "s" },
            results[0].system.rounds
        );
    }
    let value = if let [on, off] = results.as_slice() {
        serde_json::json!({ "breakers_on": on, "breakers_off": off })
    } else {
        serde_json::to_value(&results[0]).context("serialising the result")?
    };
    let text = serde_json::to_string_pretty(&value).context("serialising the result")?;
    if let Some(out) = &args.output {
        cascade_io::write::write_atomic(out, format!("{text}\n").as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if let Some(path) = &args.report {
        let html = results
            .iter()
            .map(|r| cascade_report::stress_html(&snap, r))
            .collect::<Vec<_>>()
            .join("\n");
        cascade_io::write::write_atomic(path, html.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(stdout, "{text}").context("writing to stdout")?;
    } else {
        let table = if let [on, off] = results.as_slice() {
            table::breakers_table(&snap, on, off)
        } else {
            table::stress_table(&snap, &results[0])
        };
        write!(stdout, "{table}").context("writing to stdout")?;
    }
    // The process ends after this command: handing a million accounts' strings back to the allocator
    // one by one would cost ~0.2 s for nothing, as the OS reclaims the memory at exit.
    std::mem::forget(snap);
    Ok(())
}

/// Checks `simulate`'s arguments against the snapshot (usage errors exit 2).
fn simulation_spec(
    a: &SimulateArgs,
    snap: &Snapshot,
) -> Result<cascade_risk::simulate::SimulationSpec, Failure> {
    use cascade_risk::paths::{Dist, Jump};
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    if a.paths == 0 {
        return Err(bad("--paths must be at least 1".into()));
    }
    if !(a.horizon_days > 0.0 && a.horizon_days.is_finite()) {
        return Err(bad(format!(
            "--horizon-days = {}, expected a number of days > 0",
            a.horizon_days
        )));
    }
    if let Some(x) = a.alphas.iter().find(|x| !(**x > 0.0 && **x < 1.0)) {
        return Err(bad(format!(
            "--alphas: {x} is not a confidence level in (0, 1)"
        )));
    }
    let dist = match a.dist.as_str() {
        "t" if a.dof > 2.0 => Dist::StudentT { dof: a.dof },
        "t" => {
            return Err(bad(format!(
                "--dof = {}, expected more than 2 (unit variance)",
                a.dof
            )))
        }
        _ => Dist::Normal,
    };
    let mut jumps = Vec::new();
    for j in &a.jumps {
        let parsed = j.split_once('=').and_then(|(asset, rest)| {
            let (p, size) = rest.split_once(':')?;
            Some((
                asset,
                p.trim().parse::<f64>().ok()?,
                size.trim().parse::<f64>().ok()?,
            ))
        });
        let Some((asset, probability, size)) = parsed else {
            return Err(bad(format!(
                "--jump {j}: expected ASSET=PROBABILITY:SIZE, e.g. stETH=0.02:-0.07"
            )));
        };
        let Some(idx) = snap.asset_idx(asset) else {
            return Err(bad(format!("--jump {j}: unknown asset \"{asset}\"")));
        };
        if !((0.0..=1.0).contains(&probability) && size > -1.0 && size.is_finite()) {
            return Err(bad(format!(
                "--jump {j}: expected a probability in [0, 1] and a size above −1"
            )));
        }
        jumps.push(Jump {
            asset: idx,
            probability,
            size,
        });
    }
    Ok(cascade_risk::simulate::SimulationSpec {
        paths: a.paths,
        horizon_days: a.horizon_days,
        seed: a.seed,
        dist,
        jumps,
        antithetic: a.antithetic,
        alphas: a.alphas.clone(),
        breakers: a.breakers == "on",
        max_rounds: a.max_rounds.max(1),
    })
}

fn simulate(a: &SimulateArgs) -> Result<(), Failure> {
    use std::io::IsTerminal;
    let (snap, d) = load_snapshot(&a.snapshot).map_err(input)?;
    print_warnings(&d);
    let spec = simulation_spec(a, &snap)?;
    // A progress bar on a terminal only; none when stderr is piped.
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(spec.paths as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} paths, {elapsed} elapsed, eta {eta}",
        ) {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let t0 = std::time::Instant::now();
    let sim = cascade_risk::simulate::simulate(&snap, &spec, &|| bar.inc(1))
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    bar.finish_and_clear();
    for w in &sim.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(out) = &a.out {
        let mut cols: Vec<(String, Vec<f64>)> = vec![
            (
                "path".into(),
                sim.paths.iter().map(|p| p.path as f64).collect(),
            ),
            (
                "loss_usd".into(),
                sim.paths.iter().map(|p| p.loss_usd).collect(),
            ),
            (
                "bad_debt_usd".into(),
                sim.paths.iter().map(|p| p.bad_debt_usd).collect(),
            ),
            (
                "liquidated_debt_usd".into(),
                sim.paths.iter().map(|p| p.liquidated_debt_usd).collect(),
            ),
            (
                "rounds".into(),
                sim.paths.iter().map(|p| f64::from(p.rounds)).collect(),
            ),
        ];
        for (k, id) in sim.protocols.iter().enumerate() {
            cols.push((
                format!("loss_usd.{id}"),
                sim.paths.iter().map(|p| p.protocol_loss_usd[k]).collect(),
            ));
        }
        for (k, id) in sim.assets.iter().enumerate() {
            cols.push((
                format!("log_return.{id}"),
                sim.paths.iter().map(|p| p.log_returns[k]).collect(),
            ));
        }
        cascade_io::write::write_f64_table_parquet(out, &cols)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    let contributions = if a.contributions {
        cascade_risk::simulate::es_contributions(&snap, &spec, 0.99, 0.01, &sim)
            .map_err(|e| Failure::Input(format!("error: {e}")))?
    } else {
        Vec::new()
    };
    if let Some(path) = &a.report {
        let html = simulation_report(&snap, &sim, &spec);
        cascade_io::write::write_atomic(path, html.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let mut stdout = std::io::stdout().lock();
    if a.json {
        let mut v = sim.to_json();
        if a.contributions {
            v["es_99_contributions_usd_per_1pct_vol"] = serde_json::json!(contributions
                .iter()
                .map(|(id, x)| serde_json::json!({"asset": id, "delta_es_99_usd": x}))
                .collect::<Vec<_>>());
        }
        let text = serde_json::to_string_pretty(&v).context("serialising the result")?;
        writeln!(stdout, "{text}").context("writing to stdout")?;
    } else {
        write!(stdout, "{}", table::simulation_table(&snap, &sim, elapsed))
            .context("writing to stdout")?;
        if a.contributions {
            writeln!(stdout, "\nmarginal contribution to system ES 99% — change when the asset's volatility rises 1% (same paths):")
                .context("writing to stdout")?;
            for (id, x) in &contributions {
                writeln!(
                    stdout,
                    "  {id:<8} {:>+12}",
                    cascade_engine::trace::fmt_usd(*x)
                )
                .context("writing to stdout")?;
            }
        }
    }
    std::mem::forget(snap);
    Ok(())
}

/// The `simulate --report` page: the system loss distribution with VaR/ES marked, figures per
/// protocol, and the worst path re-run in full (its price paths, liquidations by round and trace).
fn simulation_report(
    snap: &Snapshot,
    sim: &cascade_risk::simulate::Simulation,
    spec: &cascade_risk::simulate::SimulationSpec,
) -> String {
    use cascade_engine::trace::fmt_usd;
    use cascade_report::{loss_distribution_svg, simulation_html, Section};
    let system = sim.system();
    let label = |a: f64| format!("{}%", a * 100.0);
    let var: Vec<(String, f64)> = system
        .var
        .iter()
        .map(|(a, e)| (label(*a), e.value))
        .collect();
    let es: Vec<(String, f64)> = system
        .es
        .iter()
        .map(|(a, e)| (label(*a), e.value))
        .collect();
    let losses: Vec<f64> = sim.paths.iter().map(|p| p.loss_usd).collect();
    let mut header = vec![String::new(), "P(loss > 0)".into(), "mean".into()];
    for (a, _) in &system.var {
        header.push(format!("VaR {}", label(*a)));
        header.push(format!("ES {}", label(*a)));
    }
    header.push("LaR 95%".into());
    let mut rows = vec![header];
    let figures = std::iter::once(("system".to_string(), system.clone())).chain(
        sim.protocols
            .iter()
            .enumerate()
            .map(|(k, id)| (id.clone(), sim.protocol(k))),
    );
    for (id, f) in figures {
        let mut row = vec![
            id,
            format!("{:.2}%", 100.0 * f.p_bad_debt.value),
            fmt_usd(f.mean_loss_usd),
        ];
        for ((_, v), (_, e)) in f.var.iter().zip(&f.es) {
            row.push(format!(
                "{} [{}, {}]",
                fmt_usd(v.value),
                fmt_usd(v.ci[0]),
                fmt_usd(v.ci[1])
            ));
            row.push(format!(
                "{} [{}, {}]",
                fmt_usd(e.value),
                fmt_usd(e.ci[0]),
                fmt_usd(e.ci[1])
            ));
        }
        row.push(fmt_usd(f.lar_95.value));
        rows.push(row);
    }
    let mut sections = vec![Section::new("Loss distribution")
        .with_text(format!(
            "{} paths over {} day(s), seed {}. Loss = insolvent debt (bad debt + final shortfall), USD; intervals are 95%.",
            sim.paths.len(),
            spec.horizon_days,
            spec.seed
        ))
        .with_svg(loss_distribution_svg(&losses, &var, &es, "System loss per path"))
        .with_table(rows)];
    // The worst path, re-run with its details.
    if let Some(worst) = sim
        .paths
        .iter()
        .max_by(|a, b| a.loss_usd.total_cmp(&b.loss_usd))
    {
        if let Ok(model) = cascade_risk::paths::PathModel::new(
            snap,
            spec.horizon_days,
            spec.dist,
            spec.jumps.clone(),
        ) {
            let draw = model.draw(spec.seed, worst.path, spec.antithetic);
            let sc = model.scenario(
                &draw,
                format!("worst path ({})", worst.path),
                spec.max_rounds,
            );
            let options = cascade_engine::Options {
                breakers: spec.breakers,
                detail: true,
            };
            let r = cascade_engine::run_with(snap, &sc, &options);
            sections.push(
                Section::new("The worst path")
                    .with_text(format!(
                        "Path {} lost {}; its cascade in full follows.",
                        worst.path,
                        fmt_usd(worst.loss_usd)
                    ))
                    .with_svg(extract_body(&cascade_report::stress_html(snap, &r))),
            );
        }
    }
    simulation_html(&format!("Monte Carlo: {}", snap.name), &sections)
}

/// The `<body>` of a report page, to embed it in another.
fn extract_body(html: &str) -> String {
    let start = html.find("<body>").map_or(0, |i| i + "<body>".len());
    let end = html.rfind("</body>").unwrap_or(html.len());
    html[start..end].to_string()
}

fn contagion(a: &ContagionArgs) -> Result<(), Failure> {
    use cascade_contagion::snapshot as cs;
    let (snap, d1) = load_snapshot(&a.snapshot).map_err(input)?;
    let (sc, d2) = load_scenario(&a.scenario, &snap).map_err(input)?;
    print_warnings(&d1);
    print_warnings(&d2);
    // Built once: every analysis below starts from the same prepared snapshot.
    let prepared = cascade_engine::Prepared::new(&snap);
    let edges = cs::exposure_graph(&snap, &prepared);
    let coefficients = cs::contagion_coefficients(&snap, &prepared);
    let loops = cs::loops(&snap, &prepared, &sc);
    let concentration = cs::concentration(&snap, &prepared);
    let debtrank = cs::snapshot_debtrank(
        &snap,
        &prepared,
        cascade_contagion::debtrank::Variant::Differential,
    );
    if let Some(path) = &a.dot {
        cascade_io::write::write_atomic(path, cs::to_dot(&snap, &edges).as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &a.edges {
        let mut csv = String::from("from,to,kind,asset,usd\n");
        for e in &edges {
            let q = |x: &str| {
                if x.contains([',', '"', '\n']) {
                    format!("\"{}\"", x.replace('"', "\"\""))
                } else {
                    x.to_string()
                }
            };
            csv.push_str(&format!(
                "{},{},{},{},{:?}\n",
                q(&e.from),
                q(&e.to),
                q(&e.kind),
                q(&e.asset),
                e.usd
            ));
        }
        cascade_io::write::write_atomic(path, csv.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if a.json {
        let v = serde_json::json!({
            "snapshot": snap.name,
            "exposure_graph": edges,
            "contagion_coefficients": coefficients,
            "loops": loops,
            "loops_scenario": sc.name,
            "concentration": concentration,
            "debtrank": debtrank.iter().map(|(p, d)| serde_json::json!({"protocol": p, "debtrank": d})).collect::<Vec<_>>(),
            "debtrank_note": "differential DebtRank of each protocol alone fully distressed; exposures = the graph's claims, equity = first-loss buffer, weight = TVL",
        });
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&v).context("JSON")?
        )
        .context("writing to stdout")?;
    } else {
        write!(
            stdout,
            "{}",
            table::contagion_table(
                &snap,
                &edges,
                &coefficients,
                &loops,
                &sc.name,
                &concentration
            )
        )
        .context("writing to stdout")?;
        writeln!(stdout, "\nDebtRank (differential) of each protocol alone fully distressed — claims as exposures, first-loss buffers as equity, TVL as weight:")
            .context("writing to stdout")?;
        for (p, d) in &debtrank {
            writeln!(stdout, "  {p:<14} {d:>8.4}").context("writing to stdout")?;
        }
    }
    Ok(())
}

fn clearing(a: &ClearingArgs) -> Result<(), Failure> {
    use cascade_contagion::clearing::{clear, ClearingOptions};
    use cascade_contagion::network::NetworkBuilder;
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    let tables = cascade_io::network::read_clearing_network(&a.liabilities, &a.external_assets)
        .map_err(|e| input(e.diagnostics))?;
    let net = NetworkBuilder::from(tables).build();
    let options = ClearingOptions::with_costs(a.alpha, a.beta)
        .and_then(|o| o.with_asset_shock(a.shock))
        .map_err(|e| bad(e.to_string()))?;
    let c = clear(&net, &options).map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
    let mut stdout = std::io::stdout().lock();
    if a.json {
        let map =
            |v: &dyn Fn(usize) -> serde_json::Value| -> serde_json::Map<String, serde_json::Value> {
                net.names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), v(i)))
                    .collect()
            };
        let out = serde_json::json!({
            "payments": map(&|i| serde_json::json!(c.payments[i])),
            "obligations": map(&|i| serde_json::json!(c.obligations[i])),
            "recovery": map(&|i| serde_json::json!(c.recovery[i])),
            "default_round": map(&|i| serde_json::json!(c.default_round[i])),
            "rounds": c.rounds,
            "alpha": a.alpha, "beta": a.beta, "shock": a.shock,
        });
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&out).context("JSON")?
        )
        .context("writing to stdout")?;
    } else {
        writeln!(stdout, "Eisenberg–Noe clearing: {} nodes, {} default round(s), α = {}, β = {}, external assets −{}%\n", net.len(), c.rounds, a.alpha, a.beta, a.shock * 100.0)
            .context("writing to stdout")?;
        writeln!(
            stdout,
            "{:<16} {:>16} {:>16} {:>9} {:>8}",
            "node", "obligation", "payment", "recovery", "default"
        )
        .context("writing to stdout")?;
        for (i, n) in net.names.iter().enumerate() {
            writeln!(
                stdout,
                "{:<16} {:>16.6} {:>16.6} {:>8.4}% {:>8}",
                n,
                c.obligations[i],
                c.payments[i],
                100.0 * c.recovery[i],
                c.default_round[i].map_or("—".to_string(), |r| format!("round {r}"))
            )
            .context("writing to stdout")?;
        }
    }
    Ok(())
}

fn debtrank(a: &DebtrankArgs) -> Result<(), Failure> {
    use cascade_contagion::debtrank::{
        debtrank as run_debtrank, shock_vector, DebtRankOptions, Variant,
    };
    use cascade_contagion::network::NetworkBuilder;
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    let tables = cascade_io::network::read_debtrank_network(&a.exposures, &a.equity)
        .map_err(|e| input(e.diagnostics))?;
    let net = NetworkBuilder::from(tables).build();
    let variant = if a.variant == "original" {
        Variant::Original
    } else {
        Variant::Differential
    };
    let options = DebtRankOptions::new(variant);
    let mut stdout = std::io::stdout().lock();
    if a.shocks.is_empty() {
        // Every node's DebtRank when it alone is fully distressed.
        let mut rows = Vec::new();
        for (i, n) in net.names.iter().enumerate() {
            let mut h0 = vec![0.0; net.len()];
            h0[i] = 1.0;
            let r = run_debtrank(&net, &h0, &options).map_err(|e| bad(e.to_string()))?;
            rows.push((n.clone(), r.debtrank, r.rounds));
        }
        rows.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        if a.json {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(n, d, r)| serde_json::json!({"node": n, "debtrank": d, "rounds": r}))
                .collect();
            writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"variant": a.variant, "by_node": v})
                )
                .context("JSON")?
            )
            .context("writing to stdout")?;
        } else {
            writeln!(
                stdout,
                "DebtRank ({}) of each node alone fully distressed:",
                a.variant
            )
            .context("writing to stdout")?;
            for (n, d, r) in rows {
                writeln!(stdout, "  {n:<16} {d:>8.4}  ({r} rounds)")
                    .context("writing to stdout")?;
            }
        }
        return Ok(());
    }
    let mut pairs: Vec<(String, f64)> = Vec::new();
    for sh in &a.shocks {
        let Some((node, f)) = sh
            .split_once('=')
            .and_then(|(n, f)| f.trim().parse::<f64>().ok().map(|f| (n.to_string(), f)))
        else {
            return Err(bad(format!(
                "--shock {sh}: expected NODE=FRACTION, e.g. bankA=0.5"
            )));
        };
        pairs.push((node, f));
    }
    let refs: Vec<(&str, f64)> = pairs.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    let h0 = shock_vector(&net, &refs).map_err(|e| bad(e.to_string()))?;
    let r = run_debtrank(&net, &h0, &options).map_err(|e| bad(e.to_string()))?;
    if a.json {
        let stress: serde_json::Map<String, serde_json::Value> = net
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), serde_json::json!(r.stress[i])))
            .collect();
        let out = serde_json::json!({
            "variant": a.variant, "stress": stress, "debtrank": r.debtrank,
            "additional_stress": r.additional_stress, "rounds": r.rounds, "converged": r.converged,
            "stress_by_round": r.history.iter().map(|h| net.names.iter().cloned().zip(h.iter().map(|x| serde_json::json!(x))).collect::<serde_json::Map<String, serde_json::Value>>()).collect::<Vec<_>>(),
        });
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&out).context("JSON")?
        )
        .context("writing to stdout")?;
    } else {
        writeln!(
            stdout,
            "DebtRank ({}): {:.6}; additional stress {:.6}; {} rounds\n",
            a.variant, r.debtrank, r.additional_stress, r.rounds
        )
        .context("writing to stdout")?;
        for (i, n) in net.names.iter().enumerate() {
            writeln!(stdout, "  {n:<16} stress {:.6}", r.stress[i]).context("writing to stdout")?;
        }
    }
    Ok(())
}

fn calibrate(a: &CalibrateArgs) -> Result<(), Failure> {
    use cascade_risk::paths::Dist;
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    if !(a.alpha > 0.5 && a.alpha < 1.0) {
        return Err(bad(format!(
            "--alpha = {}, expected a confidence level in (0.5, 1)",
            a.alpha
        )));
    }
    if !(a.days > 0.0 && a.horizon_days > 0.0 && a.budget >= 0.0 && a.max_supply_factor >= 1.0) {
        return Err(bad(
            "--days and --horizon-days must be > 0, --budget ≥ 0, --max-supply-factor ≥ 1".into(),
        ));
    }
    let dist = match a.dist.as_str() {
        "t" if a.dof > 2.0 => Dist::StudentT { dof: a.dof },
        "t" => return Err(bad(format!("--dof = {}, expected more than 2", a.dof))),
        _ => Dist::Normal,
    };
    let (snap, d) = load_snapshot(&a.snapshot).map_err(input)?;
    print_warnings(&d);
    let closed = cascade_risk::calibrate::closed_form(&snap, a.alpha, a.days);
    let spec = cascade_risk::simulate::SimulationSpec {
        paths: a.paths,
        horizon_days: a.horizon_days,
        seed: a.seed,
        dist,
        jumps: Vec::new(),
        antithetic: false,
        alphas: vec![a.alpha],
        breakers: true,
        max_rounds: 50,
    };
    let mut mc = Vec::new();
    if a.paths > 0 {
        for (k, c) in closed.iter().enumerate() {
            let (Some(p), Some(asset)) = (snap.protocol_idx(&c.protocol), snap.asset_idx(&c.asset))
            else {
                continue;
            };
            eprintln!(
                "calibrating {}/{} ({} of {})",
                c.protocol,
                c.asset,
                k + 1,
                closed.len()
            );
            let r = cascade_risk::bisect::calibrate_reserve(
                &snap,
                &spec,
                p,
                asset,
                a.alpha,
                a.budget,
                a.max_supply_factor,
            )
            .map_err(|e| bad(e.to_string()))?;
            mc.extend(r);
        }
    }
    let mut stdout = std::io::stdout().lock();
    if a.json {
        let v = serde_json::json!({
            "alpha": a.alpha, "days": a.days, "budget_share": a.budget, "paths": a.paths,
            "horizon_days": a.horizon_days, "seed": a.seed,
            "closed_form": closed, "monte_carlo": mc,
        });
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&v).context("JSON")?
        )
        .context("writing to stdout")?;
    } else {
        write!(
            stdout,
            "{}",
            table::calibration_table(a.alpha, a.days, a.budget, a.paths, &closed, &mc)
        )
        .context("writing to stdout")?;
    }
    Ok(())
}

fn gen(
    accounts: usize,
    seed: u64,
    out: &Path,
    format: &str,
    options: &cascade_gen::GenOptions,
) -> Result<(), Failure> {
    if accounts == 0 {
        return Err(Failure::Input(
            "error: --accounts must be at least 1".into(),
        ));
    }
    let (base, _) = load_snapshot(&SnapshotArg { snapshot: None }).map_err(input)?;
    let t0 = std::time::Instant::now();
    let snap = cascade_gen::generate_with(&base, accounts, seed, options).snapshot;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let pos_name = if format == "csv" {
        "positions.csv"
    } else {
        "positions.parquet"
    };
    let pos_path = out.join(pos_name);
    if format == "csv" {
        cascade_io::write::write_positions_csv(&pos_path, &snap)
            .with_context(|| format!("writing {}", pos_path.display()))?;
    } else {
        cascade_io::write::write_positions_parquet(&pos_path, &snap)
            .with_context(|| format!("writing {}", pos_path.display()))?;
    }
    let toml = cascade_io::write::snapshot_to_toml(&snap, &[pos_name], false);
    let snap_path = out.join("snapshot.toml");
    cascade_io::write::write_atomic(&snap_path, toml.as_bytes())
        .with_context(|| format!("writing {}", snap_path.display()))?;
    eprintln!(
        "wrote {} ({} accounts, {} positions, {} perps, {} options, seed {seed}) in {:.2} s",
        snap_path.display(),
        snap.accounts.len(),
        snap.positions.len(),
        snap.perps.len(),
        snap.options.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
