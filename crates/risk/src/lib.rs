//! cascade's risk layer (DESIGN §11–12): Monte Carlo paths through the full cascade, VaR / ES / LaR
//! with confidence intervals, and parameter calibration.
#![forbid(unsafe_code)]

pub mod bisect;
pub mod calibrate;
pub mod metrics;
pub mod paths;
pub mod simulate;
