//! The seeded synthetic-system generator behind `cascade gen --accounts N --seed S` (docs/commands.md#gen,
//! §15): a realistic book of lending accounts of any size over a base snapshot's assets and pools.
//!
//! What a generated account looks like, in the order it is drawn:
//! 1. its lending pool, with probability proportional to the pool's collateral value in the base
//!    snapshot (equal weights if the base has no accounts);
//! 2. its size in USD, log-normal with median [`MEDIAN_SIZE_USD`] and log-sd [`SIZE_LOG_SD`] (a
//!    heavy tail: one account in a thousand is above ~$2.8M);
//! 3. either an e-mode loop ([`LOOP_SHARE`] of the accounts of pools with an e-mode category that
//!    holds an lst and a borrowable asset: supply the lst, borrow its underlying), or 1–3
//!    collateral assets from the pool's collateral-enabled reserves, chosen with weights that
//!    follow the base pool's collateral mix (so receipt tokens such as `aUSDC` are reused as
//!    collateral where a pool accepts them), the size split between them at random;
//! 4. a target health factor `HF = 1 + LogNormal(ln 0.45, 0.7)`, at least [`MIN_HEALTH_FACTOR`];
//! 5. one debt asset among the pool's `borrowable` reserves not used as collateral (a stablecoin
//!    with probability [`STABLE_DEBT_SHARE`]; the underlying for loops), with the amount that gives
//!    the account exactly that health factor at snapshot prices (docs/lending.md#health-factor):
//!    `debt_usd = Σ_i c_i·p_i·LT_i / HF`, `LT_i` the e-mode category's threshold for the assets in
//!    the account's category, the reserve's otherwise.
//!
//! Snapshot prices (docs/assets.md#snapshot-reference-prices, at round 0 with no shock): exogenous assets at their price; an lst at
//! `p_U·rate·discount`; a receipt at `p_U·rate` (recovery 1); a bridged asset at
//! `p_U·(1 − bridge_loss)`. Assets without such a price are never used.
//!
//! Every draw comes from one `ChaCha8Rng` seeded with `seed`, consumed in account order, so the
//! same base, size and seed give the same snapshot bit for bit on every machine and thread count.
//!
//! Derivatives (docs/clearinghouse.md#derivatives-clearinghouses): [`generate_with`] can add a clearinghouse of portfolio-margin accounts
//! holding a perp and options on listed series ([`add_clearinghouse`]), and [`clearinghouse_book`]
//! builds a small self-contained system around one for the benchmarks.

use std::fmt::Write;

mod clearinghouse;

pub use clearinghouse::{
    add_clearinghouse, clearinghouse_book, listed_strikes, DERIVATIVES_SEED_SALT,
    DERIV_COLLATERAL_LOG_SD, DERIV_MEDIAN_COLLATERAL_USD, DERIV_MIN_COLLATERAL_USD, GEN_PERP_IMR,
    GEN_PERP_MMR, INSURANCE_FUND_SHARE, LISTED_EXPIRIES_DAYS, LISTED_STRIKE_MONEYNESS,
    LST_COLLATERAL_SHARE, OPTION_NOTIONAL_SHARE, PERP_LEVERAGE_LOG_SD, PERP_MEDIAN_LEVERAGE,
    PERP_SHARE, SHORT_OPTION_SHARE,
};

use cascade_model::{AssetIdx, AssetKind, ProtocolParams, Side, Snapshot};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

/// Median account size, USD.
pub const MEDIAN_SIZE_USD: f64 = 20_000.0;
/// Log-standard-deviation of account size (ln USD).
pub const SIZE_LOG_SD: f64 = 1.6;
/// Smallest account, USD (the log-normal's far left tail is clipped here).
pub const MIN_SIZE_USD: f64 = 100.0;
/// Median of `HF − 1`.
pub const HF_EXCESS_MEDIAN: f64 = 0.45;
/// Log-standard-deviation of `HF − 1`.
pub const HF_EXCESS_LOG_SD: f64 = 0.7;
/// Floor of the drawn health factor.
pub const MIN_HEALTH_FACTOR: f64 = 1.01;
/// Share of the accounts of a pool with an lst e-mode category that loop (supply lst, borrow U).
pub const LOOP_SHARE: f64 = 0.15;
/// Share of non-loop accounts that borrow a stablecoin (when the pool lends one).
pub const STABLE_DEBT_SHARE: f64 = 0.85;
/// Probabilities of holding 1, 2 and 3 collateral assets.
pub const COLLATERAL_COUNT_WEIGHTS: [f64; 3] = [0.55, 0.30, 0.15];
/// Every collateral-enabled reserve gets at least this share of the collateral-choice weight,
/// whatever the base pool's mix.
pub const COLLATERAL_WEIGHT_FLOOR: f64 = 0.05;

/// A generated snapshot and, per account, the health factor it was built to have.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub snapshot: Snapshot,
    /// The drawn target health factor of each account, in account order.
    pub target_health_factor: Vec<f64>,
}

/// A synthetic system with `accounts` accounts over `base`'s assets, pools and correlations.
///
/// The result is named `synthetic-{accounts}`; `base`'s own accounts are dropped. Reserves keep
/// their parameters and caps, but `supplied` is cleared: it described the base's book, and a
/// generated book of another size defines its own supply (the sum of its collateral). Caps and
/// isolation ceilings are not respected by the draw (a large book may exceed a cap; the loader's
/// checks report it). See the module documentation for the distributions.
///
/// # Examples
/// ```
/// use cascade_io::{snapshot_from_str, Format};
/// let text = r#"
/// [[asset]]
/// id = "ETH"
/// kind = "native"
/// price = 2000.0
/// liquidity = { curve = "power_law", adv_usd = 1e9, k = 1.0, alpha = 0.5 }
/// [[asset]]
/// id = "USDC"
/// kind = "stable"
/// price = 1.0
/// liquidity = { curve = "power_law", adv_usd = 1e9, k = 1.0, alpha = 0.5 }
/// [[protocol]]
/// id = "lend"
/// kind = "lending"
/// [[protocol.reserve]]
/// asset = "ETH"
/// ltv = 0.8
/// liquidation_threshold = 0.825
/// liquidation_bonus = 0.05
/// [[protocol.reserve]]
/// asset = "USDC"
/// ltv = 0.8
/// liquidation_threshold = 0.85
/// liquidation_bonus = 0.05
/// "#;
/// let (base, _) = snapshot_from_str(text, Format::Toml, "base.toml").unwrap();
/// let s = cascade_gen::generate(&base, 1000, 7);
/// assert_eq!(s.name, "synthetic-1000");
/// assert_eq!(s.accounts.len(), 1000);
/// assert_eq!(&s.accounts.id[0], "acc-0000001");
/// assert_eq!(s, cascade_gen::generate(&base, 1000, 7));
/// ```
pub fn generate(base: &Snapshot, accounts: usize, seed: u64) -> Snapshot {
    generate_detailed(base, accounts, seed).snapshot
}

/// [`generate`], also returning each account's drawn health factor.
pub fn generate_detailed(base: &Snapshot, accounts: usize, seed: u64) -> Generated {
    generate_with(base, accounts, seed, &GenOptions::default())
}

/// What [`generate_with`] adds to the lending book of [`generate_detailed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenOptions {
    /// Accounts of a derivatives clearinghouse added by [`add_clearinghouse`] (0 = no
    /// clearinghouse).
    pub derivative_accounts: usize,
    /// Options per derivatives account, drawn from the listed series.
    pub options_per_account: usize,
}

/// [`generate_detailed`], then, if `options.derivative_accounts > 0`, a clearinghouse with that many
/// accounts ([`add_clearinghouse`], its draws from their own seed so that the lending book is the
/// same with or without it). `target_health_factor` covers the lending accounts, which come first.
pub fn generate_with(
    base: &Snapshot,
    accounts: usize,
    seed: u64,
    options: &GenOptions,
) -> Generated {
    let mut g = generate_lending(base, accounts, seed);
    if options.derivative_accounts > 0 {
        add_clearinghouse(
            &mut g.snapshot,
            options.derivative_accounts,
            options.options_per_account,
            seed ^ DERIVATIVES_SEED_SALT,
        );
    }
    g
}

fn generate_lending(base: &Snapshot, accounts: usize, seed: u64) -> Generated {
    let prices = snapshot_prices(base);
    let pools = pool_plans(base, &prices);

    let mut out = Snapshot {
        name: format!("synthetic-{accounts}"),
        source: format!("<generated from {} with seed {seed}>", base.name),
        assets: base.assets.clone(),
        correlations: base.correlations.clone(),
        protocols: base.protocols.clone(),
        ..Default::default()
    };
    for p in &mut out.protocols {
        if let ProtocolParams::Lending(l) = &mut p.params {
            l.reserves.iter_mut().for_each(|r| r.supplied = None);
        }
    }
    let mut targets = Vec::with_capacity(accounts);
    if pools.is_empty() {
        // Nothing to lend in: the system is returned without accounts.
        return Generated {
            snapshot: out,
            target_health_factor: targets,
        };
    }
    out.accounts.reserve(accounts);
    out.positions.reserve(accounts * 3);

    let pool_cdf = cumulative(pools.iter().map(|p| p.weight));
    let count_cdf = cumulative(COLLATERAL_COUNT_WEIGHTS.iter().copied());
    // The parameters are valid constants, so these cannot fail.
    let size_dist = LogNormal::new(MEDIAN_SIZE_USD.ln(), SIZE_LOG_SD).expect("valid log-normal");
    let hf_dist =
        LogNormal::new(HF_EXCESS_MEDIAN.ln(), HF_EXCESS_LOG_SD).expect("valid log-normal");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let max_collateral = pools.iter().map(|p| p.collateral.len()).max().unwrap_or(0);
    let mut remaining: Vec<usize> = Vec::with_capacity(max_collateral);
    let mut chosen: Vec<(AssetIdx, f64)> = Vec::with_capacity(3); // (asset, LT)
    let mut shares = [0.0f64; 3];
    let mut id = String::with_capacity(16);
    for n in 0..accounts {
        let pool = &pools[pick(&pool_cdf, rng.random::<f64>())];
        let size_usd = size_dist.sample(&mut rng).max(MIN_SIZE_USD);
        let hf = (1.0 + hf_dist.sample(&mut rng)).max(MIN_HEALTH_FACTOR);

        chosen.clear();
        let mut emode = None;
        let debt_asset;
        if !pool.loops.is_empty() && rng.random::<f64>() < LOOP_SHARE {
            let lp = &pool.loops[rng.random_range(0..pool.loops.len())];
            chosen.push((lp.collateral, lp.liquidation_threshold));
            shares[0] = 1.0;
            emode = Some(lp.category);
            debt_asset = lp.debt;
        } else {
            let k = (pick(&count_cdf, rng.random::<f64>()) + 1).min(pool.collateral.len());
            // k distinct collateral assets, weighted, without replacement.
            remaining.clear();
            remaining.extend(0..pool.collateral.len());
            for _ in 0..k {
                let total: f64 = remaining.iter().map(|&c| pool.collateral[c].weight).sum();
                let mut u = rng.random::<f64>() * total;
                let mut at = remaining.len() - 1;
                for (pos, &c) in remaining.iter().enumerate() {
                    u -= pool.collateral[c].weight;
                    if u < 0.0 {
                        at = pos;
                        break;
                    }
                }
                let c = &pool.collateral[remaining.swap_remove(at)];
                chosen.push((c.asset, c.liquidation_threshold));
            }
            let mut sum = 0.0;
            for s in shares.iter_mut().take(k) {
                *s = 0.2 + rng.random::<f64>();
                sum += *s;
            }
            shares.iter_mut().take(k).for_each(|s| *s /= sum);
            debt_asset = pick_debt(pool, &chosen, &mut rng);
        }

        id.clear();
        // Writing to a String cannot fail.
        let _ = write!(id, "acc-{:07}", n + 1);
        let acc = out.accounts.get_or_insert(pool.protocol, &id);
        out.accounts.emode[acc as usize] = emode;
        let mut weighted_usd = 0.0;
        for (&(asset, lt), &share) in chosen.iter().zip(shares.iter()) {
            let tokens = size_usd * share / prices[asset];
            weighted_usd += tokens * prices[asset] * lt;
            out.positions.push(acc, asset, Side::Collateral, tokens);
        }
        let debt_tokens = weighted_usd / hf / prices[debt_asset];
        out.positions.push(acc, debt_asset, Side::Debt, debt_tokens);
        targets.push(hf);
    }
    scale_market_depth(&mut out, base, &prices);
    Generated {
        snapshot: out,
        target_health_factor: targets,
    }
}

/// Scales every asset's curve depth by the ratio of the generated system's collateral in that asset
/// to the base's (the system-wide ratio for an asset held as collateral in only one of them), so that
/// each asset stands in the same proportion to its market as in the base: the built-in system's
/// curves are sized for its own ~$0.3B book, a 1M-account book is ~200× larger and composed
/// differently. Constant product and stableswap balances and power-law `adv_usd` are multiplied.
pub fn scale_market_depth(out: &mut Snapshot, base: &Snapshot, prices: &[f64]) {
    let collateral_usd = |s: &Snapshot| -> Vec<f64> {
        let mut v = vec![0.0; s.assets.len()];
        for i in 0..s.positions.len() {
            let a = s.positions.asset[i] as usize;
            let x = s.positions.amount[i] * prices[a];
            if s.positions.side[i] == Side::Collateral && x.is_finite() {
                v[a] += x;
            }
        }
        v
    };
    let (from, to) = (collateral_usd(base), collateral_usd(out));
    let (from_all, to_all): (f64, f64) = (from.iter().sum(), to.iter().sum());
    if !(from_all > 0.0 && to_all > 0.0) {
        return;
    }
    for (a, asset) in out.assets.iter_mut().enumerate() {
        let m = if from[a] > 0.0 && to[a] > 0.0 {
            to[a] / from[a]
        } else {
            to_all / from_all
        };
        asset.liquidity.curve = asset.liquidity.curve.scaled(m);
    }
}

/// Every asset's USD price at snapshot time (no shock, recovery 1), `NaN` where the snapshot alone
/// does not give one (kinds priced by models that need protocol state: lp, cdp_stable, algostable).
///
/// `lst`: `p_U·rate·discount`; `receipt`: `p_U·rate`; `bridged`: `p_U·(1 − bridge_loss)`
/// (docs/assets.md#snapshot-reference-prices).
pub fn snapshot_prices(s: &Snapshot) -> Vec<f64> {
    (0..s.assets.len())
        .map(|i| match s.assets[i].kind {
            AssetKind::Lp | AssetKind::CdpStable | AssetKind::Algostable => f64::NAN,
            _ => s.reference_price(i),
        })
        .collect()
}

fn usable(p: f64) -> bool {
    p.is_finite() && p > 0.0
}

/// One collateral choice of a pool.
struct CollateralChoice {
    asset: AssetIdx,
    liquidation_threshold: f64,
    weight: f64,
}

/// One e-mode loop of a pool: supply `collateral`, borrow `debt`, in category `category`.
struct LoopChoice {
    category: u16,
    collateral: AssetIdx,
    debt: AssetIdx,
    liquidation_threshold: f64,
}

/// What the generator needs to know about one lending pool, worked out once.
struct PoolPlan {
    protocol: usize,
    weight: f64,
    collateral: Vec<CollateralChoice>,
    stable_debt: Vec<AssetIdx>,
    other_debt: Vec<AssetIdx>,
    loops: Vec<LoopChoice>,
}

/// The lending pools that can hold a generated account (at least one priced collateral-enabled
/// reserve with LT > 0 and one priced borrowable reserve), with their draw weights.
fn pool_plans(base: &Snapshot, prices: &[f64]) -> Vec<PoolPlan> {
    // Collateral value per (protocol, asset) in the base book.
    let mut coll_usd = vec![vec![0.0f64; base.assets.len()]; base.protocols.len()];
    let pos = &base.positions;
    for r in 0..pos.len() {
        if pos.side[r] != Side::Collateral {
            continue;
        }
        let a = pos.asset[r] as usize;
        let p = base.accounts.protocol[pos.account[r] as usize] as usize;
        if let Some(cell) = coll_usd.get_mut(p).and_then(|row| row.get_mut(a)) {
            if usable(prices[a]) {
                *cell += pos.amount[r] * prices[a];
            }
        }
    }
    let mut plans = Vec::new();
    for (pi, p) in base.protocols.iter().enumerate() {
        let Some(l) = p.lending() else { continue };
        let pool_usd: f64 = coll_usd[pi].iter().sum();
        let mut collateral = Vec::new();
        let mut stable_debt = Vec::new();
        let mut other_debt = Vec::new();
        for r in &l.reserves {
            if !usable(prices[r.asset]) {
                continue;
            }
            if r.collateral_enabled && r.liquidation_threshold > 0.0 {
                let mix = if pool_usd > 0.0 {
                    coll_usd[pi][r.asset] / pool_usd
                } else {
                    0.0
                };
                collateral.push(CollateralChoice {
                    asset: r.asset,
                    liquidation_threshold: r.liquidation_threshold,
                    weight: mix + COLLATERAL_WEIGHT_FLOOR,
                });
            }
            if r.borrowable {
                if is_stable(base.assets[r.asset].kind) {
                    stable_debt.push(r.asset);
                } else {
                    other_debt.push(r.asset);
                }
            }
        }
        if collateral.is_empty() || (stable_debt.is_empty() && other_debt.is_empty()) {
            continue;
        }
        let mut loops = Vec::new();
        for (ci, c) in l.emode.iter().enumerate() {
            for &a in &c.assets {
                let asset = &base.assets[a];
                let Some(u) = asset.underlying else { continue };
                let coll_ok = l
                    .reserve_of(a)
                    .is_some_and(|r| r.collateral_enabled && usable(prices[a]));
                let debt_ok = c.assets.contains(&u)
                    && l.reserve_of(u).is_some_and(|r| r.borrowable)
                    && usable(prices[u]);
                if asset.kind == AssetKind::Lst && coll_ok && debt_ok {
                    loops.push(LoopChoice {
                        category: ci as u16,
                        collateral: a,
                        debt: u,
                        liquidation_threshold: c.liquidation_threshold,
                    });
                }
            }
        }
        plans.push(PoolPlan {
            protocol: pi,
            weight: pool_usd,
            collateral,
            stable_debt,
            other_debt,
            loops,
        });
    }
    // Pools with no base collateral still get drawn: equal weights if the base book is empty,
    // otherwise the smallest nonzero share (a pool exists to be used).
    let total: f64 = plans.iter().map(|p| p.weight).sum();
    if total > 0.0 {
        let min_share = plans
            .iter()
            .filter(|p| p.weight > 0.0)
            .map(|p| p.weight / total)
            .fold(1.0, f64::min);
        for p in &mut plans {
            p.weight = if p.weight > 0.0 {
                p.weight / total
            } else {
                min_share
            };
        }
    } else {
        plans.iter_mut().for_each(|p| p.weight = 1.0);
    }
    plans
}

fn is_stable(kind: AssetKind) -> bool {
    matches!(
        kind,
        AssetKind::Stable | AssetKind::CdpStable | AssetKind::Algostable
    )
}

/// The debt asset of a non-loop account: a stablecoin with probability [`STABLE_DEBT_SHARE`],
/// otherwise another borrowable asset, never one the account holds as collateral unless the pool
/// lends nothing else.
fn pick_debt(pool: &PoolPlan, chosen: &[(AssetIdx, f64)], rng: &mut ChaCha8Rng) -> AssetIdx {
    let held = |a: &AssetIdx| chosen.iter().any(|(c, _)| c == a);
    let stable_first = rng.random::<f64>() < STABLE_DEBT_SHARE;
    let (first, second) = if stable_first {
        (&pool.stable_debt, &pool.other_debt)
    } else {
        (&pool.other_debt, &pool.stable_debt)
    };
    for list in [first, second] {
        let free = list.iter().filter(|a| !held(a)).count();
        if free > 0 {
            let k = rng.random_range(0..free);
            return *list.iter().filter(|a| !held(a)).nth(k).unwrap_or(&list[0]);
        }
    }
    // Everything borrowable is also held as collateral: borrow it anyway.
    let all = if pool.stable_debt.is_empty() {
        &pool.other_debt
    } else {
        &pool.stable_debt
    };
    all[rng.random_range(0..all.len())]
}

/// Normalised cumulative weights.
fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect();
    cdf.iter_mut().for_each(|c| *c /= acc);
    cdf
}

/// The index whose cumulative weight first exceeds `u` (in [0, 1)).
fn pick(cdf: &[f64], u: f64) -> usize {
    cdf.iter().position(|&c| u < c).unwrap_or(cdf.len() - 1)
}
