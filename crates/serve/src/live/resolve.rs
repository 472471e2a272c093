//! A change checked against the live state and its names resolved to indices ([`Live::resolve`]).

use super::*;

impl Live {
    /// Checks a change against the state and resolves its names. Errors name the field: an unknown
    /// `asset`, `protocol` or `account` (a position change on a known protocol opens an account; a
    /// close does not), a `price` or `amount` that is negative or not finite, a price update on a
    /// derived asset, a position its protocol does not accept (no reserve, not borrowable, not the
    /// CDP's stable, a protocol without accounts).
    pub fn resolve(&self, c: &Change) -> Result<Resolved, LiveError> {
        match c {
            Change::Price { asset, price } => {
                let a = self.asset(asset)?;
                let kind = self.base.assets[a].kind;
                if !kind.is_exogenous() {
                    return Err(LiveError::DerivedPrice {
                        asset: asset.clone(),
                        kind,
                    });
                }
                check_number("price", *price)?;
                Ok(Resolved(Op::Price {
                    asset: a,
                    usd: *price,
                }))
            }
            Change::Position {
                protocol,
                account,
                asset,
                side,
                amount,
            } => {
                let p = self.protocol_idx(protocol)?;
                let a = self.asset(asset)?;
                check_number("amount", *amount)?;
                let side = match side {
                    PositionSide::Collateral => Side::Collateral,
                    PositionSide::Debt => Side::Debt,
                };
                self.base.check_position(p, a, side)?;
                check_account_id(account)?;
                let account = match self.find(p, account) {
                    Some(k) => AccountRef::Known(k),
                    None => AccountRef::New(account.clone()),
                };
                Ok(Resolved(Op::Position {
                    protocol: p,
                    account,
                    asset: a,
                    side,
                    tokens: *amount,
                }))
            }
            Change::Close { protocol, account } => {
                let p = self.protocol_idx(protocol)?;
                match self.find(p, account) {
                    Some(k) => Ok(Resolved(Op::Close { account: k })),
                    None => Err(LiveError::UnknownAccount {
                        protocol: protocol.clone(),
                        account: account.clone(),
                    }),
                }
            }
        }
    }

    fn asset(&self, id: &str) -> Result<usize, LiveError> {
        self.asset_ids
            .get(id)
            .copied()
            .ok_or_else(|| LiveError::UnknownAsset {
                name: id.to_string(),
                known: NameList(self.base.assets.iter().map(|a| a.id.clone()).collect()),
            })
    }

    fn protocol_idx(&self, id: &str) -> Result<usize, LiveError> {
        self.protocol_ids
            .get(id)
            .copied()
            .ok_or_else(|| LiveError::UnknownProtocol {
                name: id.to_string(),
                known: NameList(self.base.protocols.iter().map(|p| p.id.clone()).collect()),
            })
    }
}

pub(super) fn check_number(field: &'static str, x: f64) -> Result<(), LiveError> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(LiveError::Number {
            field,
            found: x,
            expected: "a finite number ≥ 0",
        })
    }
}

pub(super) fn check_account_id(id: &str) -> Result<(), LiveError> {
    if id.is_empty() || id.len() > MAX_ACCOUNT_ID_LEN {
        let shown: String = id.chars().take(40).collect();
        return Err(LiveError::AccountId {
            found: format!("\"{shown}\" ({} bytes)", id.len()),
            max: MAX_ACCOUNT_ID_LEN,
        });
    }
    Ok(())
}
