//! Curve's two-coin stableswap (docs/liquidity.md): the invariant `D`, the balance on it, its marginal
//! price, and sales, buys and re-centring along it.

use super::{is_positive, retained, Trade, MAX_BISECTION_STEPS};

/// Coins in a stableswap pool (`n` in docs/liquidity.md#stableswap's invariant).
const STABLESWAP_COINS: f64 = 2.0;

/// `n^n` for the two-coin pool: `Ann = A·n^n = 4A`.
const STABLESWAP_NN: f64 = 4.0;

/// Largest amplification used in the arithmetic; larger (or infinite) values are clamped to it.
const MAX_AMPLIFICATION: f64 = 1e12;

/// Newton iterations for the stableswap invariant `D`; it converges quadratically from the upper
/// bound it starts at, in well under 20 steps.
const MAX_NEWTON_ITERATIONS: usize = 256;

/// How far (in `ln x`, relative to the balanced point) a stableswap may be re-centred.
const MAX_LN_IMBALANCE: f64 = 300.0;

/// Marginal price of a stableswap curve (see `Curve::spot_price`): infinite when the base side is
/// empty and the quote side is not, 0 when both are.
pub(super) fn spot_price(amplification: f64, base: f64, quote: f64) -> f64 {
    match Pool::new(amplification, base, quote) {
        Some(p) => p.price(),
        None if quote > 0.0 => f64::INFINITY,
        None => 0.0,
    }
}

/// Re-centres the balances at marginal price `price`, keeping `A` and `D` (see `Curve::anchor`).
pub(super) fn anchor(amplification: f64, base: &mut f64, quote: &mut f64, price: f64) {
    if let Some(pool) = Pool::new(amplification, *base, *quote) {
        let (x, y) = pool.balances_at_price(price);
        *base = pool.scale * x;
        *quote = pool.scale * y;
    }
}

/// Base tokens a budget of `usd` buys (see `Curve::tokens_for_budget`): `u = usd·(1−fee)` sold
/// into the quote side, the invariant being symmetric in `x` and `y`.
pub(super) fn tokens_for_budget(
    amplification: f64,
    base: f64,
    quote: f64,
    fee: f64,
    usd: f64,
) -> f64 {
    let Some(pool) = Pool::new(amplification, base, quote) else {
        return 0.0;
    };
    let u = usd * retained(fee) / pool.scale;
    if !is_positive(u) {
        return 0.0;
    }
    let swapped = Pool {
        x: pool.y,
        y: pool.x,
        ..pool
    };
    let (dx, _) = swapped.sell(u);
    (pool.scale * dx).min(base)
}

/// A stableswap pool in normalised units. The invariant is homogeneous of degree one in
/// `(x, y, D)`, so the math runs on `x/scale`, `y/scale` (both ≤ 1) and `D/scale`, which keeps
/// `D³` far from overflow whatever the pool's size.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pool {
    /// `Ann = A·n^n`.
    ann: f64,
    /// `max(base, quote)`.
    pub(super) scale: f64,
    x: f64,
    y: f64,
    pub(super) d: f64,
}

impl Pool {
    /// `None` unless both balances are positive and finite.
    pub(super) fn new(amplification: f64, base: f64, quote: f64) -> Option<Pool> {
        if !(base > 0.0 && quote > 0.0 && base.is_finite() && quote.is_finite()) {
            return None;
        }
        let a = if amplification > 0.0 {
            amplification.min(MAX_AMPLIFICATION)
        } else {
            0.0
        };
        let ann = a * STABLESWAP_NN;
        let scale = base.max(quote);
        let (x, y) = (base / scale, quote / scale);
        let d = invariant(ann, x, y);
        if d > 0.0 && d.is_finite() {
            Some(Pool {
                ann,
                scale,
                x,
                y,
                d,
            })
        } else {
            None
        }
    }

    pub(super) fn price(&self) -> f64 {
        price(self.ann, self.x, self.y, self.d)
    }

    /// A trade of `q` base tokens on the curve whose balances are `base` and `quote` (this pool,
    /// in real units), fee `fee`: a sale gives [`Pool::sale`]'s quote and moves `x += q`, `y` to
    /// the balance after it; a buy costs [`Pool::buy_cost`] and moves `x −= q`, `y += cost`
    /// (unchanged when the cost is infinite).
    pub(super) fn trade(
        &self,
        side: Trade,
        fee: f64,
        q: f64,
        base: &mut f64,
        quote: &mut f64,
    ) -> f64 {
        match side {
            Trade::Sell => {
                let (out, quote_after) = self.sale(fee, q);
                *base += q;
                *quote = quote_after;
                out
            }
            Trade::Buy => {
                let cost = self.buy_cost(fee, q);
                if cost.is_finite() {
                    *base -= q;
                    *quote += cost;
                }
                cost
            }
        }
    }

    /// A sale of `q` base tokens in real units with fee `fee` (see `Curve::sell`): the quote
    /// received, `(y − y')·(1−fee)` capped at the quote balance, and the quote balance after it
    /// (the fee stays in the pool, so `D` grows).
    pub(super) fn sale(&self, fee: f64, q: f64) -> (f64, f64) {
        let keep = retained(fee);
        let (dy, y_after) = self.sell(q / self.scale);
        // y − dy·(1−fee); the second form (y' + fee·dy) is the same number in exact
        // arithmetic and stays positive when a huge sale drains the pool.
        let y_new = (self.y - dy * keep).max(y_after + dy * (1.0 - keep));
        (
            (self.scale * dy * keep).min(self.scale * self.y),
            self.scale * y_new.max(0.0),
        )
    }

    /// Quote paid to buy `q` base tokens in real units with fee `fee` on the input (see
    /// `Curve::buy`): `(y' − y)/(1−fee)`; infinite when the pool cannot deliver `q`.
    pub(super) fn buy_cost(&self, fee: f64, q: f64) -> f64 {
        let keep = retained(fee);
        match self.buy(q / self.scale) {
            Some(net) if keep > 0.0 && (self.scale * net / keep).is_finite() => {
                self.scale * net / keep
            }
            _ => f64::INFINITY,
        }
    }

    /// Selling `dx` (normalised): returns `(dy, y')`, `dy` the fee-free amount out and `y'` the
    /// balance on the invariant at `x + dx`.
    ///
    /// With `y0` the balance the invariant gives at `x` (equal to `y` up to rounding), both `y0`
    /// and `y'` are roots of `Ann·y² + β(x)·y − e(x) = 0` (see [`balance`]); subtracting the two
    /// equations gives `dy = y0 − y' = (Ann·dx·y' + e(x)·dx/(x+dx)) / (Ann·y' + e(x)/y0)`, which has
    /// no cancellation, so small sales are as accurate as large ones.
    fn sell(&self, dx: f64) -> (f64, f64) {
        let y0 = balance(self.ann, self.x, self.d);
        if !is_positive(y0) {
            return (0.0, self.y);
        }
        if !dx.is_finite() {
            return (y0.min(self.y), 0.0);
        }
        let y1 = balance(self.ann, self.x + dx, self.d);
        let e0 = self.d * (self.d / STABLESWAP_COINS) * (self.d / (STABLESWAP_COINS * self.x));
        let t = 1.0 / (1.0 + self.x / dx); // dx/(x + dx)
        let dy = (self.ann * y1 * dx + e0 * t) / (self.ann * y1 + e0 / y0);
        let dy = if dy > 0.0 { dy.min(self.y) } else { 0.0 };
        (dy, y1)
    }

    /// Buying `dx` (normalised) of base: the fee-free quote in, `y' − y0`, `y'` the balance on the
    /// invariant at `x − dx`. The same identity as [`Pool::sell`] with `dx` negated:
    /// `y' − y0 = (Ann·dx·y' + e(x)·dx/(x−dx)) / (Ann·y' + e(x)/y0)`, no cancellation. `None` unless
    /// `0 < dx < x` and the result is finite.
    fn buy(&self, dx: f64) -> Option<f64> {
        if !(dx > 0.0 && dx < self.x) {
            return None;
        }
        let y0 = balance(self.ann, self.x, self.d);
        if !is_positive(y0) {
            return None;
        }
        let y1 = balance(self.ann, self.x - dx, self.d);
        let e0 = self.d * (self.d / STABLESWAP_COINS) * (self.d / (STABLESWAP_COINS * self.x));
        let t = dx / (self.x - dx);
        let dy = (self.ann * y1 * dx + e0 * t) / (self.ann * y1 + e0 / y0);
        (dy.is_finite() && dy >= 0.0).then_some(dy)
    }

    /// Balances (normalised) on this pool's invariant whose marginal price is `target`: bisection on
    /// `ln x`, the price falling as `x` grows; 1 at `x = y = D/2`.
    fn balances_at_price(&self, target: f64) -> (f64, f64) {
        let price_at = |ln_x: f64| {
            let x = ln_x.exp();
            price(self.ann, x, balance(self.ann, x, self.d), self.d)
        };
        let centre = (self.d / STABLESWAP_COINS).ln();
        // Bracket [lo, hi] with price(lo) ≥ target ≥ price(hi), widening by doubling steps.
        let (mut lo, mut hi) = (centre, centre);
        let mut step = 1.0_f64;
        if target < 1.0 {
            loop {
                hi = centre + step.min(MAX_LN_IMBALANCE);
                let p = price_at(hi);
                if p.is_nan() || p <= target || step >= MAX_LN_IMBALANCE {
                    break;
                }
                lo = hi;
                step *= 2.0;
            }
        } else {
            loop {
                lo = centre - step.min(MAX_LN_IMBALANCE);
                let p = price_at(lo);
                if p.is_nan() || p >= target || step >= MAX_LN_IMBALANCE {
                    break;
                }
                hi = lo;
                step *= 2.0;
            }
        }
        for _ in 0..MAX_BISECTION_STEPS {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if price_at(mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        // Of the two ends, the one whose price is closer to the target.
        let ln_x = if (price_at(lo) - target).abs() <= (price_at(hi) - target).abs() {
            lo
        } else {
            hi
        };
        let x = ln_x.exp();
        (x, balance(self.ann, x, self.d))
    }
}

/// The stableswap invariant `D` of balances `(x, y)` (docs/liquidity.md#stableswap, n = 2): the positive root of
/// `f(D) = D³/(4xy) + (Ann − 1)·D − Ann·(x + y)`, by Newton
/// `D ← D·(Ann·S + 2·D_P) / ((Ann − 1)·D + 3·D_P)`, `D_P = D³/(4xy)` (Curve's `get_D`).
///
/// `f` is convex on `D > 0`, so Newton started above the root decreases monotonically onto it. The
/// start is an upper bound: `S = x + y` (`f(S) = S·(S²/(4xy) − 1) ≥ 0`) and
/// `max(cbrt(8xy·Ann·S), sqrt(8xy·(1 − Ann)))`, which keeps the iteration short when the pool is
/// very unbalanced. Iteration stops when a step no longer decreases `D` (float resolution).
fn invariant(ann: f64, x: f64, y: f64) -> f64 {
    if !(x > 0.0 && y > 0.0) {
        return 0.0;
    }
    let s = x + y;
    let xy8 = 8.0 * x * y;
    let bound = (xy8 * ann * s)
        .cbrt()
        .max((xy8 * (1.0 - ann).max(0.0)).sqrt());
    let mut d = s.min(bound);
    for _ in 0..MAX_NEWTON_ITERATIONS {
        let d_p = d * (d / (STABLESWAP_COINS * x)) * (d / (STABLESWAP_COINS * y));
        let next = if d_p > d {
            // Same step divided through by D_P, finite even when D_P overflows.
            d * (2.0 + ann * s / d_p) / (3.0 + (ann - 1.0) * d / d_p)
        } else {
            d * (2.0 * d_p + ann * s) / (3.0 * d_p + (ann - 1.0) * d)
        };
        if !(next > 0.0 && next < d) {
            break;
        }
        d = next;
    }
    d
}

/// The balance `y` on the stableswap invariant `D` at `x` (Curve's `get_y`, n = 2). Multiplying the
/// invariant by `y` gives the quadratic `Ann·y² + β·y − e = 0` with `β = Ann·(x − D) + D` and
/// `e = D³/(4x)`; its positive root is taken in the form without cancellation:
/// `2e/(β + sqrt(β² + 4·Ann·e))` for `β ≥ 0`, `(sqrt(β² + 4·Ann·e) − β)/(2·Ann)` otherwise.
/// (Newton on the same quadratic, as Curve does it, converges to this root.)
fn balance(ann: f64, x: f64, d: f64) -> f64 {
    if !(x > 0.0 && d > 0.0) {
        return 0.0;
    }
    let e = d * (d / STABLESWAP_COINS) * (d / (STABLESWAP_COINS * x));
    let beta = ann * (x - d) + d;
    let disc = beta.hypot(2.0 * ann.sqrt() * e.sqrt());
    if beta >= 0.0 {
        if disc.is_infinite() {
            return 0.0;
        }
        2.0 * e / (beta + disc)
    } else {
        (disc - beta) / (2.0 * ann)
    }
}

/// Marginal price `−dy/dx` on the stableswap invariant: `(Ann + D_P/x) / (Ann + D_P/y)`,
/// `D_P = D³/(4xy)` (= 1 at `x = y`).
fn price(ann: f64, x: f64, y: f64, d: f64) -> f64 {
    if !is_positive(x) {
        return if y > 0.0 { f64::INFINITY } else { 0.0 };
    }
    if !is_positive(y) {
        return 0.0;
    }
    let d_p = d * (d / (STABLESWAP_COINS * x)) * (d / (STABLESWAP_COINS * y));
    if d_p > 1.0 {
        // Divided through by D_P/(xy): finite even when D_P overflows.
        (y / x) * (ann * x / d_p + 1.0) / (ann * y / d_p + 1.0)
    } else {
        (ann + d_p / x) / (ann + d_p / y)
    }
}
