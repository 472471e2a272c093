use super::*;
use proptest::prelude::*;

#[test]
fn quantiles_by_hand() {
    // 1..=100: VaR_95 is the 95th smallest = 95; ES_95 = mean(95..=100) = 97.5.
    let x: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(var(&x, 0.95), 95.0);
    assert_eq!(es(&x, 0.95), 97.5);
    // n·α = 95, d = 1.96·√(100·0.95·0.05) = 4.2716: ranks 90 and 100.
    assert_eq!(var_estimate(&x, 0.95).ci, [90.0, 100.0]);
    // Wilson, 5 of 100: centre (0.05 + 0.0192)/(1.0384) = 0.06664, half 0.04509 → [0.0215, 0.1117].
    let p = probability(5, 100);
    assert!(
        (p.ci[0] - 0.021544).abs() < 1e-5 && (p.ci[1] - 0.111752).abs() < 1e-5,
        "{p:?}"
    );
}

proptest! {
    /// ES ≥ VaR, whatever the sample.
    #[test]
    fn es_is_at_least_var(mut x in prop::collection::vec(-1e9f64..1e9, 1..400), alpha in 0.5f64..0.999) {
        x.sort_by(f64::total_cmp);
        prop_assert!(es(&x, alpha) >= var(&x, alpha) - 1e-9 * var(&x, alpha).abs().max(1.0));
        let e = var_estimate(&x, alpha);
        prop_assert!(e.ci[0] <= e.value && e.value <= e.ci[1]);
    }
}
