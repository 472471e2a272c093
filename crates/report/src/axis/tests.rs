use proptest::prelude::*;

use super::*;

/// Every invariant of [`Axis`]; `data` is the input range when both bounds are finite.
fn check(a: &Axis, data: Option<(f64, f64)>) -> Result<(), String> {
    let fail = |m: &str| Err(format!("{m}: {a:?}"));
    if !(a.lo.is_finite() && a.hi.is_finite() && a.lo < a.hi) {
        return fail("range not finite and increasing");
    }
    if a.ticks.len() < 2 || a.ticks.len() > MAX_TICKS {
        return fail("tick count out of bounds");
    }
    if a.ticks.iter().any(|t| !t.is_finite()) {
        return fail("non-finite tick");
    }
    if a.ticks.windows(2).any(|w| w[0] >= w[1]) {
        return fail("ticks not strictly increasing");
    }
    if a.ticks[0] != a.lo || a.ticks[a.ticks.len() - 1] != a.hi {
        return fail("ticks do not span the range");
    }
    if let Some((x, y)) = data {
        if a.lo > x.min(y) || a.hi < x.max(y) {
            return fail("range does not cover the data");
        }
    }
    Ok(())
}

#[test]
fn round_ticks_on_ordinary_data() {
    // Span 0..1.18e6 in about 8 ticks: raw step 1.18e6/7 = 168,571 → 2e5; 0, 2e5, …, 1.2e6.
    let a = Axis::nice(0.0, 1.18e6, 8);
    assert_eq!(a.lo, 0.0);
    assert_eq!(a.hi, 1.2e6);
    assert_eq!(a.ticks.len(), 7);
    assert_eq!(a.ticks[1], 2e5);
    // −3..7 in about 6 ticks: raw step 2 → −4, −2, …, 8.
    let a = Axis::nice(-3.0, 7.0, 6);
    assert_eq!(a.ticks, vec![-4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0]);
}

#[test]
fn counts_get_integer_steps() {
    // 0..3 paths in about 8 ticks would step by 0.5; with a minimum step of 1: 0, 1, 2, 3.
    let a = Axis::nice_with_min_step(0.0, 3.0, 8, 1.0);
    assert_eq!(a.ticks, vec![0.0, 1.0, 2.0, 3.0]);
}

#[test]
fn degenerate_and_special_inputs() {
    // A single value is widened by half its size: 10 → [5, 15] → ticks over 5..15.
    let a = Axis::nice(10.0, 10.0, 5);
    assert!(a.lo <= 5.0 && a.hi >= 15.0, "{a:?}");
    // Zero → [−1, 1].
    let a = Axis::nice(0.0, 0.0, 5);
    assert!(a.lo <= -1.0 && a.hi >= 1.0, "{a:?}");
    // Nothing finite → [0, 1].
    for (x, y) in [
        (f64::NAN, f64::NAN),
        (f64::NEG_INFINITY, f64::INFINITY),
        (f64::INFINITY, f64::NAN),
    ] {
        let a = Axis::nice(x, y, 8);
        assert_eq!((a.lo, a.hi), (0.0, 1.0), "{x} {y}");
        check(&a, None).unwrap_or_else(|e| panic!("{e}"));
    }
    // One finite bound is the data.
    let a = Axis::nice(f64::NAN, 40.0, 8);
    assert!(a.lo <= 40.0 && a.hi >= 40.0);
}

#[test]
fn extremes_of_f64() {
    for (x, y) in [
        (0.0, 1.7e308),
        (0.0, f64::MAX),
        (f64::MAX, f64::MAX),
        (-f64::MAX, f64::MAX),
        (-f64::MAX, -f64::MAX),
        (0.0, 5e-324),
        (5e-324, 5e-324),
        (-5e-324, 5e-324),
        (1e300, 1e300 * (1.0 + f64::EPSILON)),
        (f64::MIN_POSITIVE, 1.0),
        (1.0, 1.0 + f64::EPSILON),
    ] {
        let a = Axis::nice(x, y, 8);
        check(&a, Some((x, y))).unwrap_or_else(|e| panic!("{x} {y}: {e}"));
    }
}

/// Any `f64` bit pattern: NaNs, infinities, subnormals, zeros of both signs, the extremes.
fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        prop::num::f64::ANY,
        Just(f64::MAX),
        Just(-f64::MAX),
        Just(0.0),
        Just(-0.0),
        Just(5e-324),
        Just(1.7e308),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Total: any pair of `f64` and any target give a valid axis; finite data is covered.
    #[test]
    fn axis_is_total(x in any_f64(), y in any_f64(), target in 0usize..100, min_step in any_f64()) {
        let a = Axis::nice_with_min_step(x, y, target, min_step);
        let data = (x.is_finite() && y.is_finite()).then_some((x, y));
        prop_assert!(check(&a, data).is_ok(), "{:?}", check(&a, data));
    }

    /// Ordinary data gets about the number of ticks asked for, never fewer than half of it.
    #[test]
    fn tick_count_near_target(x in -1e9f64..1e9, w in 1.0f64..1e9, target in 4usize..20) {
        let a = Axis::nice(x, x + w, target);
        prop_assert!(check(&a, Some((x, x + w))).is_ok());
        prop_assert!(a.ticks.len() + 1 >= target / 2, "{} ticks for {target}", a.ticks.len());
    }
}

#[test]
fn cut_and_padded() {
    // Rounds 0..7 with a step of 1: 8 ticks; cut to [0, 7] and padded by 0.2.
    let a = Axis::nice_with_min_step(0.0, 7.0, 30, 1.0)
        .within(0.0, 7.0)
        .padded(0.2);
    assert_eq!((a.lo, a.hi), (-0.2, 7.2));
    assert_eq!(a.ticks, (0..8).map(f64::from).collect::<Vec<_>>());
    // Padding saturates at the edge of f64.
    let a = Axis::nice(0.0, f64::MAX, 8).padded(f64::MAX);
    assert!(a.lo.is_finite() && a.hi == f64::MAX);
}

#[test]
fn maps_any_value_to_a_pixel_between_the_ends() {
    let a = Axis::nice(-f64::MAX, f64::MAX, 8);
    assert_eq!(a.map(&a.lo, (0, 1000)), 0);
    assert_eq!(a.map(&a.hi, (0, 1000)), 1000);
    assert_eq!(a.map(&0.0, (0, 1000)), 500);
    assert_eq!(a.map(&f64::NAN, (0, 1000)), 0);
    let b = Axis::nice(0.0, 10.0, 6);
    assert_eq!(b.map(&5.0, (100, 200)), 150);
    assert_eq!(b.map(&f64::INFINITY, (100, 200)), 300);
}

#[test]
fn labels_get_the_decimals_their_step_needs() {
    // Ticks 0.001 apart need 3 decimals; 0.2 apart, 1; 5 apart, none.
    let a = Axis::nice(99.991, 100.0, 8);
    let step = a.ticks[1] - a.ticks[0];
    assert!(step <= 0.002, "{step}");
    assert_eq!(a.label_decimals(), 3);
    assert_eq!(Axis::nice(0.0, 1.6, 8).label_decimals(), 1);
    assert_eq!(Axis::nice(0.0, 40.0, 8).label_decimals(), 0);
}
