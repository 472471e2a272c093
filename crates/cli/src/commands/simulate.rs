//! `cascade simulate`: Monte Carlo paths, each through the full cascade.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use cascade_model::Snapshot;

use crate::failure::{input, Failure};
use crate::load::{load_snapshot, print_warnings, SnapshotArg};
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

pub fn run(a: &SimulateArgs) -> Result<(), Failure> {
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
        let html = cascade_report::simulation_report_html(&snap, &sim);
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
