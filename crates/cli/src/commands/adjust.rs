//! `cascade adjust`: the risk adjuster (docs/adjuster.md) — haircuts, LT/LTV, borrow factors and
//! margin ratios re-estimated along price series and applied under a governance policy.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use cascade_volatility::adjust::{
    apply_in_force, levers_of, parse_utc, rows_to_csv, AdjustRow, AppliedChange, Lever, Policy,
};
use cascade_volatility::fill::VolModel;
use cascade_volatility::series::read_prices;

use crate::commands::calibrate::VolModelArg;
use crate::failure::{input, Failure};
use crate::load::print_warnings;
use crate::output::{check_output_path, print, to_json, write_file};

/// Flags of `cascade adjust` (docs/adjuster.md).
#[derive(Args, Debug)]
pub struct AdjustArgs {
    /// Price files (docs/formats.md#price-series); columns are matched to the snapshot's asset ids.
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    prices: Vec<PathBuf>,
    /// Snapshot whose reserves and perp markets are adjusted, from their current parameters. Without
    /// one, each price column is a bare collateral asset (no impact, bonus --bonus).
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// The volatility model forecasting σ at each rebalance.
    #[arg(long, value_enum, default_value_t = VolModelArg::Ewma)]
    vol_model: VolModelArg,
    /// Rebalance every N periods of the price file (≥ 1; 24 = daily on hourly prices).
    #[arg(long, value_name = "N", default_value_t = 24)]
    every: usize,
    /// Largest change of an LT, LTV, borrow factor or margin ratio per rebalance (≥ 0; 0.02 = 2
    /// percentage points).
    #[arg(long, default_value_t = 0.02, allow_negative_numbers = true)]
    max_step: f64,
    /// Confidence α of the haircut, in (0.5, 1).
    #[arg(long, default_value_t = 0.99, allow_negative_numbers = true)]
    confidence: f64,
    /// Liquidation horizon T in days (> 0); initial margin uses 2T.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    days: f64,
    /// Returns the model sees at each rebalance (≥ 50).
    #[arg(long, default_value_t = 1000)]
    window: usize,
    /// GARCH and quantile regression are refitted every this many rebalances (≥ 1).
    #[arg(long, default_value_t = 30)]
    refit: usize,
    /// EWMA decay λ, in (0, 1).
    #[arg(long, default_value_t = cascade_volatility::ewma::RISKMETRICS_LAMBDA)]
    lambda: f64,
    /// Feature window k of the quantile model, periods (≥ 1).
    #[arg(long, default_value_t = cascade_volatility::quantile::DEFAULT_FEATURE_WINDOW)]
    feature_window: usize,
    /// Liquidation bonus of the bare assets when there is no --snapshot, in [0, 1).
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    bonus: f64,
    /// First rebalance at or after this time: Unix seconds or UTC `YYYY-MM-DD[THH:MM]` (the model
    /// still sees the returns before it).
    #[arg(long, value_name = "T")]
    from: Option<String>,
    /// No rebalance after this time (same forms as --from).
    #[arg(long, value_name = "T")]
    to: Option<String>,
    /// Also write the result to this file: the path as CSV (one row per lever and rebalance) if the
    /// name ends in `.csv`, else the --json document.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// JSON on stdout (settings, levers' summaries, every row) instead of the summary.
    #[arg(long)]
    json: bool,
    /// With --write-snapshot: the time whose parameters in force are written (forms as --from).
    #[arg(long, value_name = "T", requires = "write_snapshot")]
    at: Option<String>,
    /// Write the --snapshot with the parameters in force at --at (TOML, accounts inline).
    #[arg(long, value_name = "FILE", requires = "at")]
    write_snapshot: Option<PathBuf>,
}

/// One lever's path in brief.
#[derive(Serialize)]
struct LeverSummary {
    protocol: String,
    asset: String,
    lever: String,
    rebalances: usize,
    first_s: f64,
    last_s: f64,
    sigma_min: f64,
    sigma_max: f64,
    sigma_last: f64,
    /// The target and the value in force after the last rebalance (LT, borrow factor or MMR).
    target_last: Option<f64>,
    applied_last: Option<f64>,
    /// The lowest value in force over the path.
    applied_min: Option<f64>,
}

#[derive(Serialize)]
struct AdjustResult {
    files: Vec<String>,
    model: String,
    every: usize,
    max_step: f64,
    alpha: f64,
    horizon_days: f64,
    window: usize,
    unmatched_series: Vec<String>,
    levers: Vec<LeverSummary>,
    in_force_at_s: Option<f64>,
    written: Vec<AppliedChange>,
    rows: Vec<AdjustRow>,
}

/// A time flag's value in Unix seconds.
fn time_flag(flag: &str, v: &Option<String>) -> Result<Option<f64>, Failure> {
    v.as_deref()
        .map(|s| {
            parse_utc(s).ok_or_else(|| {
                Failure::Input(format!(
                    "error: {flag} \"{s}\": expected Unix seconds or a UTC time YYYY-MM-DD[THH:MM]"
                ))
            })
        })
        .transpose()
}

fn validate(a: &AdjustArgs) -> Result<Policy, String> {
    if !(a.lambda > 0.0 && a.lambda < 1.0) {
        return Err(format!(
            "--lambda = {}, expected a decay in (0, 1)",
            a.lambda
        ));
    }
    if !(0.0..1.0).contains(&a.bonus) {
        return Err(format!("--bonus = {}, expected a share in [0, 1)", a.bonus));
    }
    if a.feature_window == 0 {
        return Err("--feature-window must be ≥ 1".into());
    }
    if a.write_snapshot.is_some() && a.snapshot.is_none() {
        return Err("--write-snapshot needs --snapshot (the system to write)".into());
    }
    let model = match a.vol_model {
        VolModelArg::Ewma => VolModel::Ewma { lambda: a.lambda },
        VolModelArg::Garch => VolModel::Garch,
        VolModelArg::Quantile => VolModel::Quantile {
            confidence: a.confidence,
            feature_window: a.feature_window,
        },
    };
    let policy = Policy {
        every: a.every,
        max_step: a.max_step,
        alpha: a.confidence,
        horizon_days: a.days,
        window: a.window,
        refit_every: a.refit,
        model,
    };
    policy.validate().map_err(|e| {
        let flag = match &e {
            cascade_volatility::ModelError::Parameter { name, .. } => match *name {
                "every" => "--every",
                "max_step" => "--max-step",
                "alpha" => "--confidence",
                "horizon_days" => "--days",
                "window" => "--window",
                "refit_every" => "--refit",
                _ => "--lambda",
            },
            _ => "settings",
        };
        format!("{flag}: {e}")
    })?;
    Ok(policy)
}

pub fn run(a: &AdjustArgs) -> Result<(), Failure> {
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    for (flag, path) in [
        ("--output", &a.output),
        ("--write-snapshot", &a.write_snapshot),
    ] {
        if let Some(p) = path {
            check_output_path(flag, p)?;
        }
    }
    let policy = validate(a).map_err(bad)?;
    let from = time_flag("--from", &a.from)?;
    let to = time_flag("--to", &a.to)?;
    let at = time_flag("--at", &a.at)?;
    let mut snapshot = match &a.snapshot {
        Some(p) => {
            let (s, d) = cascade_io::load::load_snapshot(p).map_err(|e| input(e.diagnostics))?;
            print_warnings(&d);
            Some(s)
        }
        None => None,
    };
    let mut series = Vec::new();
    for p in &a.prices {
        series.push(read_prices(p).map_err(|e| bad(e.to_string()))?);
    }
    let (levers, unmatched) = levers_of(snapshot.as_ref(), &series, a.bonus);
    if levers.is_empty() {
        return Err(bad(format!(
            "no price column matches an adjustable asset of the snapshot (columns: {})",
            unmatched.join(", ")
        )));
    }
    let rows = cascade_volatility::adjust::run(&series, &levers, &policy, from, to)
        .map_err(|e| bad(e.to_string()))?;
    if rows.is_empty() {
        return Err(bad(
            "no rebalance: --from/--to select no time with a full --window of returns before it"
                .into(),
        ));
    }
    let mut written = Vec::new();
    if let (Some(at), Some(out), Some(snap)) = (at, &a.write_snapshot, snapshot.as_mut()) {
        if rows.iter().all(|r| r.timestamp_s > at) {
            return Err(bad(format!(
                "--at {}: before the first rebalance ({})",
                a.at.as_deref().unwrap_or_default(),
                utc_minute(rows[0].timestamp_s)
            )));
        }
        written = apply_in_force(snap, &rows, at);
        cascade_io::write::write_snapshot_toml(out, snap, &[], true)
            .map_err(|e| Failure::Runtime(e.into()))?;
    }
    let result = AdjustResult {
        files: series.iter().map(|s| s.source.clone()).collect(),
        model: policy.model.describe(),
        every: policy.every,
        max_step: policy.max_step,
        alpha: policy.alpha,
        horizon_days: policy.horizon_days,
        window: policy.window,
        unmatched_series: unmatched,
        levers: summaries(&levers, &rows),
        in_force_at_s: at.filter(|_| a.write_snapshot.is_some()),
        written,
        rows,
    };
    if let Some(out) = &a.output {
        let csv = out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let text = if csv {
            rows_to_csv(&result.rows).map_err(|e| Failure::Runtime(e.into()))?
        } else {
            format!("{}\n", to_json(&result)?)
        };
        write_file(out, text.as_bytes())?;
    }
    if a.json {
        print(&format!("{}\n", to_json(&result)?))
    } else {
        print(&summary_table(&result))
    }
}

/// The headline figure of a row: LT, else borrow factor, else MMR.
fn headline(r: &AdjustRow) -> (Option<f64>, Option<f64>) {
    if r.lt_target.is_some() {
        (r.lt_target, r.lt_applied)
    } else if r.borrow_factor_target.is_some() {
        (r.borrow_factor_target, r.borrow_factor_applied)
    } else {
        (r.mmr_target, r.mmr_applied)
    }
}

fn summaries(levers: &[Lever], rows: &[AdjustRow]) -> Vec<LeverSummary> {
    let mut out = Vec::new();
    for l in levers {
        let name = l.kind.name();
        let mine: Vec<&AdjustRow> = rows
            .iter()
            .filter(|r| r.protocol == l.protocol && r.asset == l.asset && r.lever == name)
            .collect();
        let (Some(first), Some(last)) = (mine.first(), mine.last()) else {
            continue;
        };
        let sig = mine.iter().map(|r| r.sigma_annual);
        let (target_last, applied_last) = headline(last);
        out.push(LeverSummary {
            protocol: l.protocol.clone(),
            asset: l.asset.clone(),
            lever: name,
            rebalances: mine.len(),
            first_s: first.timestamp_s,
            last_s: last.timestamp_s,
            sigma_min: sig.clone().fold(f64::INFINITY, f64::min),
            sigma_max: sig.fold(f64::NEG_INFINITY, f64::max),
            sigma_last: last.sigma_annual,
            target_last,
            applied_last,
            applied_min: mine.iter().filter_map(|r| headline(r).1).reduce(f64::min),
        });
    }
    out
}

/// Unix seconds as `YYYY-MM-DD HH:MM` UTC.
fn utc_minute(s: f64) -> String {
    let t = cascade_serve::dashboard::fmt_time_ms((s * 1000.0) as i64);
    t.get(..16).map_or(t.clone(), str::to_string)
}

fn summary_table(r: &AdjustResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "cascade adjust — {}: {}, window {}, rebalance every {} periods, max step {}, α = {}, T = {} days",
        r.files.join(", "),
        r.model,
        r.window,
        r.every,
        r.max_step,
        r.alpha,
        r.horizon_days
    );
    let _ = writeln!(
        o,
        "  figure: LT for collateral, borrow factor for debt, maintenance margin ratio for a market (docs/adjuster.md)"
    );
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
    let _ = writeln!(
        o,
        "\n{:<14} {:<8} {:<16} {:>5}  {:<16}  {:<16}  {:>7} {:>7} {:>7}  {:>7} {:>7} {:>7}",
        "protocol",
        "asset",
        "lever",
        "steps",
        "first",
        "last",
        "σ min",
        "σ max",
        "σ last",
        "target",
        "applied",
        "min"
    );
    for l in &r.levers {
        let _ = writeln!(
            o,
            "{:<14} {:<8} {:<16} {:>5}  {:<16}  {:<16}  {:>7.3} {:>7.3} {:>7.3}  {:>7} {:>7} {:>7}",
            l.protocol,
            l.asset,
            l.lever,
            l.rebalances,
            utc_minute(l.first_s),
            utc_minute(l.last_s),
            l.sigma_min,
            l.sigma_max,
            l.sigma_last,
            f(l.target_last),
            f(l.applied_last),
            f(l.applied_min)
        );
    }
    for u in &r.unmatched_series {
        let _ = writeln!(o, "  no snapshot asset for {u}");
    }
    if let Some(at) = r.in_force_at_s {
        let _ = writeln!(o, "\nin force at {} UTC:", utc_minute(at));
        for c in &r.written {
            let _ = writeln!(
                o,
                "  {}/{} {}: {:.4} → {:.4} (since {}){}",
                c.protocol,
                c.asset,
                c.field,
                c.before,
                c.after,
                utc_minute(c.since_s),
                if c.written {
                    ""
                } else {
                    " — reported, no snapshot field"
                }
            );
        }
    }
    o
}
