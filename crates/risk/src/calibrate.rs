//! Calibration (docs/calibration.md#calibration), closed-form part: the liquidity-adjusted haircut of a position, the
//! largest liquidation threshold that keeps the liquidation bonus payable, and for comparison the
//! Risk DAO / B.Protocol SmartLTV formula. The Monte Carlo bisection on `ES_99` lives elsewhere.
//!
//! Everything here is a pure function of plain data; [`closed_form`] applies them to every
//! collateral reserve of every lending protocol of a snapshot.

use cascade_market::liquidity::{impact_of_position, liquidity_within_slippage_usd};
use cascade_model::Snapshot;
use serde::Serialize;

/// Days in the year the snapshot's annualised volatilities are quoted over.
pub const DAYS_PER_YEAR: f64 = 365.0;

/// The standard normal quantile `z_α = Φ⁻¹(α)`: the `z` with `P(Z ≤ z) = α`.
///
/// Wichura's algorithm AS 241 (PPND16, *Applied Statistics* 37(3), 1988): three rational
/// approximations (central region `|α − ½| ≤ 0.425`, then the tails split at `√(−ln(1−α)) = 5`),
/// relative accuracy about 1e-16. `α ≤ 0` gives −∞, `α ≥ 1` gives +∞, NaN gives NaN.
///
/// # Examples
/// ```
/// use cascade_risk::calibrate::z_alpha;
/// assert!((z_alpha(0.99) - 2.3263478740).abs() < 1e-9);
/// assert_eq!(z_alpha(0.5), 0.0);
/// ```
pub fn z_alpha(alpha: f64) -> f64 {
    if alpha.is_nan() {
        return f64::NAN;
    }
    if alpha <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if alpha >= 1.0 {
        return f64::INFINITY;
    }
    let q = alpha - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner(&as241::A, r) / horner(&as241::B, r);
    }
    let tail = if q < 0.0 { alpha } else { 1.0 - alpha };
    let r = (-tail.ln()).sqrt();
    let z = if r <= 5.0 {
        let r = r - 1.6;
        horner(&as241::C, r) / horner(&as241::D, r)
    } else {
        let r = r - 5.0;
        horner(&as241::E, r) / horner(&as241::F, r)
    };
    if q < 0.0 {
        -z
    } else {
        z
    }
}

/// `Σ c_i·x^i`, coefficients from the constant term up.
fn horner(c: &[f64; 8], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ci| acc * x + ci)
}

/// AS 241's coefficients (Wichura 1988), constant term first, digit for digit as published (hence
/// more digits than an f64 holds).
#[allow(clippy::excessive_precision)]
mod as241 {
    pub const A: [f64; 8] = [
        3.3871328727963666080e0,
        1.3314166789178437745e+2,
        1.9715909503065514427e+3,
        1.3731693765509461125e+4,
        4.5921953931549871457e+4,
        6.7265770927008700853e+4,
        3.3430575583588128105e+4,
        2.5090809287301226727e+3,
    ];
    pub const B: [f64; 8] = [
        1.0,
        4.2313330701600911252e+1,
        6.8718700749205790830e+2,
        5.3941960214247511077e+3,
        2.1213794301586595867e+4,
        3.9307895800092710610e+4,
        2.8729085735721942674e+4,
        5.2264952788528545610e+3,
    ];
    pub const C: [f64; 8] = [
        1.42343711074968357734e0,
        4.63033784615654529590e0,
        5.76949722146069140550e0,
        3.64784832476320460504e0,
        1.27045825245236838258e0,
        2.41780725177450611770e-1,
        2.27238449892691845833e-2,
        7.74545014278341407640e-4,
    ];
    pub const D: [f64; 8] = [
        1.0,
        2.05319162663775882187e0,
        1.67638483018380384940e0,
        6.89767334985100004550e-1,
        1.48103976427480074590e-1,
        1.51986665636164571966e-2,
        5.47593808499534494600e-4,
        1.05075007164441684324e-9,
    ];
    pub const E: [f64; 8] = [
        6.65790464350110377720e0,
        5.46378491116411436990e0,
        1.78482653991729133580e0,
        2.96560571828504891230e-1,
        2.65321895265761230930e-2,
        1.24266094738807843860e-3,
        2.71155556874348757815e-5,
        2.01033439929228813265e-7,
    ];
    pub const F: [f64; 8] = [
        1.0,
        5.99832206555887937690e-1,
        1.36929880922735805310e-1,
        1.48753612908506148525e-2,
        7.86869131145613259100e-4,
        1.84631831751005468180e-5,
        1.42151175831644588870e-7,
        2.04426310338993978564e-15,
    ];
}

/// docs/calibration.md#liquidity-adjusted-haircut's liquidity-adjusted haircut of a position sold over `days` days at confidence
/// `alpha`: `h = 1 − exp(−z_α·σ·√(T/365)) + impact`, clamped to `[0, 1]`.
///
/// `sigma_annual` is the annualised volatility of log returns, `impact` the share of the position's
/// value lost to price impact when it is sold ([`impact_of_position`]). The first two terms are the
/// price fall a log-normal price exceeds with probability `1 − α` over the horizon. A NaN result
/// (from a NaN input) is taken as 1: the whole value at risk.
///
/// # Examples
/// ```
/// use cascade_risk::calibrate::liquidity_adjusted_haircut;
/// // z_99·0.8·√(1/365) = 0.0974133; 1 − e^−0.0974133 + 0.02 = 0.1128190
/// let h = liquidity_adjusted_haircut(0.8, 1.0, 0.99, 0.02);
/// assert!((h - 0.112819000518).abs() < 1e-9);
/// ```
pub fn liquidity_adjusted_haircut(sigma_annual: f64, days: f64, alpha: f64, impact: f64) -> f64 {
    let price_move = z_alpha(alpha) * sigma_annual * (days / DAYS_PER_YEAR).sqrt();
    let h = 1.0 - (-price_move).exp() + impact;
    if h.is_nan() {
        1.0
    } else {
        h.clamp(0.0, 1.0)
    }
}

/// docs/calibration.md#maximum-liquidation-threshold's bound on the liquidation threshold that keeps the liquidation bonus payable after
/// a haircut `h`: `LT ≤ (1 − h)/(1 + LB)`, clamped to `[0, 1]`.
///
/// # Examples
/// ```
/// use cascade_risk::calibrate::max_liquidation_threshold;
/// assert!((max_liquidation_threshold(0.16, 0.05) - 0.8).abs() < 1e-12);
/// ```
pub fn max_liquidation_threshold(haircut: f64, bonus: f64) -> f64 {
    let lt = (1.0 - haircut) / (1.0 + bonus);
    if lt.is_nan() {
        0.0
    } else {
        lt.clamp(0.0, 1.0)
    }
}

/// The Risk DAO / B.Protocol **SmartLTV** formula:
///
/// `LTV = exp(−c·σ·√(d/ℓ)) − β`, floored at 0,
///
/// with `σ` the collateral's price volatility against the debt asset, `ℓ` the liquidity — what can be
/// sold on DEXes within a slippage of `β` —, `d` the debt ceiling (the published contract takes the
/// supply cap; the published calculator a borrow cap in USD), `β` the liquidation bonus and `c` the
/// confidence (later "risk level") factor, the user's risk appetite. `ℓ` and `d` must be in the same
/// unit (USD here). Reading: selling `d` takes `d/ℓ` liquidity periods, over which the price moves by
/// about `σ·√(d/ℓ)`; the LTV leaves `c` such moves plus the bonus as a margin.
///
/// Sources: the formula page <https://docs.bprotocol.org/risk-oracle/smartltv-formula> and Risk DAO's
/// article "A Smart Contract Formula for LTV ratio" (medium.com/risk-dao, June 2023); the formula
/// above is checked against B.Protocol's own code, `src/core/SmartLTV.sol` of
/// github.com/backstop-protocol/smart-ltv (`e^(−c·σ/√(ℓ/d)) − β`, 0 when the bonus exceeds the
/// exponential) and its calculator in backstop-protocol/risk-oracle-frontend. Their exact test
/// (`ℓ` = 1M, σ = 0.10, `d` = 200k, β = 0.05, `c` = 3 → 0.82444657) is a test here.
///
/// Not verified: how later B.Protocol articles split `c` into a liquidity-recovery time `T`, the
/// share `p` of debt liquidated and a z-score; only the formula with `c` free is implemented. `σ`'s
/// time unit is that of the liquidity period `ℓ` refers to (see [`closed_form`] for the choice made
/// there).
///
/// Edge cases: `ℓ = 0` gives 0; `d = 0` or `ℓ = ∞` gives `1 − β`; NaN gives 0.
///
/// # Examples
/// ```
/// use cascade_risk::calibrate::smart_ltv;
/// // 3·0.10·√(200k/1M) = 0.1341641; e^−0.1341641 − 0.05 = 0.8244466
/// assert!((smart_ltv(0.10, 1.0e6, 2.0e5, 0.05, 3.0) - 0.82444657).abs() < 1e-8);
/// ```
pub fn smart_ltv(
    sigma: f64,
    liquidity_usd: f64,
    debt_ceiling_usd: f64,
    bonus: f64,
    confidence: f64,
) -> f64 {
    let spread = if debt_ceiling_usd == 0.0 {
        0.0
    } else {
        (debt_ceiling_usd / liquidity_usd).sqrt()
    };
    let ltv = (-confidence * sigma * spread).exp() - bonus;
    if ltv.is_nan() {
        0.0
    } else {
        ltv.max(0.0)
    }
}

/// The closed-form calibration of one collateral reserve of a lending protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReserveCalibration {
    pub protocol: String,
    pub asset: String,
    pub current_ltv: f64,
    pub current_lt: f64,
    /// The reserve's liquidation bonus `LB`.
    pub bonus: f64,
    /// The position: all of the protocol's collateral in this asset, tokens.
    pub position_tokens: f64,
    /// [`impact_of_position`] of selling the whole position at once.
    pub impact: f64,
    /// [`liquidity_adjusted_haircut`] of the position.
    pub haircut: f64,
    /// [`max_liquidation_threshold`] at that haircut and the reserve's bonus.
    pub max_lt: f64,
    /// [`smart_ltv`] for comparison, when the reserve has a debt ceiling or supply cap to use as `d`.
    pub smart_ltv: Option<f64>,
}

/// docs/calibration.md#calibration's closed forms for every collateral reserve (collateral enabled and `LT > 0`, as
/// [`Snapshot::check_position`] counts collateral) of every lending protocol of `snapshot`, in
/// snapshot order, at confidence `alpha` over a horizon of `days` days.
///
/// The position is all of the protocol's collateral in the asset (`snapshot.totals()[p][a][0]`), `σ`
/// the asset's `volatility`, the impact that of selling the position at once on the snapshot's market
/// at its prices — those of [`cascade_engine::Prepared`], so that assets priced by their issuer (LP
/// tokens, CDP stables) have their real price. E-mode parameters are not calibrated here.
///
/// `smart_ltv` takes `d` = the reserve's debt ceiling (USD), else its supply cap valued at the price,
/// else it is `None`; `ℓ` = [`liquidity_within_slippage_usd`] at the reserve's bonus; and — our
/// choice for the comparison, not part of the published formula — `c = z_α` and `σ` the volatility
/// over one liquidity period of `days` days, `σ_annual·√(T/365)`.
pub fn closed_form(snapshot: &Snapshot, alpha: f64, days: f64) -> Vec<ReserveCalibration> {
    let prepared = cascade_engine::Prepared::new(snapshot);
    let market = prepared.market();
    let prices = prepared.initial_prices.clone();
    let totals = snapshot.totals();
    let z = z_alpha(alpha);
    let sigma_scale = (days / DAYS_PER_YEAR).sqrt();
    let mut out = Vec::new();
    for (p, protocol) in snapshot.protocols.iter().enumerate() {
        let Some(lending) = protocol.lending() else {
            continue;
        };
        for r in &lending.reserves {
            if !r.collateral_enabled || r.liquidation_threshold <= 0.0 {
                continue;
            }
            let a = r.asset;
            let asset = &snapshot.assets[a];
            let tokens = totals[p][a][0];
            let impact = impact_of_position(market, a, tokens, &prices);
            let haircut = liquidity_adjusted_haircut(asset.volatility, days, alpha, impact);
            let ceiling = r
                .debt_ceiling_usd
                .or_else(|| r.supply_cap.map(|cap| cap * prices[a]));
            let smart = ceiling.map(|d| {
                let l = liquidity_within_slippage_usd(market, a, &prices, r.liquidation_bonus);
                smart_ltv(asset.volatility * sigma_scale, l, d, r.liquidation_bonus, z)
            });
            out.push(ReserveCalibration {
                protocol: protocol.id.clone(),
                asset: asset.id.clone(),
                current_ltv: r.ltv,
                current_lt: r.liquidation_threshold,
                bonus: r.liquidation_bonus,
                position_tokens: tokens,
                impact,
                haircut,
                max_lt: max_liquidation_threshold(haircut, r.liquidation_bonus),
                smart_ltv: smart,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
