//! The diversification cap (docs/lending.md#diversification-cap): no collateral asset provides more
//! than its cap `s` of an account's borrowing power `B = Σ_a min(b_a, s_a·B)`. Every value below is
//! worked by hand from that equation.

use super::*;
use cascade_protocols::lending::{capped_borrowing_power, health_factor};

/// A collateral entry worth `usd` at price 1 with threshold `lt` and cap `cap`.
fn coll(asset: u32, usd: f64, lt: f64, cap: f64) -> Entry {
    Entry {
        cap,
        ..entry(asset, Side::Collateral, lt, 0.05, usd)
    }
}

fn debt(usd: f64) -> Entry {
    entry(9, Side::Debt, 0.0, 0.0, usd)
}

const P: [f64; 10] = [1.0; 10];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn a_dominant_asset_is_cut_to_its_share() {
    // b_ETH = 1000·0.8 = 800, b_WBTC = 200·0.75 = 150; uncapped B = 950, ETH's share 0.84 > 0.6.
    // ETH capped: B = 150 / (1 − 0.6) = 375 ≥ t_WBTC = 150/0.6 = 250, so B = 375
    // (ETH gives 0.6·375 = 225, WBTC 150). Debt 300: HF = 375/300 = 1.25 (uncapped 950/300).
    let e = [
        coll(0, 1000.0, 0.8, 0.6),
        coll(1, 200.0, 0.75, 0.6),
        debt(300.0),
    ];
    assert!(close(capped_borrowing_power(&e[..], &P), 375.0));
    assert!(close(health_factor(&e[..], &P), 1.25));
}

#[test]
fn one_asset_alone_gives_no_borrowing_power() {
    // B = min(b, 0.5·B) has the single root B = 0: with a cap below 1 an account needs a mix.
    let e = [coll(0, 1000.0, 0.8, 0.5), debt(100.0)];
    assert_eq!(capped_borrowing_power(&e[..], &P), 0.0);
    assert_eq!(health_factor(&e[..], &P), 0.0);
    // It is liquidated, and at HF 0 ≤ 0.95 the whole debt may be repaid: 100 repaid, 105 seized.
    match next_step(&e[..], &RULES, &P) {
        Step::Liquidate { repay, seize, .. } => {
            assert!(close(repay, 100.0));
            assert!(close(seize, 100.0 * 1.05));
        }
        other => panic!("expected a liquidation, got {other:?}"),
    }
}

#[test]
fn caps_bind_in_turn() {
    // Cap 0.5, b = (600, 300, 100): uncapped 1000 puts 600 > 500. First capped:
    // B = (300 + 100)/(1 − 0.5) = 800 ≥ t₂ = 300/0.5 = 600: B = 800 (400, 300, 100).
    let e = [
        coll(0, 600.0, 1.0, 0.5),
        coll(1, 300.0, 1.0, 0.5),
        coll(2, 100.0, 1.0, 0.5),
    ];
    assert!(close(capped_borrowing_power(&e[..], &P), 800.0));
    // Cap 0.4, b = (500, 400, 100): first capped gives B = 500/0.6 = 833.3 < t₂ = 400/0.4 = 1000,
    // so the second is capped too: B = 100/(1 − 0.8) = 500 ≥ t₃ = 250: B = 500 (200, 200, 100).
    let e = [
        coll(0, 500.0, 1.0, 0.4),
        coll(1, 400.0, 1.0, 0.4),
        coll(2, 100.0, 1.0, 0.4),
    ];
    assert!(close(capped_borrowing_power(&e[..], &P), 500.0));
}

#[test]
fn an_exempt_asset_still_limits_the_capped_one() {
    // ETH cap 0.5, USDC exempt (cap 1): b = (900, 100). Uncapped 1000 < t_ETH = 1800; ETH capped:
    // B = 100/(1 − 0.5) = 200 ≥ t_USDC = 100: B = 200 (ETH 100, USDC 100).
    let e = [coll(0, 900.0, 1.0, 0.5), coll(1, 100.0, 1.0, 1.0)];
    assert!(close(capped_borrowing_power(&e[..], &P), 200.0));
}

#[test]
fn a_cap_that_does_not_bind_changes_no_bit() {
    // b = (400, 250), shares 0.615 and 0.385 under a 0.65 cap: the health factor is the uncapped
    // sum in position order, bit for bit.
    let capped = [
        coll(0, 500.0, 0.8, 0.65),
        coll(1, 312.5, 0.8, 0.65),
        debt(400.0),
    ];
    let free = [
        coll(0, 500.0, 0.8, 1.0),
        coll(1, 312.5, 0.8, 1.0),
        debt(400.0),
    ];
    assert_eq!(
        health_factor(&capped[..], &P).to_bits(),
        health_factor(&free[..], &P).to_bits()
    );
}

#[test]
fn positions_in_one_asset_count_together() {
    // ETH in two entries (500 + 500) is the first test's 1000 of ETH: B = 375.
    let e = [
        coll(0, 500.0, 0.8, 0.6),
        coll(1, 200.0, 0.75, 0.6),
        coll(0, 500.0, 0.8, 0.6),
        debt(300.0),
    ];
    assert!(close(capped_borrowing_power(&e[..], &P), 375.0));
}

#[test]
fn many_assets_beyond_the_stack_buffer() {
    // Ten assets of b = 100 under a 0.25 cap: no share above 0.1, B = 1000.
    let e: Vec<Entry> = (0..10).map(|a| coll(a, 100.0, 1.0, 0.25)).collect();
    assert!(close(capped_borrowing_power(&e, &P), 1000.0));
    // Plus one of 1000: uncapped 2000 puts it at 0.5; capped, B = 1000/(1 − 0.25) = 1333.3 ≥ 400.
    let mut e = e;
    e.push(coll(10, 1000.0, 1.0, 0.25));
    let p = [1.0; 11];
    assert!(close(capped_borrowing_power(&e, &p), 1000.0 / 0.75));
}

proptest! {
    /// `B` solves its equation, never exceeds the uncapped sum, scales with prices and never falls
    /// when an asset's collateral grows.
    #[test]
    fn the_capped_power_is_the_fixed_point(
        b in prop::collection::vec(0.0f64..1e6, 1..12),
        caps in prop::collection::vec(0.05f64..=1.0, 12),
        scale in 0.1f64..10.0,
        grow in 0usize..12,
    ) {
        let e: Vec<Entry> = b.iter().enumerate().map(|(a, &x)| coll(a as u32, x, 1.0, caps[a])).collect();
        let p = vec![1.0; e.len()];
        let big_b = capped_borrowing_power(&e, &p);
        let sum: f64 = b.iter().sum();
        prop_assert!(big_b >= 0.0 && big_b <= sum * (1.0 + 1e-12));
        let rhs: f64 = b.iter().zip(&caps).map(|(&x, &s)| x.min(s * big_b)).sum();
        prop_assert!((rhs - big_b).abs() <= 1e-9 * sum.max(1.0), "B = {big_b}, Σ min = {rhs}");
        let ps = vec![scale; e.len()];
        let scaled = capped_borrowing_power(&e, &ps);
        prop_assert!((scaled - scale * big_b).abs() <= 1e-9 * (scale * sum).max(1.0));
        let mut more = e.clone();
        let k = grow % more.len();
        more[k].amount *= 2.0;
        prop_assert!(capped_borrowing_power(&more, &p) >= big_b * (1.0 - 1e-12));
    }
}
