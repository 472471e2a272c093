//! The rules of what an account may hold (docs/formats.md#accounts): one check per kind of position,
//! shared by every reader so that a `[[account]]` entry and a position-file row are judged alike.

use std::fmt;

use crate::asset::AssetIdx;
use crate::protocol::{ProtocolIdx, ProtocolKind, ProtocolParams};
use crate::snapshot::{Side, Snapshot};

/// At most this many names are listed in a message; the rest are counted.
const NAMES_SHOWN: usize = 20;

/// Names, quoted: `"a", "b", … (25 in all)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameList(pub Vec<String>);

impl NameList {
    fn of<'x>(names: impl Iterator<Item = &'x str>) -> NameList {
        NameList(names.map(str::to_string).collect())
    }
}

impl fmt::Display for NameList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.0.iter().take(NAMES_SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "\"{n}\"")?;
        }
        if self.0.len() > NAMES_SHOWN {
            write!(f, ", … ({} in all)", self.0.len())?;
        }
        Ok(())
    }
}

/// A position that an account of its protocol may not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PositionError {
    #[error("protocol \"{protocol}\" has no reserve for asset \"{asset}\"")]
    NoReserve { protocol: String, asset: String },
    #[error("\"{asset}\" is not borrowable in \"{protocol}\"")]
    NotBorrowable { protocol: String, asset: String },
    /// Bridges, AMM pools and algorithmic stablecoins have no accounts.
    #[error("protocol \"{protocol}\" is {}: it has no accounts{}", no_accounts(.kind).0, no_accounts(.kind).1)]
    NoAccounts {
        protocol: String,
        kind: ProtocolKind,
    },
    #[error("\"{asset}\" is not accepted as collateral by \"{protocol}\" (no collateral weight)")]
    NoCollateralWeight { protocol: String, asset: String },
    #[error("\"{asset}\" is not borrowable in \"{protocol}\" (no liability weight)")]
    NoLiabilityWeight { protocol: String, asset: String },
    #[error("a vault of \"{protocol}\" owes only its stable \"{stable}\"")]
    NotTheStable { protocol: String, stable: String },
    #[error("protocol \"{protocol}\" has no vault type for collateral \"{asset}\"")]
    NoVaultType { protocol: String, asset: String },
    /// Perps and options are held only in a clearinghouse.
    #[error("protocol \"{protocol}\" is of kind \"{kind}\": only a clearinghouse's accounts hold derivatives")]
    NoDerivatives {
        protocol: String,
        kind: ProtocolKind,
    },
    #[error("protocol \"{protocol}\" is of kind \"{kind}\": only a clearinghouse's accounts have a margin mode")]
    NoMarginMode {
        protocol: String,
        kind: ProtocolKind,
    },
    #[error("unknown market \"{market}\" in protocol \"{protocol}\"; expected one of its markets: {known}")]
    UnknownMarket {
        protocol: String,
        market: String,
        known: NameList,
    },
    #[error("\"{underlying}\" has no volatility smile in protocol \"{protocol}\"; expected an underlying with a smile: {known}")]
    NoSmile {
        protocol: String,
        underlying: String,
        known: NameList,
    },
    /// An isolated account's collateral backs one derivative position only.
    #[error("account \"{account}\" is isolated and holds {held} derivative positions; an isolated account holds one position: put each isolated position in its own account")]
    IsolatedHoldsMore { account: String, held: usize },
}

/// What a protocol kind without accounts is, and where its token is held instead.
fn no_accounts(kind: &ProtocolKind) -> (&'static str, &'static str) {
    match kind {
        ProtocolKind::Amm => ("an AMM pool", " (its LP token is held in other protocols)"),
        ProtocolKind::Algostable => (
            "an algorithmic stablecoin",
            " (its stable is held in other protocols)",
        ),
        _ => ("a bridge", ""),
    }
}

/// A position that is kept but has no effect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PositionWarning {
    #[error("\"{asset}\" is not enabled as collateral in \"{protocol}\": the supply counts for nothing in the health factor")]
    CollateralNotEnabled { protocol: String, asset: String },
}

impl Snapshot {
    /// Whether `asset` may sit on `side` of an account of `protocol`: `Err` says why not, `Ok(Some)`
    /// carries a warning (the position is kept but has no effect on health).
    pub fn check_position(
        &self,
        protocol: ProtocolIdx,
        asset: AssetIdx,
        side: Side,
    ) -> Result<Option<PositionWarning>, PositionError> {
        let p = &self.protocols[protocol];
        let names = || (p.id.clone(), self.assets[asset].id.clone());
        match &p.params {
            ProtocolParams::Lending(l) => {
                let Some(r) = l.reserve_of(asset) else {
                    let (protocol, asset) = names();
                    return Err(PositionError::NoReserve { protocol, asset });
                };
                match side {
                    Side::Collateral if !r.collateral_enabled || r.liquidation_threshold == 0.0 => {
                        let (protocol, asset) = names();
                        Ok(Some(PositionWarning::CollateralNotEnabled {
                            protocol,
                            asset,
                        }))
                    }
                    Side::Debt if !r.borrowable => {
                        let (protocol, asset) = names();
                        Err(PositionError::NotBorrowable { protocol, asset })
                    }
                    _ => Ok(None),
                }
            }
            ProtocolParams::Bridge(_) | ProtocolParams::Amm(_) | ProtocolParams::Algostable(_) => {
                Err(PositionError::NoAccounts {
                    protocol: p.id.clone(),
                    kind: p.kind,
                })
            }
            ProtocolParams::Clearinghouse(c) => {
                let held = match side {
                    Side::Collateral => c.collateral_of(asset).is_some(),
                    Side::Debt => c.liability_of(asset).is_some(),
                };
                if held {
                    return Ok(None);
                }
                let (protocol, asset) = names();
                Err(match side {
                    Side::Collateral => PositionError::NoCollateralWeight { protocol, asset },
                    Side::Debt => PositionError::NoLiabilityWeight { protocol, asset },
                })
            }
            ProtocolParams::Cdp(c) => match side {
                Side::Debt if asset == c.stable => Ok(None),
                Side::Debt => Err(PositionError::NotTheStable {
                    protocol: p.id.clone(),
                    stable: self.assets[c.stable].id.clone(),
                }),
                Side::Collateral if c.vault_types.iter().any(|v| v.collateral == asset) => Ok(None),
                Side::Collateral => {
                    let (protocol, asset) = names();
                    Err(PositionError::NoVaultType { protocol, asset })
                }
            },
        }
    }

    /// Whether an account of `protocol` may have a margin mode (a clearinghouse's accounts only).
    pub fn check_margin_mode(&self, protocol: ProtocolIdx) -> Result<(), PositionError> {
        let p = &self.protocols[protocol];
        match p.clearinghouse() {
            Some(_) => Ok(()),
            None => Err(PositionError::NoMarginMode {
                protocol: p.id.clone(),
                kind: p.kind,
            }),
        }
    }

    /// The index of perp market `market` of clearinghouse `protocol`.
    pub fn check_perp(&self, protocol: ProtocolIdx, market: &str) -> Result<u16, PositionError> {
        let p = &self.protocols[protocol];
        let Some(ch) = p.clearinghouse() else {
            return Err(PositionError::NoDerivatives {
                protocol: p.id.clone(),
                kind: p.kind,
            });
        };
        ch.market_idx(market)
            .and_then(|m| u16::try_from(m).ok())
            .ok_or_else(|| PositionError::UnknownMarket {
                protocol: p.id.clone(),
                market: market.to_string(),
                known: NameList::of(ch.markets.iter().map(|m| m.id.as_str())),
            })
    }

    /// Whether an account of `protocol` may hold options on `underlying` (a clearinghouse with a
    /// volatility smile for it).
    pub fn check_option(
        &self,
        protocol: ProtocolIdx,
        underlying: AssetIdx,
    ) -> Result<(), PositionError> {
        let p = &self.protocols[protocol];
        let Some(ch) = p.clearinghouse() else {
            return Err(PositionError::NoDerivatives {
                protocol: p.id.clone(),
                kind: p.kind,
            });
        };
        if ch.options.smile_of(underlying).is_some() {
            return Ok(());
        }
        Err(PositionError::NoSmile {
            protocol: p.id.clone(),
            underlying: self.assets[underlying].id.clone(),
            known: NameList::of(
                ch.options
                    .smile
                    .iter()
                    .map(|m| self.assets[m.underlying].id.as_str()),
            ),
        })
    }
}

#[cfg(test)]
mod tests;
