//! cascade's market layer (docs/liquidity.md#liquidity-curves-and-price-impact): liquidity curves, the prices of derived assets, and how
//! much of an asset its market absorbs.
#![forbid(unsafe_code)]

pub mod curve;
pub mod liquidity;
pub mod price;
