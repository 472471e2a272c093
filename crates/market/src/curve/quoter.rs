//! A curve prepared for many quotes at one state.

use super::stableswap::Pool;
use super::{positive_part, Curve, PoolDepth};

#[cfg(test)]
mod tests;

/// A curve prepared for many quotes at one state: the marginal price, and for a stableswap its
/// invariant `D`, computed once (the liquidator-profitability check quotes every liquidation of a
/// round against the round's starting state). Quotes equal the curve's own.
#[derive(Debug, Clone)]
pub struct Quoter {
    curve: Curve,
    spot: f64,
    /// A stableswap's solved pool and its fee; `None` for other kinds and for a stableswap whose
    /// invariant has no solution (it sells nothing and cannot be bought from).
    pool: Option<(Pool, f64)>,
}

impl Quoter {
    pub fn new(curve: &Curve) -> Quoter {
        let pool = match curve {
            Curve::StableSwap {
                amplification,
                depth: PoolDepth { base, quote, fee },
            } => Pool::new(*amplification, *base, *quote).map(|pool| (pool, *fee)),
            _ => None,
        };
        Quoter {
            curve: curve.clone(),
            spot: curve.spot_price(),
            pool,
        }
    }

    /// [`Curve::spot_price`].
    pub fn spot_price(&self) -> f64 {
        self.spot
    }

    /// [`Curve::proceeds`].
    pub fn proceeds(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        match (&self.pool, &self.curve) {
            (Some((pool, fee)), _) => pool.sale(*fee, q).0,
            (None, Curve::StableSwap { .. }) => 0.0,
            (None, c) => c.proceeds(q),
        }
    }

    /// [`Curve::slippage`].
    pub fn slippage(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        positive_part(q * self.spot - self.proceeds(q))
    }

    /// [`Curve::buy_cost`].
    pub fn buy_cost(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        match (&self.pool, &self.curve) {
            (Some((pool, fee)), _) => pool.buy_cost(*fee, q),
            (None, Curve::StableSwap { .. }) => f64::INFINITY,
            (None, c) => c.buy_cost(q),
        }
    }

    /// [`Curve::buy_slippage`].
    pub fn buy_slippage(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        positive_part(self.buy_cost(q) - q * self.spot)
    }
}
