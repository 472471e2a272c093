//! `cascade clearing`: Eisenberg–Noe clearing (with Rogers–Veraart default costs) on any network
//! (docs/contagion.md).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use cascade_contagion::clearing::{clear, ClearingError, ClearingOptions};
use cascade_contagion::network::Network;
use cascade_contagion::output::ClearingReport;
use cascade_io::network::read_clearing_network;

use crate::args::JsonArgs;
use crate::failure::{input, Failure};
use crate::output::{check_output_path, emit, to_json};

/// Flags of `cascade clearing`.
#[derive(Args, Debug)]
pub struct ClearingArgs {
    /// Liabilities: `debtor,creditor,amount` (or a dense matrix whose header starts with an empty cell).
    #[arg(long, value_name = "L.csv")]
    liabilities: PathBuf,
    /// External assets: `node,external_assets[,external_liabilities]`.
    #[arg(long, value_name = "E.csv")]
    external_assets: PathBuf,
    /// Rogers–Veraart: share of its external assets a defaulting node realises, in (0, 1]
    /// (1 = no default cost). Written `alpha` in the JSON.
    #[arg(
        long,
        default_value_t = 1.0,
        allow_negative_numbers = true,
        value_name = "SHARE"
    )]
    external_recovery: f64,
    /// Rogers–Veraart: share of its interbank receipts a defaulting node realises, in (0, 1]
    /// (1 = no default cost). Written `beta` in the JSON.
    #[arg(
        long,
        default_value_t = 1.0,
        allow_negative_numbers = true,
        value_name = "SHARE"
    )]
    interbank_recovery: f64,
    /// Shock every node's external assets by this share before clearing, in [0, 1] (0.1 = −10%).
    #[arg(
        long,
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_name = "SHARE"
    )]
    shock: f64,
    #[command(flatten)]
    out: JsonArgs,
}

/// A parameter error, named by its flag.
fn flag_error(e: &ClearingError) -> String {
    match e {
        ClearingError::Parameter {
            name,
            found,
            expected,
        } => {
            let flag = match *name {
                "alpha" => "--external-recovery",
                "beta" => "--interbank-recovery",
                "asset_shock" => "--shock",
                other => other,
            };
            format!("error: {flag} = {found}, expected a share {expected}")
        }
        other => format!("error: {other}"),
    }
}

pub fn run(a: &ClearingArgs) -> Result<(), Failure> {
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    if let Some(path) = &a.out.output {
        check_output_path("--output", path)?;
    }
    let options = ClearingOptions::with_costs(a.external_recovery, a.interbank_recovery)
        .and_then(|o| o.with_asset_shock(a.shock))
        .map_err(|e| Failure::Input(flag_error(&e)))?;
    let tables = read_clearing_network(&a.liabilities, &a.external_assets)
        .map_err(|e| input(e.diagnostics))?;
    let net = Network::try_from(tables).map_err(|e| bad(e.to_string()))?;
    let c = clear(&net, &options).map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
    emit(
        &a.out,
        || {
            let report = ClearingReport::new(&net, &c, &options);
            to_json(&serde_json::to_value(&report).context("serialising the result")?)
        },
        || {
            let mut text = format!(
                "Eisenberg–Noe clearing: {} nodes, {} default round(s), α = {}, β = {}, external assets −{}%\n\n",
                net.len(),
                c.rounds,
                a.external_recovery,
                a.interbank_recovery,
                a.shock * 100.0
            );
            text.push_str(&format!(
                "{:<16} {:>16} {:>16} {:>9} {:>8}\n",
                "node", "obligation", "payment", "recovery", "default"
            ));
            for (i, n) in net.names.iter().enumerate() {
                text.push_str(&format!(
                    "{:<16} {:>16.6} {:>16.6} {:>8.4}% {:>8}\n",
                    n,
                    c.obligations[i],
                    c.payments[i],
                    100.0 * c.recovery[i],
                    c.default_round[i].map_or("—".to_string(), |r| format!("round {r}"))
                ));
            }
            text
        },
    )
}
