//! `cascade validate`: load and check a snapshot (and a scenario), reporting every problem found.

use clap::Args;

use cascade_io::{Diagnostics, Location, Severity};

use crate::failure::Failure;
use crate::load::{load_scenario, load_snapshot, SnapshotArg};
use crate::output::{print, to_json};

/// Flags of `cascade validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// A scenario file or built-in name to check against the snapshot.
    #[arg(long, value_name = "FILE|NAME")]
    scenario: Option<String>,
    /// Findings as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: &ValidateArgs) -> Result<(), Failure> {
    let (snapshot, scenario, json) = (&a.snapshot, a.scenario.as_deref(), a.json);
    let mut diags = Diagnostics::new();
    let mut summary = None;
    match load_snapshot(snapshot) {
        Err(d) => diags.extend(d),
        Ok((snap, d)) => {
            diags.extend(d);
            if let Some(sc) = scenario {
                match load_scenario(sc, &snap) {
                    Ok((_, d)) | Err(d) => diags.extend(d),
                }
            }
            let derivatives = if snap.perps.is_empty() && snap.options.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} perps, {} options",
                    snap.perps.len(),
                    snap.options.len()
                )
            };
            summary = Some(format!(
                "{} — {} assets, {} protocols, {} accounts, {} positions{derivatives}",
                snap.source,
                snap.assets.len(),
                snap.protocols.len(),
                snap.accounts.len(),
                snap.positions.len()
            ));
        }
    }
    let failed = diags.has_errors();
    if json {
        print(&format!("{}\n", findings_json(&diags)?))?;
    } else {
        eprint!("{diags}");
        if let (false, Some(s)) = (failed, summary) {
            print(&format!(
                "ok: {s}{}\n",
                match diags.warnings().count() {
                    0 => String::new(),
                    n => format!(", {n} warning(s)"),
                }
            ))?;
        }
    }
    if !failed {
        return Ok(());
    }
    let n = diags.error_count();
    Err(Failure::Input(if json {
        format!("error: {n} error(s) found; the details are in the JSON on stdout")
    } else {
        format!("{n} error(s)")
    }))
}

fn findings_json(d: &Diagnostics) -> anyhow::Result<String> {
    let items: Vec<serde_json::Value> = d
        .items
        .iter()
        .map(|x| {
            let (line, row) = match x.location {
                Location::Line(l) => (Some(l as u64), None),
                Location::Row(r) => (None, Some(r)),
                Location::File => (None, None),
            };
            serde_json::json!({
                "severity": if x.severity == Severity::Error { "error" } else { "warning" },
                "file": x.file, "line": line, "row": row, "field": x.field, "message": x.message(),
            })
        })
        .collect();
    let v = serde_json::json!({ "ok": !d.has_errors(), "findings": items });
    to_json(&v)
}
