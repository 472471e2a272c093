//! The one validator of account records (docs/formats.md#accounts): the entries of an `[[account]]`
//! table and the rows of a position file are both read into [`Holding`]s and account cells and
//! judged here, by the same rules and with the same messages. Each reader only says where a
//! [`Part`] of a record sits (a TOML field and line, a CSV/Parquet column and row).

use cascade_model::{
    MarginMode, OptionType, PositionError, PositionRule, PositionWarning, Side, Snapshot,
};

use crate::problem::{NameKind, Problem};
use crate::reader::Rule;

/// The part of a record a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Asset,
    Amount,
    /// A perp's market (in a position file, the `instrument` column).
    Market,
    Size,
    EntryPrice,
    Strike,
    ExpiryDays,
}

/// A position as read, names not yet resolved; numbers are numbers but not yet checked. A name the
/// reader could not read (`None`, already reported) is not checked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Holding<'r> {
    Spot {
        asset: Option<&'r str>,
        side: Option<Side>,
        amount: f64,
    },
    Perp {
        market: &'r str,
        size: f64,
        entry_price: f64,
    },
    Option {
        underlying: Option<&'r str>,
        kind: OptionType,
        strike: f64,
        expiry_days: f64,
        size: f64,
    },
}

/// A valid position, names resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Item {
    /// Asset, side, tokens.
    Spot(usize, Side, f64),
    /// Market index, signed size (tokens), entry price (USD).
    Perp(u16, f64, f64),
    /// Underlying, kind, strike (USD), expiry (days), signed size (options).
    Option(usize, OptionType, f64, f64, f64),
}

pub(crate) const AMOUNT: Rule = Rule::new(|x| x >= 0.0, "a finite number ≥ 0 (tokens)");
pub(crate) const SIZE: Rule = Rule::new(|_| true, "a finite signed size");
pub(crate) const ENTRY_PRICE: Rule = Rule::new(|x| x > 0.0, "an entry price > 0 USD");
pub(crate) const STRIKE: Rule = Rule::new(|x| x > 0.0, "a strike > 0 USD");
pub(crate) const EXPIRY_DAYS: Rule = Rule::new(|x| x > 0.0, "an expiry > 0 days");

/// The rule a number part follows.
pub(crate) fn rule_of(part: Part) -> Option<Rule> {
    match part {
        Part::Amount => Some(AMOUNT),
        Part::Size => Some(SIZE),
        Part::EntryPrice => Some(ENTRY_PRICE),
        Part::Strike => Some(STRIKE),
        Part::ExpiryDays => Some(EXPIRY_DAYS),
        _ => None,
    }
}

/// The check of a spot position of (protocol, asset, side): the model's rule, possibly cached by the
/// reader (a position file asks it once per row).
pub(crate) type SpotCheck<'c> =
    dyn FnMut(usize, usize, Side) -> Result<Option<PositionWarning>, PositionError> + 'c;

/// What a record is judged against: the snapshot, its asset ids and reference prices, and the check
/// of spot positions (which a position file caches).
pub(crate) struct Judge<'j> {
    pub s: &'j Snapshot,
    pub asset_of: &'j dyn Fn(&str) -> Option<usize>,
    /// [`Snapshot::reference_price`] of every asset.
    pub prices: &'j [f64],
}

/// The reference price of every asset of `s`.
pub(crate) fn reference_prices(s: &Snapshot) -> Vec<f64> {
    (0..s.assets.len()).map(|a| s.reference_price(a)).collect()
}

/// `x` if it follows the rule of `part`, else (with the problem reported) `None`.
fn number(part: Part, x: f64, report: &mut dyn FnMut(Part, Problem)) -> Option<f64> {
    let rule = rule_of(part)?;
    rule.check(x).map_err(|p| report(part, p)).ok()
}

/// `Some` if `tokens × price` is a finite USD value, else (with the problem reported at `part`)
/// `None`.
fn usd(part: Part, tokens: f64, price: f64, report: &mut dyn FnMut(Part, Problem)) -> Option<()> {
    if (tokens * price).is_finite() {
        return Some(());
    }
    report(
        part,
        Problem::NotFiniteUsd {
            amount: tokens,
            price,
        },
    );
    None
}

impl Judge<'_> {
    /// Validates `h`, a position of an account of `protocol`: numbers are in range and finite in USD,
    /// names resolve, and the protocol allows it. Every problem goes to `report` with the part it is
    /// about; the item (and a warning, if the position has no effect) only if there was none.
    pub(crate) fn check_holding(
        &self,
        protocol: usize,
        h: &Holding<'_>,
        spot_check: &mut SpotCheck<'_>,
        report: &mut dyn FnMut(Part, Problem),
    ) -> Option<(Item, Option<PositionWarning>)> {
        match *h {
            Holding::Spot {
                asset,
                side,
                amount,
            } => {
                let amount = number(Part::Amount, amount, report);
                let a = self.resolve_asset(NameKind::Asset, asset?, report)?;
                let side = side?;
                let warning = spot_check(protocol, a, side)
                    .map_err(|e| report(Part::Asset, Problem::Position(e)))
                    .ok()?;
                let amount = amount?;
                usd(Part::Amount, amount, self.prices[a], report)?;
                Some((Item::Spot(a, side, amount), warning))
            }
            Holding::Perp {
                market,
                size,
                entry_price,
            } => {
                let size = number(Part::Size, size, report);
                let entry = number(Part::EntryPrice, entry_price, report);
                let market = self.s.check_perp(protocol, market);
                let m = market.map_err(|e| report(Part::Market, Problem::Position(e)));
                let (size, entry) = (size?, entry?);
                usd(Part::Size, size, entry, report)?;
                Some((Item::Perp(m.ok()?, size, entry), None))
            }
            Holding::Option {
                underlying,
                kind,
                strike,
                expiry_days,
                size,
            } => {
                let parts = [
                    (Part::Strike, strike),
                    (Part::ExpiryDays, expiry_days),
                    (Part::Size, size),
                ];
                let [strike, expiry, size] = parts.map(|(p, x)| number(p, x, report));
                let u = self.resolve_asset(NameKind::Underlying, underlying?, report)?;
                (self.s.check_option(protocol, u))
                    .map_err(|e| report(Part::Asset, Problem::Position(e)))
                    .ok()?;
                let (strike, size) = (strike?, size?);
                usd(Part::Size, size, strike, report)?;
                Some((Item::Option(u, kind, strike, expiry?, size), None))
            }
        }
    }

    /// The index of asset `id` (named as a `kind`), or an error naming the snapshot's assets.
    fn resolve_asset(
        &self,
        kind: NameKind,
        id: &str,
        report: &mut dyn FnMut(Part, Problem),
    ) -> Option<usize> {
        let a = (self.asset_of)(id);
        if a.is_none() {
            let known =
                cascade_model::NameList(self.s.assets.iter().map(|a| a.id.clone()).collect());
            report(
                Part::Asset,
                Problem::unknown(
                    kind,
                    id,
                    format!("expected one of the snapshot's assets: {known}"),
                ),
            );
        }
        a
    }
}

/// The problem of an unknown protocol `name`, listing the snapshot's protocols `ids`.
pub(crate) fn unknown_protocol<'x>(ids: impl Iterator<Item = &'x str>, name: &str) -> Problem {
    let known = cascade_model::NameList(ids.map(str::to_string).collect());
    Problem::unknown(
        NameKind::Protocol,
        name,
        format!("expected one of the snapshot's protocols: {known}"),
    )
}

/// The index of e-mode category `id` in lending protocol `protocol`.
pub(crate) fn resolve_emode(s: &Snapshot, protocol: usize, id: &str) -> Result<u16, Problem> {
    let p = &s.protocols[protocol];
    let Some(l) = p.lending() else {
        return Err(Problem::Rule(format!(
            "protocol \"{}\" is of kind \"{}\": only a lending protocol's accounts have an e-mode",
            p.id, p.kind
        )));
    };
    if let Some(i) = l.emode.iter().position(|c| c.id == id) {
        if let Ok(i) = u16::try_from(i) {
            return Ok(i);
        }
    }
    let hint = if l.emode.is_empty() {
        "the protocol defines no e-mode category".to_string()
    } else {
        let known = cascade_model::NameList(l.emode.iter().map(|c| c.id.clone()).collect());
        format!("expected one of: {known}")
    };
    Err(Problem::UnknownName {
        kind: NameKind::EModeCategory,
        name: id.to_string(),
        scope: Some(p.id.clone()),
        hint: Some(hint),
    })
}

/// The index of vault type `id` in CDP `protocol`.
pub(crate) fn resolve_vault_type(s: &Snapshot, protocol: usize, id: &str) -> Result<u16, Problem> {
    let p = &s.protocols[protocol];
    let Some(c) = p.cdp() else {
        return Err(Problem::Rule(format!(
            "protocol \"{}\" is not a CDP: it has no vault types",
            p.id
        )));
    };
    match c.vault_types.iter().position(|v| v.id == id) {
        Some(i) => u16::try_from(i).map_err(|_| Problem::Rule("too many vault types".into())),
        None => {
            let known =
                cascade_model::NameList(c.vault_types.iter().map(|v| v.id.clone()).collect());
            Err(Problem::UnknownName {
                kind: NameKind::VaultType,
                name: id.to_string(),
                scope: Some(p.id.clone()),
                hint: Some(format!("expected one of: {known}")),
            })
        }
    }
}

/// The problem of a CDP account without a vault type.
pub(crate) fn missing_vault_type(s: &Snapshot, protocol: usize, account: &str) -> Problem {
    Problem::MissingField {
        hint: format!(
            "account \"{account}\" of CDP \"{}\" needs a vault_type (in its [[account]] table or one of its position-file rows)",
            s.protocols[protocol].id
        ),
    }
}

/// The margin mode `name` of an account of `protocol` (a clearinghouse's accounts only).
pub(crate) fn resolve_margin_mode(
    s: &Snapshot,
    protocol: usize,
    name: &str,
) -> Result<MarginMode, Problem> {
    s.check_margin_mode(protocol).map_err(Problem::Position)?;
    name.parse::<MarginMode>().map_err(Problem::UnknownChoice)
}

/// The problem of isolated account `account` of `protocol` holding `held` derivative positions
/// (more than one).
pub(crate) fn isolated_holds_more(
    s: &Snapshot,
    protocol: usize,
    account: &str,
    held: usize,
) -> Problem {
    Problem::Position(PositionError {
        protocol: s.protocols[protocol].id.clone(),
        name: account.to_string(),
        rule: PositionRule::IsolatedHoldsMore(held),
    })
}
