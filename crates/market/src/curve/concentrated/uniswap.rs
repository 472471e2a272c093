//! A Uniswap v3 pool's native state (`sqrtPriceX96`, the current tick, `liquidity`, the initialized
//! ticks' `liquidityNet`) read into a [`Concentrated`] curve, in either orientation.

use super::{
    Concentrated, ConcentratedError, FEE_PIPS_PER_UNIT, MAX_TICK, MIN_TICK, Q96, TICK_BASE,
    TICK_PRICE_TOLERANCE,
};

/// Which of a Uniswap v3 pool's two tokens is the base (the asset sold on the curve); the other is
/// the quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolToken {
    Token0,
    Token1,
}

/// A Uniswap v3 pool in its native units, as read from chain or a subgraph (see
/// [`Concentrated::from_uniswap_v3`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UniswapV3Pool<'a> {
    /// `slot0.sqrtPriceX96`: `sqrt(token1 raw per token0 raw)·2^96` (a uint160; see
    /// [`parse_sqrt_price_x96`] for its decimal text).
    pub sqrt_price_x96: f64,
    /// `slot0.tick`: the current tick, which says which range the active liquidity is on.
    pub tick: i32,
    /// `liquidity()`: the active liquidity, raw.
    pub liquidity: u128,
    /// The initialized ticks `(tick, liquidityNet)`, any order, each once. A window around the
    /// current tick is enough; the depth beyond it is left out.
    pub ticks: &'a [(i32, i128)],
    /// `token0.decimals()`.
    pub decimals0: u8,
    /// `token1.decimals()`.
    pub decimals1: u8,
    /// `fee()`: hundredths of a basis point (500 = 0.05%).
    pub fee_pips: u32,
    /// Which token is the base.
    pub base: PoolToken,
}

/// `sqrtPriceX96` from its decimal text (a uint160 as a subgraph or `cast` prints it), rounded to
/// the nearest f64.
///
/// # Examples
///
/// ```
/// use cascade_market::curve::parse_sqrt_price_x96;
///
/// // sqrt(1)·2^96: price 1.
/// assert_eq!(parse_sqrt_price_x96("79228162514264337593543950336"), Ok(2f64.powi(96)));
/// assert!(parse_sqrt_price_x96("0x01").is_err());
/// ```
pub fn parse_sqrt_price_x96(text: &str) -> Result<f64, ConcentratedError> {
    let digits = text.trim();
    let not_an_integer = || ConcentratedError::NotAnInteger(text.to_string());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_an_integer());
    }
    digits.parse::<f64>().map_err(|_| not_an_integer())
}

impl Concentrated {
    /// A curve from a Uniswap v3 pool's native data (docs/liquidity.md#uniswap-v3-data).
    ///
    /// Raw units first (token0 is the pool's first token, amounts in its smallest unit):
    ///
    /// ```text
    /// price at tick t            = 1.0001^t                token1 raw per token0 raw
    /// sqrt price at tick t       = 1.0001^(t/2)
    /// current raw sqrt price     = sqrtPriceX96 / 2^96
    /// L on [t_k, t_{k+1})        = liquidity + Σ liquidityNet(t_i), t_i crossed going up from the
    ///                              current tick's range (t_i ≤ t_k), minus those crossed going down
    /// ```
    ///
    /// The current tick's range (`t_j ≤ tick < t_{j+1}`) carries `liquidity`; going up a tick adds
    /// its `liquidityNet`, going down subtracts it. These sums are exact (`i128`).
    ///
    /// Then human units, `d0` and `d1` the decimals, with token0 as the base:
    ///
    /// ```text
    /// s      = sqrt_raw · 10^((d0 − d1)/2)        sqrt(token1 per token0)
    /// L      = L_raw / 10^((d0 + d1)/2)           so that L/s is token0 and L·s token1
    /// ```
    ///
    /// With token1 as the base the price inverts: every sqrt price becomes `1/s`, which reverses
    /// the order of the boundaries (and of the ranges' liquidity): going up in the token1 price is
    /// going down in ticks, so crossing a tick then subtracts its `liquidityNet`. `L` is the same
    /// in both orientations (`L/s` and `L·s` swap roles). The fee is `fee_pips / 10^6`.
    ///
    /// The profile spans the lowest to the highest initialized tick given; liquidity below the
    /// first or above the last (0 for a complete list, the rest of the pool for a window) is left
    /// out, so a window only loses depth.
    ///
    /// Errors: `sqrtPriceX96` not finite and > 0; `fee_pips ≥ 10^6`; a tick outside
    /// `[MIN_TICK, MAX_TICK]` or listed twice; fewer than two initialized ticks; a current tick that
    /// does not hold the current price; an active liquidity > 0 with the current tick outside the
    /// initialized ticks; a negative liquidity on some range (the data do not agree); and those of
    /// [`Concentrated::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use cascade_market::curve::{Concentrated, PoolToken, UniswapV3Pool};
    ///
    /// // Two 18-decimal tokens at price 1 (tick 0), one position of L = 1e21 raw on ticks [-600, 600].
    /// let pool = UniswapV3Pool {
    ///     sqrt_price_x96: 2f64.powi(96),
    ///     tick: 0,
    ///     liquidity: 1_000_000_000_000_000_000_000,
    ///     ticks: &[(-600, 1_000_000_000_000_000_000_000), (600, -1_000_000_000_000_000_000_000)],
    ///     decimals0: 18,
    ///     decimals1: 18,
    ///     fee_pips: 3000,
    ///     base: PoolToken::Token1,
    /// };
    /// let c = Concentrated::from_uniswap_v3(&pool).unwrap();
    /// assert!((c.spot_price() - 1.0).abs() < 1e-12);
    /// assert_eq!(c.liquidity(), &[1000.0]); // 1e21 / 10^18
    /// assert_eq!(c.fee(), 0.003);
    /// ```
    pub fn from_uniswap_v3(pool: &UniswapV3Pool<'_>) -> Result<Concentrated, ConcentratedError> {
        if pool.fee_pips >= FEE_PIPS_PER_UNIT {
            return Err(ConcentratedError::FeePips(pool.fee_pips));
        }
        let fee = f64::from(pool.fee_pips) / f64::from(FEE_PIPS_PER_UNIT);
        let x96 = pool.sqrt_price_x96;
        if !(x96 > 0.0 && x96.is_finite()) {
            return Err(ConcentratedError::SqrtPriceX96(x96));
        }
        let tick = pool.tick;
        if !(MIN_TICK..=MAX_TICK).contains(&tick) {
            return Err(ConcentratedError::TickOutOfRange(tick));
        }
        let sqrt_raw = x96 / Q96;
        let holds_price = tick_sqrt_price(tick) <= sqrt_raw * (1.0 + TICK_PRICE_TOLERANCE)
            && sqrt_raw < tick_sqrt_price(tick + 1) * (1.0 + TICK_PRICE_TOLERANCE);
        if !holds_price {
            return Err(ConcentratedError::TickMismatch {
                tick,
                sqrt_price_x96: x96,
            });
        }
        let mut ticks = pool.ticks.to_vec();
        ticks.sort_unstable_by_key(|&(t, _)| t);
        if let Some(&(t, _)) = ticks
            .iter()
            .find(|(t, _)| !(MIN_TICK..=MAX_TICK).contains(t))
        {
            return Err(ConcentratedError::TickOutOfRange(t));
        }
        if let Some(w) = ticks.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(ConcentratedError::DuplicateTick(w[0].0));
        }
        let n = ticks.len();
        if n < 2 {
            return Err(ConcentratedError::TooFewTicks(n));
        }
        let ranges = tick_liquidity(&ticks, tick, pool.liquidity)?;

        let (d0, d1) = (f64::from(pool.decimals0), f64::from(pool.decimals1));
        let sqrt_scale = 10f64.powf((d0 - d1) / 2.0);
        let liquidity_scale = 10f64.powf((d0 + d1) / 2.0);
        let mut bounds: Vec<f64> = ticks
            .iter()
            .map(|&(t, _)| tick_sqrt_price(t) * sqrt_scale)
            .collect();
        let mut liquidity: Vec<f64> = ranges.iter().map(|&l| l as f64 / liquidity_scale).collect();
        let mut sqrt_price = sqrt_raw * sqrt_scale;
        if pool.base == PoolToken::Token1 {
            bounds.reverse();
            bounds.iter_mut().for_each(|b| *b = 1.0 / *b);
            liquidity.reverse();
            sqrt_price = 1.0 / sqrt_price;
        }
        Concentrated::new(sqrt_price, fee, &bounds, &liquidity)
    }
}

/// Raw sqrt price at tick `t`: `1.0001^(t/2)`.
fn tick_sqrt_price(t: i32) -> f64 {
    TICK_BASE.powf(f64::from(t) / 2.0)
}

/// Raw liquidity on each range between consecutive initialized `ticks` (sorted, distinct, at least
/// two): the range holding `tick` has `active`; going up a tick adds its liquidityNet, going down
/// subtracts it. The open ranges below the first tick and above the last are checked (≥ 0) but not
/// returned.
fn tick_liquidity(
    ticks: &[(i32, i128)],
    tick: i32,
    active: u128,
) -> Result<Vec<i128>, ConcentratedError> {
    let n = ticks.len();
    // Extended ranges: e = 0 is below ticks[0], e = k is [ticks[k−1], ticks[k]), e = n above the last.
    let j = ticks.partition_point(|&(t, _)| t <= tick);
    if (j == 0 || j == n) && active > 0 {
        return Err(ConcentratedError::ActiveOutside {
            tick,
            first: ticks[0].0,
            last: ticks[n - 1].0,
            liquidity: active,
        });
    }
    let overflow = || ConcentratedError::LiquidityOverflow;
    let mut ext = vec![0_i128; n + 1];
    ext[j] = i128::try_from(active).map_err(|_| overflow())?;
    for k in j..n {
        ext[k + 1] = ext[k].checked_add(ticks[k].1).ok_or_else(overflow)?;
    }
    for k in (0..j).rev() {
        ext[k] = ext[k + 1].checked_sub(ticks[k].1).ok_or_else(overflow)?;
    }
    if let Some((e, &liquidity)) = ext.iter().enumerate().find(|(_, l)| **l < 0) {
        return Err(ConcentratedError::NegativeLiquidity {
            lower: if e == 0 { MIN_TICK } else { ticks[e - 1].0 },
            upper: if e == n { MAX_TICK } else { ticks[e].0 },
            liquidity,
        });
    }
    Ok(ext[1..n].to_vec())
}
