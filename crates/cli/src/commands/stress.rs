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
    /// Also write one row per account of the lending pools and clearinghouses and per CDP vault
    /// (health before and after, liquidated, seized, fee, bad debt, first liquidation round and
    /// call, unprofitable rounds) as Parquet or CSV by the file's extension; with --breakers both, the breakers-on run. See
    /// docs/formats.md#per-account-results.
    #[arg(long, value_name = "FILE.parquet|FILE.csv")]
    accounts: Option<PathBuf>,
}

pub fn run(args: &StressArgs) -> Result<(), Failure> {
    if let Some(path) = &args.out.output {
        check_output_path("--output", path)?;
    }
    if let Some(path) = &args.report {
        check_output_path("--report", path)?;
    }
    if let Some(path) = &args.accounts {
        check_output_path("--accounts", path)?;
        account_format(path)?;
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
            cascade_engine::run_with_baseline(
                &snap,
                &sc,
                &cascade_engine::Options {
                    breakers,
                    accounts: args.accounts.is_some() && breakers == modes[0],
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
    let mut results = results;
    if let Some(path) = &args.accounts {
        // Written from the first run, then left out of the JSON (it has its own file).
        let rows = std::mem::take(&mut results[0].accounts);
        let columns = account_columns(&rows);
        match account_format(path)? {
            AccountFormat::Parquet => cascade_io::write::write_table_parquet(path, &columns),
            AccountFormat::Csv => cascade_io::write::write_table_csv(path, &columns),
        }
        .map_err(|e| Failure::Runtime(e.into()))?;
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

enum AccountFormat {
    Parquet,
    Csv,
}

/// The format of `--accounts` by the file's extension.
fn account_format(path: &std::path::Path) -> Result<AccountFormat, Failure> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => Ok(AccountFormat::Parquet),
        Some("csv") => Ok(AccountFormat::Csv),
        _ => Err(Failure::Input(format!(
            "error: --accounts {}: expected a file ending in .parquet or .csv",
            path.display()
        ))),
    }
}

/// The per-account table (docs/formats.md#per-account-results): health as a number, `inf` without
/// debt; round 0 and empty call cells for an account never liquidated.
fn account_columns(
    rows: &[cascade_engine::AccountReport],
) -> Vec<(String, cascade_io::write::Column)> {
    use cascade_io::write::Column;
    let text = |f: &dyn Fn(&cascade_engine::AccountReport) -> String| {
        Column::Utf8(rows.iter().map(f).collect())
    };
    let num = |f: &dyn Fn(&cascade_engine::AccountReport) -> f64| {
        Column::Float64(rows.iter().map(f).collect())
    };
    let call = |f: &dyn Fn(&cascade_engine::FirstCall) -> f64| {
        Column::Float64(
            rows.iter()
                .map(|r| r.first_call.as_ref().map_or(0.0, f))
                .collect(),
        )
    };
    vec![
        ("protocol".into(), text(&|r| r.protocol.clone())),
        ("account".into(), text(&|r| r.account.clone())),
        (
            "health_before".into(),
            num(&|r| r.health_before.unwrap_or(f64::INFINITY)),
        ),
        (
            "health_after".into(),
            num(&|r| r.health_after.unwrap_or(f64::INFINITY)),
        ),
        (
            "liquidated_debt_usd".into(),
            num(&|r| r.liquidated_debt_usd),
        ),
        (
            "seized_collateral_usd".into(),
            num(&|r| r.seized_collateral_usd),
        ),
        ("protocol_fee_usd".into(), num(&|r| r.protocol_fee_usd)),
        ("bad_debt_usd".into(), num(&|r| r.bad_debt_usd)),
        (
            "first_liquidation_round".into(),
            Column::UInt32(
                rows.iter()
                    .map(|r| r.first_liquidation_round.unwrap_or(0))
                    .collect(),
            ),
        ),
        (
            "unprofitable_rounds".into(),
            Column::UInt32(rows.iter().map(|r| r.unprofitable_rounds).collect()),
        ),
        (
            "first_collateral".into(),
            text(&|r| {
                r.first_call
                    .as_ref()
                    .map_or(String::new(), |c| c.collateral.clone())
            }),
        ),
        (
            "first_debt".into(),
            text(&|r| {
                r.first_call
                    .as_ref()
                    .map_or(String::new(), |c| c.debt.clone())
            }),
        ),
        ("first_repaid_tokens".into(), call(&|c| c.repaid_tokens)),
        ("first_seized_tokens".into(), call(&|c| c.seized_tokens)),
        (
            "first_protocol_fee_tokens".into(),
            call(&|c| c.protocol_fee_tokens),
        ),
    ]
}
