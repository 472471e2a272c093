//! The seeded synthetic-system generator behind `cascade gen --accounts N --seed S` (DESIGN §14,
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
//!    the account exactly that health factor at snapshot prices (DESIGN §4):
//!    `debt_usd = Σ_i c_i·p_i·LT_i / HF`, `LT_i` the e-mode category's threshold for the assets in
//!    the account's category, the reserve's otherwise.
//!
//! Snapshot prices (DESIGN §2, at round 0 with no shock): exogenous assets at their price; an lst at
//! `p_U·rate·discount`; a receipt at `p_U·rate` (recovery 1); a bridged asset at
//! `p_U·(1 − bridge_loss)`. Assets without such a price are never used.
//!
//! Every draw comes from one `ChaCha8Rng` seeded with `seed`, consumed in account order, so the
//! same base, size and seed give the same snapshot bit for bit on every machine and thread count.
//!
//! Derivatives (DESIGN §6): [`generate_with`] can add a clearinghouse of portfolio-margin accounts
//! holding a perp and options on listed series ([`add_clearinghouse`]), and [`clearinghouse_book`]
//! builds a small self-contained system around one for the benchmarks.

use std::fmt::Write;

use cascade_model::{
    Asset, AssetIdx, AssetKind, Breakers, ClearinghouseParams, CollateralWeight, CurveSpec,
    Liquidity, LossMode, MarginMode, OptionType, OptionsParams, OracleSpec, PerpMarket, Protocol,
    ProtocolKind, ProtocolParams, Side, SmileSpec, Snapshot,
};
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
/// assert_eq!(s.accounts.id[0], "acc-0000001");
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
        asset.liquidity.curve = match asset.liquidity.curve {
            CurveSpec::ConstantProduct { base, quote, fee } => CurveSpec::ConstantProduct {
                base: base * m,
                quote: quote * m,
                fee,
            },
            CurveSpec::StableSwap {
                amplification,
                base,
                quote,
                fee,
            } => CurveSpec::StableSwap {
                amplification,
                base: base * m,
                quote: quote * m,
                fee,
            },
            CurveSpec::PowerLaw { adv_usd, k, alpha } => CurveSpec::PowerLaw {
                adv_usd: adv_usd * m,
                k,
                alpha,
            },
        };
    }
}

/// Every asset's USD price at snapshot time (no shock, recovery 1), `NaN` where the snapshot alone
/// does not give one (kinds priced by models that need protocol state: lp, cdp_stable, algostable).
///
/// `lst`: `p_U·rate·discount`; `receipt`: `p_U·rate`; `bridged`: `p_U·(1 − bridge_loss)`
/// (DESIGN §2).
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

// ---------------------------------------------------------------------------------------------
// Derivatives clearinghouse

/// Mixed into the seed of the clearinghouse draws, so they do not repeat the lending draws.
pub const DERIVATIVES_SEED_SALT: u64 = 0x9e37_79b9_7f4a_7c15;
/// Median collateral of a derivatives account, USD.
pub const DERIV_MEDIAN_COLLATERAL_USD: f64 = 25_000.0;
/// Log-standard-deviation of a derivatives account's collateral (ln USD).
pub const DERIV_COLLATERAL_LOG_SD: f64 = 1.4;
/// Smallest derivatives account, USD.
pub const DERIV_MIN_COLLATERAL_USD: f64 = 500.0;
/// Share of derivatives accounts that post part of their collateral in the underlying's lst (the
/// wrong-way collateral of DESIGN §6), when there is one.
pub const LST_COLLATERAL_SHARE: f64 = 0.3;
/// Share of derivatives accounts holding a perp.
pub const PERP_SHARE: f64 = 0.6;
/// Median perp leverage `|s|·p / collateral_usd`.
pub const PERP_MEDIAN_LEVERAGE: f64 = 2.0;
/// Log-standard-deviation of perp leverage.
pub const PERP_LEVERAGE_LOG_SD: f64 = 0.6;
/// Share of option positions that are written (size < 0).
pub const SHORT_OPTION_SHARE: f64 = 0.4;
/// Notional `|size|·spot` of one option as a share of the account's collateral: uniform in this range.
pub const OPTION_NOTIONAL_SHARE: (f64, f64) = (0.05, 0.3);
/// Expiries of the listed option series, days.
pub const LISTED_EXPIRIES_DAYS: [f64; 5] = [7.0, 14.0, 30.0, 60.0, 90.0];
/// Strikes of the listed series as multiples of spot, before rounding to the tick: 0.60, 0.65, …,
/// 1.55 (20 strikes).
pub const LISTED_STRIKE_MONEYNESS: [f64; 20] = [
    0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 1.00, 1.05, 1.10, 1.15, 1.20, 1.25, 1.30, 1.35,
    1.40, 1.45, 1.50, 1.55,
];
/// Initial margin ratio of the generated perp market (`IM = |s|·p·imr`, DESIGN §6).
pub const GEN_PERP_IMR: f64 = 0.10;
/// Maintenance margin ratio of the generated perp market (`MM = |s|·p·mmr`).
pub const GEN_PERP_MMR: f64 = 0.05;
/// The insurance fund, a share of the accounts' collateral.
pub const INSURANCE_FUND_SHARE: f64 = 0.01;

/// The listed strikes on `spot`: `LISTED_STRIKE_MONEYNESS · spot` rounded to the tick
/// `5·10^(⌊log10 spot⌋ − 2)` (50 USD for spot 2000).
pub fn listed_strikes(spot: f64) -> Vec<f64> {
    let tick = 5.0 * 10f64.powi(spot.log10().floor() as i32 - 2);
    LISTED_STRIKE_MONEYNESS
        .iter()
        .map(|m| ((m * spot / tick).round() * tick).max(tick))
        .collect()
}

/// Adds a derivatives clearinghouse (DESIGN §6) with `accounts` portfolio-margin accounts to `s`, and
/// returns its protocol index; `None` (and `s` unchanged) if `s` has no priced stablecoin or no priced
/// native/governance asset with a volatility to underlie it.
///
/// The underlying `U` is the first native asset with a price and volatility (else the first such
/// governance asset); collateral is the first priced stablecoin (weights 1/1) and, if some lst has
/// `U` as underlying, that lst (0.8 initial / 0.9 maintenance). One perp market `"{U}-PERP"`
/// (imr [`GEN_PERP_IMR`], mmr [`GEN_PERP_MMR`], fee 1%, spot oracle); the options block at its
/// defaults with the smile `σ(k) = σ_U − 0.1·k + 0.2·k²` (`σ_U` the asset's volatility).
///
/// Each account `trader-NNNNNNN`, in order: collateral `c` USD log-normal (median
/// [`DERIV_MEDIAN_COLLATERAL_USD`], log-sd [`DERIV_COLLATERAL_LOG_SD`], at least
/// [`DERIV_MIN_COLLATERAL_USD`]), a share in the lst with probability [`LST_COLLATERAL_SHARE`]; with
/// probability [`PERP_SHARE`] a perp of notional `c·L` (L log-normal, median
/// [`PERP_MEDIAN_LEVERAGE`], capped at `0.8/imr`), long or short at even odds, entered within ±10%
/// of spot; `options_per_account` options on series drawn uniformly from the listed grid
/// ([`LISTED_EXPIRIES_DAYS`] × [`listed_strikes`] × call/put), each of notional `c·u`
/// (u uniform in [`OPTION_NOTIONAL_SHARE`]), written with probability [`SHORT_OPTION_SHARE`]. The
/// insurance fund holds [`INSURANCE_FUND_SHARE`] of the accounts' collateral in the stablecoin.
/// Every draw comes from one `ChaCha8Rng` seeded with `seed`.
pub fn add_clearinghouse(
    s: &mut Snapshot,
    accounts: usize,
    options_per_account: usize,
    seed: u64,
) -> Option<usize> {
    let prices = snapshot_prices(s);
    let priced = |i: usize| usable(prices[i]);
    let stable =
        (0..s.assets.len()).find(|&i| s.assets[i].kind == AssetKind::Stable && priced(i))?;
    let underlying_of = |kind: AssetKind| {
        (0..s.assets.len())
            .find(|&i| s.assets[i].kind == kind && priced(i) && s.assets[i].volatility > 0.0)
    };
    let u = underlying_of(AssetKind::Native).or_else(|| underlying_of(AssetKind::Governance))?;
    let lst = (0..s.assets.len()).find(|&i| {
        s.assets[i].kind == AssetKind::Lst && s.assets[i].underlying == Some(u) && priced(i)
    });
    let mut collateral = vec![CollateralWeight {
        asset: stable,
        initial_weight: 1.0,
        maintenance_weight: 1.0,
        line: 0,
    }];
    if let Some(l) = lst {
        collateral.push(CollateralWeight {
            asset: l,
            initial_weight: 0.8,
            maintenance_weight: 0.9,
            line: 0,
        });
    }
    let params = ClearinghouseParams {
        collateral,
        liabilities: Vec::new(),
        markets: vec![PerpMarket {
            id: format!("{}-PERP", s.assets[u].id),
            underlying: u,
            imr: GEN_PERP_IMR,
            mmr: GEN_PERP_MMR,
            liquidation_fee: 0.01,
            imf_factor: 0.0,
            oracle: OracleSpec::Spot,
            line: 0,
        }],
        options: OptionsParams {
            smile: vec![SmileSpec {
                underlying: u,
                atm: s.assets[u].volatility,
                skew: -0.1,
                curvature: 0.2,
            }],
            ..OptionsParams::default()
        },
        loss_mode: LossMode::Socialise,
        pnl_initial_weight: 1.0,
        pnl_maintenance_weight: 1.0,
        insurance_fee_share: 0.5,
    };
    let mut id = "perpdex".to_string();
    let mut k = 1;
    while s.protocol_idx(&id).is_some() {
        k += 1;
        id = format!("perpdex-{k}");
    }
    let pi = s.protocols.len();
    s.protocols.push(Protocol {
        id,
        kind: ProtocolKind::Clearinghouse,
        insurance_fund: Vec::new(),
        breakers: Breakers::default(),
        params: ProtocolParams::Clearinghouse(params),
        line: 0,
    });

    let spot = prices[u];
    let strikes = listed_strikes(spot);
    let series = LISTED_EXPIRIES_DAYS.len() * strikes.len() * 2;
    // The parameters are valid constants, so these cannot fail.
    let size_dist = LogNormal::new(DERIV_MEDIAN_COLLATERAL_USD.ln(), DERIV_COLLATERAL_LOG_SD)
        .expect("valid log-normal");
    let lev_dist =
        LogNormal::new(PERP_MEDIAN_LEVERAGE.ln(), PERP_LEVERAGE_LOG_SD).expect("valid log-normal");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    s.accounts.reserve(accounts);
    s.accounts.reserve_for(pi, accounts);
    s.positions.reserve(accounts * 2);
    s.options.account.reserve(accounts * options_per_account);
    let mut total_usd = 0.0;
    let mut name = String::with_capacity(16);
    for n in 0..accounts {
        name.clear();
        // Writing to a String cannot fail.
        let _ = write!(name, "trader-{:07}", n + 1);
        let acc = s.accounts.get_or_insert(pi, &name);
        s.accounts.margin_mode[acc as usize] = MarginMode::Portfolio;
        let c_usd = size_dist.sample(&mut rng).max(DERIV_MIN_COLLATERAL_USD);
        total_usd += c_usd;
        match lst {
            Some(l) if rng.random::<f64>() < LST_COLLATERAL_SHARE => {
                let share = 0.3 + 0.4 * rng.random::<f64>();
                s.positions.push(
                    acc,
                    stable,
                    Side::Collateral,
                    c_usd * (1.0 - share) / prices[stable],
                );
                s.positions
                    .push(acc, l, Side::Collateral, c_usd * share / prices[l]);
            }
            _ => s
                .positions
                .push(acc, stable, Side::Collateral, c_usd / prices[stable]),
        }
        if rng.random::<f64>() < PERP_SHARE {
            let leverage = lev_dist.sample(&mut rng).min(0.8 / GEN_PERP_IMR);
            let sign = if rng.random::<f64>() < 0.5 { -1.0 } else { 1.0 };
            let entry = spot * (0.9 + 0.2 * rng.random::<f64>());
            s.perps.push(acc, 0, sign * c_usd * leverage / spot, entry);
        }
        for _ in 0..options_per_account {
            let k = rng.random_range(0..series);
            let (expiry, rest) = (k / (strikes.len() * 2), k % (strikes.len() * 2));
            let kind = if rest % 2 == 0 {
                OptionType::Call
            } else {
                OptionType::Put
            };
            let (lo, hi) = OPTION_NOTIONAL_SHARE;
            let tokens = c_usd * (lo + (hi - lo) * rng.random::<f64>()) / spot;
            let size = if rng.random::<f64>() < SHORT_OPTION_SHARE {
                -tokens
            } else {
                tokens
            };
            s.options.push(
                acc,
                u,
                kind,
                strikes[rest / 2],
                LISTED_EXPIRIES_DAYS[expiry],
                size,
            );
        }
    }
    if total_usd > 0.0 {
        s.protocols[pi].insurance_fund =
            vec![(stable, INSURANCE_FUND_SHARE * total_usd / prices[stable])];
    }
    Some(pi)
}

/// A small self-contained system for benchmarks: USDC, ETH (2000 USD, volatility 0.8), stETH (an lst
/// of ETH at par) and one clearinghouse ([`add_clearinghouse`]: ETH-PERP and an ETH smile) with
/// `accounts` portfolio-margin accounts of `options_per_account` options each. Curve depths grow
/// with the book: power-law `adv_usd` of `1e9·max(1, accounts/10⁴)` for USDC and ETH, a stETH/ETH
/// stableswap of `10⁵·max(1, accounts/10⁴)` tokens a side. Named `clearinghouse-book-{accounts}`.
///
/// # Examples
/// ```
/// let s = cascade_gen::clearinghouse_book(100, 10, 7);
/// assert_eq!(s.accounts.len(), 100);
/// assert_eq!(s.options.len(), 1000);
/// assert_eq!(s, cascade_gen::clearinghouse_book(100, 10, 7));
/// ```
pub fn clearinghouse_book(accounts: usize, options_per_account: usize, seed: u64) -> Snapshot {
    let depth = (accounts as f64 / 1e4).max(1.0);
    let asset =
        |id: &str, kind: AssetKind, price: Option<f64>, volatility: f64, curve: CurveSpec| Asset {
            id: id.to_string(),
            kind,
            price,
            volatility,
            underlying: None,
            rate: 1.0,
            discount: 1.0,
            issuer: None,
            bridge_loss: 0.0,
            liquidity: Liquidity {
                curve,
                quote_asset: None,
                pool: None,
            },
            line: 0,
        };
    let power_law = |adv_usd: f64| CurveSpec::PowerLaw {
        adv_usd,
        k: 1.0,
        alpha: 0.5,
    };
    let mut steth = asset(
        "stETH",
        AssetKind::Lst,
        None,
        0.0,
        CurveSpec::StableSwap {
            amplification: 50.0,
            base: 1e5 * depth,
            quote: 1e5 * depth,
            fee: 0.0004,
        },
    );
    steth.underlying = Some(1);
    steth.liquidity.quote_asset = Some(1);
    let mut s = Snapshot {
        name: format!("clearinghouse-book-{accounts}"),
        source: format!("<clearinghouse book with seed {seed}>"),
        assets: vec![
            asset(
                "USDC",
                AssetKind::Stable,
                Some(1.0),
                0.01,
                power_law(5e9 * depth),
            ),
            asset(
                "ETH",
                AssetKind::Native,
                Some(2000.0),
                0.8,
                power_law(1e9 * depth),
            ),
            steth,
        ],
        ..Default::default()
    };
    // USDC and ETH are priced and ETH has a volatility, so the clearinghouse is always added.
    let _ = add_clearinghouse(&mut s, accounts, options_per_account, seed);
    s
}
