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

/// A hourly generic file of one asset whose log returns are `r`.
fn series_of(name: &str, r: &[f64]) -> PriceSeries {
    let mut text = format!("timestamp,{name}\n0,100\n");
    let mut lp = 100f64.ln();
    for (i, x) in r.iter().enumerate() {
        lp += x;
        text += &format!("{},{}\n", (i + 1) * 3600, lp.exp());
    }
    parse_prices(text.as_bytes(), "sim.csv").unwrap()
}

/// i.i.d. normal hourly returns with σ = 1% (seed 5): every model should give about
/// 0.01·√8760 = 0.9359 a year, within its sampling error. EWMA at λ = 0.94 weighs about
/// (1+λ)/(1−λ) ≈ 32 returns, so its σ has a relative error of about √(2(1−λ)/(1+λ))/2 ≈ 12%:
/// tolerance 25%. GARCH on 3,000 returns (no clustering to find, so close to the sample variance,
/// error ≈ 1.3%): 5%. The quantile model (σ = q/z at 1%; the 1% quantile of ~3,000 draws has an
/// error of about 5%): 12%. (Seed 5 gives 0.854, 0.932 and 0.899.)
#[test]
fn every_model_finds_a_known_constant_volatility() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let normal = Normal::new(0.0, 0.01).unwrap();
    let r: Vec<f64> = (0..3000).map(|_| normal.sample(&mut rng)).collect();
    let s = series_of("ETH", &r);
    let want = 0.01 * 8760f64.sqrt();
    for (model, tol) in [
        (VolModel::Ewma { lambda: 0.94 }, 0.25),
        (VolModel::Garch, 0.05),
        (
            VolModel::Quantile {
                confidence: 0.99,
                feature_window: 24,
            },
            0.12,
        ),
    ] {
        let mut snap = system();
        let rep = fill_snapshot(&mut snap, std::slice::from_ref(&s), model, None).unwrap();
        let eth = snap.asset_idx("ETH").unwrap();
        let got = snap.assets[eth].volatility;
        assert!((got / want - 1.0).abs() < tol, "{model:?}: {got} vs {want}");
        assert_eq!(rep.volatilities[eth].model, model.describe());
        assert_eq!(rep.volatilities[eth].returns, 3000);
    }
}
