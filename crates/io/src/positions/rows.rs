//! Validating position rows and adding them to the snapshot: one loader shared by the CSV and
//! Parquet readers. It reads a row's cells (present, of the right type, empty where the row kind
//! has no such cell) and hands the position to [`crate::record`], which judges it as it judges an
//! `[[account]]` table.

use std::collections::HashSet;

use rustc_hash::FxHashMap;

use super::*;
use crate::problem::Problem;
use crate::record::{self, Holding, Item, Judge, Part};
use crate::{Diagnostics, Location};
use cascade_model::{MarginMode, PositionError, PositionWarning, Side, Snapshot};

/// What [`Snapshot::check_position`] says of one (protocol, asset, side), and whether its warning
/// was reported.
pub(super) type CachedCheck = (Result<Option<PositionWarning>, PositionError>, bool);

/// A name looked up in a protocol: (protocol, name) → index or why not.
type CellLookup = (usize, String, Result<u16, Problem>);

/// Validates rows and adds them to the snapshot; shared by the CSV and Parquet readers.
pub(super) struct RowLoader<'a> {
    pub(super) file: &'a str,
    pub(super) s: &'a mut Snapshot,
    pub(super) diags: &'a mut Diagnostics,
    /// Id → index; Fx hashing, since consecutive rows often alternate between a few assets.
    protocols: FxHashMap<String, usize>,
    assets: FxHashMap<String, usize>,
    /// Reference price of every asset, for the USD check of amounts.
    prices: Vec<f64>,
    last_protocol: Last<Option<usize>>,
    /// (protocol, account) → account index of the previous valid row.
    last_account: Option<(usize, String, u32)>,
    /// The last e-mode and vault type looked up: (protocol, id) → index or why not.
    last_cell: [Option<CellLookup>; 2],
    /// CDP accounts seen in a row without a vault type while they had none: (account, first row).
    missing_vault: Vec<(u32, u64)>,
    /// Accounts given a margin mode by this file: account → (mode, first row).
    pub(super) modes: FxHashMap<u32, (MarginMode, u64)>,
    /// The derivative rows added by this file, in row order: (account, row).
    pub(super) derivative_rows: Vec<(u32, u64)>,
    /// Perp and option rows of the snapshot before this file.
    pub(super) derivatives_before: (usize, usize),
    /// `check_position` per (protocol, asset, side), computed once.
    checks: Vec<Option<CachedCheck>>,
    errors: usize,
    pub(super) more_rows: u64,
    rows: u64,
    /// The row count of the file (or a guess), for reservations.
    expected_rows: usize,
    /// Whether the account index of a protocol was reserved for this file.
    index_reserved: Vec<bool>,
    /// Errors of the current row not listed because of the cap.
    pub(super) row_dropped: bool,
    pub(super) row_bad: bool,
    /// How a row's account is found.
    lookup: AccountLookup,
}

/// The column of a part of a record.
fn column_of(part: Part) -> usize {
    match part {
        Part::Asset => COL_ASSET,
        Part::Amount => COL_AMOUNT,
        Part::Market => COL_INSTRUMENT,
        Part::Size => COL_SIZE,
        Part::EntryPrice => COL_ENTRY_PRICE,
        Part::Strike => COL_STRIKE,
        Part::ExpiryDays => COL_EXPIRY_DAYS,
    }
}

/// The part of a record a number column holds.
fn part_of(column: usize) -> Option<Part> {
    match column {
        COL_AMOUNT => Some(Part::Amount),
        COL_SIZE => Some(Part::Size),
        COL_ENTRY_PRICE => Some(Part::EntryPrice),
        COL_STRIKE => Some(Part::Strike),
        COL_EXPIRY_DAYS => Some(Part::ExpiryDays),
        _ => None,
    }
}

impl<'a> RowLoader<'a> {
    pub(super) fn new(
        file: &'a str,
        s: &'a mut Snapshot,
        diags: &'a mut Diagnostics,
        lookup: AccountLookup,
    ) -> Self {
        let protocols = index_of(s.protocols.iter().map(|p| p.id.as_str()));
        let assets = index_of(s.assets.iter().map(|a| a.id.as_str()));
        let checks = vec![None; s.protocols.len() * s.assets.len() * 2];
        let index_reserved = vec![false; s.protocols.len()];
        let derivatives_before = (s.perps.len(), s.options.len());
        let prices = record::reference_prices(s);
        RowLoader {
            file,
            s,
            diags,
            protocols,
            assets,
            prices,
            last_protocol: Last::new(),
            last_account: None,
            last_cell: [None, None],
            missing_vault: Vec::new(),
            modes: FxHashMap::default(),
            derivative_rows: Vec::new(),
            derivatives_before,
            checks,
            errors: 0,
            more_rows: 0,
            rows: 0,
            expected_rows: 0,
            index_reserved,
            row_dropped: false,
            row_bad: false,
            lookup,
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
    fn reserve_index(&mut self, protocol: usize) {
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
    pub(super) fn row_error(&mut self, row: u64, column: usize, problem: impl FnOnce() -> Problem) {
        self.row_bad = true;
        if self.errors < MAX_ROW_ERRORS {
            self.errors += 1;
            self.diags.error(
                self.file,
                Location::Row(row),
                COLUMN_NAMES[column],
                problem(),
            );
        } else {
            self.row_dropped = true;
        }
    }

    /// An error about the whole row (e.g. a malformed CSV record), counted like a row error.
    pub(super) fn whole_row_error(&mut self, row: u64, problem: Problem) {
        self.rows += 1;
        if self.errors < MAX_ROW_ERRORS {
            self.errors += 1;
            self.diags.error(self.file, Location::Row(row), "", problem);
        } else {
            self.more_rows += 1;
        }
    }

    fn protocol(&mut self, row: u64, v: Option<&str>) -> Option<usize> {
        let Some(v) = v else {
            self.row_error(row, COL_PROTOCOL, || empty("a protocol id"));
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
            let ids = self.s.protocols.iter().map(|p| p.id.as_str());
            let problem = record::unknown_protocol(ids, v);
            self.row_error(row, COL_PROTOCOL, || problem);
        }
        p
    }

    /// The e-mode category (`column` = emode) or vault type (`column` = vault_type) named `v` in
    /// `protocol`; the lookup is kept while consecutive rows repeat it.
    fn named_cell(&mut self, row: u64, protocol: usize, v: &str, column: usize) -> Option<u16> {
        type Resolve = fn(&Snapshot, usize, &str) -> Result<u16, Problem>;
        let (slot, resolve): (usize, Resolve) = if column == COL_EMODE {
            (0, record::resolve_emode)
        } else {
            (1, record::resolve_vault_type)
        };
        let hit = matches!(&self.last_cell[slot], Some((p, k, _)) if *p == protocol && k == v);
        if !hit {
            let r = resolve(self.s, protocol, v);
            self.last_cell[slot] = Some((protocol, v.to_string(), r));
        }
        match &self.last_cell[slot] {
            Some((_, _, Ok(x))) => Some(*x),
            Some((_, _, Err(p))) => {
                let p = p.clone();
                self.row_error(row, column, || p);
                None
            }
            None => None,
        }
    }

    /// The vault type id of index `v` in protocol `p`.
    fn vault_type_name(&self, p: usize, v: u16) -> String {
        self.s.protocols[p]
            .cdp()
            .and_then(|c| c.vault_types.get(usize::from(v)))
            .map(|t| t.id.clone())
            .unwrap_or_default()
    }

    /// A number cell: its value, or (with the error) a stand-in that every rule accepts, so that the
    /// rest of the row is still checked.
    pub(super) fn number(&mut self, row: u64, column: usize, cell: Amount<'_>) -> f64 {
        let expected = part_of(column)
            .and_then(record::rule_of)
            .map_or("a number", |r| r.expected);
        match cell {
            Amount::Num(x) => return x,
            Amount::Missing => self.row_error(row, column, || empty(expected)),
            Amount::Text(t) => self.row_error(row, column, || Problem::bad_text(t, expected)),
        }
        1.0
    }

    /// Reports each of `columns` that is not empty on a row of kind `kind` (which has no such cell).
    pub(super) fn must_be_empty(&mut self, row: u64, r: &Row<'_>, columns: &[usize], kind: &str) {
        for &k in columns {
            let found = match k {
                COL_ASSET => r.asset.map(|v| format!("\"{v}\"")),
                COL_SIDE => r.side.map(|v| format!("\"{v}\"")),
                COL_OPTION_KIND => r.option_kind.map(|v| format!("\"{v}\"")),
                COL_AMOUNT => r.amount.found(),
                COL_SIZE => r.size.found(),
                COL_ENTRY_PRICE => r.entry_price.found(),
                COL_STRIKE => r.strike.found(),
                COL_EXPIRY_DAYS => r.expiry_days.found(),
                _ => None,
            };
            if let Some(found) = found {
                self.row_error(row, k, || Problem::OutOfRange {
                    found,
                    expected: format!("an empty cell: {kind} has no {}", COLUMN_NAMES[k]),
                });
            }
        }
    }

    /// The position of a spot row (empty `instrument`).
    fn spot<'r>(&mut self, row: u64, r: &Row<'r>) -> Holding<'r> {
        if r.asset.is_none() {
            self.row_error(row, COL_ASSET, || empty("an asset id"));
        }
        let side = match r.side {
            Some(v) => v
                .parse::<Side>()
                .map_err(|e| self.row_error(row, COL_SIDE, || Problem::UnknownChoice(e)))
                .ok(),
            None => {
                self.row_error(row, COL_SIDE, || empty("\"collateral\" or \"debt\""));
                None
            }
        };
        let amount = self.number(row, COL_AMOUNT, r.amount);
        // Most rows have none of these cells: check that first (the full check formats what it finds).
        let missing = |a: Amount<'_>| matches!(a, Amount::Missing);
        let all_empty = missing(r.size)
            && missing(r.entry_price)
            && missing(r.strike)
            && missing(r.expiry_days)
            && r.option_kind.is_none();
        if !all_empty {
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
        }
        Holding::Spot {
            asset: r.asset,
            side,
            amount,
        }
    }

    /// Judges `h`, a position of `protocol` read from `row`, by [`crate::record`]'s rules.
    fn judge(&mut self, row: u64, protocol: usize, h: &Holding<'_>) -> Option<Item> {
        let mut problems: Vec<(Part, Problem)> = Vec::new();
        let n_assets = self.s.assets.len();
        let s: &Snapshot = self.s;
        let checks = &mut self.checks;
        let assets = &self.assets;
        let asset_of = |a: &str| assets.get(a).copied();
        let judge = Judge {
            s,
            asset_of: &asset_of,
            prices: &self.prices,
        };
        let mut spot_check = |p: usize, a: usize, side: Side| {
            let k = (p * n_assets + a) * 2 + usize::from(side == Side::Debt);
            let slot = checks[k].get_or_insert_with(|| (s.check_position(p, a, side), false));
            match slot {
                (Ok(Some(w)), warned) => {
                    let first = !*warned;
                    *warned = true;
                    Ok(first.then(|| w.clone()))
                }
                (r, _) => r.clone(),
            }
        };
        let out = judge.check_holding(protocol, h, &mut spot_check, &mut |part, p| {
            problems.push((part, p));
        });
        for (part, p) in problems {
            self.row_error(row, column_of(part), || p);
        }
        let (item, warning) = out?;
        if let Some(w) = warning {
            self.diags.warning(
                self.file,
                Location::Row(row),
                COLUMN_NAMES[COL_ASSET],
                Problem::PositionWarning(w),
            );
        }
        Some(item)
    }

    /// The account index of (`p`, `acc`), created if new (with [`AccountLookup::Deferred`]: if it
    /// is not the previous valid row's).
    fn account(&mut self, p: usize, acc: &str) -> u32 {
        match &self.last_account {
            Some((lp, la, i)) if *lp == p && la == acc => *i,
            _ => {
                let i = match self.lookup {
                    AccountLookup::Indexed => {
                        self.reserve_index(p);
                        self.s.accounts.get_or_insert(p, acc)
                    }
                    AccountLookup::Deferred => self.s.accounts.push_unindexed(p, acc),
                };
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
            self.row_error(row, COL_ACCOUNT, || empty("an account id"));
        }
        let holding = match r.instrument {
            None => self.spot(row, &r),
            Some(i) => self.derivative(row, i, &r),
        };
        let item = protocol.and_then(|p| self.judge(row, p, &holding));
        let emode = match (protocol, r.emode) {
            (Some(p), Some(e)) => self.named_cell(row, p, e, COL_EMODE),
            _ => None,
        };
        let vault_type = match (protocol, r.vault_type) {
            (Some(p), Some(v)) => self.named_cell(row, p, v, COL_VAULT_TYPE),
            _ => None,
        };
        let margin_mode = match (protocol, r.margin_mode) {
            (Some(p), Some(m)) => self.margin_mode(row, p, m),
            _ => None,
        };
        if let (false, Some(p), Some(acc), Some(item)) = (self.row_bad, protocol, account, item) {
            let ai = self.account(p, acc);
            if self.add(row, p, ai, acc, [emode, vault_type], margin_mode) {
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
        }
        self.end_row();
    }

    /// Gives account `ai` (`acc` of protocol `p`) the e-mode, vault type and margin mode of `row`;
    /// `false` (with the error) if they contradict what it already has.
    fn add(
        &mut self,
        row: u64,
        p: usize,
        ai: u32,
        acc: &str,
        [emode, vault_type]: [Option<u16>; 2],
        margin_mode: Option<MarginMode>,
    ) -> bool {
        if let Some(e) = emode {
            match self.s.accounts.emode[ai as usize] {
                None => self.s.accounts.emode[ai as usize] = Some(e),
                Some(prev) if prev == e => {}
                Some(prev) => {
                    let cats = self.s.protocols[p].lending().map(|l| &l.emode);
                    let name = |i: u16| {
                        cats.and_then(|c| c.get(usize::from(i)))
                            .map(|c| c.id.clone())
                            .unwrap_or_default()
                    };
                    let (was, now) = (name(prev), name(e));
                    self.row_error(row, COL_EMODE, || {
                        Problem::Rule(format!("= \"{now}\", but account \"{acc}\" is already in e-mode \"{was}\" (an earlier row or the snapshot); expected one e-mode per account"))
                    });
                    return false;
                }
            }
        }
        let slot = self.s.accounts.vault_type[ai as usize];
        match (vault_type, slot) {
            (Some(v), None) => self.s.accounts.vault_type[ai as usize] = Some(v),
            (Some(v), Some(prev)) if prev != v => {
                let (was, now) = (self.vault_type_name(p, prev), self.vault_type_name(p, v));
                self.row_error(row, COL_VAULT_TYPE, || {
                    Problem::Rule(format!("= \"{now}\", but account \"{acc}\" is already of vault type \"{was}\" (an earlier row or the snapshot); expected one vault type per account"))
                });
                return false;
            }
            (None, None) if self.s.protocols[p].cdp().is_some() => {
                self.missing_vault.push((ai, row));
            }
            _ => {}
        }
        match margin_mode {
            Some(m) => self.set_margin_mode(row, ai, acc, m),
            None => true,
        }
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

    /// For a row group read on its own ([`super::groups`]): the rows it read and its CDP accounts
    /// seen without a vault type, if its rows raised no diagnostic and held no derivative or margin
    /// mode (whose checks depend on the rows before); `None` otherwise.
    pub(super) fn into_chunk(self) -> Option<(u64, Vec<(u32, u64)>)> {
        let clean = self.diags.items.is_empty()
            && self.errors == 0
            && self.more_rows == 0
            && self.modes.is_empty()
            && self.derivative_rows.is_empty();
        clean.then_some((self.rows, self.missing_vault))
    }

    /// Takes over what row groups read on their own found (see [`RowLoader::into_chunk`]), before
    /// [`RowLoader::finish`].
    pub(super) fn resume(&mut self, rows: u64, missing_vault: Vec<(u32, u64)>) {
        self.rows = rows;
        self.missing_vault = missing_vault;
    }

    /// Indexes the accounts a deferred read added; reports an empty table, CDP accounts left without
    /// a vault type, and the error summary. If the index cannot be built (an account's rows were not
    /// together), nothing is reported: the file is read again (see [`AccountLookup`]).
    pub(super) fn finish(mut self) {
        if self.lookup == AccountLookup::Deferred && self.s.accounts.index_pending().is_err() {
            return;
        }
        self.check_isolated();
        let mut reported = HashSet::new();
        for (ai, row) in std::mem::take(&mut self.missing_vault) {
            if self.s.accounts.vault_type[ai as usize].is_none() && reported.insert(ai) {
                let p = self.s.accounts.protocol[ai as usize] as usize;
                let problem =
                    record::missing_vault_type(self.s, p, &self.s.accounts.id[ai as usize]);
                self.row_bad = false;
                self.row_error(row, COL_VAULT_TYPE, || problem);
                self.end_row();
            }
        }
        if self.rows == 0 {
            self.diags.error(
                self.file,
                Location::File,
                "",
                Problem::NoRows {
                    expected: "at least one position".into(),
                },
            );
        }
        if self.more_rows > 0 {
            self.diags.error(
                self.file,
                Location::File,
                "",
                Problem::MoreErrors {
                    rows: self.more_rows,
                },
            );
        }
    }
}

/// Id → index of `ids`.
fn index_of<'x>(ids: impl Iterator<Item = &'x str>) -> FxHashMap<String, usize> {
    ids.enumerate().map(|(i, id)| (id.to_string(), i)).collect()
}

/// A [`Problem::Empty`] cell where `expected` was expected.
pub(super) fn empty(expected: &str) -> Problem {
    Problem::Empty {
        hint: format!("expected {expected}"),
    }
}
