//! Concentrated liquidity, as in a Uniswap v3 pool (docs/liquidity.md#concentrated-liquidity): liquidity `L`
//! piecewise constant over the square root of the price, and the sales, buys and re-centring that
//! move along it.
//!
//! Everything is in orientation-free *base/quote* terms: the base is the asset sold, prices are
//! quote per base token (decimals applied), and `s = sqrt(price)`. On a range of constant liquidity
//! `L` the pool behaves as a constant product with virtual balances
//!
//! ```text
//! x = L / s      base tokens          y = L · s      quote units          price = y / x = s²
//! ```
//!
//! so selling base moves `s` down and buying base moves it up, range by range.
//! [`Concentrated::from_uniswap_v3`] builds this profile from a pool's native data (`sqrtPriceX96`,
//! `liquidity`, the initialized ticks and their `liquidityNet`), in either orientation.

use std::sync::Arc;

use super::is_positive;

mod uniswap;

pub use uniswap::{parse_sqrt_price_x96, PoolToken, UniswapV3Pool};

#[cfg(test)]
mod tests;

/// Lowest tick of a Uniswap v3 pool (`TickMath.MIN_TICK`).
pub const MIN_TICK: i32 = -887_272;

/// Highest tick of a Uniswap v3 pool (`TickMath.MAX_TICK`).
pub const MAX_TICK: i32 = 887_272;

/// The raw price at tick `t` is `TICK_BASE^t` (token1 raw units per token0 raw unit).
const TICK_BASE: f64 = 1.0001;

/// `2^96`: `sqrtPriceX96` is the raw sqrt price in Q64.96 fixed point.
const Q96: f64 = 79_228_162_514_264_337_593_543_950_336.0;

/// A Uniswap v3 fee is in hundredths of a basis point ("pips"): 3000 is 0.3%.
const FEE_PIPS_PER_UNIT: u32 = 1_000_000;

/// Relative slack when checking that the current tick holds `sqrtPriceX96` (adjacent ticks are
/// 5e-5 apart in sqrt price; f64 powers are good to about 1e-15).
const TICK_PRICE_TOLERANCE: f64 = 1e-9;

/// A buy is filled when what is left undelivered after the last range is at most this fraction of
/// the quantity asked: the rounding residue when [`Concentrated::max_buy_tokens`] (a sum over
/// ranges) is bought does not make the buy impossible.
const FILL_SLACK: f64 = 1e-12;

/// A concentrated-liquidity curve (docs/liquidity.md#concentrated-liquidity): the current sqrt price `s`, the
/// fee on the input, and a liquidity profile, piecewise constant in `s`: boundaries
/// `b_0 < b_1 < … < b_n` (sqrt prices) and the liquidity `L_i` on `[b_i, b_{i+1}]`; below `b_0`
/// and above `b_n` there is none.
///
/// Within a range of liquidity `L` the virtual balances are `x = L/s` base and `y = L·s` quote.
/// Selling `q` base tokens puts `q_in = q·(1−fee)` into the pool (the fee does not join the
/// liquidity) and moves `s` down; buying moves it up. When a trade reaches a boundary it continues
/// with the next range's liquidity; ranges with `L = 0` are crossed at no cost and no output (the
/// price jumps through them, as a Uniswap v3 swap moves through empty ticks). Past the last range
/// with liquidity nothing more can be sold (the proceeds stop growing, the price stays at that
/// range's end) and nothing more bought (the cost is infinite).
///
/// Every function is total: quantities that are zero, negative or not finite trade nothing and
/// give 0; an impossible buy costs `+∞` and leaves the state unchanged.
///
/// Rounding: the state is `s` in f64, so where the price sits inside a range is known to an ulp of
/// `s`, and the base between `s` and a boundary of the range to about an ulp of the range's virtual
/// balance `L/s` (not to an ulp of the trade when the range is much deeper than the trade). A sale
/// undone by a buy of the same size (fee 0) restores `s` and the money to that precision: when a
/// thin range sits above a deep one, the round trip can be off by about `ε·Σ L_i/b_i` tokens,
/// worth up to `ε·Σ L_i/b_i · s²` quote (`ε` = 2.2e-16).
///
/// Built only through a validating constructor ([`Concentrated::new`],
/// [`Concentrated::from_positions`], [`Concentrated::from_uniswap_v3`]). The profile is shared
/// between clones (an `Arc`); trades never allocate.
///
/// # Examples
///
/// ```
/// use cascade_market::curve::Concentrated;
///
/// // L = 100 on sqrt prices [1, 2] and 50 on [2, 3]; price 2.5² = 6.25; no fee.
/// let mut c = Concentrated::new(2.5, 0.0, &[1.0, 2.0, 3.0], &[100.0, 50.0]).unwrap();
/// assert_eq!(c.spot_price(), 6.25);
/// // Selling 5 base takes s from 2.5 to 2 (50·(1/2 − 1/2.5) = 5) and pays 50·(2.5 − 2) = 25.
/// assert!((c.sell(5.0) - 25.0).abs() < 1e-12);
/// assert!((c.spot_price() - 4.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Concentrated {
    /// `s = sqrt(price)`, quote per base token; finite, > 0, with `s²` finite and > 0.
    sqrt_price: f64,
    /// Fraction of the input kept as a fee, in `[0, 1)`.
    fee: f64,
    /// The liquidity profile, fixed in price space (anchoring and trades move `s` only).
    profile: Arc<Profile>,
}

/// The liquidity profile: `bounds` are `n + 1` strictly increasing, finite, positive sqrt prices
/// and `liquidity[i]` (finite, ≥ 0) is `L` on `[bounds[i], bounds[i + 1]]`, `n ≥ 1`. The virtual
/// balances `Σ L_i·b_{i+1}` and `Σ L_i/b_i` are finite, so no trade overflows.
#[derive(Debug, Clone, PartialEq)]
struct Profile {
    bounds: Vec<f64>,
    liquidity: Vec<f64>,
}

/// Why a [`Concentrated`] curve could not be built: what was found, where, and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConcentratedError {
    #[error(
        "sqrt_price = {0}, expected a finite number > 0 whose square (the price) is finite and > 0"
    )]
    SqrtPrice(f64),
    #[error("fee = {0}, expected a fraction in [0, 1)")]
    Fee(f64),
    #[error("{bounds} boundaries for {ranges} liquidity values, expected at least one range and one boundary more than liquidity values")]
    Shape { bounds: usize, ranges: usize },
    #[error("boundary {index} = {value}, expected a finite sqrt price > 0 and above the boundary before it ({previous})")]
    Boundary {
        index: usize,
        value: f64,
        previous: f64,
    },
    #[error("liquidity {index} = {value}, expected a finite number >= 0")]
    Liquidity { index: usize, value: f64 },
    #[error("the virtual balances of the ranges (sum of L·upper in quote, of L/lower in base) overflow f64")]
    Overflow,
    #[error("position {index} = (lower {lower}, upper {upper}, liquidity {liquidity}), expected finite sqrt prices 0 < lower < upper and a finite liquidity >= 0")]
    Position {
        index: usize,
        lower: f64,
        upper: f64,
        liquidity: f64,
    },
    #[error("no positions, expected at least one")]
    NoPositions,
    #[error("\"{0}\", expected an unsigned decimal integer (sqrtPriceX96)")]
    NotAnInteger(String),
    #[error("sqrtPriceX96 = {0}, expected a finite number > 0")]
    SqrtPriceX96(f64),
    #[error("fee = {0} pips, expected fewer than 1000000 (hundredths of a basis point)")]
    FeePips(u32),
    #[error("tick {0}, expected a tick in [-887272, 887272]")]
    TickOutOfRange(i32),
    #[error("tick {0} is listed twice among the initialized ticks, expected once")]
    DuplicateTick(i32),
    #[error("{0} initialized ticks, expected at least 2 (one range)")]
    TooFewTicks(usize),
    #[error("current tick {tick} does not hold sqrtPriceX96 = {sqrt_price_x96}: expected 1.0001^(tick/2) <= sqrtPriceX96/2^96 < 1.0001^((tick+1)/2)")]
    TickMismatch { tick: i32, sqrt_price_x96: f64 },
    #[error("current tick {tick} is outside the initialized ticks [{first}, {last}) but the active liquidity is {liquidity}, expected the ticks to bracket the current tick")]
    ActiveOutside {
        tick: i32,
        first: i32,
        last: i32,
        liquidity: u128,
    },
    #[error("liquidity between ticks {lower} and {upper} = {liquidity} (the active liquidity plus the liquidityNet crossed), expected >= 0")]
    NegativeLiquidity {
        lower: i32,
        upper: i32,
        liquidity: i128,
    },
    #[error("the active liquidity plus the liquidityNet crossed overflows i128")]
    LiquidityOverflow,
}

impl Concentrated {
    /// A curve at sqrt price `sqrt_price` with fee `fee` (a fraction of the input) over the ranges
    /// `[bounds[i], bounds[i + 1]]` of liquidity `liquidity[i]` (sqrt prices in sqrt(quote per
    /// base); `L` in sqrt(base·quote) units, so that `L/s` is base tokens and `L·s` quote units).
    ///
    /// `sqrt_price` may lie outside the ranges (no depth on one side then). Errors: `sqrt_price`
    /// not finite and > 0 (or its square not a finite positive price), `fee` outside `[0, 1)`,
    /// fewer than two boundaries or not one more than the liquidity values, boundaries not finite,
    /// positive and strictly increasing, a liquidity not finite and ≥ 0, virtual balances beyond
    /// the f64 range.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::{Concentrated, ConcentratedError};
    ///
    /// assert!(Concentrated::new(1.0, 0.003, &[0.5, 2.0], &[1e6]).is_ok());
    /// assert_eq!(
    ///     Concentrated::new(1.0, 0.0, &[2.0, 0.5], &[1e6]),
    ///     Err(ConcentratedError::Boundary { index: 1, value: 0.5, previous: 2.0 }),
    /// );
    /// ```
    pub fn new(
        sqrt_price: f64,
        fee: f64,
        bounds: &[f64],
        liquidity: &[f64],
    ) -> Result<Concentrated, ConcentratedError> {
        let price = sqrt_price * sqrt_price;
        if !(sqrt_price > 0.0 && price > 0.0 && price.is_finite()) {
            return Err(ConcentratedError::SqrtPrice(sqrt_price));
        }
        if !(0.0..1.0).contains(&fee) {
            return Err(ConcentratedError::Fee(fee));
        }
        let profile = Profile::new(bounds.to_vec(), liquidity.to_vec())?;
        Ok(Concentrated {
            sqrt_price,
            fee,
            profile: Arc::new(profile),
        })
    }

    /// A pool with no liquidity at sqrt price `sqrt_price` (1 if that is not a valid sqrt price):
    /// it sells nothing and cannot be bought from. What a spec the curve cannot hold becomes.
    pub fn without_depth(sqrt_price: f64) -> Concentrated {
        let price = sqrt_price * sqrt_price;
        let s = if sqrt_price > 0.0 && price > 0.0 && price.is_finite() {
            sqrt_price
        } else {
            1.0
        };
        Concentrated {
            sqrt_price: s,
            fee: 0.0,
            profile: Arc::new(Profile {
                bounds: vec![0.5 * s, 2.0 * s],
                liquidity: vec![0.0],
            }),
        }
    }

    /// A curve from liquidity positions `(sqrt_price_lower, sqrt_price_upper, liquidity)`, summed
    /// where they overlap: the boundaries are every position's ends, and `L` on a range is the sum
    /// of the liquidity of the positions covering it (exactly 0 where none does).
    ///
    /// Errors: no positions, a position whose ends are not finite with `0 < lower < upper` or whose
    /// liquidity is not finite and ≥ 0, and those of [`Concentrated::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Concentrated;
    ///
    /// // 10 on [1, 3] and 5 on [2, 4]: 10 on [1, 2], 15 on [2, 3], 5 on [3, 4].
    /// let c = Concentrated::from_positions(2.5, 0.0, &[(1.0, 3.0, 10.0), (2.0, 4.0, 5.0)]).unwrap();
    /// assert_eq!(c.bounds(), &[1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(c.liquidity(), &[10.0, 15.0, 5.0]);
    /// ```
    pub fn from_positions(
        sqrt_price: f64,
        fee: f64,
        positions: &[(f64, f64, f64)],
    ) -> Result<Concentrated, ConcentratedError> {
        if positions.is_empty() {
            return Err(ConcentratedError::NoPositions);
        }
        for (index, &(lower, upper, liquidity)) in positions.iter().enumerate() {
            let ends_ok = lower > 0.0 && lower < upper && upper.is_finite();
            if !(ends_ok && liquidity >= 0.0 && liquidity.is_finite()) {
                return Err(ConcentratedError::Position {
                    index,
                    lower,
                    upper,
                    liquidity,
                });
            }
        }
        let mut bounds: Vec<f64> = positions.iter().flat_map(|p| [p.0, p.1]).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        // Sweep the boundaries: +L where a position starts, −L where it ends. Counting the open
        // positions makes a range that none covers exactly 0 (the running sum may keep a rounding
        // residue).
        let mut delta = vec![0.0; bounds.len()];
        let mut open_delta = vec![0_i64; bounds.len()];
        let at = |b: f64| bounds.partition_point(|&x| x < b);
        for &(lower, upper, liquidity) in positions.iter().filter(|p| p.2 > 0.0) {
            let (i, j) = (at(lower), at(upper));
            delta[i] += liquidity;
            delta[j] -= liquidity;
            open_delta[i] += 1;
            open_delta[j] -= 1;
        }
        let (mut sum, mut open) = (0.0, 0_i64);
        let mut liquidity = Vec::with_capacity(bounds.len() - 1);
        for i in 0..bounds.len() - 1 {
            sum += delta[i];
            open += open_delta[i];
            liquidity.push(if open > 0 { sum.max(0.0) } else { 0.0 });
        }
        Concentrated::new(sqrt_price, fee, &bounds, &liquidity)
    }

    /// The current sqrt price `s`, sqrt(quote per base).
    pub fn sqrt_price(&self) -> f64 {
        self.sqrt_price
    }

    /// The fee, a fraction of the input.
    pub fn fee(&self) -> f64 {
        self.fee
    }

    /// The boundaries `b_0 < … < b_n` of the ranges, in sqrt price.
    pub fn bounds(&self) -> &[f64] {
        &self.profile.bounds
    }

    /// The liquidity `L_i` on `[b_i, b_{i+1}]`, one per range.
    pub fn liquidity(&self) -> &[f64] {
        &self.profile.liquidity
    }

    /// Marginal price, quote per base token: `s²`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Concentrated;
    ///
    /// let c = Concentrated::new(3.0, 0.0, &[1.0, 4.0], &[10.0]).unwrap();
    /// assert_eq!(c.spot_price(), 9.0);
    /// ```
    pub fn spot_price(&self) -> f64 {
        self.sqrt_price * self.sqrt_price
    }

    /// Quote received for selling `q` base tokens now, without changing the state. Range by range
    /// downwards from `s`, with `r` the net input left (`q·(1−fee)` at the start), `x = L/s`,
    /// `y = L·s` and `lo` the range's lower end:
    ///
    /// ```text
    /// need = L·(1/lo − 1/s)                          base that takes s to lo
    /// r < need:  out += y·r/(x + r),  s' = L/(x + r)   (1/s' = 1/s + r/L; out = L·(s − s'))
    /// else:      out += L·(s − lo),   r −= need,  s = lo, on to the next range down
    /// ```
    ///
    /// Ranges with `L = 0` are crossed with no output. Past the lowest range nothing more is paid:
    /// the proceeds are at most the quote in the ranges below `s`, `Σ L·(min(s, b_{i+1}) − b_i)`.
    /// `q` ≤ 0 or not finite yields 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Concentrated;
    ///
    /// // One range, L = 100 at s = 2: x = 50, y = 200; selling 50 pays 200·50/(50 + 50) = 100.
    /// let c = Concentrated::new(2.0, 0.0, &[0.5, 4.0], &[100.0]).unwrap();
    /// assert!((c.proceeds(50.0) - 100.0).abs() < 1e-12);
    /// // Everything below s: 100·(2 − 0.5) = 150, however much is sold.
    /// assert!((c.proceeds(1e9) - 150.0).abs() < 1e-9);
    /// ```
    pub fn proceeds(&self, q: f64) -> f64 {
        self.sale(q).0
    }

    /// Sells `q` base tokens: returns [`Concentrated::proceeds`]`(q)` and moves `s` to where the
    /// sale ends (the fee does not join the liquidity, so the profile is unchanged). A sale past the
    /// lowest range leaves `s` at that range's lower end. `q` ≤ 0 or not finite sells nothing and
    /// returns 0.
    pub fn sell(&mut self, q: f64) -> f64 {
        let (out, s) = self.sale(q);
        self.sqrt_price = s;
        out
    }

    /// Quote paid to buy `q` base tokens now, without changing the state: [`Concentrated::buy`]
    /// on a copy (infinite when the ranges above `s` hold fewer than `q` tokens).
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Concentrated;
    ///
    /// // One range, L = 100 at s = 2: x = 50, y = 200; buying 25 costs 200·25/(50 − 25) = 200.
    /// let c = Concentrated::new(2.0, 0.0, &[0.5, 8.0], &[100.0]).unwrap();
    /// assert!((c.buy_cost(25.0) - 200.0).abs() < 1e-12);
    /// // Above s the ranges hold 100·(1/2 − 1/8) = 37.5 tokens.
    /// assert_eq!(c.buy_cost(40.0), f64::INFINITY);
    /// ```
    pub fn buy_cost(&self, q: f64) -> f64 {
        match self.purchase(q) {
            Some((cost, _)) => cost,
            None => f64::INFINITY,
        }
    }

    /// Buys `q` base tokens with quote, the fee on the input: returns the quote paid and moves `s`
    /// up. Range by range upwards from `s`, with `rem` the tokens still to buy, `x = L/s`,
    /// `y = L·s` and `hi` the range's upper end:
    ///
    /// ```text
    /// avail = L·(1/s − 1/hi)                                base between s and hi
    /// rem < avail:  net += y·rem/(x − rem),  s' = L/(x − rem)    (net = L·(s' − s))
    /// else:         net += L·(hi − s),  rem −= avail,  s = hi, on to the next range up
    /// cost = net / (1 − fee)
    /// ```
    ///
    /// Ranges with `L = 0` are crossed at no cost. If the ranges above `s` hold fewer than `q`
    /// tokens ([`Concentrated::max_buy_tokens`], up to a relative rounding slack of 1e-12) the buy
    /// is impossible: `+∞`, state unchanged; likewise if the cost overflows. `q` ≤ 0 or not finite
    /// buys nothing and costs 0.
    pub fn buy(&mut self, q: f64) -> f64 {
        match self.purchase(q) {
            Some((cost, s)) => {
                self.sqrt_price = s;
                cost
            }
            None => f64::INFINITY,
        }
    }

    /// Base tokens a budget of `usd` quote units buys now, without changing the state: the `q` with
    /// [`Concentrated::buy_cost`]`(q) = usd`, in closed form. Range by range upwards, with
    /// `u = usd·(1−fee)` the net budget left:
    ///
    /// ```text
    /// full = L·(hi − s)                                  quote that takes s to hi
    /// u < full:  q += x·u/(y + u)                        (s' = (y + u)/L)
    /// else:      q += L·(1/s − 1/hi),  u −= full,  s = hi, on to the next range up
    /// ```
    ///
    /// A budget beyond the cost of every range above `s` buys [`Concentrated::max_buy_tokens`].
    /// `usd` ≤ 0 or not finite buys nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Concentrated;
    ///
    /// // One range, L = 100 at s = 2: x = 50, y = 200; 200 of quote buy 50·200/(200 + 200) = 25.
    /// let c = Concentrated::new(2.0, 0.0, &[0.5, 8.0], &[100.0]).unwrap();
    /// assert!((c.tokens_for_budget(200.0) - 25.0).abs() < 1e-12);
    /// ```
    pub fn tokens_for_budget(&self, usd: f64) -> f64 {
        self.budget_purchase(usd).0
    }

    /// Spends a budget of `usd` quote units: buys [`Concentrated::tokens_for_budget`]`(usd)`
    /// tokens, moves `s` to where that buy ends, and returns the tokens bought. The quote actually
    /// paid is `usd`, or the cost of every range above `s` when that is less.
    pub fn spend(&mut self, usd: f64) -> f64 {
        let (tokens, s) = self.budget_purchase(usd);
        self.sqrt_price = s;
        tokens
    }

    /// Base tokens that can be bought at all (a buy of more costs infinitely much): the base held
    /// by the ranges above `s`, `Σ L·(1/max(s, b_i) − 1/b_{i+1})` over the ranges with `b_{i+1} > s`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Concentrated;
    ///
    /// // 100·(1/2 − 1/4) on the rest of [1, 4].
    /// let c = Concentrated::new(2.0, 0.0, &[1.0, 4.0], &[100.0]).unwrap();
    /// assert!((c.max_buy_tokens() - 25.0).abs() < 1e-12);
    /// ```
    pub fn max_buy_tokens(&self) -> f64 {
        let Profile { bounds, liquidity } = &*self.profile;
        let start = bounds
            .partition_point(|&b| b <= self.sqrt_price)
            .saturating_sub(1);
        let mut tokens = 0.0;
        for i in start..liquidity.len() {
            let l = liquidity[i];
            if l > 0.0 {
                let s = self.sqrt_price.max(bounds[i]);
                tokens += base_between(l, s, bounds[i + 1]);
            }
        }
        tokens
    }

    /// Base tokens whose sale takes the price to the lower end of the lowest range with liquidity
    /// (a larger sale pays no more): `Σ L·(1/b_i − 1/min(s, b_{i+1})) / (1 − fee)` over the ranges
    /// with `b_i < s`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Concentrated;
    ///
    /// // 100·(1/1 − 1/2) on [1, 2], grossed up for a 20% fee.
    /// let c = Concentrated::new(2.0, 0.2, &[1.0, 4.0], &[100.0]).unwrap();
    /// assert!((c.max_sell_tokens() - 62.5).abs() < 1e-12);
    /// ```
    pub fn max_sell_tokens(&self) -> f64 {
        let Profile { bounds, liquidity } = &*self.profile;
        let below = bounds
            .partition_point(|&b| b < self.sqrt_price)
            .min(liquidity.len());
        let mut net = 0.0;
        for i in 0..below {
            let l = liquidity[i];
            if l > 0.0 {
                let s = self.sqrt_price.min(bounds[i + 1]);
                net += base_between(l, bounds[i], s);
            }
        }
        net / (1.0 - self.fee)
    }

    /// Scales the depth by `m` (a scenario's `liquidity_multiplier`): every `L` times `m`, the
    /// price and the boundaries unchanged. An `m` that is not finite and positive, or that would
    /// take the virtual balances beyond the f64 range, leaves the curve unchanged. (This allocates
    /// a new profile; the clones sharing the old one keep it.)
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Concentrated;
    ///
    /// let mut c = Concentrated::new(2.0, 0.0, &[1.0, 4.0], &[100.0]).unwrap();
    /// c.scale_depth(3.0);
    /// assert_eq!(c.liquidity(), &[300.0]);
    /// assert_eq!(c.spot_price(), 4.0);
    /// ```
    pub fn scale_depth(&mut self, m: f64) {
        if !(m > 0.0 && m.is_finite()) {
            return;
        }
        let liquidity = self.profile.liquidity.iter().map(|l| l * m).collect();
        if let Ok(profile) = Profile::new(self.profile.bounds.clone(), liquidity) {
            self.profile = Arc::new(profile);
        }
    }

    /// Re-centres the curve at marginal price `price`: `s = sqrt(price)`, the liquidity profile
    /// fixed in price space (moving along the invariant; the ranges keep their prices and `L`). A
    /// price outside the ranges leaves no depth on one side. A `price` that is not finite and
    /// positive leaves the curve unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::Concentrated;
    ///
    /// let mut c = Concentrated::new(2.0, 0.0, &[1.0, 4.0], &[100.0]).unwrap();
    /// c.anchor(9.0);
    /// assert_eq!(c.sqrt_price(), 3.0);
    /// assert!((c.max_buy_tokens() - 100.0 * (1.0 / 3.0 - 0.25)).abs() < 1e-12);
    /// ```
    pub fn anchor(&mut self, price: f64) {
        if !(price > 0.0 && price.is_finite()) {
            return;
        }
        let s = price.sqrt();
        if s > 0.0 {
            self.sqrt_price = s;
        }
    }

    /// Moves the marginal price to `price` (the between-round recovery): the same as
    /// [`Concentrated::anchor`], since the profile is fixed in price space and the state is `s`
    /// alone.
    pub fn move_to_price(&mut self, price: f64) {
        self.anchor(price);
    }

    /// A sale of `q` base tokens from the current state: (quote out, sqrt price after). See
    /// [`Concentrated::proceeds`] for the formulas.
    fn sale(&self, q: f64) -> (f64, f64) {
        let s0 = self.sqrt_price;
        if !(q > 0.0 && q.is_finite()) {
            return (0.0, s0);
        }
        let Profile { bounds, liquidity } = &*self.profile;
        // Ranges with a lower end below s, from the one holding s (or the top one) down.
        let below = bounds.partition_point(|&b| b < s0).min(liquidity.len());
        let (mut r, mut s, mut out) = (q * (1.0 - self.fee), s0, 0.0);
        for i in (0..below).rev() {
            let l = liquidity[i];
            if !is_positive(l) {
                continue;
            }
            if !is_positive(r) {
                break;
            }
            let (lo, hi) = (bounds[i], bounds[i + 1]);
            s = s.min(hi); // through any empty ranges above, at no output
            let (x, y) = (l / s, l * s);
            let need = base_between(l, lo, s);
            if r < need {
                // y·r/(x + r), written so that a tiny r cannot give 0·∞.
                out += y / (1.0 + x / r);
                s = (s / (1.0 + r / x)).max(lo);
                return (out, s);
            }
            out += quote_between(l, lo, s);
            r -= need;
            s = lo;
        }
        (out, s)
    }

    /// A buy of `q` base tokens from the current state: (quote paid, sqrt price after), or `None`
    /// if it is impossible. See [`Concentrated::buy`] for the formulas.
    fn purchase(&self, q: f64) -> Option<(f64, f64)> {
        let s0 = self.sqrt_price;
        if !(q > 0.0 && q.is_finite()) {
            return Some((0.0, s0));
        }
        let Profile { bounds, liquidity } = &*self.profile;
        // Ranges with an upper end above s, from the one holding s (or the bottom one) up.
        let start = bounds.partition_point(|&b| b <= s0).saturating_sub(1);
        let (mut rem, mut s, mut net) = (q, s0, 0.0);
        for i in start..liquidity.len() {
            let l = liquidity[i];
            if !is_positive(l) {
                continue;
            }
            if !is_positive(rem) {
                break;
            }
            let (lo, hi) = (bounds[i], bounds[i + 1]);
            s = s.max(lo); // through any empty ranges below, at no cost
            let (x, y) = (l / s, l * s);
            let avail = base_between(l, s, hi);
            if rem < avail {
                net += y * (rem / (x - rem));
                s = (l / (x - rem)).min(hi);
                rem = 0.0;
                break;
            }
            net += quote_between(l, s, hi);
            rem -= avail;
            s = hi;
        }
        let cost = net / (1.0 - self.fee);
        (rem <= FILL_SLACK * q && cost.is_finite()).then_some((cost, s))
    }

    /// A buy for a budget of `usd` quote units from the current state: (tokens bought, sqrt price
    /// after). See [`Concentrated::tokens_for_budget`] for the formulas.
    fn budget_purchase(&self, usd: f64) -> (f64, f64) {
        let s0 = self.sqrt_price;
        if !(usd > 0.0 && usd.is_finite()) {
            return (0.0, s0);
        }
        let Profile { bounds, liquidity } = &*self.profile;
        let start = bounds.partition_point(|&b| b <= s0).saturating_sub(1);
        let (mut u, mut s, mut tokens) = (usd * (1.0 - self.fee), s0, 0.0);
        for i in start..liquidity.len() {
            let l = liquidity[i];
            if !is_positive(l) {
                continue;
            }
            if !is_positive(u) {
                break;
            }
            let (lo, hi) = (bounds[i], bounds[i + 1]);
            s = s.max(lo);
            let (x, y) = (l / s, l * s);
            let full = quote_between(l, s, hi);
            if u < full {
                // x·u/(y + u), written so that a tiny u cannot give 0·∞.
                tokens += x / (1.0 + y / u);
                s = ((y + u) / l).min(hi);
                return (tokens, s);
            }
            tokens += base_between(l, s, hi);
            u -= full;
            s = hi;
        }
        (tokens, s)
    }
}

impl Profile {
    /// Validates a profile (see [`Concentrated::new`] for the rules).
    fn new(bounds: Vec<f64>, liquidity: Vec<f64>) -> Result<Profile, ConcentratedError> {
        if bounds.len() < 2 || bounds.len() != liquidity.len() + 1 {
            return Err(ConcentratedError::Shape {
                bounds: bounds.len(),
                ranges: liquidity.len(),
            });
        }
        let mut previous = 0.0;
        for (index, &value) in bounds.iter().enumerate() {
            if !(value > previous && value.is_finite()) {
                return Err(ConcentratedError::Boundary {
                    index,
                    value,
                    previous,
                });
            }
            previous = value;
        }
        if let Some((index, &value)) = liquidity
            .iter()
            .enumerate()
            .find(|(_, l)| !(**l >= 0.0 && l.is_finite()))
        {
            return Err(ConcentratedError::Liquidity { index, value });
        }
        let (mut quote, mut base) = (0.0_f64, 0.0_f64);
        for (i, &l) in liquidity.iter().enumerate() {
            quote += l * bounds[i + 1];
            base += l / bounds[i];
        }
        if !(quote.is_finite() && base.is_finite()) {
            return Err(ConcentratedError::Overflow);
        }
        Ok(Profile { bounds, liquidity })
    }
}

/// Base tokens on liquidity `l` between sqrt prices `a ≤ b`: `l·(1/a − 1/b)`, written as
/// `l·((b − a)/b)/a` so that close prices lose no digits (and nothing overflows).
fn base_between(l: f64, a: f64, b: f64) -> f64 {
    l * ((b - a) / b) / a
}

/// Quote units on liquidity `l` between sqrt prices `a ≤ b`: `l·(b − a)`.
fn quote_between(l: f64, a: f64, b: f64) -> f64 {
    l * (b - a)
}
