//! `cascade stress`: one scenario through the round-by-round cascade.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::failure::{input, Failure};
use crate::load::{load_scenario, load_snapshot, print_warnings, SnapshotArg};
use crate::table;

/// Flags of `cascade stress`.
#[derive(Args, Debug)]
pub struct StressArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// Scenario file or built-in name (eth-crash, steth-depeg, bridge-hack); default eth-crash.
    #[arg(long, value_name = "FILE|NAME", default_value = "eth-crash")]
    scenario: String,
    /// Circuit breakers: as configured (on), ignored (off), or both runs side by side.
    #[arg(long, value_parser = ["on", "off", "both"], default_value = "on")]
    breakers: String,
    /// JSON on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the JSON result to this file (written whole or not at all).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print load and cascade wall-clock times to stderr.
    #[arg(long)]
    timings: bool,
    /// Also write a self-contained HTML report with charts (written whole or not at all).
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

pub fn run(args: &StressArgs) -> Result<(), Failure> {
    let t0 = std::time::Instant::now();
    let (snap, d1) = load_snapshot(&args.snapshot).map_err(input)?;
    let (sc, d2) = load_scenario(&args.scenario, &snap).map_err(input)?;
    let load_s = t0.elapsed().as_secs_f64();
    print_warnings(&d1);
    print_warnings(&d2);
    let t1 = std::time::Instant::now();
    let modes: &[bool] = match args.breakers.as_str() {
        "off" => &[false],
        "both" => &[true, false],
        _ => &[true],
    };
    let results: Vec<_> = modes
        .iter()
        .map(|&breakers| {
            cascade_engine::run_with(
                &snap,
                &sc,
                &cascade_engine::Options {
                    breakers,
                    ..Default::default()
                },
            )
        })
        .collect();
    if args.timings {
        eprintln!(
            "timings: load {load_s:.3} s ({} accounts, {} positions), cascade {:.3} s ({} run{}, {} rounds)",
            snap.accounts.len(),
            snap.positions.len(),
            t1.elapsed().as_secs_f64(),
            results.len(),
            if results.len() == 1 { "" } else { "s" },
            results[0].system.rounds
        );
    }
    let value = if let [on, off] = results.as_slice() {
        serde_json::json!({ "breakers_on": on, "breakers_off": off })
    } else {
        serde_json::to_value(&results[0]).context("serialising the result")?
    };
    let text = serde_json::to_string_pretty(&value).context("serialising the result")?;
    if let Some(out) = &args.output {
        cascade_io::write::write_atomic(out, format!("{text}\n").as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if let Some(path) = &args.report {
        let html = match results.as_slice() {
            [on, off] => cascade_report::stress_comparison_html(&snap, on, off),
            _ => cascade_report::stress_html(&snap, &results[0]),
        };
        cascade_io::write::write_atomic(path, html.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(stdout, "{text}").context("writing to stdout")?;
    } else {
        let table = if let [on, off] = results.as_slice() {
            table::breakers_table(&snap, on, off)
        } else {
            table::stress_table(&snap, &results[0])
        };
        write!(stdout, "{table}").context("writing to stdout")?;
    }
    // The process ends after this command: handing a million accounts' strings back to the allocator
    // one by one would cost ~0.2 s for nothing, as the OS reclaims the memory at exit.
    std::mem::forget(snap);
    Ok(())
}
