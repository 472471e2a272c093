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

/// A position that an account of `protocol` may not hold: `name` is what it names (the asset, the
/// stable, the market, the underlying or the account) and `rule` the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.rule.message(&self.protocol, &self.name))]
pub struct PositionError {
    pub protocol: String,
    pub name: String,
    pub rule: PositionRule,
}

/// The rules of what an account may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PositionRule {
    /// Bridges, AMM pools and algorithmic stablecoins have no accounts.
    NoAccounts(ProtocolKind),
    /// A lending pool has no reserve for the asset.
    NoReserve,
    /// The lending reserve is not borrowable.
    NotBorrowable,
    /// The clearinghouse gives the asset no weight on that side.
    NoWeight(Side),
    /// A CDP's vaults owe only its stable (the `name`).
    NotTheStable,
    /// The CDP has no vault type for the collateral.
    NoVaultType,
    /// Only a clearinghouse's accounts hold perps and options (the protocol is of another kind).
    NoDerivatives(ProtocolKind),
    /// Only a clearinghouse's accounts have a margin mode.
    NoMarginMode(ProtocolKind),
    /// The clearinghouse has no such market; its markets are listed.
    UnknownMarket(NameList),
    /// The clearinghouse has no volatility smile for the underlying; those it has are listed.
    NoSmile(NameList),
    /// An isolated account holds one derivative position; it holds this many.
    IsolatedHoldsMore(usize),
}

impl PositionRule {
    /// The message of a breach by `name` in protocol `p`.
    fn message(&self, p: &str, name: &str) -> String {
        let only = "only a clearinghouse's accounts";
        match self {
            PositionRule::NoAccounts(kind) => {
                let (what, instead) = no_accounts(*kind);
                format!("protocol \"{p}\" is {what}: it has no accounts{instead}")
            }
            PositionRule::NoReserve => format!("protocol \"{p}\" has no reserve for asset \"{name}\""),
            PositionRule::NotBorrowable => format!("\"{name}\" is not borrowable in \"{p}\""),
            PositionRule::NoWeight(Side::Collateral) => format!(
                "\"{name}\" is not accepted as collateral by \"{p}\" (no collateral weight)"
            ),
            PositionRule::NoWeight(Side::Debt) => {
                format!("\"{name}\" is not borrowable in \"{p}\" (no liability weight)")
            }
            PositionRule::NotTheStable => {
                format!("a vault of \"{p}\" owes only its stable \"{name}\"")
            }
            PositionRule::NoVaultType => {
                format!("protocol \"{p}\" has no vault type for collateral \"{name}\"")
            }
            PositionRule::NoDerivatives(kind) => {
                format!("protocol \"{p}\" is of kind \"{kind}\": {only} hold derivatives")
            }
            PositionRule::NoMarginMode(kind) => {
                format!("protocol \"{p}\" is of kind \"{kind}\": {only} have a margin mode")
            }
            PositionRule::UnknownMarket(known) => format!(
                "unknown market \"{name}\" in protocol \"{p}\"; expected one of its markets: {known}"
            ),
            PositionRule::NoSmile(known) => format!(
                "\"{name}\" has no volatility smile in protocol \"{p}\"; expected an underlying with a smile: {known}"
            ),
            PositionRule::IsolatedHoldsMore(held) => format!(
                "account \"{name}\" is isolated and holds {held} derivative positions; an isolated account holds one position: put each isolated position in its own account"
            ),
        }
    }
}

/// What a protocol kind without accounts is, and where its token is held instead.
fn no_accounts(kind: ProtocolKind) -> (&'static str, &'static str) {
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
    /// `rule` broken by `name` in `protocol`.
    fn breach(&self, protocol: ProtocolIdx, name: &str, rule: PositionRule) -> PositionError {
        PositionError {
            protocol: self.protocols[protocol].id.clone(),
            name: name.to_string(),
            rule,
        }
    }

    /// Whether `asset` may sit on `side` of an account of `protocol`: `Err` says why not, `Ok(Some)`
    /// carries a warning (the position is kept but has no effect on health).
    pub fn check_position(
        &self,
        protocol: ProtocolIdx,
        asset: AssetIdx,
        side: Side,
    ) -> Result<Option<PositionWarning>, PositionError> {
        let p = &self.protocols[protocol];
        let id = self.assets[asset].id.as_str();
        let refuse = |rule| Err(self.breach(protocol, id, rule));
        match &p.params {
            ProtocolParams::Lending(l) => match (l.reserve_of(asset), side) {
                (None, _) => refuse(PositionRule::NoReserve),
                (Some(r), Side::Collateral)
                    if !r.collateral_enabled || r.liquidation_threshold == 0.0 =>
                {
                    Ok(Some(PositionWarning::CollateralNotEnabled {
                        protocol: p.id.clone(),
                        asset: id.to_string(),
                    }))
                }
                (Some(r), Side::Debt) if !r.borrowable => refuse(PositionRule::NotBorrowable),
                _ => Ok(None),
            },
            ProtocolParams::Bridge(_) | ProtocolParams::Amm(_) | ProtocolParams::Algostable(_) => {
                refuse(PositionRule::NoAccounts(p.kind))
            }
            ProtocolParams::Clearinghouse(c) => {
                let weighted = match side {
                    Side::Collateral => c.collateral_of(asset).is_some(),
                    Side::Debt => c.liability_of(asset).is_some(),
                };
                if weighted {
                    Ok(None)
                } else {
                    refuse(PositionRule::NoWeight(side))
                }
            }
            ProtocolParams::Cdp(c) => match side {
                Side::Debt if asset == c.stable => Ok(None),
                Side::Debt => {
                    let stable = &self.assets[c.stable].id;
                    Err(self.breach(protocol, stable, PositionRule::NotTheStable))
                }
                Side::Collateral if c.vault_types.iter().any(|v| v.collateral == asset) => Ok(None),
                Side::Collateral => refuse(PositionRule::NoVaultType),
            },
        }
    }

    /// Whether an account of `protocol` may have a margin mode (a clearinghouse's accounts only).
    pub fn check_margin_mode(&self, protocol: ProtocolIdx) -> Result<(), PositionError> {
        let p = &self.protocols[protocol];
        match p.clearinghouse() {
            Some(_) => Ok(()),
            None => Err(self.breach(protocol, "", PositionRule::NoMarginMode(p.kind))),
        }
    }

    /// The clearinghouse `protocol`, or why its accounts hold no derivatives.
    fn derivatives_of(
        &self,
        protocol: ProtocolIdx,
        name: &str,
    ) -> Result<&crate::derivatives::ClearinghouseParams, PositionError> {
        let p = &self.protocols[protocol];
        p.clearinghouse()
            .ok_or_else(|| self.breach(protocol, name, PositionRule::NoDerivatives(p.kind)))
    }

    /// The index of perp market `market` of clearinghouse `protocol`.
    pub fn check_perp(&self, protocol: ProtocolIdx, market: &str) -> Result<u16, PositionError> {
        let ch = self.derivatives_of(protocol, market)?;
        let known = || NameList::of(ch.markets.iter().map(|m| m.id.as_str()));
        ch.market_idx(market)
            .and_then(|m| u16::try_from(m).ok())
            .ok_or_else(|| self.breach(protocol, market, PositionRule::UnknownMarket(known())))
    }

    /// Whether an account of `protocol` may hold options on `underlying` (a clearinghouse with a
    /// volatility smile for it).
    pub fn check_option(
        &self,
        protocol: ProtocolIdx,
        underlying: AssetIdx,
    ) -> Result<(), PositionError> {
        let id = &self.assets[underlying].id;
        let ch = self.derivatives_of(protocol, id)?;
        if ch.options.smile_of(underlying).is_some() {
            return Ok(());
        }
        let smiles = ch.options.smile.iter();
        let known = NameList::of(smiles.map(|m| self.assets[m.underlying].id.as_str()));
        Err(self.breach(protocol, id, PositionRule::NoSmile(known)))
    }
}

#[cfg(test)]
mod tests;
