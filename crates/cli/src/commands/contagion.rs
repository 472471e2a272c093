//! `cascade contagion`: the exposure graph of a snapshot, contagion coefficients, recursive-leverage
//! loops, concentration and each protocol's DebtRank (docs/contagion.md).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use cascade_contagion::output::{ContagionReport, ProtocolDebtRank, SNAPSHOT_DEBTRANK_NOTE};

use crate::args::JsonArgs;
use crate::failure::{input, Failure};
use crate::load::{load_snapshot, print_warnings, resolve_scenario, SnapshotArg, SCENARIO_HELP};
use crate::output::{check_output_path, emit, to_json, write_file};
use crate::table;

/// Flags of `cascade contagion`.
#[derive(Args, Debug)]
pub struct ContagionArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// The stress whose bad debt is attributed to looped positions.
    #[arg(long, value_name = "FILE|NAME", long_help = SCENARIO_HELP)]
    scenario: Option<String>,
    /// Also run the scenario with this diversification cap on every lending protocol — no collateral
    /// asset gives more than this share of an account's borrowing power, borrowers re-levered to
    /// their health factor — and compare its bad debt (docs/contagion.md#diversification).
    #[arg(long, value_name = "SHARE", value_parser = crate::args::parse_cap)]
    diversification_cap: Option<f64>,
    /// Also write the exposure graph as Graphviz DOT.
    #[arg(long, value_name = "FILE.dot")]
    dot: Option<PathBuf>,
    /// Also write the exposure graph as a CSV edge list (from,to,kind,asset,usd).
    #[arg(long, value_name = "FILE.csv")]
    edges: Option<PathBuf>,
    #[command(flatten)]
    out: JsonArgs,
}

pub fn run(a: &ContagionArgs) -> Result<(), Failure> {
    use cascade_contagion::snapshot as cs;
    for (flag, path) in [
        ("--output", &a.out.output),
        ("--dot", &a.dot),
        ("--edges", &a.edges),
    ] {
        if let Some(path) = path {
            check_output_path(flag, path)?;
        }
    }
    let (snap, d1) = load_snapshot(&a.snapshot).map_err(input)?;
    print_warnings(&d1);
    let (sc, d2) = resolve_scenario(a.scenario.as_deref(), &a.snapshot, &snap)?;
    print_warnings(&d2);
    // Built once: every analysis below starts from the same prepared snapshot.
    let prepared = cascade_engine::Prepared::new(&snap);
    let edges = cs::exposure_graph(&snap, &prepared);
    let coefficients = cs::contagion_coefficients(&snap, &prepared);
    let loops = cs::loops(&snap, &prepared, &sc);
    let concentration = cs::concentration(&snap, &prepared);
    let diversification = cascade_contagion::diversification::diversification(&snap, &prepared);
    let counterfactual = a.diversification_cap.map(|cap| {
        cascade_contagion::diversification::cap_counterfactual(&snap, &prepared, &sc, cap)
    });
    let debtrank = cs::snapshot_debtrank(
        &snap,
        &prepared,
        cascade_contagion::debtrank::Variant::Differential,
    );
    if let Some(path) = &a.dot {
        write_file(path, cs::to_dot(&snap, &edges).as_bytes())?;
    }
    if let Some(path) = &a.edges {
        write_file(path, cs::to_edge_csv(&edges).as_bytes())?;
    }
    emit(
        &a.out,
        || {
            let report = ContagionReport {
                snapshot: snap.name.clone(),
                exposure_graph: edges.clone(),
                contagion_coefficients: coefficients.clone(),
                loops: loops.clone(),
                loops_scenario: sc.name.clone(),
                concentration: concentration.clone(),
                diversification: diversification.clone(),
                diversification_cap: counterfactual.clone(),
                debtrank: debtrank
                    .iter()
                    .map(|(p, d)| ProtocolDebtRank {
                        protocol: p.clone(),
                        debtrank: *d,
                    })
                    .collect(),
                debtrank_note: SNAPSHOT_DEBTRANK_NOTE.into(),
            };
            to_json(&serde_json::to_value(&report).context("serialising the result")?)
        },
        || {
            let mut text = table::contagion_table(
                &snap,
                &edges,
                &coefficients,
                &loops,
                &sc.name,
                &concentration,
            );
            text.push_str(&table::diversification_table(
                &diversification,
                counterfactual.as_ref(),
            ));
            text.push_str("\nDebtRank (differential) of each protocol alone fully distressed — claims as exposures, first-loss buffers as equity, TVL as weight:\n");
            for (p, d) in &debtrank {
                text.push_str(&format!("  {p:<14} {d:>8.4}\n"));
            }
            text
        },
    )
}
