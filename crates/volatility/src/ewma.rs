//! RiskMetrics EWMA variance, covariance and correlation (docs/volatility.md#ewma).
//!
//! With returns `r_1 … r_n` (log returns per period, mean taken as 0) and decay `λ ∈ (0, 1)`:
//!
//! ```text
//! σ²_{t+1} = λ·σ²_t + (1 − λ)·r_t²              σ²_1 = (1/n)·Σ r_t²
//! c_{t+1}  = λ·c_t  + (1 − λ)·r_{a,t}·r_{b,t}    c_1  = (1/n)·Σ r_{a,t}·r_{b,t}
//! ρ_{n+1}  = c_{n+1} / (σ_{a,n+1}·σ_{b,n+1})
//! ```
//!
//! The forecast for period `n + 1` is `σ²_{n+1}`; over `H` periods the variance is `H·σ²_{n+1}` (the
//! EWMA forecast is flat). The VaR quantile is normal: `q = z_{1−c}·σ_{n+1}·√H`.

use crate::ModelError;

/// RiskMetrics' decay for daily data (J.P. Morgan/Reuters, *RiskMetrics — Technical Document*, 1996).
pub const RISKMETRICS_LAMBDA: f64 = 0.94;

/// An EWMA model with a validated decay `λ ∈ (0, 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ewma {
    lambda: f64,
}

impl Default for Ewma {
    fn default() -> Self {
        Ewma {
            lambda: RISKMETRICS_LAMBDA,
        }
    }
}

impl Ewma {
    /// An EWMA with decay `lambda`, which must lie in (0, 1).
    ///
    /// # Examples
    /// ```
    /// use cascade_volatility::ewma::Ewma;
    /// assert!(Ewma::new(0.94).is_ok());
    /// assert!(Ewma::new(1.0).is_err());
    /// ```
    pub fn new(lambda: f64) -> Result<Self, ModelError> {
        if lambda > 0.0 && lambda < 1.0 {
            Ok(Ewma { lambda })
        } else {
            Err(ModelError::Parameter {
                name: "lambda",
                value: lambda,
                expected: "a decay in (0, 1)",
            })
        }
    }

    /// The decay `λ`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The next period's covariance `c_{n+1}` of two aligned return series (per period²); the
    /// recursion above seeded with the mean cross product. Series of unequal length use their
    /// common prefix; empty input gives 0.
    pub fn covariance_forecast(&self, a: &[f64], b: &[f64]) -> f64 {
        let n = a.len().min(b.len());
        if n == 0 {
            return 0.0;
        }
        let (a, b) = (&a[..n], &b[..n]);
        let seed = a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / n as f64;
        a.iter().zip(b).fold(seed, |c, (x, y)| {
            self.lambda * c + (1.0 - self.lambda) * x * y
        })
    }

    /// The next period's variance `σ²_{n+1}` of `returns` (per period²).
    ///
    /// # Examples
    /// ```
    /// use cascade_volatility::ewma::Ewma;
    /// // seed (0.01² + 0.02² + 0.03²)/3 = 4.6667e-4, then 4.3e-4, 4.27e-4, 4.743e-4
    /// let v = Ewma::new(0.9).unwrap().variance_forecast(&[0.01, -0.02, 0.03]);
    /// assert!((v - 4.743e-4).abs() < 1e-15);
    /// ```
    pub fn variance_forecast(&self, returns: &[f64]) -> f64 {
        self.covariance_forecast(returns, returns)
    }

    /// The next period's correlation `ρ_{n+1}` of two aligned return series, in [−1, 1]; 0 when
    /// either variance is 0.
    pub fn correlation_forecast(&self, a: &[f64], b: &[f64]) -> f64 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let den = (self.variance_forecast(a) * self.variance_forecast(b)).sqrt();
        if den > 0.0 {
            (self.covariance_forecast(a, b) / den).clamp(-1.0, 1.0)
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests;
