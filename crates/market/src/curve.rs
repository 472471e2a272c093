//! Liquidity curves: the pure math of price impact (DESIGN §3).
//!
//! A [`Curve`] is the state of one venue where an asset (the *base*) is sold for its quote (USD, or
//! tokens of a quote asset). Prices are in quote units per base token. Three shapes:
//!
//! - constant product (`x·y = k`, fee kept by the pool),
//! - stableswap (Curve's two-coin invariant, n = 2),
//! - power law (`p(V) = p_ref·max(0.01, 1 − k·(V/adv)^alpha)` in the cumulative value sold `V`).
//!
//! Every curve also buys ([`Curve::buy`], [`Curve::spend`]): the inverse of its sale, the fee charged
//! on the input; a power law's state goes below 0 on the buy side, where `p(V) =
//! p_ref·(1 + k·(|V|/adv)^alpha)` (the mirror of the sale side; DESIGN §3 defines sales only).
//! Buying then selling the same quantity never returns more than the buy cost.
//!
//! Every function is total: for quantities that are zero, negative or not finite a sale yields 0 and
//! changes nothing; finite positive inputs never give NaN, however large the sale (a constant product
//! pays at most `quote`, a stableswap at most its quote balance, a power law `0.01·p_ref` per token
//! past its floor). Parameters are validated by the loader (`cascade_model`); should an invalid value
//! reach this module anyway it is handled conservatively, as documented on each variant.

use cascade_model::CurveSpec;

/// A power-law price never falls below this share of `p_ref` (DESIGN §3).
pub const POWER_LAW_FLOOR: f64 = 0.01;

/// Coins in a stableswap pool (`n` in DESIGN §3's invariant).
const STABLESWAP_COINS: f64 = 2.0;

/// `n^n` for the two-coin pool: `Ann = A·n^n = 4A`.
const STABLESWAP_NN: f64 = 4.0;

/// Largest amplification used in the arithmetic; larger (or infinite) values are clamped to it.
const MAX_AMPLIFICATION: f64 = 1e12;

/// Newton iterations for the stableswap invariant `D`; it converges quadratically from the upper
/// bound it starts at, in well under 20 steps.
const MAX_NEWTON_ITERATIONS: usize = 256;

/// Bisection steps (in `ln x`) when re-centring a stableswap; stops earlier at float resolution.
const MAX_BISECTION_STEPS: usize = 400;

/// How far (in `ln x`, relative to the balanced point) a stableswap may be re-centred.
const MAX_LN_IMBALANCE: f64 = 300.0;

/// State of one liquidity curve (DESIGN §3). Prices are in quote units per base token (quote = USD, or
/// tokens of a quote asset).
///
/// Build it with [`Curve::from_spec`] from a validated [`CurveSpec`], centre it with
/// [`Curve::anchor`], and sell on it with [`Curve::sell`].
///
/// # Examples
///
/// ```
/// use cascade_market::curve::Curve;
/// use cascade_model::CurveSpec;
///
/// // x·y = k, no fee: 100 of 1000 base tokens for 1000 quote: out = 1000·100/(1000 + 100).
/// let mut c = Curve::from_spec(&CurveSpec::ConstantProduct { base: 1000.0, quote: 1000.0, fee: 0.0 });
/// assert_eq!(c.spot_price(), 1.0);
/// let out = c.sell(100.0);
/// assert!((out - 1000.0 * 100.0 / 1100.0).abs() < 1e-9);
/// assert!((c.spot_price() - (1000.0 - out) / 1100.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Curve {
    /// `x·y = k` with a fee kept by the pool: selling `q` yields
    /// `out = quote·q(1−fee)/(base + q(1−fee))`, then `base' = base + q`, `quote' = quote − out`, and
    /// the price is `quote/base` (DESIGN §3). `fee` outside `[0, 1]` is clamped to it; a NaN fee
    /// pays nothing.
    ConstantProduct { base: f64, quote: f64, fee: f64 },
    /// Curve's two-coin stableswap with amplification `A` (DESIGN §3): balances `x = base`,
    /// `y = quote` satisfy `A·n^n·(x+y) + D = A·D·n^n + D^(n+1)/(n^n·x·y)`, n = 2. A sale of `dx`
    /// solves the invariant for `y'` at `x + dx`; the seller receives `(y − y')(1−fee)` and the fee
    /// stays in the pool. A negative or NaN `A` is treated as 0 (constant product); `A` above 1e12
    /// (or infinite) as 1e12.
    StableSwap {
        amplification: f64,
        base: f64,
        quote: f64,
        fee: f64,
    },
    /// Power-law market impact (DESIGN §3): `p(V) = p_ref·max(0.01, 1 − k·(V/adv)^alpha)`, `V` =
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
}

impl Curve {
    /// The curve a [`CurveSpec`] describes (DESIGN §3). A power law starts with `p_ref = 1` and
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
            CurveSpec::ConstantProduct { base, quote, fee } => {
                Curve::ConstantProduct { base, quote, fee }
            }
            CurveSpec::StableSwap {
                amplification,
                base,
                quote,
                fee,
            } => Curve::StableSwap {
                amplification,
                base,
                quote,
                fee,
            },
            CurveSpec::PowerLaw { adv_usd, k, alpha } => Curve::PowerLaw {
                adv: adv_usd,
                k,
                alpha,
                p_ref: 1.0,
                sold: 0.0,
            },
        }
    }

    /// Scales the curve's depth by `m` (a scenario's `liquidity_multiplier`, DESIGN §3 and §10):
    /// constant product and stableswap multiply `base` and `quote` by `m` (price unchanged); a power
    /// law multiplies `adv` by `m` (`sold` is kept; the engine scales before anchoring, when it is 0).
    /// An `m` that is not finite and positive leaves the curve unchanged.
    pub fn scale_depth(&mut self, m: f64) {
        if !(m > 0.0 && m.is_finite()) {
            return;
        }
        match self {
            Curve::ConstantProduct { base, quote, .. } | Curve::StableSwap { base, quote, .. } => {
                *base *= m;
                *quote *= m;
            }
            Curve::PowerLaw { adv, .. } => *adv *= m,
        }
    }

    /// Marginal price, quote per base token (DESIGN §3):
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
    ///
    /// let c = Curve::StableSwap { amplification: 100.0, base: 1e6, quote: 1e6, fee: 0.0 };
    /// assert_eq!(c.spot_price(), 1.0);
    /// let c = Curve::PowerLaw { adv: 1e6, k: 1.0, alpha: 0.5, p_ref: 100.0, sold: 1e4 };
    /// assert!((c.spot_price() - 90.0).abs() < 1e-12); // 100·(1 − 0.01^0.5)
    /// ```
    pub fn spot_price(&self) -> f64 {
        match *self {
            Curve::ConstantProduct { base, quote, .. } => quote / base,
            Curve::StableSwap {
                amplification,
                base,
                quote,
                ..
            } => match Pool::new(amplification, base, quote) {
                Some(p) => p.price(),
                None if quote > 0.0 => f64::INFINITY,
                None => 0.0,
            },
            Curve::PowerLaw {
                adv,
                k,
                alpha,
                p_ref,
                sold,
            } => p_ref * PowerLaw::new(adv, k, alpha).relative_price(sold),
        }
    }

    /// Re-centres the curve at marginal price `price` along its invariant (DESIGN §3, the anchor the
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
    ///
    /// let mut c = Curve::StableSwap { amplification: 100.0, base: 1e6, quote: 1e6, fee: 0.0 };
    /// c.anchor(0.95);
    /// assert!((c.spot_price() - 0.95).abs() < 1e-9);
    /// ```
    pub fn anchor(&mut self, price: f64) {
        if !(price > 0.0 && price.is_finite()) {
            return;
        }
        match self {
            Curve::ConstantProduct { base, quote, .. } => {
                // sqrt(k) = sqrt(base)·sqrt(quote) avoids overflowing base·quote.
                let root_k = base.sqrt() * quote.sqrt();
                let root_p = price.sqrt();
                let (b, q) = (root_k / root_p, root_k * root_p);
                if b > 0.0 && q > 0.0 && b.is_finite() && q.is_finite() {
                    (*base, *quote) = (b, q);
                }
            }
            Curve::StableSwap {
                amplification,
                base,
                quote,
                ..
            } => {
                if let Some(pool) = Pool::new(*amplification, *base, *quote) {
                    let (x, y) = pool.balances_at_price(price);
                    *base = pool.scale * x;
                    *quote = pool.scale * y;
                }
            }
            Curve::PowerLaw { p_ref, sold, .. } => {
                *p_ref = price;
                *sold = 0.0;
            }
        }
    }

    /// Moves the marginal price to `price` without re-anchoring (the between-round recovery of
    /// DESIGN §3): constant product and stableswap as [`Curve::anchor`]; a power law keeps `p_ref` and
    /// sets `sold` to the `V` with `p(V) = price`, i.e. `V = adv·((1 − price/p_ref)/k)^(1/alpha)`
    /// below `p_ref` and `V = −adv·((price/p_ref − 1)/k)^(1/alpha)` above it (the buy side of
    /// [`Curve::buy`]), the price clamped to `≥ 0.01·p_ref` (at the floor, `sold` becomes the floor's
    /// start `adv·(0.99/k)^(1/alpha)` unless it is already past it). A NaN `price` changes nothing.
    pub fn move_to_price(&mut self, price: f64) {
        match self {
            Curve::ConstantProduct { .. } | Curve::StableSwap { .. } => self.anchor(price),
            Curve::PowerLaw {
                adv,
                k,
                alpha,
                p_ref,
                sold,
            } => {
                if price.is_nan() {
                    return;
                }
                let law = PowerLaw::new(*adv, *k, *alpha);
                if let Some(v) = law.value_at_relative_price(price / *p_ref, *sold) {
                    *sold = v;
                }
            }
        }
    }

    /// Quote received for selling `q` base tokens now, without changing the state (DESIGN §3):
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
        self.clone().sell(q)
    }

    /// Sells `q` base tokens: returns [`Curve::proceeds`]`(q)` and moves the state (DESIGN §3: depth
    /// consumed stays consumed):
    /// - constant product: `base += q`, `quote −= out` (the fee stays in the pool);
    /// - stableswap: `x += q`, `y −= (y − y')(1−fee)` (the fee stays in the pool, so `D` grows);
    /// - power law: `sold += q·p_ref`.
    ///
    /// `q` ≤ 0 or not finite sells nothing and returns 0.
    pub fn sell(&mut self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        match self {
            Curve::ConstantProduct { base, quote, fee } => {
                let q_in = q * retained(*fee);
                if !(q_in > 0.0 && *base >= 0.0 && *quote > 0.0 && quote.is_finite()) {
                    return 0.0;
                }
                // out = quote·q_in/(base + q_in), written so that neither term overflows.
                let out = *quote / (1.0 + *base / q_in);
                *quote /= 1.0 + q_in / *base; // = quote·base/(base + q_in) = quote − out
                *base += q;
                out
            }
            Curve::StableSwap {
                amplification,
                base,
                quote,
                fee,
            } => {
                let Some(pool) = Pool::new(*amplification, *base, *quote) else {
                    return 0.0;
                };
                let keep = retained(*fee);
                let (dy, y_after) = pool.sell(q / pool.scale);
                // y − dy·(1−fee); the second form (y' + fee·dy) is the same number in exact
                // arithmetic and stays positive when a huge sale drains the pool.
                let y_new = (pool.y - dy * keep).max(y_after + dy * (1.0 - keep));
                *base += q;
                *quote = pool.scale * y_new.max(0.0);
                (pool.scale * dy * keep).min(pool.scale * pool.y)
            }
            Curve::PowerLaw {
                adv,
                k,
                alpha,
                p_ref,
                sold,
            } => {
                if !is_positive(*p_ref) {
                    return 0.0;
                }
                let out = PowerLaw::new(*adv, *k, *alpha).proceeds(*sold, q, *p_ref);
                *sold += q * *p_ref;
                out
            }
        }
    }

    /// Slippage of selling `q` now: its value at the marginal price minus its proceeds,
    /// `q·spot_price() − proceeds(q)` (DESIGN §3), never negative; 0 for `q` ≤ 0 or not finite.
    pub fn slippage(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        let s = q * self.spot_price() - self.proceeds(q);
        if s > 0.0 {
            s
        } else {
            0.0
        }
    }

    /// Quote paid to buy `q` base tokens now, without changing the state: [`Curve::buy`] on a copy.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Curve;
    ///
    /// // x·y = k, no fee: buying 100 of 1000 base tokens costs 1000·100/(1000 − 100).
    /// let c = Curve::ConstantProduct { base: 1000.0, quote: 1000.0, fee: 0.0 };
    /// assert!((c.buy_cost(100.0) - 1000.0 * 100.0 / 900.0).abs() < 1e-9);
    /// assert_eq!(c.buy_cost(1000.0), f64::INFINITY); // the pool cannot be emptied
    /// ```
    pub fn buy_cost(&self, q: f64) -> f64 {
        self.clone().buy(q)
    }

    /// Buys `q` base tokens with quote: returns the quote paid and moves the state (the mirror of
    /// [`Curve::sell`]; DESIGN §3 defines sales only, buys are this crate's decision):
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
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        match self {
            Curve::ConstantProduct { base, quote, fee } => {
                let keep = retained(*fee);
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
            Curve::StableSwap {
                amplification,
                base,
                quote,
                fee,
            } => {
                let keep = retained(*fee);
                let Some(pool) = Pool::new(*amplification, *base, *quote) else {
                    return f64::INFINITY;
                };
                let Some(net) = pool.buy(q / pool.scale) else {
                    return f64::INFINITY;
                };
                let cost = pool.scale * net / keep;
                if !(cost.is_finite() && keep > 0.0) {
                    return f64::INFINITY;
                }
                *base -= q;
                *quote += cost;
                cost
            }
            Curve::PowerLaw {
                adv,
                k,
                alpha,
                p_ref,
                sold,
            } => {
                if !is_positive(*p_ref) {
                    return f64::INFINITY;
                }
                let b = *sold - q * *p_ref;
                let cost = PowerLaw::new(*adv, *k, *alpha).buy_cost(*sold, b, q, *p_ref);
                if !cost.is_finite() {
                    return f64::INFINITY;
                }
                *sold = b;
                cost
            }
        }
    }

    /// Base tokens that can be bought at all (a buy of this many or more costs infinitely much):
    /// `base` for constant product and stableswap, unbounded for a power law, 0 for a curve with
    /// no depth.
    pub fn max_buy_tokens(&self) -> f64 {
        match *self {
            Curve::ConstantProduct { base, .. } | Curve::StableSwap { base, .. } => base.max(0.0),
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
    ///
    /// let c = Curve::ConstantProduct { base: 1000.0, quote: 1000.0, fee: 0.0 };
    /// // 1000·100/(1000 + 100) tokens for 100 of quote.
    /// assert!((c.tokens_for_budget(100.0) - 1000.0 * 100.0 / 1100.0).abs() < 1e-9);
    /// ```
    pub fn tokens_for_budget(&self, usd: f64) -> f64 {
        if !(usd > 0.0 && usd.is_finite()) {
            return 0.0;
        }
        match *self {
            Curve::ConstantProduct { base, quote, fee } => {
                let u = usd * retained(fee);
                if !(u > 0.0 && base > 0.0 && quote >= 0.0 && base.is_finite()) {
                    return 0.0;
                }
                base / (1.0 + quote / u)
            }
            Curve::StableSwap {
                amplification,
                base,
                quote,
                fee,
            } => {
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
        let s = self.buy_cost(q) - q * self.spot_price();
        if s > 0.0 {
            s
        } else {
            0.0
        }
    }
}

/// A curve prepared for many quotes at one state: the marginal price, and for a stableswap its
/// invariant `D`, computed once (the liquidator-profitability check quotes every liquidation of a
/// round against the round's starting state). Quotes equal the curve's own.
#[derive(Debug, Clone)]
pub struct Quoter {
    curve: Curve,
    spot: f64,
    pool: Option<Pool>,
}

impl Quoter {
    pub fn new(curve: &Curve) -> Quoter {
        let pool = match curve {
            Curve::StableSwap {
                amplification,
                base,
                quote,
                ..
            } => Pool::new(*amplification, *base, *quote),
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
        match (&self.curve, &self.pool) {
            (Curve::StableSwap { fee, .. }, Some(pool)) => {
                let (dy, _) = pool.sell(q / pool.scale);
                (pool.scale * dy * retained(*fee)).min(pool.scale * pool.y)
            }
            (Curve::StableSwap { .. }, None) => 0.0,
            (c, _) => c.proceeds(q),
        }
    }

    /// [`Curve::slippage`].
    pub fn slippage(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        let s = q * self.spot - self.proceeds(q);
        if s > 0.0 {
            s
        } else {
            0.0
        }
    }

    /// [`Curve::buy_cost`].
    pub fn buy_cost(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        match (&self.curve, &self.pool) {
            (Curve::StableSwap { fee, .. }, Some(pool)) => {
                let keep = retained(*fee);
                match pool.buy(q / pool.scale) {
                    Some(net) if keep > 0.0 && (pool.scale * net / keep).is_finite() => {
                        pool.scale * net / keep
                    }
                    _ => f64::INFINITY,
                }
            }
            (Curve::StableSwap { .. }, None) => f64::INFINITY,
            (c, _) => c.buy_cost(q),
        }
    }

    /// [`Curve::buy_slippage`].
    pub fn buy_slippage(&self, q: f64) -> f64 {
        if !(q > 0.0 && q.is_finite()) {
            return 0.0;
        }
        let s = self.buy_cost(q) - q * self.spot;
        if s > 0.0 {
            s
        } else {
            0.0
        }
    }
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

/// A stableswap pool in normalised units. The invariant is homogeneous of degree one in
/// `(x, y, D)`, so the math runs on `x/scale`, `y/scale` (both ≤ 1) and `D/scale`, which keeps
/// `D³` far from overflow whatever the pool's size.
#[derive(Debug, Clone, Copy)]
struct Pool {
    /// `Ann = A·n^n`.
    ann: f64,
    /// `max(base, quote)`.
    scale: f64,
    x: f64,
    y: f64,
    d: f64,
}

impl Pool {
    /// `None` unless both balances are positive and finite.
    fn new(amplification: f64, base: f64, quote: f64) -> Option<Pool> {
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

    fn price(&self) -> f64 {
        price(self.ann, self.x, self.y, self.d)
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

/// The stableswap invariant `D` of balances `(x, y)` (DESIGN §3, n = 2): the positive root of
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

/// `∫_u^{u+len} k·(w/adv)^alpha dw = k·adv/(1+alpha)·(((u+len)/adv)^(1+alpha) − (u/adv)^(1+alpha))`
/// for `u ≥ 0`, written without cancellation for short moves.
fn impact_integral(adv: f64, k: f64, alpha: f64, u: f64, len: f64) -> f64 {
    if !is_positive(len) {
        return 0.0;
    }
    let u = u.max(0.0);
    let s = |v: f64| k * (v / adv).powf(alpha);
    let m = u + len;
    let v_s_diff = if u > 0.0 && len < u {
        u * s(u) * ((1.0 + alpha) * (len / u).ln_1p()).exp_m1()
    } else {
        m * s(m) - u * s(u)
    };
    (v_s_diff / (1.0 + alpha)).max(0.0)
}

/// The shape of a power law, in value units (quote value at `p_ref`).
#[derive(Debug, Clone, Copy)]
enum PowerLaw {
    /// `k = 0` (or infinite depth): every unit sells at `p_ref`.
    NoImpact,
    /// No depth (invalid parameters): every unit sells at the floor.
    Floor,
    /// `1 − k·(v/adv)^alpha` down to the floor, reached at `v* = floor_start` (may be infinite).
    Impact {
        adv: f64,
        k: f64,
        alpha: f64,
        floor_start: f64,
    },
}

impl PowerLaw {
    fn new(adv: f64, k: f64, alpha: f64) -> PowerLaw {
        if !(adv > 0.0 && alpha > 0.0 && alpha.is_finite()) || k.is_nan() {
            return PowerLaw::Floor;
        }
        if !is_positive(k) || adv.is_infinite() {
            return PowerLaw::NoImpact;
        }
        let floor_start = adv * ((1.0 - POWER_LAW_FLOOR) / k).powf(1.0 / alpha);
        PowerLaw::Impact {
            adv,
            k,
            alpha,
            floor_start,
        }
    }

    /// `p(V)/p_ref = max(0.01, 1 − k·(V/adv)^alpha)` for `V ≥ 0`, `1 + k·(|V|/adv)^alpha` for `V < 0`
    /// (the buy side, see [`Curve::buy`]).
    fn relative_price(&self, v: f64) -> f64 {
        match *self {
            PowerLaw::NoImpact => 1.0,
            PowerLaw::Floor => POWER_LAW_FLOOR,
            PowerLaw::Impact {
                adv,
                k,
                alpha,
                floor_start,
            } => {
                if v >= floor_start {
                    POWER_LAW_FLOOR
                } else if v > 0.0 {
                    (1.0 - k * (v / adv).powf(alpha)).max(POWER_LAW_FLOOR)
                } else if v < 0.0 {
                    1.0 + k * (-v / adv).powf(alpha)
                } else {
                    1.0
                }
            }
        }
    }

    /// The `V` at which `p(V)/p_ref = r`, with `r` clamped to `≥ 0.01`:
    /// `V = adv·((1 − r)/k)^(1/alpha)` for `r ≤ 1`, `V = −adv·((r − 1)/k)^(1/alpha)` above (the buy
    /// side); at the floor `v*`, or `current` if it is already past `v*`.
    /// `None` when no finite `V` exists (no impact, or a floor beyond f64 range).
    fn value_at_relative_price(&self, r: f64, current: f64) -> Option<f64> {
        match *self {
            PowerLaw::NoImpact | PowerLaw::Floor => None,
            PowerLaw::Impact {
                adv,
                k,
                alpha,
                floor_start,
            } => {
                let v = if r > 1.0 {
                    -adv * ((r - 1.0) / k).powf(1.0 / alpha)
                } else if r == 1.0 {
                    0.0
                } else if r <= POWER_LAW_FLOOR {
                    if current >= floor_start {
                        current
                    } else {
                        floor_start
                    }
                } else {
                    adv * ((1.0 - r) / k).powf(1.0 / alpha)
                };
                v.is_finite().then_some(v)
            }
        }
    }

    /// Cost of buying `q` tokens at reference price `p_ref`, the state moving from `a` down to `b`
    /// (`b = a − q·p_ref`): the part above 0 is the sale of that part from `max(b, 0)` (so the two
    /// cancel), the part below 0 is `len + ∫_{|min(a,0)|}^{|b|} k·(w/adv)^alpha dw`. No depth
    /// (invalid parameters): infinite.
    fn buy_cost(&self, a: f64, b: f64, q: f64, p_ref: f64) -> f64 {
        match *self {
            PowerLaw::Floor => f64::INFINITY,
            PowerLaw::NoImpact => q * p_ref,
            PowerLaw::Impact { adv, k, alpha, .. } => {
                let mut cost = 0.0;
                if a > 0.0 {
                    let lo = b.max(0.0);
                    let q_pos = if b >= 0.0 { q } else { a / p_ref };
                    cost += self.proceeds(lo, q_pos, p_ref);
                }
                if b < 0.0 {
                    let from = (-a).max(0.0);
                    let len = -b - from;
                    cost += len + impact_integral(adv, k, alpha, from, len);
                }
                cost
            }
        }
    }

    /// Proceeds of selling `q` tokens at reference price `p_ref` from state `V = a`:
    /// `∫_a^b max(0.01, 1 − k·(v/adv)^alpha) dv`, `b = a + q·p_ref` (DESIGN §3). The part at the
    /// floor is computed per token (`0.01·p_ref` each), so a sale whose value `q·p_ref` overflows f64
    /// still gets finite proceeds when they are representable.
    fn proceeds(&self, a: f64, q: f64, p_ref: f64) -> f64 {
        if !(q > 0.0 && p_ref > 0.0) {
            return 0.0;
        }
        if a < 0.0 {
            if let PowerLaw::Impact { adv, k, alpha, .. } = *self {
                // Back up the buy side first: ∫ (1 + k·(|v|/adv)^alpha) dv from a to min(b, 0).
                let len = q * p_ref;
                let neg = len.min(-a);
                let value = neg + impact_integral(adv, k, alpha, -a - neg, neg);
                if len <= -a {
                    return value;
                }
                return value + self.proceeds(0.0, (q - neg / p_ref).max(0.0), p_ref);
            }
        }
        let len = q * p_ref;
        let floor_price = POWER_LAW_FLOOR * p_ref;
        match *self {
            PowerLaw::NoImpact => len,
            PowerLaw::Floor => q * floor_price,
            PowerLaw::Impact {
                adv,
                k,
                alpha,
                floor_start,
            } => {
                let a = a.max(0.0);
                if a >= floor_start {
                    return q * floor_price;
                }
                // Above the floor from a to m = min(b, v*), then at the floor.
                let above = len.min(floor_start - a);
                let s = |v: f64| k * (v / adv).powf(alpha); // impact k·(v/adv)^alpha
                let m = a + above;
                // ∫_a^m k·(v/adv)^alpha dv = (m·s(m) − a·s(a))/(1+alpha).
                let v_s_diff = if a > 0.0 && above < a {
                    // Short move: a·s(a)·((m/a)^(1+alpha) − 1), no cancellation.
                    a * s(a) * ((1.0 + alpha) * (above / a).ln_1p()).exp_m1()
                } else {
                    // m ≥ 2a: the difference loses at most a bounded factor.
                    m * s(m) - a * s(a)
                };
                let impact = (v_s_diff / (1.0 + alpha)).clamp(0.0, above);
                let floor_tokens = if above < len { q - above / p_ref } else { 0.0 };
                (above - impact) + floor_tokens.max(0.0) * floor_price
            }
        }
    }
}

#[cfg(test)]
mod quoter_tests {
    use super::*;

    #[test]
    fn quoter_matches_the_curve() {
        let curves = [
            Curve::StableSwap {
                amplification: 200.0,
                base: 1.7e5,
                quote: 3.0e4,
                fee: 0.0004,
            },
            Curve::ConstantProduct {
                base: 1000.0,
                quote: 2.0e6,
                fee: 0.003,
            },
            Curve::PowerLaw {
                adv: 1e7,
                k: 0.5,
                alpha: 0.5,
                p_ref: 1900.0,
                sold: 12345.0,
            },
        ];
        for c in curves {
            let q = Quoter::new(&c);
            assert_eq!(q.spot_price(), c.spot_price());
            for x in [0.0, 1e-6, 1.0, 1e3, 1e5, 1e9] {
                assert_eq!(q.proceeds(x), c.proceeds(x), "{c:?} q = {x}");
                assert_eq!(q.slippage(x), c.slippage(x), "{c:?} q = {x}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rel_err(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
    }

    fn cp(base: f64, quote: f64, fee: f64) -> Curve {
        Curve::ConstantProduct { base, quote, fee }
    }

    fn ss(amplification: f64, base: f64, quote: f64, fee: f64) -> Curve {
        Curve::StableSwap {
            amplification,
            base,
            quote,
            fee,
        }
    }

    fn pl(adv: f64, k: f64, alpha: f64, p_ref: f64, sold: f64) -> Curve {
        Curve::PowerLaw {
            adv,
            k,
            alpha,
            p_ref,
            sold,
        }
    }

    /// `D` of a stableswap curve in real units.
    fn ss_d(c: &Curve) -> f64 {
        match *c {
            Curve::StableSwap {
                amplification,
                base,
                quote,
                ..
            } => {
                let p = Pool::new(amplification, base, quote).unwrap();
                p.d * p.scale
            }
            _ => unreachable!(),
        }
    }

    /// The invariant's two sides, `Ann·(x+y) + D` and `Ann·D + D³/(4xy)`.
    fn ss_sides(a: f64, x: f64, y: f64, d: f64) -> (f64, f64) {
        let ann = 4.0 * a;
        (ann * (x + y) + d, ann * d + d * d * d / (4.0 * x * y))
    }

    #[test]
    fn from_spec_copies_parameters() {
        let c = Curve::from_spec(&CurveSpec::ConstantProduct {
            base: 1.0,
            quote: 2.0,
            fee: 0.003,
        });
        assert_eq!(c, cp(1.0, 2.0, 0.003));
        let c = Curve::from_spec(&CurveSpec::StableSwap {
            amplification: 50.0,
            base: 3.0,
            quote: 4.0,
            fee: 0.0004,
        });
        assert_eq!(c, ss(50.0, 3.0, 4.0, 0.0004));
        let c = Curve::from_spec(&CurveSpec::PowerLaw {
            adv_usd: 1e8,
            k: 1.0,
            alpha: 0.5,
        });
        assert_eq!(c, pl(1e8, 1.0, 0.5, 1.0, 0.0));
    }

    #[test]
    fn constant_product_sale_by_hand() {
        // base 1000, quote 2e6, fee 0.3%, sell 10:
        //   q(1−fee) = 10·0.997 = 9.97
        //   out = 2e6·9.97/(1000 + 9.97) = 19_940_000/1009.97
        //   1009.97·19_743 = 20_199_400 − 1009.97·257 = 20_199_400 − 259_562.29 = 19_939_837.71
        //   remainder 162.29/1009.97 = 0.160688… → out = 19_743.160688…
        //   base' = 1010, quote' = 2e6 − 19_743.160688 = 1_980_256.839312
        //   spot' = 1_980_256.839312/1010 = 1960.650336…
        let mut c = cp(1000.0, 2e6, 0.003);
        assert_eq!(c.spot_price(), 2000.0);
        assert!((c.proceeds(10.0) - 19_743.160_688).abs() < 1e-5);
        assert!((c.slippage(10.0) - (20_000.0 - 19_743.160_688)).abs() < 1e-5);
        let out = c.sell(10.0);
        assert!((out - 19_743.160_688).abs() < 1e-5);
        let Curve::ConstantProduct { base, quote, .. } = c else {
            unreachable!()
        };
        assert_eq!(base, 1010.0);
        assert!((quote - 1_980_256.839_312).abs() < 1e-5);
        assert!((c.spot_price() - 1_960.650_336).abs() < 1e-6);
        assert!(rel_err(c.spot_price(), quote / base) < 1e-15);
    }

    #[test]
    fn power_law_two_round_fire_sale_by_hand() {
        // adv 1e6, k 1, alpha 0.5, anchored at p_ref 100.
        let mut c = Curve::from_spec(&CurveSpec::PowerLaw {
            adv_usd: 1e6,
            k: 1.0,
            alpha: 0.5,
        });
        c.anchor(100.0);
        assert_eq!(c.spot_price(), 100.0);

        // Round 1: 1000 tokens, a = 0, b = 1000·100 = 1e5.
        //   0.1^1.5 = 0.1·sqrt(0.1) = 0.1·0.316227766017 = 0.0316227766017
        //   (1e6/1.5)·0.0316227766017 = 666_666.666667·0.0316227766017 = 21_081.851067789
        //   proceeds = 1e5 − 21_081.851068 = 78_918.148932
        //   spot = 100·(1 − 0.1^0.5) = 100·0.683772233983 = 68.3772233983
        let r1 = c.sell(1000.0);
        assert!((r1 - 78_918.148_932).abs() < 1e-5, "{r1}");
        assert!((c.spot_price() - 68.377_223_398_3).abs() < 1e-9);

        // Round 2: 1000 more, a = 1e5, b = 2e5.
        //   0.2^1.5 = 0.2·sqrt(0.2) = 0.2·0.447213595500 = 0.0894427191000
        //   0.0894427191000 − 0.0316227766017 = 0.0578199424983
        //   (1e6/1.5)·0.0578199424983 = 38_546.628332
        //   proceeds = 1e5 − 38_546.628332 = 61_453.371668
        //   spot = 100·(1 − 0.2^0.5) = 100·0.552786404500 = 55.2786404500
        let r2 = c.sell(1000.0);
        assert!((r2 - 61_453.371_668).abs() < 1e-5, "{r2}");
        assert!((c.spot_price() - 55.278_640_450_0).abs() < 1e-9);

        // Round 3 crosses the floor: v* = adv·(0.99/k)^(1/alpha) = 1e6·0.99² = 980_100.
        // Sell 10_000 tokens: a = 2e5, b = 2e5 + 1e6 = 1.2e6 > v*.
        //   (v*/adv)^1.5 = 0.9801^1.5 = 0.9801·0.99 = 0.970299
        //   above the floor: (980_100 − 200_000) − (1e6/1.5)·(0.970299 − 0.0894427191000)
        //                  = 780_100 − 666_666.666667·0.8808562809 = 780_100 − 587_237.520600
        //                  = 192_862.479400
        //   at the floor:   0.01·(1_200_000 − 980_100) = 2_199
        //   proceeds = 195_061.479400, and the price sits at the floor, 100·0.01 = 1.
        let r3 = c.sell(10_000.0);
        assert!((r3 - 195_061.479_400).abs() < 1e-5, "{r3}");
        assert_eq!(c.spot_price(), 1.0);
        // Past the floor every token pays 0.01·p_ref = 1.
        assert!((c.proceeds(500.0) - 500.0).abs() < 1e-9);
    }

    #[test]
    fn power_law_without_impact_and_recovery() {
        // k = 0: no impact at all, 1234 tokens at 50 pay 61_700.
        let mut c = pl(1e6, 0.0, 0.5, 50.0, 0.0);
        assert_eq!(c.sell(1234.0), 61_700.0);
        assert_eq!(c.spot_price(), 50.0);

        // Recovery: p = 90 at p_ref 100 ⇔ 1 − (V/1e6)^0.5 = 0.9 ⇔ V = 1e6·0.1² = 1e4.
        let mut c = pl(1e6, 1.0, 0.5, 100.0, 2e5);
        c.move_to_price(90.0);
        assert!(rel_err(c.spot_price(), 90.0) < 1e-12);
        assert!(matches!(c, Curve::PowerLaw { sold, .. } if (sold - 1e4).abs() < 1e-6));
        // Above p_ref the state goes onto the buy side: 1 + (|V|/1e6)^0.5 = 1.5 ⇔ V = −2.5e5;
        // below the floor it clamps to v* = 980_100.
        c.move_to_price(150.0);
        assert!(rel_err(c.spot_price(), 150.0) < 1e-12);
        assert!(matches!(c, Curve::PowerLaw { sold, .. } if (sold + 2.5e5).abs() < 1e-6));
        c.move_to_price(0.1);
        assert_eq!(c.spot_price(), 1.0);
        assert!(matches!(c, Curve::PowerLaw { sold, .. } if (sold - 980_100.0).abs() < 1e-6));
    }

    #[test]
    fn stableswap_balanced_sale_and_fee() {
        let mut c = ss(100.0, 1e6, 1e6, 0.0);
        assert_eq!(c.spot_price(), 1.0);
        // At x = y the invariant is solved by D = x + y: Ann·2e6 + 2e6 = Ann·2e6 + 8e18/(4e12).
        let d0 = ss_d(&c);
        assert!(rel_err(d0, 2e6) < 1e-14);

        let fee_free = c.proceeds(1e5);
        let out = c.sell(1e5);
        assert_eq!(out, fee_free);
        // Better than x·y = k on the same balances (1e6·1e5/1.1e6 = 90_909.09), worse than par.
        assert!(out > 90_909.1 && out < 1e5, "{out}");
        let Curve::StableSwap { base, quote, .. } = c else {
            unreachable!()
        };
        assert_eq!(base, 1.1e6);
        assert_eq!(quote, 1e6 - out);
        // Without a fee the sale stays on the invariant: same D, both sides equal.
        assert!(rel_err(ss_d(&c), d0) < 1e-10);
        let (lhs, rhs) = ss_sides(100.0, base, quote, d0);
        assert!(rel_err(lhs, rhs) < 1e-10);
        assert!(c.spot_price() < 1.0);

        // With a fee the seller gets exactly (1 − fee) of the fee-free dy; the fee stays, D grows.
        let mut with_fee = ss(100.0, 1e6, 1e6, 0.0004);
        let out_fee = with_fee.sell(1e5);
        assert!(rel_err(out_fee, fee_free * (1.0 - 0.0004)) < 1e-15);
        assert!(ss_d(&with_fee) > d0);
    }

    #[test]
    fn stableswap_anchor_keeps_d() {
        let mut c = ss(100.0, 1e6, 1e6, 0.0);
        let d0 = ss_d(&c);
        c.anchor(0.95);
        assert!((c.spot_price() - 0.95).abs() < 1e-9, "{}", c.spot_price());
        assert!(rel_err(ss_d(&c), d0) < 1e-10);
        let Curve::StableSwap { base, quote, .. } = c else {
            unreachable!()
        };
        assert!(base > quote);
        // Back above par, and a far depeg.
        for p in [1.02, 0.3, 1.0] {
            c.move_to_price(p);
            assert!(rel_err(c.spot_price(), p) < 1e-9, "{p}: {}", c.spot_price());
            assert!(rel_err(ss_d(&c), d0) < 1e-10);
        }
    }

    #[test]
    fn constant_product_anchor_keeps_k() {
        // k = 1000·2e6 = 2e9; at price 1800: base = sqrt(2e9/1800) = sqrt(1_111_111.1) = 1054.0926,
        // quote = sqrt(2e9·1800) = sqrt(3.6e12) = 1_897_366.596.
        let mut c = cp(1000.0, 2e6, 0.003);
        c.anchor(1800.0);
        let Curve::ConstantProduct { base, quote, .. } = c else {
            unreachable!()
        };
        assert!((base - 1_054.092_553).abs() < 1e-6);
        assert!((quote - 1_897_366.596).abs() < 1e-3);
        assert!(rel_err(base * quote, 2e9) < 1e-12);
        assert!(rel_err(c.spot_price(), 1800.0) < 1e-12);
        c.move_to_price(2500.0);
        let Curve::ConstantProduct { base, quote, .. } = c else {
            unreachable!()
        };
        assert!(rel_err(base * quote, 2e9) < 1e-12);
        assert!(rel_err(c.spot_price(), 2500.0) < 1e-12);
    }

    #[test]
    fn degenerate_quantities_and_huge_sales() {
        let curves = [
            cp(1000.0, 2e6, 0.003),
            ss(100.0, 1e6, 1e6, 0.0004),
            pl(1e6, 1.0, 0.5, 100.0, 0.0),
        ];
        for c in &curves {
            for q in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                assert_eq!(c.proceeds(q), 0.0);
                assert_eq!(c.slippage(q), 0.0);
                let mut m = c.clone();
                assert_eq!(m.sell(q), 0.0);
                assert_eq!(&m, c);
            }
            for q in [1e-300, 1e-9, 1e30, 1e300, f64::MAX] {
                let p = c.proceeds(q);
                assert!(p.is_finite() && p >= 0.0, "{c:?} {q}: {p}");
                let mut m = c.clone();
                assert_eq!(m.sell(q), p);
                let s = m.spot_price();
                assert!(!s.is_nan() && s >= 0.0, "{c:?} {q}: spot {s}");
                for q2 in [1.0, 1e300] {
                    let p2 = m.proceeds(q2);
                    assert!(p2.is_finite() && p2 >= 0.0, "{c:?} {q} then {q2}: {p2}");
                }
            }
        }
        // Huge sales drain the quote side asymptotically.
        assert!(rel_err(cp(1000.0, 2e6, 0.003).proceeds(1e300), 2e6) < 1e-12);
        assert!(rel_err(ss(100.0, 1e6, 1e6, 0.0).proceeds(1e300), 1e6) < 1e-12);
        assert!(rel_err(ss(100.0, 1e6, 1e6, 0.0).proceeds(f64::MAX), 1e6) < 1e-12);
        // Power law past the floor: 0.01·p_ref per token.
        let p = pl(1e6, 1.0, 0.5, 100.0, 0.0).proceeds(1e300);
        assert!(rel_err(p, 1e300) < 1e-12);
        // Non-positive anchors and depth multipliers change nothing.
        for c in &curves {
            for x in [0.0, -1.0, f64::NAN, f64::INFINITY] {
                let mut m = c.clone();
                m.anchor(x);
                m.scale_depth(x);
                assert_eq!(&m, c);
            }
        }
    }

    // ---- properties ----

    fn any_curve() -> impl Strategy<Value = Curve> {
        prop_oneof![
            (1e-3..1e9f64, 1e-3..1e12f64, 0.0..0.05f64).prop_map(|(b, q, f)| cp(b, q, f)),
            (0.01..5000.0f64, 1.0..1e10f64, 0.05..20.0f64, 0.0..0.05f64)
                .prop_map(|(a, b, r, f)| ss(a, b, b * r, f)),
            (
                1.0..1e10f64,
                0.0..3.0f64,
                0.1..2.0f64,
                1e-3..1e5f64,
                0.0..3.0f64
            )
                .prop_map(|(adv, k, alpha, p_ref, used)| pl(
                    adv,
                    k,
                    alpha,
                    p_ref,
                    adv * used
                )),
        ]
    }

    /// A sale size between 1e-6 and 1e3 times the curve's depth (in tokens).
    fn sale(c: &Curve, u: f64) -> f64 {
        let depth = match *c {
            Curve::ConstantProduct { base, .. } | Curve::StableSwap { base, .. } => base,
            Curve::PowerLaw { adv, p_ref, .. } => adv / p_ref,
        };
        depth * 10f64.powf(u)
    }

    proptest! {
        #[test]
        fn proceeds_increase_and_stay_below_spot_value(
            c in any_curve(), u in -6.0..3.0f64, f in 1e-6..10.0f64,
        ) {
            let q1 = sale(&c, u);
            let q2 = q1 * (1.0 + f);
            let (p1, p2) = (c.proceeds(q1), c.proceeds(q2));
            prop_assert!(p1 > 0.0 && p1.is_finite(), "{p1}");
            prop_assert!(p2 >= p1 * (1.0 - 1e-12), "{p1} > {p2}");
            let spot = c.spot_price();
            prop_assert!(p1 <= q1 * spot * (1.0 + 1e-12), "{p1} > {q1}·{spot}");
            prop_assert!(c.slippage(q1) >= 0.0);
        }

        #[test]
        fn split_sales_add_up(c in any_curve(), u in -6.0..3.0f64, w in 0.01..0.99f64) {
            let q = sale(&c, u);
            let (qa, qb) = (q * w, q * (1.0 - w));
            let mut split = c.clone();
            let total = split.sell(qa) + split.sell(qb);
            let once = c.proceeds(q);
            match c {
                Curve::ConstantProduct { fee, .. } if fee > 0.0 => {
                    // The first sale's fee stays in base, so the second sale meets a cheaper base:
                    // splitting pays slightly less, never more.
                    prop_assert!(total <= once * (1.0 + 1e-9), "{total} > {once}");
                }
                Curve::StableSwap { fee, .. } if fee > 0.0 => {
                    // The first sale's fee stays in quote, so the second sale meets a dearer base:
                    // splitting pays slightly more, but never more than the fee-free sale.
                    let fee_free = once / (1.0 - fee);
                    prop_assert!(total >= once * (1.0 - 1e-9), "{total} < {once}");
                    prop_assert!(total <= fee_free * (1.0 + 1e-9), "{total} > {fee_free}");
                }
                _ => prop_assert!(rel_err(total, once) < 1e-9, "{total} vs {once}"),
            }
        }

        #[test]
        fn more_depth_never_pays_less(c in any_curve(), u in -6.0..3.0f64, m in 1.0..100.0f64) {
            let q = sale(&c, u);
            let mut deeper = c.clone();
            deeper.scale_depth(m);
            prop_assert!(deeper.proceeds(q) >= c.proceeds(q) * (1.0 - 1e-12));
        }

        #[test]
        fn stableswap_anchor_hits_price_and_keeps_d(
            a in 0.01..5000.0f64, b in 1.0..1e10f64, r in 0.05..20.0f64, p in 0.05..20.0f64,
        ) {
            let mut c = ss(a, b, b * r, 0.0);
            let d0 = ss_d(&c);
            c.anchor(p);
            prop_assert!(rel_err(c.spot_price(), p) < 1e-9, "{} vs {p}", c.spot_price());
            prop_assert!(rel_err(ss_d(&c), d0) < 1e-10);
        }
    }
}

#[cfg(test)]
mod buy_tests {
    use super::*;
    use proptest::prelude::*;

    fn rel_err(a: f64, b: f64) -> f64 {
        (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
    }

    #[test]
    fn constant_product_buy_by_hand() {
        // base 1000, quote 2000 (price 2), fee 0.3%: buying 100 needs net 2000·100/900 = 222.2…,
        // gross 222.2…/0.997; the pool keeps the fee.
        let mut c = Curve::ConstantProduct {
            base: 1000.0,
            quote: 2000.0,
            fee: 0.003,
        };
        let cost = c.buy(100.0);
        let want = 2000.0 * 100.0 / 900.0 / 0.997;
        assert!((cost - want).abs() < 1e-9, "{cost} vs {want}");
        assert_eq!(
            c,
            Curve::ConstantProduct {
                base: 900.0,
                quote: 2000.0 + want,
                fee: 0.003
            }
        );
        // A budget buys the inverse: 222.84… of quote buys 100 tokens back on the old state.
        let c0 = Curve::ConstantProduct {
            base: 1000.0,
            quote: 2000.0,
            fee: 0.003,
        };
        assert!((c0.tokens_for_budget(want) - 100.0).abs() < 1e-9);
        assert_eq!(c0.buy_cost(1000.0), f64::INFINITY);
        assert_eq!(c0.max_buy_tokens(), 1000.0);
        // Slippage: cost − 100·2.
        assert!((c0.buy_slippage(100.0) - (want - 200.0)).abs() < 1e-9);
    }

    #[test]
    fn stableswap_buy_matches_the_invariant() {
        // Balanced pool A = 100, x = y = 1e6, no fee: buying 1e5 base moves y to y' on the same D;
        // cost = y' − y, computed here from the invariant's quadratic directly.
        let c = Curve::StableSwap {
            amplification: 100.0,
            base: 1e6,
            quote: 1e6,
            fee: 0.0,
        };
        // D = 2e6 at balance. y' solves Ann·y² + β·y − e = 0 at x' = 9e5 (normalised by 1e6).
        let (ann, d, x1) = (400.0_f64, 2.0_f64, 0.9_f64);
        let e = d * d * d / (4.0 * x1);
        let beta = ann * (x1 - d) + d;
        let y1 = (-beta + (beta * beta + 4.0 * ann * e).sqrt()) / (2.0 * ann);
        let want = (y1 - 1.0) * 1e6;
        let cost = c.buy_cost(1e5);
        assert!(rel_err(cost, want) < 1e-9, "{cost} vs {want}");
        assert!(cost > 1e5 && cost < 1.01e5, "{cost}");
        // With a 0.04% fee on the input the cost is want/(1 − 0.0004).
        let f = Curve::StableSwap {
            amplification: 100.0,
            base: 1e6,
            quote: 1e6,
            fee: 0.0004,
        };
        assert!(rel_err(f.buy_cost(1e5), want / 0.9996) < 1e-9);
        assert!(rel_err(f.tokens_for_budget(want / 0.9996), 1e5) < 1e-9);
    }

    #[test]
    fn power_law_buy_mirrors_the_sale_by_hand() {
        // Square-root law, adv 1e6, k 1, p_ref 100, from V = 0: buying 1000 tokens moves V to −1e5;
        // cost = 1e5 + (1e6/1.5)·0.1^1.5, price after = 100·(1 + 0.1^0.5).
        let mut c = Curve::PowerLaw {
            adv: 1e6,
            k: 1.0,
            alpha: 0.5,
            p_ref: 100.0,
            sold: 0.0,
        };
        let cost = c.buy(1000.0);
        let want = 1e5 + 1e6 / 1.5 * 0.1f64.powf(1.5);
        assert!((cost - want).abs() < 1e-6, "{cost} vs {want}");
        assert!((c.spot_price() - 100.0 * (1.0 + 0.1f64.sqrt())).abs() < 1e-9);
        // Selling the same 1000 back from V = −1e5 returns exactly the cost, and V is 0 again.
        let back = c.sell(1000.0);
        assert!(rel_err(back, cost) < 1e-12, "{back} vs {cost}");
        assert!(c.spot_price() == 100.0, "{}", c.spot_price());
        // From V = 1e4 (after a sale, price 90) a buy of 200 tokens first retraces the sale side
        // (1e4 of value: 1e4 − (1e6/1.5)·0.01^1.5) and then 1e4 on the buy side.
        let c = Curve::PowerLaw {
            adv: 1e6,
            k: 1.0,
            alpha: 0.5,
            p_ref: 100.0,
            sold: 1e4,
        };
        let want = (1e4 - 1e6 / 1.5 * 0.01f64.powf(1.5)) + (1e4 + 1e6 / 1.5 * 0.01f64.powf(1.5));
        assert!((c.buy_cost(200.0) - want).abs() < 1e-6);
        // The recovery of a squeezed price moves back down the buy side.
        let mut c = Curve::PowerLaw {
            adv: 1e6,
            k: 1.0,
            alpha: 0.5,
            p_ref: 100.0,
            sold: -1e5,
        };
        c.move_to_price(105.0);
        assert!((c.spot_price() - 105.0).abs() < 1e-9);
        // A curve with no depth cannot be bought on.
        let none = Curve::PowerLaw {
            adv: 0.0,
            k: 1.0,
            alpha: 0.5,
            p_ref: 100.0,
            sold: 0.0,
        };
        assert_eq!(none.buy_cost(1.0), f64::INFINITY);
        assert_eq!(none.tokens_for_budget(100.0), 0.0);
    }

    #[test]
    fn degenerate_buys_cost_nothing_and_change_nothing() {
        let c0 = Curve::ConstantProduct {
            base: 10.0,
            quote: 10.0,
            fee: 0.0,
        };
        let mut c = c0.clone();
        for q in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(c.buy(q), 0.0);
            assert_eq!(c.spend(q), 0.0);
        }
        assert_eq!(c.buy(10.0), f64::INFINITY);
        assert_eq!(c, c0);
    }

    #[test]
    fn quoter_buys_match_the_curve() {
        let curves = [
            Curve::StableSwap {
                amplification: 200.0,
                base: 1.7e5,
                quote: 3.0e4,
                fee: 0.0004,
            },
            Curve::ConstantProduct {
                base: 1000.0,
                quote: 2.0e6,
                fee: 0.003,
            },
            Curve::PowerLaw {
                adv: 1e7,
                k: 0.5,
                alpha: 0.5,
                p_ref: 1900.0,
                sold: -12345.0,
            },
        ];
        for c in curves {
            let q = Quoter::new(&c);
            for x in [0.0, 1e-6, 1.0, 1e2, 999.0] {
                assert_eq!(q.buy_cost(x), c.buy_cost(x), "{c:?} q = {x}");
                assert_eq!(q.buy_slippage(x), c.buy_slippage(x), "{c:?} q = {x}");
            }
        }
    }

    fn any_curve() -> impl Strategy<Value = Curve> {
        prop_oneof![
            (1e-3..1e9f64, 1e-3..1e12f64, 0.0..0.05f64)
                .prop_map(|(base, quote, fee)| { Curve::ConstantProduct { base, quote, fee } }),
            (0.01..5000.0f64, 1.0..1e10f64, 0.05..20.0f64, 0.0..0.05f64).prop_map(
                |(amplification, base, r, fee)| Curve::StableSwap {
                    amplification,
                    base,
                    quote: base * r,
                    fee
                }
            ),
            (
                1.0..1e10f64,
                0.0..3.0f64,
                0.1..2.0f64,
                1e-3..1e5f64,
                -3.0..3.0f64
            )
                .prop_map(|(adv, k, alpha, p_ref, used)| Curve::PowerLaw {
                    adv,
                    k,
                    alpha,
                    p_ref,
                    sold: adv * used
                }),
        ]
    }

    /// A buy of `10^u` of the curve's depth in tokens (below 1 for pools, which cannot be emptied).
    fn size(c: &Curve, u: f64) -> f64 {
        match *c {
            Curve::ConstantProduct { base, .. } | Curve::StableSwap { base, .. } => {
                base * 10f64.powf(u).min(0.9)
            }
            Curve::PowerLaw { adv, p_ref, .. } => adv / p_ref * 10f64.powf(u),
        }
    }

    proptest! {
        #[test]
        fn buy_then_sell_never_creates_value(c in any_curve(), u in -6.0..0.0f64) {
            let q = size(&c, u);
            let mut moved = c.clone();
            let cost = moved.buy(q);
            prop_assert!(cost.is_finite() && cost > 0.0, "{cost}");
            prop_assert!(cost >= q * c.spot_price() * (1.0 - 1e-12), "{cost} < {q}·spot");
            let back = moved.sell(q);
            prop_assert!(back <= cost * (1.0 + 1e-9), "{back} > {cost}");
        }

        #[test]
        fn budget_buys_what_it_costs(c in any_curve(), u in -6.0..0.0f64) {
            let q = size(&c, u);
            let cost = c.buy_cost(q);
            let got = c.tokens_for_budget(cost);
            prop_assert!(rel_err(got, q) < 1e-7, "{got} vs {q}");
            let mut spent = c.clone();
            let tokens = spent.spend(cost);
            prop_assert!(rel_err(tokens, q) < 1e-7);
            prop_assert!(spent.spot_price() >= c.spot_price() * (1.0 - 1e-12));
        }

        #[test]
        fn buy_cost_increases(c in any_curve(), u in -6.0..-0.1f64, f in 1e-6..0.2f64) {
            let q1 = size(&c, u);
            let q2 = q1 * (1.0 + f);
            prop_assert!(c.buy_cost(q2) >= c.buy_cost(q1) * (1.0 - 1e-12));
        }
    }
}
