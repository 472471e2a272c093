//! Volatility and correlation models estimated from price history, and their backtests
//! (docs/volatility.md).
//!
//! - [`series`]: price files (three CSV layouts) and log returns;
//! - [`ewma`]: RiskMetrics EWMA variance, covariance and correlation;
//! - [`garch`]: GARCH(1,1) with Student-t innovations, fitted by maximum likelihood (Nelder–Mead);
//! - [`quantile`]: linear quantile regression of the next return on realised volatility and drawdown;
//! - [`backtest`]: rolling-window VaR forecasts of each model, Kupiec's and Christoffersen's tests;
//! - [`fill`]: a snapshot's volatilities and correlations from history;
//! - [`adjust`]: the risk adjuster, recommended parameters re-estimated along a price series.
//!
//! Returns are log returns per sampling period of the file; volatilities written to a snapshot are
//! annualised over 365 days (docs/units.md).

#![forbid(unsafe_code)]

pub mod adjust;
pub mod backtest;
pub mod ewma;
pub mod fill;
pub mod garch;
pub mod quantile;
pub mod series;

/// An invalid model parameter or an input a model cannot be estimated on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A parameter outside its range.
    #[error("{name} = {value}, expected {expected}")]
    Parameter {
        name: &'static str,
        value: f64,
        expected: &'static str,
    },
    /// Too short a series for the model.
    #[error("{what}: {found} returns, expected at least {needed}")]
    TooFewReturns {
        what: String,
        found: usize,
        needed: usize,
    },
    /// The optimiser failed.
    #[error("GARCH fit: {0}")]
    Optimiser(String),
    /// A linear system without a solution (quantile regression on degenerate features).
    #[error("quantile regression: {0}")]
    Singular(String),
}

/// `Σ x_i² / n`: the mean square (the zero-mean variance estimate) of `x`; 0 for an empty slice.
pub fn mean_square(x: &[f64]) -> f64 {
    if x.is_empty() {
        0.0
    } else {
        x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64
    }
}
