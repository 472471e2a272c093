//! DEX liquidity read at a block (docs/import.md#dex-liquidity): a Uniswap v2 pair (or a fork with its
//! interface) gives a constant-product curve — its two reserves and the 0.3% fee — for one of its
//! tokens, quoted in the other.

use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall};

use crate::rpc::{Call, Rpc};
use crate::ChainError;

sol! {
    interface IUniswapV2Pair {
        function token0() external view returns (address);
        function token1() external view returns (address);
        function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    }

    interface IErc20Decimals {
        function decimals() external view returns (uint8);
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
        expected: "a Uniswap v2 pair (token0, token1, getReserves) over ERC-20 tokens".into(),
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
