use super::*;

/// The recursion by hand, λ = 0.9, returns 0.01, −0.02, 0.03:
/// σ²_1 = (1e-4 + 4e-4 + 9e-4)/3 = 4.6666667e-4
/// σ²_2 = 0.9·4.6666667e-4 + 0.1·1e-4 = 4.3e-4
/// σ²_3 = 0.9·4.3e-4 + 0.1·4e-4 = 4.27e-4
/// σ²_4 = 0.9·4.27e-4 + 0.1·9e-4 = 4.743e-4
#[test]
fn variance_matches_hand_recursion() {
    let v = Ewma::new(0.9)
        .unwrap()
        .variance_forecast(&[0.01, -0.02, 0.03]);
    assert!((v - 4.743e-4).abs() < 1e-16, "{v}");
}

/// Covariance by hand, λ = 0.5, a = (1, 2), b = (3, −1):
/// c_1 = (3 − 2)/2 = 0.5; c_2 = 0.5·0.5 + 0.5·3 = 1.75; c_3 = 0.5·1.75 + 0.5·(−2) = −0.125.
/// Variances: a: s = 2.5, 0.5·2.5 + 0.5·1 = 1.75, 0.5·1.75 + 0.5·4 = 2.875;
///            b: s = 5, 0.5·5 + 0.5·9 = 7, 0.5·7 + 0.5·1 = 4.
/// ρ = −0.125/√(2.875·4) = −0.0368605.
#[test]
fn covariance_and_correlation_match_hand_recursion() {
    let e = Ewma::new(0.5).unwrap();
    let (a, b) = ([1.0, 2.0], [3.0, -1.0]);
    assert!((e.covariance_forecast(&a, &b) + 0.125).abs() < 1e-15);
    assert!((e.variance_forecast(&a) - 2.875).abs() < 1e-15);
    assert!((e.variance_forecast(&b) - 4.0).abs() < 1e-15);
    let rho = -0.125 / (2.875f64 * 4.0).sqrt();
    assert!((e.correlation_forecast(&a, &b) - rho).abs() < 1e-15);
}

#[test]
fn identical_series_correlate_one_and_flat_series_zero() {
    let e = Ewma::default();
    let a = [0.01, -0.03, 0.02, 0.005];
    assert!((e.correlation_forecast(&a, &a) - 1.0).abs() < 1e-12);
    assert_eq!(e.correlation_forecast(&a, &[0.0; 4]), 0.0);
}

#[test]
fn lambda_outside_the_unit_interval_is_rejected() {
    for l in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(Ewma::new(l).is_err(), "{l}");
    }
    assert_eq!(Ewma::default().lambda(), RISKMETRICS_LAMBDA);
}
