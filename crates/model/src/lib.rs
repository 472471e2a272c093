//! cascade's model layer (DESIGN §1): assets, protocols, accounts and positions, scenarios; reading
//! them from TOML/JSON with diagnostics that name file, line and field.
#![forbid(unsafe_code)]

pub mod asset;
pub mod derivatives;
pub mod diag;
pub mod doc;
pub mod load;
pub mod protocol;
pub mod reader;
pub mod scenario;
pub mod snapshot;

pub use asset::{Asset, AssetIdx, AssetKind, CurveSpec, Liquidity};
pub use derivatives::{
    AssetWeight, ClearinghouseParams, CollateralWeight, LiabilityWeight, LossMode, MarginMode,
    OptionPositions, OptionType, OptionsParams, OracleSpec, PerpMarket, PerpPositions, SmileSpec,
};
pub use diag::{Diagnostic, Diagnostics, LoadError, Location, Severity};
pub use doc::Format;
pub use protocol::{
    AlgostableParams, AmmInvariant, AmmParams, Breakers, BridgeParams, CdpParams, EModeCategory,
    LendingParams, Protocol, ProtocolIdx, ProtocolKind, ProtocolParams, Reserve, VaultType,
};
pub use scenario::{Scenario, Shock};
pub use snapshot::{Accounts, Correlation, Positions, Side, Snapshot};
