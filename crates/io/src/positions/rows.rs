//! Validating position rows and adding them to the snapshot: one loader shared by the CSV and
//! Parquet readers.

use std::collections::HashSet;

use rustc_hash::FxHashMap;

use super::*;
use crate::snapshot::{resolve_emode, resolve_vault_type};
use crate::{Diagnostics, Location};
use cascade_model::{MarginMode, Side, Snapshot};

/// What [`Snapshot::check_position`] says: `Err` why not, `Ok(Some)` a warning.
pub(super) type PositionCheck = Result<Option<String>, String>;

/// Validates rows and adds them to the snapshot; shared by the CSV and Parquet readers.
pub(super) struct RowLoader<'a> {
    pub(super) file: &'a str,
    pub(super) s: &'a mut Snapshot,
    pub(super) diags: &'a mut Diagnostics,
    /// Id → index; Fx hashing, since consecutive rows often alternate between a few assets.
    pub(super) protocols: FxHashMap<String, usize>,
    pub(super) assets: FxHashMap<String, usize>,
    pub(super) last_protocol: Last<Option<usize>>,
    pub(super) last_asset: Last<Option<usize>>,
    /// (protocol, account) → account index of the previous valid row.
    pub(super) last_account: Option<(usize, String, u32)>,
    /// (protocol, e-mode id) → category index or why not.
    pub(super) last_emode: Option<(usize, String, Result<u16, String>)>,
    /// (protocol, vault type id) → vault type index or why not.
    pub(super) last_vault: Option<(usize, String, Result<Option<u16>, String>)>,
    /// CDP accounts seen in a row without a vault type while they had none: (account, first row).
    pub(super) missing_vault: Vec<(u32, u64)>,
    /// Accounts given a margin mode by this file: account → (mode, first row).
    pub(super) modes: FxHashMap<u32, (MarginMode, u64)>,
    /// The derivative rows added by this file, in row order: (account, row).
    pub(super) derivative_rows: Vec<(u32, u64)>,
    /// Perp and option rows of the snapshot before this file.
    pub(super) derivatives_before: (usize, usize),
    /// `check_position` per (protocol, asset, side), computed once; `bool` = warning reported.
    pub(super) checks: Vec<Option<(PositionCheck, bool)>>,
    pub(super) warned: HashSet<String>,
    pub(super) errors: usize,
    pub(super) more_rows: u64,
    pub(super) rows: u64,
    /// The row count of the file (or a guess), for reservations.
    pub(super) expected_rows: usize,
    /// Whether the account index of a protocol was reserved for this file.
    pub(super) index_reserved: Vec<bool>,
    /// Errors of the current row not listed because of the cap.
    pub(super) row_dropped: bool,
    pub(super) row_bad: bool,
}

impl<'a> RowLoader<'a> {
    pub(super) fn new(file: &'a str, s: &'a mut Snapshot, diags: &'a mut Diagnostics) -> Self {
        let protocols = s
            .protocols
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let assets = s
            .assets
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        let checks = vec![None; s.protocols.len() * s.assets.len() * 2];
        let index_reserved = vec![false; s.protocols.len()];
        let derivatives_before = (s.perps.len(), s.options.len());
        RowLoader {
            file,
            s,
            diags,
            protocols,
            assets,
            last_protocol: Last::new(),
            last_asset: Last::new(),
            last_account: None,
            last_emode: None,
            last_vault: None,
            missing_vault: Vec::new(),
            modes: FxHashMap::default(),
            derivative_rows: Vec::new(),
            derivatives_before,
            checks,
            warned: HashSet::new(),
            errors: 0,
            more_rows: 0,
            rows: 0,
            expected_rows: 0,
            index_reserved,
            row_dropped: false,
            row_bad: false,
        }
    }

    pub(super) fn reserve(&mut self, rows: usize) {
        self.expected_rows = rows;
        self.s.positions.reserve(rows);
        self.s.accounts.reserve(rows / ROWS_PER_ACCOUNT_GUESS);
    }

    /// On a protocol's first row in this file, room in its account index for the accounts the rest
    /// of the file may hold (growing a large hash index costs more than reserving it up front; an
    /// unused reservation is mostly untouched virtual memory).
    pub(super) fn reserve_index(&mut self, protocol: usize) {
        if !self.index_reserved[protocol] {
            self.index_reserved[protocol] = true;
            let rest = self
                .expected_rows
                .saturating_sub(usize::try_from(self.rows).unwrap_or(usize::MAX));
            self.s
                .accounts
                .reserve_for(protocol, rest / ROWS_PER_ACCOUNT_GUESS);
        }
    }

    /// An error at `row`, unless the file's cap is reached (then only counted).
    pub(super) fn row_error(&mut self, row: u64, column: usize, message: impl FnOnce() -> String) {
        self.row_bad = true;
        if self.errors < MAX_ROW_ERRORS {
            self.errors += 1;
            self.diags.error(
                self.file,
                Location::Row(row),
                COLUMN_NAMES[column],
                message(),
            );
        } else {
            self.row_dropped = true;
        }
    }

    /// An error about the whole row (e.g. a malformed CSV record), counted like a row error.
    pub(super) fn whole_row_error(&mut self, row: u64, message: String) {
        self.rows += 1;
        if self.errors < MAX_ROW_ERRORS {
            self.errors += 1;
            self.diags.error(self.file, Location::Row(row), "", message);
        } else {
            self.more_rows += 1;
        }
    }

    pub(super) fn id_list<'x>(ids: impl Iterator<Item = &'x str>) -> String {
        const SHOWN: usize = 20;
        let ids: Vec<&str> = ids.collect();
        let mut out = ids
            .iter()
            .take(SHOWN)
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ");
        if ids.len() > SHOWN {
            out.push_str(&format!(", … ({} in all)", ids.len()));
        }
        out
    }

    pub(super) fn protocol(&mut self, row: u64, v: Option<&str>) -> Option<usize> {
        let Some(v) = v else {
            self.row_error(row, COL_PROTOCOL, || {
                "empty; expected a protocol id".to_string()
            });
            return None;
        };
        let p = match self.last_protocol.get(v) {
            Some(p) => p,
            None => {
                let p = self.protocols.get(v).copied();
                self.last_protocol.set(v, p);
                p
            }
        };
        if p.is_none() {
            let list = Self::id_list(self.s.protocols.iter().map(|p| p.id.as_str()));
            self.row_error(row, COL_PROTOCOL, || {
                format!(
                    "unknown protocol \"{v}\"; expected one of the snapshot's protocols: {list}"
                )
            });
        }
        p
    }

    pub(super) fn asset(&mut self, row: u64, v: Option<&str>) -> Option<usize> {
        let Some(v) = v else {
            self.row_error(row, COL_ASSET, || "empty; expected an asset id".to_string());
            return None;
        };
        let a = match self.last_asset.get(v) {
            Some(a) => a,
            None => {
                let a = self.assets.get(v).copied();
                self.last_asset.set(v, a);
                a
            }
        };
        if a.is_none() {
            let list = Self::id_list(self.s.assets.iter().map(|a| a.id.as_str()));
            self.row_error(row, COL_ASSET, || {
                format!("unknown asset \"{v}\"; expected one of the snapshot's assets: {list}")
            });
        }
        a
    }

    pub(super) fn emode(&mut self, row: u64, protocol: usize, v: &str) -> Option<u16> {
        let hit = matches!(&self.last_emode, Some((p, k, _)) if *p == protocol && k == v);
        if !hit {
            let r = resolve_emode(self.s, protocol, v);
            self.last_emode = Some((protocol, v.to_string(), r));
        }
        match &self.last_emode {
            Some((_, _, Ok(e))) => Some(*e),
            Some((_, _, Err(msg))) => {
                let msg = msg.clone();
                let p = &self.s.protocols[protocol];
                let known = p
                    .lending()
                    .map(|l| Self::id_list(l.emode.iter().map(|c| c.id.as_str())))
                    .unwrap_or_default();
                let expected = if known.is_empty() {
                    "expected an empty cell (the protocol defines no e-mode category)".to_string()
                } else {
                    format!("expected empty or one of: {known}")
                };
                self.row_error(row, COL_EMODE, || format!("{msg}; {expected}"));
                None
            }
            None => None,
        }
    }

    pub(super) fn vault_type(&mut self, row: u64, protocol: usize, v: &str) -> Option<u16> {
        let hit = matches!(&self.last_vault, Some((p, k, _)) if *p == protocol && k == v);
        if !hit {
            let r = resolve_vault_type(self.s, protocol, Some(v));
            self.last_vault = Some((protocol, v.to_string(), r));
        }
        match &self.last_vault {
            Some((_, _, Ok(t))) => *t,
            Some((_, _, Err(msg))) => {
                let msg = msg.clone();
                let expected = match self.s.protocols[protocol].cdp() {
                    Some(c) => format!(
                        "expected one of: {}",
                        Self::id_list(c.vault_types.iter().map(|t| t.id.as_str()))
                    ),
                    None => "expected an empty cell (only a CDP's accounts have a vault type)"
                        .to_string(),
                };
                self.row_error(row, COL_VAULT_TYPE, || format!("{msg}; {expected}"));
                None
            }
            None => None,
        }
    }

    /// The vault type id of index `v` in protocol `p`.
    pub(super) fn vault_type_name(&self, p: usize, v: u16) -> String {
        self.s.protocols[p]
            .cdp()
            .and_then(|c| c.vault_types.get(usize::from(v)))
            .map(|t| t.id.clone())
            .unwrap_or_default()
    }

    /// `check_position` for (protocol, asset, side), cached; reports its error or (once) its warning.
    pub(super) fn check(&mut self, row: u64, protocol: usize, asset: usize, side: Side) -> bool {
        let k = (protocol * self.s.assets.len() + asset) * 2 + usize::from(side == Side::Debt);
        if self.checks[k].is_none() {
            self.checks[k] = Some((self.s.check_position(protocol, asset, side), false));
        }
        let Some((result, warned)) = &mut self.checks[k] else {
            return false;
        };
        match result {
            Ok(None) => true,
            Ok(Some(w)) => {
                if !*warned {
                    *warned = true;
                    if self.warned.insert(w.clone()) {
                        self.diags.warning(
                            self.file,
                            Location::Row(row),
                            COLUMN_NAMES[COL_ASSET],
                            format!("{w} (first at this row; reported once per file)"),
                        );
                    }
                }
                true
            }
            Err(e) => {
                let e = e.clone();
                self.row_error(row, COL_ASSET, || format!("side \"{}\": {e}", side.name()));
                false
            }
        }
    }

    /// A number cell that must be finite and satisfy `ok`; reports `expected` otherwise.
    pub(super) fn number(
        &mut self,
        row: u64,
        column: usize,
        cell: Amount<'_>,
        ok: fn(f64) -> bool,
        expected: &str,
    ) -> Option<f64> {
        match cell {
            Amount::Num(x) if x.is_finite() && ok(x) => Some(x),
            Amount::Missing => {
                self.row_error(row, column, || format!("empty; expected {expected}"));
                None
            }
            _ => {
                self.row_error(row, column, || {
                    format!("{}, expected {expected}", cell.found())
                });
                None
            }
        }
    }

    /// Reports each of `columns` that is not empty on a row of kind `kind` (which has no such cell).
    pub(super) fn must_be_empty(&mut self, row: u64, r: &Row<'_>, columns: &[usize], kind: &str) {
        for &k in columns {
            let found = match k {
                COL_ASSET => r.asset.map(|v| format!("= \"{v}\"")),
                COL_SIDE => r.side.map(|v| format!("= \"{v}\"")),
                COL_OPTION_KIND => r.option_kind.map(|v| format!("= \"{v}\"")),
                COL_AMOUNT => (!r.amount.is_missing()).then(|| r.amount.found()),
                COL_SIZE => (!r.size.is_missing()).then(|| r.size.found()),
                COL_ENTRY_PRICE => (!r.entry_price.is_missing()).then(|| r.entry_price.found()),
                COL_STRIKE => (!r.strike.is_missing()).then(|| r.strike.found()),
                COL_EXPIRY_DAYS => (!r.expiry_days.is_missing()).then(|| r.expiry_days.found()),
                _ => None,
            };
            if let Some(found) = found {
                self.row_error(row, k, || {
                    format!(
                        "{found}, expected an empty cell: {kind} has no {}",
                        COLUMN_NAMES[k]
                    )
                });
            }
        }
    }

    /// The asset, side and amount of a spot row (empty `instrument`).
    pub(super) fn spot_item(
        &mut self,
        row: u64,
        protocol: Option<usize>,
        r: &Row<'_>,
    ) -> Option<Item> {
        let asset = self.asset(row, r.asset);
        let side = match r.side {
            Some(v) => {
                let s = Side::parse(v);
                if s.is_none() {
                    self.row_error(row, COL_SIDE, || {
                        format!("= \"{v}\", expected \"collateral\" or \"debt\"")
                    });
                }
                s
            }
            None => {
                self.row_error(row, COL_SIDE, || {
                    "empty; expected \"collateral\" or \"debt\"".to_string()
                });
                None
            }
        };
        let amount = self.number(
            row,
            COL_AMOUNT,
            r.amount,
            |x| x >= 0.0,
            "a finite number ≥ 0 (tokens)",
        );
        self.must_be_empty(
            row,
            r,
            &[
                COL_SIZE,
                COL_ENTRY_PRICE,
                COL_STRIKE,
                COL_EXPIRY_DAYS,
                COL_OPTION_KIND,
            ],
            "a spot row (empty instrument)",
        );
        let ok = match (protocol, asset, side) {
            (Some(p), Some(a), Some(sd)) => self.check(row, p, a, sd),
            _ => false,
        };
        match (ok, asset, side, amount) {
            (true, Some(a), Some(sd), Some(x)) => Some(Item::Spot(a, sd, x)),
            _ => None,
        }
    }

    /// The account index of (`p`, `acc`), created if new.
    pub(super) fn account(&mut self, p: usize, acc: &str) -> u32 {
        match &self.last_account {
            Some((lp, la, i)) if *lp == p && la == acc => *i,
            _ => {
                self.reserve_index(p);
                let i = self.s.accounts.get_or_insert(p, acc);
                match &mut self.last_account {
                    Some((lp, la, li)) => {
                        *lp = p;
                        la.clear();
                        la.push_str(acc);
                        *li = i;
                    }
                    None => self.last_account = Some((p, acc.to_string(), i)),
                }
                i
            }
        }
    }

    /// Validates one row (`row` is its 1-based data row) and adds it if it is valid.
    pub(super) fn row(&mut self, row: u64, r: Row<'_>) {
        self.begin_row();
        let protocol = self.protocol(row, r.protocol);
        let account = r.account;
        if account.is_none() {
            self.row_error(row, COL_ACCOUNT, || {
                "empty; expected an account id".to_string()
            });
        }
        let item = match r.instrument {
            None => self.spot_item(row, protocol, &r),
            Some(i) => self.derivative_item(row, protocol, i, &r),
        };
        let emode = match (protocol, r.emode) {
            (Some(p), Some(e)) => self.emode(row, p, e),
            _ => None,
        };
        let vault_type = match (protocol, r.vault_type) {
            (Some(p), Some(v)) => self.vault_type(row, p, v),
            _ => None,
        };
        let margin_mode = match (protocol, r.margin_mode) {
            (Some(p), Some(m)) => self.margin_mode(row, p, m),
            _ => None,
        };
        if let (false, Some(p), Some(acc), Some(item)) = (self.row_bad, protocol, account, item) {
            let ai = self.account(p, acc);
            if let Some(e) = emode {
                let slot = &mut self.s.accounts.emode[ai as usize];
                match *slot {
                    None => *slot = Some(e),
                    Some(prev) if prev == e => {}
                    Some(prev) => {
                        let cats = &self.s.protocols[p].lending().map(|l| &l.emode);
                        let name = |i: u16| {
                            cats.and_then(|c| c.get(i as usize))
                                .map(|c| c.id.clone())
                                .unwrap_or_default()
                        };
                        let (was, now) = (name(prev), name(e));
                        self.row_error(row, COL_EMODE, || {
                            format!("= \"{now}\", but account \"{acc}\" is already in e-mode \"{was}\" (an earlier row or the snapshot); expected one e-mode per account")
                        });
                        self.end_row();
                        return;
                    }
                }
            }
            let slot = self.s.accounts.vault_type[ai as usize];
            match (vault_type, slot) {
                (Some(v), None) => self.s.accounts.vault_type[ai as usize] = Some(v),
                (Some(v), Some(prev)) if prev != v => {
                    let (was, now) = (self.vault_type_name(p, prev), self.vault_type_name(p, v));
                    self.row_error(row, COL_VAULT_TYPE, || {
                        format!("= \"{now}\", but account \"{acc}\" is already of vault type \"{was}\" (an earlier row or the snapshot); expected one vault type per account")
                    });
                    self.end_row();
                    return;
                }
                (None, None) if self.s.protocols[p].cdp().is_some() => {
                    self.missing_vault.push((ai, row));
                }
                _ => {}
            }
            if let Some(m) = margin_mode {
                if !self.set_margin_mode(row, ai, acc, m) {
                    self.end_row();
                    return;
                }
            }
            match item {
                Item::Spot(a, sd, x) => self.s.positions.push(ai, a, sd, x),
                Item::Perp(m, size, entry) => {
                    self.s.perps.push(ai, m, size, entry);
                    self.derivative_rows.push((ai, row));
                }
                Item::Option(u, k, strike, expiry, size) => {
                    self.s.options.push(ai, u, k, strike, expiry, size);
                    self.derivative_rows.push((ai, row));
                }
            }
        }
        self.end_row();
    }

    pub(super) fn begin_row(&mut self) {
        self.rows += 1;
        self.row_bad = false;
        self.row_dropped = false;
    }

    pub(super) fn end_row(&mut self) {
        if self.row_dropped {
            self.more_rows += 1;
        }
    }

    /// Reports an empty table, CDP accounts left without a vault type, and the error summary.
    pub(super) fn finish(mut self) {
        self.check_isolated();
        let mut reported = HashSet::new();
        for (ai, row) in std::mem::take(&mut self.missing_vault) {
            if self.s.accounts.vault_type[ai as usize].is_none() && reported.insert(ai) {
                let p = self.s.accounts.protocol[ai as usize] as usize;
                let (pid, acc) = (
                    self.s.protocols[p].id.clone(),
                    self.s.accounts.id[ai as usize].clone(),
                );
                if self.errors < MAX_ROW_ERRORS {
                    self.errors += 1;
                    self.diags.error(
                        self.file,
                        Location::Row(row),
                        COLUMN_NAMES[COL_VAULT_TYPE],
                        format!("empty; account \"{acc}\" of CDP \"{pid}\" needs a vault_type (in one of its rows or its [[account]] table)"),
                    );
                } else {
                    self.more_rows += 1;
                }
            }
        }
        if self.rows == 0 {
            self.diags.error(
                self.file,
                Location::File,
                "",
                "no data rows; expected at least one position",
            );
        }
        if self.more_rows > 0 {
            self.diags.error(
                self.file,
                Location::File,
                "",
                format!("... and {} more rows with errors", self.more_rows),
            );
        }
    }
}
