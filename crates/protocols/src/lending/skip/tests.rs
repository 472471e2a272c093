use super::*;

/// Three accounts over assets 0 (ETH), 1 (USDC), 2 (WBTC): ETH against USDC, WBTC and ETH against
/// USDC, and USDC with no debt.
fn three() -> (Vec<Slot>, Vec<Term>, Vec<usize>) {
    let terms = vec![
        Term {
            side: Side::Collateral,
            lt: 0.8,
            lb: 0.05,
            cap: 1.0,
        },
        Term {
            side: Side::Debt,
            lt: 0.0,
            lb: 0.0,
            cap: 1.0,
        },
    ];
    let slot = |asset: u32, term: u32| Slot {
        amount: 1.0,
        asset,
        term,
    };
    let slots = vec![
        slot(0, 0),
        slot(1, 1),
        slot(2, 0),
        slot(0, 0),
        slot(1, 1),
        slot(1, 0),
    ];
    (slots, terms, vec![0, 2, 5, 6])
}

#[test]
fn accounts_holding_the_same_assets_share_a_signature_and_its_factor() {
    let (slots, terms, starts) = three();
    let sig = Signatures::new(&slots, &terms, &starts, 3);
    assert_eq!((sig.of(0), sig.of(1), sig.of(2)), (0, 1, 2));
    let mut b = HealthyBound::default();
    b.advance(&[2000.0, 1.0, 60000.0], &sig, 3);
    assert_eq!(b.factor, [1.0, 1.0, 1.0]);
    // ETH −20%, USDC +1%, WBTC −50%.
    b.advance(&[1600.0, 1.01, 30000.0], &sig, 3);
    let want = [0.8 / 1.01, 0.5 / 1.01, 1.0];
    for (g, w) in b.factor.iter().zip(want) {
        assert!((g - w).abs() < 1e-15, "{g} {w}");
    }
    // Then ETH back up 25%: ETH against USDC gains the 25% (0.8 · 1.25 = 1); WBTC and ETH against
    // USDC keeps its least-moved collateral, WBTC (× 1).
    b.advance(&[2000.0, 1.01, 30000.0], &sig, 3);
    assert!((b.factor[0] - 1.0 / 1.01).abs() < 1e-15);
    assert!((b.factor[1] - 0.5 / 1.01).abs() < 1e-15);
    // A collateral price at zero ends skipping for its signatures.
    b.advance(&[0.0, 1.01, 30000.0], &sig, 3);
    assert_eq!(b.factor[0], 0.0);
    assert_eq!(b.factor[1], 0.0);
    assert!(b.factor[2] > 0.0);
    b.advance(&[2000.0, 1.01, 30000.0], &sig, 3);
    assert_eq!(b.factor[0], 0.0);
}

#[test]
fn more_than_64_assets_fall_back_to_one_signature_over_every_asset() {
    let (slots, terms, starts) = three();
    let sig = Signatures::new(&slots, &terms, &starts, 65);
    assert_eq!((sig.of(0), sig.of(1), sig.of(2)), (0, 0, 0));
    let mut r = vec![1.0; 65];
    r[3] = 0.5;
    r[64] = 1.25;
    assert!((sig.factors(&r)[0] - 0.4).abs() < 1e-15);
}

#[test]
fn an_account_is_skipped_only_while_its_bound_clears_one() {
    // Found at HF 1.25 with G = 1: skipped while G ≥ 0.8 (plus the margin), not at 0.8 exactly.
    let key = key_of(1.0, 1.25);
    assert!(f64::from(key) >= 0.8);
    assert!(skippable(key, 0.81));
    assert!(!skippable(key, 0.8));
    // Below 1, no debt (HF ∞), or a dead factor.
    assert!(!skippable(key_of(1.0, 0.99), 1.0));
    assert!(skippable(key_of(0.5, f64::INFINITY), 1e-300));
    assert_eq!(key_of(0.0, 2.0), f32::INFINITY);
    assert_eq!(key_of(1.0, f64::NAN), f32::INFINITY);
    assert!(!skippable(0.0, 0.0));
}
