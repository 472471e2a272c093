//! cascade's contagion layer (docs/contagion.md#contagion-analytics): clearing and DebtRank on any network, and the exposure
//! graph, contagion coefficients, recursive-leverage loops and concentration of a snapshot.
#![forbid(unsafe_code)]

pub mod clearing;
pub mod debtrank;
pub mod diversification;
mod error;
pub mod network;
pub mod output;
pub mod snapshot;

pub use error::ContagionError;
