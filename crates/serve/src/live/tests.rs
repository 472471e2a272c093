//! Tests of the live state: health factors against the protocols crate computed from scratch, the
//! liquidation drop by hand, the ladder against a brute-force recomputation, batches, snapshots,
//! checkpoints and the errors of `resolve`.

use cascade_io::{snapshot_from_str, Format};
use cascade_model::{AssetKind, HealthFactorRule, ProtocolParams, Side, Snapshot};
use cascade_protocols::build_models;
use cascade_protocols::lending::{weighted_collateral_and_debt, LendingPool};
use cascade_testkit::system::{System, ETH_RESERVE, USDC_RESERVE};
use proptest::prelude::*;

use super::*;
use crate::events::{Change, PositionSide};

const BUILTIN: &str = include_str!("../../../../examples/builtin/system.toml");

pub(super) fn builtin() -> Snapshot {
    match snapshot_from_str(BUILTIN, Format::Toml, "system.toml") {
        Ok((s, _)) => s,
        Err(e) => panic!("built-in system: {e}"),
    }
}

pub(super) fn generated(accounts: usize, seed: u64) -> Snapshot {
    cascade_gen::generate(&builtin(), accounts, seed)
}

pub(super) fn live(s: Snapshot) -> Live {
    match Live::new(s) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    }
}

pub(super) fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// Every account's health factor now.
fn health_all(l: &Live) -> Vec<f64> {
    (0..l.accounts()).map(|k| l.sums_and_health(k).1).collect()
}

/// Bit patterns, so that NaN (an untracked account's health) equals itself.
fn bits(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

pub(super) fn apply(l: &mut Live, changes: &[Change]) {
    let batch: Vec<Resolved> = changes
        .iter()
        .map(|c| l.resolve(c).unwrap_or_else(|e| panic!("{c:?}: {e}")))
        .collect();
    l.apply(&batch);
}

pub(super) fn price(asset: &str, p: f64) -> Change {
    Change::Price {
        asset: asset.into(),
        price: p,
    }
}

pub(super) fn position(
    protocol: &str,
    account: &str,
    asset: &str,
    side: PositionSide,
    amount: f64,
) -> Change {
    Change::Position {
        protocol: protocol.into(),
        account: account.into(),
        asset: asset.into(),
        side,
        amount,
    }
}

/// Every account's health computed from scratch by the protocols crate at the live prices:
/// `build_models(snapshot)` and each model's `account_results` (lending: the pool's rule; CDP:
/// `CR / LR`). `None` for kinds without per-account health.
fn scratch_health(l: &Live) -> Vec<Option<f64>> {
    let s = l.snapshot();
    let prices = l.prices();
    let mut out = vec![None; s.accounts.len()];
    for m in build_models(&s) {
        for r in m.account_results(prices) {
            out[r.account as usize] = Some(r.health);
        }
    }
    out
}

/// The live health factors equal the from-scratch ones to 1e-12 relative (both infinite without
/// debt), for every lending account and vault.
pub(super) fn assert_health_matches(l: &Live) -> usize {
    let scratch = scratch_health(l);
    let mut checked = 0;
    for (k, h) in scratch.iter().enumerate() {
        let Some(h) = *h else { continue };
        let p = l.accounts.protocol[k] as usize;
        if !l.rules[p].tracked() {
            continue;
        }
        let mine = l.sums_and_health(k).1;
        if h.is_infinite() || mine.is_infinite() {
            assert_eq!(h, mine, "account {k} ({})", &l.accounts.id[k]);
        } else {
            assert!(
                rel(h, mine) <= 1e-12,
                "account {k} ({}): live HF {mine}, from scratch {h}",
                &l.accounts.id[k]
            );
        }
        checked += 1;
    }
    checked
}

/// The assets whose price is asset `y`'s times a constant (lst, receipt, bridged over `y`,
/// transitively), worked out from the snapshot alone.
fn family(s: &Snapshot, y: usize) -> Vec<usize> {
    (0..s.assets.len())
        .filter(|&a| {
            let mut x = a;
            for _ in 0..=s.assets.len() {
                if x == y {
                    return true;
                }
                let asset = &s.assets[x];
                match (asset.kind, asset.underlying) {
                    (AssetKind::Lst | AssetKind::Receipt | AssetKind::Bridged, Some(u)) => x = u,
                    _ => return false,
                }
            }
            false
        })
        .collect()
}

/// Per tracked account, `(W, D)` under the exact rule at `prices`, from scratch: lending pools
/// through `LendingPool::new` and `weighted_collateral_and_debt`; vaults by docs/cdp.md
/// (`W = c·p/LR` of the type's collateral, `D` the stable owed at par).
fn exact_sums(s: &Snapshot, prices: &[f64]) -> Vec<Option<(f64, f64)>> {
    let mut out = vec![None; s.accounts.len()];
    for (p, proto) in s.protocols.iter().enumerate() {
        match &proto.params {
            ProtocolParams::Lending(_) => {
                let pool = LendingPool::new(s, p);
                for k in 0..pool.accounts() {
                    out[pool.account[k] as usize] =
                        Some(weighted_collateral_and_debt(&pool.entries_of(k), prices));
                }
            }
            ProtocolParams::Cdp(c) => {
                for (k, slot) in out.iter_mut().enumerate() {
                    if s.accounts.protocol[k] as usize == p {
                        *slot = Some((0.0, 0.0));
                    }
                }
                for r in 0..s.positions.len() {
                    let k = s.positions.account[r] as usize;
                    if s.accounts.protocol[k] as usize != p {
                        continue;
                    }
                    let vt = &c.vault_types[s.accounts.vault_type[k].unwrap_or(0) as usize];
                    let a = s.positions.asset[r] as usize;
                    let x = s.positions.amount[r];
                    if let Some((w, d)) = out[k].as_mut() {
                        match s.positions.side[r] {
                            Side::Collateral if a == vt.collateral => {
                                *w += x * prices[a] / vt.liquidation_ratio
                            }
                            Side::Debt if a == c.stable => *d += x,
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Brute force: accounts healthy now (exact rule) and liquidatable after asset `y`'s family drops
/// by `d`, and their debt at the dropped prices.
pub(super) fn brute_ladder(s: &Snapshot, prices: &[f64], y: usize, d: f64) -> (u64, f64) {
    let mut dropped = prices.to_vec();
    for a in family(s, y) {
        dropped[a] *= 1.0 - d;
    }
    let now = exact_sums(s, prices);
    let after = exact_sums(s, &dropped);
    let mut n = 0;
    let mut debt = 0.0;
    for (a, b) in now.iter().zip(&after) {
        if let (Some((w0, d0)), Some((w1, d1))) = (a, b) {
            if *d0 > 0.0 && w0 >= d0 && w1 < d1 {
                n += 1;
                debt += d1;
            }
        }
    }
    (n, debt)
}

/// The ladder of every asset at several drops equals the brute force.
pub(super) fn assert_ladders_match(l: &Live, drops: &[f64]) {
    let s = l.snapshot();
    let prices = l.prices().to_vec();
    let total_debt = l.summary().debt_usd.max(1.0);
    for (y, asset) in s.assets.iter().enumerate() {
        for &d in drops {
            let (n, debt) = brute_ladder(&s, &prices, y, d);
            let mine = l.liquidatable_debt(&asset.id, d).unwrap_or(f64::NAN);
            assert!(
                (mine - debt).abs() <= 1e-9 * total_debt,
                "{} drop {d}: ladder {mine}, brute force {debt} ({n} accounts)",
                asset.id
            );
        }
        let ladder = l
            .ladder(&asset.id)
            .unwrap_or_else(|| panic!("{}", asset.id));
        for pt in &ladder.points {
            let (n, debt) = brute_ladder(&s, &prices, y, pt.drop);
            assert_eq!(pt.accounts, n, "{} at {}", asset.id, pt.drop);
            assert!((pt.debt_usd - debt).abs() <= 1e-9 * total_debt);
        }
    }
}

/// The summary's figures against a recomputation from the positions.
pub(super) fn assert_summary_matches(l: &Live) {
    let sm = l.summary();
    let s = l.snapshot();
    let prices = l.prices();
    let health = scratch_health(l);
    let (mut coll, mut below, mut below_debt) = (0.0, 0, 0.0);
    for r in 0..s.positions.len() {
        if s.positions.side[r] == Side::Collateral {
            coll += s.positions.amount[r] * prices[s.positions.asset[r] as usize];
        }
    }
    for (k, h) in health.iter().enumerate() {
        let tracked = l.rules[l.accounts.protocol[k] as usize].tracked();
        if tracked && h.is_some_and(|h| h < 1.0) {
            below += 1;
            below_debt += l.sums_and_health(k).0.debt;
        }
    }
    assert!(
        rel(sm.collateral_usd, coll) < 1e-9,
        "{} vs {coll}",
        sm.collateral_usd
    );
    assert_eq!(sm.below_one.accounts, below);
    assert!(rel(sm.below_one.debt_usd, below_debt) < 1e-9);
    // The histogram adds up to the tracked open accounts.
    let views = l.protocols();
    for v in &views {
        if v.totals.health != "none" {
            let n: u64 = v.histogram.iter().map(|b| b.accounts).sum();
            assert_eq!(n, v.totals.accounts, "{}", v.totals.id);
            assert_eq!(v.histogram[0].accounts, v.totals.below_one.accounts);
        }
    }
}

#[test]
fn prices_are_the_engines_round_zero_prices() {
    let s = builtin();
    let engine = cascade_engine::Prepared::new(&s).initial_prices;
    let l = live(s);
    for (a, (&x, &y)) in engine.iter().zip(l.prices()).enumerate() {
        assert!(rel(x, y) <= 1e-12, "asset {a}: engine {x}, live {y}");
    }
}

#[test]
fn prices_after_updates_are_the_engines_on_the_live_snapshot() {
    let mut l = live(builtin());
    apply(
        &mut l,
        &[
            price("ETH", 1500.0),
            price("USDC", 0.93),
            price("USDT", 1.01),
        ],
    );
    let engine = cascade_engine::Prepared::new(&l.snapshot()).initial_prices;
    for (a, (&x, &y)) in engine.iter().zip(l.prices()).enumerate() {
        assert!(rel(x, y) <= 1e-12, "asset {a}: engine {x}, live {y}");
    }
    // stETH follows ETH; the 3CRV LP token follows the pool's value at the new prices.
    assert_eq!(l.price("stETH"), Some(1500.0));
    let lp = l.price("3CRV").unwrap_or(0.0);
    assert!(lp < 1.0 && lp > 0.9, "{lp}");
}

#[test]
fn health_matches_the_protocols_crate_on_the_builtin_system() {
    let mut l = live(builtin());
    assert!(assert_health_matches(&l) > 50);
    apply(&mut l, &[price("ETH", 1234.5), price("WBTC", 41_000.0)]);
    assert_health_matches(&l);
    apply(&mut l, &[price("USDC", 0.9), price("AAVE", 60.0)]);
    assert_health_matches(&l);
    assert_summary_matches(&l);
}

#[test]
fn health_matches_under_the_aave_v3_rule_and_isolation_mode() {
    let mut s = builtin();
    for p in &mut s.protocols {
        if let ProtocolParams::Lending(lp) = &mut p.params {
            lp.health_factor_rule = HealthFactorRule::AaveV3;
            for r in &mut lp.reserves {
                if s.assets[r.asset].id == "WBTC" {
                    r.debt_ceiling_usd = Some(1.0e9);
                }
            }
        }
    }
    let mut l = live(s);
    assert_health_matches(&l);
    apply(&mut l, &[price("ETH", 1700.0), price("WBTC", 30_000.0)]);
    assert_health_matches(&l);
}

#[test]
fn health_matches_on_a_generated_system_after_updates() {
    let mut l = live(generated(3000, 11));
    assert_eq!(assert_health_matches(&l), 3000);
    for (i, p) in [1800.0, 2300.0, 1100.0].iter().enumerate() {
        apply(
            &mut l,
            &[price("ETH", *p), price("USDC", 1.0 - 0.02 * i as f64)],
        );
        assert_health_matches(&l);
    }
    assert_summary_matches(&l);
}

/// A lending pool with ETH (LT 0.825) and USDC (LT 0.85) reserves.
/// An account of a test system: its id, its collateral and its debt, (asset, amount) each.
type TestAccount<'a> = (&'a str, &'a [(&'a str, f64)], &'a [(&'a str, f64)]);

pub(super) fn two_asset_system(accounts: &[TestAccount]) -> Snapshot {
    let mut sys = System::new()
        .eth(2000.0)
        .usdc()
        .lending("lend", &[ETH_RESERVE, USDC_RESERVE]);
    for (id, c, d) in accounts {
        sys = sys.account(id, "lend", c, d);
    }
    sys.build()
}

#[test]
fn liquidation_drop_by_hand() {
    // 10 ETH at 2000 (LT 0.825) and 5,000 USDC (LT 0.85) against 12,000 USDC of debt:
    // W = 16,500 + 4,250 = 20,750, D = 12,000, HF = 1.7291…; K_ETH = 16,500, so
    // d* = (20,750 − 12,000) / 16,500 = 0.530303…: at that drop 16,500·(1 − d) + 4,250 = 12,000.
    let l = live(two_asset_system(&[(
        "a",
        &[("ETH", 10.0), ("USDC", 5000.0)],
        &[("USDC", 12_000.0)],
    )]));
    let v = &l.account("a")[0];
    assert!(rel(v.health_factor.unwrap_or(0.0), 20_750.0 / 12_000.0) < 1e-15);
    let eth = v.drops.iter().find(|d| d.asset == "ETH").map(|d| d.drop);
    let expected = (20_750.0 - 12_000.0) / 16_500.0;
    assert!(rel(eth.flatten().unwrap_or(0.0), expected) < 1e-15);
    // USDC is collateral and debt: net short (4,250 − 12,000 < 0), a drop never liquidates.
    let usdc = v.drops.iter().find(|d| d.asset == "USDC").map(|d| d.drop);
    assert_eq!(usdc, Some(None));
    // The ladder: nothing at 50%, all 12,000 (USDC debt, not moved by ETH) at 55%.
    assert_eq!(l.liquidatable_debt("ETH", 0.5), Some(0.0));
    assert_eq!(l.liquidatable_debt("ETH", 0.55), Some(12_000.0));
    assert_eq!(l.liquidatable_debt("USDC", 0.9), Some(0.0));
    // Unknown asset, drop out of range.
    assert_eq!(l.liquidatable_debt("XYZ", 0.1), None);
    assert_eq!(l.liquidatable_debt("ETH", 1.5), None);
    assert_eq!(l.liquidatable_debt("ETH", f64::NAN), None);
}

#[test]
fn a_debt_in_the_dropping_asset_is_valued_at_the_dropped_price() {
    // 10 ETH (W = 16,500) against 5 ETH of debt (10,000) and 2,000 USDC: K = 16,500 − 10,000 =
    // 6,500, d* = (16,500 − 12,000)/6,500 = 0.6923…; at a 70% drop the debt is
    // 2,000 + 0.3 · 10,000 = 5,000.
    let l = live(two_asset_system(&[(
        "b",
        &[("ETH", 10.0)],
        &[("ETH", 5.0), ("USDC", 2000.0)],
    )]));
    assert_eq!(l.liquidatable_debt("ETH", 0.69), Some(0.0));
    let d = l.liquidatable_debt("ETH", 0.70).unwrap_or(0.0);
    assert!(rel(d, 5000.0) < 1e-12, "{d}");
    let v = &l.account("b")[0];
    let drop = v.drops[0].drop.unwrap_or(0.0);
    assert!(rel(drop, 4500.0 / 6500.0) < 1e-15);
}

#[test]
fn the_ladder_follows_price_updates_without_rekeying() {
    let mut l = live(two_asset_system(&[
        ("a", &[("ETH", 10.0)], &[("USDC", 12_000.0)]),
        ("b", &[("ETH", 10.0)], &[("USDC", 15_000.0)]),
    ]));
    // a: d* = 1 − 12,000/16,500 = 0.2727; b: 1 − 15,000/16,500 = 0.0909.
    assert_eq!(l.ladder("ETH").map(|x| x.points[1].accounts), Some(1));
    assert_eq!(l.ladder("ETH").map(|x| x.points[2].accounts), Some(1));
    assert_eq!(
        l.ladder("ETH").map(|x| x.points[3].debt_usd),
        Some(27_000.0)
    );
    // ETH −10%: b is below 1, a's margin is now 1 − 12,000/14,850 = 0.1919.
    apply(&mut l, &[price("ETH", 1800.0)]);
    let ladder = l.ladder("ETH").unwrap_or_else(|| panic!());
    assert_eq!(ladder.below_one_now.accounts, 1);
    assert_eq!(ladder.points[1].accounts, 0);
    assert_eq!(ladder.points[2].accounts, 1);
    assert_eq!(ladder.points[2].debt_usd, 12_000.0);
    assert_eq!(l.summary().below_one.debt_usd, 15_000.0);
}

#[test]
fn vaults_have_collateral_ratio_over_liquidation_ratio() {
    let s = System::new()
        .eth(2000.0)
        .asset("DAI", "cdp_stable", "")
        .cdp("maker", "DAI", "")
        .vault_type("ETH-A", "ETH", 1.5, 0.13)
        .account_toml(
            "v",
            "maker",
            &[("ETH", 10.0)],
            &[("DAI", 10_000.0)],
            "vault_type = \"ETH-A\"",
        )
        .build();
    let mut l = live(s);
    // CR = 20,000 / 10,000 = 2, LR = 1.5: health 4/3; liquidatable below 1,500 (a 25% drop).
    let v = &l.account("v")[0];
    assert!(rel(v.health_factor.unwrap_or(0.0), 4.0 / 3.0) < 1e-15);
    assert!(rel(v.drops[0].drop.unwrap_or(0.0), 0.25) < 1e-15);
    assert_eq!(l.liquidatable_debt("ETH", 0.26), Some(10_000.0));
    assert_eq!(l.liquidatable_debt("ETH", 0.24), Some(0.0));
    apply(&mut l, &[price("ETH", 1400.0)]);
    assert_eq!(l.summary().below_one.accounts, 1);
    assert_health_matches(&l);
    // A vault opened live takes the type of its first collateral.
    apply(
        &mut l,
        &[
            position("maker", "w", "DAI", PositionSide::Debt, 1000.0),
            position("maker", "w", "ETH", PositionSide::Collateral, 2.0),
        ],
    );
    assert_eq!(l.account("w")[0].vault_type.as_deref(), Some("ETH-A"));
    assert_health_matches(&l);
}

#[test]
fn position_changes_open_set_remove_and_close() {
    let mut l = live(two_asset_system(&[(
        "a",
        &[("ETH", 10.0)],
        &[("USDC", 12_000.0)],
    )]));
    apply(
        &mut l,
        &[
            position("lend", "n", "ETH", PositionSide::Collateral, 1.0),
            position("lend", "n", "USDC", PositionSide::Debt, 1000.0),
            position("lend", "a", "USDC", PositionSide::Debt, 6000.0),
        ],
    );
    assert_eq!(l.summary().accounts, 2);
    assert_eq!(l.account("n")[0].positions.len(), 2);
    assert!(
        rel(
            l.account("a")[0].health_factor.unwrap_or(0.0),
            16_500.0 / 6000.0
        ) < 1e-15
    );
    assert_health_matches(&l);
    // 0 removes a position; a close removes them all.
    apply(
        &mut l,
        &[position("lend", "n", "USDC", PositionSide::Debt, 0.0)],
    );
    assert_eq!(l.account("n")[0].health_factor, None);
    apply(
        &mut l,
        &[Change::Close {
            protocol: "lend".into(),
            account: "a".into(),
        }],
    );
    let sm = l.summary();
    assert_eq!((sm.accounts, sm.debt_usd), (1, 0.0));
    assert!(rel(sm.collateral_usd, 2000.0) < 1e-15);
    assert_health_matches(&l);
    // A zero position on an unknown account opens nothing.
    apply(
        &mut l,
        &[position(
            "lend",
            "ghost",
            "ETH",
            PositionSide::Collateral,
            0.0,
        )],
    );
    assert!(l.account("ghost").is_empty());
}

#[test]
fn resolve_names_the_field() {
    let l = live(builtin());
    let err = |c: Change| match l.resolve(&c) {
        Err(e) => e,
        Ok(r) => panic!("{c:?} resolved to {r:?}"),
    };
    assert!(matches!(
        err(price("XYZ", 1.0)),
        LiveError::UnknownAsset { .. }
    ));
    assert!(err(price("XYZ", 1.0))
        .to_string()
        .starts_with("asset: unknown asset \"XYZ\""));
    assert!(matches!(
        err(price("ETH", -1.0)),
        LiveError::Number { field: "price", .. }
    ));
    assert!(matches!(
        err(price("ETH", f64::NAN)),
        LiveError::Number { field: "price", .. }
    ));
    assert!(matches!(
        err(price("ETH", f64::INFINITY)),
        LiveError::Number { field: "price", .. }
    ));
    assert!(matches!(
        err(price("stETH", 1.0)),
        LiveError::DerivedPrice { .. }
    ));
    assert!(matches!(
        err(price("DAI", 1.0)),
        LiveError::DerivedPrice { .. }
    ));
    let pos = |p: &str, a: &str, x: f64| position(p, "someone", a, PositionSide::Collateral, x);
    assert!(matches!(
        err(pos("nope", "ETH", 1.0)),
        LiveError::UnknownProtocol { .. }
    ));
    assert!(matches!(
        err(pos("aave-v3", "nope", 1.0)),
        LiveError::UnknownAsset { .. }
    ));
    assert!(matches!(
        err(pos("aave-v3", "ETH", -2.0)),
        LiveError::Number {
            field: "amount",
            ..
        }
    ));
    assert!(matches!(
        err(pos("aave-v3", "TBILL", 1.0)),
        LiveError::Position(_)
    ));
    assert!(matches!(
        err(pos("curve-3pool", "USDC", 1.0)),
        LiveError::Position(_)
    ));
    assert!(matches!(
        err(position(
            "aave-v3",
            "",
            "ETH",
            PositionSide::Collateral,
            1.0
        )),
        LiveError::AccountId { .. }
    ));
    assert!(matches!(
        err(position("aave-v3", "x", "AAVE", PositionSide::Debt, 1.0)),
        LiveError::Position(_)
    ));
    assert!(matches!(
        err(Change::Close {
            protocol: "aave-v3".into(),
            account: "nobody".into()
        }),
        LiveError::UnknownAccount { .. }
    ));
    assert!(l.resolve(&pos("aave-v3", "ETH", 1.0)).is_ok());
}

#[test]
fn a_batch_equals_its_changes_one_at_a_time() {
    let s = generated(500, 3);
    let ids: Vec<String> = s.accounts.id.iter().take(40).map(str::to_string).collect();
    let mut changes = vec![price("ETH", 1700.0)];
    for (i, id) in ids.iter().enumerate() {
        let p = &s.protocols[s.accounts.protocol[i] as usize].id;
        changes.push(position(
            p,
            id,
            "ETH",
            PositionSide::Collateral,
            3.0 + i as f64,
        ));
        if i % 3 == 0 {
            changes.push(price("WBTC", 50_000.0 + 100.0 * i as f64));
        }
        if i % 7 == 0 {
            changes.push(Change::Close {
                protocol: p.clone(),
                account: id.clone(),
            });
        }
    }
    changes.push(position(
        "aave-v3",
        "fresh",
        "ETH",
        PositionSide::Collateral,
        5.0,
    ));
    changes.push(position(
        "aave-v3",
        "fresh",
        "USDC",
        PositionSide::Debt,
        5000.0,
    ));
    let mut one = live(s.clone());
    apply(&mut one, &changes);
    let mut each = live(s);
    for c in &changes {
        apply(&mut each, std::slice::from_ref(c));
    }
    assert_eq!(one.snapshot(), each.snapshot());
    assert_eq!(bits(&health_all(&one)), bits(&health_all(&each)));
    let (a, b) = (one.summary(), each.summary());
    assert_eq!(a.below_one.accounts, b.below_one.accounts);
    assert!(rel(a.collateral_usd, b.collateral_usd) < 1e-12);
    assert!(rel(a.debt_usd, b.debt_usd) < 1e-12);
    assert_health_matches(&one);
}

#[test]
fn the_snapshot_rebuilds_the_same_state() {
    let mut l = live(builtin());
    apply(
        &mut l,
        &[
            price("ETH", 1600.0),
            position("aave-v3", "late", "WBTC", PositionSide::Collateral, 1.0),
            position("aave-v3", "late", "USDC", PositionSide::Debt, 30_000.0),
        ],
    );
    l.set_applied(42, 1_700_000_000_000);
    let again = live(l.snapshot());
    assert_eq!(again.snapshot(), l.snapshot());
    assert_eq!(bits(&health_all(&again)), bits(&health_all(&l)));
    assert_eq!(again.prices(), l.prices());
    assert_eq!(l.summary().seq, 42);
}

#[test]
fn checkpoints_round_trip_and_refuse_damage() {
    let base = builtin();
    let mut l = live(base.clone());
    apply(
        &mut l,
        &[
            price("ETH", 1600.0),
            price("USDC", 0.97),
            position("aave-v3", "late", "WBTC", PositionSide::Collateral, 1.0),
            position("aave-v3", "late", "USDC", PositionSide::Debt, 30_000.0),
            position("maker", "vault-x", "stETH", PositionSide::Collateral, 10.0),
        ],
    );
    l.set_applied(7, 123);
    let bytes = l.to_bytes();
    let back = Live::from_bytes(&base, &bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.snapshot(), l.snapshot());
    assert_eq!(back.prices(), l.prices());
    assert_eq!(bits(&health_all(&back)), bits(&health_all(&l)));
    assert_eq!(back.summary(), l.summary());
    assert_eq!(back.to_bytes(), bytes);
    // From a later snapshot of the same state too.
    let later = Live::from_bytes(&l.snapshot(), &bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(later.prices(), l.prices());
    // Damage: a flipped byte, truncation, garbage, another snapshot.
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 1;
    assert!(matches!(
        Live::from_bytes(&base, &flipped),
        Err(LiveError::Checkpoint(_))
    ));
    assert!(Live::from_bytes(&base, &bytes[..bytes.len() - 3]).is_err());
    assert!(Live::from_bytes(&base, b"nonsense").is_err());
    assert!(Live::from_bytes(&base, &[]).is_err());
    let other = two_asset_system(&[("a", &[("ETH", 1.0)], &[])]);
    assert!(matches!(
        Live::from_bytes(&other, &bytes),
        Err(LiveError::Checkpoint(_))
    ));
}

#[test]
fn views_describe_protocols_and_accounts() {
    let l = live(builtin());
    let views = l.protocols();
    assert_eq!(views.len(), l.base.protocols.len());
    let aave = l.protocol("aave-v3").unwrap_or_else(|| panic!());
    assert_eq!(aave.totals.health, "lending");
    assert_eq!(aave.histogram.len(), HF_BINS);
    assert!(aave.largest_accounts.len() <= 10 && !aave.largest_accounts.is_empty());
    assert!(aave
        .largest_accounts
        .windows(2)
        .all(|w| w[0].debt_usd >= w[1].debt_usd));
    let usdc = aave.reserves.iter().find(|r| r.asset == "USDC");
    assert!(usdc.is_some_and(|r| r.supplied_tokens >= 2.0e7));
    let maker = l.protocol("maker").unwrap_or_else(|| panic!());
    assert_eq!(maker.totals.health, "cdp");
    assert_eq!(maker.vault_types.len(), 2);
    assert!(maker.vault_types[0]
        .collateral_ratio
        .is_some_and(|cr| cr >= 1.45));
    let pool = l.protocol("curve-3pool").unwrap_or_else(|| panic!());
    assert_eq!(pool.totals.health, "none");
    assert!(pool.note.is_some() && pool.histogram.is_empty());
    assert!(l.protocol("nope").is_none());
    // Serialization: infinite health factors are null, not an error.
    let json = serde_json::to_string(&l.summary()).unwrap_or_default();
    assert!(json.contains("\"below_one\""));
    assert!(serde_json::to_string(&views).is_ok());
    assert!(serde_json::to_string(&l.ladder("ETH")).is_ok());
    let id = &l.accounts.id[0];
    let acc = l.account(id);
    assert!(!acc.is_empty() && serde_json::to_string(&acc).is_ok());
}

#[test]
fn bad_snapshots_are_refused() {
    let mut s = two_asset_system(&[("a", &[("ETH", 1.0)], &[])]);
    s.positions.amount[0] = f64::NAN;
    assert!(matches!(Live::new(s), Err(LiveError::Snapshot(_))));
    let mut s = two_asset_system(&[("a", &[("ETH", 1.0)], &[])]);
    s.positions.asset[0] = 99;
    assert!(matches!(Live::new(s), Err(LiveError::Snapshot(_))));
    let mut s = two_asset_system(&[("a", &[("ETH", 1.0)], &[])]);
    s.positions.account.push(0);
    assert!(matches!(Live::new(s), Err(LiveError::Snapshot(_))));
}

#[test]
fn a_batch_moving_every_price_matches() {
    // Large enough that the bands' buffers are merged (more than the merge's minimum re-keyed).
    let mut l = live(generated(12_000, 5));
    apply(
        &mut l,
        &[
            price("ETH", 1500.0),
            price("WBTC", 45_000.0),
            price("USDC", 0.98),
            price("USDT", 1.02),
            price("AAVE", 80.0),
            price("TBILL", 0.99),
        ],
    );
    assert_ladders_match(&l, &[0.1, 0.3]);
    assert_health_matches(&l);
}

#[test]
fn live_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Live>();
}

/// Uniform draws in `[0, 1)` from a xorshift stream seeded by `seed` (walks of the tests).
pub(super) fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` random position-change operations for [`random_changes`], of the kinds `4..4 + kinds`.
pub(super) fn random_ops(
    next: &mut impl FnMut() -> f64,
    n: usize,
    kinds: f64,
) -> Vec<(u8, u32, u8, u8, bool, f64)> {
    (0..n)
        .map(|_| {
            (
                4 + (next() * kinds) as u8,
                (next() * 1e9) as u32,
                (next() * 255.0) as u8,
                (next() * 255.0) as u8,
                next() < 0.5,
                next(),
            )
        })
        .collect()
}

/// Random changes to a generated system: price moves of the exogenous assets, position changes of
/// existing and new accounts (lending and CDP), closes; applied in random batches.
pub(super) fn random_changes(l: &Live, ops: &[(u8, u32, u8, u8, bool, f64)]) -> Vec<Change> {
    let s = &l.base;
    let exo: Vec<usize> = (0..s.assets.len())
        .filter(|&a| s.assets[a].kind.is_exogenous())
        .collect();
    let mut out = Vec::new();
    for &(kind, a, b, c, side, x) in ops {
        match kind % 10 {
            0..=3 => {
                let y = exo[b as usize % exo.len()];
                let p = l.pricing.base[y] * (0.55 + 0.7 * x);
                out.push(price(&s.assets[y].id, p));
            }
            4..=6 => {
                let k = a as usize % l.accounts();
                let p = l.accounts.protocol[k] as usize;
                let asset = c as usize % s.assets.len();
                let usd = 1000.0 + 60_000.0 * x;
                let tokens = usd / l.pricing.prices[asset].max(1e-9);
                let side = if side {
                    PositionSide::Collateral
                } else {
                    PositionSide::Debt
                };
                out.push(position(
                    &s.protocols[p].id,
                    &l.accounts.id[k],
                    &s.assets[asset].id,
                    side,
                    tokens,
                ));
            }
            7 => {
                let k = a as usize % l.accounts();
                let p = l.accounts.protocol[k] as usize;
                out.push(Change::Close {
                    protocol: s.protocols[p].id.clone(),
                    account: l.accounts.id[k].to_string(),
                });
            }
            _ => {
                let p = b as usize % s.protocols.len();
                let asset = c as usize % s.assets.len();
                let id = format!("new-{}", a % 50);
                let tokens = (1000.0 + 50_000.0 * x) / l.pricing.prices[asset].max(1e-9);
                let side = if side {
                    PositionSide::Collateral
                } else {
                    PositionSide::Debt
                };
                out.push(position(
                    &s.protocols[p].id,
                    &id,
                    &s.assets[asset].id,
                    side,
                    tokens,
                ));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn ladders_and_health_match_brute_force_after_random_changes(
        seed in 0u64..1000,
        ops in prop::collection::vec((any::<u8>(), any::<u32>(), any::<u8>(), any::<u8>(), any::<bool>(), 0.0f64..1.0), 1..120),
        batch in 1usize..40,
    ) {
        let mut l = live(generated(600, seed));
        // Query once so that the indexes exist and are then repaired, not rebuilt.
        let _ = l.ladder("ETH");
        let _ = l.ladder("WBTC");
        let changes = random_changes(&l, &ops);
        // The watchlist's copy, brought up to date after every batch, is always the snapshot.
        let mut copy = None;
        l.snapshot_into(&mut copy);
        for chunk in changes.chunks(batch) {
            let resolved: Vec<Resolved> = chunk.iter().filter_map(|c| l.resolve(c).ok()).collect();
            l.apply(&resolved);
            let _ = l.ladder("ETH");
            l.snapshot_into(&mut copy);
            prop_assert!(copy.as_ref() == Some(&l.snapshot()));
        }
        assert_health_matches(&l);
        assert_summary_matches(&l);
        assert_ladders_match(&l, &[0.0, 0.03, 0.1, 0.25, 0.5, 0.9, 1.0]);
        let back = Live::from_bytes(&generated(600, seed), &l.to_bytes());
        prop_assert!(back.is_ok_and(|b| b.snapshot() == l.snapshot()));
    }

    #[test]
    fn garbage_checkpoints_are_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let base = two_asset_system(&[("a", &[("ETH", 1.0)], &[])]);
        let mut framed = b"CASCLIVE".to_vec();
        framed.extend_from_slice(&bytes);
        prop_assert!(Live::from_bytes(&base, &framed).is_err());
        let _ = Live::from_bytes(&base, &bytes);
    }
}

#[test]
fn a_diversification_cap_is_refused_by_name() {
    let mut s = builtin();
    let p = s
        .protocols
        .iter_mut()
        .find(|p| p.id == "aave-v3")
        .unwrap_or_else(|| panic!("aave-v3 in the built-in system"));
    if let ProtocolParams::Lending(l) = &mut p.params {
        l.diversification_cap = Some(0.6);
    }
    match Live::new(s) {
        Err(LiveError::Snapshot(m)) => {
            assert!(
                m.contains("\"aave-v3\"") && m.contains("diversification_cap"),
                "{m}"
            )
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a capped pool was accepted"),
    }
}
