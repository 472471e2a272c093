//! Financial networks on any set of named nodes (DESIGN §13): interbank liabilities and external
//! balance sheets for Eisenberg–Noe clearing, exposures and equity for DebtRank.
//!
//! Reading the four CSV files of a network (liabilities, external assets, exposures, equity) is
//! `cascade_io::network`'s; [`NetworkBuilder`] collects what was read, or what is added in memory, into
//! a [`Network`].
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

use std::io::Read;
use std::path::Path;

use cascade_io::network::{NetworkFile, NetworkTables};
use cascade_io::LoadError;

/// An error reading or building a network. Messages name the file, row and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// A network file could not be read; every problem found, each naming file, row and column.
    #[error("{0}")]
    Load(#[from] LoadError),
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

/// Collects nodes, edges and balance sheets (read from files by `cascade_io::network`, or added in
/// memory) into a [`Network`].
#[derive(Debug, Default, Clone)]
pub struct NetworkBuilder {
    tables: NetworkTables,
}

impl From<NetworkTables> for NetworkBuilder {
    fn from(tables: NetworkTables) -> Self {
        NetworkBuilder { tables }
    }
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
        self.tables.node(name)
    }

    /// Number of nodes so far.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether no node has been added.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    fn check_node(&self, what: &str, i: usize) -> Result<(), NetworkError> {
        if i < self.tables.len() {
            Ok(())
        } else {
            Err(NetworkError::Value {
                what: what.into(),
                found: i.to_string(),
                expected: format!("a node index < {}", self.tables.len()),
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
        self.tables.liabilities.push((debtor, creditor, amount));
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
        grow(&mut self.tables.external, node);
        self.tables.external[node] = Some((assets, liabilities));
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
        self.tables.exposures.push((creditor, debtor, amount));
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
        grow(&mut self.tables.equity, node);
        self.tables.equity[node] = Some((equity, weight));
        Ok(())
    }

    /// Reads a liabilities file (see `cascade_io::network`).
    pub fn read_liabilities(&mut self, path: &Path) -> Result<(), NetworkError> {
        Ok(self.tables.read(NetworkFile::Liabilities, path)?)
    }

    /// As [`NetworkBuilder::read_liabilities`], from any reader; `file` names it in errors.
    pub fn read_liabilities_from(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<(), NetworkError> {
        Ok(self
            .tables
            .read_from(NetworkFile::Liabilities, file, reader)?)
    }

    /// Reads an external-assets file `node,external_assets[,external_liabilities]`.
    pub fn read_external_assets(&mut self, path: &Path) -> Result<(), NetworkError> {
        Ok(self.tables.read(NetworkFile::ExternalAssets, path)?)
    }

    /// As [`NetworkBuilder::read_external_assets`], from any reader.
    pub fn read_external_assets_from(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<(), NetworkError> {
        Ok(self
            .tables
            .read_from(NetworkFile::ExternalAssets, file, reader)?)
    }

    /// Reads an exposures file `creditor,debtor,amount`.
    pub fn read_exposures(&mut self, path: &Path) -> Result<(), NetworkError> {
        Ok(self.tables.read(NetworkFile::Exposures, path)?)
    }

    /// As [`NetworkBuilder::read_exposures`], from any reader.
    pub fn read_exposures_from(
        &mut self,
        file: &str,
        reader: impl Read,
    ) -> Result<(), NetworkError> {
        Ok(self
            .tables
            .read_from(NetworkFile::Exposures, file, reader)?)
    }

    /// Reads an equity file `node,equity[,weight]`.
    pub fn read_equity(&mut self, path: &Path) -> Result<(), NetworkError> {
        Ok(self.tables.read(NetworkFile::Equity, path)?)
    }

    /// As [`NetworkBuilder::read_equity`], from any reader.
    pub fn read_equity_from(&mut self, file: &str, reader: impl Read) -> Result<(), NetworkError> {
        Ok(self.tables.read_from(NetworkFile::Equity, file, reader)?)
    }

    /// The network: matrices in CSR form (duplicate edges summed), absent balance-sheet entries 0.
    pub fn build(self) -> Network {
        let t = self.tables;
        let n = t.names.len();
        let mut external_assets = vec![0.0; n];
        let mut external_liabilities = vec![0.0; n];
        for (i, e) in t.external.iter().enumerate() {
            if let Some((a, l)) = *e {
                external_assets[i] = a;
                external_liabilities[i] = l;
            }
        }
        let mut equity = vec![0.0; n];
        let mut weight = vec![0.0; n];
        for (i, e) in t.equity.iter().enumerate() {
            if let Some((q, w)) = *e {
                equity[i] = q;
                weight[i] = w.unwrap_or(q);
            }
        }
        Network {
            liabilities: Csr::from_valid_triplets(n, n, &t.liabilities),
            exposures: Csr::from_valid_triplets(n, n, &t.exposures),
            names: t.names,
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
