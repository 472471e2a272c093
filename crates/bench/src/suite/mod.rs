//! The benchmark suite behind `cascade bench`: every workload on seeded inputs it makes itself,
//! timed median-of-N, checked for sanity, and set against the machine's measured limits and the
//! issue's targets.
//!
//! Each workload builds its inputs untimed, times only the computation, and checks what the last run
//! returned against an independent property (a generated account's drawn health factor, the
//! Eisenberg–Noe fixed point, counts and signs). A failed check is an error: a fast wrong answer
//! is not a benchmark.
//!
//! By concern: `system` (snapshot load, one cascade, Monte Carlo on generated systems), `lending`
//! (the columnar health scan and the first liquidation round), `clearing` (Eisenberg–Noe and the
//! contagion coefficients); the option kernels are in [`crate::kernels`].

mod clearing;
mod lending;
mod system;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use cascade_model::units::fmt_count;
use cascade_model::{Scenario, Snapshot};

use crate::machine::Machine;
use crate::stream::{measure_bandwidth, Bandwidth};
use crate::timing::Timing;
use crate::BenchError;

pub use lending::{first_calls, EVICT_BYTES, HEALTH_MIN_RUNS, SCAN_SHOCK};

/// Every workload, in the order the suite runs them. A workload whose kernel is not in the build is
/// reported as skipped.
pub const WORKLOADS: [&str; 11] = [
    "stream",
    "snapshot_load",
    "cascade",
    "health_scan",
    "liquidation_round",
    "monte_carlo",
    "black76",
    "portfolio_margin",
    "en_dense",
    "en_sparse",
    "contagion_coefficients",
];

/// Sizes of one mode of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sizes {
    /// Elements of each STREAM array (three f64 arrays).
    pub stream_elements: usize,
    /// Accounts of the generated system behind load, cascade, health scan and liquidation.
    pub accounts: usize,
    /// Accounts of the Monte Carlo system.
    pub mc_accounts: usize,
    /// Monte Carlo paths per timed run.
    pub mc_paths: usize,
    /// Options per Black-76 batch.
    pub options: usize,
    /// Nodes of the dense Eisenberg–Noe network.
    pub en_dense_nodes: usize,
    /// Nodes and edges of the sparse Eisenberg–Noe network.
    pub en_sparse_nodes: usize,
    pub en_sparse_edges: usize,
    /// Accounts of the portfolio-margin book (10 options each, 21 × 3 grid).
    pub pm_accounts: usize,
}

impl Sizes {
    /// The sizes: 1M accounts, 100k-account Monte Carlo, n = 2,000 dense, n = 100,000 sparse
    /// with 1M edges; STREAM on three 256 MiB arrays.
    pub const FULL: Sizes = Sizes {
        stream_elements: 1 << 25,
        accounts: 1_000_000,
        mc_accounts: 100_000,
        mc_paths: 400,
        options: 1_000_000,
        en_dense_nodes: 2_000,
        en_sparse_nodes: 100_000,
        en_sparse_edges: 1_000_000,
        pm_accounts: 100_000,
    };
    /// Small enough for an unoptimised build in CI; targets are not judged at these sizes.
    pub const QUICK: Sizes = Sizes {
        stream_elements: 1 << 22,
        accounts: 5_000,
        mc_accounts: 1_000,
        mc_paths: 8,
        options: 10_000,
        en_dense_nodes: 150,
        en_sparse_nodes: 3_000,
        en_sparse_edges: 30_000,
        pm_accounts: 2_000,
    };
}

/// How to run the suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Quick mode: [`Sizes::QUICK`], targets not judged.
    pub quick: bool,
    /// Timed runs per workload (the Monte Carlo takes at most 3).
    pub runs: usize,
    /// Workloads to run (`None`: all).
    pub workloads: Option<Vec<String>>,
    /// Folder for the generated system and the reference inputs/outputs of the Python peers.
    pub emit: Option<PathBuf>,
    /// Seed of every generated input.
    pub seed: u64,
}

impl Config {
    /// The sizes of this mode.
    pub fn sizes(&self) -> Sizes {
        if self.quick {
            Sizes::QUICK
        } else {
            Sizes::FULL
        }
    }

    /// What the workloads read: runs, whether targets are judged, the emit folder, the sizes and
    /// the seed.
    pub fn settings(&self) -> Settings {
        Settings {
            runs: self.runs,
            judged: !self.quick,
            emit: self.emit.clone(),
            sizes: self.sizes(),
            seed: self.seed,
        }
    }

    /// Checks the workload names.
    pub fn validate(&self) -> Result<(), BenchError> {
        if let Some(w) = &self.workloads {
            if let Some(bad) = w.iter().find(|n| !WORKLOADS.contains(&n.as_str())) {
                return Err(BenchError::UnknownWorkload {
                    name: bad.clone(),
                    known: WORKLOADS.join(", "),
                });
            }
        }
        if self.runs == 0 {
            return Err(BenchError::Config("--runs must be at least 1".into()));
        }
        Ok(())
    }

    fn wants(&self, name: &str) -> bool {
        self.workloads
            .as_ref()
            .is_none_or(|w| w.iter().any(|n| n == name))
    }
}

/// What every workload reads from the run's [`Config`] (see [`Config::settings`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Timed runs per workload (some workloads take more or fewer).
    pub runs: usize,
    /// Whether targets are judged (not in quick mode).
    pub judged: bool,
    /// Folder for the generated system and the reference files of the Python peers.
    pub emit: Option<PathBuf>,
    /// The sizes of this mode.
    pub sizes: Sizes,
    /// Seed of every generated input.
    pub seed: u64,
}

/// One measured workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Stable key (one of [`WORKLOADS`]).
    pub name: String,
    /// What it is, in words.
    pub title: String,
    /// Its size, in words.
    pub size: String,
    /// Units of work per run (accounts, paths, options, clearings).
    pub items: f64,
    pub unit: String,
    #[serde(flatten)]
    pub timing: Timing,
    /// `items / median_s`.
    pub throughput_per_s: f64,
    /// Bytes a run reads and writes, where counted.
    pub bytes_per_run: Option<f64>,
    /// `bytes_per_run / median_s` as a share of the triad bandwidth (the better of one thread and
    /// all threads, [`Bandwidth::triad_peak_gb_s`]).
    pub bandwidth_share: Option<f64>,
    /// The target, in words (BENCHMARKS.md states each), if any.
    pub target: Option<String>,
    /// Whether the target is met; `None` when not judged (quick mode, or judged against a peer).
    pub target_met: Option<bool>,
    /// Sanity checks passed.
    pub checks: Vec<String>,
    /// Workload-specific figures.
    pub details: Value,
}

impl Measurement {
    /// `items` units of work per run (of `unit`) timed as `timing`: its throughput
    /// `items / median_s`; no bandwidth figures, target, checks or details yet (set them with
    /// struct update syntax).
    pub fn new(
        name: &str,
        title: impl Into<String>,
        size: String,
        items: f64,
        unit: &str,
        timing: Timing,
    ) -> Measurement {
        Measurement {
            name: name.into(),
            title: title.into(),
            size,
            items,
            unit: unit.into(),
            throughput_per_s: items / timing.median_s,
            bytes_per_run: None,
            bandwidth_share: None,
            target: None,
            target_met: None,
            checks: Vec::new(),
            details: Value::Null,
            timing,
        }
    }
}

/// A workload that was not run, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// A whole run of the suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `quick` or `full`.
    pub mode: String,
    pub cascade_version: String,
    pub machine: Machine,
    pub sizes: Sizes,
    pub seed: u64,
    /// The memory-bandwidth limits measured in the same run.
    pub bandwidth: Option<Bandwidth>,
    pub workloads: Vec<Measurement>,
    pub skipped: Vec<Skipped>,
    /// Total wall time of the run, seconds.
    pub wall_s: f64,
}

impl Report {
    /// The measurement of workload `name`.
    pub fn get(&self, name: &str) -> Option<&Measurement> {
        self.workloads.iter().find(|m| m.name == name)
    }
}

/// What the suite needs from the caller: the base system the generator draws from (the built-in
/// one) and the stress scenario of the cascade workload (eth-crash).
pub struct Inputs<'a> {
    pub base: &'a Snapshot,
    pub scenario: &'a Scenario,
}

fn check(workload: &str, ok: bool, message: impl FnOnce() -> String) -> Result<(), BenchError> {
    if ok {
        Ok(())
    } else {
        Err(BenchError::Check {
            workload: workload.into(),
            message: message(),
        })
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BenchError + '_ {
    move |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The generated system shared by the load, cascade, health and liquidation workloads.
struct Big {
    snapshot: Snapshot,
    /// Each account's drawn health factor at snapshot prices (generator order).
    target_hf: Vec<f64>,
    /// Where the files are, when written.
    dir: Option<PathBuf>,
}

pub(crate) struct Runner<'a> {
    settings: Settings,
    inputs: &'a Inputs<'a>,
    bandwidth: Option<Bandwidth>,
    big: Option<Big>,
    /// Holds the temporary folder of the generated files for the run's length.
    _tmp: Option<tempfile::TempDir>,
    progress: &'a mut dyn FnMut(&str),
}

/// Runs the suite. `progress` receives one line per step (the CLI prints them to stderr).
pub fn run(
    config: &Config,
    inputs: &Inputs,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, BenchError> {
    config.validate()?;
    let t0 = std::time::Instant::now();
    if let Some(dir) = &config.emit {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut r = Runner {
        settings: config.settings(),
        inputs,
        bandwidth: None,
        big: None,
        _tmp: None,
        progress,
    };
    let mut workloads = Vec::new();
    let mut skipped = Vec::new();
    for name in WORKLOADS {
        if !config.wants(name) {
            continue;
        }
        (r.progress)(&format!("bench: {name}"));
        match r.workload(name)? {
            Outcome::Measured(m) => workloads.push(*m),
            Outcome::Limits => {}
            Outcome::Skipped(reason) => skipped.push(Skipped {
                name: name.into(),
                reason,
            }),
        }
    }
    Ok(Report {
        mode: if config.quick { "quick" } else { "full" }.into(),
        cascade_version: env!("CARGO_PKG_VERSION").into(),
        machine: Machine::detect(),
        sizes: r.settings.sizes,
        seed: config.seed,
        bandwidth: r.bandwidth,
        workloads,
        skipped,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}

enum Outcome {
    Measured(Box<Measurement>),
    Limits,
    Skipped(String),
}

impl Runner<'_> {
    fn workload(&mut self, name: &str) -> Result<Outcome, BenchError> {
        Ok(match name {
            "stream" => {
                let runs = self.settings.runs.max(3);
                self.bandwidth = Some(measure_bandwidth(
                    self.settings.sizes.stream_elements,
                    runs,
                )?);
                Outcome::Limits
            }
            "snapshot_load" => Outcome::Measured(Box::new(self.snapshot_load()?)),
            "cascade" => Outcome::Measured(Box::new(self.cascade()?)),
            "health_scan" => Outcome::Measured(Box::new(self.health_scan()?)),
            "liquidation_round" => Outcome::Measured(Box::new(self.liquidation_round()?)),
            "monte_carlo" => Outcome::Measured(Box::new(self.monte_carlo()?)),
            "black76" => match crate::kernels::black76(&self.settings)? {
                Some(m) => Outcome::Measured(Box::new(m)),
                None => Outcome::Skipped("the Black-76 batch kernel is not in this build".into()),
            },
            "portfolio_margin" => match crate::kernels::portfolio_margin(&self.settings)? {
                Some(m) => Outcome::Measured(Box::new(m)),
                None => Outcome::Skipped(
                    "the portfolio-margin kernel (docs/clearinghouse.md#portfolio-margin) is not in this build yet".into(),
                ),
            },
            "en_dense" => Outcome::Measured(Box::new(self.en_dense()?)),
            "en_sparse" => Outcome::Measured(Box::new(self.en_sparse()?)),
            "contagion_coefficients" => Outcome::Measured(Box::new(self.coefficients()?)),
            other => {
                return Err(BenchError::UnknownWorkload {
                    name: other.into(),
                    known: WORKLOADS.join(", "),
                })
            }
        })
    }

    /// The generated system, written to disk (the emit folder or a temporary one) and loaded back
    /// when `load` is set, else kept in memory as generated.
    fn big(&mut self, from_files: bool) -> Result<&Big, BenchError> {
        let wants_files = from_files || self.settings.emit.is_some();
        if self
            .big
            .as_ref()
            .is_some_and(|b| b.dir.is_some() || !wants_files)
        {
            return self.big.as_ref().ok_or_else(unreachable_big);
        }
        let n = self.settings.sizes.accounts;
        (self.progress)(&format!(
            "bench: generating {} accounts (seed {})",
            fmt_count(n),
            self.settings.seed
        ));
        let g = cascade_gen::generate_detailed(self.inputs.base, n, self.settings.seed);
        let big = if wants_files {
            let dir = match &self.settings.emit {
                Some(d) => d.clone(),
                None => {
                    let t = tempfile::tempdir().map_err(io_err(Path::new("<tempdir>")))?;
                    let p = t.path().to_path_buf();
                    self._tmp = Some(t);
                    p
                }
            };
            write_system(&dir, &g.snapshot)?;
            let (snapshot, _) = load(&dir.join("snapshot.toml"))?;
            Big {
                snapshot,
                target_hf: g.target_health_factor,
                dir: Some(dir),
            }
        } else {
            Big {
                snapshot: g.snapshot,
                target_hf: g.target_health_factor,
                dir: None,
            }
        };
        self.big = Some(big);
        self.big.as_ref().ok_or_else(unreachable_big)
    }
}

#[cold]
fn unreachable_big() -> BenchError {
    BenchError::Config("internal: generated system missing".into())
}

fn load(path: &Path) -> Result<(Snapshot, cascade_io::Diagnostics), BenchError> {
    cascade_io::load::load_snapshot(path).map_err(|e| BenchError::Input(e.diagnostics.to_string()))
}

fn write_system(dir: &Path, s: &Snapshot) -> Result<(), BenchError> {
    let pos = dir.join("positions.parquet");
    cascade_io::write::write_positions_parquet(&pos, s)
        .map_err(|e| BenchError::Input(format!("writing {}: {e}", pos.display())))?;
    let toml = cascade_io::write::snapshot_to_toml(s, &["positions.parquet"], false);
    let path = dir.join("snapshot.toml");
    cascade_io::write::write_atomic(&path, toml.as_bytes())
        .map_err(|e| BenchError::Input(format!("writing {}: {e}", path.display())))
}
