//! The one error type of clearing and DebtRank: what the caller gave that the measure cannot use.

/// An error of [`crate::clearing`] or [`crate::debtrank`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ContagionError {
    /// A parameter is out of range.
    #[error("{name} = {found}, expected {expected}")]
    Parameter {
        name: &'static str,
        found: f64,
        expected: &'static str,
    },
    /// Inputs of inconsistent size.
    #[error("{what}: found {found}, expected {expected}")]
    Dimension {
        what: &'static str,
        found: usize,
        expected: usize,
    },
    /// An input value is out of range; `node` is its name (or its index where the input has no
    /// names).
    #[error("{what} of node {node}: found {found}, expected {expected}")]
    Value {
        what: &'static str,
        node: String,
        found: f64,
        expected: &'static str,
    },
    /// Clearing: the sweeps (or GMRES products) of a round hit `max_sweeps`.
    #[error("round {round}: payments still moved by {change:e} (relative) after {sweeps} sweeps, expected ≤ the tolerance")]
    NotConverged {
        round: usize,
        sweeps: usize,
        change: f64,
    },
    /// DebtRank: a shock names a node not in the network.
    #[error("shock: node \"{0}\" is not in the network")]
    UnknownNode(String),
    /// DebtRank: a shock names the same node twice.
    #[error("shock: node \"{0}\" shocked twice, expected each node once")]
    DuplicateShock(String),
}

impl ContagionError {
    pub(crate) fn parameter(name: &'static str, found: f64, expected: &'static str) -> Self {
        ContagionError::Parameter {
            name,
            found,
            expected,
        }
    }
}
