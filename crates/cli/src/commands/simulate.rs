//! `cascade simulate`: Monte Carlo paths, each through the full cascade.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use cascade_model::Snapshot;

use cascade_io::write::Column;

use crate::args::{Breakers, Dist, JsonArgs};
use crate::failure::{input, Failure};
use crate::load::{load_snapshot, print_warnings, SnapshotArg};
use crate::output::{check_output_path, emit, to_json, write_file};
use crate::table;

/// Flags of `cascade simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// Number of paths.
    #[arg(long, default_value_t = 1000)]
    paths: usize,
    /// Horizon in days (365-day year).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    horizon_days: f64,
    /// Random seed; the same seed gives the same figures bit for bit, whatever the thread count.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Distribution of the standardised shocks.
    #[arg(long, value_enum, default_value_t = Dist::Normal)]
    dist: Dist,
    /// Degrees of freedom of the Student-t (> 2).
    #[arg(long, default_value_t = 4.0, allow_negative_numbers = true)]
    dof: f64,
    /// Antithetic variates: odd paths mirror the shocks of the even path before them.
    #[arg(long)]
    antithetic: bool,
    /// A jump/depeg event, ASSET=PROBABILITY:SIZE (e.g. stETH=0.02:-0.07); repeatable.
    #[arg(long = "jump", value_name = "ASSET=P:SIZE")]
    jumps: Vec<String>,
    /// Confidence levels of VaR and ES, in (0, 1). JSON keys take the digits after "0.", padded to
    /// two: 0.9 → var_90_usd, 0.99 → var_99_usd, 0.975 → var_975_usd (docs/monte-carlo.md).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.95,0.99,0.999",
        allow_negative_numbers = true,
        value_name = "LEVEL,…"
    )]
    confidence: Vec<f64>,
    /// Circuit breakers as configured (on) or ignored (off).
    #[arg(long, value_enum, default_value_t = Breakers::On)]
    breakers: Breakers,
    /// Rounds per path at most (≥ 1).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    max_rounds: u32,
    #[command(flatten)]
    out: JsonArgs,
    /// Also write every path's results to this Parquet file (written whole or not at all): columns
    /// path (UInt64), loss_usd, bad_debt_usd, liquidated_debt_usd (Float64), rounds (UInt32), then
    /// loss_usd_<protocol> and log_return_<asset> (Float64), ids with each character outside
    /// A-Z, a-z, 0-9 and _ written _ (aave-v3 → loss_usd_aave_v3). See docs/formats.md.
    #[arg(long, value_name = "FILE.parquet")]
    per_path: Option<PathBuf>,
    /// Also compute each asset's marginal contribution to system ES 99% (one extra run per asset: the
    /// change in ES when its volatility rises 1%, same paths).
    #[arg(long)]
    contributions: bool,
    /// Also write a self-contained HTML report: loss distribution with VaR/ES, figures per protocol,
    /// and the worst path's cascade (written whole or not at all).
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

/// Checks `simulate`'s arguments against the snapshot (usage errors exit 2).
fn simulation_spec(
    a: &SimulateArgs,
    snap: &Snapshot,
) -> Result<cascade_risk::simulate::SimulationSpec, Failure> {
    use cascade_risk::paths::Jump;
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
    if let Some(x) = a.confidence.iter().find(|x| !(**x > 0.0 && **x < 1.0)) {
        return Err(bad(format!(
            "--confidence: {x} is not a confidence level in (0, 1)"
        )));
    }
    let dist = a.dist.with_dof(a.dof).map_err(bad)?;
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
        alphas: a.confidence.clone(),
        breakers: a.breakers == Breakers::On,
        max_rounds: a.max_rounds,
    })
}

pub fn run(a: &SimulateArgs) -> Result<(), Failure> {
    use std::io::IsTerminal;
    for (flag, path) in [
        ("--output", &a.out.output),
        ("--per-path", &a.per_path),
        ("--report", &a.report),
    ] {
        if let Some(path) = path {
            check_output_path(flag, path)?;
        }
    }
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
    if let Some(path) = &a.per_path {
        cascade_io::write::write_table_parquet(path, &per_path_columns(&sim))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let contributions = if a.contributions {
        cascade_risk::simulate::es_contributions(&snap, &spec, 0.99, 0.01, &sim)
            .map_err(|e| Failure::Input(format!("error: {e}")))?
    } else {
        Vec::new()
    };
    if let Some(path) = &a.report {
        let html = cascade_report::simulation_report_html(&snap, &sim);
        write_file(path, html.as_bytes())?;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    emit(
        &a.out,
        || {
            let mut v = sim.to_json();
            if a.contributions {
                v["es_99_contributions_usd_per_1pct_vol"] = serde_json::json!(contributions
                    .iter()
                    .map(|(id, x)| serde_json::json!({"asset": id, "delta_es_99_usd": x}))
                    .collect::<Vec<_>>());
            }
            to_json(&v)
        },
        || {
            let mut text = table::simulation_table(&snap, &sim, elapsed);
            if a.contributions {
                text.push_str("\nmarginal contribution to system ES 99% — change when the asset's volatility rises 1% (same paths):\n");
                for (id, x) in &contributions {
                    text.push_str(&format!(
                        "  {id:<8} {:>+12}\n",
                        cascade_engine::trace::fmt_usd(*x)
                    ));
                }
            }
            text
        },
    )?;
    std::mem::forget(snap);
    Ok(())
}

/// A column name made of the characters A-Z, a-z, 0-9 and `_` only (`aave-v3` → `aave_v3`).
pub fn plain_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The `--per-path` table: one row per path.
fn per_path_columns(sim: &cascade_risk::simulate::Simulation) -> Vec<(String, Column)> {
    let f64s = |f: &dyn Fn(&cascade_risk::simulate::PathOutcome) -> f64| {
        Column::Float64(sim.paths.iter().map(f).collect())
    };
    let mut cols: Vec<(String, Column)> = vec![
        (
            "path".into(),
            Column::UInt64(sim.paths.iter().map(|p| p.path).collect()),
        ),
        ("loss_usd".into(), f64s(&|p| p.loss_usd)),
        ("bad_debt_usd".into(), f64s(&|p| p.bad_debt_usd)),
        (
            "liquidated_debt_usd".into(),
            f64s(&|p| p.liquidated_debt_usd),
        ),
        (
            "rounds".into(),
            Column::UInt32(sim.paths.iter().map(|p| p.rounds).collect()),
        ),
    ];
    for (k, id) in sim.protocols.iter().enumerate() {
        cols.push((
            format!("loss_usd_{}", plain_name(id)),
            f64s(&|p| p.protocol_loss_usd[k]),
        ));
    }
    for (k, id) in sim.assets.iter().enumerate() {
        cols.push((
            format!("log_return_{}", plain_name(id)),
            f64s(&|p| p.log_returns[k]),
        ));
    }
    // Two ids may become one name (`a-b` and `a_b`): the later ones get `_2`, `_3`, ….
    let mut seen = std::collections::HashSet::new();
    for (name, _) in &mut cols {
        let base = name.clone();
        let mut n = 1;
        while !seen.insert(name.clone()) {
            n += 1;
            *name = format!("{base}_{n}");
        }
    }
    cols
}
