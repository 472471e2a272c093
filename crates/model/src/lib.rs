//! cascade's model layer (docs/architecture.md): assets, protocols, accounts and positions, scenarios — plain
//! types. Reading and writing them is `cascade-io`'s.
#![forbid(unsafe_code)]

mod names;

pub mod account_ids;

pub mod asset;
pub mod derivatives;
pub mod grouping;
pub mod huge;
pub mod position;
pub mod protocol;
pub mod scenario;
pub mod snapshot;
pub mod units;

pub use account_ids::{AccountIds, RepeatedId};
pub use asset::{
    Asset, AssetIdx, AssetKind, ConcentratedSpec, CurveSpec, Liquidity, LiquidityRange, PoolDepth,
};
pub use derivatives::{
    AssetWeight, ClearinghouseParams, CollateralWeight, LiabilityWeight, LossMode, MarginMode,
    OptionPositions, OptionType, OptionsParams, OracleSpec, PerpMarket, PerpPositions, SmileSpec,
};
pub use names::UnknownName;
pub use position::{NameList, PositionError, PositionRule, PositionWarning};
pub use protocol::{
    AbsorbParams, AlgostableParams, AmmInvariant, AmmParams, Breakers, BridgeParams, CdpParams,
    DutchAuctionParams, EModeCategory, HealthFactorRule, LendingParams, LiquidationMechanism,
    LiquidationRuleSet, MechanismParams, Protocol, ProtocolIdx, ProtocolKind, ProtocolParams,
    Reserve, SoftBandsParams, VaultType,
};
pub use scenario::{Scenario, Shock};
pub use snapshot::{Accounts, Correlation, Positions, Side, Snapshot};
