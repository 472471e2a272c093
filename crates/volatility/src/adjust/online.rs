//! The adjuster on a live price feed (docs/adjuster.md#live-recommendations): an EWMA variance
//! updated at each price of an asset, and the collateral targets it gives.
//!
//! With `r_k = ln(P_k / P_{k−1})` the `k`-th return of an asset's updates:
//!
//! ```text
//! σ²_1 = r_1²        σ²_{k+1} = λ·σ²_k + (1 − λ)·r_{k+1}²        σ_annual = √(σ² · n)
//! ```
//!
//! `n` is the number of updates per year the feed is taken to have (`365·86400 / period`): the feed
//! is read as one price per period, whatever the clock says, so that a recommendation depends only
//! on the prices, not on when they arrived.

use cascade_risk::calibrate::{liquidity_adjusted_haircut, max_liquidation_threshold};

/// Per asset: the last price and the EWMA variance of its returns.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineVolatility {
    lambda: f64,
    last: Vec<Option<f64>>,
    variance: Vec<Option<f64>>,
}

impl OnlineVolatility {
    /// No price seen yet for any of `assets` assets; decay `lambda` (in (0, 1), else the
    /// RiskMetrics 0.94).
    pub fn new(assets: usize, lambda: f64) -> Self {
        let lambda = if lambda > 0.0 && lambda < 1.0 {
            lambda
        } else {
            crate::ewma::RISKMETRICS_LAMBDA
        };
        OnlineVolatility {
            lambda,
            last: vec![None; assets],
            variance: vec![None; assets],
        }
    }

    /// A new price of asset `asset` (USD per token; ignored unless finite and > 0, or out of range).
    ///
    /// # Examples
    /// ```
    /// use cascade_volatility::adjust::online::OnlineVolatility;
    /// let mut v = OnlineVolatility::new(1, 0.9);
    /// for p in [100.0, 110.0, 99.0] { v.observe(0, p); }
    /// // r = ln 1.1 = 0.0953102, ln 0.9 = −0.1053605: σ²_1 = 0.0090840, σ²_2 = 0.9·0.0090840 + 0.1·0.0111008
    /// assert!((v.variance(0).unwrap() - 0.0092857).abs() < 1e-7);
    /// ```
    pub fn observe(&mut self, asset: usize, price: f64) {
        if !(price > 0.0 && price.is_finite()) || asset >= self.last.len() {
            return;
        }
        if let Some(prev) = self.last[asset] {
            let r2 = (price / prev).ln().powi(2);
            self.variance[asset] = Some(match self.variance[asset] {
                None => r2,
                Some(v) => self.lambda * v + (1.0 - self.lambda) * r2,
            });
        }
        self.last[asset] = Some(price);
    }

    /// The EWMA variance per update of `asset`; `None` before its second price.
    pub fn variance(&self, asset: usize) -> Option<f64> {
        self.variance.get(asset).copied().flatten()
    }

    /// `√(σ² · updates_per_year)`; `None` before the asset's second price.
    pub fn sigma_annual(&self, asset: usize, updates_per_year: f64) -> Option<f64> {
        self.variance(asset).map(|v| (v * updates_per_year).sqrt())
    }
}

/// A collateral reserve's targets at volatility `sigma_annual`: the haircut
/// `h = 1 − e^(−z_α·σ·√(T/365)) + impact`, `LT* = (1 − h)/(1 + LB)` and `LTV* = max(0, LT* − spread)`
/// (docs/adjuster.md#levers-and-their-targets).
///
/// # Examples
/// ```
/// use cascade_volatility::adjust::online::collateral_targets;
/// // z_99·0.8·√(1/365) = 0.0974133; h = 1 − e^−0.0974133 = 0.0928190; LT* = 0.9071810/1.05 = 0.8639819
/// let (h, lt, ltv) = collateral_targets(0.8, 1.0, 0.99, 0.0, 0.05, 0.05);
/// assert!((h - 0.0928190).abs() < 1e-7 && (lt - 0.8639819).abs() < 1e-7 && (ltv - 0.8139819).abs() < 1e-7);
/// ```
pub fn collateral_targets(
    sigma_annual: f64,
    days: f64,
    alpha: f64,
    impact: f64,
    bonus: f64,
    spread: f64,
) -> (f64, f64, f64) {
    let h = liquidity_adjusted_haircut(sigma_annual, days, alpha, impact);
    let lt = max_liquidation_threshold(h, bonus);
    (h, lt, (lt - spread).max(0.0))
}
