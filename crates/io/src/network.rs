//! Reading financial networks from CSV files (docs/formats.md#networks, docs/contagion.md): interbank
//! liabilities and external balance sheets for clearing, exposures and equity for DebtRank.
//!
//! | file | header | meaning |
//! |---|---|---|
//! | liabilities (sparse) | `debtor,creditor,amount` | `L[debtor][creditor] += amount`; duplicate edges add up |
//! | liabilities (dense) | `,n1,n2,...` then rows `ni,a,b,...` | `L[ni][nj]`; told by an empty first header cell |
//! | external assets | `node,external_assets[,external_liabilities]` | one row per node |
//! | exposures | `creditor,debtor,amount` | the creditor loses if the debtor is distressed; duplicates add up |
//! | equity | `node,equity[,weight]` | one row per node; weight defaults to the equity |
//!
//! Nodes are named by any string and indexed in order of first appearance across the files read into
//! one [`NetworkTables`]. Every amount is finite and ≥ 0; empty optional cells take their default.
//! Every problem of a file is reported (up to [`crate::positions::MAX_ROW_ERRORS`], then counted),
//! naming the file, the 1-based data row (the header is row 0) and the column. A node of the network
//! without a row in the external-assets (or equity) file is an error, not a silent 0.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::diag::{Diagnostics, LoadError, Location};
use crate::problem::{NameKind, Problem};
use crate::row_errors::RowErrors;

const EXPECTED_AMOUNT: &str = "a finite number ≥ 0";

/// The four kinds of network file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkFile {
    /// `debtor,creditor,amount`, or dense `,n1,n2,...`.
    Liabilities,
    /// `node,external_assets[,external_liabilities]`.
    ExternalAssets,
    /// `creditor,debtor,amount`.
    Exposures,
    /// `node,equity[,weight]`.
    Equity,
}

impl NetworkFile {
    /// The columns of its header (the last optional for one-row-per-node files).
    pub fn columns(self) -> [&'static str; 3] {
        match self {
            NetworkFile::Liabilities => ["debtor", "creditor", "amount"],
            NetworkFile::ExternalAssets => ["node", "external_assets", "external_liabilities"],
            NetworkFile::Exposures => ["creditor", "debtor", "amount"],
            NetworkFile::Equity => ["node", "equity", "weight"],
        }
    }

    /// Its header as messages show it.
    fn header(self) -> String {
        let [a, b, c] = self.columns();
        match self {
            NetworkFile::Liabilities | NetworkFile::Exposures => format!("{a},{b},{c}"),
            _ => format!("{a},{b}[,{c}]"),
        }
    }
}

/// A network's tables as read: nodes, edges and balance sheets, node indices into `names`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkTables {
    /// Node names; a node's index is its position.
    pub names: Vec<String>,
    index: HashMap<String, usize>,
    /// Where each node was first named: (index into `files`, row); `None` if added in memory.
    origin: Vec<Option<(usize, u64)>>,
    files: Vec<String>,
    /// `(debtor, creditor, amount)`.
    pub liabilities: Vec<(usize, usize, f64)>,
    /// Per node: `(external_assets, external_liabilities)` if given.
    pub external: Vec<Option<(f64, f64)>>,
    /// `(creditor, debtor, amount)`.
    pub exposures: Vec<(usize, usize, f64)>,
    /// Per node: `(equity, weight)` if given (`None` weight: the equity).
    pub equity: Vec<Option<(f64, Option<f64>)>>,
}

impl NetworkTables {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of nodes so far.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of node `name`, adding it if new.
    pub fn node(&mut self, name: &str) -> usize {
        self.node_at(name, None)
    }

    fn node_at(&mut self, name: &str, origin: Option<(usize, u64)>) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        self.origin.push(origin);
        i
    }

    /// Sets node `node`'s external assets and external liabilities (not checked: callers judge the
    /// amounts).
    pub fn set_external(&mut self, node: usize, assets: f64, liabilities: f64) {
        grow(&mut self.external, node);
        self.external[node] = Some((assets, liabilities));
    }

    /// Sets node `node`'s equity and economic value (`None`: the equity); not checked.
    pub fn set_equity(&mut self, node: usize, equity: f64, weight: Option<f64>) {
        grow(&mut self.equity, node);
        self.equity[node] = Some((equity, weight));
    }

    fn file_index(&mut self, file: &str) -> usize {
        match self.files.iter().position(|f| f == file) {
            Some(i) => i,
            None => {
                self.files.push(file.to_string());
                self.files.len() - 1
            }
        }
    }

    /// Reads the network file of kind `kind` at `path`.
    pub fn read(&mut self, kind: NetworkFile, path: &Path) -> Result<(), LoadError> {
        read_path(path, |file, r| self.read_from(kind, file, r))
    }

    /// As [`NetworkTables::read`], from any reader; `file` names it in messages.
    pub fn read_from(
        &mut self,
        kind: NetworkFile,
        file: &str,
        reader: impl Read,
    ) -> Result<(), LoadError> {
        let mut diags = Diagnostics::new();
        let mut t = Table::new(file, reader, &mut diags);
        let f = self.file_index(file);
        let cols = kind.columns();
        if let Some(header) = t.header(&kind.header()) {
            let dense = header.first().is_some_and(String::is_empty);
            match kind {
                NetworkFile::Liabilities if dense => self.dense_liabilities(&mut t, &header, f),
                NetworkFile::Liabilities | NetworkFile::Exposures => {
                    if t.expect_header(&header, &cols, 0) {
                        self.edges(kind, &mut t, f);
                    }
                }
                NetworkFile::ExternalAssets | NetworkFile::Equity => {
                    if t.expect_header(&header, &cols, 1) {
                        self.node_values(kind, &mut t, header.len(), f);
                    }
                }
            }
        }
        t.finish();
        done(diags)
    }

    /// The rows of an edge file (liabilities `debtor,creditor,amount` or exposures
    /// `creditor,debtor,amount`); duplicate edges add up.
    fn edges(&mut self, kind: NetworkFile, t: &mut Table<impl Read>, f: usize) {
        let cols = kind.columns();
        let expected = format!("3 ({})", cols.join(","));
        while let Some(row) = t.next_row(3, &expected) {
            let from = t.node_name(row, 0, cols[0]);
            let to = t.node_name(row, 1, cols[1]);
            let amount = t.amount(row, 2, cols[2]);
            let (Some(from), Some(to), Some(x)) = (from, to, amount) else {
                continue;
            };
            if kind == NetworkFile::Liabilities && from == to && x != 0.0 {
                t.error(
                    row,
                    "amount",
                    Problem::out_of_range(x, "0 when debtor = creditor"),
                );
                continue;
            }
            let from = self.node_at(&from, Some((f, row)));
            let to = self.node_at(&to, Some((f, row)));
            let edges = match kind {
                NetworkFile::Liabilities => &mut self.liabilities,
                _ => &mut self.exposures,
            };
            edges.push((from, to, x));
        }
    }

    fn dense_liabilities(&mut self, t: &mut Table<impl Read>, header: &[String], f: usize) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (k, name) in header.iter().enumerate().skip(1) {
            if name.is_empty() {
                t.error(
                    0,
                    "header",
                    empty_hint(&format!("a node name in column {}", k + 1)),
                );
            } else if seen.insert(name, k).is_some() {
                t.error(
                    0,
                    "header",
                    Problem::Duplicate {
                        what: format!("node \"{name}\""),
                        first: None,
                    },
                );
            }
        }
        if t.errors.any() {
            return;
        }
        let cols: Vec<usize> = header[1..]
            .iter()
            .map(|n| self.node_at(n, Some((f, 0))))
            .collect();
        let mut rows_of: HashMap<String, u64> = HashMap::new();
        let expected = format!("{} (row name and {} amounts)", header.len(), cols.len());
        while let Some(row) = t.next_row(header.len(), &expected) {
            let Some(name) = t.node_name(row, 0, "node") else {
                continue;
            };
            if let Some(&first) = rows_of.get(&name) {
                t.error(row, "node", duplicate_node(&name, first));
                continue;
            }
            rows_of.insert(name.clone(), row);
            let debtor = self.node_at(&name, Some((f, row)));
            for (k, &creditor) in cols.iter().enumerate() {
                let Some(x) = t.amount(row, k + 1, &header[k + 1]) else {
                    continue;
                };
                if x == 0.0 {
                    continue;
                }
                if debtor == creditor {
                    let p = Problem::out_of_range(x, "0 on the diagonal (no self-liabilities)");
                    t.error(row, &header[k + 1], p);
                    continue;
                }
                self.liabilities.push((debtor, creditor, x));
            }
        }
    }

    /// The rows of a file of one row per node (external assets, equity): `node`, an amount, an
    /// optional amount.
    fn node_values(&mut self, kind: NetworkFile, t: &mut Table<impl Read>, width: usize, f: usize) {
        let cols = kind.columns();
        let mut rows_of: HashMap<String, u64> = HashMap::new();
        while let Some(row) = t.next_row(width, &width.to_string()) {
            let name = t.node_name(row, 0, cols[0]);
            let a = t.amount(row, 1, cols[1]);
            let b = t.optional_amount(row, 2, cols[2]);
            let (Some(name), Some(a), Ok(b)) = (name, a, b) else {
                continue;
            };
            if let Some(&first) = rows_of.get(&name) {
                t.error(row, cols[0], duplicate_node(&name, first));
                continue;
            }
            rows_of.insert(name.clone(), row);
            let node = self.node_at(&name, Some((f, row)));
            if kind == NetworkFile::Equity {
                self.set_equity(node, a, b);
            } else {
                self.set_external(node, a, b.unwrap_or(0.0));
            }
        }
    }

    /// An error in `diags` for every node without a row in `file` (`has` says which have one).
    fn require_rows(&self, file: &str, has: impl Fn(usize) -> bool, diags: &mut Diagnostics) {
        let mut errors = RowErrors::new(file, diags);
        for (i, name) in self.names.iter().enumerate() {
            if has(i) {
                continue;
            }
            let named_in = match self.origin[i] {
                Some((f, row)) => format!("{}, row {row}", self.files[f]),
                None => "memory".to_string(),
            };
            errors.error(
                Location::File,
                "node",
                Problem::MissingRow {
                    kind: NameKind::Node,
                    name: name.clone(),
                    named_in,
                },
            );
        }
        errors.finish();
    }
}

/// Reads the liabilities and external-assets files of a clearing network, reporting every problem
/// of both, and checks that every node has an external-assets row.
pub fn read_clearing_network(
    liabilities: &Path,
    external_assets: &Path,
) -> Result<NetworkTables, LoadError> {
    read_pair(
        [liabilities, external_assets],
        [NetworkFile::Liabilities, NetworkFile::ExternalAssets],
        |t, i| t.external.get(i).is_some_and(Option::is_some),
    )
}

/// Reads the exposures and equity files of a DebtRank network, reporting every problem of both, and
/// checks that every node has an equity row.
pub fn read_debtrank_network(exposures: &Path, equity: &Path) -> Result<NetworkTables, LoadError> {
    read_pair(
        [exposures, equity],
        [NetworkFile::Exposures, NetworkFile::Equity],
        |t, i| t.equity.get(i).is_some_and(Option::is_some),
    )
}

/// Reads the two files of a network, of kinds `kinds`, then (if both read) checks that every node has a
/// row in the second (`has`).
fn read_pair(
    paths: [&Path; 2],
    kinds: [NetworkFile; 2],
    has: fn(&NetworkTables, usize) -> bool,
) -> Result<NetworkTables, LoadError> {
    let mut t = NetworkTables::new();
    let mut diags = Diagnostics::new();
    for (path, kind) in paths.into_iter().zip(kinds) {
        if let Err(e) = t.read(kind, path) {
            diags.extend(e.diagnostics);
        }
    }
    if !diags.has_errors() {
        let file = paths[1].display().to_string();
        t.require_rows(&file, |i| has(&t, i), &mut diags);
    }
    result(t, diags)
}

fn result(t: NetworkTables, diagnostics: Diagnostics) -> Result<NetworkTables, LoadError> {
    if diagnostics.has_errors() {
        Err(LoadError { diagnostics })
    } else {
        Ok(t)
    }
}

/// `Err` with `diagnostics` if they hold an error.
fn done(diagnostics: Diagnostics) -> Result<(), LoadError> {
    if diagnostics.has_errors() {
        Err(LoadError { diagnostics })
    } else {
        Ok(())
    }
}

fn grow<T: Clone>(v: &mut Vec<Option<T>>, i: usize) {
    if v.len() <= i {
        v.resize(i + 1, None);
    }
}

fn duplicate_node(name: &str, first: u64) -> Problem {
    Problem::Duplicate {
        what: format!("node \"{name}\""),
        first: Some(Location::Row(first)),
    }
}

fn empty_hint(expected: &str) -> Problem {
    Problem::Empty {
        hint: format!("expected {expected}"),
    }
}

/// Opens `path` and runs `read` on it; a file that cannot be opened is one error naming it.
fn read_path(
    path: &Path,
    read: impl FnOnce(&str, std::fs::File) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let file = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(f) => read(&file, f),
        Err(e) => {
            let mut diagnostics = Diagnostics::new();
            diagnostics.error(
                &file,
                Location::File,
                "",
                Problem::Unreadable {
                    detail: e.to_string(),
                },
            );
            Err(LoadError { diagnostics })
        }
    }
}

/// A network CSV being read: data rows numbered from 1 (the header is row 0), blank lines skipped,
/// cells trimmed; every problem goes to the file's [`RowErrors`].
struct Table<'d, R: Read> {
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    row: u64,
    errors: RowErrors<'d>,
    /// Set when the file cannot be read further.
    stopped: bool,
    header_done: bool,
}

impl<'d, R: Read> Table<'d, R> {
    fn new(file: &'d str, reader: R, diags: &'d mut Diagnostics) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        Table {
            reader,
            record: csv::StringRecord::new(),
            row: 0,
            errors: RowErrors::new(file, diags),
            stopped: false,
            header_done: false,
        }
    }

    fn error(&mut self, row: u64, field: &str, problem: Problem) {
        self.errors.error(Location::Row(row), field, problem);
    }

    fn finish(self) {
        self.errors.finish();
    }

    /// Reads the next record; `false` at the end or after an error that stops reading. A record
    /// that is not UTF-8 is reported and skipped.
    fn read(&mut self) -> bool {
        while !self.stopped {
            match self.reader.read_record(&mut self.record) {
                Ok(more) => return more,
                Err(e) => {
                    let row = if self.header_done { self.row + 1 } else { 0 };
                    let utf8 = self.header_done && matches!(e.kind(), csv::ErrorKind::Utf8 { .. });
                    let problem = match e.kind() {
                        csv::ErrorKind::Io(io) => Problem::Unreadable {
                            detail: io.to_string(),
                        },
                        _ => Problem::Syntax {
                            format: "CSV",
                            detail: e.to_string(),
                        },
                    };
                    self.error(row, "", problem);
                    if utf8 {
                        self.row += 1;
                    } else {
                        self.stopped = true;
                    }
                }
            }
        }
        false
    }

    /// The header cells; `None` (with the error) for an empty or unreadable file.
    fn header(&mut self, expected: &str) -> Option<Vec<String>> {
        let read = self.read();
        self.header_done = true;
        if !read {
            if !self.stopped {
                self.error(
                    0,
                    "",
                    Problem::EmptyFile {
                        expected: format!("a header \"{expected}\" and one row per line"),
                    },
                );
            }
            return None;
        }
        let mut h: Vec<String> = self.record.iter().map(str::to_string).collect();
        if let Some(first) = h.first_mut() {
            if let Some(rest) = first.strip_prefix('\u{feff}') {
                *first = rest.trim().to_string();
            }
        }
        Some(h)
    }

    /// Checks the header names (case-insensitive; the last `optional` are optional).
    fn expect_header(&mut self, header: &[String], names: &[&str], optional: usize) -> bool {
        let min = names.len() - optional;
        let ok = header.len() >= min
            && header.len() <= names.len()
            && header
                .iter()
                .zip(names)
                .all(|(h, n)| h.eq_ignore_ascii_case(n));
        if !ok {
            let expected = if optional == 0 {
                names.join(",")
            } else {
                format!("{}[,{}]", names[..min].join(","), names[min..].join(",["))
                    + &"]".repeat(optional - 1)
            };
            let found = header.join(",");
            self.error(0, "header", Problem::Header { found, expected });
        }
        ok
    }

    /// The next non-blank data row with `width` fields (other rows are reported and skipped); its
    /// number.
    fn next_row(&mut self, width: usize, expected: &str) -> Option<u64> {
        loop {
            if !self.read() {
                return None;
            }
            if self.record.len() == 1 && self.record[0].is_empty() {
                continue;
            }
            self.row += 1;
            if self.record.len() == width {
                return Some(self.row);
            }
            let found = self.record.len();
            let row = self.row;
            self.error(
                row,
                "",
                Problem::FieldCount {
                    found,
                    expected: expected.to_string(),
                },
            );
        }
    }

    fn node_name(&mut self, row: u64, col: usize, name: &str) -> Option<String> {
        match self.record.get(col) {
            Some(s) if !s.is_empty() => Some(s.to_string()),
            _ => {
                self.error(row, name, empty_hint("a node name"));
                None
            }
        }
    }

    fn amount(&mut self, row: u64, col: usize, name: &str) -> Option<f64> {
        let s = self.record.get(col).unwrap_or("");
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
            Ok(v) => {
                self.error(row, name, Problem::out_of_range(v, EXPECTED_AMOUNT));
                None
            }
            Err(_) if s.is_empty() => {
                self.error(row, name, empty_hint(EXPECTED_AMOUNT));
                None
            }
            Err(_) => {
                let p = Problem::bad_text(s, EXPECTED_AMOUNT);
                self.error(row, name, p);
                None
            }
        }
    }

    /// An optional amount: `Ok(None)` if the cell is absent or empty, `Err` after an error.
    fn optional_amount(&mut self, row: u64, col: usize, name: &str) -> Result<Option<f64>, ()> {
        match self.record.get(col) {
            None | Some("") => Ok(None),
            Some(_) => self.amount(row, col, name).map(Some).ok_or(()),
        }
    }
}

#[cfg(test)]
mod tests;
