//! The benchmark suite behind `cascade bench`: every workload on seeded inputs it makes itself,
//! timed median-of-N, checked for sanity, and set against the machine's measured limits and the
//! issue's targets.
//!
//! Each workload builds its inputs untimed, times only the computation, and checks what the last run
//! returned against an independent property (a generated account's drawn health factor, the
//! Eisenberg–Noe fixed point, counts and signs). A failed check is an error: a fast wrong answer
//! is not a benchmark.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use cascade_contagion::clearing::{clear_matrix, Clearing, ClearingOptions};
use cascade_model::{AssetKind, Scenario, Snapshot};
use cascade_protocols::health::HealthColumns;
use cascade_protocols::lending::{next_step, LendingPool, LiquidationRules, Step};

use crate::machine::Machine;
use crate::networks::{self, ClearingInput};
use crate::npy::write_npy;
use crate::stream::{measure_bandwidth, Bandwidth};
use crate::timing::{measure, measure_after, Timing};
use crate::BenchError;

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
    /// The target, in words (issue 7 / DESIGN), if any.
    pub target: Option<String>,
    /// Whether the target is met; `None` when not judged (quick mode, or judged against a peer).
    pub target_met: Option<bool>,
    /// Sanity checks passed.
    pub checks: Vec<String>,
    /// Workload-specific figures.
    pub details: Value,
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

/// `1,234,567`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes read before each timed health scan to evict its data from the caches (four times
/// the 32 MiB last-level cache of the project's machine).
pub const EVICT_BYTES: usize = 128 << 20;

/// Timed runs of the health scan at least, in a full run (a scan takes milliseconds).
pub const HEALTH_MIN_RUNS: usize = 21;

/// The price shock of the scanning workloads: every asset that is not a stable, a CDP stable, a
/// tokenised bill, a receipt or an LP token falls 30%.
pub const SCAN_SHOCK: f64 = 0.7;

fn shocked_prices(s: &Snapshot, prices: &[f64]) -> Vec<f64> {
    prices
        .iter()
        .zip(&s.assets)
        .map(|(p, a)| match a.kind {
            AssetKind::Stable
            | AssetKind::CdpStable
            | AssetKind::Rwa
            | AssetKind::Receipt
            | AssetKind::Lp => *p,
            _ => p * SCAN_SHOCK,
        })
        .collect()
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
    config: &'a Config,
    sizes: Sizes,
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
        config,
        sizes: config.sizes(),
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
        sizes: r.sizes,
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
                let runs = self.config.runs.max(3);
                self.bandwidth = Some(measure_bandwidth(self.sizes.stream_elements, runs)?);
                Outcome::Limits
            }
            "snapshot_load" => Outcome::Measured(Box::new(self.snapshot_load()?)),
            "cascade" => Outcome::Measured(Box::new(self.cascade()?)),
            "health_scan" => Outcome::Measured(Box::new(self.health_scan()?)),
            "liquidation_round" => Outcome::Measured(Box::new(self.liquidation_round()?)),
            "monte_carlo" => Outcome::Measured(Box::new(self.monte_carlo()?)),
            "black76" => match crate::kernels::black76(self)? {
                Some(m) => Outcome::Measured(Box::new(m)),
                None => Outcome::Skipped("the Black-76 batch kernel is not in this build".into()),
            },
            "portfolio_margin" => match crate::kernels::portfolio_margin(self)? {
                Some(m) => Outcome::Measured(Box::new(m)),
                None => Outcome::Skipped(
                    "the portfolio-margin kernel (DESIGN §6) is not in this build yet".into(),
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

    fn runs(&self) -> usize {
        self.config.runs
    }

    fn judged(&self) -> bool {
        !self.config.quick
    }

    /// The generated system, written to disk (the emit folder or a temporary one) and loaded back
    /// when `load` is set, else kept in memory as generated.
    fn big(&mut self, from_files: bool) -> Result<&Big, BenchError> {
        let wants_files = from_files || self.config.emit.is_some();
        if self
            .big
            .as_ref()
            .is_some_and(|b| b.dir.is_some() || !wants_files)
        {
            return self.big.as_ref().ok_or_else(unreachable_big);
        }
        let n = self.sizes.accounts;
        (self.progress)(&format!(
            "bench: generating {} accounts (seed {})",
            thousands(n),
            self.config.seed
        ));
        let g = cascade_gen::generate_detailed(self.inputs.base, n, self.config.seed);
        let big = if wants_files {
            let dir = match &self.config.emit {
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

    fn snapshot_load(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.runs();
        let judged = self.judged();
        let big = self.big(true)?;
        let dir = big.dir.clone().ok_or_else(unreachable_big)?;
        let path = dir.join("snapshot.toml");
        let expected_accounts = big.snapshot.accounts.len();
        let expected_positions = big.snapshot.positions.len();
        let parquet_bytes = std::fs::metadata(dir.join("positions.parquet"))
            .map(|m| m.len())
            .unwrap_or(0);
        let (timing, loaded) = measure(runs, || load(&path));
        let (s, _) = loaded?;
        check(
            "snapshot_load",
            s.accounts.len() == expected_accounts,
            || {
                format!(
                    "loaded {} accounts, expected {expected_accounts}",
                    s.accounts.len()
                )
            },
        )?;
        check(
            "snapshot_load",
            s.positions.len() == expected_positions,
            || {
                format!(
                    "loaded {} positions, expected {expected_positions}",
                    s.positions.len()
                )
            },
        )?;
        let n = s.accounts.len();
        // A million accounts' strings go back to the allocator outside the timing.
        drop(s);
        Ok(Measurement {
            name: "snapshot_load".into(),
            title: "snapshot load (TOML + Parquet)".into(),
            size: format!(
                "{} accounts, {} positions, {:.1} MB Parquet",
                thousands(n),
                thousands(expected_positions),
                parquet_bytes as f64 / 1e6
            ),
            items: n as f64,
            unit: "accounts".into(),
            throughput_per_s: n as f64 / timing.median_s,
            bytes_per_run: None,
            bandwidth_share: None,
            target: Some("≤ 1.5 s at 1M accounts".into()),
            target_met: judged.then_some(timing.median_s <= 1.5),
            checks: vec!["account and position counts equal the generated system's".into()],
            details: json!({"parquet_bytes": parquet_bytes}),
            timing,
        })
    }

    fn cascade(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.runs();
        let judged = self.judged();
        let scenario = self.inputs.scenario;
        let big = self.big(false)?;
        let s = &big.snapshot;
        let options = cascade_engine::Options {
            breakers: true,
            detail: true,
        };
        let (timing, r) = measure(runs, || cascade_engine::run_with(s, scenario, &options));
        let sys = &r.system;
        check("cascade", sys.rounds >= 1, || "no round ran".into())?;
        check(
            "cascade",
            sys.accounts_liquidated > 0 && (sys.accounts_liquidated as usize) <= s.accounts.len(),
            || {
                format!(
                    "{} accounts liquidated of {}",
                    sys.accounts_liquidated,
                    s.accounts.len()
                )
            },
        )?;
        check(
            "cascade",
            sys.bad_debt_usd.is_finite() && sys.bad_debt_usd >= 0.0,
            || format!("bad debt {}", sys.bad_debt_usd),
        )?;
        let n = s.accounts.len();
        Ok(Measurement {
            name: "cascade".into(),
            title: format!("one cascade ({}), prepared state included", scenario.name),
            size: format!("{} accounts", thousands(n)),
            items: n as f64,
            unit: "accounts".into(),
            throughput_per_s: n as f64 / timing.median_s,
            bytes_per_run: None,
            bandwidth_share: None,
            target: Some("≤ 1 s at 1M accounts".into()),
            target_met: judged.then_some(timing.median_s <= 1.0),
            checks: vec![
                "at least one round; some accounts liquidated, no more than exist; bad debt finite and ≥ 0".into(),
            ],
            details: json!({
                "rounds": sys.rounds,
                "accounts_liquidated": sys.accounts_liquidated,
                "bad_debt_usd": sys.bad_debt_usd,
                "liquidated_debt_usd": sys.liquidated_debt_usd,
            }),
            timing,
        })
    }

    fn health_scan(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.runs();
        let judged = self.judged();
        let triad = self.bandwidth.as_ref().map(Bandwidth::triad_peak_gb_s);
        let emit = self.config.emit.clone();
        let big = self.big(false)?;
        let s = &big.snapshot;
        let cols = HealthColumns::from_snapshot(s);
        let n = cols.accounts();
        // Check 1: at snapshot prices every account has the health factor the generator drew for it.
        let p0 = cascade_gen::snapshot_prices(s);
        let mut out = vec![0.0; n];
        cols.scan_into(&p0, &mut out)?;
        check(
            "health_scan",
            big.target_hf.len() == s.accounts.len(),
            || "generator targets missing".into(),
        )?;
        for (k, hf) in out.iter().enumerate() {
            let acc = cols.account[k] as usize;
            let want = big.target_hf[acc];
            check("health_scan", (hf - want).abs() <= 1e-9 * want, || {
                format!("account {acc}: HF {hf} at snapshot prices, generator drew {want}")
            })?;
        }
        // The timed scan, at shocked prices.
        let prices = shocked_prices(s, &p0);
        // A scan takes milliseconds: more runs, so the median resists a busy machine.
        let runs = if judged {
            runs.max(HEALTH_MIN_RUNS)
        } else {
            runs
        };
        // Every run starts from memory, not from the last-level cache: a buffer of EVICT_BYTES is
        // read (untimed) before each. Read, not written: dirty lines left in the cache would be
        // written back during the timed scan and steal its bandwidth.
        let evict: Vec<u64> = (0..EVICT_BYTES / 8)
            .into_par_iter()
            .map(|i| i as u64)
            .collect();
        let (timing, below) = measure_after(
            runs,
            || {
                std::hint::black_box(evict.par_iter().copied().reduce(|| 0, u64::wrapping_add));
            },
            || cols.scan_into(&prices, &mut out),
        );
        drop(evict);
        let below = below?;
        // Check 2: the engine's own HF on a sample of accounts (rows are grouped by entry count:
        // find each account's row).
        let mut row_of = vec![usize::MAX; s.accounts.len()];
        for (row, &a) in cols.account.iter().enumerate() {
            row_of[a as usize] = row;
        }
        for pool in &lending_pools(s) {
            let step = (pool.accounts() / 1000).max(1);
            for k in (0..pool.accounts()).step_by(step) {
                let engine = cascade_protocols::lending::health_factor(pool.entries_of(k), &prices);
                let got = out[row_of[pool.account[k] as usize]];
                check(
                    "health_scan",
                    (got - engine).abs() <= 1e-12 * engine.abs()
                        || (got.is_infinite() && engine.is_infinite()),
                    || {
                        format!(
                            "account {k} of {}: scan {got}, engine {engine}",
                            pool.accounts()
                        )
                    },
                )?;
            }
        }
        check("health_scan", below > 0 && below < n, || {
            format!("{below} of {n} accounts below HF 1 after a 30% shock")
        })?;
        if let Some(dir) = &emit {
            let idx: Vec<f64> = cols.account.iter().map(|&a| f64::from(a)).collect();
            let p = dir.join("health_account_index.npy");
            write_npy(&p, &idx, &[n]).map_err(io_err(&p))?;
            let p = dir.join("health_hf.npy");
            write_npy(&p, &out, &[n]).map_err(io_err(&p))?;
            write_lending_json(dir, s, &prices)?;
        }
        let bytes = cols.bytes_touched() as f64;
        let gb_s = bytes / timing.median_s / 1e9;
        let share = triad.map(|t| gb_s / t);
        Ok(Measurement {
            name: "health_scan".into(),
            title: "health-factor scan (columnar, from memory)".into(),
            size: format!(
                "{} accounts, {} entries",
                thousands(n),
                thousands(cols.entries())
            ),
            items: n as f64,
            unit: "accounts".into(),
            throughput_per_s: n as f64 / timing.median_s,
            bytes_per_run: Some(bytes),
            bandwidth_share: share,
            target: Some("≥ 50% of the measured triad bandwidth".into()),
            target_met: if judged {
                share.map(|x| x >= 0.5)
            } else {
                None
            },
            checks: vec![
                "at snapshot prices every account's HF equals the generator's drawn HF (1e-9)"
                    .into(),
                "equals the lending engine's HF on a sample of accounts (1e-12)".into(),
            ],
            details: json!({"gb_per_s": gb_s, "accounts_below_1": below, "price_shock": SCAN_SHOCK,
                "evicted_bytes_before_each_run": EVICT_BYTES}),
            timing,
        })
    }

    fn liquidation_round(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.runs();
        let emit = self.config.emit.clone();
        let big = self.big(false)?;
        let s = &big.snapshot;
        let p0 = cascade_gen::snapshot_prices(s);
        let prices = shocked_prices(s, &p0);
        let pools = lending_pools(s);
        let rules: Vec<LiquidationRules> = s
            .protocols
            .iter()
            .filter_map(|p| p.lending().map(LiquidationRules::of))
            .collect();
        let n: usize = pools.iter().map(LendingPool::accounts).sum();
        let (timing, (repay, seize)) = measure(runs, || first_calls(&pools, &rules, &prices));
        // Checks: an account is liquidated iff its HF < 1 and it has seizable collateral; the
        // liquidator never seizes less than it repays (bonus ≥ 0).
        let mut k0 = 0;
        let mut liquidated = 0usize;
        for pool in &pools {
            for k in 0..pool.accounts() {
                let hf = cascade_protocols::lending::health_factor(pool.entries_of(k), &prices);
                let (r, z) = (repay[k0 + k], seize[k0 + k]);
                if r > 0.0 {
                    liquidated += 1;
                    check(
                        "liquidation_round",
                        hf < 1.0 && z >= r * (1.0 - 1e-12),
                        || format!("account {k}: HF {hf}, repay {r}, seize {z}"),
                    )?;
                } else {
                    check("liquidation_round", z == 0.0, || {
                        format!("account {k}: seize {z} without repay")
                    })?;
                }
            }
            k0 += pool.accounts();
        }
        check("liquidation_round", liquidated > 0, || {
            "nobody liquidatable".into()
        })?;
        if let Some(dir) = &emit {
            let idx: Vec<f64> = pools
                .iter()
                .flat_map(|p| p.account.iter().map(|&a| f64::from(a)))
                .collect();
            let p = dir.join("liquidation_account_index.npy");
            write_npy(&p, &idx, &[n]).map_err(io_err(&p))?;
            let p = dir.join("liquidation_repay_usd.npy");
            write_npy(&p, &repay, &[n]).map_err(io_err(&p))?;
            let p = dir.join("liquidation_seize_usd.npy");
            write_npy(&p, &seize, &[n]).map_err(io_err(&p))?;
        }
        Ok(Measurement {
            name: "liquidation_round".into(),
            title: "one-round liquidation decision (first call per account)".into(),
            size: format!("{} accounts", thousands(n)),
            items: n as f64,
            unit: "accounts".into(),
            throughput_per_s: n as f64 / timing.median_s,
            bytes_per_run: None,
            bandwidth_share: None,
            target: None,
            target_met: None,
            checks: vec!["liquidated iff HF < 1 with seizable collateral; seized ≥ repaid".into()],
            details: json!({"accounts_liquidated": liquidated,
                "repaid_usd": repay.iter().sum::<f64>(), "seized_usd": seize.iter().sum::<f64>()}),
            timing,
        })
    }

    fn monte_carlo(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.runs().min(3);
        let judged = self.judged();
        let n = self.sizes.mc_accounts;
        (self.progress)(&format!(
            "bench: generating {} accounts for the Monte Carlo",
            thousands(n)
        ));
        let s = cascade_gen::generate(self.inputs.base, n, self.config.seed + 1);
        let spec = cascade_risk::simulate::SimulationSpec {
            paths: self.sizes.mc_paths,
            horizon_days: 1.0,
            seed: self.config.seed,
            dist: cascade_risk::paths::Dist::Normal,
            jumps: Vec::new(),
            antithetic: false,
            alphas: cascade_risk::simulate::SimulationSpec::DEFAULT_ALPHAS.to_vec(),
            breakers: true,
            max_rounds: 50,
        };
        let (timing, sim) = measure(runs, || cascade_risk::simulate::simulate(&s, &spec, &|| {}));
        let sim = sim.map_err(|e| BenchError::Check {
            workload: "monte_carlo".into(),
            message: e.to_string(),
        })?;
        check("monte_carlo", sim.paths.len() == spec.paths, || {
            format!("{} paths, expected {}", sim.paths.len(), spec.paths)
        })?;
        check(
            "monte_carlo",
            sim.paths
                .iter()
                .all(|p| p.loss_usd.is_finite() && p.loss_usd >= 0.0 && p.rounds >= 1),
            || "a path with a negative or non-finite loss, or no round".into(),
        )?;
        let per_s = spec.paths as f64 / timing.median_s;
        let t10k = 10_000.0 / per_s;
        std::mem::forget(s);
        Ok(Measurement {
            name: "monte_carlo".into(),
            title: "Monte Carlo, full cascade per path".into(),
            size: format!("{} paths × {} accounts", spec.paths, thousands(n)),
            items: spec.paths as f64,
            unit: "paths".into(),
            throughput_per_s: per_s,
            bytes_per_run: None,
            bandwidth_share: None,
            target: Some("10,000 paths on 100k accounts ≤ 60 s".into()),
            target_met: judged.then_some(t10k <= 60.0),
            checks: vec!["every path ran ≥ 1 round with a finite loss ≥ 0".into()],
            details: json!({"seconds_per_10k_paths": t10k,
                "paths_with_loss": sim.paths.iter().filter(|p| p.loss_usd > 0.0).count()}),
            timing,
        })
    }

    fn clearing(
        &mut self,
        name: &str,
        net: &ClearingInput,
        size: String,
        target_s: f64,
    ) -> Result<(Measurement, Clearing), BenchError> {
        let runs = self.runs();
        let judged = self.judged();
        let opts = ClearingOptions::default();
        let (timing, c) = measure(runs, || {
            clear_matrix(
                &net.liabilities,
                &net.external_assets,
                &net.external_liabilities,
                &opts,
            )
        });
        let c = c.map_err(|e| BenchError::Check {
            workload: name.into(),
            message: e.to_string(),
        })?;
        let worst = fixed_point_residual(net, &c);
        check(name, worst <= 1e-9, || {
            format!("clearing vector is off the fixed point by {worst:e} (relative to p̄)")
        })?;
        let defaults = c.default_round.iter().filter(|r| r.is_some()).count();
        check(name, defaults > 0 && c.rounds >= 1, || {
            "no default: the network tests nothing".into()
        })?;
        Ok((
            Measurement {
                name: name.into(),
                title: "Eisenberg–Noe clearing (fictitious default)".into(),
                size,
                items: 1.0,
                unit: "clearings".into(),
                throughput_per_s: 1.0 / timing.median_s,
                bytes_per_run: None,
                bandwidth_share: None,
                target: Some(format!("≤ {target_s} s")),
                target_met: judged.then_some(timing.median_s <= target_s),
                checks: vec![
                    "p = min(p̄, max(0, e + Πᵀp)) to 1e-9·p̄ for every node; 0 ≤ p ≤ p̄".into(),
                ],
                details: json!({"rounds": c.rounds, "sweeps": c.sweeps, "defaults": defaults,
                    "max_fixed_point_residual": worst}),
                timing,
            },
            c,
        ))
    }

    fn en_dense(&mut self) -> Result<Measurement, BenchError> {
        let n = self.sizes.en_dense_nodes;
        let net = networks::dense(n, self.config.seed + 6)?;
        let size = format!(
            "n = {}, {} liabilities",
            thousands(n),
            thousands(net.liabilities.nnz())
        );
        let (mut m, c) = self.clearing("en_dense", &net, size, 1.0)?;
        m.target = Some("≤ 1 s (issue 5; the ≥ 20× numpy target is judged with the peers)".into());
        if let Some(dir) = &self.config.emit {
            let dense: Vec<f64> = net.liabilities.to_dense().into_iter().flatten().collect();
            for (file, v, shape) in [
                ("en_dense_liabilities.npy", &dense, vec![n, n]),
                (
                    "en_dense_external_assets.npy",
                    &net.external_assets,
                    vec![n],
                ),
                (
                    "en_dense_external_liabilities.npy",
                    &net.external_liabilities,
                    vec![n],
                ),
                ("en_dense_payments.npy", &c.payments, vec![n]),
            ] {
                let p = dir.join(file);
                write_npy(&p, v, &shape).map_err(io_err(&p))?;
            }
        }
        Ok(m)
    }

    fn en_sparse(&mut self) -> Result<Measurement, BenchError> {
        let (n, e) = (self.sizes.en_sparse_nodes, self.sizes.en_sparse_edges);
        let net = networks::sparse(n, e, self.config.seed + 10)?;
        let size = format!(
            "n = {}, {} liabilities",
            thousands(n),
            thousands(net.liabilities.nnz())
        );
        Ok(self.clearing("en_sparse", &net, size, 2.0)?.0)
    }

    fn coefficients(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.runs();
        let judged = self.judged();
        let s = self.inputs.base;
        let prepared = cascade_engine::Prepared::new(s);
        let (timing, coef) = measure(runs, || {
            cascade_contagion::snapshot::contagion_coefficients(s, &prepared)
        });
        check("contagion_coefficients", !coef.is_empty(), || {
            "an empty matrix".into()
        })?;
        check(
            "contagion_coefficients",
            coef.iter()
                .filter_map(|c| c.threshold_drop)
                .all(|d| (0.0..=1.0).contains(&d)),
            || "a threshold drop outside [0, 1]".into(),
        )?;
        let found = coef.iter().filter(|c| c.threshold_drop.is_some()).count();
        check("contagion_coefficients", found > 0, || {
            "no protocol realises bad debt at any drop".into()
        })?;
        Ok(Measurement {
            name: "contagion_coefficients".into(),
            title: "contagion-coefficient matrix (bisection over the cascade)".into(),
            size: format!("{} asset × protocol pairs, {} system", coef.len(), s.name),
            items: coef.len() as f64,
            unit: "coefficients".into(),
            throughput_per_s: coef.len() as f64 / timing.median_s,
            bytes_per_run: None,
            bandwidth_share: None,
            target: Some("≤ 5 s on the built-in system (issue 5)".into()),
            target_met: judged.then_some(timing.median_s <= 5.0),
            checks: vec!["non-empty; thresholds in [0, 1]; some protocol realises bad debt".into()],
            details: json!({"with_threshold": found}),
            timing,
        })
    }

    /// For the kernels module: runs, judged, emit folder.
    pub(crate) fn settings(&self) -> (usize, bool, Option<PathBuf>, Sizes, u64) {
        (
            self.runs(),
            self.judged(),
            self.config.emit.clone(),
            self.sizes,
            self.config.seed,
        )
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

fn lending_pools(s: &Snapshot) -> Vec<LendingPool> {
    s.protocols
        .iter()
        .enumerate()
        .filter(|(_, p)| p.lending().is_some())
        .map(|(i, _)| LendingPool::new(s, i))
        .collect()
}

/// The first liquidation call of round 1 for every account of `pools` (DESIGN §4 via
/// [`next_step`]): repaid and seized USD at `prices`, 0 for a healthy account or bad debt.
/// Liquidator profitability is not checked (it needs the curves).
pub fn first_calls(
    pools: &[LendingPool],
    rules: &[LiquidationRules],
    prices: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let mut repay = Vec::new();
    let mut seize = Vec::new();
    for (pool, rules) in pools.iter().zip(rules) {
        let out: Vec<(f64, f64)> = (0..pool.accounts())
            .into_par_iter()
            .with_min_len(4096)
            .map(|k| {
                let es = pool.entries_of(k);
                match next_step(es, rules, prices) {
                    Step::Liquidate {
                        collateral,
                        debt,
                        repay,
                        seize,
                        ..
                    } => (
                        repay * prices[es[debt].asset as usize],
                        seize * prices[es[collateral].asset as usize],
                    ),
                    Step::Healthy | Step::BadDebt => (0.0, 0.0),
                }
            })
            .collect();
        repay.extend(out.iter().map(|x| x.0));
        seize.extend(out.iter().map(|x| x.1));
    }
    (repay, seize)
}

/// `max_i |p_i − min(p̄_i, max(0, e_i + Σ_j Π_ji·p_j))| / p̄_i`, and `p` within `[0, p̄]`.
fn fixed_point_residual(net: &ClearingInput, c: &Clearing) -> f64 {
    let n = c.payments.len();
    let mut inflow = vec![0.0; n];
    for (j, &pbar_j) in c.obligations.iter().enumerate() {
        if pbar_j <= 0.0 {
            continue;
        }
        let (cols, vals) = net.liabilities.row(j);
        for (&i, &l) in cols.iter().zip(vals) {
            inflow[i] += l / pbar_j * c.payments[j];
        }
    }
    (0..n)
        .map(|i| {
            let pbar = c.obligations[i];
            let want = pbar.min((net.external_assets[i] + inflow[i]).max(0.0));
            let p = c.payments[i];
            if !(0.0..=pbar * (1.0 + 1e-15)).contains(&p) {
                return f64::INFINITY;
            }
            (p - want).abs() / pbar.max(f64::MIN_POSITIVE)
        })
        .fold(0.0, f64::max)
}

/// Writes `lending.json`: the prices of the scan and every lending pool's parameters, for the
/// Python peers' health scan and liquidation round.
fn write_lending_json(dir: &Path, s: &Snapshot, prices: &[f64]) -> Result<(), BenchError> {
    let protocols: Vec<Value> = s
        .protocols
        .iter()
        .filter_map(|p| p.lending().map(|l| (p, l)))
        .map(|(p, l)| {
            let reserves: serde_json::Map<String, Value> = l
                .reserves
                .iter()
                .map(|r| {
                    (
                        s.assets[r.asset].id.clone(),
                        json!({
                            "lt": if r.collateral_enabled { r.liquidation_threshold } else { 0.0 },
                            "lb": r.liquidation_bonus,
                            "isolated": r.debt_ceiling_usd.is_some(),
                        }),
                    )
                })
                .collect();
            let emode: serde_json::Map<String, Value> = l
                .emode
                .iter()
                .map(|c| {
                    (
                        c.id.clone(),
                        json!({"lt": c.liquidation_threshold, "lb": c.liquidation_bonus,
                        "assets": c.assets.iter().map(|&a| s.assets[a].id.clone()).collect::<Vec<_>>()}),
                    )
                })
                .collect();
            json!({"id": p.id, "close_factor": l.close_factor,
                "full_below_hf": l.close_factor_full_below_hf, "full_close_factor": l.full_close_factor,
                "reserves": reserves, "emode": emode})
        })
        .collect();
    let price_map: serde_json::Map<String, Value> = s
        .assets
        .iter()
        .zip(prices)
        .map(|(a, p)| (a.id.clone(), json!(p)))
        .collect();
    let v = json!({"accounts": s.accounts.len(), "prices": price_map, "protocols": protocols});
    let path = dir.join("lending.json");
    let text = serde_json::to_string_pretty(&v).map_err(|e| BenchError::Config(e.to_string()))?;
    std::fs::write(&path, text).map_err(io_err(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn unknown_workloads_are_refused() {
        let c = Config {
            quick: true,
            runs: 1,
            workloads: Some(vec!["health_scan".into(), "warp".into()]),
            emit: None,
            seed: 1,
        };
        match c.validate() {
            Err(BenchError::UnknownWorkload { name, .. }) => assert_eq!(name, "warp"),
            other => panic!("expected UnknownWorkload, got {other:?}"),
        }
    }

    #[test]
    fn fixed_point_residual_of_a_hand_worked_network() {
        // A owes B 10, B owes A 5; e_A = 2, e_B = 1. Solvent B pays 5, so A has 2 + 5 = 7 < 10:
        // A defaults and pays 7; B has 1 + 7 = 8 ≥ 5. p = (7, 5).
        let liabilities =
            cascade_contagion::network::Csr::from_triplets(2, 2, &[(0, 1, 10.0), (1, 0, 5.0)])
                .unwrap();
        let net = ClearingInput {
            liabilities,
            external_assets: vec![2.0, 1.0],
            external_liabilities: vec![0.0, 0.0],
        };
        let c = clear_matrix(
            &net.liabilities,
            &net.external_assets,
            &net.external_liabilities,
            &ClearingOptions::default(),
        )
        .unwrap();
        assert_eq!(c.payments, [7.0, 5.0]);
        assert_eq!(fixed_point_residual(&net, &c), 0.0);
        let wrong = Clearing {
            payments: vec![8.0, 5.0],
            ..c
        };
        // |8 − min(10, 2 + 5)| / 10 = 0.1
        assert!((fixed_point_residual(&net, &wrong) - 0.1).abs() < 1e-15);
    }
}
