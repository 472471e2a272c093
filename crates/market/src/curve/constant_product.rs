//! The constant-product pool `x·y = k` (docs/liquidity.md), the fee kept by the pool: its sale, buy,
//! re-centring and budget, on the balances `base` and `quote`.

use super::retained;

/// Re-centres at marginal price `price` keeping `k = base·quote` (see `Curve::anchor`):
/// `base = sqrt(k/price)`, `quote = sqrt(k·price)`, unchanged if either would leave the f64 range.
pub(super) fn anchor(base: &mut f64, quote: &mut f64, price: f64) {
    // sqrt(k) = sqrt(base)·sqrt(quote) avoids overflowing base·quote.
    let root_k = base.sqrt() * quote.sqrt();
    let root_p = price.sqrt();
    let (b, q) = (root_k / root_p, root_k * root_p);
    if b > 0.0 && q > 0.0 && b.is_finite() && q.is_finite() {
        (*base, *quote) = (b, q);
    }
}

/// Sells `q` (> 0, finite) base tokens (see `Curve::sell`): returns
/// `out = quote·q(1−fee)/(base + q(1−fee))`, then `base += q`, `quote −= out`.
pub(super) fn sell(base: &mut f64, quote: &mut f64, fee: f64, q: f64) -> f64 {
    let q_in = q * retained(fee);
    if !(q_in > 0.0 && *base >= 0.0 && *quote > 0.0 && quote.is_finite()) {
        return 0.0;
    }
    // out = quote·q_in/(base + q_in), written so that neither term overflows.
    let out = *quote / (1.0 + *base / q_in);
    *quote /= 1.0 + q_in / *base; // = quote·base/(base + q_in) = quote − out
    *base += q;
    out
}

/// Buys `q` (> 0, finite) base tokens, the fee on the input (see `Curve::buy`): returns
/// `cost = quote·q / ((base − q)·(1−fee))`, then `base −= q`, `quote += cost`; infinite (state
/// unchanged) for `q ≥ base`.
pub(super) fn buy(base: &mut f64, quote: &mut f64, fee: f64, q: f64) -> f64 {
    let keep = retained(fee);
    if !(q < *base && keep > 0.0 && *quote > 0.0 && quote.is_finite()) {
        return f64::INFINITY;
    }
    let cost = *quote * (q / (*base - q)) / keep;
    if !cost.is_finite() {
        return f64::INFINITY;
    }
    *base -= q;
    *quote += cost;
    cost
}

/// Base tokens a budget of `usd` (> 0, finite) buys (see `Curve::tokens_for_budget`):
/// `base·u/(quote + u)`, `u = usd·(1−fee)`.
pub(super) fn tokens_for_budget(base: f64, quote: f64, fee: f64, usd: f64) -> f64 {
    let u = usd * retained(fee);
    if !(u > 0.0 && base > 0.0 && quote >= 0.0 && base.is_finite()) {
        return 0.0;
    }
    base / (1.0 + quote / u)
}
