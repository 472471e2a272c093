//! Reading real protocol state over Ethereum JSON-RPC at a pinned block (docs/import.md): an Aave v3
//! market's reserves, e-mode categories, oracle prices and every user's positions, turned into a
//! cascade snapshot and positions file.
#![forbid(unsafe_code)]

pub mod aave;
pub mod dex;
pub mod follow;
pub mod multicall;
pub mod rpc;
pub mod snapshot;

/// A fault reading the chain. Network faults (exit 1) are told from bad arguments (exit 2) by
/// [`ChainError::is_usage`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The endpoint could not be reached or kept failing.
    #[error("{call}: cannot reach {url}: {detail}")]
    Unreachable {
        url: String,
        call: String,
        detail: String,
    },
    /// The endpoint answered the request with an error (a reverted call, an unknown method, …).
    #[error("{call}: {message}")]
    Call { call: String, message: String },
    /// The answer is not what the protocol promises (not JSON, wrong lengths, undecodable data).
    #[error("{call}: malformed answer: {detail}")]
    Malformed { call: String, detail: String },
    /// The block asked for does not exist on this chain.
    #[error("block {block} does not exist on this endpoint")]
    MissingBlock { block: u64 },
    /// An address that does not behave as the contract it was given as.
    #[error("{address} is not {expected}: {detail}")]
    NotTheContract {
        address: String,
        expected: String,
        detail: String,
    },
    /// A bad argument (an unreadable users file, a malformed address, …).
    #[error("{0}")]
    Usage(String),
}

impl ChainError {
    /// Whether the fault is the caller's (a bad argument or address: exit 2) rather than the
    /// network's (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ChainError::Usage(_)
                | ChainError::NotTheContract { .. }
                | ChainError::MissingBlock { .. }
        )
    }
}
