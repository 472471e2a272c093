//! The rows of a position file as written, shared by the CSV and Parquet writers: spot positions,
//! then perps, then options, each with its account's cells.

use crate::positions::{DERIVATIVE_COLUMNS, OPTION_INSTRUMENT, VAULT_TYPE_COLUMN};
use cascade_model::{MarginMode, Snapshot};

/// Which optional columns a position file of a snapshot needs.
#[derive(Clone, Copy)]
pub(super) struct Layout {
    /// Some account has a CDP vault type: the `vault_type` column.
    pub(super) vault_type: bool,
    /// Some account has a perp, an option or a margin mode other than cross: the derivative columns
    /// `instrument, size, entry_price, strike, expiry_days, option_kind, margin_mode`.
    pub(super) derivatives: bool,
}

impl Layout {
    pub(super) fn of(s: &Snapshot) -> Layout {
        Layout {
            vault_type: s.accounts.vault_type.iter().any(Option::is_some),
            derivatives: !s.perps.is_empty()
                || !s.options.is_empty()
                || s.accounts
                    .margin_mode
                    .iter()
                    .any(|m| *m != MarginMode::Cross),
        }
    }
    pub(super) fn plain(self) -> bool {
        !self.vault_type && !self.derivatives
    }
    /// The header, in column order.
    pub(super) fn columns(self) -> Vec<&'static str> {
        let mut c = vec!["protocol", "account", "asset", "side", "amount", "emode"];
        if self.vault_type {
            c.push(VAULT_TYPE_COLUMN);
        }
        if self.derivatives {
            c.extend(DERIVATIVE_COLUMNS);
        }
        c
    }
}

/// One row of a position file as written: spot positions first, then perps, then options
/// (row `r` < positions is a spot row, then `r − positions` < perps a perp row, else an option row).
pub(super) struct OutRow<'s> {
    pub(super) account: usize,
    pub(super) asset: Option<&'s str>,
    pub(super) side: Option<&'static str>,
    pub(super) amount: Option<f64>,
    pub(super) instrument: Option<&'s str>,
    pub(super) size: Option<f64>,
    pub(super) entry_price: Option<f64>,
    pub(super) strike: Option<f64>,
    pub(super) expiry_days: Option<f64>,
    pub(super) option_kind: Option<&'static str>,
}

pub(super) fn out_rows(s: &Snapshot) -> usize {
    s.positions.len() + s.perps.len() + s.options.len()
}

pub(super) fn out_row(s: &Snapshot, r: usize) -> OutRow<'_> {
    let empty = |account: usize| OutRow {
        account,
        asset: None,
        side: None,
        amount: None,
        instrument: None,
        size: None,
        entry_price: None,
        strike: None,
        expiry_days: None,
        option_kind: None,
    };
    let (np, nf) = (s.positions.len(), s.perps.len());
    if r < np {
        let p = &s.positions;
        OutRow {
            asset: Some(s.assets[p.asset[r] as usize].id.as_str()),
            side: Some(p.side[r].name()),
            amount: Some(p.amount[r]),
            ..empty(p.account[r] as usize)
        }
    } else if r < np + nf {
        let j = r - np;
        let f = &s.perps;
        let a = f.account[j] as usize;
        let market = s.protocols[s.accounts.protocol[a] as usize]
            .clearinghouse()
            .and_then(|c| c.markets.get(usize::from(f.market[j])))
            .map(|m| m.id.as_str());
        OutRow {
            instrument: market,
            size: Some(f.size[j]),
            entry_price: Some(f.entry_price[j]),
            ..empty(a)
        }
    } else {
        let k = r - np - nf;
        let o = &s.options;
        OutRow {
            asset: Some(s.assets[o.underlying[k] as usize].id.as_str()),
            instrument: Some(OPTION_INSTRUMENT),
            size: Some(o.size[k]),
            strike: Some(o.strike[k]),
            expiry_days: Some(o.expiry_days[k]),
            option_kind: Some(o.kind[k].name()),
            ..empty(o.account[k] as usize)
        }
    }
}

/// The account-level cells of account `a`: protocol, account, e-mode, vault type and margin mode
/// (`None` for none or cross).
pub(super) fn account_cells(s: &Snapshot, a: usize) -> [Option<&str>; 5] {
    let p = &s.protocols[s.accounts.protocol[a] as usize];
    let emode = s.accounts.emode[a]
        .and_then(|e| p.lending().and_then(|l| l.emode.get(usize::from(e))))
        .map(|c| c.id.as_str());
    let vault = s.accounts.vault_type[a]
        .and_then(|v| p.cdp().and_then(|c| c.vault_types.get(usize::from(v))))
        .map(|v| v.id.as_str());
    let mode = s.accounts.margin_mode[a];
    [
        Some(p.id.as_str()),
        Some(&s.accounts.id[a]),
        emode,
        vault,
        (mode != MarginMode::Cross).then(|| mode.name()),
    ]
}
