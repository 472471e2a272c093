//! Financial networks on any set of named nodes (docs/formats.md#network-files): interbank liabilities and external
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

mod csr;
mod read;

pub use csr::Csr;

use std::collections::HashMap;

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
