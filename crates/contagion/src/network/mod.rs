//! Financial networks on any set of named nodes (docs/formats.md#network-files): interbank liabilities and external
//! balance sheets for Eisenberg–Noe clearing, exposures and equity for DebtRank.
//!
//! Networks are read from four CSV files (liabilities, external assets, exposures, equity) by
//! `cascade_io::network` into [`NetworkTables`] (docs/formats.md#network-files), and turned into a
//! [`Network`] with `Network::try_from`; [`NetworkBuilder`] builds one in memory. Every amount is
//! finite and ≥ 0.
//!
//! Matrices are stored as compressed sparse rows ([`Csr`]).
//!
//! # Examples
//! ```
//! use cascade_contagion::network::{Network, NetworkFile, NetworkTables};
//! let mut t = NetworkTables::new();
//! t.read_from(NetworkFile::Liabilities, "L.csv", "debtor,creditor,amount\nA,B,2\nB,A,2.2\n".as_bytes())
//!     .unwrap();
//! t.read_from(NetworkFile::ExternalAssets, "E.csv", "node,external_assets\nA,1\nB,1\n".as_bytes())
//!     .unwrap();
//! let net = Network::try_from(t).unwrap();
//! assert_eq!(net.names, ["A", "B"]);
//! assert_eq!(net.liabilities.get(1, 0), 2.2);
//! ```

mod csr;

pub use cascade_io::network::{NetworkFile, NetworkTables};
pub use csr::Csr;

/// An error building a network in memory (reading files: `cascade_io::network`, whose errors name
/// the file, row and column).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
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

/// Collects nodes, edges and balance sheets in memory into a [`Network`]: the in-memory side of
/// [`NetworkTables`], whose files `cascade_io::network` reads (every amount checked here, as the
/// reader checks a file's).
#[derive(Debug, Default, Clone)]
pub struct NetworkBuilder {
    tables: NetworkTables,
}

impl From<NetworkTables> for NetworkBuilder {
    fn from(tables: NetworkTables) -> Self {
        Self { tables }
    }
}

/// A network from tables as read (`cascade_io::network::read_clearing_network` and
/// `read_debtrank_network`); every index and amount is checked again, since the tables' fields are
/// public.
impl TryFrom<NetworkTables> for Network {
    type Error = NetworkError;

    fn try_from(t: NetworkTables) -> Result<Self, NetworkError> {
        let n = t.names.len();
        let balance_sheets = t.external.len().max(t.equity.len());
        if balance_sheets > n {
            return Err(NetworkError::Value {
                what: "balance sheets".into(),
                found: balance_sheets.to_string(),
                expected: format!("at most one per node ({n})"),
            });
        }
        let liabilities = Csr::from_triplets(n, n, &t.liabilities)?;
        let exposures = Csr::from_triplets(n, n, &t.exposures)?;
        let mut b = NetworkBuilder::new();
        for name in &t.names {
            b.node(name);
        }
        for (i, e) in t.external.iter().enumerate() {
            if let Some((a, l)) = *e {
                b.set_external(i, a, l)?;
            }
        }
        for (i, e) in t.equity.iter().enumerate() {
            if let Some((q, w)) = *e {
                b.set_equity(i, q, w)?;
            }
        }
        Ok(b.assemble(liabilities, exposures))
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
        if i < self.len() {
            Ok(())
        } else {
            Err(NetworkError::Value {
                what: what.into(),
                found: i.to_string(),
                expected: format!("a node index < {}", self.len()),
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
        self.tables.set_external(node, assets, liabilities);
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
        self.tables.set_equity(node, equity, weight);
        Ok(())
    }

    /// The network: matrices in CSR form (duplicate edges summed), absent balance-sheet entries 0.
    pub fn build(self) -> Network {
        let n = self.len();
        let liabilities = Csr::from_valid_triplets(n, n, &self.tables.liabilities);
        let exposures = Csr::from_valid_triplets(n, n, &self.tables.exposures);
        self.assemble(liabilities, exposures)
    }

    /// The network with matrices already built.
    fn assemble(self, liabilities: Csr, exposures: Csr) -> Network {
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
            liabilities,
            exposures,
            names: t.names,
            external_assets,
            external_liabilities,
            equity,
            weight,
        }
    }
}
