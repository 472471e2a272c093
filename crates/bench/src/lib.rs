//! `cascade-bench`: the benchmark suite of `cascade bench`. It measures every engine on
//! seeded inputs it generates itself, the machine's memory bandwidth in the same run (a STREAM-style
//! copy and triad in Rust, one thread and all cores), and renders the result as a table, JSON or
//! the Markdown of BENCHMARKS.md (with the Python peers' figures, when given).
//!
//! - [`suite`]: the workloads, their sizes, sanity checks and targets; [`suite::run`].
//! - [`stream`]: the bandwidth limits. [`timing`]: median-of-N. [`machine`]: what ran it.
//! - [`networks`]: seeded Eisenberg–Noe networks. [`npy`]: reference files for the peers.
//! - [`render`]: table, Markdown, peer ratios.
#![forbid(unsafe_code)]

pub mod kernels;
pub mod machine;
pub mod networks;
pub mod npy;
pub mod render;
pub mod stream;
pub mod suite;
pub mod timing;

use std::path::PathBuf;

/// An error of the suite.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A sanity check of a workload's output failed.
    #[error("{workload}: sanity check failed: {message}")]
    Check { workload: String, message: String },
    #[error("unknown workload \"{name}\", expected one of: {known}")]
    UnknownWorkload { name: String, known: String },
    #[error("{0}")]
    Config(String),
    /// Generating, writing or loading the benchmark's own inputs failed.
    #[error("benchmark input: {0}")]
    Input(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Stream(#[from] stream::StreamCheckError),
    #[error("network: {0}")]
    Network(#[from] cascade_contagion::network::NetworkError),
    #[error("health scan: {0}")]
    Health(#[from] cascade_protocols::health::HealthError),
}
