//! Liquidity curves: the pure math of price impact (docs/liquidity.md#liquidity-curves-and-price-impact).
//!
//! A [`Curve`] is the state of one venue where an asset (the *base*) is sold for its quote (USD, or
//! tokens of a quote asset). Prices are in quote units per base token. Four shapes:
//!
//! - constant product (`x·y = k`, fee kept by the pool),
//! - stableswap (Curve's two-coin invariant, n = 2),
//! - power law (`p(V) = p_ref·max(0.01, 1 − k·(V/adv)^alpha)` in the cumulative value sold `V`),
//! - concentrated liquidity (Uniswap v3: liquidity piecewise constant in `√price`).
//!
//! Every curve also buys ([`Curve::buy`], [`Curve::spend`]): the inverse of its sale, the fee charged
//! on the input; a power law's state goes below 0 on the buy side, where `p(V) =
//! p_ref·(1 + k·(|V|/adv)^alpha)` (the mirror of the sale side; docs/liquidity.md#power-law defines sales only).
//! Buying then selling the same quantity never returns more than the buy cost.
//!
//! Every function is total: for quantities that are zero, negative or not finite a sale yields 0 and
//! changes nothing; finite positive inputs never give NaN, however large the sale (a constant product
//! pays at most `quote`, a stableswap at most its quote balance, a power law `0.01·p_ref` per token
//! past its floor). Parameters are validated by the loader (`cascade_model`); should an invalid value
//! reach this module anyway it is handled conservatively, as documented on each variant.
//!
//! One module per curve kind holds its formulas (`constant_product`, `stableswap`, `power_law`,
//! `concentrated`);
//! [`Curve`] dispatches to them, and [`Quoter`] answers many quotes against one state.

mod concentrated;
mod constant_product;
mod power_law;
mod quoter;
mod stableswap;

#[cfg(test)]
mod tests;

use cascade_model::{ConcentratedSpec, CurveSpec, PoolDepth};

pub use concentrated::{
    parse_sqrt_price_x96, Concentrated, ConcentratedError, PoolToken, UniswapV3Pool, MAX_TICK,
    MIN_TICK,
};
pub use power_law::POWER_LAW_FLOOR;
pub use quoter::Quoter;

use power_law::PowerLaw;
use stableswap::Pool;

/// Bisection steps when a quantity is searched for (a stableswap's re-centring in `ln x`, a power
/// law's tokens for a budget); stops earlier at float resolution.
const MAX_BISECTION_STEPS: usize = 400;

/// State of one liquidity curve (docs/liquidity.md#liquidity-curves-and-price-impact). Prices are in quote units per base token (quote = USD, or
/// tokens of a quote asset).
///
/// Build it with [`Curve::from_spec`] from a validated [`CurveSpec`], centre it with
/// [`Curve::anchor`], and sell on it with [`Curve::sell`].
///
/// # Examples
///
/// ```
/// use cascade_market::curve::Curve;
/// use cascade_model::{CurveSpec, PoolDepth};
///
/// // x·y = k, no fee: 100 of 1000 base tokens for 1000 quote: out = 1000·100/(1000 + 100).
/// let depth = PoolDepth { base: 1000.0, quote: 1000.0, fee: 0.0 };
/// let mut c = Curve::from_spec(&CurveSpec::ConstantProduct(depth));
/// assert_eq!(c.spot_price(), 1.0);
/// let out = c.sell(100.0);
/// assert!((out - 1000.0 * 100.0 / 1100.0).abs() < 1e-9);
/// assert!((c.spot_price() - (1000.0 - out) / 1100.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Curve {
    /// `x·y = k` with a fee kept by the pool: selling `q` yields
    /// `out = quote·q(1−fee)/(base + q(1−fee))`, then `base' = base + q`, `quote' = quote − out`, and
    /// the price is `quote/base` (docs/liquidity.md#constant-product). `fee` outside `[0, 1]` is clamped to it; a NaN fee
    /// pays nothing.
    ConstantProduct(PoolDepth),
    /// Curve's two-coin stableswap with amplification `A` (docs/liquidity.md#stableswap): balances `x = base`,
    /// `y = quote` satisfy `A·n^n·(x+y) + D = A·D·n^n + D^(n+1)/(n^n·x·y)`, n = 2. A sale of `dx`
    /// solves the invariant for `y'` at `x + dx`; the seller receives `(y − y')(1−fee)` and the fee
    /// stays in the pool. A negative or NaN `A` is treated as 0 (constant product); `A` above 1e12
    /// (or infinite) as 1e12.
    StableSwap {
        amplification: f64,
        depth: PoolDepth,
    },
    /// Power-law market impact (docs/liquidity.md#power-law): `p(V) = p_ref·max(0.01, 1 − k·(V/adv)^alpha)`, `V` =
    /// `sold`, the value sold since anchoring measured at `p_ref`; `adv` is the average daily volume
    /// in quote value. `k = 0` means no impact. An invalid `adv` (≤ 0) or `alpha` (≤ 0, not finite)
    /// or a NaN `k` means no depth: every sale is at the 1% floor.
    PowerLaw {
        adv: f64,
        k: f64,
        alpha: f64,
        p_ref: f64,
        sold: f64,
    },
    /// Concentrated liquidity (docs/liquidity.md#concentrated-liquidity): a Uniswap v3 pool's
    /// liquidity profile and its current price; see [`Concentrated`].
    Concentrated(Concentrated),
}

impl Curve {
    /// The curve a [`CurveSpec`] describes (docs/liquidity.md#liquidity-curves-and-price-impact). A power law starts with `p_ref = 1` and
    /// `sold = 0` until [`Curve::anchor`] sets its reference price.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Curve;
    /// use cascade_model::CurveSpec;
    ///
    /// let c = Curve::from_spec(&CurveSpec::PowerLaw { adv_usd: 1e6, k: 1.0, alpha: 0.5 });
    /// assert_eq!(c, Curve::PowerLaw { adv: 1e6, k: 1.0, alpha: 0.5, p_ref: 1.0, sold: 0.0 });
    /// ```
    pub fn from_spec(spec: &CurveSpec) -> Curve {
        match *spec {
            CurveSpec::ConstantProduct(depth) => Curve::ConstantProduct(depth),
            CurveSpec::StableSwap {
                amplification,
                depth,
            } => Curve::StableSwap {
                amplification,
                depth,
            },
            CurveSpec::PowerLaw { adv_usd, k, alpha } => Curve::PowerLaw {
                adv: adv_usd,
                k,
                alpha,
                p_ref: 1.0,
                sold: 0.0,
            },
            CurveSpec::Concentrated(ref c) => Curve::Concentrated(concentrated_of(c)),
        }
    }

    /// Scales the curve's depth by `m` (a scenario's `liquidity_multiplier`, docs/liquidity.md#depth-scaling):
    /// constant product and stableswap multiply `base` and `quote` by `m` (price unchanged); a power
    /// law multiplies `adv` by `m` (`sold` is kept; the engine scales before anchoring, when it is 0).
    /// An `m` that is not finite and positive leaves the curve unchanged.
    pub fn scale_depth(&mut self, m: f64) {
        if !(m > 0.0 && m.is_finite()) {
            return;
        }
        match self {
            Curve::ConstantProduct(depth) | Curve::StableSwap { depth, .. } => {
                *depth = depth.scaled(m)
            }
            Curve::PowerLaw { adv, .. } => *adv *= m,
            Curve::Concentrated(c) => c.scale_depth(m),
        }
    }

    /// Marginal price, quote per base token (docs/liquidity.md#liquidity-curves-and-price-impact):
    /// - constant product: `quote/base`;
    /// - stableswap: with `Ann = 4A` and `D` the invariant of the balances,
    ///   `(Ann + D³/(4x²y)) / (Ann + D³/(4xy²))` (the implicit derivative `−dy/dx`; 1 at `x = y`);
    /// - power law: `p_ref·max(0.01, 1 − k·(sold/adv)^alpha)`, and `p_ref·(1 + k·(|sold|/adv)^alpha)`
    ///   when buys have taken `sold` below 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Curve;
    /// use cascade_model::PoolDepth;
    ///
    /// let depth = PoolDepth { base: 1e6, quote: 1e6, fee: 0.0 };
    /// let c = Curve::StableSwap { amplification: 100.0, depth };
    /// assert_eq!(c.spot_price(), 1.0);
    /// let c = Curve::PowerLaw { adv: 1e6, k: 1.0, alpha: 0.5, p_ref: 100.0, sold: 1e4 };
    /// assert!((c.spot_price() - 90.0).abs() < 1e-12); // 100·(1 − 0.01^0.5)
    /// ```
    pub fn spot_price(&self) -> f64 {
        match *self {
            Curve::ConstantProduct(PoolDepth { base, quote, .. }) => quote / base,
            Curve::StableSwap {
                amplification,
                depth: PoolDepth { base, quote, .. },
            } => stableswap::spot_price(amplification, base, quote),
            Curve::PowerLaw {
                adv,
                k,
                alpha,
                p_ref,
                sold,
            } => p_ref * PowerLaw::new(adv, k, alpha).relative_price(sold),
            Curve::Concentrated(ref c) => c.spot_price(),
        }
    }

    /// Re-centres the curve at marginal price `price` along its invariant (docs/liquidity.md#anchoring, the anchor the
    /// engine sets after the round-0 shocks):
    /// - constant product keeps `k = base·quote`: `base = sqrt(k/price)`, `quote = sqrt(k·price)`
    ///   (unchanged if either would leave the f64 range);
    /// - stableswap keeps `A` and `D` and moves to the balances on the invariant whose marginal price
    ///   is `price` (bisection on `ln x`, `y` solved from the invariant); prices beyond what an
    ///   imbalance of `e^±300` around the balanced point reaches are clamped to it;
    /// - power law: `p_ref = price`, `sold = 0`.
    ///
    /// A `price` that is not finite and positive leaves the curve unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Curve;
    /// use cascade_model::PoolDepth;
    ///
    /// let depth = PoolDepth { base: 1e6, quote: 1e6, fee: 0.0 };
    /// let mut c = Curve::StableSwap { amplification: 100.0, depth };
    /// c.anchor(0.95);
    /// assert!((c.spot_price() - 0.95).abs() < 1e-9);
    /// ```
    pub fn anchor(&mut self, price: f64) {
        if !(price > 0.0 && price.is_finite()) {
            return;
        }
        match self {
            Curve::ConstantProduct(PoolDepth { base, quote, .. }) => {
                constant_product::anchor(base, quote, price)
            }
            Curve::StableSwap {
                amplification,
                depth: PoolDepth { base, quote, .. },
            } => stableswap::anchor(*amplification, base, quote, price),
            Curve::PowerLaw { p_ref, sold, .. } => {
                *p_ref = price;
                *sold = 0.0;
            }
            Curve::Concentrated(c) => c.anchor(price),
        }
    }

    /// Moves the marginal price to `price` without re-anchoring (the between-round recovery of
    /// docs/liquidity.md#recovery-between-rounds): constant product and stableswap as [`Curve::anchor`]; a power law keeps `p_ref` and
    /// sets `sold` to the `V` with `p(V) = price`, i.e. `V = adv·((1 − price/p_ref)/k)^(1/alpha)`
    /// below `p_ref` and `V = −adv·((price/p_ref − 1)/k)^(1/alpha)` above it (the buy side of
    /// [`Curve::buy`]), the price clamped to `≥ 0.01·p_ref` (at the floor, `sold` becomes the floor's
    /// start `adv·(0.99/k)^(1/alpha)` unless it is already past it). A NaN `price` changes nothing.
    pub fn move_to_price(&mut self, price: f64) {
        let law = match *self {
            Curve::PowerLaw { adv, k, alpha, .. } => PowerLaw::new(adv, k, alpha),
            Curve::ConstantProduct(..) | Curve::StableSwap { .. } | Curve::Concentrated(_) => {
                return self.anchor(price)
            }
        };
        if let Curve::PowerLaw { p_ref, sold, .. } = self {
            if price.is_nan() {
                return;
            }
            if let Some(v) = law.value_at_relative_price(price / *p_ref, *sold) {
                *sold = v;
            }
        }
    }

    /// Quote received for selling `q` base tokens now, without changing the state (docs/liquidity.md#liquidity-curves-and-price-impact):
    /// - constant product: `quote·q(1−fee)/(base + q(1−fee))`;
    /// - stableswap: `(y − y')(1−fee)`, `y'` the quote balance on the invariant at `x + q`;
    /// - power law: `∫_a^b max(0.01, 1 − k·(v/adv)^alpha) dv`, `a = sold`, `b = a + q·p_ref`, i.e.
    ///   `(b − a) − k·adv/(1+alpha)·((b/adv)^(1+alpha) − (a/adv)^(1+alpha))` above the floor and
    ///   `0.01·(b − a)` past `v* = adv·(0.99/k)^(1/alpha)`.
    ///
    /// `q` ≤ 0 or not finite yields 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Curve;
    ///
    /// // Square-root law, 1000 tokens at p_ref 100 into adv 1e6: 1e5 − (1e6/1.5)·0.1^1.5.
    /// let c = Curve::PowerLaw { adv: 1e6, k: 1.0, alpha: 0.5, p_ref: 100.0, sold: 0.0 };
    /// assert!((c.proceeds(1000.0) - 78_918.148_932_2).abs() < 1e-6);
    /// ```
    pub fn proceeds(&self, q: f64) -> f64 {
        match self {
            Curve::Concentrated(c) => c.proceeds(q),
            _ => self.clone().sell(q),
        }
    }

    /// Sells `q` base tokens: returns [`Curve::proceeds`]`(q)` and moves the state (docs/liquidity.md#liquidity-curves-and-price-impact: depth
    /// consumed stays consumed):
    /// - constant product: `base += q`, `quote −= out` (the fee stays in the pool);
    /// - stableswap: `x += q`, `y −= (y − y')(1−fee)` (the fee stays in the pool, so `D` grows);
    /// - power law: `sold += q·p_ref`.
    ///
    /// `q` ≤ 0 or not finite sells nothing and returns 0.
    pub fn sell(&mut self, q: f64) -> f64 {
        self.trade(Trade::Sell, q)
    }

    /// Slippage of selling `q` now: its value at the marginal price minus its proceeds,
    /// `q·spot_price() − proceeds(q)` (docs/liquidity.md#execution-price-and-slippage), never negative; 0 for `q` ≤ 0 or not finite.
    pub fn slippage(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        positive_part(q * self.spot_price() - self.proceeds(q))
    }

    /// Quote paid to buy `q` base tokens now, without changing the state: [`Curve::buy`] on a copy.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Curve;
    /// use cascade_model::PoolDepth;
    ///
    /// // x·y = k, no fee: buying 100 of 1000 base tokens costs 1000·100/(1000 − 100).
    /// let c = Curve::ConstantProduct(PoolDepth { base: 1000.0, quote: 1000.0, fee: 0.0 });
    /// assert!((c.buy_cost(100.0) - 1000.0 * 100.0 / 900.0).abs() < 1e-9);
    /// assert_eq!(c.buy_cost(1000.0), f64::INFINITY); // the pool cannot be emptied
    /// ```
    pub fn buy_cost(&self, q: f64) -> f64 {
        match self {
            Curve::Concentrated(c) => c.buy_cost(q),
            _ => self.clone().buy(q),
        }
    }

    /// Buys `q` base tokens with quote: returns the quote paid and moves the state (the mirror of
    /// [`Curve::sell`]; docs/liquidity.md#liquidity-curves-and-price-impact defines sales only, buys are this crate's decision):
    /// - constant product, fee on the input: the pool must end at `(base − q)·(quote + in·(1−fee)) =
    ///   base·quote`, so `cost = quote·q / ((base − q)·(1−fee))`; then `base −= q`, `quote += cost`
    ///   (the fee stays in the pool). Infinite for `q ≥ base`.
    /// - stableswap, fee on the input: `cost = (y' − y)/(1−fee)`, `y'` the quote balance on the
    ///   invariant at `x − q`; then `x −= q`, `y += cost` (the fee stays, `D` grows). Infinite for
    ///   `q ≥ x`.
    /// - power law: the state `V` moves down from `a = sold` to `b = a − q·p_ref`, below 0 if need
    ///   be, where the price is the mirror of the sale side, `p(V) = p_ref·(1 + k·(|V|/adv)^alpha)`
    ///   for `V < 0` (no cap). The cost is `∫_b^a p(v)/p_ref dv`; from `a ≤ 0` that is
    ///   `(a − b) + k·adv/(1+alpha)·((|b|/adv)^(1+alpha) − (|a|/adv)^(1+alpha))`, and a buy from
    ///   `a > 0` first retraces the sale curve (floor included), so a sale and a buy of the same size
    ///   cancel exactly. A curve with no depth (invalid parameters) sells nothing: infinite.
    ///
    /// An infinite (or non-finite) cost leaves the state unchanged. `q` ≤ 0 or not finite buys
    /// nothing and costs 0.
    pub fn buy(&mut self, q: f64) -> f64 {
        self.trade(Trade::Buy, q)
    }

    /// A sale or a buy of `q` base tokens ([`Curve::sell`], [`Curve::buy`]): what the sale yields
    /// or the buy costs, the state moved. `q` ≤ 0 or not finite trades nothing: 0.
    fn trade(&mut self, side: Trade, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        match self {
            Curve::ConstantProduct(PoolDepth { base, quote, fee }) => match side {
                Trade::Sell => constant_product::sell(base, quote, *fee, q),
                Trade::Buy => constant_product::buy(base, quote, *fee, q),
            },
            Curve::StableSwap {
                amplification,
                depth: PoolDepth { base, quote, fee },
            } => match Pool::new(*amplification, *base, *quote) {
                Some(pool) => pool.trade(side, *fee, q, base, quote),
                None => side.impossible(),
            },
            Curve::PowerLaw {
                adv,
                k,
                alpha,
                p_ref,
                sold,
            } => {
                if is_positive(*p_ref) {
                    PowerLaw::new(*adv, *k, *alpha).trade(side, *p_ref, sold, q)
                } else {
                    side.impossible()
                }
            }
            Curve::Concentrated(c) => match side {
                Trade::Sell => c.sell(q),
                Trade::Buy => c.buy(q),
            },
        }
    }

    /// Base tokens that can be bought at all (a buy of this many or more costs infinitely much):
    /// `base` for constant product and stableswap, unbounded for a power law, 0 for a curve with
    /// no depth.
    pub fn max_buy_tokens(&self) -> f64 {
        match *self {
            Curve::ConstantProduct(PoolDepth { base, .. })
            | Curve::StableSwap {
                depth: PoolDepth { base, .. },
                ..
            } => base.max(0.0),
            Curve::PowerLaw {
                adv,
                k,
                alpha,
                p_ref,
                ..
            } => match PowerLaw::new(adv, k, alpha) {
                PowerLaw::Floor => 0.0,
                _ if is_positive(p_ref) => f64::INFINITY,
                _ => 0.0,
            },
            Curve::Concentrated(ref c) => c.max_buy_tokens(),
        }
    }

    /// Base tokens a budget of `usd` quote units buys now, without changing the state: the `q` with
    /// [`Curve::buy_cost`]`(q) = usd`:
    /// - constant product: `q = base·u/(quote + u)`, `u = usd·(1−fee)`;
    /// - stableswap: `u = usd·(1−fee)` sold into the quote side, `q = x − x'`, `x'` the base balance
    ///   on the invariant at `y + u` (the invariant is symmetric in `x` and `y`);
    /// - power law: bisection on `q` in `[0, usd/spot]` (the cost is increasing and at least
    ///   `q·spot`), the largest `q` whose cost does not exceed `usd`.
    ///
    /// `usd` ≤ 0 or not finite buys nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Curve;
    /// use cascade_model::PoolDepth;
    ///
    /// let c = Curve::ConstantProduct(PoolDepth { base: 1000.0, quote: 1000.0, fee: 0.0 });
    /// // 1000·100/(1000 + 100) tokens for 100 of quote.
    /// assert!((c.tokens_for_budget(100.0) - 1000.0 * 100.0 / 1100.0).abs() < 1e-9);
    /// ```
    pub fn tokens_for_budget(&self, usd: f64) -> f64 {
        if !(usd > 0.0 && usd.is_finite()) {
            return 0.0;
        }
        match *self {
            Curve::ConstantProduct(PoolDepth { base, quote, fee }) => {
                constant_product::tokens_for_budget(base, quote, fee, usd)
            }
            Curve::StableSwap {
                amplification,
                depth: PoolDepth { base, quote, fee },
            } => stableswap::tokens_for_budget(amplification, base, quote, fee, usd),
            Curve::PowerLaw { .. } => {
                let spot = self.spot_price();
                if !(spot > 0.0 && spot.is_finite()) || self.max_buy_tokens() <= 0.0 {
                    return 0.0;
                }
                let (mut lo, mut hi) = (0.0_f64, usd / spot);
                if self.buy_cost(hi) <= usd {
                    return hi;
                }
                for _ in 0..MAX_BISECTION_STEPS {
                    let mid = 0.5 * (lo + hi);
                    if mid <= lo || mid >= hi {
                        break;
                    }
                    if self.buy_cost(mid) <= usd {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                lo
            }
            Curve::Concentrated(ref c) => c.tokens_for_budget(usd),
        }
    }

    /// Spends a budget of `usd` quote units: buys [`Curve::tokens_for_budget`]`(usd)` tokens with
    /// [`Curve::buy`] (moving the state) and returns the tokens bought. The quote actually paid is at
    /// most `usd` (equal up to rounding).
    pub fn spend(&mut self, usd: f64) -> f64 {
        let q = self.tokens_for_budget(usd);
        if q > 0.0 && self.buy(q).is_finite() {
            q
        } else {
            0.0
        }
    }

    /// Slippage of buying `q` now: its cost minus its value at the marginal price,
    /// `buy_cost(q) − q·spot_price()`, never negative (infinite when the curve cannot deliver `q`);
    /// 0 for `q` ≤ 0 or not finite.
    pub fn buy_slippage(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        positive_part(self.buy_cost(q) - q * self.spot_price())
    }
}

/// The side of a trade on a curve: base tokens sold for quote, or bought with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trade {
    Sell,
    Buy,
}

impl Trade {
    /// What a trade the curve cannot make gives: nothing for a sale, an infinite cost for a buy.
    fn impossible(self) -> f64 {
        match self {
            Trade::Sell => 0.0,
            Trade::Buy => f64::INFINITY,
        }
    }
}

/// The curve of a loaded concentrated-liquidity spec (prices and ranges in quote per base, validated
/// by the loader): its ranges summed where they overlap, in square roots of prices. A spec the curve
/// cannot hold (its virtual balances beyond the f64 range) is a pool with no depth, at its price.
fn concentrated_of(c: &ConcentratedSpec) -> Concentrated {
    let positions: Vec<(f64, f64, f64)> = c
        .ranges
        .iter()
        .map(|r| (r.lower.sqrt(), r.upper.sqrt(), r.liquidity))
        .collect();
    let s = c.price.sqrt();
    Concentrated::from_positions(s, c.fee, &positions)
        .unwrap_or_else(|_| Concentrated::without_depth(s))
}

/// `v > 0`; false for NaN.
fn is_positive(v: f64) -> bool {
    v > 0.0
}

/// `1 − fee` clamped to `[0, 1]`; a NaN fee keeps nothing (conservative: nothing is realised).
fn retained(fee: f64) -> f64 {
    let r = 1.0 - fee;
    if r >= 0.0 {
        r.min(1.0)
    } else {
        0.0
    }
}

/// `s` if it is positive, else 0 (also for NaN): a slippage is never negative.
fn positive_part(s: f64) -> f64 {
    if s > 0.0 {
        s
    } else {
        0.0
    }
}
