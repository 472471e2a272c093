//! The events of the log (docs/serve.md#events): price updates and position changes, each with an id
//! chosen by its sender. An id that was already applied is a no-op, so a sender that retries after a
//! lost acknowledgement never applies a change twice.
//!
//! Position changes are absolute: an event sets one position of an account to an amount of tokens
//! (0 closes it) or closes every position of the account, so applying the log in order gives the
//! same state however often it is replayed.

use serde::{Deserialize, Serialize};

/// Longest accepted event id, bytes.
pub const MAX_ID_LEN: usize = 128;

/// One event of the log: its id, when it was received (milliseconds since the Unix epoch) and the
/// change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub at_ms: i64,
    pub change: Change,
}

/// Which side of an account a position is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionSide {
    Collateral,
    Debt,
}

/// What an event changes. Names are the snapshot's ids; amounts are tokens, prices USD per token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// The price of an asset (an exogenous kind: native, governance, stable, rwa), USD per token.
    Price { asset: String, price: f64 },
    /// Sets the account's position in `asset` on `side` to `amount` tokens (0 removes it). An account
    /// not yet in the protocol is opened.
    Position {
        protocol: String,
        account: String,
        asset: String,
        side: PositionSide,
        amount: f64,
    },
    /// Removes every position of the account.
    Close { protocol: String, account: String },
}
