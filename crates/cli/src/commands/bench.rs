//! `cascade bench`: the benchmark suite — parse the arguments, run `cascade-bench`'s suite
//! on the built-in system's generated books and the eth-crash scenario, print a table, JSON or the
//! Markdown of BENCHMARKS.md; or render a saved JSON report with the Python peers' results.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use cascade_bench::render::{self, Peers};
use cascade_bench::suite::{self, Config, Report};

use crate::failure::{input, Failure};
use crate::load::{load_scenario, load_snapshot, print_warnings, SnapshotArg};
use crate::output::check_output_dir;

/// The one command that regenerates BENCHMARKS.md (named in the page it writes).
pub const REGENERATE: &str = "bench/run.sh";

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Small sizes (seconds even in a debug build); targets are not judged.
    #[arg(long)]
    quick: bool,
    /// JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Markdown (the BENCHMARKS.md page) on stdout instead of the table.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    /// Run only these workloads (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NAME,…",
        value_parser = clap::builder::PossibleValuesParser::new(suite::WORKLOADS)
    )]
    workloads: Vec<String>,
    /// Timed runs per workload (default 5; 3 with --quick); the median is reported.
    #[arg(long)]
    runs: Option<usize>,
    /// Keep the generated system and write the peers' reference inputs/outputs into DIR (created if
    /// missing).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Seed of every generated input.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Do not run: render this saved `--json` report as Markdown (with --peers).
    #[arg(long, value_name = "REPORT.json")]
    render: Option<PathBuf>,
    /// The Python peers' results (bench/peers/run_peers.py) to put beside cascade's in Markdown.
    #[arg(long, value_name = "PEERS.json")]
    peers: Option<PathBuf>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Input(format!("error: {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::Input(format!(
            "error: {}:{}: {e}, expected the JSON `cascade bench --json` (or the peers script) writes",
            path.display(),
            e.line()
        ))
    })
}

pub fn run(a: &BenchArgs) -> Result<(), Failure> {
    if let Some(dir) = &a.out_dir {
        check_output_dir("--out-dir", dir)?;
    }
    let peers: Option<Peers> = a.peers.as_ref().map(read_json).transpose()?;
    let report: Report = match &a.render {
        Some(path) => read_json(path)?,
        None => {
            let (base, d1) = load_snapshot(&SnapshotArg { snapshot: None }).map_err(input)?;
            let (scenario, d2) = load_scenario("eth-crash", &base).map_err(input)?;
            print_warnings(&d1);
            print_warnings(&d2);
            let config = Config {
                quick: a.quick,
                runs: a.runs.unwrap_or(if a.quick { 3 } else { 5 }),
                workloads: (!a.workloads.is_empty()).then(|| a.workloads.clone()),
                emit: a.out_dir.clone(),
                seed: a.seed,
            };
            config
                .validate()
                .map_err(|e| Failure::Input(format!("error: {e}")))?;
            let inputs = suite::Inputs {
                base: &base,
                scenario: &scenario,
            };
            suite::run(&config, &inputs, &mut |line| eprintln!("{line}"))
                .map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?
        }
    };
    let text = if a.json {
        crate::output::to_json(&report)?
    } else if a.markdown || a.render.is_some() {
        render::markdown(&report, peers.as_ref(), REGENERATE)
    } else {
        render::table(&report)
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", text.trim_end()).context("writing to stdout")?;
    Ok(())
}
