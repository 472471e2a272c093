//! `cascade contagion`: the exposure graph of a snapshot, contagion coefficients, recursive-leverage
//! loops, concentration and each protocol's DebtRank.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::failure::{input, Failure};
use crate::load::{load_scenario, load_snapshot, print_warnings, SnapshotArg};
use crate::table;

/// Flags of `cascade contagion`.
#[derive(Args, Debug)]
pub struct ContagionArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// The stress whose bad debt is attributed to looped positions (file or built-in name).
    #[arg(long, value_name = "FILE|NAME", default_value = "eth-crash")]
    scenario: String,
    /// Also write the exposure graph as Graphviz DOT.
    #[arg(long, value_name = "FILE.dot")]
    dot: Option<PathBuf>,
    /// Also write the exposure graph as a CSV edge list (from,to,kind,asset,usd).
    #[arg(long, value_name = "FILE.csv")]
    edges: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn run(a: &ContagionArgs) -> Result<(), Failure> {
    use cascade_contagion::snapshot as cs;
    let (snap, d1) = load_snapshot(&a.snapshot).map_err(input)?;
    let (sc, d2) = load_scenario(&a.scenario, &snap).map_err(input)?;
    print_warnings(&d1);
    print_warnings(&d2);
    // Built once: every analysis below starts from the same prepared snapshot.
    let prepared = cascade_engine::Prepared::new(&snap);
    let edges = cs::exposure_graph(&snap, &prepared);
    let coefficients = cs::contagion_coefficients(&snap, &prepared);
    let loops = cs::loops(&snap, &prepared, &sc);
    let concentration = cs::concentration(&snap, &prepared);
    let debtrank = cs::snapshot_debtrank(
        &snap,
        &prepared,
        cascade_contagion::debtrank::Variant::Differential,
    );
    if let Some(path) = &a.dot {
        cascade_io::write::write_atomic(path, cs::to_dot(&snap, &edges).as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &a.edges {
        let mut csv = String::from("from,to,kind,asset,usd\n");
        for e in &edges {
            let q = |x: &str| {
                if x.contains([',', '"', '\n']) {
                    format!("\"{}\"", x.replace('"', "\"\""))
                } else {
                    x.to_string()
                }
            };
            csv.push_str(&format!(
                "{},{},{},{},{:?}\n",
                q(&e.from),
                q(&e.to),
                q(&e.kind),
                q(&e.asset),
                e.usd
            ));
        }
        cascade_io::write::write_atomic(path, csv.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if a.json {
        let v = serde_json::json!({
            "snapshot": snap.name,
            "exposure_graph": edges,
            "contagion_coefficients": coefficients,
            "loops": loops,
            "loops_scenario": sc.name,
            "concentration": concentration,
            "debtrank": debtrank.iter().map(|(p, d)| serde_json::json!({"protocol": p, "debtrank": d})).collect::<Vec<_>>(),
            "debtrank_note": "differential DebtRank of each protocol alone fully distressed; exposures = the graph's claims, equity = first-loss buffer, weight = TVL",
        });
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&v).context("JSON")?
        )
        .context("writing to stdout")?;
    } else {
        write!(
            stdout,
            "{}",
            table::contagion_table(
                &snap,
                &edges,
                &coefficients,
                &loops,
                &sc.name,
                &concentration
            )
        )
        .context("writing to stdout")?;
        writeln!(stdout, "\nDebtRank (differential) of each protocol alone fully distressed — claims as exposures, first-loss buffers as equity, TVL as weight:")
            .context("writing to stdout")?;
        for (p, d) in &debtrank {
            writeln!(stdout, "  {p:<14} {d:>8.4}").context("writing to stdout")?;
        }
    }
    Ok(())
}
