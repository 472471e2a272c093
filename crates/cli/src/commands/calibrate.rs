//! `cascade calibrate`: haircuts and liquidation thresholds, closed forms and the Monte Carlo bisection.

use std::path::PathBuf;

use cascade_volatility::fill::{fill_snapshot, VolModel};
use cascade_volatility::series::read_prices;
use clap::{Args, ValueEnum};

use crate::args::{Dist, JsonArgs};
use crate::failure::{input, Failure};
use crate::load::{load_snapshot, print_warnings, SnapshotArg};
use crate::output::{check_output_path, emit, to_json};
use crate::table;

/// Flags of `cascade calibrate` (docs/calibration.md).
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// Confidence level of the haircut and of the ES budget, in (0.5, 1).
    #[arg(long, default_value_t = 0.99, allow_negative_numbers = true)]
    confidence: f64,
    /// Days to sell a position: the closed-form haircut's liquidation horizon T (> 0).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    liquidation_days: f64,
    /// ES budget: a share of each protocol's supplied value (≥ 0).
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    budget: f64,
    /// Monte Carlo paths per evaluation (0: closed forms only). Every reserve takes about 30 evaluations.
    #[arg(long, default_value_t = 200)]
    paths: usize,
    /// Monte Carlo horizon in days (> 0).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    horizon_days: f64,
    /// Random seed of the Monte Carlo paths.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Distribution of the Monte Carlo shocks.
    #[arg(long, value_enum, default_value_t = Dist::T)]
    dist: Dist,
    /// Degrees of freedom of the Student-t (> 2).
    #[arg(long, default_value_t = 4.0, allow_negative_numbers = true)]
    dof: f64,
    /// The supply search scales holders up to this many times today's supply (≥ 1).
    #[arg(long, default_value_t = 4.0, allow_negative_numbers = true)]
    max_supply_factor: f64,
    /// Price files whose history fills the snapshot's volatilities (and the correlations of assets in
    /// one file) before calibrating; columns are matched to asset ids (docs/volatility.md).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    prices: Vec<PathBuf>,
    /// The model estimating volatilities from --prices.
    #[arg(long, value_enum, default_value_t = VolModelArg::Ewma)]
    vol_model: VolModelArg,
    /// EWMA decay λ, in (0, 1) (also the decay of the correlations).
    #[arg(long, default_value_t = cascade_volatility::ewma::RISKMETRICS_LAMBDA)]
    lambda: f64,
    /// Estimate from the last N returns of each series (default: all of them).
    #[arg(long, value_name = "N")]
    vol_window: Option<usize>,
    /// Feature window k of the quantile model, periods (≥ 1).
    #[arg(long, default_value_t = cascade_volatility::quantile::DEFAULT_FEATURE_WINDOW)]
    feature_window: usize,
    #[command(flatten)]
    out: JsonArgs,
}

/// The volatility model of `--vol-model`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolModelArg {
    /// EWMA variance (RiskMetrics).
    Ewma,
    /// GARCH(1,1) with Student-t innovations, maximum likelihood on the window.
    Garch,
    /// Quantile regression at 1 − --confidence; σ = q / z.
    Quantile,
}

pub fn run(a: &CalibrateArgs) -> Result<(), Failure> {
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    if let Some(path) = &a.out.output {
        check_output_path("--output", path)?;
    }
    if !(a.confidence > 0.5 && a.confidence < 1.0) {
        return Err(bad(format!(
            "--confidence = {}, expected a confidence level in (0.5, 1)",
            a.confidence
        )));
    }
    let positive = |x: f64| x > 0.0 && x.is_finite();
    if !(positive(a.liquidation_days)
        && positive(a.horizon_days)
        && a.budget >= 0.0
        && a.max_supply_factor >= 1.0)
    {
        return Err(bad(
            "--liquidation-days and --horizon-days must be > 0, --budget ≥ 0, --max-supply-factor ≥ 1"
                .into(),
        ));
    }
    let dist = a.dist.with_dof(a.dof).map_err(bad)?;
    if !(a.lambda > 0.0 && a.lambda < 1.0) {
        return Err(bad(format!(
            "--lambda = {}, expected a decay in (0, 1)",
            a.lambda
        )));
    }
    if a.feature_window == 0 || a.vol_window == Some(0) {
        return Err(bad("--feature-window and --vol-window must be ≥ 1".into()));
    }
    let model = match a.vol_model {
        VolModelArg::Ewma => VolModel::Ewma { lambda: a.lambda },
        VolModelArg::Garch => VolModel::Garch,
        VolModelArg::Quantile => VolModel::Quantile {
            confidence: a.confidence,
            feature_window: a.feature_window,
        },
    };
    let (mut snap, d) = load_snapshot(&a.snapshot).map_err(input)?;
    print_warnings(&d);
    let mut series = Vec::new();
    for p in &a.prices {
        series.push(read_prices(p).map_err(|e| bad(e.to_string()))?);
    }
    let filled = if series.is_empty() {
        None
    } else {
        Some(
            fill_snapshot(&mut snap, &series, model, a.vol_window)
                .map_err(|e| bad(e.to_string()))?,
        )
    };
    let closed = cascade_risk::calibrate::closed_form(&snap, a.confidence, a.liquidation_days);
    let spec = cascade_risk::simulate::SimulationSpec {
        paths: a.paths,
        horizon_days: a.horizon_days,
        seed: a.seed,
        dist,
        jumps: Vec::new(),
        antithetic: false,
        alphas: vec![a.confidence],
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
                a.confidence,
                a.budget,
                a.max_supply_factor,
            )
            .map_err(|e| bad(e.to_string()))?;
            mc.extend(r);
        }
    }
    emit(
        &a.out,
        || {
            let mut v = serde_json::json!({
                "alpha": a.confidence, "days": a.liquidation_days, "budget_share": a.budget,
                "paths": a.paths, "horizon_days": a.horizon_days, "seed": a.seed,
                "closed_form": closed, "monte_carlo": mc,
            });
            if let (Some(f), Some(obj)) = (&filled, v.as_object_mut()) {
                obj.insert("volatility_sources".into(), serde_json::to_value(f)?);
            }
            to_json(&v)
        },
        || {
            filled
                .as_ref()
                .map_or(String::new(), table::volatility_sources_table)
                + &table::calibration_table(
                    a.confidence,
                    a.liquidation_days,
                    a.budget,
                    a.paths,
                    &closed,
                    &mc,
                )
        },
    )
}
