//! How much of an asset its market absorbs (the slippage of docs/liquidity.md, used by calibration
//! and the contagion coefficients): the price impact of selling a position at once, and the
//! largest sale that stays within a slippage budget.

use cascade_model::AssetIdx;

use crate::price::Market;

#[cfg(test)]
mod tests;

/// The price impact of selling `tokens` of `asset` at once on its curve as it stands, as a share of
/// the position's value: `slippage_usd(asset, tokens) / (tokens·prices[asset])` (docs/liquidity.md#execution-price-and-slippage's
/// slippage: value at the pre-sale price minus proceeds). 0 for no position or no price; clamped to
/// `[0, 1]`.
pub fn impact_of_position(market: &Market, asset: AssetIdx, tokens: f64, prices: &[f64]) -> f64 {
    let value = tokens * prices[asset];
    if !(tokens > 0.0 && value > 0.0 && value.is_finite()) {
        return 0.0;
    }
    let share = market.slippage_usd(asset, tokens, prices) / value;
    if share.is_nan() {
        0.0
    } else {
        share.clamp(0.0, 1.0)
    }
}

/// SmartLTV's liquidity `ℓ` on this market: the USD value (at `prices`) of the largest quantity of
/// `asset` whose sale at once on its curve as it stands loses at most `max_slippage` of its value.
/// ∞ if no sale up to 1e18 USD loses that much (a curve without impact); 0 without a price.
///
/// Found by bisection on the quantity: the slippage share of docs/liquidity.md#execution-price-and-slippage's curves grows with the
/// quantity sold (the average execution price falls along the curve).
pub fn liquidity_within_slippage_usd(
    market: &Market,
    asset: AssetIdx,
    prices: &[f64],
    max_slippage: f64,
) -> f64 {
    let within = |q: f64| impact_of_position(market, asset, q, prices) <= max_slippage;
    match largest_quantity_within(prices[asset], max_slippage, within) {
        q if q > 0.0 => q * prices[asset],
        _ => 0.0,
    }
}

/// The largest quantity (tokens) of an asset priced `price` for which `within(q)` holds, when
/// `within` holds up to some quantity and not beyond (a slippage share that grows with the quantity
/// traded, compared with `budget`): doubling from 1,000 USD worth, then bisection. ∞ if it still
/// holds at 1e18 USD; 0 without a finite positive price or with a NaN budget.
pub fn largest_quantity_within(price: f64, budget: f64, within: impl Fn(f64) -> bool) -> f64 {
    const MAX_USD: f64 = 1.0e18;
    const START_USD: f64 = 1.0e3;
    if !(price > 0.0 && price.is_finite()) || budget.is_nan() {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0, START_USD / price);
    while within(hi) {
        lo = hi;
        hi *= 2.0;
        if hi * price > MAX_USD {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if within(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}
