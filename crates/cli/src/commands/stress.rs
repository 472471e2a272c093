//! `cascade stress`: one scenario through the round-by-round cascade.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::args::{BreakerRuns, JsonArgs};
use crate::failure::{input, Failure};
use crate::load::{load_snapshot, print_warnings, resolve_scenario, SnapshotArg, SCENARIO_HELP};
use crate::output::{check_output_path, emit, to_json, write_file};
use crate::table;

/// Flags of `cascade stress`.
#[derive(Args, Debug)]
pub struct StressArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    #[arg(long, value_name = "FILE|NAME", long_help = SCENARIO_HELP, help = "Scenario file or built-in name (`cascade scenarios`); default: see --help")]
    scenario: Option<String>,
    /// Circuit breakers: as configured (on), ignored (off), or both runs side by side.
    #[arg(long, value_enum, default_value_t = BreakerRuns::On)]
    breakers: BreakerRuns,
    #[command(flatten)]
    out: JsonArgs,
    /// Print load and cascade wall-clock times to stderr.
    #[arg(long)]
    timings: bool,
    /// Also write a self-contained HTML report with charts (written whole or not at all).
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

pub fn run(args: &StressArgs) -> Result<(), Failure> {
    if let Some(path) = &args.out.output {
        check_output_path("--output", path)?;
    }
    if let Some(path) = &args.report {
        check_output_path("--report", path)?;
    }
    let t0 = std::time::Instant::now();
    let (snap, d1) = load_snapshot(&args.snapshot).map_err(input)?;
    print_warnings(&d1);
    let (sc, d2) = resolve_scenario(args.scenario.as_deref(), &args.snapshot, &snap)?;
    let load_s = t0.elapsed().as_secs_f64();
    print_warnings(&d2);
    let t1 = std::time::Instant::now();
    let modes: &[bool] = match args.breakers {
        BreakerRuns::On => &[true],
        BreakerRuns::Off => &[false],
        BreakerRuns::Both => &[true, false],
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
    if let Some(path) = &args.report {
        let html = match results.as_slice() {
            [on, off] => cascade_report::stress_comparison_html(&snap, on, off),
            _ => cascade_report::stress_html(&snap, &results[0]),
        };
        write_file(path, html.as_bytes())?;
    }
    emit(
        &args.out,
        || {
            let value = if let [on, off] = results.as_slice() {
                serde_json::json!({ "breakers_on": on, "breakers_off": off })
            } else {
                serde_json::to_value(&results[0]).context("serialising the result")?
            };
            to_json(&value)
        },
        || {
            if let [on, off] = results.as_slice() {
                table::breakers_table(&snap, on, off)
            } else {
                table::stress_table(&snap, &results[0])
            }
        },
    )?;
    // The process ends after this command: handing a million accounts' strings back to the allocator
    // one by one would cost ~0.2 s for nothing, as the OS reclaims the memory at exit.
    std::mem::forget(snap);
    Ok(())
}
