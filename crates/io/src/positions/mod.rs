//! Reading CSV/Parquet position files into a snapshot (docs/formats.md#position-files).
//!
//! Every problem is reported as a [`Diagnostic`](crate::Diagnostic) naming the file, the 1-based data
//! row and the column; loading goes on after a problem so that one run reports them all (up to
//! [`MAX_ROW_ERRORS`] per position file).
//!
//! Position files have the columns `protocol, account, asset, side, amount` and optionally `emode`
//! (a lending e-mode category id; empty or null = none) and `vault_type` (a CDP vault type id; every
//! CDP account needs one, in at least one of its rows or its `[[account]]` table). Other columns are
//! reported once each as ignored by this version.
//!
//! # Derivative rows (docs/clearinghouse.md, docs/formats.md)
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

use std::fs::File;
use std::path::Path;

use crate::problem::Problem;
use crate::{Diagnostics, Location};
use cascade_model::Snapshot;

mod columns;
mod csv;
mod derivatives;
mod groups;
mod parquet;
mod rows;

/// The columns every position file has, in the order docs/formats.md lists them.
pub const REQUIRED_COLUMNS: [&str; 5] = ["protocol", "account", "asset", "side", "amount"];
/// The optional lending e-mode column.
pub const EMODE_COLUMN: &str = "emode";
/// The optional CDP vault-type column.
pub const VAULT_TYPE_COLUMN: &str = "vault_type";
/// The optional derivative columns (docs/formats.md), in the order the writer writes them. See the
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

/// The index of column `name` in [`COLUMN_NAMES`] (a misspelt name fails the build).
const fn col(name: &str) -> usize {
    let mut k = 0;
    while k < N_COLUMNS {
        let (a, b) = (COLUMN_NAMES[k].as_bytes(), name.as_bytes());
        let mut same = a.len() == b.len();
        let mut i = 0;
        while same && i < a.len() {
            same = a[i] == b[i];
            i += 1;
        }
        if same {
            return k;
        }
        k += 1;
    }
    panic!("not a position-file column")
}

const COL_PROTOCOL: usize = col("protocol");
const COL_ACCOUNT: usize = col("account");
const COL_ASSET: usize = col("asset");
const COL_SIDE: usize = col("side");
const COL_AMOUNT: usize = col("amount");
const COL_EMODE: usize = col("emode");
const COL_VAULT_TYPE: usize = col("vault_type");
const COL_INSTRUMENT: usize = col("instrument");
const COL_SIZE: usize = col("size");
const COL_ENTRY_PRICE: usize = col("entry_price");
const COL_STRIKE: usize = col("strike");
const COL_EXPIRY_DAYS: usize = col("expiry_days");
const COL_OPTION_KIND: usize = col("option_kind");
const COL_MARGIN_MODE: usize = col("margin_mode");
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

/// The kinds of position file, told by the name's extension.
enum Kind {
    Csv,
    Parquet,
}

/// The kind of position file `file` names; an error in `diags` if none.
fn kind_of(file: &str, diags: &mut Diagnostics) -> Option<Kind> {
    let ext = Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("csv") => Some(Kind::Csv),
        Some("parquet" | "pq") => Some(Kind::Parquet),
        _ => {
            diags.error(
                file,
                Location::File,
                "",
                Problem::Rule(
                    "unknown position file type; expected a name ending in .csv, .parquet or .pq"
                        .into(),
                ),
            );
            None
        }
    }
}

/// An error in `diags` if the file is empty.
fn not_empty(file: &str, len: u64, diags: &mut Diagnostics) -> bool {
    if len == 0 {
        diags.error(
            file,
            Location::File,
            "",
            Problem::EmptyFile {
                expected: "a header and position rows".into(),
            },
        );
    }
    len > 0
}

/// How the row loader finds the account of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountLookup {
    /// Each new account is looked up in the snapshot's account index: an account's rows may be
    /// anywhere, in this file or others.
    Indexed,
    /// A row whose (protocol, account) differs from the previous valid row's starts a new account,
    /// and the index is built once the file is read (far fewer cache misses than one lookup per
    /// account). Only for a snapshot with no accounts yet; if an account's rows turn out not to be
    /// together, the file is read again [`AccountLookup::Indexed`].
    Deferred,
}

/// The lookup to start a file with: deferred while the snapshot holds no account or position.
fn first_lookup(s: &Snapshot) -> AccountLookup {
    let empty = s.accounts.is_empty()
        && s.positions.is_empty()
        && s.perps.is_empty()
        && s.options.is_empty();
    if empty {
        AccountLookup::Deferred
    } else {
        AccountLookup::Indexed
    }
}

/// After a deferred read whose accounts' rows were not together (the index could not be built):
/// drops what the read added, so that the file can be read again looking each account up.
fn undo_deferred(s: &mut Snapshot, diags: &mut Diagnostics, mark: usize) -> bool {
    if s.accounts.id.is_indexed() {
        return false;
    }
    diags.items.truncate(mark);
    s.accounts = Default::default();
    s.positions = Default::default();
    s.perps = Default::default();
    s.options = Default::default();
    true
}

/// Adds the positions of the CSV (`.csv`) or Parquet (`.parquet`, `.pq`) file at `path` to `snapshot`.
///
/// Every row is checked (known protocol and asset, `side` = `collateral` or `debt`, `amount` finite
/// and ≥ 0, the asset allowed on that side by the protocol); problems go to `diags`, naming the file,
/// the 1-based data row and the column. Rows with an error are not added. Accounts are keyed by
/// (protocol, account): the same pair in several rows or files is one account.
pub fn load_positions(path: &Path, snapshot: &mut Snapshot, diags: &mut Diagnostics) {
    let file = path.display().to_string();
    let Some(kind) = kind_of(&file, diags) else {
        return;
    };
    read_with_lookups(snapshot, diags, |snapshot, diags, lookup| {
        let opened = File::open(path).and_then(|f| f.metadata().map(|m| (f, m.len())));
        let (f, len) = match opened {
            Ok(x) => x,
            Err(e) => {
                let detail = e.to_string();
                diags.error(&file, Location::File, "", Problem::Unreadable { detail });
                return;
            }
        };
        if !not_empty(&file, len, diags) {
            return;
        }
        match kind {
            Kind::Csv => csv::load_csv(&file, f, len, snapshot, diags, lookup),
            Kind::Parquet => {
                let reopen = || File::open(path);
                parquet::load_parquet(&file, f, &reopen, len, snapshot, diags, lookup)
            }
        }
    });
}

/// Reads a file with `read`: deferring the account index when the snapshot allows it, and again
/// looking each account up if that read could not index its accounts (see [`AccountLookup`]).
fn read_with_lookups(
    snapshot: &mut Snapshot,
    diags: &mut Diagnostics,
    mut read: impl FnMut(&mut Snapshot, &mut Diagnostics, AccountLookup),
) {
    let mark = diags.items.len();
    let first = first_lookup(snapshot);
    read(snapshot, diags, first);
    if first == AccountLookup::Deferred && undo_deferred(snapshot, diags, mark) {
        read(snapshot, diags, AccountLookup::Indexed);
    }
}

/// As [`load_positions`], from the bytes of a position file named `file` (its extension says CSV or
/// Parquet): for position files that are not on disk, and for fuzzing.
pub fn read_positions(
    file: &str,
    bytes: Vec<u8>,
    snapshot: &mut Snapshot,
    diags: &mut Diagnostics,
) {
    let Some(kind) = kind_of(file, diags) else {
        return;
    };
    let len = bytes.len() as u64;
    if !not_empty(file, len, diags) {
        return;
    }
    let bytes = bytes::Bytes::from(bytes);
    read_with_lookups(snapshot, diags, |snapshot, diags, lookup| match kind {
        Kind::Csv => csv::load_csv(file, &bytes[..], len, snapshot, diags, lookup),
        Kind::Parquet => {
            let reopen = || Ok(bytes.clone());
            parquet::load_parquet(file, bytes.clone(), &reopen, len, snapshot, diags, lookup)
        }
    });
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
    /// The cell as found, for messages (`1.5` or `"abc"`); `None` if empty.
    fn found(&self) -> Option<String> {
        match self {
            Amount::Num(x) => Some(crate::problem::fmt_number(*x)),
            Amount::Text(t) => Some(format!("\"{t}\"")),
            Amount::Missing => None,
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
