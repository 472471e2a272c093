//! Following an Aave v3 market block by block (docs/serve-follow.md): what a block changed, read
//! with the importer's own calls so that amounts, asset ids and account ids are exactly the
//! importer's.
//!
//! - [`Tracked`]: the market as imported (provider, pool, oracle, and per reserve its asset id,
//!   tokens, decimals and reserve id), kept beside the imported snapshot so that a restart follows
//!   the same reserves under the same ids;
//! - [`touched_users`]: per block, the users whose positions a block may have changed, from the
//!   pool's events and the aTokens' `BalanceTransfer`s (one `eth_getLogs` per range);
//! - [`read_prices`]: the oracle's prices of the tracked reserves at each of a run of blocks (one
//!   `getAssetsPrices` per block, batched);
//! - [`read_users_at`]: users' positions at one block, `rayMul(scaled balance, index at the block)`
//!   as [`crate::aave::read_market`] reads them.

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall, SolEvent};
use serde_json::{json, Value};

use crate::aave::{parse_address, read_users, Market, ReserveConfig, ReserveState, UserState};
use crate::rpc::{unhex, Call, Rpc};
use crate::snapshot::{asset_ids, price_usd};
use crate::ChainError;

sol! {
    interface IPoolEvents {
        event Supply(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint16 indexed referralCode);
        event Withdraw(address indexed reserve, address indexed user, address indexed to, uint256 amount);
        event Borrow(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint8 interestRateMode, uint256 borrowRate, uint16 indexed referralCode);
        event Repay(address indexed reserve, address indexed user, address indexed repayer, uint256 amount, bool useATokens);
        event LiquidationCall(address indexed collateralAsset, address indexed debtAsset, address indexed user, uint256 debtToCover, uint256 liquidatedCollateralAmount, address liquidator, bool receiveAToken);
        event ReserveUsedAsCollateralEnabled(address indexed reserve, address indexed user);
        event ReserveUsedAsCollateralDisabled(address indexed reserve, address indexed user);
        event SwapBorrowRateMode(address indexed reserve, address indexed user, uint8 interestRateMode);
        event RebalanceStableBorrowRate(address indexed reserve, address indexed user);
        event UserEModeSet(address indexed user, uint8 categoryId);
        event MintUnbacked(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint16 indexed referralCode);
        event BalanceTransfer(address indexed from, address indexed to, uint256 value, uint256 index);
    }

    interface IFollowPool {
        function getReserveNormalizedIncome(address asset) external view returns (uint256);
        function getReserveNormalizedVariableDebt(address asset) external view returns (uint256);
    }

    interface IFollowOracle {
        function getAssetsPrices(address[] assets) external view returns (uint256[]);
    }
}

/// One reserve followed: its asset id in the snapshot and the contracts to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedReserve {
    /// The asset's id in the imported snapshot.
    pub asset: String,
    pub symbol: String,
    pub underlying: Address,
    pub a_token: Address,
    pub variable_debt_token: Address,
    pub stable_debt_token: Address,
    pub decimals: u64,
    /// The reserve's id (its bits in a user's configuration).
    pub id: u16,
}

/// The market a follower follows: what was imported, at which block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub provider: Address,
    pub pool: Address,
    pub oracle: Address,
    /// The oracle's `BASE_CURRENCY_UNIT`.
    pub base_unit: U256,
    /// The block the snapshot was imported at.
    pub block: u64,
    pub timestamp: u64,
    /// In the pool's `getReservesList` order at the import.
    pub reserves: Vec<TrackedReserve>,
}

impl Tracked {
    /// The market `m` as imported (asset ids as the snapshot writes them).
    pub fn of(m: &Market) -> Tracked {
        let ids = asset_ids(m);
        Tracked {
            provider: m.provider,
            pool: m.pool,
            oracle: m.oracle,
            base_unit: m.base_unit,
            block: m.block.number,
            timestamp: m.block.timestamp,
            reserves: m
                .reserves
                .iter()
                .zip(ids)
                .map(|(r, asset)| TrackedReserve {
                    asset,
                    symbol: r.symbol.clone(),
                    underlying: r.underlying,
                    a_token: r.a_token,
                    variable_debt_token: r.variable_debt_token,
                    stable_debt_token: r.stable_debt_token,
                    decimals: r.config.decimals,
                    id: r.id,
                })
                .collect(),
        }
    }

    /// A price of the oracle in USD per token, as the snapshot writes it.
    pub fn price_usd(&self, raw: U256) -> f64 {
        price_usd(raw, self.base_unit)
    }

    /// As JSON (`market.json` beside the followed snapshot).
    pub fn to_json(&self) -> String {
        let a = |x: &Address| x.to_checksum(None);
        let v = json!({
            "kind": "aave-v3",
            "provider": a(&self.provider),
            "pool": a(&self.pool),
            "oracle": a(&self.oracle),
            "base_unit": self.base_unit.to_string(),
            "block": self.block,
            "timestamp": self.timestamp,
            "reserves": self.reserves.iter().map(|r| json!({
                "asset": r.asset,
                "symbol": r.symbol,
                "underlying": a(&r.underlying),
                "a_token": a(&r.a_token),
                "variable_debt_token": a(&r.variable_debt_token),
                "stable_debt_token": a(&r.stable_debt_token),
                "decimals": r.decimals,
                "id": r.id,
            })).collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads [`Tracked::to_json`]'s text; `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<Tracked, ChainError> {
        let bad = |what: String| ChainError::Usage(format!("{file}: {what}"));
        let v: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let s = |o: &Value, k: &str| -> Result<String, ChainError> {
            o.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(format!("missing text field \"{k}\"")))
        };
        let n = |o: &Value, k: &str| -> Result<u64, ChainError> {
            o.get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(format!("missing number field \"{k}\"")))
        };
        let addr = |o: &Value, k: &str| -> Result<Address, ChainError> {
            parse_address(&s(o, k)?).map_err(|e| bad(format!("\"{k}\": {e}")))
        };
        if s(&v, "kind")? != "aave-v3" {
            return Err(bad("\"kind\" is not \"aave-v3\"".into()));
        }
        let base_unit = s(&v, "base_unit")?
            .parse::<U256>()
            .map_err(|e| bad(format!("\"base_unit\": {e}")))?;
        let mut reserves = Vec::new();
        for r in v
            .get("reserves")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing \"reserves\"".into()))?
        {
            reserves.push(TrackedReserve {
                asset: s(r, "asset")?,
                symbol: s(r, "symbol")?,
                underlying: addr(r, "underlying")?,
                a_token: addr(r, "a_token")?,
                variable_debt_token: addr(r, "variable_debt_token")?,
                stable_debt_token: addr(r, "stable_debt_token")?,
                decimals: n(r, "decimals")?,
                id: u16::try_from(n(r, "id")?).map_err(|e| bad(format!("\"id\": {e}")))?,
            });
        }
        Ok(Tracked {
            provider: addr(&v, "provider")?,
            pool: addr(&v, "pool")?,
            oracle: addr(&v, "oracle")?,
            base_unit,
            block: n(&v, "block")?,
            timestamp: n(&v, "timestamp")?,
            reserves,
        })
    }
}

/// The users whose positions blocks `from..=to` may have changed, per block (sorted, without
/// repeats; blocks without any are absent): the `onBehalfOf`/`user` of the pool's `Supply`,
/// `Withdraw`, `Borrow`, `Repay`, `LiquidationCall` (the liquidated user and the liquidator, who
/// may receive aTokens), `ReserveUsedAsCollateralEnabled/Disabled`, `SwapBorrowRateMode`,
/// `RebalanceStableBorrowRate`, `UserEModeSet` and `MintUnbacked`, and both ends of every
/// `BalanceTransfer` of a tracked aToken. Logs marked `removed` (a reorganisation) are skipped.
pub fn touched_users(
    rpc: &Rpc,
    t: &Tracked,
    (from, to): (u64, u64),
    range: u64,
) -> Result<BTreeMap<u64, Vec<Address>>, ChainError> {
    use IPoolEvents as E;
    // (signature, topic positions holding a user, whether the liquidator in the data is one too)
    let kinds: [([u8; 32], &[usize], bool); 12] = [
        (E::Supply::SIGNATURE_HASH.0, &[2], false),
        (E::Withdraw::SIGNATURE_HASH.0, &[2], false),
        (E::Borrow::SIGNATURE_HASH.0, &[2], false),
        (E::Repay::SIGNATURE_HASH.0, &[2], false),
        (E::LiquidationCall::SIGNATURE_HASH.0, &[3], true),
        (
            E::ReserveUsedAsCollateralEnabled::SIGNATURE_HASH.0,
            &[2],
            false,
        ),
        (
            E::ReserveUsedAsCollateralDisabled::SIGNATURE_HASH.0,
            &[2],
            false,
        ),
        (E::SwapBorrowRateMode::SIGNATURE_HASH.0, &[2], false),
        (E::RebalanceStableBorrowRate::SIGNATURE_HASH.0, &[2], false),
        (E::UserEModeSet::SIGNATURE_HASH.0, &[1], false),
        (E::MintUnbacked::SIGNATURE_HASH.0, &[2], false),
        (E::BalanceTransfer::SIGNATURE_HASH.0, &[1, 2], false),
    ];
    let topics: Vec<[u8; 32]> = kinds.iter().map(|k| k.0).collect();
    let mut addresses = vec![t.pool.to_checksum(None)];
    addresses.extend(t.reserves.iter().map(|r| r.a_token.to_checksum(None)));
    let logs = rpc.logs_any(&addresses, &topics, (from, to), range)?;
    let call = || format!("eth_getLogs(pool and aTokens, blocks {from}..={to})");
    let bad = |detail: String| ChainError::Malformed {
        call: call(),
        detail,
    };
    let mut out: BTreeMap<u64, Vec<Address>> = BTreeMap::new();
    for log in logs {
        if log.get("removed").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let block = log
            .get("blockNumber")
            .and_then(Value::as_str)
            .and_then(|s| s.strip_prefix("0x"))
            .and_then(|s| u64::from_str_radix(s, 16).ok())
            .ok_or_else(|| bad(format!("a log without blockNumber: {log}")))?;
        let emitter = log
            .get("address")
            .and_then(Value::as_str)
            .and_then(|s| parse_address(s).ok())
            .ok_or_else(|| bad(format!("a log without address: {log}")))?;
        let words: Vec<Vec<u8>> = log
            .get("topics")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .filter_map(|x| x.as_str().and_then(unhex))
                    .collect()
            })
            .unwrap_or_default();
        let Some(kind) = words
            .first()
            .and_then(|t0| kinds.iter().find(|k| k.0.as_slice() == t0.as_slice()))
        else {
            continue;
        };
        // BalanceTransfer counts only from a tracked aToken; the pool's events only from the pool.
        let is_transfer = kind.0 == E::BalanceTransfer::SIGNATURE_HASH.0;
        if is_transfer == (emitter == t.pool) {
            continue;
        }
        let users = out.entry(block).or_default();
        for &i in kind.1 {
            let w = words
                .get(i)
                .filter(|w| w.len() == 32)
                .ok_or_else(|| bad(format!("a log without topic {i}: {log}")))?;
            users.push(Address::from_slice(&w[12..]));
        }
        if kind.2 {
            // data: debtToCover, liquidatedCollateralAmount, liquidator, receiveAToken.
            let data = log
                .get("data")
                .and_then(Value::as_str)
                .and_then(unhex)
                .filter(|d| d.len() >= 96)
                .ok_or_else(|| bad(format!("a LiquidationCall log with short data: {log}")))?;
            users.push(Address::from_slice(&data[76..96]));
        }
    }
    for users in out.values_mut() {
        users.retain(|u| *u != Address::ZERO);
        users.sort_unstable();
        users.dedup();
    }
    out.retain(|_, u| !u.is_empty());
    Ok(out)
}

/// The oracle's price of every tracked reserve (in [`Tracked::reserves`] order, the oracle's
/// units) at each of `blocks`, one `getAssetsPrices` call per block, batched.
pub fn read_prices(rpc: &Rpc, t: &Tracked, blocks: &[u64]) -> Result<Vec<Vec<U256>>, ChainError> {
    let assets: Vec<Address> = t.reserves.iter().map(|r| r.underlying).collect();
    let call = Call::new(
        "AaveOracle.getAssetsPrices(reserves)",
        t.oracle,
        IFollowOracle::getAssetsPricesCall {
            assets: assets.clone(),
        }
        .abi_encode(),
    );
    let at: Vec<(u64, &Call)> = blocks.iter().map(|&b| (b, &call)).collect();
    let answers = rpc.eth_calls_at(&at)?;
    answers
        .iter()
        .zip(blocks)
        .map(|(bytes, b)| {
            let what = || format!("{} at {} (block {b})", call.label, call.to);
            let prices =
                IFollowOracle::getAssetsPricesCall::abi_decode_returns(bytes).map_err(|e| {
                    ChainError::Malformed {
                        call: what(),
                        detail: format!("cannot decode the {} bytes returned: {e}", bytes.len()),
                    }
                })?;
            if prices.len() != assets.len() {
                return Err(ChainError::Malformed {
                    call: what(),
                    detail: format!("{} prices for {} reserves", prices.len(), assets.len()),
                });
            }
            Ok(prices)
        })
        .collect()
}

/// `users`' positions at `block`, as the importer reads them: per reserve, collateral (0 unless
/// enabled as collateral) and debt in token units of the contracts (`rayMul(scaled, index)` with the
/// block's indices, plus stable debt); positions in reserves not tracked are skipped. Each
/// [`crate::aave::UserPosition::reserve`] indexes [`Tracked::reserves`].
pub fn read_users_at(
    rpc: &Rpc,
    t: &Tracked,
    block: u64,
    users: &[Address],
) -> Result<Vec<UserState>, ChainError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut calls = Vec::with_capacity(2 * t.reserves.len());
    for r in &t.reserves {
        let a = r.underlying;
        calls.push(Call::new(
            format!("Pool.getReserveNormalizedIncome({a})"),
            t.pool,
            IFollowPool::getReserveNormalizedIncomeCall { asset: a }.abi_encode(),
        ));
        calls.push(Call::new(
            format!("Pool.getReserveNormalizedVariableDebt({a})"),
            t.pool,
            IFollowPool::getReserveNormalizedVariableDebtCall { asset: a }.abi_encode(),
        ));
    }
    let out = rpc.eth_calls(block, &calls)?;
    let index = |k: usize| -> Result<U256, ChainError> {
        let bytes = &out[k];
        // Both calls return one uint256.
        IFollowPool::getReserveNormalizedIncomeCall::abi_decode_returns(bytes).map_err(|e| {
            ChainError::Malformed {
                call: format!("{} at {} (block {block})", calls[k].label, calls[k].to),
                detail: format!("cannot decode the {} bytes returned: {e}", bytes.len()),
            }
        })
    };
    let mut reserves = Vec::with_capacity(t.reserves.len());
    for (k, r) in t.reserves.iter().enumerate() {
        reserves.push(ReserveState {
            underlying: r.underlying,
            symbol: r.symbol.clone(),
            config: ReserveConfig {
                decimals: r.decimals,
                ..ReserveConfig::default()
            },
            price: U256::ZERO,
            income_index: index(2 * k)?,
            debt_index: index(2 * k + 1)?,
            a_token: r.a_token,
            variable_debt_token: r.variable_debt_token,
            stable_debt_token: r.stable_debt_token,
            total_supplied: U256::ZERO,
            id: r.id,
        });
    }
    read_users(rpc, block, t.pool, &reserves, users, false, &mut |_, _| {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracked_market_round_trips_through_json() {
        let a = |b: u8| Address::from([b; 20]);
        let t = Tracked {
            provider: a(1),
            pool: a(2),
            oracle: a(3),
            base_unit: U256::from(100_000_000u64),
            block: 294,
            timestamp: 1_704_153_600,
            reserves: vec![TrackedReserve {
                asset: "WETH".into(),
                symbol: "WETH".into(),
                underlying: a(4),
                a_token: a(5),
                variable_debt_token: a(6),
                stable_debt_token: a(7),
                decimals: 18,
                id: 3,
            }],
        };
        let back = Tracked::from_json(&t.to_json(), "market.json");
        assert_eq!(back.ok(), Some(t.clone()));
        assert_eq!(t.price_usd(U256::from(400_000_000_000u64)), 4000.0);
        let e = Tracked::from_json("{\"kind\": \"aave-v3\"}", "m.json")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("m.json") && e.contains("base_unit"), "{e}");
    }
}
