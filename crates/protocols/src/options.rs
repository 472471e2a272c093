//! European options on one token (DESIGN §6): Black-76 on the forward with a quadratic smile, the
//! option's value and its Greeks delta, gamma, vega and theta — one at a time ([`black76`]), price
//! only ([`black76_price`]), or many at once on flat columns in parallel ([`black76_batch`]).
//!
//! Units: `spot` and `strike` in USD per token, `rate` annual and continuously compounded, `vol`
//! annual (0.7 = 70%), `t_years` in years. Every value is per unit of the underlying (one option on
//! one token).

use rayon::prelude::*;

/// The floor of the smile, annual volatility: `σ(k)` never goes below 1% however far the quadratic
/// bends (a negative skew would otherwise give negative volatilities far from the money).
pub const MIN_VOL: f64 = 0.01;

/// Options valued per rayon task by [`black76_batch`].
pub const BATCH_CHUNK: usize = 4096;

/// `1/√(2π)`, the normal density at 0.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Call or put.
///
/// # Examples
/// ```
/// use cascade_protocols::options::OptionKind;
/// assert_eq!(OptionKind::parse("Put"), Some(OptionKind::Put));
/// assert_eq!(OptionKind::Call.name(), "call");
/// assert_eq!(OptionKind::parse("straddle"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Pays `max(S_T − K, 0)` at expiry.
    Call,
    /// Pays `max(K − S_T, 0)` at expiry.
    Put,
}

impl From<cascade_model::OptionType> for OptionKind {
    /// A snapshot's option type (`cascade_model::OptionType`) as the pricer's kind.
    fn from(t: cascade_model::OptionType) -> OptionKind {
        match t {
            cascade_model::OptionType::Call => OptionKind::Call,
            cascade_model::OptionType::Put => OptionKind::Put,
        }
    }
}

impl OptionKind {
    /// `call` or `put`, in any case, surrounding blanks ignored; anything else is `None`.
    pub fn parse(s: &str) -> Option<OptionKind> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("call") {
            Some(OptionKind::Call)
        } else if s.eq_ignore_ascii_case("put") {
            Some(OptionKind::Put)
        } else {
            None
        }
    }

    /// `"call"` or `"put"` (what [`OptionKind::parse`] reads back).
    pub fn name(self) -> &'static str {
        match self {
            OptionKind::Call => "call",
            OptionKind::Put => "put",
        }
    }

    /// `+1` for a call, `−1` for a put: the sign `w` of the payoff `max(w·(S_T − K), 0)`.
    pub fn sign(self) -> f64 {
        match self {
            OptionKind::Call => 1.0,
            OptionKind::Put => -1.0,
        }
    }
}

/// The volatility smile of one underlying (DESIGN §6):
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
/// `theta = ∂V/∂t` per year of calendar time (`= −∂V/∂T`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
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
/// use cascade_protocols::options::{OptionKind, OptionSpec};
/// assert!(OptionSpec::new(OptionKind::Call, 42.0, 40.0, 0.10, 0.20, 0.5).is_ok());
/// let e = OptionSpec::new(OptionKind::Call, 42.0, 40.0, 0.10, -0.2, 0.5).unwrap_err();
/// assert_eq!(e.to_string(), "vol = -0.2, expected ≥ 0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionSpec {
    pub kind: OptionKind,
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
        kind: OptionKind,
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
/// Black–Scholes on spot (DESIGN §6). With `w = +1` for a call and `−1` for a put,
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
/// use cascade_protocols::options::{black76, OptionKind, OptionSpec};
/// let spec = OptionSpec::new(OptionKind::Call, 42.0, 40.0, 0.10, 0.20, 0.5).unwrap();
/// let g = black76(&spec);
/// assert!((g.price - 4.759_422_392_9).abs() < 1e-9);
/// assert!((g.delta - 0.779_131_290_9).abs() < 1e-9);
/// ```
pub fn black76(spec: &OptionSpec) -> Greeks {
    greeks_kernel(
        spec.kind.sign(),
        spec.spot,
        spec.strike,
        spec.rate,
        spec.vol,
        spec.t_years,
    )
}

/// Black-76 price only (the `price` of [`black76`]), with no validation: the hot path for callers
/// that validated their inputs once (e.g. a portfolio-margin grid). Out-of-domain inputs give
/// NaN (negative or NaN `σ√T`) or meaningless numbers, never a panic.
///
/// # Examples
/// ```
/// use cascade_protocols::options::{black76_price, OptionKind};
/// let c = black76_price(OptionKind::Call, 49.0, 50.0, 0.05, 0.20, 20.0 / 52.0);
/// assert!((c - 2.400_527_323_3).abs() < 1e-9);
/// ```
pub fn black76_price(
    kind: OptionKind,
    spot: f64,
    strike: f64,
    rate: f64,
    vol: f64,
    t_years: f64,
) -> f64 {
    let w = kind.sign();
    let v = vol * t_years.sqrt();
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
/// use cascade_protocols::options::{black76_batch, Greeks, OptionKind};
/// let mut out = [Greeks::default(); 2];
/// black76_batch(
///     &[OptionKind::Call, OptionKind::Put],
///     &[42.0, 42.0], &[40.0, 40.0], &[0.10, 0.10], &[0.20, 0.20], &[0.5, 0.5],
///     &mut out,
/// );
/// assert!((out[0].price - 4.759_422_392_9).abs() < 1e-9);
/// assert!((out[1].price - 0.808_599_372_9).abs() < 1e-9);
/// ```
pub fn black76_batch(
    kind: &[OptionKind],
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
    out.par_chunks_mut(BATCH_CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let lo = c * BATCH_CHUNK;
            let hi = lo + chunk.len();
            let cols = kind[lo..hi]
                .iter()
                .zip(&spot[lo..hi])
                .zip(&strike[lo..hi])
                .zip(&rate[lo..hi])
                .zip(&vol[lo..hi])
                .zip(&t_years[lo..hi]);
            for (g, (((((k, &s), &x), &r), &v), &t)) in chunk.iter_mut().zip(cols) {
                *g = greeks_kernel(k.sign(), s, x, r, v, t);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(kind: OptionKind, s: f64, k: f64, r: f64, v: f64, t: f64) -> OptionSpec {
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
        let c = black76(&spec(OptionKind::Call, 42.0, 40.0, 0.10, 0.20, 0.5));
        let p = black76(&spec(OptionKind::Put, 42.0, 40.0, 0.10, 0.20, 0.5));
        close(c.price, 4.759_422_392_9, 5e-11, "call");
        close(p.price, 0.808_599_372_9, 5e-11, "put");
        close(c.delta, 0.779_131_290_9, 5e-11, "call delta");
        close(c.gamma, 0.049_962_670_4, 5e-11, "gamma");
        close(p.gamma, 0.049_962_670_4, 5e-11, "put gamma");
        close(c.vega, 8.8134, 5e-5, "vega");
        close(c.theta, -4.5591, 5e-5, "theta");
        // Put delta = call delta − 1.
        close(p.delta, 0.779_131_290_9 - 1.0, 5e-11, "put delta");
        let c2 = black76(&spec(OptionKind::Call, 49.0, 50.0, 0.05, 0.20, 20.0 / 52.0));
        close(c2.price, 2.400_527_323_3, 5e-11, "call S=49");
        close(
            black76_price(OptionKind::Call, 49.0, 50.0, 0.05, 0.20, 20.0 / 52.0),
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
        for kind in [OptionKind::Call, OptionKind::Put] {
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
        for s in grid().into_iter().filter(|s| s.kind == OptionKind::Call) {
            let c = black76(&s).price;
            let p = black76(&OptionSpec {
                kind: OptionKind::Put,
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
            let price =
                |spot: f64, vol: f64, t: f64| black76_price(s.kind, spot, s.strike, s.rate, vol, t);
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
            let vega_fd = (price(s.spot, s.vol + hv, s.t_years)
                - price(s.spot, s.vol - hv, s.t_years))
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
        for kind in [OptionKind::Call, OptionKind::Put] {
            for t in [0.05, 1.0] {
                let mut last = f64::NAN;
                for i in 0..40 {
                    let s = 60.0 + 2.0 * f64::from(i);
                    let p = black76_price(kind, s, 100.0, 0.03, 0.4, t);
                    if i > 0 {
                        match kind {
                            OptionKind::Call => assert!(p > last, "call in S: {p} ≤ {last}"),
                            OptionKind::Put => assert!(p < last, "put in S: {p} ≥ {last}"),
                        }
                    }
                    last = p;
                }
                for i in 0..40 {
                    let k = 60.0 + 2.0 * f64::from(i);
                    let p = black76_price(kind, 100.0, k, 0.03, 0.4, t);
                    if i > 0 {
                        match kind {
                            OptionKind::Call => assert!(p < last, "call in K: {p} ≥ {last}"),
                            OptionKind::Put => assert!(p > last, "put in K: {p} ≤ {last}"),
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
            let c = black76_price(OptionKind::Call, s, k, r, vol, t);
            let c_s = black76_price(OptionKind::Call, s * (1.0 + bump), k, r, vol, t);
            let c_k = black76_price(OptionKind::Call, s, k * (1.0 + bump), r, vol, t);
            let slack = 1e-12 * s.max(k);
            prop_assert!(c_s >= c - slack, "C(S) = {c}, C(S·(1+{bump})) = {c_s}");
            prop_assert!(c_k <= c + slack, "C(K) = {c}, C(K·(1+{bump})) = {c_k}");
            let lower = (s - k * (-r * t).exp()).max(0.0);
            prop_assert!(c >= lower - slack && c <= s + slack, "C = {c} outside [{lower}, {s}]");
            let g = black76(&OptionSpec::new(OptionKind::Put, s, k, r, vol, t).unwrap());
            prop_assert!(g.price.is_finite() && g.delta.is_finite() && g.gamma.is_finite()
                && g.vega.is_finite() && g.theta.is_finite(), "{g:?}");
            prop_assert!(g.gamma >= 0.0 && g.vega >= 0.0 && (-1.0..=0.0).contains(&g.delta));
        }
    }

    #[test]
    fn zero_vol_is_discounted_intrinsic_value_without_nan() {
        // F = 100·e^{0.05} > 105 > 90: the call is in the money, the put out of it.
        let d = (-0.05f64).exp();
        let c = black76(&spec(OptionKind::Call, 100.0, 105.0, 0.05, 0.0, 1.0));
        close(c.price, 100.0 - 105.0 * d, 1e-12, "σ=0 call");
        assert_eq!((c.delta, c.gamma, c.vega), (1.0, 0.0, 0.0));
        close(c.theta, -0.05 * 105.0 * d, 1e-12, "σ=0 call theta");
        let p = black76(&spec(OptionKind::Put, 100.0, 105.0, 0.05, 0.0, 1.0));
        assert_eq!(p, Greeks::default());
        let p = black76(&spec(OptionKind::Put, 100.0, 120.0, 0.05, 0.0, 1.0));
        close(p.price, 120.0 * d - 100.0, 1e-12, "σ=0 put");
        assert_eq!(p.delta, -1.0);
        close(p.theta, 0.05 * 120.0 * d, 1e-12, "σ=0 put theta");
        // At the money forward (K = F, r = 0): worth 0, delta ±½, vega S·√T·φ(0).
        let a = black76(&spec(OptionKind::Call, 100.0, 100.0, 0.0, 0.0, 0.25));
        assert_eq!((a.price, a.delta, a.gamma), (0.0, 0.5, 0.0));
        close(a.vega, 100.0 * 0.5 * INV_SQRT_2PI, 1e-12, "σ=0 ATM vega");
        // Tiny but positive vol agrees with the limit.
        let e = black76(&spec(OptionKind::Call, 100.0, 105.0, 0.05, 1e-9, 1.0));
        close(e.price, c.price, 1e-9, "σ→0 limit");
        // Unvalidated negative vol is NaN, not a number made up from the intrinsic value.
        assert!(black76_price(OptionKind::Call, 100.0, 90.0, 0.0, -0.2, 1.0).is_nan());
        let mut out = [Greeks::default()];
        black76_batch(
            &[OptionKind::Put],
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
            for kind in [OptionKind::Call, OptionKind::Put] {
                let g = black76(&spec(kind, 100.0, k, 0.05, vol, t));
                for x in [g.price, g.delta, g.gamma, g.vega, g.theta] {
                    assert!(x.is_finite(), "{kind:?} K={k} T={t} σ={vol}: {g:?}");
                }
                assert!(g.price >= 0.0);
            }
        }
        // Deep in the money: a call is worth S − K·D and has delta 1.
        let c = black76(&spec(OptionKind::Call, 100.0, 1e-6, 0.0, 0.5, 1.0));
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
            OptionSpec::new(OptionKind::Call, s, k, r, v, t)
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
        let kind: Vec<OptionKind> = (0..n)
            .map(|i| {
                if i % 3 == 0 {
                    OptionKind::Put
                } else {
                    OptionKind::Call
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
        let mut out = vec![Greeks::default(); n];
        black76_batch(&kind, &spot, &strike, &rate, &vol, &t, &mut out);
        for i in 0..n {
            let one = black76(&spec(kind[i], spot[i], strike[i], rate[i], vol[i], t[i]));
            assert_eq!(out[i], one, "option {i}");
            assert_eq!(
                black76_price(kind[i], spot[i], strike[i], rate[i], vol[i], t[i]),
                one.price,
                "price of option {i}"
            );
        }
    }

    #[test]
    fn kinds_parse_and_print() {
        for k in [OptionKind::Call, OptionKind::Put] {
            assert_eq!(OptionKind::parse(k.name()), Some(k));
        }
        assert_eq!(OptionKind::parse(" CALL "), Some(OptionKind::Call));
        assert_eq!(OptionKind::parse("c"), None);
        assert_eq!(OptionKind::parse(""), None);
    }
}
