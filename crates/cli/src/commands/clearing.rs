//! `cascade clearing`: Eisenberg–Noe clearing (with Rogers–Veraart default costs) on any network.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::failure::Failure;

/// Flags of `cascade clearing`.
#[derive(Args, Debug)]
pub struct ClearingArgs {
    /// Liabilities: `debtor,creditor,amount` (or a dense matrix whose header starts with an empty cell).
    #[arg(long, value_name = "L.csv")]
    liabilities: PathBuf,
    /// External assets: `node,external_assets[,external_liabilities]`.
    #[arg(long, value_name = "E.csv")]
    external_assets: PathBuf,
    /// Rogers–Veraart: share of external assets a defaulting node realises (1 = no cost).
    #[arg(long, default_value_t = 1.0)]
    alpha: f64,
    /// Rogers–Veraart: share of interbank receipts a defaulting node realises (1 = no cost).
    #[arg(long, default_value_t = 1.0)]
    beta: f64,
    /// Shock every node's external assets by this share (0.1 = −10%) before clearing.
    #[arg(long, default_value_t = 0.0)]
    shock: f64,
    #[arg(long)]
    json: bool,
}

pub fn run(a: &ClearingArgs) -> Result<(), Failure> {
    use cascade_contagion::clearing::{clear, ClearingOptions};
    use cascade_contagion::network::NetworkBuilder;
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    let mut b = NetworkBuilder::new();
    b.read_liabilities(&a.liabilities)
        .map_err(|e| bad(e.to_string()))?;
    b.read_external_assets(&a.external_assets)
        .map_err(|e| bad(e.to_string()))?;
    let net = b.build();
    let options = ClearingOptions::with_costs(a.alpha, a.beta)
        .and_then(|o| o.with_asset_shock(a.shock))
        .map_err(|e| bad(e.to_string()))?;
    let c = clear(&net, &options).map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
    let mut stdout = std::io::stdout().lock();
    if a.json {
        let map =
            |v: &dyn Fn(usize) -> serde_json::Value| -> serde_json::Map<String, serde_json::Value> {
                net.names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), v(i)))
                    .collect()
            };
        let out = serde_json::json!({
            "payments": map(&|i| serde_json::json!(c.payments[i])),
            "obligations": map(&|i| serde_json::json!(c.obligations[i])),
            "recovery": map(&|i| serde_json::json!(c.recovery[i])),
            "default_round": map(&|i| serde_json::json!(c.default_round[i])),
            "rounds": c.rounds,
            "alpha": a.alpha, "beta": a.beta, "shock": a.shock,
        });
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&out).context("JSON")?
        )
        .context("writing to stdout")?;
    } else {
        writeln!(stdout, "Eisenberg–Noe clearing: {} nodes, {} default round(s), α = {}, β = {}, external assets −{}%\n", net.len(), c.rounds, a.alpha, a.beta, a.shock * 100.0)
            .context("writing to stdout")?;
        writeln!(
            stdout,
            "{:<16} {:>16} {:>16} {:>9} {:>8}",
            "node", "obligation", "payment", "recovery", "default"
        )
        .context("writing to stdout")?;
        for (i, n) in net.names.iter().enumerate() {
            writeln!(
                stdout,
                "{:<16} {:>16.6} {:>16.6} {:>8.4}% {:>8}",
                n,
                c.obligations[i],
                c.payments[i],
                100.0 * c.recovery[i],
                c.default_round[i].map_or("—".to_string(), |r| format!("round {r}"))
            )
            .context("writing to stdout")?;
        }
    }
    Ok(())
}
