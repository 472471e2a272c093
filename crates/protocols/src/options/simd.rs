//! The Black-76 kernel of [`black76_batch`](super::black76_batch) over lanes of options: sixteen
//! at a time with AVX-512 (`avx512f`, `avx512dq`; two 8-lane registers side by side), four with
//! AVX2 and FMA, chosen at run time ([`Kernel::detect`]); the scalar kernel ([`greeks_kernel`])
//! where neither is available.
//!
//! Every lane computes what the scalar kernel computes (docs/clearinghouse.md#options-and-black-76),
//! in the same order:
//!
//! ```text
//! √T, v = σ√T, D = e^{−rT}, K·D, S/K, ln(F/K) = ln(S/K) + rT
//! d1 = ln(F/K)/v + v/2, d2 = d1 − v, e1 = e^{−d1²/2}, e2 = e1·(S/K)/D   (= e^{−d2²/2})
//! N(w·d1), N(w·d2) from e1, e2 by Cody's rationals (erf for |x|/√2 ≤ 0.46875, erfc·e^{y²} above)
//! price = w·(S·N(w·d1) − K·D·N(w·d2)), delta = w·N(w·d1), gamma = φ(d1)/(S·v),
//! vega = S·φ(d1)·√T, theta = −S·φ(d1)·σ/(2√T) − w·r·K·D·N(w·d2)
//! ```
//!
//! with these differences, all in the last bits: `e^x` and `ln x` are the vector versions below
//! (within one ulp of the platform's libm, which the scalar path calls); Cody's polynomials are
//! evaluated by Horner's rule with fused multiply–adds; each lane takes the numerator and
//! denominator of its own range (in the far tail, `|x|/√2 > 4`, rewritten as one fraction in `y²`),
//! and both fractions, for `N(w·d1)` and `N(w·d2)`, share one division.
//!
//! Lanes the vector arithmetic does not cover are finished by the scalar kernel, so their results
//! are the scalar path's exactly: `σ√T` not in `(0, ∞)` (zero volatility, NaN), `S/K` not a positive
//! normal number, `|rT| > 700` or NaN, and `d1²/2 > 662` (`e1` below about 1.6e-288; the scalar
//! path takes `e^{−d2²/2}` directly below 1e-290).
//!
//! Accuracy against the scalar path (the measure of `options::simd::tests`): for each output `X`,
//!
//! `|X_simd − X_scalar| ≤ 1e-12·scale(X) + |∂X/∂d1|·δ + 1e-300`,
//!
//! where `scale` is the size of what the formula adds up — `S·N(w·d1) + K·D·N(w·d2)` for the price,
//! `S·φ(d1)·σ/(2√T) + |r|·K·D·N(w·d2)` for theta, `|X|` for delta, gamma and vega — and
//! `δ = 4ε·(|ln(S/K)| + |rT|)/(σ√T)` bounds how far the two paths' `d1` can differ through their
//! own roundings of `ln(F/K)`, an input rounding that both make (differently) and that only shows at
//! a tiny `σ√T` beside a large `|ln(S/K)|` or `|rT|`. A price that is the difference of two nearly
//! equal terms (a tiny `σ√T`, far out of the money) keeps the terms' accuracy, not its own: both
//! paths are exact to a few ulps of the terms, and there is nothing finer to agree on. Measured on
//! this repository's tests: over the `cascade bench` inputs (200,000 options) and a sweep of `d1`
//! through every Cody range and both tails, the largest `|X_simd − X_scalar|/(1e-12·scale(X))`
//! is 0.09 and 0.34 with `δ = 0`; wide random inputs (spot 1e-2 to 1e6, strikes `e^{±8}` away,
//! `σ` 1e-4 to 10, `T` 1e-9 to 30 years) stay within the bound with `δ`.
//!
//! Each lane's result depends on its own inputs only (lanes never mix, a short block is padded),
//! so a batch gives the same bits however rayon splits it, run after run, wherever an option sits
//! in it; the AVX-512 and AVX2 paths do the same operations and agree bit for bit.

use super::{
    greeks_kernel, payoff_sign, Greeks, CODY_A, CODY_B, CODY_C, CODY_D, CODY_P, CODY_Q, CODY_SMALL,
    FRAC_1_SQRT_PI, INV_SQRT_2PI,
};
use cascade_model::OptionType;

/// Which kernel [`black76_batch`](super::black76_batch) runs on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Eight lanes of `f64` (AVX-512F and AVX-512DQ).
    Avx512,
    /// Four lanes of `f64` (AVX2 and FMA).
    Avx2,
    /// One option at a time (no x86-64 vector unit the kernel uses).
    Scalar,
}

impl Kernel {
    /// The widest kernel this CPU runs, detected at run time.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
            {
                return Kernel::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Kernel::Avx2;
            }
        }
        Kernel::Scalar
    }

    /// Whether this CPU runs the kernel.
    pub fn available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// `"avx512"`, `"avx2"` or `"scalar"`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2",
            Kernel::Scalar => "scalar",
        }
    }
}

/// Values the options of one chunk (every column as long as `out`) with `kernel`; one this CPU
/// does not run ([`Kernel::available`]) falls back to the scalar kernel. With `stream`, the
/// AVX-512 kernel writes `out` with non-temporal stores (past the caches, and without first
/// reading the lines it overwrites) where `out` is aligned to a cache line: for batches far
/// larger than the caches, whose results are not read again soon.
pub(super) fn value_chunk(kernel: Kernel, cols: &Columns, out: &mut [Greeks], stream: bool) {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if kernel.available() => {
            // SAFETY: `available` has just detected AVX-512F and AVX-512DQ on this CPU, the target
            // features `avx512::value` is compiled for.
            unsafe { avx512::value(cols, out, stream) }
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 if kernel.available() => {
            // SAFETY: `available` has just detected AVX2 and FMA on this CPU, the target features
            // `avx2::value` is compiled for.
            unsafe { avx2::value(cols, out, stream) }
        }
        _ => scalar(cols, 0..out.len(), out),
    }
}

/// The input columns of a batch, all of the same length.
pub(super) struct Columns<'a> {
    pub(super) kind: &'a [OptionType],
    pub(super) spot: &'a [f64],
    pub(super) strike: &'a [f64],
    pub(super) rate: &'a [f64],
    pub(super) vol: &'a [f64],
    pub(super) t_years: &'a [f64],
}

impl Columns<'_> {
    /// Options `r` of every column.
    pub(super) fn range(&self, r: std::ops::Range<usize>) -> Columns<'_> {
        Columns {
            kind: &self.kind[r.clone()],
            spot: &self.spot[r.clone()],
            strike: &self.strike[r.clone()],
            rate: &self.rate[r.clone()],
            vol: &self.vol[r.clone()],
            t_years: &self.t_years[r],
        }
    }
}

/// `(e^x, ln x)` by the lane functions of `kernel`, `None` if this CPU does not run it (for the
/// tests).
#[cfg(test)]
fn exp_ln(kernel: Kernel, x: f64) -> Option<(f64, f64)> {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `available` has just detected the target features of `avx512::exp_ln`.
        Kernel::Avx512 if kernel.available() => Some(unsafe { avx512::exp_ln(x) }),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `available` has just detected the target features of `avx2::exp_ln`.
        Kernel::Avx2 if kernel.available() => Some(unsafe { avx2::exp_ln(x) }),
        _ => None,
    }
}

/// The scalar kernel on options `range` of the chunk.
fn scalar(c: &Columns, range: std::ops::Range<usize>, out: &mut [Greeks]) {
    for i in range {
        out[i] = greeks_kernel(
            payoff_sign(c.kind[i]),
            c.spot[i],
            c.strike[i],
            c.rate[i],
            c.vol[i],
            c.t_years[i],
        );
    }
}

/// `1.5·2⁵²`: added to a number of magnitude below 2⁵¹, it rounds it to an integer, which the low
/// bits of the sum then hold in two's complement.
const SHIFTER: f64 = 6_755_399_441_055_744.0;
/// `ln 2` in two parts (fdlibm's): `LN2_HI` has 32 significant bits, so `n·LN2_HI` is exact for
/// `|n| < 2²¹`, and `LN2_HI + LN2_LO = ln 2` to about 1e-27.
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// Taylor coefficients `1/k!` of `e^r`, `k = 0..=13`: at `|r| ≤ ln2/2` the remainder is below
/// 4e-18 relative.
const EXP_TAYLOR: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    0.166_666_666_666_666_66,
    0.041_666_666_666_666_664,
    0.008_333_333_333_333_333,
    0.001_388_888_888_888_889,
    0.000_198_412_698_412_698_4,
    2.480_158_730_158_73e-5,
    2.755_731_922_398_589_3e-6,
    2.755_731_922_398_589e-7,
    2.505_210_838_544_172e-8,
    2.087_675_698_786_81e-9,
    1.605_904_383_682_161_3e-10,
];
/// fdlibm's minimax coefficients of `(ln(1+f) − 2s)/(2s) ≈ Lg1·s² + … + Lg7·s¹⁴`, `s = f/(2+f)`,
/// on `√½ ≤ 1+f < √2` (error below 2^-58.45).
const LG: [f64; 7] = [
    0.666_666_666_666_673_5,
    0.399_999_999_994_094_2,
    0.285_714_287_436_623_9,
    0.222_221_984_321_497_84,
    0.181_835_721_616_180_5,
    0.153_138_376_992_093_73,
    0.147_981_986_051_165_86,
];
/// The bits of `√½`: `ln` splits `x = 2^k·z` with `z` in `[√½, √2)`.
const SQRT_HALF_BITS: u64 = 0x3FE6_A09E_667F_3BCD;
/// `e1` below `e^{−662}` (about 1.6e-288) goes to the scalar kernel, which near 1e-290 changes how
/// it takes `e^{−d2²/2}`; the margin keeps the vector lanes clear of that branch.
const MIN_EXP_ARG: f64 = -662.0;
/// `|rT|` above this goes to the scalar kernel (`e^{−rT}` would leave the normal range).
const MAX_RT: f64 = 700.0;

/// The kernel over lanes, written once against the lane primitives of the module it is expanded
/// in (`V`, `M`, `L`, `splat`, `add`, `fma`, …, all compiled for the target features `$feat`).
macro_rules! lanes_kernel {
    ($feat:literal) => {
        /// `e^x` for `x` in `[−708, 708]` (other lanes: meaningless numbers, no trap), under one
        /// ulp: `x = n·ln2 + r` with `|r| ≤ ln2/2` (`r` exact to one rounding), `e^r` by its
        /// Taylor polynomial of degree 13 (Horner, fused), times `2ⁿ` built in the exponent bits.
        #[inline]
        #[target_feature(enable = $feat)]
        fn exp(x: V) -> V {
            let t = fma(x, splat(std::f64::consts::LOG2_E), splat(SHIFTER));
            let n = sub(t, splat(SHIFTER));
            let r = fma(n, splat(-LN2_HI), x);
            let r = fma(n, splat(-LN2_LO), r);
            let mut p = splat(EXP_TAYLOR[13]);
            for &c in EXP_TAYLOR[..13].iter().rev() {
                p = fma(p, r, splat(c));
            }
            // The low 12 bits of `t` hold n; (n + 1023) << 52 is 2ⁿ.
            let scale = shl52(add_bits(t, 1023));
            mul(p, scale)
        }

        /// `ln x` for positive normal `x` (other lanes: meaningless numbers, no trap), under one
        /// ulp, fdlibm's method: `x = 2^k·z` with `z = 1 + f` in `[√½, √2)`, `s = f/(2+f)`,
        /// `ln z = f − f²/2 + s·(f²/2 + R(s²))`, `ln x = k·ln2_hi − ((f²/2 − (s·(f²/2 + R) +
        /// k·ln2_lo)) − f)`.
        #[inline]
        #[target_feature(enable = $feat)]
        fn ln(x: V) -> V {
            // u = bits(x) − bits(√½) + 1024·2⁵², positive for every positive normal x: its top
            // bits are k + 1024, its low 52 bits those of z above √½.
            let u = add_bits(x, (1024u64 << 52).wrapping_sub(SQRT_HALF_BITS));
            let k = sub(
                or_bits(shr52(u), 0x4330_0000_0000_0000),
                splat(4_503_599_627_370_496.0 + 1024.0),
            );
            let z = add_bits(and_bits(u, (1u64 << 52) - 1), SQRT_HALF_BITS);
            let f = sub(z, splat(1.0));
            let hfsq = mul(splat(0.5), mul(f, f));
            let s = div(f, add(splat(2.0), f));
            let z2 = mul(s, s);
            let w = mul(z2, z2);
            let t1 = mul(w, fma(w, fma(w, splat(LG[5]), splat(LG[3])), splat(LG[1])));
            let t2 = mul(
                z2,
                fma(
                    w,
                    fma(w, fma(w, splat(LG[6]), splat(LG[4])), splat(LG[2])),
                    splat(LG[0]),
                ),
            );
            let r = add(t2, t1);
            let a = fma(k, splat(LN2_LO), mul(s, add(hfsq, r)));
            sub(mul(k, splat(LN2_HI)), sub(sub(hfsq, a), f))
        }

        /// Cody's rational for `N(x)` in each lane's range, as a numerator and a denominator
        /// (`y = |x|/√2`, `u = y²`):
        ///
        /// - `y ≤ 0.46875`: `erf(y) = y·A(u)/B(u)`;
        /// - `y ≤ 4`: `erfc(y)·e^{u} = C(y)/D(y)`;
        /// - beyond: `erfc(y)·e^{u} = (1/√π − z·P(z)/Q(z))/y` with `z = 1/u`, here with `P` and `Q`
        ///   times `u⁵` (`P̃`, `Q̃`, polynomials in `u`) so that it is one fraction,
        ///   `(u·Q̃(u)/√π − P̃(u)) / (u·y·Q̃(u))`.
        #[inline]
        #[target_feature(enable = $feat)]
        fn cody_fraction(x: V) -> (V, V) {
            let xs = mul(x, splat(std::f64::consts::FRAC_1_SQRT_2));
            let y = abs(xs);
            let u = mul(xs, xs);
            let small = le(y, splat(CODY_SMALL));
            let large = gt(y, splat(4.0));
            let mid = and_m(gt(y, splat(CODY_SMALL)), le(y, splat(4.0)));
            let mut num = splat(1.0);
            let mut den = splat(1.0);
            if any(small) {
                let mut a = splat(CODY_A[4]);
                let mut b = splat(1.0);
                for (&ca, &cb) in CODY_A[..4].iter().zip(&CODY_B) {
                    a = fma(a, u, splat(ca));
                    b = fma(b, u, splat(cb));
                }
                num = select(small, mul(xs, a), num);
                den = select(small, b, den);
            }
            if any(mid) {
                let mut c = splat(CODY_C[8]);
                let mut d = splat(1.0);
                for (&cc, &cd) in CODY_C[..8].iter().zip(&CODY_D) {
                    c = fma(c, y, splat(cc));
                    d = fma(d, y, splat(cd));
                }
                num = select(mid, c, num);
                den = select(mid, d, den);
            }
            if any(large) {
                // P̃(u) = P5 + P0·u + … + P4·u⁵, Q̃(u) = 1 + Q0·u + … + Q4·u⁵.
                let mut p = splat(CODY_P[4]);
                let mut q = splat(CODY_Q[4]);
                for (&cp, &cq) in CODY_P[..4].iter().zip(&CODY_Q[..4]).rev() {
                    p = fma(p, u, splat(cp));
                    q = fma(q, u, splat(cq));
                }
                p = fma(p, u, splat(CODY_P[5]));
                q = fma(q, u, splat(1.0));
                let uq = mul(u, q);
                num = select(
                    large,
                    fma(uq, splat(FRAC_1_SQRT_PI), sub(splat(-0.0), p)),
                    num,
                );
                den = select(large, mul(uq, y), den);
            }
            (num, den)
        }

        /// `N(x)` given `e = e^{−x²/2}` and Cody's `num/den` for `x` ([`cody_fraction`]), as the
        /// scalar `norm_cdf_given_exp`: `½ + ½·erf` in the first range, else the tail
        /// `½·e·erfc·e^{y²}` or its complement.
        #[inline]
        #[target_feature(enable = $feat)]
        fn norm_cdf_from(x: V, e: V, ratio: V) -> V {
            let y = abs(mul(x, splat(std::f64::consts::FRAC_1_SQRT_2)));
            let tail = mul(mul(splat(0.5), e), ratio);
            let cdf = select(lt(x, splat(0.0)), tail, sub(splat(1.0), tail));
            select(
                le(y, splat(CODY_SMALL)),
                fma(splat(0.5), ratio, splat(0.5)),
                cdf,
            )
        }

        /// `(N(x1), N(x2))` given `e1 = e^{−x1²/2}`, `e2 = e^{−x2²/2}`, with one division for
        /// both fractions: `n1/d1 = n1·d2·(1/(d1·d2))` and likewise.
        #[inline]
        #[target_feature(enable = $feat)]
        fn norm_cdf_pair(x1: V, e1: V, x2: V, e2: V) -> (V, V) {
            let (n1, d1) = cody_fraction(x1);
            let (n2, d2) = cody_fraction(x2);
            let inv = div(splat(1.0), mul(d1, d2));
            (
                norm_cdf_from(x1, e1, mul(mul(n1, d2), inv)),
                norm_cdf_from(x2, e2, mul(mul(n2, d1), inv)),
            )
        }

        /// Price and Greeks of `L` options, and the lanes the vector arithmetic covers (the rest
        /// are the scalar kernel's).
        #[inline]
        #[target_feature(enable = $feat)]
        fn block(w: V, spot: V, strike: V, rate: V, vol: V, t_years: V) -> ([V; 5], M) {
            let sqrt_t = sqrt(t_years);
            let v = mul(vol, sqrt_t);
            let rt = mul(rate, t_years);
            let df = exp(sub(splat(-0.0), rt));
            let k_df = mul(strike, df);
            let s_over_k = div(spot, strike);
            let ln_fk = add(ln(s_over_k), rt);
            let d1 = fma(splat(0.5), v, div(ln_fk, v));
            let d2 = sub(d1, v);
            let arg = mul(splat(-0.5), mul(d1, d1));
            let e1 = exp(arg);
            let e2 = mul(e1, div(s_over_k, df));
            let pdf = mul(splat(INV_SQRT_2PI), e1);
            let (n1, n2) = norm_cdf_pair(mul(w, d1), e1, mul(w, d2), e2);
            let s_pdf = mul(spot, pdf);
            let price = mul(w, sub(mul(spot, n1), mul(k_df, n2)));
            let delta = mul(w, n1);
            let gamma = div(pdf, mul(spot, v));
            let vega = mul(s_pdf, sqrt_t);
            let theta = sub(
                div(mul(sub(splat(-0.0), s_pdf), vol), mul(splat(2.0), sqrt_t)),
                mul(mul(mul(w, rate), k_df), n2),
            );
            let ok = and_m(
                and_m(gt(v, splat(0.0)), le(v, splat(f64::MAX))),
                and_m(
                    and_m(
                        le(abs(rt), splat(MAX_RT)),
                        ge(s_over_k, splat(f64::MIN_POSITIVE)),
                    ),
                    and_m(le(s_over_k, splat(f64::MAX)), ge(arg, splat(MIN_EXP_ARG))),
                ),
            );
            ([price, delta, gamma, vega, theta], ok)
        }

        /// Values the chunk `c` into `out` (as long as every column), `L` options at a time; a
        /// short block (the last; the first, when streaming) is padded with an ordinary option
        /// whose result is dropped, so that every option goes through the same lane arithmetic
        /// wherever it sits.
        #[target_feature(enable = $feat)]
        pub(super) fn value(c: &Columns, out: &mut [Greeks], stream: bool) {
            let n = out.len();
            // Streaming: a short first block up to the first option on a cache line, from which
            // every full block is on one.
            let head = if stream {
                out.as_ptr().align_offset(64).min(n)
            } else {
                0
            };
            let stream = stream && head < L && can_stream(&out[head..]);
            let mut lo = 0;
            while lo < n {
                let m = if lo == 0 && head > 0 && stream {
                    head
                } else {
                    L.min(n - lo)
                };
                let mut pad = [[1.0f64; L]; 5];
                let mut pad_kind = [OptionType::Call; L];
                let (kind, cols): (&[OptionType], [&[f64]; 5]) = if m == L {
                    (
                        &c.kind[lo..],
                        [
                            &c.spot[lo..],
                            &c.strike[lo..],
                            &c.rate[lo..],
                            &c.vol[lo..],
                            &c.t_years[lo..],
                        ],
                    )
                } else {
                    pad_kind[..m].copy_from_slice(&c.kind[lo..lo + m]);
                    let from = [c.spot, c.strike, c.rate, c.vol, c.t_years];
                    for (p, x) in pad.iter_mut().zip(from) {
                        p[..m].copy_from_slice(&x[lo..lo + m]);
                    }
                    (&pad_kind, [&pad[0], &pad[1], &pad[2], &pad[3], &pad[4]])
                };
                let (g, ok) = block(
                    payoff_signs(kind),
                    load_at(cols[0]),
                    load_at(cols[1]),
                    load_at(cols[2]),
                    load_at(cols[3]),
                    load_at(cols[4]),
                );
                if m == L {
                    write_block(&mut out[lo..lo + L], g, stream);
                } else {
                    let mut block_out = [Greeks::default(); L];
                    write_block(&mut block_out, g, false);
                    out[lo..lo + m].copy_from_slice(&block_out[..m]);
                }
                finish_with_scalar(c, out, lo, m, bits(ok));
                lo += m;
            }
            if stream {
                // Non-temporal stores are weakly ordered: make them visible before the caller
                // (another thread, maybe) reads `out`.
                store_fence();
            }
        }

        /// `w` of `L` options: `+1` for a call, `−1` for a put.
        #[inline]
        #[target_feature(enable = $feat)]
        fn payoff_signs(kind: &[OptionType]) -> V {
            let mut puts = 0u32;
            for (j, &k) in kind.iter().enumerate().take(L) {
                puts |= u32::from(k == OptionType::Put) << j;
            }
            select(mask_of(puts), splat(-1.0), splat(1.0))
        }

        /// The scalar kernel on the first `m` options from `lo` whose bit in `ok` is clear.
        #[inline]
        #[target_feature(enable = $feat)]
        fn finish_with_scalar(c: &Columns, out: &mut [Greeks], lo: usize, m: usize, ok: u32) {
            let redo = !ok & ((1u32 << m) - 1);
            if redo != 0 {
                for j in (0..m).filter(|j| redo & (1 << j) != 0) {
                    scalar(c, lo + j..lo + j + 1, out);
                }
            }
        }

        /// `(e^x, ln x)` by the lane functions, every lane `x` (for the tests).
        #[cfg(test)]
        #[target_feature(enable = $feat)]
        pub(super) fn exp_ln(x: f64) -> (f64, f64) {
            let mut e = [0.0; L];
            let mut l = [0.0; L];
            store(&mut e, exp(splat(x)));
            store(&mut l, ln(splat(x)));
            (e[0], l[0])
        }
    };
}

/// Sixteen lanes: two `__m512d` side by side.
#[cfg(target_arch = "x86_64")]
mod avx512;

/// Four lanes: one `__m256d`.
#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(test)]
mod tests;
