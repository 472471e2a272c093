//! Tests of the tolerance index (docs/serve-live.md#what-a-price-update-recomputes): along walks of small moves,
//! moves that go back to an earlier price, large moves and position changes, every account's bin,
//! the histograms and the moved asset's ladder equal a recomputation from scratch after every
//! batch, through the rolling re-references of the slices, the rows' compaction and a rebuild.

use cascade_model::{HealthFactorRule, ProtocolParams};

use super::ladder::ascending;
use super::tests::{
    apply, assert_ladders_match, brute_ladder, generated, live, position, price, random_changes,
    random_ops, uniform,
};
use super::tol::{BLOCK, SLICES};
use super::*;

/// Every account's bin and every protocol's histogram counts against the positions.
fn assert_bins_exact(l: &Live) {
    let np = l.rules.len();
    let mut count = vec![[0u64; HF_BINS]; np];
    for k in 0..l.accounts() {
        let (p, bin) = (l.accounts.protocol[k] as usize, l.bin_now(k));
        assert_eq!(l.book.bin[k], bin, "account {k}: bin kept vs from scratch");
        if bin != agg::NO_BIN {
            count[p][bin as usize] += 1;
        }
    }
    for (p, c) in count.iter().enumerate() {
        assert_eq!(&l.agg[p].hist_accounts, c, "protocol {p}");
    }
}

/// The ladder of asset `y` (the batch's cached grids) and a single drop's figure (a query's pass)
/// against brute force.
fn assert_ladder_exact(l: &Live, y: usize) {
    let s = l.snapshot();
    let prices = l.prices().to_vec();
    let scale = l.summary().debt_usd.max(1.0);
    let id = &l.base.assets[y].id;
    let ladder = l.ladder(id).unwrap_or_else(|| panic!("{id}"));
    for pt in ladder.curve.iter().step_by(7).chain(&ladder.points) {
        let (n, debt) = brute_ladder(&s, &prices, y, pt.drop);
        assert_eq!(pt.accounts, n, "{id} at {}", pt.drop);
        assert!(
            (pt.debt_usd - debt).abs() <= 1e-9 * scale,
            "{id} at {}",
            pt.drop
        );
    }
    for d in [0.02, 0.17, 0.5, 0.8] {
        let (_, debt) = brute_ladder(&s, &prices, y, d);
        let mine = l.liquidatable_debt(id, d).unwrap_or(f64::NAN);
        assert!((mine - debt).abs() <= 1e-9 * scale, "{id} drop {d}");
    }
}

fn asset(l: &Live, id: &str) -> usize {
    l.asset_ids[id]
}

/// Seeded walk of single-asset moves: mostly small (0.1 – 2%), every fifth back to the price
/// before the last move, every eleventh large (±12%), every seventh batch with position changes;
/// bins checked after every batch, the moved asset's ladder after most.
fn walk(l: &mut Live, seed: u64, steps: usize) {
    let assets = ["ETH", "WBTC", "USDC", "AAVE"];
    let mut next = uniform(seed);
    let mut last: Vec<Option<f64>> = vec![None; assets.len()];
    for step in 0..steps {
        let i = (next() * assets.len() as f64) as usize % assets.len();
        let y = asset(l, assets[i]);
        let now = l.prices()[y];
        let p = match (step % 5, step % 11, last[i]) {
            (4, _, Some(back)) => back,
            (_, 10, _) => now * if next() < 0.5 { 0.88 } else { 1.12 },
            _ => now * (1.0 + (0.001 + 0.019 * next()) * if next() < 0.5 { -1.0 } else { 1.0 }),
        };
        last[i] = Some(now);
        let mut changes = vec![price(assets[i], p)];
        if step % 7 == 6 {
            let ops = random_ops(&mut next, 4, 4.0);
            changes.extend(random_changes(l, &ops));
        }
        let batch: Vec<Resolved> = changes.iter().filter_map(|c| l.resolve(c).ok()).collect();
        l.apply(&batch);
        assert_bins_exact(l);
        if step % 3 != 2 {
            assert_ladder_exact(l, y);
        }
    }
}

#[test]
fn a_walk_with_reversals_keeps_bins_and_ladders_exact() {
    let mut l = live(generated(2500, 31));
    assert!(l.keys.rows.len() > BLOCK * SLICES, "rows in every slice");
    walk(&mut l, 7, 3 * SLICES + 20);
    assert_ladders_match(&l, &[0.05, 0.3, 0.5]);
}

#[test]
fn a_walk_under_the_aave_v3_rule_keeps_bins_exact() {
    let mut s = generated(2000, 32);
    for p in &mut s.protocols {
        if let ProtocolParams::Lending(lp) = &mut p.params {
            lp.health_factor_rule = HealthFactorRule::AaveV3;
        }
    }
    let mut l = live(s);
    walk(&mut l, 8, 2 * SLICES + 10);
}

#[test]
fn a_small_move_recomputes_only_the_rows_near_a_boundary() {
    let mut l = live(generated(3000, 33));
    let y = asset(&l, "ETH");
    let holders = l.keys.rows.by_coord[y].len();
    let p = l.prices()[y];
    apply(&mut l, &[price("ETH", p * 1.0005)]);
    let mut bits = vec![0u64; l.keys.rows.len().div_ceil(64)];
    l.keys.tol.gather(y, &mut bits);
    let gathered = ascending(&bits).len();
    assert!(
        gathered > 0 && gathered * 10 < holders * 7,
        "{gathered} of {holders} rows recomputed"
    );
    // A large move takes every row (the ratios may have moved anywhere).
    apply(&mut l, &[price("ETH", p * 3.0)]);
    let mut bits = vec![0u64; l.keys.rows.len().div_ceil(64)];
    l.keys.tol.gather(y, &mut bits);
    assert!(ascending(&bits).len() * 10 >= holders * 9);
    assert_bins_exact(&l);
    assert_ladder_exact(&l, y);
}

#[test]
fn compacting_the_rows_and_rebuilding_re_reference_every_slice() {
    let mut l = live(generated(1500, 34));
    let many: Vec<usize> = (0..l.accounts())
        .filter(|&k| l.keys.row_of[k] != u32::MAX)
        .collect();
    assert!(!many.is_empty());
    // Every position change re-keys its account: its row dies and a new one is added, until the
    // dead rows are many enough to compact.
    let mut round = 0;
    while !l.keys.rows.due() && round < 40 {
        round += 1;
        let changes: Vec<Change> = many
            .iter()
            .map(|&k| {
                let i = l.book.slots(k).start;
                let p = l.accounts.protocol[k] as usize;
                let side = match l.book.side[i] {
                    cascade_model::Side::Collateral => PositionSide::Collateral,
                    cascade_model::Side::Debt => PositionSide::Debt,
                };
                position(
                    &l.base.protocols[p].id,
                    &l.accounts.id[k],
                    &l.base.assets[l.book.asset[i] as usize].id,
                    side,
                    l.book.amount[i] * 1.001,
                )
            })
            .collect();
        let len = l.keys.rows.len();
        apply(&mut l, &changes);
        if l.keys.rows.len() < len {
            break; // compacted
        }
    }
    assert!(round < 40, "the rows were never compacted");
    walk(&mut l, 9, SLICES + 5);
    // A price at 0 rebuilds everything; back to a price, then a walk.
    apply(&mut l, &[price("WBTC", 0.0)]);
    assert_bins_exact(&l);
    apply(&mut l, &[price("WBTC", 60_000.0)]);
    walk(&mut l, 10, SLICES + 5);
}
