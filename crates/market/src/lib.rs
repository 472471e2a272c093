//! cascade's market layer (DESIGN §2–3): liquidity curves, the prices of derived assets, and how
//! much of an asset its market absorbs.
#![forbid(unsafe_code)]

pub mod curve;
pub mod liquidity;
pub mod price;
