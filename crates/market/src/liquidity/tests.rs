use cascade_testkit::system::System;

use super::*;

/// ETH at 2000 on a square-root law (adv 1e7, k 1) and USDC at 1 without impact.
fn market() -> Market {
    let s = System::new()
        .name("hand")
        .asset(
            "ETH",
            "native",
            "price = 2000.0\nvolatility = 0.8\nliquidity = { curve = \"power_law\", adv_usd = 1.0e7, k = 1.0, alpha = 0.5 }",
        )
        .usdc()
        .build();
    Market::new(&s)
}

fn close(got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "got {got}, want {want} (±{rel} relative)"
    );
}

#[test]
fn impact_of_a_position_on_a_square_root_law() {
    // Selling b USD (at p_ref) from a fresh power law loses k·adv/(1+α)·(b/adv)^(1+α), a share
    // (k/1.5)·√(b/adv) of b. 100 ETH = 200 000 USD: (1/1.5)·√0.02 = 0.0942809042.
    let m = market();
    let p = m.prices();
    close(impact_of_position(&m, 0, 100.0, &p), 0.094_280_904_2, 1e-9);
    // No position, or no price: no impact.
    assert_eq!(impact_of_position(&m, 0, 0.0, &p), 0.0);
    assert_eq!(impact_of_position(&m, 0, 100.0, &[0.0, 1.0]), 0.0);
    // USDC's curve has no impact.
    assert_eq!(impact_of_position(&m, 1, 1.0e6, &p), 0.0);
}

#[test]
fn liquidity_within_bonus_on_square_root_law() {
    // Share = 0.05 ⇔ (1/1.5)·√(b/1e7) = 0.05 ⇔ √(b/1e7) = 0.075 ⇔ b = 1e7·0.005625 = 56 250 USD.
    let m = market();
    let p = m.prices();
    close(
        liquidity_within_slippage_usd(&m, 0, &p, 0.05),
        56_250.0,
        1e-6,
    );
    // A 2% budget: √(b/1e7) = 0.03 ⇔ b = 9 000 USD.
    close(
        liquidity_within_slippage_usd(&m, 0, &p, 0.02),
        9_000.0,
        1e-6,
    );
    // USDC's curve has no impact: unlimited. No price: nothing.
    assert_eq!(
        liquidity_within_slippage_usd(&m, 1, &p, 0.05),
        f64::INFINITY
    );
    assert_eq!(liquidity_within_slippage_usd(&m, 0, &[0.0, 1.0], 0.05), 0.0);
}
