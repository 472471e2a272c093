//! The errors of the live state: a change that names something unknown or carries an invalid number,
//! a snapshot the live state cannot be built from, a checkpoint that cannot be read.

use cascade_model::{AssetKind, NameList, PositionError};

/// Why a change, a snapshot or a checkpoint was refused. Each message names the field, what was
/// found and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// `asset` names no asset of the snapshot.
    #[error("asset: unknown asset \"{name}\"; expected one of {known}")]
    UnknownAsset { name: String, known: NameList },
    /// `protocol` names no protocol of the snapshot.
    #[error("protocol: unknown protocol \"{name}\"; expected one of {known}")]
    UnknownProtocol { name: String, known: NameList },
    /// `account` names no account of the protocol (a `close` cannot open one).
    #[error("account: unknown account \"{account}\" in protocol \"{protocol}\"; a close names an account that holds positions (a position change opens one)")]
    UnknownAccount { protocol: String, account: String },
    /// `account` is empty or too long.
    #[error("account: found {found}, expected an account id of 1 to {max} bytes")]
    AccountId { found: String, max: usize },
    /// A number out of range: `field` is `price` or `amount`.
    #[error("{field}: found {found}, expected {expected}")]
    Number {
        field: &'static str,
        found: f64,
        expected: &'static str,
    },
    /// A price update on an asset whose price is derived (lst, receipt, bridged, lp, cdp_stable,
    /// algostable).
    #[error("asset: \"{asset}\" is of kind \"{kind}\", whose price is derived (docs/assets.md); a price update names an exogenous asset (native, governance, stable, rwa)")]
    DerivedPrice { asset: String, kind: AssetKind },
    /// The position breaks a rule of its protocol (no reserve, not borrowable, not the CDP's stable…).
    #[error("asset: {0}")]
    Position(#[from] PositionError),
    /// The snapshot is not one the live state can be built from.
    #[error("snapshot: {0}")]
    Snapshot(String),
    /// The checkpoint cannot be read, or was written for another snapshot.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}
