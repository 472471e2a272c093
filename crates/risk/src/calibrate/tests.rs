use super::*;
use cascade_testkit::system::{System, ETH_RESERVE, USDC_RESERVE};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

macro_rules! assert_close {
    ($a:expr, $b:expr, $tol:expr) => {{
        let (a, b): (f64, f64) = ($a, $b);
        assert!(close(a, b, $tol), "{} = {a}, expected {b}", stringify!($a));
    }};
}

#[test]
fn z_alpha_matches_tables() {
    assert_close!(z_alpha(0.95), 1.6448536270, 1e-9);
    assert_close!(z_alpha(0.99), 2.3263478740, 1e-9);
    assert_close!(z_alpha(0.999), 3.0902323062, 1e-9);
    // The other tail, and the far tail (r = √(−ln 1e-12) = 5.26 > 5): Φ⁻¹(1e-12) = −7.0344838253
    // (bisection on Φ(z) = erfc(−z/√2)/2).
    assert_close!(z_alpha(0.05), -1.6448536270, 1e-9);
    assert_close!(z_alpha(1e-12), -7.0344838253, 1e-9);
    assert_eq!(z_alpha(0.5), 0.0);
    assert_eq!(z_alpha(0.0), f64::NEG_INFINITY);
    assert_eq!(z_alpha(1.0), f64::INFINITY);
    assert!(z_alpha(f64::NAN).is_nan());
}

#[test]
fn haircut_and_max_lt_by_hand() {
    // σ = 0.8, T = 1 day, α = 99%: z·σ·√(1/365) = 2.3263478740·0.8·0.0523423923 = 0.0974132904;
    // h = 1 − e^−0.0974132904 + 0.02 = 0.0928190005 + 0.02 = 0.1128190005;
    // LB 0.05: max LT = (1 − 0.1128190005)/1.05 = 0.8449342852.
    let h = liquidity_adjusted_haircut(0.8, 1.0, 0.99, 0.02);
    assert_close!(h, 0.1128190005, 1e-9);
    assert_close!(max_liquidation_threshold(h, 0.05), 0.8449342852, 1e-9);
    // No volatility, no impact: h = 0 and LT ≤ 1/1.05.
    assert_eq!(liquidity_adjusted_haircut(0.0, 1.0, 0.99, 0.0), 0.0);
    assert_close!(max_liquidation_threshold(0.0, 0.05), 1.0 / 1.05, 1e-15);
    // Clamped: an impact of 1.5 is the whole value.
    assert_eq!(liquidity_adjusted_haircut(0.8, 1.0, 0.99, 1.5), 1.0);
    assert_eq!(max_liquidation_threshold(1.0, 0.05), 0.0);
}

#[test]
fn smart_ltv_published_example() {
    // B.Protocol's exact test of SmartLTV.sol: ℓ = 1M, σ = 0.10, d = 200k, β = 0.05, c = 3:
    // 3·0.10·√(200k/1M) = 0.3·0.4472135955 = 0.1341640786; e^−0.1341640786 = 0.8744465748;
    // − 0.05 = 0.8244465748 (the contract's 0.82444657 to 1e-8).
    assert_close!(smart_ltv(0.10, 1.0e6, 2.0e5, 0.05, 3.0), 0.8244465748, 1e-9);
    // No liquidity: nothing can be lent. No ceiling / endless liquidity: 1 − β.
    assert_eq!(smart_ltv(0.10, 0.0, 2.0e5, 0.05, 3.0), 0.0);
    assert_close!(smart_ltv(0.10, 1.0e6, 0.0, 0.05, 3.0), 0.95, 1e-15);
    assert_close!(
        smart_ltv(0.10, f64::INFINITY, 2.0e5, 0.05, 3.0),
        0.95,
        1e-15
    );
    // A bonus above the exponential is floored at 0, as the contract does.
    assert_eq!(smart_ltv(5.0, 1.0, 1.0e6, 0.05, 3.0), 0.0);
}

/// ETH (σ 0.8) on a square-root law (adv 1e7, k 1) and USDC (σ 0) without impact; one lending
/// pool with 60 + 40 ETH of collateral and a 500-ETH supply cap.
fn system() -> Snapshot {
    System::new()
        .name("hand")
        .asset(
            "ETH",
            "native",
            "price = 2000.0\nvolatility = 0.8\nliquidity = { curve = \"power_law\", adv_usd = 1.0e7, k = 1.0, alpha = 0.5 }",
        )
        .usdc()
        .lending("lend", &[])
        .reserve(ETH_RESERVE, "supply_cap = 500.0")
        .reserve(USDC_RESERVE, "")
        .account("a", "lend", &[("ETH", 60.0)], &[("USDC", 50000.0)])
        .account("b", "lend", &[("ETH", 40.0)], &[("USDC", 30000.0)])
        .build()
}

#[test]
fn closed_form_on_tiny_system() {
    let s = system();
    let c = closed_form(&s, 0.99, 1.0);
    assert_eq!(c.len(), 2);

    // ETH: position 60 + 40 = 100 ETH = 200 000 USD; impact = (1/1.5)·√(200 000/1e7) =
    // 0.6666667·0.1414214 = 0.0942809042. h = 1 − e^−0.0974132904 + 0.0942809042 = 0.1870999047;
    // max LT = (1 − 0.1870999047)/1.05 = 0.7741905670.
    let eth = &c[0];
    assert_eq!((eth.protocol.as_str(), eth.asset.as_str()), ("lend", "ETH"));
    assert_eq!(
        (eth.current_ltv, eth.current_lt, eth.bonus),
        (0.80, 0.825, 0.05)
    );
    assert_close!(eth.position_tokens, 100.0, 1e-12);
    assert_close!(eth.impact, 0.0942809042, 1e-9);
    assert_close!(eth.haircut, 0.1870999047, 1e-9);
    assert_close!(eth.max_lt, 0.7741905670, 1e-9);
    // SmartLTV: d = 500 ETH·2000 = 1e6 USD, ℓ = 56 250 USD, c = z_99 = 2.3263478740,
    // σ = 0.8·√(1/365) = 0.0418739138: exponent = 2.3263478740·0.0418739138·√(1e6/56 250)
    // = 0.0974132904·4.2163702135 = 0.4107304959; e^−0.4107304959 − 0.05 = 0.6131656334.
    assert_close!(eth.smart_ltv.unwrap_or(f64::NAN), 0.6131656334, 1e-8);

    // USDC: no collateral posted, no volatility: h = 0, max LT = 1/1.05; no cap, no SmartLTV.
    let usdc = &c[1];
    assert_eq!(usdc.asset, "USDC");
    assert_eq!(usdc.position_tokens, 0.0);
    assert_eq!(usdc.impact, 0.0);
    assert_eq!(usdc.haircut, 0.0);
    assert_close!(usdc.max_lt, 1.0 / 1.05, 1e-15);
    assert_eq!(usdc.smart_ltv, None);
}
