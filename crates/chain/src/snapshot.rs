//! An imported Aave v3 market as a cascade snapshot (docs/import.md#what-is-written): a
//! `snapshot.toml` with the assets and the pool's reserves and e-mode categories, and a
//! `positions.parquet` with one row per account, asset and side. The same market gives the same
//! bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy_primitives::U256;
use cascade_io::write::{write_table_parquet, Column};
use cascade_model::{CurveSpec, PoolDepth};

use crate::aave::Market;
use crate::dex::{DexPool, UNISWAP_V2_FEE};
use crate::ChainError;

/// A measured venue for one of the market's assets: a Uniswap v2 pair or v3 pool
/// (docs/import.md#dex-liquidity).
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    /// Index into [`Market::reserves`] of the asset sold there.
    pub asset: usize,
    /// Index of the asset it pays in.
    pub quote_asset: usize,
    /// The curve, in tokens of the asset and of the quote asset.
    pub curve: CurveSpec,
    /// Where it was read: "Uniswap v2 pair 0x…" or "Uniswap v3 pool 0x…".
    pub pool: String,
}

/// Which of a pool's two tokens it serves, as indices into the market's reserves: its volatile
/// token, quoted in the other, when exactly one of the two is a USD stablecoin; otherwise `token0`,
/// quoted in `token1`. Both tokens must be reserves of the market.
fn served(m: &Market, pool: &DexPool) -> Result<(usize, usize, bool), ChainError> {
    let (t0, t1) = pool.tokens();
    let find = |t| m.reserves.iter().position(|r| r.underlying == t);
    let (Some(i0), Some(i1)) = (find(t0), find(t1)) else {
        return Err(ChainError::Usage(format!(
            "--dex-pool {}: trades {t0} and {t1}, which are not both reserves of the market",
            pool.address().to_checksum(None),
        )));
    };
    let stable = |i: usize| STABLES.contains(&m.reserves[i].symbol.as_str());
    Ok(if stable(i0) && !stable(i1) {
        (i1, i0, false)
    } else {
        (i0, i1, true)
    })
}

/// The curve of `pool` for selling token0 (`base_is_token0`) or token1, in tokens of both.
pub fn pool_curve(pool: &DexPool, base_is_token0: bool) -> Result<CurveSpec, ChainError> {
    Ok(match pool {
        DexPool::V2(p) => {
            let r0 = to_units(p.reserve0, u64::from(p.decimals0));
            let r1 = to_units(p.reserve1, u64::from(p.decimals1));
            let (base, quote) = if base_is_token0 { (r0, r1) } else { (r1, r0) };
            CurveSpec::ConstantProduct(PoolDepth {
                base,
                quote,
                fee: UNISWAP_V2_FEE,
            })
        }
        DexPool::V3(p) => CurveSpec::Concentrated(Arc::new(p.curve(base_is_token0)?)),
    })
}

/// "Uniswap v2 pair 0x…" or "Uniswap v3 pool 0x…".
fn pool_label(pool: &DexPool) -> String {
    let kind = match pool {
        DexPool::V2(_) => "Uniswap v2 pair",
        DexPool::V3(_) => "Uniswap v3 pool",
    };
    format!("{kind} {}", pool.address().to_checksum(None))
}

/// The `cascade import dex` file (docs/import.md#dex-liquidity): per pool, one `[[venue]]` for each
/// of its tokens sold for the other, with the `liquidity = { … }` line a snapshot's asset takes.
pub fn dex_curves_toml(
    pools: &[DexPool],
    symbols: &[(String, String)],
    block: u64,
) -> Result<String, ChainError> {
    let mut o = format!(
        "# DEX liquidity read by `cascade import dex` at block {block} (docs/import.md#dex-liquidity).\n\
         # Put a venue's `liquidity` line in the [[asset]] table of the token it sells; its quote_asset\n\
         # must be the id the other token has in your snapshot (here its symbol).\n"
    );
    for (p, (s0, s1)) in pools.iter().zip(symbols) {
        let (t0, t1) = p.tokens();
        for (base_is_token0, sells, sells_at, gets, gets_at) in
            [(true, s0, t0, s1, t1), (false, s1, t1, s0, t0)]
        {
            let _ = write!(
                o,
                "\n[[venue]]\npool = \"{}\"\nsells = \"{sells}\"\nsells_address = \"{}\"\nfor = \"{gets}\"\nfor_address = \"{}\"\n{}\n",
                pool_label(p),
                sells_at.to_checksum(None),
                gets_at.to_checksum(None),
                liquidity_line(&pool_curve(p, base_is_token0)?, gets)
            );
        }
    }
    Ok(o)
}

/// The venues of `pools` for the market's assets ([`served`] decides which token a pool serves); an
/// asset keeps its first pool. A v2 pair is a constant product on its reserves with the 0.3% fee; a
/// v3 pool is its concentrated liquidity ([`crate::dex::V3Pool::curve`]).
pub fn venues(m: &Market, pools: &[DexPool]) -> Result<Vec<Venue>, ChainError> {
    let mut venues: Vec<Venue> = Vec::new();
    for p in pools {
        let (asset, quote_asset, base_is_token0) = served(m, p)?;
        if venues.iter().any(|v| v.asset == asset) {
            continue;
        }
        venues.push(Venue {
            asset,
            quote_asset,
            curve: pool_curve(p, base_is_token0)?,
            pool: pool_label(p),
        });
    }
    Ok(venues)
}

/// A measured curve's `liquidity = { … }` line, paid in `quote_asset`.
fn liquidity_line(curve: &CurveSpec, quote_asset: &str) -> String {
    match curve {
        CurveSpec::ConstantProduct(d) => format!(
            "liquidity = {{ curve = \"constant_product\", base = {:?}, quote = {:?}, fee = {:?}, quote_asset = \"{quote_asset}\" }}",
            d.base, d.quote, d.fee
        ),
        CurveSpec::Concentrated(c) => {
            let ranges: Vec<String> = c
                .ranges
                .iter()
                .map(|r| format!("[{:?}, {:?}, {:?}]", r.lower, r.upper, r.liquidity))
                .collect();
            format!(
                "liquidity = {{ curve = \"concentrated\", price = {:?}, fee = {:?}, ranges = [{}], quote_asset = \"{quote_asset}\" }}",
                c.price,
                c.fee,
                ranges.join(", ")
            )
        }
        // Importers write only the two kinds above.
        other => format!("# unsupported venue curve {other:?}"),
    }
}

/// The protocol id of the imported pool.
pub const PROTOCOL_ID: &str = "aave-v3";

/// Symbols read as USD stablecoins (kind `stable`); `WETH`/`ETH` are `native`; every other asset is
/// written as `governance` (an exogenous, volatile token priced by the oracle). docs/import.md#assets.
const STABLES: [&str; 14] = [
    "USDC", "USDT", "DAI", "LUSD", "FRAX", "GHO", "PYUSD", "USDe", "crvUSD", "USDS", "RLUSD",
    "USDbC", "USDC.e", "sUSD",
];

/// `x / 10^decimals` as a number: exact integers up to 2^53, correctly rounded beyond.
pub fn to_units(x: U256, decimals: u64) -> f64 {
    let s = x.to_string();
    let d = decimals as usize;
    let text = if d == 0 {
        s
    } else if s.len() > d {
        format!("{}.{}", &s[..s.len() - d], &s[s.len() - d..])
    } else {
        format!("0.{}{}", "0".repeat(d - s.len()), s)
    };
    text.parse::<f64>().unwrap_or(f64::INFINITY)
}

/// Basis points as a share: `bps / 10000`, written exactly as a decimal.
fn share(bps: u64) -> f64 {
    to_units(U256::from(bps), 4)
}

/// Asset ids: the symbols, made unique (`X`, `X-2`, …) and safe in TOML strings.
fn asset_ids(m: &Market) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for r in &m.reserves {
        let base: String = r
            .symbol
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let base = if base.is_empty() {
            format!("asset-{}", r.id)
        } else {
            base
        };
        let mut id = base.clone();
        let mut n = 1;
        while ids.contains(&id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        ids.push(id);
    }
    ids
}

/// The snapshot's TOML text; `positions` names the positions file beside it; `venues` are measured
/// curves (the other assets' curves are assumed).
pub fn snapshot_toml(m: &Market, positions: &str, venues: &[Venue]) -> String {
    let ids = asset_ids(m);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# An Aave v3 market read by `cascade import aave-v3` (docs/import.md).\n\
         # PoolAddressesProvider {}, Pool {}, AaveOracle {}\n\
         # block {} (timestamp {}); prices from the oracle in USD; amounts at the block's indices.\n\
         # Liquidity curves marked `assumed = true` are not measured: replace them (docs/import.md#liquidity).",
        m.provider.to_checksum(None),
        m.pool.to_checksum(None),
        m.oracle.to_checksum(None),
        m.block.number,
        m.block.timestamp
    );
    let _ = writeln!(o, "name = \"{PROTOCOL_ID}@{}\"", m.block.number);
    let _ = writeln!(o, "positions = [\"{positions}\"]\n");
    for (k, (r, id)) in m.reserves.iter().zip(&ids).enumerate() {
        let kind = if STABLES.contains(&r.symbol.as_str()) {
            "stable"
        } else if r.symbol == "WETH" || r.symbol == "ETH" {
            "native"
        } else {
            "governance"
        };
        let price = to_units(r.price, 0) / to_units(m.base_unit, 0);
        let supplied = to_units(r.total_supplied, r.config.decimals);
        let liquidity = match venues.iter().find(|v| v.asset == k) {
            Some(v) => format!(
                "# {} at block {}\n{}",
                v.pool,
                m.block.number,
                liquidity_line(&v.curve, &ids[v.quote_asset])
            ),
            // The assumption: a day's volume equal to the reserve's supplied value (at least $1M),
            // and a square-root impact of 10% when that much is sold.
            None => format!(
                "liquidity = {{ curve = \"power_law\", adv_usd = {:?}, k = 0.1, alpha = 0.5, assumed = true }}",
                (supplied * price).max(1e6)
            ),
        };
        let _ = writeln!(
            o,
            "[[asset]]\nid = \"{id}\"\nkind = \"{kind}\"\nprice = {price:?}\n{liquidity}\n"
        );
    }
    let _ = writeln!(
        o,
        "[[protocol]]\nid = \"{PROTOCOL_ID}\"\nkind = \"lending\"\nhealth_factor = \"aave-v3\"\n"
    );
    for (r, id) in m.reserves.iter().zip(&ids) {
        let c = &r.config;
        let collateral = c.liquidation_threshold_bps > 0;
        let _ = writeln!(o, "[[protocol.reserve]]\nasset = \"{id}\"");
        let _ = writeln!(o, "ltv = {:?}", share(c.ltv_bps));
        let _ = writeln!(
            o,
            "liquidation_threshold = {:?}",
            share(c.liquidation_threshold_bps)
        );
        let bonus = share(c.liquidation_bonus_bps.saturating_sub(10_000));
        let _ = writeln!(o, "liquidation_bonus = {bonus:?}");
        if c.liquidation_protocol_fee_bps > 0 {
            let _ = writeln!(
                o,
                "liquidation_protocol_fee = {:?}",
                share(c.liquidation_protocol_fee_bps)
            );
        }
        if c.reserve_factor_bps > 0 {
            let _ = writeln!(o, "reserve_factor = {:?}", share(c.reserve_factor_bps));
        }
        if !collateral {
            let _ = writeln!(o, "collateral_enabled = false");
        }
        if !c.borrowing_enabled {
            let _ = writeln!(o, "borrowable = false");
        }
        if c.debt_ceiling > 0 {
            let _ = writeln!(
                o,
                "debt_ceiling = {:?}",
                to_units(U256::from(c.debt_ceiling), 2)
            );
        }
        if c.supply_cap > 0 {
            let _ = writeln!(o, "supply_cap = {:?}", c.supply_cap as f64);
        }
        if c.borrow_cap > 0 {
            let _ = writeln!(o, "borrow_cap = {:?}", c.borrow_cap as f64);
        }
        let _ = writeln!(
            o,
            "supplied = {:?}\n",
            to_units(r.total_supplied, c.decimals)
        );
    }
    for e in &m.emodes {
        let members: Vec<String> = m
            .reserves
            .iter()
            .zip(&ids)
            .filter(|(r, _)| r.config.emode_category == u64::from(e.id))
            .map(|(_, id)| format!("\"{id}\""))
            .collect();
        let _ = writeln!(
            o,
            "[[protocol.emode]]\nid = \"{}\"\nltv = {:?}\nliquidation_threshold = {:?}\nliquidation_bonus = {:?}\nassets = [{}]\n",
            e.id,
            share(u64::from(e.ltv_bps)),
            share(u64::from(e.liquidation_threshold_bps)),
            share(u64::from(e.liquidation_bonus_bps).saturating_sub(10_000)),
            members.join(", ")
        );
    }
    o
}

/// The positions table: `protocol, account, asset, side, amount, emode` (amounts in tokens; the
/// e-mode category's id, or empty).
pub fn positions_columns(m: &Market) -> Vec<(String, Column)> {
    let ids = asset_ids(m);
    let (mut protocol, mut account, mut asset, mut side, mut amount, mut emode) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for u in &m.users {
        let addr = u.address.to_checksum(None);
        for p in &u.positions {
            let r = &m.reserves[p.reserve];
            for (s, x) in [("collateral", p.collateral), ("debt", p.debt)] {
                if x.is_zero() {
                    continue;
                }
                protocol.push(PROTOCOL_ID.to_string());
                account.push(addr.clone());
                asset.push(ids[p.reserve].clone());
                side.push(s.to_string());
                amount.push(to_units(x, r.config.decimals));
                emode.push(if u.emode == 0 {
                    String::new()
                } else {
                    u.emode.to_string()
                });
            }
        }
    }
    vec![
        ("protocol".into(), Column::Utf8(protocol)),
        ("account".into(), Column::Utf8(account)),
        ("asset".into(), Column::Utf8(asset)),
        ("side".into(), Column::Utf8(side)),
        ("amount".into(), Column::Float64(amount)),
        ("emode".into(), Column::Utf8(emode)),
    ]
}

/// Checks that `dir` is new or empty (before any request, and again before writing).
pub fn check_out_dir(dir: &Path) -> Result<(), ChainError> {
    let bad = |what: String| ChainError::Usage(format!("--out-dir {}: {what}", dir.display()));
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| bad(format!("cannot read the folder: {e}")))?
            .next()
            .is_none();
        if !empty {
            return Err(bad(
                "exists and is not empty; expected a new or empty folder".into(),
            ));
        }
    }
    Ok(())
}

/// Writes `snapshot.toml` and `positions.parquet` into `dir`, which must not exist or be empty:
/// everything is written into a sibling folder first and renamed into place, so a failure leaves
/// nothing half-written.
pub fn write_market(m: &Market, venues: &[Venue], dir: &Path) -> Result<(), ChainError> {
    check_out_dir(dir)?;
    let bad = |what: String| ChainError::Usage(format!("--out-dir {}: {what}", dir.display()));
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| bad("expected a folder name".into()))?;
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let io = |what: &str, e: &dyn std::fmt::Display| ChainError::Usage(format!("{what}: {e}"));
    std::fs::create_dir_all(&tmp).map_err(|e| io(&format!("creating {}", tmp.display()), &e))?;
    let result = (|| {
        write_table_parquet(&tmp.join("positions.parquet"), &positions_columns(m))
            .map_err(|e| io("writing positions.parquet", &e))?;
        cascade_io::write::write_atomic(
            &tmp.join("snapshot.toml"),
            snapshot_toml(m, "positions.parquet", venues).as_bytes(),
        )
        .map_err(|e| io("writing snapshot.toml", &e))?;
        if dir.exists() {
            std::fs::remove_dir(dir)
                .map_err(|e| io(&format!("replacing {}", dir.display()), &e))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| io(&format!("renaming into {}", dir.display()), &e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_units_from_integers() {
        assert_eq!(to_units(U256::from(1_500_000u64), 6), 1.5);
        assert_eq!(to_units(U256::from(5u64), 6), 0.000005);
        assert_eq!(to_units(U256::from(123u64), 0), 123.0);
        assert_eq!(share(8250), 0.825);
        assert_eq!(share(500), 0.05);
        // 10^30 wei of an 18-decimal token: 10^12 tokens.
        let big = U256::from(10u64).pow(U256::from(30u64));
        assert_eq!(to_units(big, 18), 1e12);
    }
}
