//! VaR backtests (docs/volatility.md#backtests): rolling-window forecasts of each model, their
//! exceedances, Kupiec's proportion-of-failures test and Christoffersen's independence test.
//!
//! Forecast points `t = W, W + H, W + 2H, …` (non-overlapping horizons): each model sees the `W`
//! returns `r_{t−W} … r_{t−1}` (and the prices up to `P_t`) and forecasts the `1 − c` quantile `q_t`
//! of the next `H`-period log return `R_t = r_t + … + r_{t+H−1}`; an exceedance is `R_t < q_t` (a
//! fall beyond the VaR: the lower tail is the one that matters for collateral).

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::ewma::Ewma;
use crate::garch::{self, GarchParams};
use crate::quantile;
use crate::ModelError;

/// A model to backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// EWMA variance, normal quantile.
    Ewma,
    /// GARCH(1,1) with Student-t innovations.
    Garch,
    /// Linear quantile regression on realised volatility and drawdown.
    Quantile,
}

impl ModelKind {
    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Ewma => "ewma",
            ModelKind::Garch => "garch",
            ModelKind::Quantile => "quantile",
        }
    }
}

/// The settings of a backtest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BacktestSpec {
    /// VaR confidence `c` ∈ (0, 1); the forecast quantile is at level `1 − c`.
    pub confidence: f64,
    /// Rolling window `W`, returns.
    pub window: usize,
    /// Horizon `H`, periods.
    pub horizon: usize,
    /// GARCH and quantile regression are refitted every this many forecast points (≥ 1); in between
    /// the last fit's parameters are applied to the current window.
    pub refit_every: usize,
    /// EWMA decay `λ`.
    pub lambda: f64,
    /// Feature window `k` of the quantile model, periods.
    pub feature_window: usize,
}

/// A likelihood-ratio test statistic and its χ² p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LrTest {
    /// The statistic `LR`.
    pub lr: f64,
    /// `P(χ²_df ≥ LR)`.
    pub p_value: f64,
}

/// `P(χ²_df ≥ x)`; 1 for `x ≤ 0`, NaN for NaN.
///
/// # Examples
/// ```
/// use cascade_volatility::backtest::chi2_survival;
/// // χ²(2) survival is e^{−x/2}; χ²(1) at 3.841459 is the 5% critical value
/// assert!((chi2_survival(3.0, 2.0) - (-1.5f64).exp()).abs() < 1e-12);
/// assert!((chi2_survival(3.841459, 1.0) - 0.05).abs() < 1e-6);
/// ```
pub fn chi2_survival(x: f64, df: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    match ChiSquared::new(df) {
        Ok(d) => d.sf(x),
        Err(_) => f64::NAN,
    }
}

/// `k·ln(q)` with the convention `0·ln 0 = 0`.
fn xlogy(k: f64, q: f64) -> f64 {
    if k == 0.0 {
        0.0
    } else {
        k * q.ln()
    }
}

/// Kupiec's (1995) proportion-of-failures test of `x` exceedances in `n` forecasts against the
/// expected rate `p = 1 − c`:
///
/// ```text
/// LR_pof = −2·[ (n−x)·ln(1−p) + x·ln p − (n−x)·ln(1−x/n) − x·ln(x/n) ]  ~ χ²(1)
/// ```
///
/// (`0·ln 0 = 0`). NaN for `n = 0`.
///
/// # Examples
/// ```
/// use cascade_volatility::backtest::kupiec_pof;
/// // 20 forecasts, 2 exceedances at p = 0.05: LR = −2·(−6.9147438 + 6.5016595) = 0.8261688
/// assert!((kupiec_pof(20, 2, 0.05).lr - 0.8261688).abs() < 1e-6);
/// ```
pub fn kupiec_pof(n: usize, x: usize, p: f64) -> LrTest {
    if n == 0 {
        return LrTest {
            lr: f64::NAN,
            p_value: f64::NAN,
        };
    }
    let (nf, xf) = (n as f64, x as f64);
    let pi = xf / nf;
    let null = xlogy(nf - xf, 1.0 - p) + xlogy(xf, p);
    let alt = xlogy(nf - xf, 1.0 - pi) + xlogy(xf, pi);
    let lr = (-2.0 * (null - alt)).max(0.0);
    LrTest {
        lr,
        p_value: chi2_survival(lr, 1.0),
    }
}

/// Transition counts `n_ij` of a hit sequence: the number of `t` with `I_{t−1} = i`, `I_t = j`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Transitions {
    pub n00: usize,
    pub n01: usize,
    pub n10: usize,
    pub n11: usize,
}

impl Transitions {
    /// Counts the transitions of `hits`.
    pub fn count(hits: &[bool]) -> Self {
        let mut t = Transitions::default();
        for w in hits.windows(2) {
            match (w[0], w[1]) {
                (false, false) => t.n00 += 1,
                (false, true) => t.n01 += 1,
                (true, false) => t.n10 += 1,
                (true, true) => t.n11 += 1,
            }
        }
        t
    }
}

/// Christoffersen's (1998) independence test of a hit sequence: a first-order Markov chain against
/// independence,
///
/// ```text
/// π₀₁ = n01/(n00+n01),  π₁₁ = n11/(n10+n11),  π = (n01+n11)/(n00+n01+n10+n11)
/// ln L₀ = (n00+n10)·ln(1−π) + (n01+n11)·ln π
/// ln L₁ = n00·ln(1−π₀₁) + n01·ln π₀₁ + n10·ln(1−π₁₁) + n11·ln π₁₁
/// LR_ind = −2·(ln L₀ − ln L₁)  ~ χ²(1)
/// ```
///
/// (`0·ln 0 = 0`; a row with no transitions contributes nothing). NaN with fewer than 2 hits-or-not.
///
/// # Examples
/// ```
/// use cascade_volatility::backtest::christoffersen_independence;
/// // 0 1 0 1 0 1 0: n01 = n10 = 3, n00 = n11 = 0, so ln L₁ = 0, ln L₀ = 6·ln ½, LR = 12·ln 2
/// let hits = [false, true, false, true, false, true, false];
/// let (t, n) = christoffersen_independence(&hits);
/// assert_eq!((n.n00, n.n01, n.n10, n.n11), (0, 3, 3, 0));
/// assert!((t.lr - 12.0 * std::f64::consts::LN_2).abs() < 1e-12);
/// ```
pub fn christoffersen_independence(hits: &[bool]) -> (LrTest, Transitions) {
    let t = Transitions::count(hits);
    if hits.len() < 2 {
        let nan = LrTest {
            lr: f64::NAN,
            p_value: f64::NAN,
        };
        return (nan, t);
    }
    let f = |k: usize| k as f64;
    let ratio = |a: usize, b: usize| if a + b == 0 { 0.0 } else { f(b) / f(a + b) };
    let pi01 = ratio(t.n00, t.n01);
    let pi11 = ratio(t.n10, t.n11);
    let pi = f(t.n01 + t.n11) / f(t.n00 + t.n01 + t.n10 + t.n11);
    let l0 = xlogy(f(t.n00 + t.n10), 1.0 - pi) + xlogy(f(t.n01 + t.n11), pi);
    let l1 = xlogy(f(t.n00), 1.0 - pi01)
        + xlogy(f(t.n01), pi01)
        + xlogy(f(t.n10), 1.0 - pi11)
        + xlogy(f(t.n11), pi11);
    let lr = (-2.0 * (l0 - l1)).max(0.0);
    (
        LrTest {
            lr,
            p_value: chi2_survival(lr, 1.0),
        },
        t,
    )
}

/// One model's backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelBacktest {
    pub model: ModelKind,
    /// Forecasts made (and checked).
    pub forecasts: usize,
    pub exceedances: usize,
    /// `exceedances / forecasts`.
    pub exceedance_rate: f64,
    /// `1 − c`.
    pub expected_rate: f64,
    pub kupiec: LrTest,
    pub christoffersen: LrTest,
    pub transitions: Transitions,
    /// Christoffersen's conditional coverage `LR_cc = LR_pof + LR_ind ~ χ²(2)`.
    pub conditional_coverage: LrTest,
    /// The mean forecast quantile `q_t` (a log return over the horizon).
    pub mean_var_quantile: f64,
    /// Model fits made (GARCH, quantile regression; 0 for EWMA).
    pub fits: usize,
}

/// Backtests `models` on the prices of one asset (`prices.len() ≥ window + horizon + 1`).
pub fn run(
    prices: &[f64],
    spec: &BacktestSpec,
    models: &[ModelKind],
) -> Result<Vec<ModelBacktest>, ModelError> {
    let returns = crate::series::log_returns(prices);
    let (w, h) = (spec.window, spec.horizon);
    if !(spec.confidence > 0.0 && spec.confidence < 1.0) {
        return Err(ModelError::Parameter {
            name: "confidence",
            value: spec.confidence,
            expected: "a level in (0, 1)",
        });
    }
    if h == 0 || spec.refit_every == 0 || spec.feature_window == 0 {
        return Err(ModelError::Parameter {
            name: "horizon, refit interval and feature window",
            value: 0.0,
            expected: "≥ 1",
        });
    }
    if returns.len() < w + h || w == 0 {
        return Err(ModelError::TooFewReturns {
            what: format!("backtest with window {w} and horizon {h}"),
            found: returns.len(),
            needed: w.max(1) + h,
        });
    }
    let points: Vec<usize> = (w..=returns.len() - h).step_by(h).collect();
    let realised: Vec<f64> = points
        .iter()
        .map(|&t| returns[t..t + h].iter().sum())
        .collect();
    let level = 1.0 - spec.confidence;
    let mut out = Vec::new();
    for &m in models {
        let (q, fits) = match m {
            ModelKind::Ewma => (ewma_quantiles(&returns, &points, spec)?, 0),
            ModelKind::Garch => garch_quantiles(&returns, &points, spec)?,
            ModelKind::Quantile => quantile_quantiles(prices, &returns, &points, spec)?,
        };
        let hits: Vec<bool> = realised.iter().zip(&q).map(|(r, q)| r < q).collect();
        let x = hits.iter().filter(|&&b| b).count();
        let kupiec = kupiec_pof(hits.len(), x, level);
        let (christoffersen, transitions) = christoffersen_independence(&hits);
        let cc = kupiec.lr + christoffersen.lr;
        out.push(ModelBacktest {
            model: m,
            forecasts: hits.len(),
            exceedances: x,
            exceedance_rate: x as f64 / hits.len() as f64,
            expected_rate: level,
            kupiec,
            christoffersen,
            transitions,
            conditional_coverage: LrTest {
                lr: cc,
                p_value: chi2_survival(cc, 2.0),
            },
            mean_var_quantile: q.iter().sum::<f64>() / q.len() as f64,
            fits,
        });
    }
    Ok(out)
}

/// The standard normal quantile of `level` (statrs' inverse erfc).
pub fn normal_quantile(level: f64) -> f64 {
    -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * level)
}

fn ewma_quantiles(
    returns: &[f64],
    points: &[usize],
    spec: &BacktestSpec,
) -> Result<Vec<f64>, ModelError> {
    let ewma = Ewma::new(spec.lambda)?;
    let z = normal_quantile(1.0 - spec.confidence);
    Ok(points
        .iter()
        .map(|&t| {
            let v = ewma.variance_forecast(&returns[t - spec.window..t]);
            z * (v * spec.horizon as f64).sqrt()
        })
        .collect())
}

fn garch_quantiles(
    returns: &[f64],
    points: &[usize],
    spec: &BacktestSpec,
) -> Result<(Vec<f64>, usize), ModelError> {
    let mut params: Option<GarchParams> = None;
    let mut fits = 0;
    let mut out = Vec::with_capacity(points.len());
    for (k, &t) in points.iter().enumerate() {
        let win = &returns[t - spec.window..t];
        if k % spec.refit_every == 0 || params.is_none() {
            params = Some(garch::fit(win)?.params);
            fits += 1;
        }
        let Some(p) = params else { continue };
        let v = p.horizon_variance(p.variance_forecast(win), spec.horizon);
        out.push(p.innovation_quantile(1.0 - spec.confidence) * v.sqrt());
    }
    Ok((out, fits))
}

fn quantile_quantiles(
    prices: &[f64],
    returns: &[f64],
    points: &[usize],
    spec: &BacktestSpec,
) -> Result<(Vec<f64>, usize), ModelError> {
    let (w, h, k) = (spec.window, spec.horizon, spec.feature_window);
    let tau = 1.0 - spec.confidence;
    let mut coef: Option<Vec<f64>> = None;
    let mut fits = 0;
    let mut out = Vec::with_capacity(points.len());
    for (n, &t) in points.iter().enumerate() {
        if n % spec.refit_every == 0 || coef.is_none() {
            coef = Some(fit_at(prices, returns, t, w, h, k, tau)?);
            fits += 1;
        }
        let (Some(b), Some(x)) = (&coef, quantile::features(prices, returns, t, k)) else {
            return Err(ModelError::TooFewReturns {
                what: "quantile model features".into(),
                found: t,
                needed: k,
            });
        };
        out.push(x.iter().zip(b).map(|(x, b)| x * b).sum());
    }
    Ok((out, fits))
}

/// Quantile regression on the pairs `(x_s, y_s)` whose target ends by `t` and whose features start
/// inside the window: `t − W + k ≤ s ≤ t − H`.
pub fn fit_at(
    prices: &[f64],
    returns: &[f64],
    t: usize,
    w: usize,
    h: usize,
    k: usize,
    tau: f64,
) -> Result<Vec<f64>, ModelError> {
    let first = (t - w + k).max(k);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for s in first..=t.saturating_sub(h) {
        if let Some(x) = quantile::features(prices, returns, s, k) {
            xs.push(x.to_vec());
            ys.push(returns[s..s + h].iter().sum());
        }
    }
    if xs.len() < 10 {
        return Err(ModelError::TooFewReturns {
            what: format!(
                "quantile regression (window {w} less feature window {k} and horizon {h})"
            ),
            found: xs.len(),
            needed: 10,
        });
    }
    quantile::fit(&xs, &ys, tau)
}

#[cfg(test)]
mod tests;
