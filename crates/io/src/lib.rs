//! cascade's input and output layer: reading every input — snapshots (TOML/JSON), scenarios, position
//! files (CSV/Parquet) — with diagnostics that name file, line or row, and field; and writing
//! snapshots and position files back, each whole or not at all.
#![forbid(unsafe_code)]

pub mod diag;
pub mod doc;
pub mod load;
pub mod reader;
pub mod snapshot;
pub mod write;

pub use diag::{Diagnostic, Diagnostics, LoadError, Location, Severity};
pub use doc::Format;
pub use load::{load_positions, load_snapshot};
pub use snapshot::{parse_scenario, parse_snapshot, snapshot_from_str, SnapshotDoc};
