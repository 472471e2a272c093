//! Loading a snapshot from its file and the CSV/Parquet position files it names (DESIGN §14).
//!
//! Every problem is reported as a [`Diagnostic`](cascade_io::Diagnostic) naming the file, the
//! line (snapshot) or 1-based data row (position file), and the field or column; loading goes on after
//! a problem so that one run reports them all (up to [`MAX_ROW_ERRORS`] per position file).
//!
//! Position files have the columns `protocol, account, asset, side, amount` and optionally `emode`
//! (a lending e-mode category id; empty or null = none) and `vault_type` (a CDP vault type id; every
//! CDP account needs one, in at least one of its rows or its `[[account]]` table). Other columns are
//! reported once each as ignored by this version.
//!
//! # Derivative rows (DESIGN §6, §14)
//!
//! The optional columns `instrument, size, entry_price, strike, expiry_days, option_kind,
//! margin_mode` carry a clearinghouse account's derivatives; files without them load as before. A
//! row is one of three kinds, told apart by `instrument`:
//!
//! | `instrument`  | filled                                                            | empty                                                  |
//! |---------------|-------------------------------------------------------------------|--------------------------------------------------------|
//! | empty         | spot: `asset`, `side`, `amount`                                   | `size, entry_price, strike, expiry_days, option_kind` |
//! | a market id   | perp: `size` (signed tokens, > 0 long), `entry_price` (> 0 USD)   | `asset, side, amount, strike, expiry_days, option_kind` |
//! | `option`      | option: `asset` (underlying), `option_kind` (`call`/`put`), `strike` (> 0 USD), `expiry_days` (> 0), `size` (signed, < 0 written) | `side, amount, entry_price` |
//!
//! `option` is reserved: it always means an option row, never a market of that name. Derivative rows
//! are checked as the snapshot's `perps`/`options` entries are: the protocol must be a
//! clearinghouse, the market one of its `[[protocol.market]]` ids, the underlying one with a smile
//! in its `[protocol.options]`, numbers finite. `margin_mode` (`cross`, `isolated`, `portfolio`;
//! empty = unchanged) may sit on any row of a clearinghouse account, spot or derivative; two rows of
//! one file giving one account different modes is an error, and so is a mode other than the one the
//! snapshot or an earlier file set, unless that was the default `cross`. An isolated account holds
//! one derivative position in all (snapshot and files together); the row of the second one is an
//! error.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::RecordBatch;
use arrow_array::{
    Array, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray, StringArray,
    StringViewArray,
};
use arrow_schema::{ArrowError, DataType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use rustc_hash::FxHashMap;

use crate::snapshot::{check_loaded, parse_snapshot, resolve_emode, resolve_vault_type};
use crate::{Diagnostics, Format, LoadError, Location};
use cascade_model::{MarginMode, OptionType, Side, Snapshot};

/// The columns every position file has, in the order DESIGN §14 lists them.
pub const REQUIRED_COLUMNS: [&str; 5] = ["protocol", "account", "asset", "side", "amount"];
/// The optional lending e-mode column.
pub const EMODE_COLUMN: &str = "emode";
/// The optional CDP vault-type column.
pub const VAULT_TYPE_COLUMN: &str = "vault_type";
/// The optional derivative columns (DESIGN §14), in the order the writer writes them. See the
/// module documentation for the row grammar.
pub const DERIVATIVE_COLUMNS: [&str; 7] = [
    "instrument",
    "size",
    "entry_price",
    "strike",
    "expiry_days",
    "option_kind",
    "margin_mode",
];
/// The `instrument` of an option row; any other non-empty `instrument` is a perp market id.
pub const OPTION_INSTRUMENT: &str = "option";
/// At most this many row errors are listed per position file; the rest are counted in one summary.
pub const MAX_ROW_ERRORS: usize = 50;

const COL_PROTOCOL: usize = 0;
const COL_ACCOUNT: usize = 1;
const COL_ASSET: usize = 2;
const COL_SIDE: usize = 3;
const COL_AMOUNT: usize = 4;
const COL_EMODE: usize = 5;
const COL_VAULT_TYPE: usize = 6;
const COL_INSTRUMENT: usize = 7;
const COL_SIZE: usize = 8;
const COL_ENTRY_PRICE: usize = 9;
const COL_STRIKE: usize = 10;
const COL_EXPIRY_DAYS: usize = 11;
const COL_OPTION_KIND: usize = 12;
const COL_MARGIN_MODE: usize = 13;
/// Columns read, required and optional.
const N_COLUMNS: usize = 14;
const COLUMN_NAMES: [&str; N_COLUMNS] = [
    "protocol",
    "account",
    "asset",
    "side",
    "amount",
    EMODE_COLUMN,
    VAULT_TYPE_COLUMN,
    DERIVATIVE_COLUMNS[0],
    DERIVATIVE_COLUMNS[1],
    DERIVATIVE_COLUMNS[2],
    DERIVATIVE_COLUMNS[3],
    DERIVATIVE_COLUMNS[4],
    DERIVATIVE_COLUMNS[5],
    DERIVATIVE_COLUMNS[6],
];
/// The columns holding numbers (the rest hold strings).
const NUMBER_COLUMNS: [usize; 5] = [
    COL_AMOUNT,
    COL_SIZE,
    COL_ENTRY_PRICE,
    COL_STRIKE,
    COL_EXPIRY_DAYS,
];
/// What the header error messages list.
const COLUMNS_EXPECTED: &str = "protocol, account, asset, side, amount (and optionally emode, vault_type, instrument, size, entry_price, strike, expiry_days, option_kind, margin_mode)";

/// Rows per Arrow batch when reading Parquet.
const PARQUET_BATCH_ROWS: usize = 64 * 1024;
/// Decoded Parquet batches / parsed CSV chunks waiting for the row loader.
const PIPELINE_BATCHES: usize = 2;
/// CSV records per chunk handed from the parsing thread to the row loader.
const CSV_CHUNK_ROWS: usize = 4096;
/// A guess of the bytes per CSV row, to reserve capacity before the row count is known.
const CSV_BYTES_PER_ROW_GUESS: u64 = 48;
/// A guess of rows per account, to reserve account capacity from a row count.
const ROWS_PER_ACCOUNT_GUESS: usize = 3;

/// Loads the snapshot at `path` (TOML, or JSON if it ends in `.json`) and every position file it names
/// (paths relative to the snapshot's folder), then runs the checks that need all positions.
///
/// Fails if any error was found, with every finding; on success the warnings come with the snapshot.
/// [`Snapshot::source`] is `path` as given.
pub fn load_snapshot(path: &Path) -> Result<(Snapshot, Diagnostics), LoadError> {
    let file = path.display().to_string();
    let mut diags = Diagnostics::new();
    let fail = |diags: Diagnostics| Err(LoadError { diagnostics: diags });
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            diags.error(
                &file,
                Location::File,
                "",
                format!("cannot read the snapshot: {e}"),
            );
            return fail(diags);
        }
    };
    if bytes.is_empty() {
        diags.error(
            &file,
            Location::File,
            "",
            "empty file; expected a snapshot in TOML (or JSON if the name ends in .json)",
        );
        return fail(diags);
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..valid]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            diags.error(
                &file,
                Location::Line(u32::try_from(line).unwrap_or(u32::MAX)),
                "",
                format!(
                    "not valid UTF-8 text (at byte {valid}); expected a TOML or JSON text file"
                ),
            );
            return fail(diags);
        }
    };
    let Some(doc) = parse_snapshot(&text, Format::from_path(&file), &file, &mut diags) else {
        if !diags.has_errors() {
            diags.error(&file, Location::File, "", "the snapshot could not be read");
        }
        return fail(diags);
    };
    let mut snapshot = doc.snapshot;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut seen = HashSet::new();
    for (rel, line) in &doc.position_files {
        let loc = Location::Line(*line);
        if rel.trim().is_empty() {
            diags.error(
                &file,
                loc,
                "positions",
                "empty path; expected a position file path",
            );
            continue;
        }
        let p = dir.join(rel);
        if !seen.insert(p.clone()) {
            diags.error(
                &file,
                loc,
                "positions",
                format!("\"{rel}\" is listed twice; its positions would be counted twice"),
            );
            continue;
        }
        match fs::metadata(&p) {
            Ok(m) if m.is_file() => load_positions(&p, &mut snapshot, &mut diags),
            Ok(_) => diags.error(
                &file,
                loc,
                "positions",
                format!(
                    "\"{}\" is not a file; expected a CSV or Parquet position file",
                    p.display()
                ),
            ),
            Err(e) => diags.error(
                &file,
                loc,
                "positions",
                format!("position file \"{}\" cannot be read: {e}", p.display()),
            ),
        }
    }
    if diags.has_errors() {
        return fail(diags);
    }
    check_loaded(&snapshot, &mut diags);
    if diags.has_errors() {
        return fail(diags);
    }
    Ok((snapshot, diags))
}

/// Adds the positions of the CSV (`.csv`) or Parquet (`.parquet`, `.pq`) file at `path` to `snapshot`.
///
/// Every row is checked (known protocol and asset, `side` = `collateral` or `debt`, `amount` finite
/// and ≥ 0, the asset allowed on that side by the protocol); problems go to `diags`, naming the file,
/// the 1-based data row and the column. Rows with an error are not added. Accounts are keyed by
/// (protocol, account): the same pair in several rows or files is one account.
pub fn load_positions(path: &Path, snapshot: &mut Snapshot, diags: &mut Diagnostics) {
    let file = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("csv") => load_csv(path, &file, snapshot, diags),
        Some("parquet" | "pq") => load_parquet(path, &file, snapshot, diags),
        _ => diags.error(
            &file,
            Location::File,
            "",
            "unknown position file type; expected a name ending in .csv, .parquet or .pq",
        ),
    }
}

/// Where each known column sits in a file; `None` if absent.
struct ColumnMap {
    index: [Option<usize>; N_COLUMNS],
}

impl ColumnMap {
    /// Maps header names to columns, reporting missing required columns (errors) and duplicated or
    /// unknown ones (errors / warnings). `None` if a required column is missing.
    fn new<'n>(
        names: impl Iterator<Item = &'n str>,
        file: &str,
        diags: &mut Diagnostics,
    ) -> Option<ColumnMap> {
        let mut index = [None; N_COLUMNS];
        let mut ok = true;
        let mut ignored: Vec<String> = Vec::new();
        for (i, name) in names.enumerate() {
            match COLUMN_NAMES.iter().position(|c| *c == name) {
                Some(k) if index[k].is_some() => {
                    diags.error(
                        file,
                        Location::File,
                        name,
                        "the column appears twice; expected each column once",
                    );
                    ok = false;
                }
                Some(k) => index[k] = Some(i),
                None if ignored.iter().any(|n| n == name) => {}
                None => {
                    ignored.push(name.to_string());
                    diags.warning(
                        file,
                        Location::File,
                        name,
                        format!("column ignored by this version of cascade (it reads {COLUMNS_EXPECTED})"),
                    );
                }
            }
        }
        for (k, name) in REQUIRED_COLUMNS.iter().enumerate() {
            if index[k].is_none() {
                diags.error(
                    file,
                    Location::File,
                    *name,
                    format!("missing column; expected the columns {COLUMNS_EXPECTED}"),
                );
                ok = false;
            }
        }
        ok.then_some(ColumnMap { index })
    }
}

/// A number cell of a row, as found.
#[derive(Clone, Copy)]
enum Amount<'r> {
    Num(f64),
    /// Text that is not a number.
    Text(&'r str),
    Missing,
}

impl Amount<'_> {
    fn is_missing(&self) -> bool {
        matches!(self, Amount::Missing)
    }
    /// The cell as found, for messages: `= 1.5` or `= "abc"`.
    fn found(&self) -> String {
        match self {
            Amount::Num(x) => format!("= {x}"),
            Amount::Text(t) => format!("= \"{t}\""),
            Amount::Missing => "empty".to_string(),
        }
    }
}

/// The cells of one row; empty cells are `None` / [`Amount::Missing`].
struct Row<'r> {
    protocol: Option<&'r str>,
    account: Option<&'r str>,
    asset: Option<&'r str>,
    side: Option<&'r str>,
    amount: Amount<'r>,
    emode: Option<&'r str>,
    vault_type: Option<&'r str>,
    instrument: Option<&'r str>,
    size: Amount<'r>,
    entry_price: Amount<'r>,
    strike: Amount<'r>,
    expiry_days: Amount<'r>,
    option_kind: Option<&'r str>,
    margin_mode: Option<&'r str>,
}

/// What a valid row adds to its account.
enum Item {
    Spot(usize, Side, f64),
    /// Market index, signed size (tokens), entry price (USD).
    Perp(u16, f64, f64),
    /// Underlying, kind, strike (USD), expiry (days), signed size (options).
    Option(usize, OptionType, f64, f64, f64),
}

/// The most recent lookup of a string column, reused while consecutive rows repeat the value.
struct Last<T> {
    key: String,
    value: Option<T>,
}

impl<T: Clone> Last<T> {
    fn new() -> Self {
        Last {
            key: String::new(),
            value: None,
        }
    }
    fn get(&self, key: &str) -> Option<T> {
        match &self.value {
            Some(v) if self.key == key => Some(v.clone()),
            _ => None,
        }
    }
    fn set(&mut self, key: &str, value: T) {
        self.key.clear();
        self.key.push_str(key);
        self.value = Some(value);
    }
}

/// What [`Snapshot::check_position`] says: `Err` why not, `Ok(Some)` a warning.
type PositionCheck = Result<Option<String>, String>;

/// Validates rows and adds them to the snapshot; shared by the CSV and Parquet readers.
struct RowLoader<'a> {
    file: &'a str,
    s: &'a mut Snapshot,
    diags: &'a mut Diagnostics,
    /// Id → index; Fx hashing, since consecutive rows often alternate between a few assets.
    protocols: FxHashMap<String, usize>,
    assets: FxHashMap<String, usize>,
    last_protocol: Last<Option<usize>>,
    last_asset: Last<Option<usize>>,
    /// (protocol, account) → account index of the previous valid row.
    last_account: Option<(usize, String, u32)>,
    /// (protocol, e-mode id) → category index or why not.
    last_emode: Option<(usize, String, Result<u16, String>)>,
    /// (protocol, vault type id) → vault type index or why not.
    last_vault: Option<(usize, String, Result<Option<u16>, String>)>,
    /// CDP accounts seen in a row without a vault type while they had none: (account, first row).
    missing_vault: Vec<(u32, u64)>,
    /// Accounts given a margin mode by this file: account → (mode, first row).
    modes: FxHashMap<u32, (MarginMode, u64)>,
    /// The derivative rows added by this file, in row order: (account, row).
    derivative_rows: Vec<(u32, u64)>,
    /// Perp and option rows of the snapshot before this file.
    derivatives_before: (usize, usize),
    /// `check_position` per (protocol, asset, side), computed once; `bool` = warning reported.
    checks: Vec<Option<(PositionCheck, bool)>>,
    warned: HashSet<String>,
    errors: usize,
    more_rows: u64,
    rows: u64,
    /// The row count of the file (or a guess), for reservations.
    expected_rows: usize,
    /// Whether the account index of a protocol was reserved for this file.
    index_reserved: Vec<bool>,
    /// Errors of the current row not listed because of the cap.
    row_dropped: bool,
    row_bad: bool,
}

impl<'a> RowLoader<'a> {
    fn new(file: &'a str, s: &'a mut Snapshot, diags: &'a mut Diagnostics) -> Self {
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

    fn reserve(&mut self, rows: usize) {
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
    fn row_error(&mut self, row: u64, column: usize, message: impl FnOnce() -> String) {
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
    fn whole_row_error(&mut self, row: u64, message: String) {
        self.rows += 1;
        if self.errors < MAX_ROW_ERRORS {
            self.errors += 1;
            self.diags.error(self.file, Location::Row(row), "", message);
        } else {
            self.more_rows += 1;
        }
    }

    fn id_list<'x>(ids: impl Iterator<Item = &'x str>) -> String {
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

    fn protocol(&mut self, row: u64, v: Option<&str>) -> Option<usize> {
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

    fn asset(&mut self, row: u64, v: Option<&str>) -> Option<usize> {
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

    fn emode(&mut self, row: u64, protocol: usize, v: &str) -> Option<u16> {
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

    fn vault_type(&mut self, row: u64, protocol: usize, v: &str) -> Option<u16> {
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
    fn vault_type_name(&self, p: usize, v: u16) -> String {
        self.s.protocols[p]
            .cdp()
            .and_then(|c| c.vault_types.get(usize::from(v)))
            .map(|t| t.id.clone())
            .unwrap_or_default()
    }

    /// `check_position` for (protocol, asset, side), cached; reports its error or (once) its warning.
    fn check(&mut self, row: u64, protocol: usize, asset: usize, side: Side) -> bool {
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
    fn number(
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
    fn must_be_empty(&mut self, row: u64, r: &Row<'_>, columns: &[usize], kind: &str) {
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
    fn spot_item(&mut self, row: u64, protocol: Option<usize>, r: &Row<'_>) -> Option<Item> {
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

    /// The perp or option of a derivative row (`instrument` = a market id or `option`), validated as
    /// the snapshot's `perps` / `options` entries are.
    fn derivative_item(
        &mut self,
        row: u64,
        protocol: Option<usize>,
        instrument: &str,
        r: &Row<'_>,
    ) -> Option<Item> {
        let kind = if instrument == OPTION_INSTRUMENT {
            "an option row (instrument = \"option\")"
        } else {
            "a perp row (instrument = a market id)"
        };
        self.must_be_empty(row, r, &[COL_SIDE, COL_AMOUNT], kind);
        let p = protocol?;
        // The market (for a perp row) or why not, worked out before any error is reported.
        let market: Result<Option<u16>, String> = {
            let pr = &self.s.protocols[p];
            match pr.clearinghouse() {
                None => Err(format!("= \"{instrument}\", but protocol \"{}\" is of kind \"{}\": only a clearinghouse's accounts hold derivatives; expected an empty cell (a spot row)", pr.id, pr.kind.name())),
                Some(_) if instrument == OPTION_INSTRUMENT => Ok(None),
                Some(ch) => match ch.market_idx(instrument) {
                    Some(m) => Ok(u16::try_from(m).ok()),
                    None => Err(format!(
                        "unknown market \"{instrument}\" in protocol \"{}\"; expected \"{OPTION_INSTRUMENT}\" or one of its markets: {}",
                        pr.id,
                        Self::id_list(ch.markets.iter().map(|m| m.id.as_str()))
                    )),
                },
            }
        };
        if let Err(msg) = &market {
            if self.s.protocols[p].clearinghouse().is_none() {
                self.row_error(row, COL_INSTRUMENT, || msg.clone());
                return None;
            }
        }
        let size = self.number(row, COL_SIZE, r.size, |_| true, "a finite signed size");
        if instrument != OPTION_INSTRUMENT {
            let market = match market {
                Ok(m) => m,
                Err(msg) => {
                    self.row_error(row, COL_INSTRUMENT, || msg);
                    None
                }
            };
            let entry = self.number(
                row,
                COL_ENTRY_PRICE,
                r.entry_price,
                |x| x > 0.0,
                "an entry price > 0 USD",
            );
            self.must_be_empty(
                row,
                r,
                &[COL_ASSET, COL_STRIKE, COL_EXPIRY_DAYS, COL_OPTION_KIND],
                kind,
            );
            return Some(Item::Perp(market?, size?, entry?));
        }
        let underlying = match self.asset(row, r.asset) {
            Some(a) => {
                let ch = self.s.protocols[p].clearinghouse()?;
                if ch.options.smile_of(a).is_some() {
                    Some(a)
                } else {
                    let list = Self::id_list(
                        ch.options
                            .smile
                            .iter()
                            .map(|m| self.s.assets[m.underlying].id.as_str()),
                    );
                    let (id, u) = (self.s.protocols[p].id.clone(), self.s.assets[a].id.clone());
                    self.row_error(row, COL_ASSET, || {
                        format!("= \"{u}\", which has no volatility smile in protocol \"{id}\"; expected an underlying with a smile: {list}")
                    });
                    None
                }
            }
            None => None,
        };
        let option_kind = match r.option_kind {
            Some(v) => {
                let k = OptionType::parse(v);
                if k.is_none() {
                    self.row_error(row, COL_OPTION_KIND, || {
                        format!("= \"{v}\", expected \"call\" or \"put\"")
                    });
                }
                k
            }
            None => {
                self.row_error(row, COL_OPTION_KIND, || {
                    "empty; expected \"call\" or \"put\"".to_string()
                });
                None
            }
        };
        let strike = self.number(row, COL_STRIKE, r.strike, |x| x > 0.0, "a strike > 0 USD");
        let expiry = self.number(
            row,
            COL_EXPIRY_DAYS,
            r.expiry_days,
            |x| x > 0.0,
            "an expiry > 0 days",
        );
        self.must_be_empty(row, r, &[COL_ENTRY_PRICE], kind);
        Some(Item::Option(
            underlying?,
            option_kind?,
            strike?,
            expiry?,
            size?,
        ))
    }

    /// The margin mode cell of a row of `protocol`.
    fn margin_mode(&mut self, row: u64, protocol: usize, v: &str) -> Option<MarginMode> {
        let p = &self.s.protocols[protocol];
        if p.clearinghouse().is_none() {
            let (id, k) = (p.id.clone(), p.kind.name());
            self.row_error(row, COL_MARGIN_MODE, || {
                format!("= \"{v}\", but protocol \"{id}\" is of kind \"{k}\": only a clearinghouse's accounts have a margin mode; expected an empty cell")
            });
            return None;
        }
        let m = MarginMode::parse(v);
        if m.is_none() {
            self.row_error(row, COL_MARGIN_MODE, || {
                format!("= \"{v}\", expected one of: cross, isolated, portfolio")
            });
        }
        m
    }

    /// The account index of (`p`, `acc`), created if new.
    fn account(&mut self, p: usize, acc: &str) -> u32 {
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
    fn row(&mut self, row: u64, r: Row<'_>) {
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

    /// Gives account `ai` margin mode `m` from `row`; `false` (with the error) if an earlier row of
    /// this file gave it another, or the snapshot or an earlier file made it other than cross (the
    /// default, which a cell may override).
    fn set_margin_mode(&mut self, row: u64, ai: u32, acc: &str, m: MarginMode) -> bool {
        let conflict = match self.modes.get(&ai) {
            Some(&(prev, prev_row)) => (prev != m).then(|| {
                format!(
                    "= \"{}\", but row {prev_row} gives account \"{acc}\" margin_mode \"{}\"; expected one margin mode per account",
                    m.name(),
                    prev.name()
                )
            }),
            None => {
                let slot = self.s.accounts.margin_mode[ai as usize];
                (slot != MarginMode::Cross && slot != m).then(|| {
                    format!(
                        "= \"{}\", but account \"{acc}\" is already in margin mode \"{}\" (the snapshot or an earlier file); expected one margin mode per account",
                        m.name(),
                        slot.name()
                    )
                })
            }
        };
        if let Some(msg) = conflict {
            self.row_error(row, COL_MARGIN_MODE, || msg);
            return false;
        }
        self.modes.entry(ai).or_insert((m, row));
        self.s.accounts.margin_mode[ai as usize] = m;
        true
    }

    /// Reports every isolated account that now holds more than one derivative position, at the row
    /// of this file that added its second one (or, if its positions came before this file, at the row
    /// that made it isolated).
    fn check_isolated(&mut self) {
        let isolated_here = self.modes.values().any(|(m, _)| *m == MarginMode::Isolated);
        if self.derivative_rows.is_empty() && !isolated_here {
            return;
        }
        let (perps, options) = self.derivatives_before;
        let mut count = vec![0u32; self.s.accounts.len()];
        for &a in self.s.perps.account[..perps]
            .iter()
            .chain(&self.s.options.account[..options])
        {
            count[a as usize] += 1;
        }
        let mut reported: HashSet<u32> = HashSet::new();
        let mut found: Vec<(u64, usize, u32)> = Vec::new();
        for &(ai, row) in &self.derivative_rows {
            count[ai as usize] += 1;
            if count[ai as usize] == 2
                && self.s.accounts.margin_mode[ai as usize] == MarginMode::Isolated
                && reported.insert(ai)
            {
                found.push((row, COL_INSTRUMENT, ai));
            }
        }
        for (&ai, &(m, row)) in &self.modes {
            if m == MarginMode::Isolated && count[ai as usize] > 1 && reported.insert(ai) {
                found.push((row, COL_MARGIN_MODE, ai));
            }
        }
        found.sort_unstable();
        for (row, column, ai) in found {
            let acc = self.s.accounts.id[ai as usize].clone();
            let n = count[ai as usize];
            self.row_bad = false;
            self.row_error(row, column, || {
                format!("account \"{acc}\" is isolated and holds {n} derivative positions (this file, earlier files and the snapshot); expected one: put each isolated position in its own account")
            });
            if self.row_dropped {
                self.more_rows += 1;
                self.row_dropped = false;
            }
        }
    }

    fn begin_row(&mut self) {
        self.rows += 1;
        self.row_bad = false;
        self.row_dropped = false;
    }

    fn end_row(&mut self) {
        if self.row_dropped {
            self.more_rows += 1;
        }
    }

    /// Reports an empty table, CDP accounts left without a vault type, and the error summary.
    fn finish(mut self) {
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

fn file_len(path: &Path, file: &str, diags: &mut Diagnostics) -> Option<(File, u64)> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            diags.error(file, Location::File, "", format!("cannot open: {e}"));
            return None;
        }
    };
    let len = match f.metadata() {
        Ok(m) => m.len(),
        Err(e) => {
            diags.error(file, Location::File, "", format!("cannot read: {e}"));
            return None;
        }
    };
    if len == 0 {
        diags.error(
            file,
            Location::File,
            "",
            "empty file (0 bytes); expected a header and position rows",
        );
        return None;
    }
    Some((f, len))
}

fn load_csv(path: &Path, file: &str, s: &mut Snapshot, diags: &mut Diagnostics) {
    let Some((f, len)) = file_len(path, file, diags) else {
        return;
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(true)
        .buffer_capacity(1 << 18)
        .from_reader(f);
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            diags.error(
                file,
                Location::Row(0),
                "",
                format!("cannot read the header: {e}"),
            );
            return;
        }
    };
    let mut names = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let h = if i == 0 {
            h.strip_prefix("\u{feff}".as_bytes()).unwrap_or(h)
        } else {
            h
        };
        match std::str::from_utf8(h) {
            Ok(n) => names.push(n),
            Err(_) => {
                diags.error(
                    file,
                    Location::Row(0),
                    "",
                    format!("header column {} is not valid UTF-8", i + 1),
                );
                return;
            }
        }
    }
    if names.len() == 1 && names[0].is_empty() {
        diags.error(
            file,
            Location::Row(0),
            "",
            format!("empty header; expected the columns {COLUMNS_EXPECTED}"),
        );
        return;
    }
    let Some(cols) = ColumnMap::new(names.iter().copied(), file, diags) else {
        return;
    };
    let width = names.len();
    let mut loader = RowLoader::new(file, s, diags);
    loader.reserve(usize::try_from(len / CSV_BYTES_PER_ROW_GUESS).unwrap_or(0));
    // Parsing runs on a second thread, a chunk of records ahead of the row loader; emptied chunks
    // go back to be refilled.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<CsvChunk>(PIPELINE_BATCHES);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<csv::ByteRecord>>();
        scope.spawn(move || loop {
            let mut records = back_rx.try_recv().unwrap_or_default();
            records.resize_with(CSV_CHUNK_ROWS, csv::ByteRecord::new);
            let mut n = 0;
            let mut error = None;
            while n < CSV_CHUNK_ROWS {
                match rdr.read_byte_record(&mut records[n]) {
                    Ok(true) => n += 1,
                    Ok(false) => break,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            let last = n < CSV_CHUNK_ROWS;
            if tx.send(CsvChunk { records, n, error }).is_err() || last {
                break;
            }
        });
        let mut row = 0u64;
        for chunk in rx {
            for rec in &chunk.records[..chunk.n] {
                row += 1;
                csv_row(&mut loader, &cols, width, row, rec);
            }
            if let Some(e) = chunk.error {
                loader.whole_row_error(row + 1, format!("cannot read the row: {e}"));
                break;
            }
            let _ = back_tx.send(chunk.records);
        }
    });
    loader.finish();
}

/// Records parsed ahead: the first `n` of `records`, then the error that stopped parsing, if any.
struct CsvChunk {
    records: Vec<csv::ByteRecord>,
    n: usize,
    error: Option<csv::Error>,
}

fn csv_row(
    loader: &mut RowLoader,
    cols: &ColumnMap,
    width: usize,
    row: u64,
    rec: &csv::ByteRecord,
) {
    if rec.len() != width {
        loader.whole_row_error(
            row,
            format!(
                "found {} fields, expected {width} as in the header",
                rec.len()
            ),
        );
        return;
    }
    let mut cells: [Option<&str>; N_COLUMNS] = [None; N_COLUMNS];
    let mut bad_utf8 = [false; N_COLUMNS];
    for (k, cell) in cells.iter_mut().enumerate() {
        let Some(i) = cols.index[k] else { continue };
        match std::str::from_utf8(rec.get(i).unwrap_or_default()) {
            Ok("") => {}
            Ok(v) => *cell = Some(v),
            Err(_) => bad_utf8[k] = true,
        }
    }
    if bad_utf8.contains(&true) {
        loader.begin_row();
        for k in (0..N_COLUMNS).filter(|&k| bad_utf8[k]) {
            loader.row_error(row, k, || "not valid UTF-8 text".to_string());
        }
        loader.end_row();
        return;
    }
    let num = |k: usize| match cells[k] {
        None => Amount::Missing,
        Some(t) => match t.parse::<f64>() {
            Ok(x) => Amount::Num(x),
            Err(_) => Amount::Text(t),
        },
    };
    loader.row(
        row,
        Row {
            protocol: cells[COL_PROTOCOL],
            account: cells[COL_ACCOUNT],
            asset: cells[COL_ASSET],
            side: cells[COL_SIDE],
            amount: num(COL_AMOUNT),
            emode: cells[COL_EMODE],
            vault_type: cells[COL_VAULT_TYPE],
            instrument: cells[COL_INSTRUMENT],
            size: num(COL_SIZE),
            entry_price: num(COL_ENTRY_PRICE),
            strike: num(COL_STRIKE),
            expiry_days: num(COL_EXPIRY_DAYS),
            option_kind: cells[COL_OPTION_KIND],
            margin_mode: cells[COL_MARGIN_MODE],
        },
    );
}

/// A string column of any of the accepted Arrow layouts.
enum StrCol<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
    /// A dictionary, its values resolved once per batch (empty and null values as `None`); null
    /// keys point to an extra `None` at the end of `values`.
    Dict {
        keys: Vec<usize>,
        values: Vec<Option<&'a str>>,
    },
    AllNull,
}

impl<'a> StrCol<'a> {
    fn new(a: &'a dyn Array) -> Option<StrCol<'a>> {
        if let Some(x) = a.as_string_opt::<i32>() {
            return Some(StrCol::Utf8(x));
        }
        if let Some(x) = a.as_string_opt::<i64>() {
            return Some(StrCol::Large(x));
        }
        if let Some(x) = a.as_string_view_opt() {
            return Some(StrCol::View(x));
        }
        let d = a.as_any_dictionary_opt()?;
        let values = d.values();
        if values.is_empty() {
            return Some(StrCol::AllNull);
        }
        let inner = StrCol::new(values.as_ref())?;
        if matches!(inner, StrCol::Dict { .. }) {
            return None;
        }
        let mut resolved: Vec<Option<&str>> = (0..values.len()).map(|i| inner.get(i)).collect();
        resolved.push(None);
        let mut keys = d.normalized_keys();
        if let Some(nulls) = d.keys().logical_nulls() {
            for (i, k) in keys.iter_mut().enumerate() {
                if nulls.is_null(i) {
                    *k = values.len();
                }
            }
        }
        Some(StrCol::Dict {
            keys,
            values: resolved,
        })
    }

    /// The cell at `i`; null and empty cells are `None`.
    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        let v = match self {
            StrCol::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::Dict { keys, values } => return values.get(keys[i]).copied().flatten(),
            StrCol::AllNull => None,
        };
        v.filter(|s| !s.is_empty())
    }
}

/// A numeric column of any of the accepted Arrow types.
enum NumCol<'a> {
    F64(&'a Float64Array),
    F32(&'a Float32Array),
    I64(&'a Int64Array),
    I32(&'a Int32Array),
}

impl<'a> NumCol<'a> {
    fn new(a: &'a dyn Array) -> Option<NumCol<'a>> {
        if let Some(x) = a.as_primitive_opt::<Float64Type>() {
            return Some(NumCol::F64(x));
        }
        if let Some(x) = a.as_primitive_opt::<Float32Type>() {
            return Some(NumCol::F32(x));
        }
        if let Some(x) = a.as_primitive_opt::<Int64Type>() {
            return Some(NumCol::I64(x));
        }
        a.as_primitive_opt::<Int32Type>().map(NumCol::I32)
    }

    fn get(&self, i: usize) -> Option<f64> {
        match self {
            NumCol::F64(a) => (!a.is_null(i)).then(|| a.value(i)),
            NumCol::F32(a) => (!a.is_null(i)).then(|| f64::from(a.value(i))),
            NumCol::I64(a) => (!a.is_null(i)).then(|| a.value(i) as f64),
            NumCol::I32(a) => (!a.is_null(i)).then(|| f64::from(a.value(i))),
        }
    }
}

fn is_string_type(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => {
            matches!(
                v.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        _ => false,
    }
}

fn is_amount_type(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Float64 | DataType::Float32 | DataType::Int64 | DataType::Int32
    )
}

fn load_parquet(path: &Path, file: &str, s: &mut Snapshot, diags: &mut Diagnostics) {
    let Some((f, len)) = file_len(path, file, diags) else {
        return;
    };
    // The Parquet reader panics on some corrupt files instead of failing; such a panic becomes an
    // error here like any other.
    let builder = match catch_unwind(|| ParquetRecordBatchReaderBuilder::try_new(f)) {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            diags.error(
                file,
                Location::File,
                "",
                format!("not a readable Parquet file ({e}); expected a Parquet file of positions"),
            );
            return;
        }
        Err(p) => {
            diags.error(file, Location::File, "", corrupt(p));
            return;
        }
    };
    let schema = builder.schema().clone();
    let Some(cols) = ColumnMap::new(
        schema.fields().iter().map(|f| f.name().as_str()),
        file,
        diags,
    ) else {
        return;
    };
    let mut types_ok = true;
    for (k, idx) in cols.index.iter().enumerate() {
        let Some(i) = *idx else { continue };
        let t = schema.field(i).data_type();
        let (ok, expected) = if NUMBER_COLUMNS.contains(&k) {
            (
                is_amount_type(t),
                "a number column (Float64, Float32, Int64 or Int32)",
            )
        } else {
            (
                is_string_type(t),
                "a string column (Utf8, LargeUtf8, Utf8View or a dictionary of Utf8)",
            )
        };
        if !ok {
            diags.error(
                file,
                Location::File,
                COLUMN_NAMES[k],
                format!("the column is stored as {t}; expected {expected}"),
            );
            types_ok = false;
        }
    }
    if !types_ok {
        return;
    }
    // The row count from the footer, bounded by the file size so that a corrupt footer cannot ask
    // for an absurd reservation.
    let total_rows = usize::try_from(builder.metadata().file_metadata().num_rows().max(0))
        .unwrap_or(0)
        .min(usize::try_from(len).unwrap_or(usize::MAX));
    // Project onto the columns read; their order in a batch is their order in the file.
    let mut wanted: Vec<usize> = cols.index.iter().flatten().copied().collect();
    wanted.sort_unstable();
    let mut batch_index = [None; N_COLUMNS];
    for (k, idx) in cols.index.iter().enumerate() {
        if let Some(i) = idx {
            batch_index[k] = wanted.iter().position(|w| w == i);
        }
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader = match catch_unwind(|| {
        builder
            .with_projection(mask)
            .with_batch_size(PARQUET_BATCH_ROWS)
            .build()
    }) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            diags.error(file, Location::File, "", format!("cannot read: {e}"));
            return;
        }
        Err(p) => {
            diags.error(file, Location::File, "", corrupt(p));
            return;
        }
    };
    let mut loader = RowLoader::new(file, s, diags);
    loader.reserve(total_rows);
    // Decoding runs one batch ahead on a second thread while this one validates and inserts rows.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(PIPELINE_BATCHES);
        let decoder = scope.spawn(move || {
            for b in reader {
                if tx.send(b).is_err() {
                    break;
                }
            }
        });
        // A decoder panic closes the channel, which ends the rows here.
        let rows = load_batches(&mut loader, rx, &batch_index, file);
        if let Err(p) = decoder.join() {
            loader.diags.error(
                file,
                Location::Row(rows + 1),
                "",
                format!("{} (after {rows} rows)", corrupt(p)),
            );
        }
    });
    loader.finish();
}

fn catch_unwind<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
}

/// The message for a panic of the Parquet reader.
fn corrupt(payload: Box<dyn std::any::Any + Send>) -> String {
    let why = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("unknown failure");
    format!("the Parquet reader failed ({why}); the file is corrupt, expected a valid Parquet file")
}

/// Feeds the rows of `batches` (columns at `batch_index`) to `loader`.
fn load_batches(
    loader: &mut RowLoader,
    batches: impl IntoIterator<Item = Result<RecordBatch, ArrowError>>,
    batch_index: &[Option<usize>; N_COLUMNS],
    file: &str,
) -> u64 {
    let mut row = 0u64;
    for batch in batches {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                loader.diags.error(
                    file,
                    Location::Row(row + 1),
                    "",
                    format!("cannot read the rows from here on: {e}"),
                );
                break;
            }
        };
        let col = |k: usize| batch_index[k].map(|i| batch.column(i).as_ref());
        let strs: [Option<StrCol>; N_COLUMNS] = std::array::from_fn(|k| {
            if NUMBER_COLUMNS.contains(&k) {
                None
            } else {
                col(k).and_then(StrCol::new)
            }
        });
        let nums: [Option<NumCol>; N_COLUMNS] = std::array::from_fn(|k| {
            if NUMBER_COLUMNS.contains(&k) {
                col(k).and_then(NumCol::new)
            } else {
                None
            }
        });
        let (Some(protocol), Some(account), Some(asset), Some(side), Some(amount)) = (
            &strs[COL_PROTOCOL],
            &strs[COL_ACCOUNT],
            &strs[COL_ASSET],
            &strs[COL_SIDE],
            &nums[COL_AMOUNT],
        ) else {
            loader.diags.error(
                file,
                Location::Row(row + 1),
                "",
                "a batch's column types differ from the file schema",
            );
            break;
        };
        let opt_str = |k: usize, i: usize| strs[k].as_ref().and_then(|c| c.get(i));
        let opt_num = |k: usize, i: usize| {
            nums[k]
                .as_ref()
                .and_then(|c| c.get(i))
                .map_or(Amount::Missing, Amount::Num)
        };
        for i in 0..batch.num_rows() {
            row += 1;
            loader.row(
                row,
                Row {
                    protocol: protocol.get(i),
                    account: account.get(i),
                    asset: asset.get(i),
                    side: side.get(i),
                    amount: amount.get(i).map_or(Amount::Missing, Amount::Num),
                    emode: opt_str(COL_EMODE, i),
                    vault_type: opt_str(COL_VAULT_TYPE, i),
                    instrument: opt_str(COL_INSTRUMENT, i),
                    size: opt_num(COL_SIZE, i),
                    entry_price: opt_num(COL_ENTRY_PRICE, i),
                    strike: opt_num(COL_STRIKE, i),
                    expiry_days: opt_num(COL_EXPIRY_DAYS, i),
                    option_kind: opt_str(COL_OPTION_KIND, i),
                    margin_mode: opt_str(COL_MARGIN_MODE, i),
                },
            );
        }
    }
    row
}
