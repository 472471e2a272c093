use super::*;
use crate::series::parse_prices;

fn system() -> Snapshot {
    cascade_io::builtin::system().unwrap().0
}

/// Hourly ETH returns 0.01, −0.02, 0.03 and WBTC twice those; FOO matches no asset.
fn series() -> PriceSeries {
    let mut text = String::from("timestamp,ETH,WBTC,FOO\n");
    let mut le = 0.0f64;
    for (i, r) in [0.0, 0.01, -0.02, 0.03].iter().enumerate() {
        le += r;
        text += &format!("{},{},{},1\n", i * 3600, le.exp(), (2.0 * le).exp());
    }
    parse_prices(text.as_bytes(), "h.csv").unwrap()
}

/// EWMA, λ = 0.9: σ²_hour = 4.743e-4 (ewma tests), annualised √(4.743e-4·8760) = 2.0383523;
/// WBTC's returns are doubled, so its volatility doubles and the correlation is 1.
#[test]
fn ewma_fills_volatility_and_correlation() {
    let mut snap = system();
    let eth = snap.asset_idx("ETH").unwrap();
    let wbtc = snap.asset_idx("WBTC").unwrap();
    let usdc = snap.asset_idx("USDC").unwrap();
    let usdc_before = snap.assets[usdc].volatility;
    let blocks = snap.correlations.len();
    let rep = fill_snapshot(&mut snap, &[series()], VolModel::Ewma { lambda: 0.9 }, None).unwrap();
    let want = (4.743e-4f64 * 8760.0).sqrt();
    assert!((snap.assets[eth].volatility - want).abs() < 1e-9);
    assert!((snap.assets[wbtc].volatility - 2.0 * want).abs() < 1e-9);
    assert_eq!(snap.assets[usdc].volatility, usdc_before);
    assert_eq!(rep.volatilities[eth].source, "history");
    assert_eq!(rep.volatilities[eth].hand_set, 0.75);
    assert_eq!(rep.volatilities[eth].model, "ewma(lambda=0.9)");
    assert_eq!(rep.volatilities[eth].returns, 3);
    assert_eq!(rep.volatilities[usdc].source, "hand-set (no series)");
    assert_eq!(rep.unmatched_series, ["h.csv: FOO"]);
    assert_eq!(snap.correlations.len(), blocks + 1);
    let last = &snap.correlations[blocks];
    assert_eq!(last.assets, [eth, wbtc]);
    assert!((last.matrix[0][1] - 1.0).abs() < 1e-12);
    assert_eq!(rep.correlations.len(), 1);
}

/// A window shorter than the series uses the last returns only: window 1 → σ²_hour from the
/// single return 0.03, seed 9e-4, then 0.9·9e-4 + 0.1·9e-4 = 9e-4.
#[test]
fn window_takes_the_last_returns() {
    let mut snap = system();
    let rep = fill_snapshot(
        &mut snap,
        &[series()],
        VolModel::Ewma { lambda: 0.9 },
        Some(1),
    )
    .unwrap();
    let eth = snap.asset_idx("ETH").unwrap();
    assert!((snap.assets[eth].volatility - (9e-4f64 * 8760.0).sqrt()).abs() < 1e-9);
    assert_eq!(rep.volatilities[eth].from_s, Some(7200.0));
}

#[test]
fn garch_needs_enough_history() {
    let mut snap = system();
    assert!(matches!(
        fill_snapshot(&mut snap, &[series()], VolModel::Garch, None),
        Err(ModelError::TooFewReturns { .. })
    ));
}
