use super::*;
use proptest::prelude::*;

fn spec(kind: OptionType, s: f64, k: f64, r: f64, v: f64, t: f64) -> OptionSpec {
    OptionSpec::new(kind, s, k, r, v, t).unwrap_or_else(|e| panic!("{e}"))
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (±{tol})"
    );
}

/// The textbook example S = 42, K = 40 (Hull, Options, Futures and Other Derivatives) and the
/// issue's second case, to the digits the issue gives.
#[test]
fn reproduces_the_published_values() {
    let c = black76(&spec(OptionType::Call, 42.0, 40.0, 0.10, 0.20, 0.5));
    let p = black76(&spec(OptionType::Put, 42.0, 40.0, 0.10, 0.20, 0.5));
    close(c.price, 4.759_422_392_9, 5e-11, "call");
    close(p.price, 0.808_599_372_9, 5e-11, "put");
    close(c.delta, 0.779_131_290_9, 5e-11, "call delta");
    close(c.gamma, 0.049_962_670_4, 5e-11, "gamma");
    close(p.gamma, 0.049_962_670_4, 5e-11, "put gamma");
    close(c.vega, 8.8134, 5e-5, "vega");
    close(c.theta, -4.5591, 5e-5, "theta");
    // Put delta = call delta − 1.
    close(p.delta, 0.779_131_290_9 - 1.0, 5e-11, "put delta");
    let c2 = black76(&spec(OptionType::Call, 49.0, 50.0, 0.05, 0.20, 20.0 / 52.0));
    close(c2.price, 2.400_527_323_3, 5e-11, "call S=49");
    close(
        price_of(OptionType::Call, 49.0, 50.0, 0.05, 0.20, 20.0 / 52.0),
        2.400_527_323_3,
        5e-11,
        "black76_price S=49",
    );
}

#[test]
fn normal_cdf_matches_tabulated_values_in_both_tails() {
    assert_eq!(norm_cdf(0.0), 0.5);
    let table = [
        (1.0, 0.841_344_746_068_542_9),
        (-1.0, 0.158_655_253_931_457_05),
        (1.96, 0.975_002_104_851_779_5),
        (-8.0, 6.220_960_574_271_785e-16),
        (5.0, 0.999_999_713_348_428_1),
    ];
    for (x, want) in table {
        assert!(
            ((norm_cdf(x) - want) / want).abs() < 1e-13,
            "N({x}) = {}, want {want}",
            norm_cdf(x)
        );
    }
    // Against an independent erfc (the libm crate, FreeBSD's msun) across both tails. The
    // reference's argument x/√2 is rounded, which moves e^{−x²/2} by up to x²·ε relative.
    for i in -3700..=900 {
        let x = f64::from(i) * 0.01 + 0.003_7;
        let want = 0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2);
        let got = norm_cdf(x);
        assert!(
            ((got - want) / want).abs() < 4e-15 + 2.5e-16 * x * x,
            "N({x}) = {got}, libm {want}"
        );
        // The kernel's form, given e^{−x²/2} from one exp, loses only x²'s rounding.
        let e = (-0.5 * x * x).exp();
        let k = norm_cdf_given_exp(x, e);
        assert!(
            ((k - want) / want).abs() < 4e-15 + 5e-16 * x * x,
            "N({x}) given exp = {k}, libm {want}"
        );
    }
    // Symmetry N(x) + N(−x) = 1.
    for i in -60..=60 {
        let x = f64::from(i) * 0.1;
        close(norm_cdf(x) + norm_cdf(-x), 1.0, 2e-16, "N(x) + N(-x)");
    }
}

/// A grid of ITM / ATM / OTM, short and long expiries, both kinds, positive and negative rates.
fn grid() -> Vec<OptionSpec> {
    let mut v = Vec::new();
    for kind in [OptionType::Call, OptionType::Put] {
        for k in [60.0, 90.0, 100.0, 110.0, 150.0] {
            for t in [7.0 / 365.0, 0.25, 1.0, 5.0] {
                for (r, vol) in [(0.05, 0.2), (-0.01, 0.8), (0.0, 0.05)] {
                    v.push(spec(kind, 100.0, k, r, vol, t));
                }
            }
        }
    }
    v
}

/// Put–call parity `C − P = S − K·e^{−rT}`, absolute 1e-12 (prices here are below 100).
#[test]
fn put_call_parity_to_1e_12() {
    for s in grid().into_iter().filter(|s| s.kind == OptionType::Call) {
        let c = black76(&s).price;
        let p = black76(&OptionSpec {
            kind: OptionType::Put,
            ..s
        })
        .price;
        let rhs = s.spot - s.strike * (-s.rate * s.t_years).exp();
        close(c - p, rhs, 1e-12, &format!("parity {s:?}"));
    }
}

/// Each Greek against a central finite difference of the price: `|analytic − fd| ≤ 1e-6` when
/// the Greek is below 1 in size, `≤ 1e-6·|Greek|` above (absolute below 1, relative above).
#[test]
fn greeks_equal_central_finite_differences_of_the_price() {
    let tol = |g: f64| 1e-6 * g.abs().max(1.0);
    for s in grid() {
        let g = black76(&s);
        let price = |spot: f64, vol: f64, t: f64| price_of(s.kind, spot, s.strike, s.rate, vol, t);
        // Steps scale with S·σ√T, the width of the price's curvature in S, and balance
        // truncation (h²) against round-off (ε/h, ε/h²).
        let width = s.spot * s.vol * s.t_years.sqrt();
        let h = 1e-4 * width;
        let up = price(s.spot + h, s.vol, s.t_years);
        let mid = price(s.spot, s.vol, s.t_years);
        let dn = price(s.spot - h, s.vol, s.t_years);
        let what = format!("{s:?}");
        close(g.price, mid, 0.0, &format!("price {what}"));
        close(
            g.delta,
            (up - dn) / (2.0 * h),
            tol(g.delta),
            &format!("delta {what}"),
        );
        let h2 = 1e-3 * width;
        let gamma_fd = (price(s.spot + h2, s.vol, s.t_years) - 2.0 * mid
            + price(s.spot - h2, s.vol, s.t_years))
            / (h2 * h2);
        close(g.gamma, gamma_fd, tol(g.gamma), &format!("gamma {what}"));
        let hv = 1e-5;
        let vega_fd = (price(s.spot, s.vol + hv, s.t_years) - price(s.spot, s.vol - hv, s.t_years))
            / (2.0 * hv);
        close(g.vega, vega_fd, tol(g.vega), &format!("vega {what}"));
        let ht = 1e-6 * s.t_years;
        let theta_fd = -(price(s.spot, s.vol, s.t_years + ht)
            - price(s.spot, s.vol, s.t_years - ht))
            / (2.0 * ht);
        close(g.theta, theta_fd, tol(g.theta), &format!("theta {what}"));
    }
}

#[test]
fn call_rises_with_spot_and_falls_with_strike_on_a_grid() {
    for kind in [OptionType::Call, OptionType::Put] {
        for t in [0.05, 1.0] {
            let mut last = f64::NAN;
            for i in 0..40 {
                let s = 60.0 + 2.0 * f64::from(i);
                let p = price_of(kind, s, 100.0, 0.03, 0.4, t);
                if i > 0 {
                    match kind {
                        OptionType::Call => assert!(p > last, "call in S: {p} ≤ {last}"),
                        OptionType::Put => assert!(p < last, "put in S: {p} ≥ {last}"),
                    }
                }
                last = p;
            }
            for i in 0..40 {
                let k = 60.0 + 2.0 * f64::from(i);
                let p = price_of(kind, 100.0, k, 0.03, 0.4, t);
                if i > 0 {
                    match kind {
                        OptionType::Call => assert!(p < last, "call in K: {p} ≥ {last}"),
                        OptionType::Put => assert!(p > last, "put in K: {p} ≤ {last}"),
                    }
                }
                last = p;
            }
        }
    }
}

proptest! {
    /// Call non-decreasing in S and non-increasing in K; price within its no-arbitrage bounds
    /// `max(S − K·D, 0) ≤ C ≤ S`; every output finite.
    #[test]
    fn call_monotone_and_bounded(
        s in 1.0f64..1000.0, k in 1.0f64..1000.0, r in -0.05f64..0.2,
        vol in 0.0f64..3.0, t in 1e-4f64..10.0, bump in 1e-6f64..0.5,
    ) {
        let c = price_of(OptionType::Call, s, k, r, vol, t);
        let c_s = price_of(OptionType::Call, s * (1.0 + bump), k, r, vol, t);
        let c_k = price_of(OptionType::Call, s, k * (1.0 + bump), r, vol, t);
        let slack = 1e-12 * s.max(k);
        prop_assert!(c_s >= c - slack, "C(S) = {c}, C(S·(1+{bump})) = {c_s}");
        prop_assert!(c_k <= c + slack, "C(K) = {c}, C(K·(1+{bump})) = {c_k}");
        let lower = (s - k * (-r * t).exp()).max(0.0);
        prop_assert!(c >= lower - slack && c <= s + slack, "C = {c} outside [{lower}, {s}]");
        let g = black76(&OptionSpec::new(OptionType::Put, s, k, r, vol, t).unwrap());
        prop_assert!(g.price.is_finite() && g.delta.is_finite() && g.gamma.is_finite()
            && g.vega.is_finite() && g.theta.is_finite(), "{g:?}");
        prop_assert!(g.gamma >= 0.0 && g.vega >= 0.0 && (-1.0..=0.0).contains(&g.delta));
    }
}

#[test]
fn zero_vol_is_discounted_intrinsic_value_without_nan() {
    // F = 100·e^{0.05} > 105 > 90: the call is in the money, the put out of it.
    let d = (-0.05f64).exp();
    let c = black76(&spec(OptionType::Call, 100.0, 105.0, 0.05, 0.0, 1.0));
    close(c.price, 100.0 - 105.0 * d, 1e-12, "σ=0 call");
    assert_eq!((c.delta, c.gamma, c.vega), (1.0, 0.0, 0.0));
    close(c.theta, -0.05 * 105.0 * d, 1e-12, "σ=0 call theta");
    let p = black76(&spec(OptionType::Put, 100.0, 105.0, 0.05, 0.0, 1.0));
    assert_eq!(p, Greeks::default());
    let p = black76(&spec(OptionType::Put, 100.0, 120.0, 0.05, 0.0, 1.0));
    close(p.price, 120.0 * d - 100.0, 1e-12, "σ=0 put");
    assert_eq!(p.delta, -1.0);
    close(p.theta, 0.05 * 120.0 * d, 1e-12, "σ=0 put theta");
    // At the money forward (K = F, r = 0): worth 0, delta ±½, vega S·√T·φ(0).
    let a = black76(&spec(OptionType::Call, 100.0, 100.0, 0.0, 0.0, 0.25));
    assert_eq!((a.price, a.delta, a.gamma), (0.0, 0.5, 0.0));
    close(a.vega, 100.0 * 0.5 * INV_SQRT_2PI, 1e-12, "σ=0 ATM vega");
    // Tiny but positive vol agrees with the limit.
    let e = black76(&spec(OptionType::Call, 100.0, 105.0, 0.05, 1e-9, 1.0));
    close(e.price, c.price, 1e-9, "σ→0 limit");
    // Unvalidated negative vol is NaN, not a number made up from the intrinsic value.
    assert!(price_of(OptionType::Call, 100.0, 90.0, 0.0, -0.2, 1.0).is_nan());
    let mut out = [Greeks::default()];
    black76_batch(
        &[OptionType::Put],
        &[100.0],
        &[90.0],
        &[0.0],
        &[f64::NAN],
        &[1.0],
        &mut out,
    );
    assert!(out[0].price.is_nan() && out[0].delta.is_nan());
}

#[test]
fn deep_in_and_out_of_the_money_stay_finite() {
    for (k, t, vol) in [
        (1e-6, 1.0, 0.5),
        (1e9, 1.0, 0.5),
        (100.0, 1e-12, 0.5),
        (50.0, 1e-12, 3.0),
        (100.0, 100.0, 5.0),
        (1e-3, 1e-9, 1e-9),
    ] {
        for kind in [OptionType::Call, OptionType::Put] {
            let g = black76(&spec(kind, 100.0, k, 0.05, vol, t));
            for x in [g.price, g.delta, g.gamma, g.vega, g.theta] {
                assert!(x.is_finite(), "{kind:?} K={k} T={t} σ={vol}: {g:?}");
            }
            assert!(g.price >= 0.0);
        }
    }
    // Deep in the money: a call is worth S − K·D and has delta 1.
    let c = black76(&spec(OptionType::Call, 100.0, 1e-6, 0.0, 0.5, 1.0));
    close(c.price, 100.0 - 1e-6, 1e-12, "deep ITM call");
    assert_eq!(c.delta, 1.0);
}

#[test]
fn smile_by_hand() {
    let s = Smile {
        atm: 0.70,
        skew: -0.10,
        curvature: 0.20,
    };
    // K = 2200, F = 2000: k = ln 1.1 = 0.0953101798043249;
    // σ = 0.70 − 0.10·0.0953101798 + 0.20·0.0090840304 = 0.6922857881.
    close(
        s.vol(2200.0, 2000.0),
        0.692_285_788_094_434,
        1e-14,
        "σ(ln 1.1)",
    );
    // K = F/e: k = −1, σ = 0.70 + 0.10 + 0.20 = 1.0.
    close(
        s.vol(2000.0 / std::f64::consts::E, 2000.0),
        1.0,
        1e-14,
        "σ(−1)",
    );
    // k = 2 on a steep negative skew: 0.2 − 0.5·2 + 0·4 < 0 → the floor.
    let steep = Smile {
        atm: 0.2,
        skew: -0.5,
        curvature: 0.0,
    };
    assert_eq!(steep.vol(2000.0 * 2f64.exp(), 2000.0), MIN_VOL);
    assert!(s.vol(-1.0, 2000.0).is_nan());
    assert_eq!(Smile::flat(0.3).vol(10.0, 2000.0), 0.3);
}

#[test]
fn errors_name_the_input_and_the_expected_range() {
    let e = |s, k, r, v, t| {
        OptionSpec::new(OptionType::Call, s, k, r, v, t)
            .err()
            .map(|e| (e.field(), e.to_string()))
    };
    assert_eq!(
        e(42.0, 40.0, 0.1, -0.2, 0.5),
        Some(("vol", "vol = -0.2, expected ≥ 0".into()))
    );
    assert_eq!(
        e(42.0, 40.0, 0.1, 0.2, 0.0),
        Some(("expiry_years", "expiry_years = 0, expected > 0".into()))
    );
    assert_eq!(
        e(42.0, -40.0, 0.1, 0.2, 0.5),
        Some(("strike", "strike = -40, expected > 0".into()))
    );
    assert_eq!(
        e(0.0, 40.0, 0.1, 0.2, 0.5),
        Some(("spot", "spot = 0, expected > 0".into()))
    );
    assert_eq!(
        e(42.0, 40.0, f64::NAN, 0.2, 0.5),
        Some(("rate", "rate = NaN, expected a finite number".into()))
    );
    assert_eq!(
        e(42.0, 40.0, 0.1, 0.2, f64::INFINITY),
        Some((
            "expiry_years",
            "expiry_years = inf, expected a finite number".into()
        ))
    );
    assert_eq!(e(42.0, 40.0, -0.1, 0.0, 0.5), None);
}

#[test]
fn batch_equals_one_at_a_time_across_chunks() {
    let n = 2 * BATCH_CHUNK + 17;
    let kind: Vec<OptionType> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                OptionType::Put
            } else {
                OptionType::Call
            }
        })
        .collect();
    let f = |i: usize, a: f64, b: f64| a + b * ((i * 7919) % 1000) as f64 / 1000.0;
    let spot: Vec<f64> = (0..n).map(|i| f(i, 50.0, 100.0)).collect();
    let strike: Vec<f64> = (0..n).map(|i| f(i + 3, 50.0, 100.0)).collect();
    let rate: Vec<f64> = (0..n).map(|i| f(i + 5, -0.01, 0.1)).collect();
    let vol: Vec<f64> = (0..n)
        .map(|i| {
            if i % 101 == 0 {
                0.0
            } else {
                f(i + 7, 0.05, 1.5)
            }
        })
        .collect();
    let t: Vec<f64> = (0..n).map(|i| f(i + 11, 0.01, 3.0)).collect();
    // The scalar kernel's batch is one at a time exactly; the vector kernels' agree with it to
    // their documented accuracy (options::simd::tests).
    let mut out = vec![Greeks::default(); n];
    let cols = Columns {
        kind: &kind,
        spot: &spot,
        strike: &strike,
        rate: &rate,
        vol: &vol,
        t_years: &t,
    };
    batch_on(Kernel::Scalar, &cols, &mut out, false);
    let mut detected = vec![Greeks::default(); n];
    black76_batch(&kind, &spot, &strike, &rate, &vol, &t, &mut detected);
    for i in 0..n {
        let one = black76(&spec(kind[i], spot[i], strike[i], rate[i], vol[i], t[i]));
        assert_eq!(out[i], one, "option {i}");
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-300);
        let d = &detected[i];
        assert!(
            rel(d.delta, one.delta) < 1e-12 && rel(d.gamma, one.gamma) < 1e-12,
            "option {i}: {:?} kernel {d:?}, scalar {one:?}",
            Kernel::detect()
        );
        assert_eq!(
            price_of(kind[i], spot[i], strike[i], rate[i], vol[i], t[i]),
            one.price,
            "price of option {i}"
        );
    }
}

#[test]
fn payoff_signs() {
    // max(w·(S − K), 0): a call pays S − K above the strike, a put K − S below it.
    assert_eq!(payoff_sign(OptionType::Call), 1.0);
    assert_eq!(payoff_sign(OptionType::Put), -1.0);
}

/// [`black76_price`] of the option with these terms, unvalidated.
fn price_of(kind: OptionType, spot: f64, strike: f64, rate: f64, vol: f64, t_years: f64) -> f64 {
    black76_price(&OptionSpec {
        kind,
        spot,
        strike,
        rate,
        vol,
        t_years,
    })
}
