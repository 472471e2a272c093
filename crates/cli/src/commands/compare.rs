//! `cascade compare --mechanisms`: the same snapshot and scenario under each liquidation mechanism
//! (docs/mechanisms.md#comparing-mechanisms).

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use cascade_engine::{MechanismComparison, MechanismRow};
use cascade_model::units::{fmt_change, fmt_usd};
use cascade_model::{LiquidationMechanism, ProtocolKind, Snapshot};

use crate::args::JsonArgs;
use crate::failure::{input, Failure};
use crate::load::{load_snapshot, print_warnings, resolve_scenario, SnapshotArg, SCENARIO_HELP};
use crate::output::{check_output_path, emit, to_json, write_file};

/// Flags of `cascade compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Liquidation mechanisms to run, comma-separated: fixed-bonus, dutch-auction, soft-bands,
    /// absorb (docs/mechanisms.md).
    #[arg(long, value_delimiter = ',', required = true, value_name = "M,M,…")]
    mechanisms: Vec<LiquidationMechanism>,
    /// A lending protocol to switch (repeat or comma-separate); default: every lending protocol.
    #[arg(long = "protocol", value_delimiter = ',', value_name = "ID")]
    protocols: Vec<String>,
    #[command(flatten)]
    snapshot: SnapshotArg,
    #[arg(long, value_name = "FILE|NAME", long_help = SCENARIO_HELP, help = "Scenario file or built-in name (`cascade scenarios`); default: see --help")]
    scenario: Option<String>,
    #[command(flatten)]
    out: JsonArgs,
    /// Also write a self-contained HTML report with a grouped bar chart of the figures.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

pub fn run(args: &CompareArgs) -> Result<(), Failure> {
    if let Some(path) = &args.out.output {
        check_output_path("--output", path)?;
    }
    if let Some(path) = &args.report {
        check_output_path("--report", path)?;
    }
    let (snap, d1) = load_snapshot(&args.snapshot).map_err(input)?;
    print_warnings(&d1);
    let (sc, d2) = resolve_scenario(args.scenario.as_deref(), &args.snapshot, &snap)?;
    print_warnings(&d2);
    let protocols = chosen_pools(&snap, &args.protocols)?;
    // Each mechanism once, in the order first given.
    let mut mechanisms: Vec<LiquidationMechanism> = Vec::new();
    for m in &args.mechanisms {
        if !mechanisms.contains(m) {
            mechanisms.push(*m);
        }
    }
    let c = cascade_engine::compare_mechanisms(
        &snap,
        &sc,
        &mechanisms,
        &protocols,
        &cascade_engine::Options::default(),
    );
    if let Some(path) = &args.report {
        write_file(path, cascade_report::mechanisms_html(&snap, &c).as_bytes())?;
    }
    emit(
        &args.out,
        || to_json(&serde_json::to_value(&c).context("serialising the comparison")?),
        || mechanisms_table(&c),
    )
}

/// The snapshot indices of the lending pools named in `ids` (all of them when none is named).
fn chosen_pools(s: &Snapshot, ids: &[String]) -> Result<Vec<usize>, Failure> {
    let lending: Vec<usize> = (0..s.protocols.len())
        .filter(|&i| s.protocols[i].kind == ProtocolKind::Lending)
        .collect();
    if ids.is_empty() {
        if lending.is_empty() {
            return Err(Failure::Input(format!(
                "error: snapshot \"{}\" has no lending protocol to compare mechanisms on",
                s.name
            )));
        }
        return Ok(lending);
    }
    let names: Vec<&str> = lending
        .iter()
        .map(|&i| s.protocols[i].id.as_str())
        .collect();
    let mut out = Vec::new();
    for id in ids {
        match lending.iter().find(|&&i| s.protocols[i].id == *id) {
            Some(&i) if !out.contains(&i) => out.push(i),
            Some(_) => {}
            None => {
                return Err(Failure::Input(format!(
                    "error: --protocol {id}: not a lending protocol of snapshot \"{}\"; expected one of: {}",
                    s.name,
                    names.join(", ")
                )))
            }
        }
    }
    Ok(out)
}

/// The human table: one column per mechanism, one row per figure (the chosen pools together),
/// then the fire sale's worst price impact and the rounds.
fn mechanisms_table(c: &MechanismComparison) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "cascade compare — snapshot \"{}\", scenario \"{}\": liquidation mechanisms of {}\n",
        c.snapshot,
        c.scenario,
        c.protocols.join(", ")
    );
    let _ = write!(o, "{:<22}", "USD");
    for r in &c.runs {
        let _ = write!(o, " {:>14}", r.mechanism);
    }
    o.push('\n');
    for (label, f) in MechanismRow::FIGURES {
        let _ = write!(o, "{label:<22}");
        for r in &c.runs {
            let _ = write!(o, " {:>14}", fmt_usd(f(&r.total)));
        }
        o.push('\n');
    }
    let _ = write!(o, "{:<22}", "accounts liquidated");
    for r in &c.runs {
        let _ = write!(o, " {:>14}", r.total.accounts_liquidated);
    }
    o.push('\n');
    let _ = write!(o, "{:<22}", "worst price impact");
    for r in &c.runs {
        let cell = if r.worst_price_impact > 0.0 {
            format!(
                "{} {}",
                r.worst_price_impact_asset,
                fmt_change(1.0, 1.0 - r.worst_price_impact)
            )
        } else {
            "none".into()
        };
        let _ = write!(o, " {cell:>14}");
    }
    o.push('\n');
    let _ = write!(o, "{:<22}", "rounds");
    for r in &c.runs {
        let _ = write!(o, " {:>14}", r.rounds);
    }
    o.push('\n');
    o
}
