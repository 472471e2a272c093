//! The derivatives clearinghouse of a generated system (docs/clearinghouse.md): a book of portfolio-margin
//! accounts holding a perp and options on listed series ([`add_clearinghouse`]), and a small
//! self-contained system around one for the benchmarks ([`clearinghouse_book`]).

use std::fmt::Write;

use cascade_model::{
    Asset, AssetKind, Breakers, ClearinghouseParams, CollateralWeight, CurveSpec, Liquidity,
    LossMode, MarginMode, OptionType, OptionsParams, OracleSpec, PerpMarket, PoolDepth, Protocol,
    ProtocolKind, ProtocolParams, Side, SmileSpec, Snapshot,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

use crate::{snapshot_prices, usable};

/// Mixed into the seed of the clearinghouse draws, so they do not repeat the lending draws.
pub const DERIVATIVES_SEED_SALT: u64 = 0x9e37_79b9_7f4a_7c15;
/// Median collateral of a derivatives account, USD.
pub const DERIV_MEDIAN_COLLATERAL_USD: f64 = 25_000.0;
/// Log-standard-deviation of a derivatives account's collateral (ln USD).
pub const DERIV_COLLATERAL_LOG_SD: f64 = 1.4;
/// Smallest derivatives account, USD.
pub const DERIV_MIN_COLLATERAL_USD: f64 = 500.0;
/// Share of derivatives accounts that post part of their collateral in the underlying's lst (the
/// wrong-way collateral of docs/clearinghouse.md#portfolio-margin), when there is one.
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
/// Initial margin ratio of the generated perp market (`IM = |s|·p·imr`, docs/clearinghouse.md#initial-and-maintenance-margin).
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

/// Adds a derivatives clearinghouse (docs/clearinghouse.md#derivatives-clearinghouses) with `accounts` portfolio-margin accounts to `s`, and
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
            depth: PoolDepth {
                base: 1e5 * depth,
                quote: 1e5 * depth,
                fee: 0.0004,
            },
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
