//! The risk adjuster (docs/adjuster.md): risk parameters recommended from a volatility forecast at
//! every rebalance of a price series, and the values governance would have in force when each
//! change is limited to a maximum step.
//!
//! At a rebalance at price index `t` (time `t_t`) the model sees the `W` returns
//! `r_{t−W} … r_{t−1}` (so the prices up to `P_t`, nothing later) and forecasts the annualised
//! volatility `σ_t` ([`sigma_forecasts`]). Then, for each lever, with `x = z_α·σ_t·√(T/365)`:
//!
//! ```text
//! collateral reserve   h = 1 − e^(−x) + impact_sell        LT* = (1 − h)/(1 + LB)    LTV* = max(0, LT* − (LT₀ − LTV₀))
//! debt reserve         h = 1 − e^(−x) + impact_buy         BF* = 1 − h               (effective LT of a pair: LT_c·BF_d)
//!                      cap = the debt bought back at once within the smallest collateral bonus
//! perp market          MMR* = e^(x) − 1 + fee              IMR* = e^(x·√2) − 1 + fee (horizon 2T)
//! governance           v_k = v_{k−1} + clamp(v*_k − v_{k−1}, −max_step, +max_step)
//! ```
//!
//! Each target is clamped to `[0, 1]`; after the steps `LTV ≤ LT` and `MMR ≤ IMR` are kept.

use cascade_risk::calibrate::{liquidity_adjusted_haircut, z_alpha};
use serde::Serialize;

use crate::backtest::{fit_at, normal_quantile};
use crate::ewma::Ewma;
use crate::fill::VolModel;
use crate::series::PriceSeries;
use crate::{garch, quantile, ModelError};

mod levers;
pub mod online;
pub use levers::{
    apply_in_force, buyable_within_slippage_tokens, levers_of, AppliedChange, Lever, LeverKind,
};

/// Seconds in a day.
const SECONDS_PER_DAY: f64 = 86_400.0;

/// How governance re-estimates and applies the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Periods of the price series between two rebalances (≥ 1).
    pub every: usize,
    /// The largest absolute change of an LT, LTV, borrow factor or margin ratio per rebalance (≥ 0;
    /// a share, 0.02 = 2 percentage points).
    pub max_step: f64,
    /// Confidence `α` of the haircut, in (0.5, 1).
    pub alpha: f64,
    /// Liquidation horizon `T`, days (> 0).
    pub horizon_days: f64,
    /// Returns `W` the model sees at each rebalance (≥ [`garch::MIN_FIT_RETURNS`]).
    pub window: usize,
    /// GARCH and the quantile regression are refitted every this many rebalances (≥ 1); in between
    /// the last fit's parameters are applied to the current window.
    pub refit_every: usize,
    /// The volatility model.
    pub model: VolModel,
}

impl Policy {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |name, value, expected| {
            Err(ModelError::Parameter {
                name,
                value,
                expected,
            })
        };
        if self.every == 0 {
            return bad("every", 0.0, "at least 1 period");
        }
        if !(self.max_step >= 0.0 && self.max_step.is_finite()) {
            return bad("max_step", self.max_step, "a finite share ≥ 0");
        }
        if !(self.alpha > 0.5 && self.alpha < 1.0) {
            return bad("alpha", self.alpha, "a confidence level in (0.5, 1)");
        }
        if !(self.horizon_days > 0.0 && self.horizon_days.is_finite()) {
            return bad("horizon_days", self.horizon_days, "a number of days > 0");
        }
        if self.window < garch::MIN_FIT_RETURNS {
            return bad(
                "window",
                self.window as f64,
                "at least 50 returns (garch::MIN_FIT_RETURNS)",
            );
        }
        if self.refit_every == 0 {
            return bad("refit_every", 0.0, "at least 1 rebalance");
        }
        if let VolModel::Ewma { lambda } = self.model {
            Ewma::new(lambda)?;
        }
        Ok(())
    }
}

/// The annualised volatility forecast `σ_t` at each price index of `points` (each `≥ W` and
/// `< prices.len()`, increasing), from the returns `r_{t−W} … r_{t−1}` and the prices up to `P_t`
/// only. With `n` periods per year and `H = max(1, round(T·86400/period_s))` periods in the horizon:
///
/// - EWMA: `σ_t = √(n·σ²_{t+1})`, the flat one-period forecast annualised;
/// - GARCH(1,1)-t: `σ_t = √(n·V_H/H)`, the mean variance per period over the horizon;
/// - quantile regression: `σ_t = √n·max(q_t/z_{1−α}, 0)` with `q_t` the one-period quantile at
///   `1 − α`: the normal volatility with the same quantile (0 when no loss is forecast).
///
/// # Examples
/// ```
/// use cascade_volatility::adjust::{sigma_forecasts, Policy};
/// use cascade_volatility::fill::VolModel;
/// // returns ±0.01: every EWMA step keeps σ² = 1e-4 per period; hourly: √(8760·1e-4) = 0.9359487
/// let mut p = vec![100.0];
/// for i in 0..60 { p.push(p[i] * if i % 2 == 0 { 0.01f64.exp() } else { (-0.01f64).exp() }); }
/// let policy = Policy { every: 1, max_step: 0.0, alpha: 0.99, horizon_days: 1.0, window: 50,
///     refit_every: 1, model: VolModel::Ewma { lambda: 0.94 } };
/// let s = sigma_forecasts(&p, 8760.0, 3600.0, &[50, 60], &policy).unwrap();
/// assert!((s[0] - 0.9359487).abs() < 1e-7 && (s[1] - 0.9359487).abs() < 1e-7);
/// ```
pub fn sigma_forecasts(
    prices: &[f64],
    periods_per_year: f64,
    period_s: f64,
    points: &[usize],
    policy: &Policy,
) -> Result<Vec<f64>, ModelError> {
    let w = policy.window;
    if let Some(&t) = points.iter().find(|&&t| t < w || t >= prices.len()) {
        return Err(ModelError::TooFewReturns {
            what: format!("a forecast at price {t} with window {w}"),
            found: t.min(prices.len().saturating_sub(1)),
            needed: w,
        });
    }
    let returns = crate::series::log_returns(prices);
    let horizon = ((policy.horizon_days * SECONDS_PER_DAY / period_s).round() as usize).max(1);
    let mut out = Vec::with_capacity(points.len());
    let mut garch_params = None;
    let mut coef: Option<Vec<f64>> = None;
    for (k, &t) in points.iter().enumerate() {
        let win = &returns[t - w..t];
        let refit = k % policy.refit_every == 0;
        let var = match policy.model {
            VolModel::Ewma { lambda } => Ewma::new(lambda)?.variance_forecast(win),
            VolModel::Garch => {
                if refit || garch_params.is_none() {
                    garch_params = Some(garch::fit(win)?.params);
                }
                match garch_params {
                    Some(g) => {
                        g.horizon_variance(g.variance_forecast(win), horizon) / horizon as f64
                    }
                    None => 0.0,
                }
            }
            VolModel::Quantile {
                confidence,
                feature_window,
            } => {
                let tau = 1.0 - confidence;
                if refit || coef.is_none() {
                    coef = Some(fit_at(prices, &returns, t, w, 1, feature_window, tau)?);
                }
                let x =
                    quantile::features(prices, &returns, t, feature_window).ok_or_else(|| {
                        ModelError::TooFewReturns {
                            what: "quantile model features".into(),
                            found: t,
                            needed: feature_window,
                        }
                    })?;
                let q: f64 = match &coef {
                    Some(b) => x.iter().zip(b).map(|(x, b)| x * b).sum(),
                    None => 0.0,
                };
                (q / normal_quantile(tau)).max(0.0).powi(2)
            }
        };
        let sigma = (var * periods_per_year).sqrt();
        if !sigma.is_finite() {
            return Err(ModelError::Parameter {
                name: "volatility forecast",
                value: sigma,
                expected: "a finite number",
            });
        }
        out.push(sigma);
    }
    Ok(out)
}

/// docs/adjuster.md's margin ratio for a perp market: the loss of a short (the larger side) over
/// `days` days at confidence `alpha` plus the liquidation fee, `e^(z_α·σ·√(T/365)) − 1 + fee`,
/// clamped to `[0, 1]`.
///
/// # Examples
/// ```
/// use cascade_volatility::adjust::margin_ratio;
/// // z_99·0.8·√(1/365) = 0.0974133; e^0.0974133 − 1 + 0.01 = 0.1123159
/// assert!((margin_ratio(0.8, 1.0, 0.99, 0.01) - 0.1123159).abs() < 1e-7);
/// ```
pub fn margin_ratio(sigma_annual: f64, days: f64, alpha: f64, fee: f64) -> f64 {
    let x = z_alpha(alpha) * sigma_annual * (days / cascade_risk::calibrate::DAYS_PER_YEAR).sqrt();
    let r = x.exp() - 1.0 + fee;
    if r.is_nan() {
        1.0
    } else {
        r.clamp(0.0, 1.0)
    }
}

/// Governance's move from `applied` toward `target`, at most `max_step` either way:
/// `applied + clamp(target − applied, −max_step, max_step)`.
///
/// # Examples
/// ```
/// use cascade_volatility::adjust::step_toward;
/// assert_eq!(step_toward(0.61, 0.50, 0.02), 0.59);
/// assert_eq!(step_toward(0.61, 0.62, 0.02), 0.62);
/// ```
pub fn step_toward(applied: f64, target: f64, max_step: f64) -> f64 {
    applied + (target - applied).clamp(-max_step, max_step)
}

/// One lever at one rebalance: the forecast, the targets and the values in force after the step.
/// Figures that do not apply to the lever are `None` (empty cells in the CSV).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdjustRow {
    /// The rebalance time, Unix seconds.
    pub timestamp_s: f64,
    pub protocol: String,
    pub asset: String,
    /// `collateral`, `debt`, or `market:<id>` for a perp market.
    pub lever: String,
    /// The forecast `σ_t`, annualised.
    pub sigma_annual: f64,
    /// The price impact of the position (sold for collateral, bought back for debt), a share.
    pub impact: f64,
    /// The liquidity-adjusted haircut `h`.
    pub haircut: f64,
    pub lt_target: Option<f64>,
    pub lt_applied: Option<f64>,
    pub ltv_target: Option<f64>,
    pub ltv_applied: Option<f64>,
    pub borrow_factor_target: Option<f64>,
    pub borrow_factor_applied: Option<f64>,
    /// The debt liquidators can buy back within the collateral's bonus, tokens (docs/adjuster.md).
    pub borrow_cap_tokens: Option<f64>,
    pub mmr_target: Option<f64>,
    pub mmr_applied: Option<f64>,
    pub imr_target: Option<f64>,
    pub imr_applied: Option<f64>,
}

/// The rebalance points of one series: price indices `t ≥ W` whose time is in `[from_s, to_s]`,
/// every `policy.every` periods from the first.
pub fn rebalance_points(
    series: &PriceSeries,
    policy: &Policy,
    from_s: Option<f64>,
    to_s: Option<f64>,
) -> Vec<usize> {
    let ts = &series.timestamps_s;
    let from = from_s.unwrap_or(f64::NEG_INFINITY);
    let to = to_s.unwrap_or(f64::INFINITY);
    let Some(first) = (policy.window..ts.len()).find(|&t| ts[t] >= from) else {
        return Vec::new();
    };
    (first..ts.len())
        .step_by(policy.every)
        .take_while(|&t| ts[t] <= to)
        .collect()
}

/// Runs the adjuster: for each lever, the forecasts of its series column at that series' rebalance
/// points, the targets and the stepped values. Rows are ordered by time, then by lever order.
pub fn run(
    series: &[PriceSeries],
    levers: &[Lever],
    policy: &Policy,
    from_s: Option<f64>,
    to_s: Option<f64>,
) -> Result<Vec<AdjustRow>, ModelError> {
    policy.validate()?;
    // One forecast path per (series, column) used: the key, the rebalance points, σ at each.
    type Path = ((usize, usize), Vec<usize>, Vec<f64>);
    let mut paths: Vec<Path> = Vec::new();
    for l in levers {
        if paths.iter().any(|(k, _, _)| *k == (l.series, l.column)) {
            continue;
        }
        let s = &series[l.series];
        let points = rebalance_points(s, policy, from_s, to_s);
        let sigma = sigma_forecasts(
            &s.prices[l.column],
            s.periods_per_year(),
            s.period_s(),
            &points,
            policy,
        )
        .map_err(|e| match e {
            ModelError::TooFewReturns {
                what,
                found,
                needed,
            } => ModelError::TooFewReturns {
                what: format!("{}: {}: {what}", s.source, s.assets[l.column]),
                found,
                needed,
            },
            e => e,
        })?;
        paths.push(((l.series, l.column), points, sigma));
    }
    let mut rows = Vec::new();
    for (order, l) in levers.iter().enumerate() {
        let Some((_, points, sigma)) = paths.iter().find(|(k, _, _)| *k == (l.series, l.column))
        else {
            continue;
        };
        let mut state = l.kind.initial();
        for (&t, &s) in points.iter().zip(sigma) {
            let row = l.step(&mut state, s, series[l.series].timestamps_s[t], policy);
            rows.push((order, row));
        }
    }
    rows.sort_by(|a, b| {
        a.1.timestamp_s
            .total_cmp(&b.1.timestamp_s)
            .then(a.0.cmp(&b.0))
    });
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

/// The values a lever has in force between rebalances; `None` before the first one when the lever
/// has no starting value (no snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InForce {
    pub lt: Option<f64>,
    pub ltv: Option<f64>,
    pub borrow_factor: Option<f64>,
    pub mmr: Option<f64>,
    pub imr: Option<f64>,
}

impl Lever {
    /// One rebalance of this lever at forecast `sigma`, moving `state` toward the targets.
    fn step(&self, state: &mut InForce, sigma: f64, timestamp_s: f64, p: &Policy) -> AdjustRow {
        let gov = |now: Option<f64>, target: f64| {
            Some(now.map_or(target, |v| step_toward(v, target, p.max_step)))
        };
        let (t, a) = (p.horizon_days, p.alpha);
        let mut row = AdjustRow {
            timestamp_s,
            protocol: self.protocol.clone(),
            asset: self.asset.clone(),
            lever: self.kind.name(),
            sigma_annual: sigma,
            impact: self.impact,
            haircut: liquidity_adjusted_haircut(sigma, t, a, self.impact),
            lt_target: None,
            lt_applied: None,
            ltv_target: None,
            ltv_applied: None,
            borrow_factor_target: None,
            borrow_factor_applied: None,
            borrow_cap_tokens: None,
            mmr_target: None,
            mmr_applied: None,
            imr_target: None,
            imr_applied: None,
        };
        match &self.kind {
            LeverKind::Collateral { bonus, spread, .. } => {
                let (_, lt, ltv) = online::collateral_targets(
                    sigma,
                    t,
                    a,
                    self.impact,
                    *bonus,
                    spread.unwrap_or(0.0),
                );
                state.lt = gov(state.lt, lt);
                row.lt_target = Some(lt);
                if spread.is_some() {
                    state.ltv = gov(state.ltv, ltv).map(|v| v.min(state.lt.unwrap_or(v)));
                    row.ltv_target = Some(ltv);
                }
            }
            LeverKind::Debt {
                borrow_cap_tokens, ..
            } => {
                row.borrow_cap_tokens = Some(*borrow_cap_tokens);
                let bf = 1.0 - row.haircut;
                state.borrow_factor = gov(state.borrow_factor, bf);
                row.borrow_factor_target = Some(bf);
            }
            LeverKind::Market { fee, .. } => {
                let mmr = margin_ratio(sigma, t, a, *fee);
                let imr = margin_ratio(sigma, 2.0 * t, a, *fee);
                state.mmr = gov(state.mmr, mmr);
                state.imr = gov(state.imr, imr).map(|v| v.max(state.mmr.unwrap_or(v)));
                row.mmr_target = Some(mmr);
                row.imr_target = Some(imr);
            }
        }
        row.lt_applied = state.lt;
        row.ltv_applied = state.ltv;
        row.borrow_factor_applied = state.borrow_factor;
        row.mmr_applied = state.mmr;
        row.imr_applied = state.imr;
        row
    }
}

/// The rows as CSV (header first; `None` as an empty cell).
pub fn rows_to_csv(rows: &[AdjustRow]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Parses a time: Unix seconds, or a UTC date `YYYY-MM-DD` optionally followed by `T` or a space
/// and `HH:MM` (and `:SS`). `None` if it is neither.
///
/// # Examples
/// ```
/// use cascade_volatility::adjust::parse_utc;
/// assert_eq!(parse_utc("2022-11-22T06:00"), Some(1_669_096_800.0));
/// assert_eq!(parse_utc("1669096800"), Some(1_669_096_800.0));
/// assert_eq!(parse_utc("2022-13-01"), None);
/// ```
pub fn parse_utc(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let (date, time) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let d: Vec<&str> = date.split('-').collect();
    let [y, m, day] = d.as_slice() else {
        return None;
    };
    let (y, m, day): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, day.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = 0i64;
    if let Some(time) = time {
        let parts: Vec<i64> = time
            .trim_end_matches('Z')
            .split(':')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        let (h, mi, se) = match parts.as_slice() {
            [h, mi] => (*h, *mi, 0),
            [h, mi, se] => (*h, *mi, *se),
            _ => return None,
        };
        if !((0..24).contains(&h) && (0..60).contains(&mi) && (0..61).contains(&se)) {
            return None;
        }
        secs = h * 3600 + mi * 60 + se;
    }
    Some((days_from_civil(y, m, day) * 86_400 + secs) as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
