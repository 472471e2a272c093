//! Financial networks on any set of named nodes (DESIGN §13): interbank liabilities and external
//! balance sheets for Eisenberg–Noe clearing, exposures and equity for DebtRank.
//!
//! Four CSV files, each with a header row; nodes are named by any string and indexed (name ↔
//! `usize`) in order of first appearance across all files read into one [`NetworkBuilder`]:
//!
//! | file | header | meaning |
//! |---|---|---|
//! | liabilities (sparse) | `debtor,creditor,amount` | `L[debtor][creditor] += amount`; duplicate edges add up |
//! | liabilities (dense) | `,n1,n2,...` then rows `ni,a,b,...` | `L[ni][nj]`; detected by an empty first header cell |
//! | external assets | `node,external_assets[,external_liabilities]` | outside assets; obligations to outside creditors |
//! | exposures | `creditor,debtor,amount` | the creditor loses if the debtor is distressed; duplicates add up |
//! | equity | `node,equity[,weight]` | capital buffer; economic value (default: the equity) |
//!
//! Every amount must be finite and ≥ 0. Empty optional cells take their default. Errors name the
//! file, the 1-based data row (the header is row 0) and column, what was found and what was
//! expected; malformed input never panics.
//!
//! Matrices are stored as compressed sparse rows ([`Csr`]).
//!
//! # Examples
//! ```
//! use cascade_contagion::network::NetworkBuilder;
//! let mut b = NetworkBuilder::new();
//! b.read_liabilities_from("L.csv", "debtor,creditor,amount\nA,B,2\nB,A,2.2\n".as_bytes())
//!     .unwrap();
//! b.read_external_assets_from("E.csv", "node,external_assets\nA,1\nB,1\n".as_bytes())
//!     .unwrap();
//! let net = b.build();
//! assert_eq!(net.names, ["A", "B"]);
//! assert_eq!(net.liabilities.get(1, 0), 2.2);
//! ```

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// An error reading or building a network. Messages name the file, row and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The CSV itself is malformed (e.g. invalid UTF-8).
    #[error("{file}: row {row}: {message}")]
    Csv {
        file: String,
        row: usize,
        message: String,
    },
    /// The header row is missing or not the expected one.
    #[error("{file}: header: found \"{found}\", expected \"{expected}\"")]
    Header {
        file: String,
        found: String,
        expected: String,
    },
    /// A data row has the wrong number of fields.
    #[error("{file}: row {row}: found {found} fields, expected {expected}")]
    FieldCount {
        file: String,
        row: usize,
        found: usize,
        expected: String,
    },
    /// A field holds an invalid value.
    #[error("{file}: row {row}, column {column} ({name}): found \"{found}\", expected {expected}")]
    Field {
        file: String,
        row: usize,
        column: usize,
        name: String,
        found: String,
        expected: String,
    },
    /// A node appears twice in a file that lists each node once.
    #[error("{file}: row {row}: node \"{node}\" already given in row {first_row}, expected each node once")]
    Duplicate {
        file: String,
        row: usize,
        node: String,
        first_row: usize,
    },
    /// An in-memory value is invalid (builder or [`Csr`] constructor).
    #[error("{what}: found {found}, expected {expected}")]
    Value {
        what: String,
        found: String,
        expected: String,
    },
}

const EXPECTED_AMOUNT: &str = "a finite number ≥ 0";

/// A sparse matrix in compressed sparse row form: row `i` holds the columns `cols[row_ptr[i]..
/// row_ptr[i + 1]]` (strictly increasing) with their values. Explicit zeros are not stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr {
    n_rows: usize,
    n_cols: usize,
    row_ptr: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
}

impl Csr {
    /// The `n_rows × n_cols` zero matrix.
    pub fn zeros(n_rows: usize, n_cols: usize) -> Self {
        Csr {
            n_rows,
            n_cols,
            row_ptr: vec![0; n_rows + 1],
            cols: Vec::new(),
            vals: Vec::new(),
        }
    }

    /// Builds from `(row, col, value)` triplets; duplicates add up and zero sums are dropped.
    /// Every value must be finite and ≥ 0 and every index in range.
    ///
    /// # Examples
    /// ```
    /// use cascade_contagion::network::Csr;
    /// let m = Csr::from_triplets(2, 2, &[(0, 1, 1.0), (0, 1, 2.0), (1, 0, 0.5)]).unwrap();
    /// assert_eq!(m.get(0, 1), 3.0);
    /// assert_eq!(m.nnz(), 2);
    /// ```
    pub fn from_triplets(
        n_rows: usize,
        n_cols: usize,
        triplets: &[(usize, usize, f64)],
    ) -> Result<Self, NetworkError> {
        for (k, &(i, j, v)) in triplets.iter().enumerate() {
            if i >= n_rows || j >= n_cols {
                return Err(NetworkError::Value {
                    what: format!("triplet {k} index"),
                    found: format!("({i}, {j})"),
                    expected: format!("row < {n_rows} and column < {n_cols}"),
                });
            }
            if !(v.is_finite() && v >= 0.0) {
                return Err(NetworkError::Value {
                    what: format!("triplet {k} ({i}, {j}) value"),
                    found: v.to_string(),
                    expected: EXPECTED_AMOUNT.into(),
                });
            }
        }
        Ok(Self::from_valid_triplets(n_rows, n_cols, triplets))
    }

    /// Counting sort by row, sort each row by column, merge duplicates.
    fn from_valid_triplets(n_rows: usize, n_cols: usize, triplets: &[(usize, usize, f64)]) -> Self {
        let mut counts = vec![0usize; n_rows + 1];
        for &(i, _, _) in triplets {
            counts[i + 1] += 1;
        }
        for i in 0..n_rows {
            counts[i + 1] += counts[i];
        }
        let mut next = counts.clone();
        let mut entries = vec![(0usize, 0.0f64); triplets.len()];
        for &(i, j, v) in triplets {
            entries[next[i]] = (j, v);
            next[i] += 1;
        }
        let mut row_ptr = Vec::with_capacity(n_rows + 1);
        let mut cols = Vec::with_capacity(triplets.len());
        let mut vals = Vec::with_capacity(triplets.len());
        row_ptr.push(0);
        for i in 0..n_rows {
            let row = &mut entries[counts[i]..counts[i + 1]];
            row.sort_unstable_by_key(|&(j, _)| j);
            let mut k = 0;
            while k < row.len() {
                let j = row[k].0;
                let mut sum = 0.0;
                while k < row.len() && row[k].0 == j {
                    sum += row[k].1;
                    k += 1;
                }
                if sum != 0.0 {
                    cols.push(j);
                    vals.push(sum);
                }
            }
            row_ptr.push(cols.len());
        }
        Csr {
            n_rows,
            n_cols,
            row_ptr,
            cols,
            vals,
        }
    }

    /// Builds from dense rows (all of the same length; values finite and ≥ 0).
    pub fn from_dense(rows: &[Vec<f64>]) -> Result<Self, NetworkError> {
        let n_cols = rows.first().map_or(0, Vec::len);
        let mut triplets = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if row.len() != n_cols {
                return Err(NetworkError::Value {
                    what: format!("dense row {i} length"),
                    found: row.len().to_string(),
                    expected: n_cols.to_string(),
                });
            }
            triplets.extend(row.iter().enumerate().map(|(j, &v)| (i, j, v)));
        }
        Self::from_triplets(rows.len(), n_cols, &triplets)
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored (non-zero) entries.
    pub fn nnz(&self) -> usize {
        self.vals.len()
    }

    /// The columns and values of row `i` (empty if `i` is out of range).
    pub fn row(&self, i: usize) -> (&[usize], &[f64]) {
        if i >= self.n_rows {
            return (&[], &[]);
        }
        let r = self.row_ptr[i]..self.row_ptr[i + 1];
        (&self.cols[r.clone()], &self.vals[r])
    }

    /// Entry `(i, j)`, 0 when absent or out of range.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        let (cols, vals) = self.row(i);
        cols.binary_search(&j).map_or(0.0, |k| vals[k])
    }

    /// Row sums `Σ_j m_ij`.
    pub fn row_sums(&self) -> Vec<f64> {
        (0..self.n_rows)
            .map(|i| self.row(i).1.iter().sum())
            .collect()
    }

    /// The row-pointer array (`n_rows + 1` offsets).
    pub fn row_ptr(&self) -> &[usize] {
        &self.row_ptr
    }

    /// The column index of every stored entry, row by row.
    pub fn cols(&self) -> &[usize] {
        &self.cols
    }

    /// The value of every stored entry, row by row.
    pub fn vals(&self) -> &[f64] {
        &self.vals
    }

    /// The transpose, with each entry's value replaced by `f(row, col, value)` (indices of `self`).
    pub fn transpose_map(&self, mut f: impl FnMut(usize, usize, f64) -> f64) -> Csr {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &j in &self.cols {
            counts[j + 1] += 1;
        }
        for j in 0..self.n_cols {
            counts[j + 1] += counts[j];
        }
        let mut next = counts.clone();
        let mut cols = vec![0usize; self.nnz()];
        let mut vals = vec![0.0f64; self.nnz()];
        // Rows are visited in increasing order, so each transposed row comes out sorted.
        for i in 0..self.n_rows {
            let (rc, rv) = self.row(i);
            for (&j, &v) in rc.iter().zip(rv) {
                cols[next[j]] = i;
                vals[next[j]] = f(i, j, v);
                next[j] += 1;
            }
        }
        Csr {
            n_rows: self.n_cols,
            n_cols: self.n_rows,
            row_ptr: counts,
            cols,
            vals,
        }
    }

    /// The transpose.
    pub fn transpose(&self) -> Csr {
        self.transpose_map(|_, _, v| v)
    }

    /// The dense form (for small matrices and tests).
    pub fn to_dense(&self) -> Vec<Vec<f64>> {
        (0..self.n_rows)
            .map(|i| (0..self.n_cols).map(|j| self.get(i, j)).collect())
            .collect()
    }
}

/// A network over named nodes; every vector has one entry per node and both matrices are
/// `n × n` (an unread file leaves its part zero).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Network {
    /// Node names; a node's index is its position.
    pub names: Vec<String>,
    /// `L_ij`: what debtor `i` (row) owes creditor `j` (column) inside the network.
    pub liabilities: Csr,
    /// `e_i`: assets held outside the network.
    pub external_assets: Vec<f64>,
    /// Obligations to creditors outside the network (count in the total obligation `p̄_i`).
    pub external_liabilities: Vec<f64>,
    /// `A_ji`: exposure of creditor `j` (row) to debtor `i` (column).
    pub exposures: Csr,
    /// `E_j`: equity (capital buffer) of each node; 0 when not given.
    pub equity: Vec<f64>,
    /// `v_j`: economic value of each node for DebtRank; defaults to the equity.
    pub weight: Vec<f64>,
}

impl Network {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the network has no nodes.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of the node named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// A clearing network from a dense liabilities matrix (nodes named `"0"`, `"1"`, …).
    ///
    /// # Examples
    /// ```
    /// use cascade_contagion::network::Network;
    /// let net = Network::from_dense_liabilities(
    ///     &[vec![0.0, 2.0], vec![2.2, 0.0]], &[1.0, 1.0], &[0.0, 0.0]).unwrap();
    /// assert_eq!(net.len(), 2);
    /// ```
    pub fn from_dense_liabilities(
        liabilities: &[Vec<f64>],
        external_assets: &[f64],
        external_liabilities: &[f64],
    ) -> Result<Network, NetworkError> {
        let n = liabilities.len();
        let mut b = NetworkBuilder::new();
        for i in 0..n {
            b.node(&i.to_string());
        }
        for (i, row) in liabilities.iter().enumerate() {
            if row.len() != n {
                return Err(NetworkError::Value {
                    what: format!("liabilities row {i} length"),
                    found: row.len().to_string(),
                    expected: n.to_string(),
                });
            }
            for (j, &a) in row.iter().enumerate() {
                if i == j && a == 0.0 {
                    continue;
                }
                b.add_liability(i, j, a)?;
            }
        }
        for (name, v) in [
            ("external_assets", external_assets),
            ("external_liabilities", external_liabilities),
        ] {
            if v.len() != n {
                return Err(NetworkError::Value {
                    what: format!("{name} length"),
                    found: v.len().to_string(),
                    expected: n.to_string(),
                });
            }
        }
        for i in 0..n {
            b.set_external(i, external_assets[i], external_liabilities[i])?;
        }
        Ok(b.build())
    }

    /// A DebtRank network from a dense exposures matrix (`exposures[j][i]` = exposure of `j` to
    /// `i`) and equities; weights default to the equities. Nodes are named `"0"`, `"1"`, ….
    pub fn from_dense_exposures(
        exposures: &[Vec<f64>],
        equity: &[f64],
        weight: Option<&[f64]>,
    ) -> Result<Network, NetworkError> {
        let n = exposures.len();
        let mut b = NetworkBuilder::new();
        for i in 0..n {
            b.node(&i.to_string());
        }
        for (j, row) in exposures.iter().enumerate() {
            if row.len() != n {
                return Err(NetworkError::Value {
                    what: format!("exposures row {j} length"),
                    found: row.len().to_string(),
                    expected: n.to_string(),
                });
            }
            for (i, &a) in row.iter().enumerate() {
                b.add_exposure(j, i, a)?;
            }
        }
        let lens_ok = equity.len() == n && weight.map_or(n, <[f64]>::len) == n;
        if !lens_ok {
            return Err(NetworkError::Value {
                what: "equity/weight length".into(),
                found: format!("{}/{}", equity.len(), weight.map_or(n, <[f64]>::len)),
                expected: n.to_string(),
            });
        }
        for j in 0..n {
            b.set_equity(j, equity[j], weight.map(|w| w[j]))?;
        }
        Ok(b.build())
    }
}

/// Collects nodes, edges and balance sheets (from files or in memory) into a [`Network`].
#[derive(Debug, Default, Clone)]
pub struct NetworkBuilder {
    names: Vec<String>,
    index: HashMap<String, usize>,
    liabilities: Vec<(usize, usize, f64)>,
    external: Vec<Option<(f64, f64)>>,
    exposures: Vec<(usize, usize, f64)>,
    equity: Vec<Option<(f64, Option<f64>)>>,
}

fn check_amount(what: impl FnOnce() -> String, v: f64) -> Result<(), NetworkError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(NetworkError::Value {
            what: what(),
            found: v.to_string(),
            expected: EXPECTED_AMOUNT.into(),
        })
    }
}

impl NetworkBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of node `name`, adding it if new.
    pub fn node(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len();
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    /// Number of nodes so far.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no node has been added.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn check_node(&self, what: &str, i: usize) -> Result<(), NetworkError> {
        if i < self.names.len() {
            Ok(())
        } else {
            Err(NetworkError::Value {
                what: what.into(),
                found: i.to_string(),
                expected: format!("a node index < {}", self.names.len()),
            })
        }
    }

    /// Adds `amount` to what `debtor` owes `creditor` (indices from [`NetworkBuilder::node`]).
    pub fn add_liability(
        &mut self,
        debtor: usize,
        creditor: usize,
        amount: f64,
    ) -> Result<(), NetworkError> {
        self.check_node("debtor", debtor)?;
        self.check_node("creditor", creditor)?;
        check_amount(|| format!("liability {debtor} → {creditor}"), amount)?;
        if debtor == creditor && amount != 0.0 {
            return Err(NetworkError::Value {
                what: format!("liability of node {debtor} to itself"),
                found: amount.to_string(),
                expected: "0 (no self-liabilities)".into(),
            });
        }
        self.liabilities.push((debtor, creditor, amount));
        Ok(())
    }

    /// Sets a node's external assets and external liabilities.
    pub fn set_external(
        &mut self,
        node: usize,
        assets: f64,
        liabilities: f64,
    ) -> Result<(), NetworkError> {
        self.check_node("node", node)?;
        check_amount(|| format!("external assets of node {node}"), assets)?;
        check_amount(
            || format!("external liabilities of node {node}"),
            liabilities,
        )?;
        grow(&mut self.external, node);
        self.external[node] = Some((assets, liabilities));
        Ok(())
    }

    /// Adds `amount` to the exposure of `creditor` to `debtor`.
    pub fn add_exposure(
        &mut self,
        creditor: usize,
        debtor: usize,
        amount: f64,
    ) -> Result<(), NetworkError> {
        self.check_node("creditor", creditor)?;
        self.check_node("debtor", debtor)?;
        check_amount(|| format!("exposure of {creditor} to {debtor}"), amount)?;
        self.exposures.push((creditor, debtor, amount));
        Ok(())
    }

    /// Sets a node's equity and economic value (`None`: the equity).
    pub fn set_equity(
        &mut self,
        node: usize,
        equity: f64,
        weight: Option<f64>,
    ) -> Result<(), NetworkError> {
        self.check_node("node", node)?;
        check_amount(|| format!("equity of node {node}"), equity)?;
        if let Some(w) = weight {
            check_amount(|| format!("weight of node {node}"), w)?;
        }
        grow(&mut self.equity, node);
        self.equity[node] = Some((equity, weight));
        Ok(())
    }

    /// Reads a liabilities file, sparse (`debtor,creditor,amount`) or dense (`,n1,n2,...`).
    pub fn read_liabilities(&mut self, path: &Path) -> Result<(), NetworkError> {
        let (file, reader) = open(path)?;
        self.read_liabilities_from(&file, reader)
    }

    /// As [`NetworkBuilder::read_liabilities`], from any reader; `file` names it in errors.
    pub fn read_liabilities_from(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<(), NetworkError> {
        let mut rows = Rows::new(file, reader);
        let header = rows.header()?;
        if header.first().is_some_and(String::is_empty) {
            return self.read_dense_liabilities(rows, header);
        }
        rows.expect_header(&header, &["debtor", "creditor", "amount"], 0)?;
        while let Some((row, rec)) = rows.next_record()? {
            rows.expect_fields(row, &rec, 3, "3 (debtor,creditor,amount)")?;
            let debtor = rows.node_name(row, &rec, 0, "debtor")?;
            let creditor = rows.node_name(row, &rec, 1, "creditor")?;
            let amount = rows.amount(row, &rec, 2, "amount")?;
            if debtor == creditor && amount != 0.0 {
                return Err(rows.field_error(
                    row,
                    2,
                    "amount",
                    &rec[2],
                    "0 when debtor = creditor",
                ));
            }
            let (d, c) = (self.node(debtor), self.node(creditor));
            self.liabilities.push((d, c, amount));
        }
        Ok(())
    }

    fn read_dense_liabilities<R: Read>(
        &mut self,
        mut rows: Rows<R>,
        header: Vec<String>,
    ) -> Result<(), NetworkError> {
        let file = rows.file.clone();
        let mut col_nodes = Vec::with_capacity(header.len() - 1);
        let mut seen_cols: HashMap<&str, usize> = HashMap::new();
        for (k, name) in header.iter().enumerate().skip(1) {
            if name.is_empty() || seen_cols.insert(name, k).is_some() {
                return Err(NetworkError::Header {
                    file,
                    found: header.join(","),
                    expected: format!(
                        "\",n1,n2,...\" with distinct non-empty node names (column {})",
                        k + 1
                    ),
                });
            }
        }
        for name in header.iter().skip(1) {
            col_nodes.push(self.node(name));
        }
        let mut seen_rows: HashMap<String, usize> = HashMap::new();
        let expected = format!(
            "{} (row name and {} amounts)",
            header.len(),
            header.len() - 1
        );
        while let Some((row, rec)) = rows.next_record()? {
            rows.expect_fields(row, &rec, header.len(), &expected)?;
            let name = rows.node_name(row, &rec, 0, "node")?;
            if let Some(&first_row) = seen_rows.get(name) {
                return Err(NetworkError::Duplicate {
                    file,
                    row,
                    node: name.to_string(),
                    first_row,
                });
            }
            seen_rows.insert(name.to_string(), row);
            let debtor = self.node(name);
            for (k, &creditor) in col_nodes.iter().enumerate() {
                let amount = rows.amount(row, &rec, k + 1, &header[k + 1])?;
                if amount == 0.0 {
                    continue;
                }
                if debtor == creditor {
                    return Err(rows.field_error(
                        row,
                        k + 1,
                        &header[k + 1],
                        &rec[k + 1],
                        "0 on the diagonal (no self-liabilities)",
                    ));
                }
                self.liabilities.push((debtor, creditor, amount));
            }
        }
        Ok(())
    }

    /// Reads an external-assets file `node,external_assets[,external_liabilities]`.
    pub fn read_external_assets(&mut self, path: &Path) -> Result<(), NetworkError> {
        let (file, reader) = open(path)?;
        self.read_external_assets_from(&file, reader)
    }

    /// As [`NetworkBuilder::read_external_assets`], from any reader.
    pub fn read_external_assets_from(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<(), NetworkError> {
        let mut rows = Rows::new(file, reader);
        let header = rows.header()?;
        let cols = ["node", "external_assets", "external_liabilities"];
        let width = rows.expect_header(&header, &cols, 1)?;
        let mut seen: HashMap<usize, usize> = HashMap::new();
        while let Some((row, rec)) = rows.next_record()? {
            rows.expect_fields(row, &rec, width, &width.to_string())?;
            let name = rows.node_name(row, &rec, 0, cols[0])?;
            let assets = rows.amount(row, &rec, 1, cols[1])?;
            let liabilities = rows.optional_amount(row, &rec, 2, cols[2])?.unwrap_or(0.0);
            let node = self.node(name);
            if let Some(&first_row) = seen.get(&node) {
                return Err(NetworkError::Duplicate {
                    file: file.into(),
                    row,
                    node: name.into(),
                    first_row,
                });
            }
            seen.insert(node, row);
            grow(&mut self.external, node);
            self.external[node] = Some((assets, liabilities));
        }
        Ok(())
    }

    /// Reads an exposures file `creditor,debtor,amount`.
    pub fn read_exposures(&mut self, path: &Path) -> Result<(), NetworkError> {
        let (file, reader) = open(path)?;
        self.read_exposures_from(&file, reader)
    }

    /// As [`NetworkBuilder::read_exposures`], from any reader.
    pub fn read_exposures_from(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<(), NetworkError> {
        let mut rows = Rows::new(file, reader);
        let header = rows.header()?;
        rows.expect_header(&header, &["creditor", "debtor", "amount"], 0)?;
        while let Some((row, rec)) = rows.next_record()? {
            rows.expect_fields(row, &rec, 3, "3 (creditor,debtor,amount)")?;
            let creditor = rows.node_name(row, &rec, 0, "creditor")?;
            let debtor = rows.node_name(row, &rec, 1, "debtor")?;
            let amount = rows.amount(row, &rec, 2, "amount")?;
            let (c, d) = (self.node(creditor), self.node(debtor));
            self.exposures.push((c, d, amount));
        }
        Ok(())
    }

    /// Reads an equity file `node,equity[,weight]`.
    pub fn read_equity(&mut self, path: &Path) -> Result<(), NetworkError> {
        let (file, reader) = open(path)?;
        self.read_equity_from(&file, reader)
    }

    /// As [`NetworkBuilder::read_equity`], from any reader.
    pub fn read_equity_from(&mut self, file: &str, reader: impl Read) -> Result<(), NetworkError> {
        let mut rows = Rows::new(file, reader);
        let header = rows.header()?;
        let cols = ["node", "equity", "weight"];
        let width = rows.expect_header(&header, &cols, 1)?;
        let mut seen: HashMap<usize, usize> = HashMap::new();
        while let Some((row, rec)) = rows.next_record()? {
            rows.expect_fields(row, &rec, width, &width.to_string())?;
            let name = rows.node_name(row, &rec, 0, cols[0])?;
            let equity = rows.amount(row, &rec, 1, cols[1])?;
            let weight = rows.optional_amount(row, &rec, 2, cols[2])?;
            let node = self.node(name);
            if let Some(&first_row) = seen.get(&node) {
                return Err(NetworkError::Duplicate {
                    file: file.into(),
                    row,
                    node: name.into(),
                    first_row,
                });
            }
            seen.insert(node, row);
            grow(&mut self.equity, node);
            self.equity[node] = Some((equity, weight));
        }
        Ok(())
    }

    /// The network: matrices in CSR form (duplicate edges summed), absent balance-sheet entries 0.
    pub fn build(self) -> Network {
        let n = self.names.len();
        let mut external_assets = vec![0.0; n];
        let mut external_liabilities = vec![0.0; n];
        for (i, e) in self.external.iter().enumerate() {
            if let Some((a, l)) = *e {
                external_assets[i] = a;
                external_liabilities[i] = l;
            }
        }
        let mut equity = vec![0.0; n];
        let mut weight = vec![0.0; n];
        for (i, e) in self.equity.iter().enumerate() {
            if let Some((q, w)) = *e {
                equity[i] = q;
                weight[i] = w.unwrap_or(q);
            }
        }
        Network {
            liabilities: Csr::from_valid_triplets(n, n, &self.liabilities),
            exposures: Csr::from_valid_triplets(n, n, &self.exposures),
            names: self.names,
            external_assets,
            external_liabilities,
            equity,
            weight,
        }
    }
}

fn grow<T: Clone>(v: &mut Vec<Option<T>>, i: usize) {
    if v.len() <= i {
        v.resize(i + 1, None);
    }
}

fn open(path: &Path) -> Result<(String, std::fs::File), NetworkError> {
    let file = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(f) => Ok((file, f)),
        Err(source) => Err(NetworkError::Io { file, source }),
    }
}

/// A CSV reader that numbers data rows from 1 and reports errors with file, row and column.
struct Rows<R: Read> {
    file: String,
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    row: usize,
}

impl<R: Read> Rows<R> {
    fn new(file: &str, reader: R) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        Rows {
            file: file.to_string(),
            reader,
            record: csv::StringRecord::new(),
            row: 0,
        }
    }

    fn csv_error(&self, e: csv::Error) -> NetworkError {
        let message = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(source) => NetworkError::Io {
                file: self.file.clone(),
                source,
            },
            _ => NetworkError::Csv {
                file: self.file.clone(),
                row: self.row,
                message,
            },
        }
    }

    fn header(&mut self) -> Result<Vec<String>, NetworkError> {
        match self.reader.read_record(&mut self.record) {
            Ok(true) => Ok(self.record.iter().map(str::to_string).collect()),
            Ok(false) => Err(NetworkError::Header {
                file: self.file.clone(),
                found: "an empty file".into(),
                expected: "a header row".into(),
            }),
            Err(e) => Err(self.csv_error(e)),
        }
    }

    /// Checks the header names (case-insensitive; the last `optional` are optional); returns the
    /// number of columns present.
    fn expect_header(
        &self,
        header: &[String],
        names: &[&str],
        optional: usize,
    ) -> Result<usize, NetworkError> {
        let min = names.len() - optional;
        let ok = header.len() >= min
            && header.len() <= names.len()
            && header
                .iter()
                .zip(names)
                .all(|(h, n)| h.eq_ignore_ascii_case(n));
        if ok {
            return Ok(header.len());
        }
        let expected = if optional == 0 {
            names.join(",")
        } else {
            format!("{}[,{}]", names[..min].join(","), names[min..].join(",["))
                + &"]".repeat(optional - 1)
        };
        Err(NetworkError::Header {
            file: self.file.clone(),
            found: header.join(","),
            expected,
        })
    }

    /// The next non-blank data row and its 1-based number.
    fn next_record(&mut self) -> Result<Option<(usize, csv::StringRecord)>, NetworkError> {
        loop {
            self.row += 1;
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Ok(true) => {
                    if self.record.len() == 1 && self.record[0].is_empty() {
                        self.row -= 1;
                        continue; // a blank line
                    }
                    return Ok(Some((self.row, self.record.clone())));
                }
                Err(e) => return Err(self.csv_error(e)),
            }
        }
    }

    fn expect_fields(
        &self,
        row: usize,
        rec: &csv::StringRecord,
        n: usize,
        expected: &str,
    ) -> Result<(), NetworkError> {
        if rec.len() == n {
            Ok(())
        } else {
            Err(NetworkError::FieldCount {
                file: self.file.clone(),
                row,
                found: rec.len(),
                expected: expected.into(),
            })
        }
    }

    fn field_error(
        &self,
        row: usize,
        col: usize,
        name: &str,
        found: &str,
        expected: &str,
    ) -> NetworkError {
        NetworkError::Field {
            file: self.file.clone(),
            row,
            column: col + 1,
            name: name.into(),
            found: found.into(),
            expected: expected.into(),
        }
    }

    fn node_name<'a>(
        &self,
        row: usize,
        rec: &'a csv::StringRecord,
        col: usize,
        name: &str,
    ) -> Result<&'a str, NetworkError> {
        match rec.get(col) {
            Some(s) if !s.is_empty() => Ok(s),
            other => Err(self.field_error(row, col, name, other.unwrap_or(""), "a node name")),
        }
    }

    fn amount(
        &self,
        row: usize,
        rec: &csv::StringRecord,
        col: usize,
        name: &str,
    ) -> Result<f64, NetworkError> {
        let s = rec.get(col).unwrap_or("");
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(self.field_error(row, col, name, s, EXPECTED_AMOUNT)),
        }
    }

    fn optional_amount(
        &self,
        row: usize,
        rec: &csv::StringRecord,
        col: usize,
        name: &str,
    ) -> Result<Option<f64>, NetworkError> {
        match rec.get(col) {
            None | Some("") => Ok(None),
            Some(_) => self.amount(row, rec, col, name).map(Some),
        }
    }
}
