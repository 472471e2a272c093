//! GARCH(1,1) with Student-t innovations (docs/volatility.md#garch11-t), fitted by maximum likelihood.
//!
//! Model for log returns per period (mean taken as 0):
//!
//! ```text
//! r_t = σ_t·ε_t,   ε_t i.i.d. Student-t with ν degrees of freedom scaled to unit variance
//! σ²_t = ω + α·r²_{t−1} + β·σ²_{t−1},   σ²_1 = (1/n)·Σ r_t²
//! ```
//!
//! with `ω > 0`, `α, β ≥ 0`, `α + β < 1` (covariance stationary) and `ν > 2` (finite variance).
//! Log-likelihood (the standardised t density of `r_t/σ_t`, divided by `σ_t`):
//!
//! ```text
//! ℓ(ω, α, β, ν) = Σ_{t=1..n} [ lnΓ((ν+1)/2) − lnΓ(ν/2) − ½·ln(π(ν−2)) − ½·ln σ²_t
//!                              − ((ν+1)/2)·ln(1 + r_t² / ((ν−2)·σ²_t)) ]
//! ```
//!
//! The fit maximises ℓ over an unconstrained `θ ∈ ℝ⁴` mapped onto the constraints:
//! `ω = s²·e^{θ₁}`, `α + β = p = 1/(1 + e^{−θ₂})`, `α = p·a`, `β = p·(1 − a)` with
//! `a = 1/(1 + e^{−θ₃})`, `ν = 2 + e^{θ₄}`, where `s²` is the mean square of the returns (so `θ₁` is
//! of order 1 whatever the return scale). Every `θ` is a valid model, so Nelder–Mead (argmin) runs
//! unconstrained.

use argmin::core::{CostFunction, Error as ArgminError, Executor, State};
use argmin::solver::neldermead::NelderMead;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::gamma::ln_gamma;

use crate::{mean_square, ModelError};

/// Fewest returns a fit is attempted on.
pub const MIN_FIT_RETURNS: usize = 50;
/// Nelder–Mead iterations per run (the fit runs twice, the second from the first's best point).
pub const MAX_ITERATIONS: u64 = 1_500;
/// Nelder–Mead stops when the standard deviation of the simplex's costs falls below this.
pub const SD_TOLERANCE: f64 = 1e-10;

/// Parameters of a GARCH(1,1)-t, per period of the series it was fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GarchParams {
    /// `ω` (return units² per period), > 0.
    pub omega: f64,
    /// `α` ≥ 0: weight of the last squared return.
    pub alpha: f64,
    /// `β` ≥ 0: weight of the last variance; `α + β < 1`.
    pub beta: f64,
    /// `ν` > 2: degrees of freedom of the innovations.
    pub nu: f64,
}

impl GarchParams {
    /// Validated parameters: `ω > 0`, `α, β ≥ 0`, `α + β < 1`, `ν > 2`.
    pub fn new(omega: f64, alpha: f64, beta: f64, nu: f64) -> Result<Self, ModelError> {
        let bad = |name, value, expected| {
            Err(ModelError::Parameter {
                name,
                value,
                expected,
            })
        };
        if !(omega > 0.0 && omega.is_finite()) {
            return bad("omega", omega, "> 0");
        }
        if alpha.is_nan() || alpha < 0.0 {
            return bad("alpha", alpha, "≥ 0");
        }
        if beta.is_nan() || beta < 0.0 {
            return bad("beta", beta, "≥ 0");
        }
        if alpha + beta >= 1.0 {
            return bad("alpha + beta", alpha + beta, "< 1 (stationary)");
        }
        if nu.is_nan() || nu <= 2.0 {
            return bad("nu", nu, "> 2 (finite variance)");
        }
        Ok(GarchParams {
            omega,
            alpha,
            beta,
            nu,
        })
    }

    /// The unconditional variance `ω/(1 − α − β)` per period.
    pub fn unconditional_variance(&self) -> f64 {
        self.omega / (1.0 - self.alpha - self.beta)
    }

    /// The conditional variances `σ²_1 … σ²_{n+1}` of `returns` (n + 1 values; the last is the
    /// forecast for the next period), seeded with `σ²_1 = (1/n)·Σ r_t²`.
    pub fn conditional_variances(&self, returns: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(returns.len() + 1);
        let mut s2 = mean_square(returns);
        out.push(s2);
        for r in returns {
            s2 = self.omega + self.alpha * r * r + self.beta * s2;
            out.push(s2);
        }
        out
    }

    /// The next period's variance `σ²_{n+1}`.
    pub fn variance_forecast(&self, returns: &[f64]) -> f64 {
        let mut s2 = mean_square(returns);
        for r in returns {
            s2 = self.omega + self.alpha * r * r + self.beta * s2;
        }
        s2
    }

    /// The variance of the sum of the next `h` returns given the next period's `σ²_{n+1}`:
    /// `Σ_{k=1..h} [σ̄² + (α+β)^{k−1}·(σ²_{n+1} − σ̄²)]`, `σ̄² = ω/(1−α−β)` (returns uncorrelated, so
    /// the variances add).
    pub fn horizon_variance(&self, next_variance: f64, h: usize) -> f64 {
        let vbar = self.unconditional_variance();
        let p = self.alpha + self.beta;
        let mut pk = 1.0;
        let mut sum = 0.0;
        for _ in 0..h {
            sum += vbar + pk * (next_variance - vbar);
            pk *= p;
        }
        sum
    }

    /// The log-likelihood `ℓ` of the module doc at these parameters (returns in log-return units per
    /// period; `ℓ` is then in nats, including the `−½·ln σ²` Jacobian terms).
    ///
    /// # Examples
    /// ```
    /// use cascade_volatility::garch::GarchParams;
    /// // worked by hand in garch/tests.rs: σ²_1 = 0.025, σ²_2 = 0.1195, ℓ = 0.7557435 + 0.0316762
    /// let p = GarchParams::new(0.1, 0.2, 0.7, 5.0).unwrap();
    /// assert!((p.log_likelihood(&[0.1, -0.2]) - 0.7874197).abs() < 1e-7);
    /// ```
    pub fn log_likelihood(&self, returns: &[f64]) -> f64 {
        let nu = self.nu;
        let c = ln_gamma((nu + 1.0) / 2.0)
            - ln_gamma(nu / 2.0)
            - 0.5 * (std::f64::consts::PI * (nu - 2.0)).ln();
        let mut s2 = mean_square(returns);
        let mut ll = 0.0;
        for r in returns {
            ll += c - 0.5 * s2.ln() - 0.5 * (nu + 1.0) * (r * r / ((nu - 2.0) * s2)).ln_1p();
            s2 = self.omega + self.alpha * r * r + self.beta * s2;
        }
        ll
    }

    /// The `level` quantile of the unit-variance Student-t with these `ν`:
    /// `t_ν⁻¹(level)·√((ν − 2)/ν)`.
    pub fn innovation_quantile(&self, level: f64) -> f64 {
        standardised_t_quantile(self.nu, level)
    }
}

/// The `level` quantile of a Student-t with `nu > 2` degrees of freedom scaled to unit variance,
/// `t_ν⁻¹(level)·√((ν − 2)/ν)`. NaN when `nu ≤ 2`.
///
/// # Examples
/// ```
/// use cascade_volatility::garch::standardised_t_quantile;
/// // t₅⁻¹(0.01) = −3.3649300 (tables), × √(3/5) = −2.6064636
/// assert!((standardised_t_quantile(5.0, 0.01) + 2.6064636).abs() < 1e-6);
/// ```
pub fn standardised_t_quantile(nu: f64, level: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, nu) {
        Ok(t) if nu > 2.0 => t.inverse_cdf(level) * ((nu - 2.0) / nu).sqrt(),
        _ => f64::NAN,
    }
}

/// A fitted model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GarchFit {
    pub params: GarchParams,
    /// `ℓ` at the fitted parameters.
    pub log_likelihood: f64,
    /// Nelder–Mead iterations over both runs.
    pub iterations: u64,
}

/// `θ ↦ (ω, α, β, ν)` of the module doc; `scale` is `s²`.
fn from_theta(theta: &[f64], scale: f64) -> GarchParams {
    let logistic = |x: f64| 1.0 / (1.0 + (-x).exp());
    let p = logistic(theta[1]);
    let a = logistic(theta[2]);
    GarchParams {
        omega: scale * theta[0].exp(),
        alpha: p * a,
        beta: p * (1.0 - a),
        nu: 2.0 + theta[3].exp(),
    }
}

/// The inverse map, for a starting point.
fn to_theta(p: &GarchParams, scale: f64) -> Vec<f64> {
    let logit = |x: f64| (x / (1.0 - x)).ln();
    let persistence = p.alpha + p.beta;
    vec![
        (p.omega / scale).ln(),
        logit(persistence),
        logit(p.alpha / persistence),
        (p.nu - 2.0).ln(),
    ]
}

/// The negative log-likelihood as an argmin cost over `θ`.
struct NegLogLikelihood<'a> {
    returns: &'a [f64],
    scale: f64,
}

impl CostFunction for NegLogLikelihood<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, theta: &Self::Param) -> Result<f64, ArgminError> {
        let ll = from_theta(theta, self.scale).log_likelihood(self.returns);
        // A non-finite likelihood (overflowing θ) is a very bad point, not an error.
        Ok(if ll.is_finite() { -ll } else { f64::MAX / 4.0 })
    }
}

/// One Nelder–Mead run from `start`, initial simplex `start` and `start + 0.5·e_i`.
fn nelder_mead(
    cost: NegLogLikelihood<'_>,
    start: &[f64],
) -> Result<(Vec<f64>, f64, u64), ModelError> {
    let opt = |e: ArgminError| ModelError::Optimiser(e.to_string());
    let mut simplex = vec![start.to_vec()];
    for i in 0..start.len() {
        let mut v = start.to_vec();
        v[i] += 0.5;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(SD_TOLERANCE)
        .map_err(opt)?;
    let res = Executor::new(cost, solver)
        .configure(|s| s.max_iters(MAX_ITERATIONS))
        .run()
        .map_err(opt)?;
    let state = res.state();
    let best = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| ModelError::Optimiser("no best point".into()))?;
    Ok((best, state.get_best_cost(), state.get_iter()))
}

/// Maximum-likelihood fit of a GARCH(1,1)-t to `returns` (at least [`MIN_FIT_RETURNS`]).
///
/// Nelder–Mead over `θ` (module doc) from `α = 0.05, β = 0.90, ν = 6` and `ω` matching the sample
/// mean square, at most [`MAX_ITERATIONS`] iterations, then a second run restarted from the best
/// point with a fresh simplex (Nelder–Mead can stall on a collapsed simplex). Deterministic.
pub fn fit(returns: &[f64]) -> Result<GarchFit, ModelError> {
    if returns.len() < MIN_FIT_RETURNS {
        return Err(ModelError::TooFewReturns {
            what: "GARCH fit".into(),
            found: returns.len(),
            needed: MIN_FIT_RETURNS,
        });
    }
    let scale = mean_square(returns);
    if !(scale > 0.0 && scale.is_finite()) {
        return Err(ModelError::Optimiser(format!(
            "mean square of the returns = {scale}, expected > 0 (a constant price has no volatility to fit)"
        )));
    }
    let start = GarchParams {
        omega: 0.05 * scale,
        alpha: 0.05,
        beta: 0.90,
        nu: 6.0,
    };
    let cost = || NegLogLikelihood { returns, scale };
    let (theta1, _, it1) = nelder_mead(cost(), &to_theta(&start, scale))?;
    let (theta2, neg_ll, it2) = nelder_mead(cost(), &theta1)?;
    Ok(GarchFit {
        params: from_theta(&theta2, scale),
        log_likelihood: -neg_ll,
        iterations: it1 + it2,
    })
}

#[cfg(test)]
mod tests;
