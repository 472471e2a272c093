use super::*;

/// Intercept only: the minimiser of Σ ρ_τ(y_i − b) is the ⌈nτ⌉-th smallest y when nτ is not a
/// whole number. n = 5, τ = 0.3: nτ = 1.5, so b = 2nd smallest of {5, 1, 4, 2, 3} = 2.
#[test]
fn intercept_only_is_the_sample_quantile() {
    let x = vec![vec![1.0]; 5];
    let y = [5.0, 1.0, 4.0, 2.0, 3.0];
    let b = fit(&x, &y, 0.3).unwrap();
    assert!((b[0] - 2.0).abs() < 1e-12, "{b:?}");
    // and τ = 0.9: nτ = 4.5 → 5th smallest, 5.
    let b = fit(&x, &y, 0.9).unwrap();
    assert!((b[0] - 5.0).abs() < 1e-12, "{b:?}");
}

/// Median regression through a line with one outlier. Points (x, y): (0,1), (1,3), (2,5), (3,7),
/// (4,9) on y = 1 + 2x, and the outlier (2, 20). With τ = ½, ρ(e) = |e|/2 and at b* = (1, 2) the
/// loss is ½·|20 − 5| = 7.5. Its directional derivative at b* along any d = (d0, d1) ≠ 0 is
/// D = ½·Σ_{x=0..4} |d0 + x·d1| − ½·(d0 + 2·d1)   (the outlier's residual is positive).
/// Pairing x = 0 with 4 and 1 with 3, the triangle inequality gives Σ ≥ 5·|d0 + 2·d1|, so
/// D ≥ 2·|d0 + 2·d1| > 0 unless d0 = −2·d1, and then D = ½·|d1|·Σ|x − 2| = 3·|d1| > 0. The
/// loss is convex and piecewise linear, so b* = (1, 2) is its unique minimiser.
#[test]
fn median_regression_ignores_an_outlier() {
    let pts = [
        (0.0, 1.0),
        (1.0, 3.0),
        (2.0, 5.0),
        (3.0, 7.0),
        (4.0, 9.0),
        (2.0, 20.0),
    ];
    let x: Vec<Vec<f64>> = pts.iter().map(|p| vec![1.0, p.0]).collect();
    let y: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let b = fit(&x, &y, 0.5).unwrap();
    assert!(
        (b[0] - 1.0).abs() < 1e-12 && (b[1] - 2.0).abs() < 1e-12,
        "{b:?}"
    );
    assert!((total_pinball(&x, &y, &b, 0.5) - 7.5).abs() < 1e-12);
}

/// Least squares gives a different answer on the same data, so the test above is not one that any
/// line-fitting method would pass: the outlier pulls the OLS intercept.
#[test]
fn pinball_at_least_squares_is_worse() {
    let x: Vec<Vec<f64>> = [0.0, 1.0, 2.0, 3.0, 4.0, 2.0]
        .iter()
        .map(|v| vec![1.0, *v])
        .collect();
    let y = [1.0, 3.0, 5.0, 7.0, 9.0, 20.0];
    let ols = weighted_least_squares(&x, &y, &[1.0; 6]).unwrap();
    // OLS: x̄ = 2, ȳ = 7.5, Sxy = 20, Sxx = 10 → slope 2, intercept 7.5 − 4 = 3.5
    assert!(
        (ols[0] - 3.5).abs() < 1e-9 && (ols[1] - 2.0).abs() < 1e-9,
        "{ols:?}"
    );
    assert!(total_pinball(&x, &y, &ols, 0.5) > 7.5 + 1.0);
}

/// Features by hand: prices 100, 110, 99, 99 (returns ln 1.1, ln 0.9, 0), k = 2 at s = 3:
/// RV = √((ln²0.9 + 0)/2) = 0.0745011, DD = 1 − 99/110 = 0.1.
#[test]
fn features_by_hand() {
    let p = [100.0, 110.0, 99.0, 99.0];
    let r = crate::series::log_returns(&p);
    let x = features(&p, &r, 3, 2).unwrap();
    assert_eq!(x[0], 1.0);
    assert!((x[1] - ((0.9f64).ln().powi(2) / 2.0).sqrt()).abs() < 1e-15);
    assert!((x[2] - 0.1).abs() < 1e-15);
    assert!(features(&p, &r, 1, 2).is_none());
}

#[test]
fn bad_input_is_an_error() {
    assert!(fit(&[vec![1.0]], &[1.0], 1.0).is_err());
    assert!(fit(&[vec![1.0, 2.0]], &[1.0], 0.5).is_err());
    assert!(fit(&[], &[], 0.5).is_err());
}
