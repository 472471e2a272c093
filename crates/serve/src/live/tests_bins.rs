//! Tests of the bins kept by price bands (docs/serve-live.md#what-a-price-update-recomputes): every
//! account's bin, the histograms, the accounts below 1 and the ladders against a recomputation
//! from scratch along seeded walks of single-asset and multi-asset moves and position changes.

use cascade_model::{HealthFactorRule, ProtocolParams};

use super::tests::{
    apply, assert_health_matches, assert_ladders_match, assert_summary_matches, generated, live,
    price, random_changes, random_ops, rel, two_asset_system, uniform,
};
use super::*;

/// Every account's bin, the histograms (accounts and debt per bin), the accounts below 1 and their
/// totals, against a recomputation of every account from its positions at the current prices; and
/// the summary and ladders against a state built afresh from the snapshot.
fn assert_bins_match(l: &Live) {
    let prices = l.prices().to_vec();
    let np = l.rules.len();
    let mut count = vec![[0u64; HF_BINS]; np];
    let mut debt = vec![[0.0f64; HF_BINS]; np];
    let mut below = BelowOne::default();
    for k in 0..l.accounts() {
        let p = l.accounts.protocol[k] as usize;
        let (s, hf) = l.sums_and_health(k);
        let bin = if l.book.len[k] == 0 || !l.rules[p].tracked() {
            agg::NO_BIN
        } else {
            agg::bin_of(hf)
        };
        assert_eq!(
            l.book.bin[k], bin,
            "account {k} ({}): bin {} kept, {bin} from scratch (HF {hf})",
            &l.accounts.id[k], l.book.bin[k]
        );
        if bin != agg::NO_BIN {
            count[p][bin as usize] += 1;
            debt[p][bin as usize] += s.debt;
        }
        if bin == 0 {
            below.accounts += 1;
            below.debt_usd += s.debt;
            below.collateral_usd += s.collateral;
        }
    }
    let scale = l.summary().debt_usd.max(1.0);
    for v in l.protocols() {
        let p = l.protocol_ids[&v.totals.id];
        for (b, h) in v.histogram.iter().enumerate() {
            assert_eq!(h.accounts, count[p][b], "{} bin {b}", v.totals.id);
            assert!(
                (h.debt_usd - debt[p][b]).abs() <= 1e-9 * scale,
                "{} bin {b}: debt {} kept, {} from scratch",
                v.totals.id,
                h.debt_usd,
                debt[p][b]
            );
        }
    }
    let sm = l.summary();
    assert_eq!(sm.below_one.accounts, below.accounts);
    assert!((sm.below_one.debt_usd - below.debt_usd).abs() <= 1e-9 * scale);
    assert!((sm.below_one.collateral_usd - below.collateral_usd).abs() <= 1e-9 * scale);
    let _ = prices;
    // A state built afresh from the snapshot has the same figures.
    let fresh = live(l.snapshot());
    let fs = fresh.summary();
    assert_eq!(fs.below_one.accounts, sm.below_one.accounts);
    assert!(rel(fs.collateral_usd, sm.collateral_usd) < 1e-12);
    assert!(rel(fs.debt_usd, sm.debt_usd) < 1e-12);
    for asset in ["ETH", "WBTC", "USDC", "stETH"] {
        let (a, b) = (l.ladder(asset), fresh.ladder(asset));
        let (Some(a), Some(b)) = (a, b) else {
            continue;
        };
        for (x, y) in a.curve.iter().zip(&b.curve) {
            assert_eq!(x.accounts, y.accounts, "{asset} at {}", x.drop);
            assert!((x.debt_usd - y.debt_usd).abs() <= 1e-9 * scale);
        }
    }
}

/// Seeded walk: single-asset moves (the bands' path), now and then a batch moving several assets
/// or changing positions, checked against brute force along the way.
fn walk(mut l: Live, seed: u64, steps: usize, step_size: f64) -> Live {
    let exo: Vec<usize> = (0..l.base.assets.len())
        .filter(|&a| l.base.assets[a].kind.is_exogenous())
        .collect();
    let mut next = uniform(seed);
    let reference: Vec<f64> = l.pricing.base.clone();
    for step in 0..steps {
        let mut changes = Vec::new();
        let multi = step % 9 == 8;
        for (i, &y) in exo.iter().enumerate() {
            if multi || i == step % exo.len() {
                let p = l.pricing.base[y] * (1.0 + step_size * (2.0 * next() - 1.0));
                let p = p.clamp(0.5 * reference[y], 1.5 * reference[y]);
                changes.push(price(&l.base.assets[y].id, p));
            }
        }
        if step % 7 == 3 {
            let ops = random_ops(&mut next, 6, 6.0);
            changes.extend(random_changes(&l, &ops));
        }
        let batch: Vec<Resolved> = changes.iter().filter_map(|c| l.resolve(c).ok()).collect();
        l.apply(&batch);
        if step % 25 == 24 {
            assert_bins_match(&l);
        }
    }
    assert_bins_match(&l);
    assert_ladders_match(&l, &[0.0, 0.03, 0.1, 0.25, 0.5]);
    l
}

#[test]
fn bins_histograms_and_ladders_match_brute_force_along_a_walk() {
    let l = walk(live(generated(2000, 21)), 1, 150, 0.04);
    assert_health_matches(&l);
    assert_summary_matches(&l);
}

#[test]
fn bins_match_under_the_aave_v3_rule_along_a_walk() {
    let mut s = generated(1500, 8);
    for p in &mut s.protocols {
        if let ProtocolParams::Lending(lp) = &mut p.params {
            lp.health_factor_rule = HealthFactorRule::AaveV3;
        }
    }
    walk(live(s), 2, 120, 0.03);
}

#[test]
fn a_price_at_zero_and_back_recomputes_everything() {
    let mut l = live(generated(800, 4));
    apply(&mut l, &[price("WBTC", 0.0)]);
    assert!(l.degenerate);
    assert_bins_match(&l);
    assert_ladders_match(&l, &[0.1, 0.3]);
    apply(&mut l, &[price("ETH", 1900.0)]);
    assert_bins_match(&l);
    apply(&mut l, &[price("WBTC", 58_000.0)]);
    assert!(!l.degenerate);
    let l = walk(l, 3, 40, 0.05);
    assert_health_matches(&l);
}

#[test]
fn bands_by_hand() {
    // One account, 10 ETH (LT 0.825 at 2,000: W = 16,500) against 12,000 USDC: HF = 1.375, bin
    // [1.25, 1.5). It leaves the bin below ETH = 12,000·1.25/8.25 = 1,818.18 and above
    // 12,000·1.5/8.25 = 2,181.82: a move to 1,820 recomputes nothing, to 1,815 moves it.
    let mut l = live(two_asset_system(&[(
        "a",
        &[("ETH", 10.0)],
        &[("USDC", 12_000.0)],
    )]));
    let k = l.find(0, "a").map_or(usize::MAX, |k| k as usize);
    let bin = |l: &Live| l.book.bin[k];
    assert_eq!(bin(&l), 4);
    apply(&mut l, &[price("ETH", 1820.0)]);
    assert_eq!(bin(&l), 4);
    apply(&mut l, &[price("ETH", 1815.0)]);
    assert_eq!(bin(&l), 3);
    apply(&mut l, &[price("ETH", 2185.0)]);
    assert_eq!(bin(&l), 5);
    // USDC at 1.01 moves the ratio the other way: 16,500·(2185/2000)/(12,000·1.01) = 1.487.
    apply(&mut l, &[price("USDC", 1.01)]);
    assert_eq!(bin(&l), 4);
    assert_bins_match(&l);
}

#[test]
fn figures_do_not_depend_on_the_number_of_threads() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        pool.install(|| {
            // More accounts than a chunk, so that several chunks are merged.
            let mut l = live(generated(30_000, 13));
            for (i, p) in [1900.0, 2050.0, 1700.0, 2300.0].iter().enumerate() {
                apply(&mut l, &[price("ETH", *p)]);
                apply(&mut l, &[price("WBTC", 60_000.0 * (1.0 - 0.03 * i as f64))]);
                apply(
                    &mut l,
                    &[price("USDC", 1.0 - 0.01 * i as f64), price("AAVE", 90.0)],
                );
            }
            let ladders: Vec<Ladder> = ["ETH", "WBTC", "USDC"]
                .iter()
                .filter_map(|a| l.ladder(a))
                .collect();
            (l.summary(), l.protocols(), ladders)
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn bins_match_on_the_builtin_system_along_a_walk() {
    // Vaults (debt at par), an LP token and a receipt token as collateral, e-mode loops.
    let l = walk(live(super::tests::builtin()), 5, 120, 0.05);
    assert_health_matches(&l);
}
