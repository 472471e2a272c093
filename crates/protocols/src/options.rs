//! European options on one token (docs/clearinghouse.md#options-and-black-76): Black-76 on the forward with a quadratic smile, the
//! option's value and its Greeks delta, gamma, vega and theta — one at a time ([`black76`]), price
//! only ([`black76_price`]), or many at once on flat columns in parallel ([`black76_batch`]).
//!
//! Units: `spot` and `strike` in USD per token, `rate` annual and continuously compounded, `vol`
//! annual (0.7 = 70%), `t_years` in years. Every value is per unit of the underlying (one option on
//! one token).

use cascade_model::OptionType;
use rayon::prelude::*;

/// The floor of the smile, annual volatility: `σ(k)` never goes below 1% however far the quadratic
/// bends (a negative skew would otherwise give negative volatilities far from the money).
pub const MIN_VOL: f64 = 0.01;

/// Options valued per rayon task by [`black76_batch`].
pub const BATCH_CHUNK: usize = 4096;

/// Results of [`black76_batch`] at least this large (16 MiB, 420k options) are written past the
/// caches, which they would only flush.
const STREAM_BYTES: usize = 16 << 20;

/// `1/√(2π)`, the normal density at 0.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// The sign `w` of a payoff `max(w·(S_T − K), 0)`: `+1` for a call, `−1` for a put.
pub fn payoff_sign(kind: OptionType) -> f64 {
    match kind {
        OptionType::Call => 1.0,
        OptionType::Put => -1.0,
    }
}

/// The volatility smile of one underlying (docs/clearinghouse.md#volatility-smile-and-skew):
/// `σ(k) = atm + skew·k + curvature·k²` with log-moneyness `k = ln(K/F)`, floored at [`MIN_VOL`].
///
/// # Examples
/// ```
/// use cascade_protocols::options::Smile;
/// let s = Smile { atm: 0.70, skew: -0.10, curvature: 0.20 };
/// assert_eq!(s.vol(2000.0, 2000.0), 0.70); // at the money, k = 0
/// assert_eq!(Smile::flat(0.5).vol(3000.0, 2000.0), 0.5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smile {
    /// At-the-money volatility `σ_atm` (annual).
    pub atm: f64,
    /// Slope in log-moneyness `k = ln(K/F)`.
    pub skew: f64,
    /// Curvature: the coefficient of `k²`.
    pub curvature: f64,
}

impl Smile {
    /// The same volatility at every strike: `σ(k) = vol`.
    pub fn flat(vol: f64) -> Smile {
        Smile {
            atm: vol,
            skew: 0.0,
            curvature: 0.0,
        }
    }

    /// `σ(k) = max(atm + skew·k + curvature·k², MIN_VOL)`, `k = ln(strike / forward)`.
    ///
    /// `strike` and `forward` must be > 0; otherwise `k` is not a number and neither is the result
    /// (which [`OptionSpec::new`] then rejects), rather than a volatility made up from nothing.
    pub fn vol(&self, strike: f64, forward: f64) -> f64 {
        let k = (strike / forward).ln();
        let v = self.atm + self.skew * k + self.curvature * k * k;
        if v.is_nan() {
            v
        } else {
            v.max(MIN_VOL)
        }
    }
}

/// An option's value and Greeks, per unit of the underlying, with respect to spot `S`:
/// `delta = ∂V/∂S`, `gamma = ∂²V/∂S²`, `vega = ∂V/∂σ` per unit of volatility (not per 1%), and
/// `theta = ∂V/∂t` per year of calendar time (`= −∂V/∂T`). Laid out as five `f64` in this order
/// (`#[repr(C)]`), which the vector kernel of [`black76_batch`] writes in place.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[repr(C)]
pub struct Greeks {
    /// Value `V`, USD per token of underlying.
    pub price: f64,
    /// `∂V/∂S`.
    pub delta: f64,
    /// `∂²V/∂S²`, per USD.
    pub gamma: f64,
    /// `∂V/∂σ`, USD per unit of annual volatility (divide by 100 for "per vol point").
    pub vega: f64,
    /// `∂V/∂t`, USD per year (divide by 365 for a calendar day's decay).
    pub theta: f64,
}

/// An option input outside its domain: which input, what was found, what was expected.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum OptionError {
    /// `σ < 0`.
    #[error("vol = {0}, expected ≥ 0")]
    NegativeVol(f64),
    /// `T ≤ 0`: the option has expired.
    #[error("expiry_years = {0}, expected > 0")]
    NonPositiveExpiry(f64),
    /// `K ≤ 0`.
    #[error("strike = {0}, expected > 0")]
    NonPositiveStrike(f64),
    /// `S ≤ 0`.
    #[error("spot = {0}, expected > 0")]
    NonPositiveSpot(f64),
    /// NaN or ±∞ in the input named `field`.
    #[error("{field} = {found}, expected a finite number")]
    NonFinite { field: &'static str, found: f64 },
}

impl OptionError {
    /// The input at fault, by the names of the `cascade greeks` CSV columns: `spot`, `strike`,
    /// `rate`, `vol` or `expiry_years`.
    pub fn field(&self) -> &'static str {
        match self {
            OptionError::NegativeVol(_) => "vol",
            OptionError::NonPositiveExpiry(_) => "expiry_years",
            OptionError::NonPositiveStrike(_) => "strike",
            OptionError::NonPositiveSpot(_) => "spot",
            OptionError::NonFinite { field, .. } => field,
        }
    }

    /// The value found.
    pub fn found(&self) -> f64 {
        match self {
            OptionError::NegativeVol(x)
            | OptionError::NonPositiveExpiry(x)
            | OptionError::NonPositiveStrike(x)
            | OptionError::NonPositiveSpot(x)
            | OptionError::NonFinite { found: x, .. } => *x,
        }
    }

    /// What was expected, in words: `"≥ 0"`, `"> 0"` or `"a finite number"`.
    pub fn expected(&self) -> &'static str {
        match self {
            OptionError::NegativeVol(_) => "≥ 0",
            OptionError::NonPositiveExpiry(_)
            | OptionError::NonPositiveStrike(_)
            | OptionError::NonPositiveSpot(_) => "> 0",
            OptionError::NonFinite { .. } => "a finite number",
        }
    }
}

/// One European option, validated: spot `S > 0`, strike `K > 0`, rate `r` (annual, continuous, any
/// sign), volatility `σ ≥ 0`, time to expiry `t_years > 0`, all finite.
///
/// # Examples
/// ```
/// use cascade_model::OptionType;
/// use cascade_protocols::options::OptionSpec;
/// assert!(OptionSpec::new(OptionType::Call, 42.0, 40.0, 0.10, 0.20, 0.5).is_ok());
/// let e = OptionSpec::new(OptionType::Call, 42.0, 40.0, 0.10, -0.2, 0.5).unwrap_err();
/// assert_eq!(e.to_string(), "vol = -0.2, expected ≥ 0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionSpec {
    pub kind: OptionType,
    /// `S`, USD per token.
    pub spot: f64,
    /// `K`, USD per token.
    pub strike: f64,
    /// `r`, annual, continuously compounded.
    pub rate: f64,
    /// `σ`, annual.
    pub vol: f64,
    /// `T`, years to expiry.
    pub t_years: f64,
}

impl OptionSpec {
    /// Checks every input (in the order spot, strike, rate, vol, expiry; the first fault is
    /// returned).
    pub fn new(
        kind: OptionType,
        spot: f64,
        strike: f64,
        rate: f64,
        vol: f64,
        t_years: f64,
    ) -> Result<OptionSpec, OptionError> {
        let finite = |field: &'static str, found: f64| {
            if found.is_finite() {
                Ok(())
            } else {
                Err(OptionError::NonFinite { field, found })
            }
        };
        finite("spot", spot)?;
        if spot <= 0.0 {
            return Err(OptionError::NonPositiveSpot(spot));
        }
        finite("strike", strike)?;
        if strike <= 0.0 {
            return Err(OptionError::NonPositiveStrike(strike));
        }
        finite("rate", rate)?;
        finite("vol", vol)?;
        if vol < 0.0 {
            return Err(OptionError::NegativeVol(vol));
        }
        finite("expiry_years", t_years)?;
        if t_years <= 0.0 {
            return Err(OptionError::NonPositiveExpiry(t_years));
        }
        Ok(OptionSpec {
            kind,
            spot,
            strike,
            rate,
            vol,
            t_years,
        })
    }

    /// The forward `F = S·e^{rT}`.
    pub fn forward(&self) -> f64 {
        self.spot * (self.rate * self.t_years).exp()
    }
}

/// W. J. Cody's rational Chebyshev approximations of the error function ("Rational Chebyshev
/// approximations for the error function", Math. Comp. 23 (1969) 631–638; the coefficients of his
/// double-precision CALERF), evaluated here in three ranges of `y ≥ 0`:
/// `erf(y) = y·A(y²)/B(y²)` for `y ≤ 0.46875`; `erfc(y) = e^{−y²}·C(y)/D(y)` for `y ≤ 4`;
/// `erfc(y) = e^{−y²}/y·(1/√π − P(1/y²)/(y²·Q(1/y²)))` beyond. The last coefficient of `A`, `C` and
/// `P` is the leading one (the numerator's highest power).
const CODY_A: [f64; 5] = [
    3.1611237438705655,
    113.86415415105016,
    377.485237685302,
    3209.3775891384694,
    0.18577770618460315,
];
const CODY_B: [f64; 4] = [
    23.601290952344122,
    244.02463793444417,
    1282.6165260773723,
    2844.236833439171,
];
const CODY_C: [f64; 9] = [
    0.5641884969886701,
    8.883149794388377,
    66.11919063714163,
    298.6351381974001,
    881.952221241769,
    1712.0476126340707,
    2051.0783778260716,
    1230.3393547979972,
    2.1531153547440383e-08,
];
const CODY_D: [f64; 8] = [
    15.744926110709835,
    117.6939508913125,
    537.1811018620099,
    1621.3895745666903,
    3290.7992357334597,
    4362.619090143247,
    3439.3676741437216,
    1230.3393548037495,
];
const CODY_P: [f64; 6] = [
    0.30532663496123236,
    0.36034489994980445,
    0.12578172611122926,
    0.016083785148742275,
    0.0006587491615298378,
    0.016315387137302097,
];
const CODY_Q: [f64; 5] = [
    2.568520192289822,
    1.8729528499234604,
    0.5279051029514285,
    0.06051834131244132,
    0.0023352049762686918,
];
/// `1/√π`.
const FRAC_1_SQRT_PI: f64 = 0.5 * std::f64::consts::FRAC_2_SQRT_PI;
/// Where Cody's first range (`erf` by a rational in `y²`) ends, in `y = |x|/√2`.
const CODY_SMALL: f64 = 0.468_75;

/// `erf(y)` for `|y| ≤ 0.46875` (Cody's first range).
#[inline(always)]
fn erf_small(y: f64) -> f64 {
    let ysq = y * y;
    let mut num = CODY_A[4] * ysq;
    let mut den = ysq;
    for i in 0..3 {
        num = (num + CODY_A[i]) * ysq;
        den = (den + CODY_B[i]) * ysq;
    }
    y * (num + CODY_A[3]) / (den + CODY_B[3])
}

/// The scaled complement `erfc(y)·e^{y²}` for `y > 0.46875` (Cody's second and third ranges).
#[inline(always)]
fn erfc_scaled(y: f64) -> f64 {
    if y <= 4.0 {
        let mut num = CODY_C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + CODY_C[i]) * y;
            den = (den + CODY_D[i]) * y;
        }
        (num + CODY_C[7]) / (den + CODY_D[7])
    } else {
        let z = 1.0 / (y * y);
        let mut num = CODY_P[5] * z;
        let mut den = z;
        for i in 0..4 {
            num = (num + CODY_P[i]) * z;
            den = (den + CODY_Q[i]) * z;
        }
        (FRAC_1_SQRT_PI - z * (num + CODY_P[4]) / (den + CODY_Q[4])) / y
    }
}

/// `N(x)` given `e = e^{−x²/2}` (which the Black-76 kernel already has): no exponential here.
/// `N(x) = ½ + ½·erf(x/√2)` near 0, else `N(−|x|) = ½·e·erfc_scaled(|x|/√2)` and its complement.
#[inline(always)]
fn norm_cdf_given_exp(x: f64, e: f64) -> f64 {
    let y = x.abs() * std::f64::consts::FRAC_1_SQRT_2;
    if y <= CODY_SMALL {
        0.5 + 0.5 * erf_small(x * std::f64::consts::FRAC_1_SQRT_2)
    } else {
        let tail = 0.5 * e * erfc_scaled(y);
        if x < 0.0 {
            tail
        } else {
            1.0 - tail
        }
    }
}

/// The standard normal distribution function `N(x) = ½·erfc(−x/√2)`, by W. J. Cody's rational
/// approximations of `erf`/`erfc` (Math. Comp. 1969), accurate to about 1e-15 relative in both
/// tails down to `N(−37)` (below which it underflows to 0). `e^{−x²/2}` is taken in two factors,
/// `x` rounded to 1/16 (whose square is exact) and the rest, so that rounding `x²` costs nothing.
///
/// # Examples
/// ```
/// use cascade_protocols::options::norm_cdf;
/// assert_eq!(norm_cdf(0.0), 0.5);
/// assert!((norm_cdf(1.96) - 0.975_002_104_851_779_5).abs() < 1e-15);
/// ```
pub fn norm_cdf(x: f64) -> f64 {
    let ax = x.abs();
    let xr = (ax * 16.0).trunc() / 16.0;
    let e = (-0.5 * xr * xr).exp() * (-0.5 * (ax - xr) * (ax + xr)).exp();
    norm_cdf_given_exp(x, e)
}

/// `e^{−d2²/2}` from `e1 = e^{−d1²/2}`: since `d1² − d2² = 2·ln(F/K)`, it is `e1·F/K`, with no
/// exponential — unless `e1` is so small (`d1 > 36`, absurd volatilities) that the product would
/// lose digits or overflow, when it is computed directly.
#[inline(always)]
fn exp_half_d2_sq(e1: f64, f_over_k: f64, d2: f64) -> f64 {
    if e1 > 1e-290 {
        e1 * f_over_k
    } else {
        (-0.5 * d2 * d2).exp()
    }
}

/// Black-76 on the forward `F = S·e^{rT}`, discounted at `D = e^{−rT}` — the same as
/// Black–Scholes on spot (docs/clearinghouse.md#options-and-black-76). With `w = +1` for a call and `−1` for a put,
/// `d1 = (ln(F/K) + σ²T/2)/(σ√T)`, `d2 = d1 − σ√T`:
///
/// - `price = w·(S·N(w·d1) − K·D·N(w·d2))`
/// - `delta = w·N(w·d1)`
/// - `gamma = φ(d1)/(S·σ√T)`
/// - `vega  = S·φ(d1)·√T` (per unit of volatility)
/// - `theta = −S·φ(d1)·σ/(2√T) − w·r·K·D·N(w·d2)` (per year)
///
/// At `σ√T = 0` (σ = 0) the option is its discounted intrinsic value `max(w·(S − K·D), 0)` and
/// the Greeks are the limits as `σ → 0⁺` with `N(±∞)` in 0/1 and `½` exactly at the money
/// (`F = K`), where gamma, whose limit is a Dirac mass, is reported as 0. Deep in or out of the
/// money nothing overflows: `N` saturates at 0 or 1 and `φ` underflows to 0.
///
/// # Examples
/// ```
/// use cascade_model::OptionType;
/// use cascade_protocols::options::{black76, OptionSpec};
/// let spec = OptionSpec::new(OptionType::Call, 42.0, 40.0, 0.10, 0.20, 0.5).unwrap();
/// let g = black76(&spec);
/// assert!((g.price - 4.759_422_392_9).abs() < 1e-9);
/// assert!((g.delta - 0.779_131_290_9).abs() < 1e-9);
/// ```
pub fn black76(spec: &OptionSpec) -> Greeks {
    greeks_kernel(
        payoff_sign(spec.kind),
        spec.spot,
        spec.strike,
        spec.rate,
        spec.vol,
        spec.t_years,
    )
}

/// Black-76 price only (the `price` of [`black76`]) of an option whose fields are not validated (a struct
/// literal rather than [`OptionSpec::new`]): the hot path for callers
/// that validated their inputs once (e.g. a portfolio-margin grid). Out-of-domain inputs give
/// NaN (negative or NaN `σ√T`) or meaningless numbers, never a panic.
///
/// # Examples
/// ```
/// use cascade_model::OptionType;
/// use cascade_protocols::options::black76_price;
/// use cascade_protocols::options::OptionSpec;
/// let (spot, strike, rate, vol, t_years) = (49.0, 50.0, 0.05, 0.20, 20.0 / 52.0);
/// let c = black76_price(&OptionSpec { kind: OptionType::Call, spot, strike, rate, vol, t_years });
/// assert!((c - 2.400_527_323_3).abs() < 1e-9);
/// ```
pub fn black76_price(option: &OptionSpec) -> f64 {
    let o = option;
    let (spot, strike, rate, t_years) = (o.spot, o.strike, o.rate, o.t_years);
    let w = payoff_sign(o.kind);
    let v = o.vol * t_years.sqrt();
    let df = (-rate * t_years).exp();
    let s_over_k = spot / strike;
    let ln_fk = s_over_k.ln() + rate * t_years;
    if v > 0.0 {
        let d1 = ln_fk / v + 0.5 * v;
        let d2 = d1 - v;
        let e1 = (-0.5 * d1 * d1).exp();
        let e2 = exp_half_d2_sq(e1, s_over_k / df, d2);
        w * (spot * norm_cdf_given_exp(w * d1, e1) - strike * df * norm_cdf_given_exp(w * d2, e2))
    } else if v == 0.0 {
        (w * (spot - strike * df)).max(0.0)
    } else {
        f64::NAN
    }
}

/// The Black-76 price and Greeks of one option, unvalidated, `w = ±1` (see [`black76`]).
#[inline(always)]
fn greeks_kernel(w: f64, spot: f64, strike: f64, rate: f64, vol: f64, t_years: f64) -> Greeks {
    // One ln, one sqrt and two exp per option: e^{−rT} and e^{−d1²/2}, from which φ(d1), N(d1)
    // and (times F/K) N(d2) all follow.
    let sqrt_t = t_years.sqrt();
    let v = vol * sqrt_t;
    let df = (-rate * t_years).exp();
    let k_df = strike * df;
    let s_over_k = spot / strike;
    // ln(F/K) = ln(S/K) + rT.
    let ln_fk = s_over_k.ln() + rate * t_years;
    if v.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return zero_vol(w, spot, k_df, rate, sqrt_t, ln_fk, v);
    }
    let d1 = ln_fk / v + 0.5 * v;
    let d2 = d1 - v;
    let e1 = (-0.5 * d1 * d1).exp();
    let e2 = exp_half_d2_sq(e1, s_over_k / df, d2);
    let pdf = INV_SQRT_2PI * e1;
    let n1 = norm_cdf_given_exp(w * d1, e1);
    let n2 = norm_cdf_given_exp(w * d2, e2);
    let s_pdf = spot * pdf;
    Greeks {
        price: w * (spot * n1 - k_df * n2),
        delta: w * n1,
        gamma: pdf / (spot * v),
        vega: s_pdf * sqrt_t,
        theta: -s_pdf * vol / (2.0 * sqrt_t) - w * rate * k_df * n2,
    }
}

/// The limit `σ√T → 0⁺` of the Black-76 Greeks (see [`black76`]); NaN everywhere when `σ√T` is
/// negative or NaN (unvalidated input).
#[cold]
fn zero_vol(w: f64, spot: f64, k_df: f64, rate: f64, sqrt_t: f64, ln_fk: f64, v: f64) -> Greeks {
    if v != 0.0 {
        return Greeks {
            price: f64::NAN,
            delta: f64::NAN,
            gamma: f64::NAN,
            vega: f64::NAN,
            theta: f64::NAN,
        };
    }
    // N(w·d1) = N(w·d2) = 1 in the money, 0 out of it, ½ at the money (d1, d2 → 0 there).
    let (n, pdf) = if ln_fk == 0.0 {
        (0.5, INV_SQRT_2PI)
    } else if w * ln_fk > 0.0 {
        (1.0, 0.0)
    } else {
        (0.0, 0.0)
    };
    Greeks {
        price: (w * (spot - k_df)).max(0.0),
        delta: w * n,
        gamma: 0.0,
        vega: spot * pdf * sqrt_t,
        theta: -w * rate * k_df * n,
    }
}

/// [`black76`] over many options at once, on flat columns (all slices of the same length, `out`
/// included): `out[i]` is the value and Greeks of option `i`. Runs in parallel with rayon over
/// chunks of [`BATCH_CHUNK`] options. Inputs are not validated (see [`black76_price`]): validate
/// with [`OptionSpec::new`] first where they come from a user.
///
/// # Panics
/// If the slices differ in length (a caller's bug, not an input error).
///
/// # Examples
/// ```
/// use cascade_model::OptionType;
/// use cascade_protocols::options::{black76_batch, Greeks};
/// let mut out = [Greeks::default(); 2];
/// black76_batch(
///     &[OptionType::Call, OptionType::Put],
///     &[42.0, 42.0], &[40.0, 40.0], &[0.10, 0.10], &[0.20, 0.20], &[0.5, 0.5],
///     &mut out,
/// );
/// assert!((out[0].price - 4.759_422_392_9).abs() < 1e-9);
/// assert!((out[1].price - 0.808_599_372_9).abs() < 1e-9);
/// ```
pub fn black76_batch(
    kind: &[OptionType],
    spot: &[f64],
    strike: &[f64],
    rate: &[f64],
    vol: &[f64],
    t_years: &[f64],
    out: &mut [Greeks],
) {
    let n = out.len();
    assert!(
        [
            kind.len(),
            spot.len(),
            strike.len(),
            rate.len(),
            vol.len(),
            t_years.len()
        ]
        .iter()
        .all(|&l| l == n),
        "black76_batch: every column must have out.len() = {n} entries"
    );
    let cols = Columns {
        kind,
        spot,
        strike,
        rate,
        vol,
        t_years,
    };
    let stream = std::mem::size_of_val(out) >= STREAM_BYTES;
    batch_on(Kernel::detect(), &cols, out, stream);
}

/// [`black76_batch`] on the given kernel (an unavailable one runs the scalar kernel): the same
/// chunks of [`BATCH_CHUNK`] options, in parallel, whatever the kernel; `stream`: write `out` past
/// the caches where the kernel can.
fn batch_on(kernel: Kernel, cols: &Columns, out: &mut [Greeks], stream: bool) {
    out.par_chunks_mut(BATCH_CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let lo = c * BATCH_CHUNK;
            simd::value_chunk(kernel, &cols.range(lo..lo + chunk.len()), chunk, stream);
        });
}

// Unsafe code (with `health::simd`, the crate's only): calls into std::arch vector code, each
// with its SAFETY comment.
#[allow(unsafe_code)]
mod simd;
use simd::Columns;
pub use simd::Kernel;

#[cfg(test)]
mod tests;
