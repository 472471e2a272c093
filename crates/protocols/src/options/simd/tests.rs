//! The vector kernels against the scalar kernel, by the measure of the module's documentation
//! ([`disagreement`]); on a CPU without AVX2 and FMA there is nothing to compare and the tests only
//! run the scalar path.

use super::super::{
    batch_on, black76, black76_batch, greeks_kernel, norm_cdf, payoff_sign, Columns, Greeks,
    OptionSpec, BATCH_CHUNK, INV_SQRT_2PI,
};
use super::{exp_ln, Kernel};
use cascade_model::OptionType;
use proptest::prelude::*;

/// The vector kernels this CPU runs.
fn vector_kernels() -> Vec<Kernel> {
    [Kernel::Avx512, Kernel::Avx2]
        .into_iter()
        .filter(|k| k.available())
        .collect()
}

/// Options as the columns `black76_batch` takes.
#[derive(Debug, Clone, Default)]
struct Book {
    kind: Vec<OptionType>,
    spot: Vec<f64>,
    strike: Vec<f64>,
    rate: Vec<f64>,
    vol: Vec<f64>,
    t_years: Vec<f64>,
}

impl Book {
    fn push(&mut self, kind: OptionType, spot: f64, strike: f64, rate: f64, vol: f64, t: f64) {
        self.kind.push(kind);
        self.spot.push(spot);
        self.strike.push(strike);
        self.rate.push(rate);
        self.vol.push(vol);
        self.t_years.push(t);
    }

    fn len(&self) -> usize {
        self.kind.len()
    }

    fn columns(&self) -> Columns<'_> {
        Columns {
            kind: &self.kind,
            spot: &self.spot,
            strike: &self.strike,
            rate: &self.rate,
            vol: &self.vol,
            t_years: &self.t_years,
        }
    }

    fn value(&self, kernel: Kernel) -> Vec<Greeks> {
        self.value_streaming(kernel, false, 0)
    }

    /// With `stream`, into an output that starts `skew` options past a cache line.
    fn value_streaming(&self, kernel: Kernel, stream: bool, skew: usize) -> Vec<Greeks> {
        let mut buf = vec![Greeks::default(); self.len() + 16];
        let at = buf.as_ptr().align_offset(64) + skew;
        let out = &mut buf[at..at + self.len()];
        batch_on(kernel, &self.columns(), out, stream);
        out.to_vec()
    }

    /// The scalar kernel on option `i`.
    fn scalar(&self, i: usize) -> Greeks {
        greeks_kernel(
            payoff_sign(self.kind[i]),
            self.spot[i],
            self.strike[i],
            self.rate[i],
            self.vol[i],
            self.t_years[i],
        )
    }
}

fn same_bits(a: &Greeks, b: &Greeks) -> bool {
    let bits = |g: &Greeks| {
        [g.price, g.delta, g.gamma, g.vega, g.theta].map(|x| {
            if x.is_nan() {
                f64::NAN.to_bits()
            } else {
                x.to_bits()
            }
        })
    };
    bits(a) == bits(b)
}

/// Whether `got` (a vector kernel's result for option `i` of `b`) agrees with the scalar kernel's
/// `want`, and the worst ratio `|got − want| / tolerance` over the five outputs (`None`: they
/// disagree beyond tolerance, with a message). Where `σ√T > 0` and the lane is ordinary, the
/// tolerance of an output `X` is
///
/// `1e-12·scale(X) + |∂X/∂d1|·δ + 1e-300`, with `δ = 4ε·(|ln(S/K)| + |rT|)/(σ√T)`,
///
/// `scale` the size of the terms the formula adds (`S·N(w·d1) + K·D·N(w·d2)` for the price,
/// `S·φ(d1)·σ/(2√T) + |r|·K·D·N(w·d2)` for theta, `|X|` for delta, gamma and vega) and `δ` the
/// most by which the two paths' `d1` can differ through their roundings of `ln(F/K) = ln(S/K) + rT`
/// (each path's `ln` is within one ulp): the input rounding both paths make, differently, and which
/// only matters at tiny `σ√T` next to a large `|ln(S/K)|` or `|rT|`. With `strict`, `δ` is taken as
/// 0. Everything else — the scalar kernel's own lanes — must be the same bits.
fn disagreement(
    b: &Book,
    i: usize,
    got: &Greeks,
    want: &Greeks,
    strict: bool,
) -> Result<f64, String> {
    let (s, k, r, vol, t) = (b.spot[i], b.strike[i], b.rate[i], b.vol[i], b.t_years[i]);
    let w = payoff_sign(b.kind[i]);
    let v = vol * t.sqrt();
    let ln_sk = (s / k).ln();
    let d1 = (ln_sk + r * t) / v + 0.5 * v;
    let arg = -0.5 * d1 * d1;
    let s_over_k = s / k;
    // The scalar kernel's own branches (σ√T ≤ 0 or NaN, e1 = e^{−d1²/2} ≤ 1e-290) and the inputs
    // the lanes leave to it (S/K not a positive normal number, |rT| > 700): the same bits.
    let lanes_cover = v > 0.0
        && v.is_finite()
        && (r * t).abs() <= super::MAX_RT
        && s_over_k.is_normal()
        && s_over_k > 0.0;
    let must_match = !lanes_cover || arg.is_nan() || arg.exp() <= 1e-290;
    // Just short of e1 = 1e-290 the lanes also leave the option to the scalar kernel (e1 below
    // e^{-662}, with a margin for the two paths' d1).
    let may_match = must_match || arg < super::MIN_EXP_ARG + 1e-6;
    if may_match && same_bits(got, want) {
        return Ok(0.0);
    }
    if must_match {
        return Err(format!(
            "option {i}: a scalar lane, got {got:?}, want {want:?}"
        ));
    }
    let d2 = d1 - v;
    let kd = k * (-r * t).exp();
    let n1 = norm_cdf(w * d1);
    let n2 = norm_cdf(w * d2);
    let phi1 = INV_SQRT_2PI * (-0.5 * d1 * d1).exp();
    let phi2 = INV_SQRT_2PI * (-0.5 * d2 * d2).exp();
    let delta_d1 = if strict {
        0.0
    } else {
        4.0 * f64::EPSILON * (ln_sk.abs() + (r * t).abs()) / v
    };
    let term1 = s * phi1 * vol / (2.0 * t.sqrt());
    let slope = (d1.abs() + 1.0) * delta_d1;
    let tolerances = [
        ("price", 1e-12 * (s * n1 + kd * n2)),
        ("delta", 1e-12 * want.delta.abs() + phi1 * delta_d1),
        ("gamma", want.gamma.abs() * (1e-12 + slope)),
        ("vega", want.vega.abs() * (1e-12 + slope)),
        (
            "theta",
            1e-12 * (term1 + r.abs() * kd * n2) + term1 * slope + r.abs() * kd * phi2 * delta_d1,
        ),
    ];
    let got = [got.price, got.delta, got.gamma, got.vega, got.theta];
    let want = [want.price, want.delta, want.gamma, want.vega, want.theta];
    let mut worst = 0.0f64;
    for (((what, tol), g), x) in tolerances.into_iter().zip(got).zip(want) {
        let tol = tol + 1e-300;
        let ratio = (g - x).abs() / tol;
        if ratio.is_nan() || ratio > 1.0 {
            return Err(format!(
                "option {i} ({:?} S={s} K={k} r={r} σ={vol} T={t}): {what} {g}, scalar {x}, \
                 |Δ| = {:e} > {tol:e}",
                b.kind[i],
                (g - x).abs()
            ));
        }
        worst = worst.max(ratio);
    }
    Ok(worst)
}

/// Every vector kernel against the scalar kernel on `b`; the worst ratio to the tolerance.
fn check_book(b: &Book, strict: bool) -> Result<f64, String> {
    let mut worst = 0.0f64;
    for kernel in vector_kernels() {
        let got = b.value(kernel);
        for (i, g) in got.iter().enumerate() {
            let r = disagreement(b, i, g, &b.scalar(i), strict)
                .map_err(|e| format!("{}: {e}", kernel.name()))?;
            worst = worst.max(r);
        }
    }
    Ok(worst)
}

/// A seeded stream of uniforms in [0, 1) (SplitMix64).
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

/// ULPs between two finite numbers of the same sign.
fn ulps(a: f64, b: f64) -> u64 {
    a.to_bits().abs_diff(b.to_bits())
}

/// The lane `e^x` and `ln x` are within one ulp of the platform's (libm's, itself within one ulp
/// of the exact value), over their whole ranges here.
#[test]
fn lane_exp_and_ln_are_within_one_ulp_of_libm() {
    let mut u = Uniform(7);
    for kernel in vector_kernels() {
        let mut worst = (0, 0);
        for i in 0..200_000 {
            // e^x on [−708, 708], and densely near 0.
            let x = if i % 2 == 0 {
                u.range(-708.0, 708.0)
            } else {
                u.range(-1.0, 1.0) * 10f64.powf(u.range(-12.0, 0.0))
            };
            let (e, _) = exp_ln(kernel, x).unwrap_or_default();
            let d = ulps(e, x.exp());
            assert!(d <= 1, "{}: e^{x} = {e}, libm {}", kernel.name(), x.exp());
            worst.0 = worst.0.max(d);
            // ln y over the positive normals: random exponents, and near 1.
            let y = if i % 2 == 0 {
                2f64.powf(u.range(-1020.0, 1020.0))
            } else {
                1.0 + u.range(-0.3, 0.45) * 10f64.powf(u.range(-15.0, 0.0))
            };
            let (_, l) = exp_ln(kernel, y).unwrap_or_default();
            let d = ulps(l, y.ln());
            assert!(d <= 1, "{}: ln {y} = {l}, libm {}", kernel.name(), y.ln());
            worst.1 = worst.1.max(d);
        }
        for y in [
            f64::MIN_POSITIVE,
            1.0,
            2.0,
            0.5,
            f64::MAX,
            std::f64::consts::SQRT_2,
        ] {
            let (_, l) = exp_ln(kernel, y).unwrap_or_default();
            assert!(ulps(l, y.ln()) <= 1, "{}: ln {y} = {l}", kernel.name());
        }
        assert_eq!(exp_ln(kernel, 0.0).map(|p| p.0), Some(1.0));
        assert_eq!(exp_ln(kernel, 1.0).map(|p| p.1), Some(0.0));
        println!(
            "{}: worst ulps e^x {}, ln {}",
            kernel.name(),
            worst.0,
            worst.1
        );
    }
}

/// The documentation's examples (Hull's S = 42, K = 40 call and put; S = 49, K = 50) on every
/// kernel, to the published digits and to the scalar kernel.
#[test]
fn hand_worked_values_on_every_kernel() {
    let mut b = Book::default();
    b.push(OptionType::Call, 42.0, 40.0, 0.10, 0.20, 0.5);
    b.push(OptionType::Put, 42.0, 40.0, 0.10, 0.20, 0.5);
    b.push(OptionType::Call, 49.0, 50.0, 0.05, 0.20, 20.0 / 52.0);
    for kernel in vector_kernels().into_iter().chain([Kernel::Scalar]) {
        let g = b.value(kernel);
        let close = |got: f64, want: f64, what: &str| {
            assert!(
                (got - want).abs() <= 5e-11,
                "{}: {what} {got}, want {want}",
                kernel.name()
            )
        };
        close(g[0].price, 4.759_422_392_9, "call");
        close(g[0].delta, 0.779_131_290_9, "call delta");
        close(g[0].gamma, 0.049_962_670_4, "gamma");
        close(g[1].price, 0.808_599_372_9, "put");
        close(g[1].delta, 0.779_131_290_9 - 1.0, "put delta");
        close(g[2].price, 2.400_527_323_3, "call S=49");
        for (i, gi) in g.iter().enumerate() {
            let want = b.scalar(i);
            if let Err(e) = disagreement(&b, i, gi, &want, true) {
                panic!("{}: {e}", kernel.name());
            }
        }
    }
}

/// The `cascade bench` workload's inputs (strike 0.5–1.5 × spot, rate 0–8%, vol 20–120%, expiry a
/// day to two years): `1e-12·scale` with no allowance for `ln(F/K)`'s rounding.
#[test]
fn bench_inputs_agree_to_1e_12_of_their_scale() {
    let mut u = Uniform(20);
    let mut b = Book::default();
    for i in 0..200_000 {
        let kind = [OptionType::Call, OptionType::Put][i % 2];
        let strike = 2000.0 * u.range(0.5, 1.5);
        let (r, vol, t) = (
            u.range(0.0, 0.08),
            u.range(0.2, 1.2),
            u.range(1.0 / 365.0, 2.0),
        );
        b.push(kind, 2000.0, strike, r, vol, t);
    }
    let worst = check_book(&b, true).unwrap_or_else(|e| panic!("{e}"));
    println!("bench inputs: worst |Δ|/(1e-12·scale) = {worst:.3e}");
}

/// `d1` swept across every Cody range and its boundaries (|w·d1|/√2 = 0.46875 and 4) and into the
/// far tails, both kinds, at a short and a long expiry.
#[test]
fn cody_ranges_and_tails_agree() {
    let mut b = Book::default();
    for (vol, t) in [(0.3, 0.02), (0.8, 3.0)] {
        let v: f64 = vol * f64::sqrt(t);
        for j in -8000..=8000 {
            let d1 = f64::from(j) * 0.005;
            // ln(S/K) = (d1 − v/2)·v at r = 0.
            let strike = 100.0 * (-(d1 - 0.5 * v) * v).exp();
            for kind in [OptionType::Call, OptionType::Put] {
                b.push(kind, 100.0, strike, 0.0, vol, t);
            }
        }
        for x in [0.468_75, 4.0] {
            for d1 in [x * std::f64::consts::SQRT_2, -x * std::f64::consts::SQRT_2] {
                let strike = 100.0 * (-(d1 - 0.5 * v) * v).exp();
                b.push(OptionType::Call, 100.0, strike, 0.0, vol, t);
            }
        }
    }
    let worst = check_book(&b, true).unwrap_or_else(|e| panic!("{e}"));
    println!("d1 sweep: worst |Δ|/(1e-12·scale) = {worst:.3e}");
}

/// The lanes the scalar kernel finishes — zero volatility in, at and out of the money, NaN and
/// negative volatility, `T = 0`, `S/K` not a positive normal number, `|rT| > 700`, `d1` beyond
/// 36.5 — are its exact results, whatever their neighbours in the block.
#[test]
fn special_lanes_are_the_scalar_kernels_bit_for_bit() {
    let mut b = Book::default();
    let special = [
        (100.0, 105.0, 0.05, 0.0, 1.0),
        (100.0, 120.0, 0.05, 0.0, 1.0),
        (100.0, 100.0, 0.0, 0.0, 0.25),
        (100.0, 90.0, 0.0, -0.2, 1.0),
        (100.0, 90.0, 0.0, f64::NAN, 1.0),
        (100.0, 90.0, 0.0, 0.2, 0.0),
        (100.0, 90.0, 0.0, 0.2, -1.0),
        (f64::NAN, 90.0, 0.0, 0.2, 1.0),
        (0.0, 90.0, 0.0, 0.2, 1.0),
        (100.0, f64::INFINITY, 0.0, 0.2, 1.0),
        (-100.0, 90.0, 0.0, 0.2, 1.0),
        (1e-300, 1e10, 0.0, 0.2, 1.0),
        (100.0, 90.0, 8.0, 0.2, 100.0),
        (100.0, 90.0, -8.0, 0.2, 100.0),
        (100.0, 90.0, f64::NAN, 0.2, 1.0),
        (100.0, 100.0 * (40.0 * 0.2f64).exp(), 0.0, 0.2, 1.0),
        (100.0, 100.0 * (-40.0 * 0.2f64).exp(), 0.0, 0.2, 1.0),
        // d1 = ∓37: e1 ≈ 1e-298, under the scalar kernel's 1e-290.
        (100.0, 100.0 * (37.1f64 * 0.2).exp(), 0.0, 0.2, 1.0),
        (100.0, 100.0 * (-36.9f64 * 0.2).exp(), 0.0, 0.2, 1.0),
        (100.0, 1e-6, 0.05, 1e-9, 1e-9),
    ];
    for (j, &(s, k, r, vol, t)) in special.iter().enumerate() {
        for kind in [OptionType::Call, OptionType::Put] {
            // An ordinary neighbour on either side.
            b.push(kind, 42.0, 40.0, 0.1, 0.2, 0.5 + j as f64);
            b.push(kind, s, k, r, vol, t);
        }
    }
    for kernel in vector_kernels() {
        let got = b.value(kernel);
        for (i, g) in got.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
            let want = b.scalar(i);
            assert!(
                same_bits(g, &want),
                "{}: option {i} {:?}: got {g:?}, scalar {want:?}",
                kernel.name(),
                (b.spot[i], b.strike[i], b.rate[i], b.vol[i], b.t_years[i])
            );
        }
        check_book(&b, true).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The same bits on one and on two threads, twice, and (where both run) on AVX-512 and AVX2; and
/// each option's result does not depend on where it sits in the batch.
#[test]
fn bits_do_not_depend_on_threads_runs_or_position() {
    let mut u = Uniform(3);
    let mut b = Book::default();
    for i in 0..3 * BATCH_CHUNK + 5 {
        let vol = if i % 97 == 0 { 0.0 } else { u.range(0.01, 2.0) };
        b.push(
            [OptionType::Call, OptionType::Put][i % 2],
            100.0,
            100.0 * u.range(-3.0, 3.0).exp(),
            u.range(-0.05, 0.2),
            vol,
            u.range(1e-4, 5.0),
        );
    }
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = vec![Greeks::default(); b.len()];
        pool.install(|| {
            black76_batch(
                &b.kind, &b.spot, &b.strike, &b.rate, &b.vol, &b.t_years, &mut out,
            )
        });
        out
    };
    let one = run(1);
    for again in [run(2), run(1), run(2)] {
        assert!(one.iter().zip(&again).all(|(a, b)| same_bits(a, b)));
    }
    let kernels = vector_kernels();
    let per_kernel: Vec<Vec<Greeks>> = kernels.iter().map(|&k| b.value(k)).collect();
    // Written past the caches (where the output happens to start on a cache line), the same.
    for (&kernel, all) in kernels.iter().zip(&per_kernel) {
        for skew in [0, 1, 5] {
            let streamed = b.value_streaming(kernel, true, skew);
            assert!(streamed.iter().zip(all).all(|(x, y)| same_bits(x, y)));
        }
    }
    if let [a, b2] = &per_kernel[..] {
        assert!(
            a.iter().zip(b2).all(|(x, y)| same_bits(x, y)),
            "AVX-512 ≠ AVX2"
        );
    }
    // Option i alone, as the first lane of a short block, is what it is inside the batch.
    for (kernel, all) in kernels.iter().zip(&per_kernel) {
        for i in (0..b.len()).step_by(37) {
            let mut alone = [Greeks::default()];
            let one_col = |c: &Vec<f64>| [c[i]];
            let cols = Columns {
                kind: &[b.kind[i]],
                spot: &one_col(&b.spot),
                strike: &one_col(&b.strike),
                rate: &one_col(&b.rate),
                vol: &one_col(&b.vol),
                t_years: &one_col(&b.t_years),
            };
            batch_on(*kernel, &cols, &mut alone, false);
            assert!(
                same_bits(&alone[0], &all[i]),
                "{}: option {i}",
                kernel.name()
            );
        }
    }
}

/// Wide random inputs: spot 1e-2 to 1e6, strike up to e^±8 away (deep in and out of the money),
/// rates ±30%, volatility 1e-4 to 10 (and exactly 0), expiry 1e-9 to 30 years.
fn wide_option() -> impl Strategy<Value = (bool, f64, f64, f64, f64, f64)> {
    (
        any::<bool>(),
        -2.0f64..6.0,
        -8.0f64..8.0,
        -0.3f64..0.3,
        prop_oneof![9 => -4.0f64..1.0, 1 => Just(f64::NEG_INFINITY)],
        -9.0f64..1.5,
    )
        .prop_map(|(call, ls, m, r, lv, lt)| {
            let s = 10f64.powf(ls);
            (call, s, s * m.exp(), r, 10f64.powf(lv), 10f64.powf(lt))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Blocks of wide random options on every vector kernel agree with the scalar kernel by the
    /// measure of [`disagreement`].
    #[test]
    fn wide_inputs_agree_with_the_scalar_kernel(opts in prop::collection::vec(wide_option(), 1..40)) {
        let mut b = Book::default();
        for (call, s, k, r, vol, t) in opts {
            let kind = if call { OptionType::Call } else { OptionType::Put };
            b.push(kind, s, k, r, vol, t);
        }
        let checked = check_book(&b, false);
        prop_assert!(checked.is_ok(), "{}", checked.err().unwrap_or_default());
        // The public entry is the detected kernel.
        let mut out = vec![Greeks::default(); b.len()];
        black76_batch(&b.kind, &b.spot, &b.strike, &b.rate, &b.vol, &b.t_years, &mut out);
        let detected = b.value(Kernel::detect());
        prop_assert!(out.iter().zip(&detected).all(|(x, y)| same_bits(x, y)));
        for i in 0..b.len() {
            let spec = OptionSpec::new(b.kind[i], b.spot[i], b.strike[i], b.rate[i], b.vol[i], b.t_years[i]);
            if let Ok(spec) = spec {
                prop_assert!(same_bits(&black76(&spec), &b.scalar(i)));
            }
        }
    }
}
