//! cascade's input and output layer: reading every input — snapshots (TOML/JSON), scenarios, position
//! files (CSV/Parquet) — with diagnostics that name file, line or row, and field; and writing
//! snapshots and position files back, each whole or not at all.
#![forbid(unsafe_code)]

pub mod builtin;
pub mod diag;
pub mod doc;
pub mod load;
pub mod network;
pub mod options;
pub mod positions;
pub mod problem;
mod quiet;
pub mod reader;
mod record;
mod row_errors;
pub mod scenario;
pub mod snapshot;
pub mod write;

pub use diag::{Diagnostic, Diagnostics, LoadError, Location, Severity};
pub use doc::Format;
pub use load::{load_scenario, load_snapshot};
pub use positions::{load_positions, read_positions};
pub use problem::{NameKind, Problem};
pub use scenario::parse_scenario;
pub use snapshot::{parse_snapshot, snapshot_from_str, SnapshotDoc};
