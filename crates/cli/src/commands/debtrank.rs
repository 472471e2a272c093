//! `cascade debtrank`: DebtRank on any network of exposures (docs/contagion.md).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use cascade_contagion::debtrank::{
    debtrank, each_node_alone, shock_vector, DebtRankOptions, Variant,
};
use cascade_contagion::network::Network;
use cascade_contagion::output::{DebtRankByNode, DebtRankReport};
use cascade_io::network::read_debtrank_network;

use crate::args::{DebtRankVariant, JsonArgs};
use crate::failure::{input, Failure};
use crate::output::{check_output_path, emit, to_json};

/// Flags of `cascade debtrank`.
#[derive(Args, Debug)]
pub struct DebtrankArgs {
    /// Exposures: `creditor,debtor,amount` (the creditor loses if the debtor is distressed).
    #[arg(long, value_name = "X.csv")]
    exposures: PathBuf,
    /// Equity: `node,equity[,weight]` (weight = economic value, default equity).
    #[arg(long, value_name = "Q.csv")]
    equity: PathBuf,
    /// Initial distress, NODE=FRACTION; repeatable. Without any, every node's DebtRank when it alone
    /// is fully distressed.
    #[arg(long = "shock", value_name = "NODE=FRACTION")]
    shocks: Vec<String>,
    /// The variant.
    #[arg(long, value_enum, default_value_t = DebtRankVariant::Differential)]
    variant: DebtRankVariant,
    /// With --shock: also write every node's stress after every round (`stress_by_round`, nodes ×
    /// rounds numbers) in the JSON.
    #[arg(long)]
    stress_by_round: bool,
    #[command(flatten)]
    out: JsonArgs,
}

pub fn run(a: &DebtrankArgs) -> Result<(), Failure> {
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    if let Some(path) = &a.out.output {
        check_output_path("--output", path)?;
    }
    if a.stress_by_round && a.shocks.is_empty() {
        return Err(bad(
            "--stress-by-round needs --shock: without one, each node is run alone".into(),
        ));
    }
    let mut pairs: Vec<(String, f64)> = Vec::new();
    for sh in &a.shocks {
        let Some((node, f)) = sh
            .split_once('=')
            .and_then(|(n, f)| f.trim().parse::<f64>().ok().map(|f| (n.to_string(), f)))
        else {
            return Err(bad(format!(
                "--shock {sh}: expected NODE=FRACTION, e.g. bankA=0.5"
            )));
        };
        pairs.push((node, f));
    }
    let tables =
        read_debtrank_network(&a.exposures, &a.equity).map_err(|e| input(e.diagnostics))?;
    let net = Network::try_from(tables).map_err(|e| bad(e.to_string()))?;
    let variant = Variant::from(a.variant);
    let options = DebtRankOptions {
        keep_history: a.stress_by_round,
        ..DebtRankOptions::new(variant)
    };
    if pairs.is_empty() {
        // Every node's DebtRank when it alone is fully distressed.
        let runs = each_node_alone(&net, &options).map_err(|e| bad(e.to_string()))?;
        let report = DebtRankByNode::new(&net, variant, &runs);
        let unconverged = runs.iter().filter(|r| !r.converged).count();
        if unconverged > 0 {
            eprintln!(
                "warning: {unconverged} node(s) stopped after {} rounds with stress still moving",
                options.max_rounds
            );
        }
        return emit(
            &a.out,
            || to_json(&serde_json::to_value(&report).context("serialising the result")?),
            || {
                let mut text = format!(
                    "DebtRank ({}) of each node alone fully distressed:\n",
                    variant.name()
                );
                for r in &report.by_node {
                    text.push_str(&format!(
                        "  {:<16} {:>8.4}  ({} rounds)\n",
                        r.node, r.debtrank, r.rounds
                    ));
                }
                text
            },
        );
    }
    let refs: Vec<(&str, f64)> = pairs.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    let h0 = shock_vector(&net, &refs).map_err(|e| bad(e.to_string()))?;
    let r = debtrank(&net, &h0, &options).map_err(|e| bad(e.to_string()))?;
    if !r.converged {
        eprintln!(
            "warning: stopped after {} rounds with stress still moving",
            r.rounds
        );
    }
    emit(
        &a.out,
        || {
            let report = DebtRankReport::new(&net, variant, &r, a.stress_by_round);
            to_json(&serde_json::to_value(&report).context("serialising the result")?)
        },
        || {
            let mut text = format!(
                "DebtRank ({}): {:.6}; additional stress {:.6}; {} rounds\n\n",
                variant.name(),
                r.debtrank,
                r.additional_stress,
                r.rounds
            );
            for (i, n) in net.names.iter().enumerate() {
                text.push_str(&format!("  {n:<16} stress {:.6}\n", r.stress[i]));
            }
            text
        },
    )
}
