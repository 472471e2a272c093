//! cascade's market layer (DESIGN §2–3): liquidity curves and the prices of derived assets.
#![forbid(unsafe_code)]

pub mod curve;
pub mod price;
