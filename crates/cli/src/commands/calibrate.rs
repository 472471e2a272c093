//! `cascade calibrate`: haircuts and liquidation thresholds, closed forms and the Monte Carlo bisection.

use std::io::Write;

use anyhow::Context;
use clap::Args;

use crate::failure::{input, Failure};
use crate::load::{load_snapshot, print_warnings, SnapshotArg};
use crate::table;

/// Flags of `cascade calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
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

pub fn run(a: &CalibrateArgs) -> Result<(), Failure> {
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
