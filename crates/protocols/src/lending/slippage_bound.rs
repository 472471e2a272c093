//! Bounds on a round's slippage, so that a liquidation call whose profit (or loss) is certain
//! needs no exact slippage (docs/lending.md#liquidator-profitability).
//!
//! Within a round an asset's curve does not move (the round's sales execute after every decision),
//! so `S(q)`, the USD slippage of selling `q` tokens at once, is one function of `q`. Every curve
//! pays concave proceeds (its marginal price falls as it sells), so `S` is convex with `S(0) = 0`
//! and `S(q)/q` never falls as `q` grows: `q·S(Q₁)/Q₁ ≤ S(q) ≤ q·S(Q₂)/Q₂` for `Q₁ ≤ q ≤ Q₂`. The
//! ladder keeps `S(Q_j)/Q_j` at quantities worth `2^(j/2)` USD, each computed on first use; a call
//! reads the two rungs around its quantity. A call is decided without its exact slippage only when
//! the bounds leave its profit further from zero than [`MARGIN_USD`] + [`MARGIN_SHARE`] of its
//! value — far above the floating-point error of the curves' arithmetic — so every decision is the
//! one the exact slippage gives.

use std::sync::OnceLock;

use crate::RoundCtx;

/// Rungs per asset: values from $1 to `2^(89/2) ≈ $2.5e13`; larger calls use the exact slippage.
const RUNGS: usize = 90;
/// Absolute margin the bounds must leave around zero profit, USD.
pub(super) const MARGIN_USD: f64 = 0.01;
/// Margin as a share of the call's seized value.
pub(super) const MARGIN_SHARE: f64 = 1e-6;

/// A rung: its quantity (tokens) and `S(Q)/Q` (USD per token).
type Rung = OnceLock<(f64, f64)>;

/// One round's ladders (one per asset, built on first use), shared by the round's chunks.
pub(super) struct SlippageLadder {
    rungs: Vec<OnceLock<Box<[Rung]>>>,
}

impl SlippageLadder {
    pub(super) fn new(assets: usize) -> Self {
        SlippageLadder {
            rungs: (0..assets).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Lower and upper bounds on the USD slippage of selling `q` tokens of asset `a` at once in
    /// this round; `None` when the ladder cannot give them (a price that is not a finite positive
    /// number, a quantity beyond the last rung).
    pub(super) fn bounds(&self, a: usize, q: f64, ctx: &RoundCtx) -> Option<(f64, f64)> {
        let p = *ctx.prices.get(a)?;
        if !(p > 0.0 && p.is_finite() && q > 0.0 && q.is_finite()) {
            return None;
        }
        // j with 2^(j/2) ≤ value < 2^((j+1)/2), from the value's binary exponent and mantissa.
        let value = q * p;
        let j = if value < 1.0 {
            None
        } else {
            let bits = value.to_bits();
            let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
            let mantissa = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
            Some((2 * exponent + i64::from(mantissa >= std::f64::consts::SQRT_2)) as usize)
        };
        let ladder = self.rungs.get(a)?.get_or_init(|| {
            (0..RUNGS)
                .map(|_| OnceLock::new())
                .collect::<Vec<_>>()
                .into_boxed_slice()
        });
        let rung = |j: usize| -> Option<(f64, f64)> {
            let r = ladder.get(j)?.get_or_init(|| {
                let q_j = 2f64.powf(j as f64 / 2.0) / p;
                (q_j, ctx.market.slippage_usd(a, q_j, ctx.prices) / q_j)
            });
            r.1.is_finite().then_some(*r)
        };
        // The rungs' quantities are checked against `q` itself (the arithmetic above rounds).
        let lower = match j {
            None => 0.0,
            Some(j) => match rung(j) {
                Some((q_j, rate)) if q_j <= q => q * rate.max(0.0),
                _ => 0.0,
            },
        };
        let above = j.map_or(0, |j| j + 1);
        let (q_hi, rate_hi) = rung(above)?;
        if q_hi < q {
            return None;
        }
        Some((lower, q * rate_hi.max(0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_market::price::Market;

    /// On every curve of the built-in system (power laws, a stableswap pool, a concentrated
    /// range), the bounds hold the exact slippage between them, from cents to billions of USD,
    /// and are within a factor of a few of it once the slippage is worth anything.
    #[test]
    fn the_bounds_hold_the_exact_slippage() {
        let (s, _) = cascade_io::builtin::system().expect("the built-in system loads");
        let market = Market::new(&s);
        let prices = market.prices();
        let ctx = RoundCtx {
            round: 1,
            prices: &prices,
            market: &market,
            prev_prices: &prices,
            breakers: false,
        };
        let ladder = SlippageLadder::new(prices.len());
        let mut informative = 0;
        for (a, &p) in prices.iter().enumerate() {
            if p.is_nan() || p <= 0.0 {
                continue;
            }
            // Values 0.37·1.9^i USD: never on a rung.
            for i in 0..45 {
                let q = 0.37 * 1.9f64.powi(i) / p;
                let exact = market.slippage_usd(a, q, &prices);
                let Some((lo, hi)) = ladder.bounds(a, q, &ctx) else {
                    continue;
                };
                let tol = 1e-9 * (q * p) + 1e-9;
                assert!(
                    lo <= exact + tol && exact <= hi + tol,
                    "{} q {q}: {lo} ≤ {exact} ≤ {hi}",
                    s.assets[a].id
                );
                if exact > 1e-3 * q * p && hi <= 4.0 * exact && lo >= exact / 4.0 {
                    informative += 1;
                }
            }
        }
        assert!(informative > 20, "{informative}");
        // No bound without a positive price, or beyond the last rung.
        assert_eq!(ladder.bounds(0, f64::NAN, &ctx), None);
        assert_eq!(ladder.bounds(0, 1e20, &ctx), None);
    }
}
