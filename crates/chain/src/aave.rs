//! An Aave v3 market read at one block (docs/import.md#aave-v3): the core contracts only
//! (`PoolAddressesProvider`, `Pool`, `AaveOracle`, the tokens), so forks that keep these interfaces
//! (Spark and others) read the same way.
//!
//! Token amounts are exact integers: a user's aToken balance is `rayMul(scaledBalance, I)` with `I` =
//! `Pool.getReserveNormalizedIncome` at the block, its variable debt `rayMul(scaledDebt, D)` with `D`
//! = `getReserveNormalizedVariableDebt`, plus its stable debt (`balanceOf`): the figures
//! `Pool.getUserAccountData` uses at that block's timestamp. `rayMul(a, b) = (a·b + RAY/2) / RAY`.

use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall, SolEvent};

use crate::rpc::{Block, Call, Rpc};
use crate::ChainError;

sol! {
    interface IPoolAddressesProvider {
        function getPool() external view returns (address);
        function getPriceOracle() external view returns (address);
    }

    struct ReserveConfigurationMap { uint256 data; }

    struct ReserveData {
        ReserveConfigurationMap configuration;
        uint128 liquidityIndex;
        uint128 currentLiquidityRate;
        uint128 variableBorrowIndex;
        uint128 currentVariableBorrowRate;
        uint128 currentStableBorrowRate;
        uint40 lastUpdateTimestamp;
        uint16 id;
        address aTokenAddress;
        address stableDebtTokenAddress;
        address variableDebtTokenAddress;
        address interestRateStrategyAddress;
        uint128 accruedToTreasury;
        uint128 unbacked;
        uint128 isolationModeTotalDebt;
    }

    struct EModeCategory {
        uint16 ltv;
        uint16 liquidationThreshold;
        uint16 liquidationBonus;
        address priceSource;
        string label;
    }

    interface IPool {
        function getReservesList() external view returns (address[]);
        function getReserveData(address asset) external view returns (ReserveData);
        function getReserveNormalizedIncome(address asset) external view returns (uint256);
        function getReserveNormalizedVariableDebt(address asset) external view returns (uint256);
        function getUserConfiguration(address user) external view returns (ReserveConfigurationMap);
        function getUserEMode(address user) external view returns (uint256);
        function getEModeCategoryData(uint8 id) external view returns (EModeCategory);
        event Supply(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint16 indexed referralCode);
        event Borrow(address indexed reserve, address user, address indexed onBehalfOf, uint256 amount, uint8 interestRateMode, uint256 borrowRate, uint16 indexed referralCode);
    }

    interface IAaveOracle {
        function getAssetsPrices(address[] assets) external view returns (uint256[]);
        function BASE_CURRENCY() external view returns (address);
        function BASE_CURRENCY_UNIT() external view returns (uint256);
    }

    interface IToken {
        function symbol() external view returns (string);
        function totalSupply() external view returns (uint256);
        function balanceOf(address user) external view returns (uint256);
        function scaledBalanceOf(address user) external view returns (uint256);
    }
}

/// `10^27`.
pub fn ray() -> U256 {
    U256::from(10u64).pow(U256::from(27u64))
}

/// Aave's `rayMul`: `(a·b + RAY/2) / RAY`, rounding half up; `None` if `a·b` overflows 256 bits (the
/// contracts revert there too).
pub fn ray_mul(a: U256, b: U256) -> Option<U256> {
    let r = ray();
    Some(a.checked_mul(b)?.checked_add(r / U256::from(2u64))? / r)
}

/// The bits `from..from+len` of a configuration word.
fn bits(word: U256, from: usize, len: usize) -> u64 {
    let mask = (U256::from(1u64) << len) - U256::from(1u64);
    let v: U256 = (word >> from) & mask;
    v.to::<u64>()
}

/// A reserve's risk parameters, decoded from its configuration bitmap (Aave v3's
/// `ReserveConfiguration`: LTV bits 0–15, LT 16–31, bonus 32–47, decimals 48–55, active 56, frozen 57,
/// borrowing 58, paused 60, borrowable in isolation 61, reserve factor 64–79, borrow cap 80–115, supply
/// cap 116–151, liquidation protocol fee 152–167, e-mode category 168–175, debt ceiling 212–251).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReserveConfig {
    /// Basis points.
    pub ltv_bps: u64,
    pub liquidation_threshold_bps: u64,
    /// `10000 + bonus` in basis points (10500 = 5%).
    pub liquidation_bonus_bps: u64,
    pub decimals: u64,
    pub active: bool,
    pub frozen: bool,
    pub borrowing_enabled: bool,
    pub paused: bool,
    pub borrowable_in_isolation: bool,
    pub reserve_factor_bps: u64,
    /// Whole tokens; 0 = no cap.
    pub borrow_cap: u64,
    pub supply_cap: u64,
    /// Basis points of the bonus.
    pub liquidation_protocol_fee_bps: u64,
    pub emode_category: u64,
    /// USD with 2 decimals; 0 = not isolated.
    pub debt_ceiling: u64,
}

impl ReserveConfig {
    pub fn decode(word: U256) -> ReserveConfig {
        ReserveConfig {
            ltv_bps: bits(word, 0, 16),
            liquidation_threshold_bps: bits(word, 16, 16),
            liquidation_bonus_bps: bits(word, 32, 16),
            decimals: bits(word, 48, 8),
            active: bits(word, 56, 1) == 1,
            frozen: bits(word, 57, 1) == 1,
            borrowing_enabled: bits(word, 58, 1) == 1,
            paused: bits(word, 60, 1) == 1,
            borrowable_in_isolation: bits(word, 61, 1) == 1,
            reserve_factor_bps: bits(word, 64, 16),
            borrow_cap: bits(word, 80, 36),
            supply_cap: bits(word, 116, 36),
            liquidation_protocol_fee_bps: bits(word, 152, 16),
            emode_category: bits(word, 168, 8),
            debt_ceiling: bits(word, 212, 40),
        }
    }
}

/// One reserve of the market at the block.
#[derive(Debug, Clone, PartialEq)]
pub struct ReserveState {
    pub underlying: Address,
    pub symbol: String,
    pub config: ReserveConfig,
    /// Oracle price in the base currency's units (see [`Market::base_unit`]).
    pub price: U256,
    /// Normalized income and variable-debt indices at the block (rays).
    pub income_index: U256,
    pub debt_index: U256,
    pub a_token: Address,
    pub variable_debt_token: Address,
    pub stable_debt_token: Address,
    /// aTokens outstanding at the block (all suppliers), token units.
    pub total_supplied: U256,
    /// The reserve's id (its bits in a user's configuration).
    pub id: u16,
}

/// An e-mode category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EModeState {
    pub id: u8,
    pub label: String,
    pub ltv_bps: u16,
    pub liquidation_threshold_bps: u16,
    /// `10000 + bonus` in basis points.
    pub liquidation_bonus_bps: u16,
}

/// One user's position in one reserve, in token units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPosition {
    /// Index into [`Market::reserves`].
    pub reserve: usize,
    /// Supplied and enabled as collateral (0 if not collateral).
    pub collateral: U256,
    /// Variable plus stable debt.
    pub debt: U256,
}

/// One user at the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    pub address: Address,
    /// 0 = no e-mode.
    pub emode: u8,
    pub positions: Vec<UserPosition>,
}

/// An Aave v3 market at one block.
#[derive(Debug, Clone, PartialEq)]
pub struct Market {
    pub block: Block,
    pub provider: Address,
    pub pool: Address,
    pub oracle: Address,
    /// The oracle's `BASE_CURRENCY_UNIT` (1e8 for USD markets).
    pub base_unit: U256,
    pub reserves: Vec<ReserveState>,
    pub emodes: Vec<EModeState>,
    pub users: Vec<UserState>,
}

/// Decodes the answer of `C` from `bytes`, or says which call and address gave what.
fn decode<C: SolCall>(bytes: &[u8], c: &Call, expected: &str) -> Result<C::Return, ChainError> {
    C::abi_decode_returns(bytes).map_err(|e| {
        if bytes.is_empty() {
            ChainError::NotTheContract {
                address: c.to.clone(),
                expected: expected.to_string(),
                detail: format!(
                    "{} returned no data (no such function or no code there)",
                    c.label
                ),
            }
        } else {
            ChainError::Malformed {
                call: format!("{} at {}", c.label, c.to),
                detail: format!("cannot decode the {} bytes returned: {e}", bytes.len()),
            }
        }
    })
}

/// Parses a `0x…` address.
pub fn parse_address(s: &str) -> Result<Address, ChainError> {
    s.trim()
        .parse::<Address>()
        .map_err(|e| ChainError::Usage(format!("\"{}\" is not an address: {e}", s.trim())))
}

/// Reads the market of `provider` at `block` with `users`' positions; `progress` is told
/// (done, total) as users are read.
pub fn read_market(
    rpc: &Rpc,
    provider: Address,
    block: Block,
    users: &[Address],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Market, ChainError> {
    let n = block.number;
    const PROVIDER: &str = "an Aave v3 PoolAddressesProvider";
    let calls = [
        Call::new(
            "PoolAddressesProvider.getPool()",
            provider,
            IPoolAddressesProvider::getPoolCall {}.abi_encode(),
        ),
        Call::new(
            "PoolAddressesProvider.getPriceOracle()",
            provider,
            IPoolAddressesProvider::getPriceOracleCall {}.abi_encode(),
        ),
    ];
    let out = rpc.eth_calls(n, &calls)?;
    let pool = decode::<IPoolAddressesProvider::getPoolCall>(&out[0], &calls[0], PROVIDER)?;
    let oracle =
        decode::<IPoolAddressesProvider::getPriceOracleCall>(&out[1], &calls[1], PROVIDER)?;

    const POOL: &str = "an Aave v3 Pool";
    const ORACLE: &str = "an Aave v3 AaveOracle";
    let calls = [
        Call::new(
            "Pool.getReservesList()",
            pool,
            IPool::getReservesListCall {}.abi_encode(),
        ),
        Call::new(
            "AaveOracle.BASE_CURRENCY()",
            oracle,
            IAaveOracle::BASE_CURRENCYCall {}.abi_encode(),
        ),
        Call::new(
            "AaveOracle.BASE_CURRENCY_UNIT()",
            oracle,
            IAaveOracle::BASE_CURRENCY_UNITCall {}.abi_encode(),
        ),
    ];
    let out = rpc.eth_calls(n, &calls)?;
    let assets = decode::<IPool::getReservesListCall>(&out[0], &calls[0], POOL)?;
    let base = decode::<IAaveOracle::BASE_CURRENCYCall>(&out[1], &calls[1], ORACLE)?;
    let base_unit = decode::<IAaveOracle::BASE_CURRENCY_UNITCall>(&out[2], &calls[2], ORACLE)?;
    if base != Address::ZERO {
        return Err(ChainError::NotTheContract {
            address: oracle.to_checksum(None),
            expected: "an oracle quoting in USD".into(),
            detail: format!(
                "its base currency is the token {base}; only USD-quoted markets are read"
            ),
        });
    }
    if base_unit.is_zero() {
        return Err(ChainError::NotTheContract {
            address: oracle.to_checksum(None),
            expected: ORACLE.into(),
            detail: "BASE_CURRENCY_UNIT() is 0".into(),
        });
    }

    // Per reserve: its data, both indices at the block, its symbol; then the prices.
    let mut calls = Vec::new();
    for &a in &assets {
        calls.push(Call::new(
            format!("Pool.getReserveData({a})"),
            pool,
            IPool::getReserveDataCall { asset: a }.abi_encode(),
        ));
        calls.push(Call::new(
            format!("Pool.getReserveNormalizedIncome({a})"),
            pool,
            IPool::getReserveNormalizedIncomeCall { asset: a }.abi_encode(),
        ));
        calls.push(Call::new(
            format!("Pool.getReserveNormalizedVariableDebt({a})"),
            pool,
            IPool::getReserveNormalizedVariableDebtCall { asset: a }.abi_encode(),
        ));
        calls.push(Call::new("symbol()", a, IToken::symbolCall {}.abi_encode()));
    }
    calls.push(Call::new(
        "AaveOracle.getAssetsPrices(reserves)",
        oracle,
        IAaveOracle::getAssetsPricesCall {
            assets: assets.clone(),
        }
        .abi_encode(),
    ));
    let out = rpc.eth_calls(n, &calls)?;
    let last = calls.len() - 1;
    let prices = decode::<IAaveOracle::getAssetsPricesCall>(&out[last], &calls[last], ORACLE)?;
    if prices.len() != assets.len() {
        return Err(ChainError::Malformed {
            call: calls[last].label.clone(),
            detail: format!("{} prices for {} reserves", prices.len(), assets.len()),
        });
    }
    let mut reserves = Vec::with_capacity(assets.len());
    for (k, &a) in assets.iter().enumerate() {
        let at = |i: usize| (&out[4 * k + i], &calls[4 * k + i]);
        let (b, c) = at(0);
        let d = decode::<IPool::getReserveDataCall>(b, c, POOL)?;
        let (b, c) = at(1);
        let income_index = decode::<IPool::getReserveNormalizedIncomeCall>(b, c, POOL)?;
        let (b, c) = at(2);
        let debt_index = decode::<IPool::getReserveNormalizedVariableDebtCall>(b, c, POOL)?;
        let (b, c) = at(3);
        let symbol = decode::<IToken::symbolCall>(b, c, "an ERC-20 token")?;
        reserves.push(ReserveState {
            underlying: a,
            symbol,
            config: ReserveConfig::decode(d.configuration.data),
            price: prices[k],
            income_index,
            debt_index,
            a_token: d.aTokenAddress,
            variable_debt_token: d.variableDebtTokenAddress,
            stable_debt_token: d.stableDebtTokenAddress,
            total_supplied: U256::ZERO,
            id: d.id,
        });
    }
    // Supplied in all: each aToken's total supply at the block.
    let calls: Vec<Call> = reserves
        .iter()
        .map(|r| {
            Call::new(
                format!("{} aToken.totalSupply()", r.symbol),
                r.a_token,
                IToken::totalSupplyCall {}.abi_encode(),
            )
        })
        .collect();
    let out = rpc.eth_calls(n, &calls)?;
    for ((r, b), c) in reserves.iter_mut().zip(&out).zip(&calls) {
        r.total_supplied = decode::<IToken::totalSupplyCall>(b, c, "an Aave v3 aToken")?;
    }

    // E-mode categories named by the reserves.
    let mut ids: Vec<u8> = reserves
        .iter()
        .filter_map(|r| u8::try_from(r.config.emode_category).ok())
        .filter(|&id| id != 0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let calls: Vec<Call> = ids
        .iter()
        .map(|&id| {
            Call::new(
                format!("Pool.getEModeCategoryData({id})"),
                pool,
                IPool::getEModeCategoryDataCall { id }.abi_encode(),
            )
        })
        .collect();
    let out = rpc.eth_calls(n, &calls)?;
    let mut emodes = Vec::new();
    for ((&id, b), c) in ids.iter().zip(&out).zip(&calls) {
        let e = decode::<IPool::getEModeCategoryDataCall>(b, c, POOL)?;
        emodes.push(EModeState {
            id,
            label: e.label,
            ltv_bps: e.ltv,
            liquidation_threshold_bps: e.liquidationThreshold,
            liquidation_bonus_bps: e.liquidationBonus,
        });
    }

    let users = read_users(rpc, n, pool, &reserves, users, true, progress)?;
    Ok(Market {
        block,
        provider,
        pool,
        oracle,
        base_unit,
        reserves,
        emodes,
        users,
    })
}

/// Users per round (two requests a round: configurations, then balances; each a JSON-RPC batch of
/// multicalls, [`Rpc::eth_call_words`]).
const USERS_PER_ROUND: usize = 2100;

/// Reads `users` at block `n`: their configuration words, e-mode categories and, for the reserves
/// the configuration names, the balances times the indices of `reserves` (which must be those of
/// block `n`). A reserve id the list does not have is an error when `strict`, else skipped (a
/// follower whose reserve list predates a newly listed reserve).
pub(crate) fn read_users(
    rpc: &Rpc,
    n: u64,
    pool: Address,
    reserves: &[ReserveState],
    users: &[Address],
    strict: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<UserState>, ChainError> {
    const POOL: &str = "an Aave v3 Pool";
    let by_id = |id: u64| reserves.iter().position(|r| u64::from(r.id) == id);
    let mut out = Vec::with_capacity(users.len());
    for chunk in users.chunks(USERS_PER_ROUND) {
        let mut calls = Vec::with_capacity(2 * chunk.len());
        for &u in chunk {
            calls.push(Call::new(
                format!("Pool.getUserConfiguration({u})"),
                pool,
                IPool::getUserConfigurationCall { user: u }.abi_encode(),
            ));
            calls.push(Call::new(
                format!("Pool.getUserEMode({u})"),
                pool,
                IPool::getUserEModeCall { user: u }.abi_encode(),
            ));
        }
        let answers = rpc.eth_call_words(n, &calls)?;
        // (user, reserve, kind): 0 aToken scaled, 1 variable debt scaled, 2 stable debt balance.
        let mut wanted: Vec<(usize, usize, u8)> = Vec::new();
        let mut states = Vec::with_capacity(chunk.len());
        for (k, &u) in chunk.iter().enumerate() {
            let word =
                decode::<IPool::getUserConfigurationCall>(&answers[2 * k], &calls[2 * k], POOL)?
                    .data;
            let emode =
                decode::<IPool::getUserEModeCall>(&answers[2 * k + 1], &calls[2 * k + 1], POOL)?;
            let emode = u8::try_from(emode).map_err(|_| ChainError::Malformed {
                call: calls[2 * k + 1].label.clone(),
                detail: format!("e-mode category {emode} is not a u8"),
            })?;
            for id in 0..128u64 {
                let borrowing = bits(word, 2 * id as usize, 1) == 1;
                let collateral = bits(word, 2 * id as usize + 1, 1) == 1;
                if !(borrowing || collateral) {
                    continue;
                }
                let Some(r) = by_id(id) else {
                    if !strict {
                        continue;
                    }
                    return Err(ChainError::Malformed {
                        call: calls[2 * k].label.clone(),
                        detail: format!("the user's configuration names reserve id {id}, which the pool does not list"),
                    });
                };
                if collateral {
                    wanted.push((k, r, 0));
                }
                if borrowing {
                    wanted.push((k, r, 1));
                    wanted.push((k, r, 2));
                }
            }
            states.push(UserState {
                address: u,
                emode,
                positions: Vec::new(),
            });
        }
        let balance_calls: Vec<Call> = wanted
            .iter()
            .map(|&(k, r, kind)| {
                let u = chunk[k];
                let res = &reserves[r];
                match kind {
                    0 => Call::new(
                        format!("{} aToken.scaledBalanceOf({u})", res.symbol),
                        res.a_token,
                        IToken::scaledBalanceOfCall { user: u }.abi_encode(),
                    ),
                    1 => Call::new(
                        format!("{} variableDebtToken.scaledBalanceOf({u})", res.symbol),
                        res.variable_debt_token,
                        IToken::scaledBalanceOfCall { user: u }.abi_encode(),
                    ),
                    _ => Call::new(
                        format!("{} stableDebtToken.balanceOf({u})", res.symbol),
                        res.stable_debt_token,
                        IToken::balanceOfCall { user: u }.abi_encode(),
                    ),
                }
            })
            .collect();
        let balances = rpc.eth_call_words(n, &balance_calls)?;
        for ((&(k, r, kind), b), c) in wanted.iter().zip(&balances).zip(&balance_calls) {
            let v = match kind {
                0 | 1 => decode::<IToken::scaledBalanceOfCall>(b, c, "an Aave v3 token")?,
                _ => decode::<IToken::balanceOfCall>(b, c, "an Aave v3 stable debt token")?,
            };
            let res = &reserves[r];
            let positions = &mut states[k].positions;
            let p = match positions.iter().position(|p| p.reserve == r) {
                Some(i) => &mut positions[i],
                None => {
                    positions.push(UserPosition {
                        reserve: r,
                        collateral: U256::ZERO,
                        debt: U256::ZERO,
                    });
                    let last = positions.len() - 1;
                    &mut positions[last]
                }
            };
            let overflow = || ChainError::Malformed {
                call: format!("{} at {}", c.label, c.to),
                detail: format!("a balance of {v} overflows 256 bits at the reserve's index"),
            };
            match kind {
                0 => p.collateral = ray_mul(v, res.income_index).ok_or_else(overflow)?,
                1 => {
                    let x = ray_mul(v, res.debt_index).ok_or_else(overflow)?;
                    p.debt = p.debt.checked_add(x).ok_or_else(overflow)?;
                }
                _ => p.debt = p.debt.checked_add(v).ok_or_else(overflow)?,
            }
        }
        for s in &mut states {
            s.positions
                .retain(|p| !(p.collateral.is_zero() && p.debt.is_zero()));
        }
        out.extend(states);
        progress(out.len(), users.len());
    }
    Ok(out)
}

/// Users found in the pool's `Supply` and `Borrow` events of blocks `from..=to` (their
/// `onBehalfOf`), sorted and without repeats.
pub fn discover_users(
    rpc: &Rpc,
    provider: Address,
    (from, to): (u64, u64),
    range: u64,
) -> Result<Vec<Address>, ChainError> {
    let calls = [Call::new(
        "PoolAddressesProvider.getPool()",
        provider,
        IPoolAddressesProvider::getPoolCall {}.abi_encode(),
    )];
    let out = rpc.eth_calls(to, &calls)?;
    let pool = decode::<IPoolAddressesProvider::getPoolCall>(
        &out[0],
        &calls[0],
        "an Aave v3 PoolAddressesProvider",
    )?;
    let pool_s = pool.to_checksum(None);
    let mut users = Vec::new();
    for topic in [IPool::Supply::SIGNATURE_HASH, IPool::Borrow::SIGNATURE_HASH] {
        for log in rpc.logs(&pool_s, &topic.0, (from, to), range)? {
            // topics: [signature, reserve, onBehalfOf, referralCode]
            let t = log
                .get("topics")
                .and_then(|t| t.get(2))
                .and_then(|t| t.as_str())
                .and_then(crate::rpc::unhex)
                .filter(|b| b.len() == 32)
                .ok_or_else(|| ChainError::Malformed {
                    call: format!("eth_getLogs({pool_s})"),
                    detail: format!("a Supply/Borrow log without onBehalfOf: {log}"),
                })?;
            users.push(Address::from_slice(&t[12..]));
        }
    }
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_bits_decode_as_the_contracts_write_them() {
        // LTV 80%, LT 82.5%, bonus 5%, 18 decimals, active, borrowing, reserve factor 15%, fee 10%,
        // e-mode 1, debt ceiling $1,000.00.
        let word = U256::from(8000u64)
            | U256::from(8250u64) << 16
            | U256::from(10500u64) << 32
            | U256::from(18u64) << 48
            | U256::from(1u64) << 56
            | U256::from(1u64) << 58
            | U256::from(1500u64) << 64
            | U256::from(1000u64) << 152
            | U256::from(1u64) << 168
            | U256::from(100000u64) << 212;
        let c = ReserveConfig::decode(word);
        assert_eq!(
            (
                c.ltv_bps,
                c.liquidation_threshold_bps,
                c.liquidation_bonus_bps,
                c.decimals
            ),
            (8000, 8250, 10500, 18)
        );
        assert!(c.active && c.borrowing_enabled && !c.frozen && !c.paused);
        assert_eq!(
            (
                c.reserve_factor_bps,
                c.liquidation_protocol_fee_bps,
                c.emode_category,
                c.debt_ceiling
            ),
            (1500, 1000, 1, 100000)
        );
    }

    #[test]
    fn ray_mul_rounds_half_up() {
        let r = ray();
        assert_eq!(
            ray_mul(U256::from(3u64), r / U256::from(2u64)).unwrap_or_default(),
            U256::from(2u64)
        ); // 1.5 → 2
        assert_eq!(ray_mul(U256::from(5u64), r), Some(U256::from(5u64)));
        assert_eq!(ray_mul(U256::MAX, r), None);
        // 1.1 ray × 10 = 11.
        assert_eq!(
            ray_mul(U256::from(10u64), r + r / U256::from(10u64)).unwrap_or_default(),
            U256::from(11u64)
        );
    }
}
