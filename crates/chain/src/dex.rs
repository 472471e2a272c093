//! DEX liquidity read at a block (docs/import.md#dex-liquidity): a Uniswap v2 pair (or a fork with its
//! interface) gives a constant-product curve — its two reserves and the 0.3% fee — for one of its
//! tokens, quoted in the other; a Uniswap v3 pool gives a concentrated-liquidity curve — its price,
//! fee and the liquidity between every pair of initialized ticks.

use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall};

use cascade_market::curve::{Concentrated, PoolToken, UniswapV3Pool, MAX_TICK, MIN_TICK};
use cascade_model::{ConcentratedSpec, LiquidityRange};

use crate::rpc::{Call, Rpc};
use crate::ChainError;

sol! {
    interface IUniswapV2Pair {
        function token0() external view returns (address);
        function token1() external view returns (address);
        function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    }

    interface IUniswapV3Pool {
        function token0() external view returns (address);
        function token1() external view returns (address);
        function fee() external view returns (uint24);
        function tickSpacing() external view returns (int24);
        function liquidity() external view returns (uint128);
        function slot0() external view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint8 feeProtocol, bool unlocked);
        function tickBitmap(int16 wordPosition) external view returns (uint256);
        function ticks(int24 tick) external view returns (uint128 liquidityGross, int128 liquidityNet, uint256 feeGrowthOutside0X128, uint256 feeGrowthOutside1X128, int56 tickCumulativeOutside, uint160 secondsPerLiquidityOutsideX128, uint32 secondsOutside, bool initialized);
    }

    interface IErc20Decimals {
        function decimals() external view returns (uint8);
    }

    interface IErc20Symbol {
        function symbol() external view returns (string);
    }
}

/// Uniswap v2's swap fee: 0.3% of the amount in.
pub const UNISWAP_V2_FEE: f64 = 0.003;

/// A Uniswap v2 pair at a block: its tokens, reserves (raw units) and decimals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Pair {
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    pub reserve0: U256,
    pub reserve1: U256,
    pub decimals0: u8,
    pub decimals1: u8,
}

fn decode<C: SolCall>(bytes: &[u8], c: &Call) -> Result<C::Return, ChainError> {
    C::abi_decode_returns(bytes).map_err(|e| ChainError::NotTheContract {
        address: c.to.clone(),
        expected: "a Uniswap v2 pair (token0, token1, getReserves) or v3 pool over ERC-20 tokens"
            .into(),
        detail: format!("{}: {e}", c.label),
    })
}

/// Reads the pairs `pools` at block `n`.
pub fn read_v2_pairs(rpc: &Rpc, n: u64, pools: &[Address]) -> Result<Vec<V2Pair>, ChainError> {
    let mut calls = Vec::new();
    for &p in pools {
        calls.push(Call::new(
            "UniswapV2Pair.token0()",
            p,
            IUniswapV2Pair::token0Call {}.abi_encode(),
        ));
        calls.push(Call::new(
            "UniswapV2Pair.token1()",
            p,
            IUniswapV2Pair::token1Call {}.abi_encode(),
        ));
        calls.push(Call::new(
            "UniswapV2Pair.getReserves()",
            p,
            IUniswapV2Pair::getReservesCall {}.abi_encode(),
        ));
    }
    let out = rpc.eth_calls(n, &calls)?;
    let mut pairs = Vec::with_capacity(pools.len());
    for (k, &p) in pools.iter().enumerate() {
        let token0 = decode::<IUniswapV2Pair::token0Call>(&out[3 * k], &calls[3 * k])?;
        let token1 = decode::<IUniswapV2Pair::token1Call>(&out[3 * k + 1], &calls[3 * k + 1])?;
        let r = decode::<IUniswapV2Pair::getReservesCall>(&out[3 * k + 2], &calls[3 * k + 2])?;
        pairs.push(V2Pair {
            address: p,
            token0,
            token1,
            reserve0: U256::from(r.reserve0),
            reserve1: U256::from(r.reserve1),
            decimals0: 0,
            decimals1: 0,
        });
    }
    let calls: Vec<Call> = pairs
        .iter()
        .flat_map(|p| [p.token0, p.token1])
        .map(|t| {
            Call::new(
                "decimals()",
                t,
                IErc20Decimals::decimalsCall {}.abi_encode(),
            )
        })
        .collect();
    let out = rpc.eth_calls(n, &calls)?;
    for (k, p) in pairs.iter_mut().enumerate() {
        p.decimals0 = decode::<IErc20Decimals::decimalsCall>(&out[2 * k], &calls[2 * k])?;
        p.decimals1 = decode::<IErc20Decimals::decimalsCall>(&out[2 * k + 1], &calls[2 * k + 1])?;
    }
    Ok(pairs)
}

/// A Uniswap v3 pool at a block: its tokens and decimals, fee (hundredths of a basis point), tick
/// spacing, `slot0` price and tick, active liquidity, and every initialized tick with its
/// `liquidityNet` (raw units), in increasing tick order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Pool {
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    pub decimals0: u8,
    pub decimals1: u8,
    pub fee_pips: u32,
    pub tick_spacing: i32,
    pub sqrt_price_x96: U256,
    pub tick: i32,
    pub liquidity: u128,
    pub ticks: Vec<(i32, i128)>,
}

/// A DEX pool of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DexPool {
    V2(V2Pair),
    V3(V3Pool),
}

impl DexPool {
    pub fn address(&self) -> Address {
        match self {
            DexPool::V2(p) => p.address,
            DexPool::V3(p) => p.address,
        }
    }
    pub fn tokens(&self) -> (Address, Address) {
        match self {
            DexPool::V2(p) => (p.token0, p.token1),
            DexPool::V3(p) => (p.token0, p.token1),
        }
    }
}

/// Reads `pools` at block `n`, telling a v3 pool (it answers `liquidity()`) from a v2 pair (the
/// call reverts); pools keep their order.
pub fn read_pools(rpc: &Rpc, n: u64, pools: &[Address]) -> Result<Vec<DexPool>, ChainError> {
    let mut v2 = Vec::new();
    let mut v3 = Vec::new();
    for &p in pools {
        let probe = Call::new(
            "UniswapV3Pool.liquidity()",
            p,
            IUniswapV3Pool::liquidityCall {}.abi_encode(),
        );
        let is_v3 = match rpc.eth_calls(n, std::slice::from_ref(&probe)) {
            Ok(out) => IUniswapV3Pool::liquidityCall::abi_decode_returns(&out[0]).is_ok(),
            Err(ChainError::Call { .. }) => false,
            Err(e) => return Err(e),
        };
        if is_v3 {
            v3.push(p);
        } else {
            v2.push(p);
        }
    }
    let mut v2 = read_v2_pairs(rpc, n, &v2)?.into_iter();
    let mut v3 = read_v3_pools(rpc, n, &v3)?.into_iter();
    let mut out = Vec::with_capacity(pools.len());
    for &p in pools {
        let next = match v3.as_slice().first() {
            Some(q) if q.address == p => v3.next().map(DexPool::V3),
            _ => v2.next().map(DexPool::V2),
        };
        out.extend(next);
    }
    Ok(out)
}

/// Reads the v3 `pools` at block `n`: the pool's state, its tokens' decimals, the tick bitmap over
/// the whole tick range and each initialized tick.
pub fn read_v3_pools(rpc: &Rpc, n: u64, pools: &[Address]) -> Result<Vec<V3Pool>, ChainError> {
    let mut out = Vec::with_capacity(pools.len());
    for &p in pools {
        let calls = [
            Call::new(
                "UniswapV3Pool.token0()",
                p,
                IUniswapV3Pool::token0Call {}.abi_encode(),
            ),
            Call::new(
                "UniswapV3Pool.token1()",
                p,
                IUniswapV3Pool::token1Call {}.abi_encode(),
            ),
            Call::new(
                "UniswapV3Pool.fee()",
                p,
                IUniswapV3Pool::feeCall {}.abi_encode(),
            ),
            Call::new(
                "UniswapV3Pool.tickSpacing()",
                p,
                IUniswapV3Pool::tickSpacingCall {}.abi_encode(),
            ),
            Call::new(
                "UniswapV3Pool.slot0()",
                p,
                IUniswapV3Pool::slot0Call {}.abi_encode(),
            ),
            Call::new(
                "UniswapV3Pool.liquidity()",
                p,
                IUniswapV3Pool::liquidityCall {}.abi_encode(),
            ),
        ];
        let a = rpc.eth_calls(n, &calls)?;
        let token0 = decode::<IUniswapV3Pool::token0Call>(&a[0], &calls[0])?;
        let token1 = decode::<IUniswapV3Pool::token1Call>(&a[1], &calls[1])?;
        let fee = decode::<IUniswapV3Pool::feeCall>(&a[2], &calls[2])?;
        let spacing = decode::<IUniswapV3Pool::tickSpacingCall>(&a[3], &calls[3])?;
        let slot0 = decode::<IUniswapV3Pool::slot0Call>(&a[4], &calls[4])?;
        let liquidity = decode::<IUniswapV3Pool::liquidityCall>(&a[5], &calls[5])?;
        let tick_spacing = spacing.as_i32();
        if tick_spacing <= 0 {
            return Err(ChainError::NotTheContract {
                address: p.to_checksum(None),
                expected: "a Uniswap v3 pool".into(),
                detail: format!("tickSpacing() = {tick_spacing}, expected > 0"),
            });
        }
        // Every bitmap word of the tick range: bit b of word w is the tick (256·w + b)·spacing.
        let words = MIN_TICK.div_euclid(tick_spacing) >> 8..=MAX_TICK.div_euclid(tick_spacing) >> 8;
        let calls: Vec<Call> = words
            .clone()
            .map(|w| {
                Call::new(
                    format!("UniswapV3Pool.tickBitmap({w})"),
                    p,
                    IUniswapV3Pool::tickBitmapCall {
                        wordPosition: w as i16,
                    }
                    .abi_encode(),
                )
            })
            .collect();
        let bitmap = rpc.eth_calls(n, &calls)?;
        let mut initialized = Vec::new();
        for ((w, bytes), c) in words.zip(&bitmap).zip(&calls) {
            let word = decode::<IUniswapV3Pool::tickBitmapCall>(bytes, c)?;
            for b in 0..256 {
                if word.bit(b) {
                    initialized.push((w * 256 + b as i32) * tick_spacing);
                }
            }
        }
        let calls: Vec<Call> = initialized
            .iter()
            .map(|&t| {
                Call::new(
                    format!("UniswapV3Pool.ticks({t})"),
                    p,
                    IUniswapV3Pool::ticksCall {
                        tick: alloy_primitives::aliases::I24::try_from(t).unwrap_or_default(),
                    }
                    .abi_encode(),
                )
            })
            .collect();
        let answers = rpc.eth_calls(n, &calls)?;
        let mut ticks = Vec::with_capacity(initialized.len());
        for ((&t, bytes), c) in initialized.iter().zip(&answers).zip(&calls) {
            let info = decode::<IUniswapV3Pool::ticksCall>(bytes, c)?;
            ticks.push((t, info.liquidityNet));
        }
        out.push(V3Pool {
            address: p,
            token0,
            token1,
            decimals0: 0,
            decimals1: 0,
            fee_pips: fee.to::<u32>(),
            tick_spacing,
            sqrt_price_x96: U256::from(slot0.sqrtPriceX96),
            tick: slot0.tick.as_i32(),
            liquidity,
            ticks,
        });
    }
    let calls: Vec<Call> = out
        .iter()
        .flat_map(|p| [p.token0, p.token1])
        .map(|t| {
            Call::new(
                "decimals()",
                t,
                IErc20Decimals::decimalsCall {}.abi_encode(),
            )
        })
        .collect();
    let answers = rpc.eth_calls(n, &calls)?;
    for (k, p) in out.iter_mut().enumerate() {
        p.decimals0 = decode::<IErc20Decimals::decimalsCall>(&answers[2 * k], &calls[2 * k])?;
        p.decimals1 =
            decode::<IErc20Decimals::decimalsCall>(&answers[2 * k + 1], &calls[2 * k + 1])?;
    }
    Ok(out)
}

impl V3Pool {
    /// The pool as a concentrated-liquidity curve spec (docs/liquidity.md#uniswap-v3-data) for selling
    /// token0 (`base_is_token0`) or token1, prices in the other token per base token with decimals
    /// applied: the profile `cascade_market::curve::Concentrated::from_uniswap_v3` builds from the
    /// pool's price, current tick, active liquidity and initialized ticks, written as price ranges
    /// `[b_i², b_(i+1)²]` with their liquidity (ranges with none left out). Data no pool can have (a
    /// negative liquidity between ticks, a tick that does not hold the price) are an error naming
    /// the pool.
    pub fn curve(&self, base_is_token0: bool) -> Result<ConcentratedSpec, ChainError> {
        let native = UniswapV3Pool {
            sqrt_price_x96: crate::snapshot::to_units(self.sqrt_price_x96, 0),
            tick: self.tick,
            liquidity: self.liquidity,
            ticks: &self.ticks,
            decimals0: self.decimals0,
            decimals1: self.decimals1,
            fee_pips: self.fee_pips,
            base: if base_is_token0 {
                PoolToken::Token0
            } else {
                PoolToken::Token1
            },
        };
        let c = Concentrated::from_uniswap_v3(&native).map_err(|e| ChainError::NotTheContract {
            address: self.address.to_checksum(None),
            expected: "a consistent Uniswap v3 pool".into(),
            detail: e.to_string(),
        })?;
        let b = c.bounds();
        let ranges = c
            .liquidity()
            .iter()
            .enumerate()
            .filter(|(_, l)| **l > 0.0)
            .map(|(i, &liquidity)| LiquidityRange {
                lower: b[i] * b[i],
                upper: b[i + 1] * b[i + 1],
                liquidity,
            })
            .collect();
        Ok(ConcentratedSpec {
            price: c.spot_price(),
            fee: c.fee(),
            ranges,
        })
    }
}

/// The symbols of each pool's two tokens, made safe for TOML strings (characters other than
/// letters, digits, `.`, `_` and `-` become `_`); a token without a readable `symbol()` (one that
/// reverts or returns `bytes32`) is named by its address.
pub fn token_symbols(
    rpc: &Rpc,
    n: u64,
    pools: &[DexPool],
) -> Result<Vec<(String, String)>, ChainError> {
    let mut out = Vec::with_capacity(pools.len());
    for p in pools {
        let (t0, t1) = p.tokens();
        let name = |t: Address| -> Result<String, ChainError> {
            let call = Call::new("symbol()", t, IErc20Symbol::symbolCall {}.abi_encode());
            let text = match rpc.eth_calls(n, std::slice::from_ref(&call)) {
                Ok(a) => IErc20Symbol::symbolCall::abi_decode_returns(&a[0]).ok(),
                Err(ChainError::Call { .. }) => None,
                Err(e) => return Err(e),
            };
            let safe: String = text
                .unwrap_or_default()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            Ok(if safe.is_empty() {
                t.to_checksum(None)
            } else {
                safe
            })
        };
        out.push((name(t0)?, name(t1)?));
    }
    Ok(out)
}
