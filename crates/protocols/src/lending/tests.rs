//! Skipping accounts changes nothing: a generated system's pools run round after round of price
//! moves with and without skipping, and every round's output and every position agree bit for bit.

use cascade_market::price::Market;
use cascade_model::Snapshot;

use super::LendingPool;
use crate::pool_rows::{PoolRows, SnapshotRows};
use crate::{ProtocolModel, ProtocolRound, RoundCtx};

fn system(accounts: usize) -> Snapshot {
    let (base, _) = cascade_io::builtin::system().expect("the built-in system loads");
    cascade_gen::generate(&base, accounts, 11)
}

/// A fixed sequence of moves: each round every asset is multiplied by a factor in [0.82, 1.04],
/// from a 64-bit linear congruential generator (deterministic, no seed file).
fn price_path(start: &[f64], rounds: usize) -> Vec<Vec<f64>> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut p = start.to_vec();
    let mut out = vec![p.clone()];
    for _ in 0..rounds {
        for v in p.iter_mut() {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            *v *= 0.82 + 0.22 * u;
        }
        out.push(p.clone());
    }
    out
}

/// Rounds `1..path.len()` of `pool`, each at its prices of `path` (the previous ones as the
/// round before).
pub(super) fn run(
    pool: &mut LendingPool,
    market: &Market,
    path: &[Vec<f64>],
) -> Vec<ProtocolRound> {
    (1..path.len())
        .map(|r| {
            let ctx = RoundCtx {
                round: r as u32,
                prices: &path[r],
                market,
                prev_prices: &path[r - 1],
                breakers: false,
            };
            pool.liquidate(&ctx)
        })
        .collect()
}

#[test]
fn skipping_accounts_changes_no_round_and_no_position() {
    skipping_changes_nothing(&system(4_000));
}

/// The same under Aave v3.3's liquidation rules (docs/lending.md#aave-v33-liquidations): skipping
/// relies only on HF ≥ 1 meaning no call, which v3.3 keeps.
#[test]
fn skipping_accounts_changes_nothing_under_aave_v33() {
    let mut s = system(4_000);
    for p in &mut s.protocols {
        if let cascade_model::ProtocolParams::Lending(l) = &mut p.params {
            l.liquidation_rules = cascade_model::LiquidationRuleSet::AaveV33;
        }
    }
    skipping_changes_nothing(&s);
    // The v3.3 rules change some call in this system: the check above is not the default's again.
    let base = system(4_000);
    let market = Market::new(&s);
    let path = price_path(&market.prices(), 8);
    let differs = (0..s.protocols.len())
        .filter(|&i| s.protocols[i].lending().is_some())
        .any(|i| {
            let (mut a, mut b) = (LendingPool::new(&s, i), LendingPool::new(&base, i));
            run(&mut a, &market, &path) != run(&mut b, &market, &path)
        });
    assert!(differs, "Aave v3.3 changed no call");
}

/// The same under a diversification cap (docs/lending.md#diversification-cap): the capped
/// borrowing power keeps the bound (it never falls when a price rises and scales with all prices).
#[test]
fn skipping_accounts_changes_nothing_under_a_diversification_cap() {
    let mut s = system(4_000);
    for p in &mut s.protocols {
        if let cascade_model::ProtocolParams::Lending(l) = &mut p.params {
            l.diversification_cap = Some(0.7);
        }
    }
    skipping_changes_nothing(&s);
}

fn skipping_changes_nothing(s: &Snapshot) {
    let s = s.clone();
    let market = Market::new(&s);
    let path = price_path(&market.prices(), 8);
    let mut pools = 0;
    let mut skipped_some = false;
    for (i, p) in s.protocols.iter().enumerate() {
        if p.lending().is_none() {
            continue;
        }
        pools += 1;
        let mut without = LendingPool::new(&s, i);
        without.skipping = false;
        let b = run(&mut without, &market, &path);
        assert!(
            b.iter().any(|r| !r.liquidations.is_empty()),
            "pool {}",
            p.id
        );
        // Skipping from the first round on (keys primed at the prices before the moves), and from
        // the second (no priming).
        for primed in [true, false] {
            let mut with = LendingPool::new(&s, i);
            if primed {
                with.prime(&path[0]);
            }
            let a = run(&mut with, &market, &path);
            assert_eq!(a, b, "pool {} primed {primed}", p.id);
            let bits = |x: &LendingPool| -> Vec<u64> {
                x.slots.iter().map(|e| e.amount.to_bits()).collect()
            };
            assert_eq!(bits(&with), bits(&without), "pool {}", p.id);
            assert_eq!(with.status, without.status);
            // The end state at prices after the last round (reading only the accounts that may be
            // underwater) is the same to the bit.
            let end: Vec<f64> = path[path.len() - 1].iter().map(|p| p * 0.97).collect();
            let (x, y) = (with.end_state(&end), without.end_state(&end));
            assert_eq!(x.shortfall_usd.to_bits(), y.shortfall_usd.to_bits());
            assert_eq!(
                (x.accounts_underwater, x.accounts_liquidated),
                (y.accounts_underwater, y.accounts_liquidated)
            );
            assert!(y.accounts_underwater > 0, "pool {}", p.id);
            // Some account was skippable after the last round: the test checks something.
            skipped_some |= (0..with.accounts()).any(|k| {
                let g = with.bound.factor[with.signatures.of(k)];
                super::skip::skippable(with.bound.key[k], g)
            });
        }
    }
    assert!(pools >= 2);
    assert!(
        skipped_some,
        "no account was skippable: the test checks nothing"
    );
}

/// The rows of `s` with those of its first account moved to the end: no longer sorted by account,
/// each account's rows in the same order.
fn first_account_last(s: &Snapshot) -> Snapshot {
    let mut moved = s.clone();
    let pos = &s.positions;
    let first = pos.account[0];
    let rows: Vec<usize> = (0..pos.len())
        .filter(|&r| pos.account[r] != first)
        .chain((0..pos.len()).filter(|&r| pos.account[r] == first))
        .collect();
    let m = &mut moved.positions;
    m.account = rows.iter().map(|&r| pos.account[r]).collect();
    m.asset = rows.iter().map(|&r| pos.asset[r]).collect();
    m.side = rows.iter().map(|&r| pos.side[r]).collect();
    m.amount = rows.iter().map(|&r| pos.amount[r]).collect();
    moved
}

/// A pool built from rows sorted by account (read as one range, or walked when its accounts take
/// turns with other pools') and from the same rows out of order (a counting sort by account)
/// holds the same accounts and the same slots; so does a CDP's.
#[test]
fn rows_in_any_order_give_the_same_pool() {
    let s = system(2_000);
    // The generated accounts take turns among the pools: each pool's rows are walked.
    let moved = first_account_last(&s);
    for i in (0..s.protocols.len()).filter(|&i| s.protocols[i].lending().is_some()) {
        assert!(matches!(
            super::layout(&s, i, &SnapshotRows::new(&s)).2,
            super::RowOrder::Rows(PoolRows::Sorted(_))
        ));
        assert!(matches!(
            super::layout(&moved, i, &SnapshotRows::new(&moved)).2,
            super::RowOrder::Rows(PoolRows::Mapped(_))
        ));
        let (a, b) = (LendingPool::new(&s, i), LendingPool::new(&moved, i));
        assert!(!a.slots.is_empty());
        assert_eq!(a.account, b.account);
        assert_eq!(a.starts, b.starts);
        assert_eq!(a.slots, b.slots);
        assert_eq!(a.terms, b.terms);
    }
    // A CDP's vaults find their rows the same way: the same vaults, collateral and debt (the
    // built-in system has vaults; generated ones have none).
    let (base, _) = cascade_io::builtin::system().expect("the built-in system loads");
    let base_moved = first_account_last(&base);
    let prices = Market::new(&base).prices();
    let cdps: Vec<usize> = (0..base.protocols.len())
        .filter(|&i| base.protocols[i].cdp().is_some())
        .collect();
    assert!(
        !cdps.is_empty(),
        "the built-in system has no CDP: nothing checked"
    );
    for i in cdps {
        let c = base.protocols[i].cdp().unwrap();
        let (a, b) = (
            crate::cdp::Cdp::new(&base, i, c),
            crate::cdp::Cdp::new(&base_moved, i, c),
        );
        let (ra, rb) = (a.account_results(&prices), b.account_results(&prices));
        assert!(
            ra.iter().any(|r| r.health.is_finite()),
            "no vault with debt"
        );
        assert_eq!(ra, rb);
        assert_eq!(a.tvl_usd(&prices), b.tvl_usd(&prices));
    }
    // Every account in one pool, so that its accounts are consecutive (the generated accounts take
    // turns among the pools).
    let p = (0..s.protocols.len())
        .find(|&i| s.protocols[i].lending().is_some())
        .unwrap_or(0);
    let mut one = s.clone();
    one.accounts.protocol.iter_mut().for_each(|x| *x = p as u32);
    let moved = first_account_last(&one);
    assert!(matches!(
        super::layout(&one, p, &SnapshotRows::new(&one)).2,
        super::RowOrder::Range(..)
    ));
    assert!(matches!(
        super::layout(&moved, p, &SnapshotRows::new(&moved)).2,
        super::RowOrder::Rows(PoolRows::Mapped(_))
    ));
    let (a, b) = (LendingPool::new(&one, p), LendingPool::new(&moved, p));
    assert_eq!(a.account.len(), s.accounts.len());
    assert_eq!(a.account, b.account);
    assert_eq!(a.starts, b.starts);
    assert_eq!(a.slots, b.slots);
    assert_eq!(a.terms, b.terms);
}

/// Deciding calls on the round's slippage bounds (lending/slippage_bound.rs) changes no round, no
/// position and no status: the same 8 rounds with every call's exact slippage computed.
#[test]
fn slippage_bounds_change_no_decision() {
    for buy_debt in [false, true] {
        let mut s = system(4_000);
        for p in &mut s.protocols {
            if let cascade_model::ProtocolParams::Lending(l) = &mut p.params {
                l.liquidators_buy_debt = buy_debt;
                // A cost of a few dollars puts many small calls near zero profit.
                l.liquidator_cost_usd = 3.0;
            }
        }
        let market = Market::new(&s);
        let path = price_path(&market.prices(), 8);
        let mut unprofitable = false;
        for (i, p) in s.protocols.iter().enumerate() {
            if p.lending().is_none() {
                continue;
            }
            let mut exact = LendingPool::new(&s, i);
            exact.bounding = false;
            let b = run(&mut exact, &market, &path);
            assert!(
                b.iter().any(|r| !r.liquidations.is_empty()),
                "pool {}",
                p.id
            );
            unprofitable |= b.iter().any(|r| r.accounts_unprofitable > 0);
            let mut bounded = LendingPool::new(&s, i);
            let a = run(&mut bounded, &market, &path);
            assert_eq!(a, b, "pool {} buy_debt {buy_debt}", p.id);
            let bits = |x: &LendingPool| -> Vec<u64> {
                x.slots.iter().map(|e| e.amount.to_bits()).collect()
            };
            assert_eq!(bits(&bounded), bits(&exact), "pool {}", p.id);
            assert_eq!(bounded.status, exact.status);
        }
        // Some call was refused for want of profit: both sides of the bounds were exercised.
        assert!(unprofitable, "buy_debt {buy_debt}");
    }
}
