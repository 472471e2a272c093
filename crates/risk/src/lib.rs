//! cascade's risk layer (docs/monte-carlo.md#monte-carlo): Monte Carlo paths through the full cascade, VaR / ES / LaR
//! with confidence intervals, and parameter calibration.
#![forbid(unsafe_code)]

pub mod bisect;
pub mod calibrate;
pub mod metrics;
pub mod paths;
pub mod simulate;
