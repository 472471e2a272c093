//! `cascade debtrank`: DebtRank on any network of exposures.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::failure::Failure;

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
    /// `original` (Battiston et al. 2012) or `differential` (Bardoscia et al. 2015).
    #[arg(long, value_parser = ["original", "differential"], default_value = "differential")]
    variant: String,
    #[arg(long)]
    json: bool,
}

pub fn run(a: &DebtrankArgs) -> Result<(), Failure> {
    use cascade_contagion::debtrank::{
        debtrank as run_debtrank, shock_vector, DebtRankOptions, Variant,
    };
    use cascade_contagion::network::NetworkBuilder;
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    let mut b = NetworkBuilder::new();
    b.read_exposures(&a.exposures)
        .map_err(|e| bad(e.to_string()))?;
    b.read_equity(&a.equity).map_err(|e| bad(e.to_string()))?;
    let net = b.build();
    let variant = if a.variant == "original" {
        Variant::Original
    } else {
        Variant::Differential
    };
    let options = DebtRankOptions::new(variant);
    let mut stdout = std::io::stdout().lock();
    if a.shocks.is_empty() {
        // Every node's DebtRank when it alone is fully distressed.
        let mut rows = Vec::new();
        for (i, n) in net.names.iter().enumerate() {
            let mut h0 = vec![0.0; net.len()];
            h0[i] = 1.0;
            let r = run_debtrank(&net, &h0, &options).map_err(|e| bad(e.to_string()))?;
            rows.push((n.clone(), r.debtrank, r.rounds));
        }
        rows.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        if a.json {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(n, d, r)| serde_json::json!({"node": n, "debtrank": d, "rounds": r}))
                .collect();
            writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"variant": a.variant, "by_node": v})
                )
                .context("JSON")?
            )
            .context("writing to stdout")?;
        } else {
            writeln!(
                stdout,
                "DebtRank ({}) of each node alone fully distressed:",
                a.variant
            )
            .context("writing to stdout")?;
            for (n, d, r) in rows {
                writeln!(stdout, "  {n:<16} {d:>8.4}  ({r} rounds)")
                    .context("writing to stdout")?;
            }
        }
        return Ok(());
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
    let refs: Vec<(&str, f64)> = pairs.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    let h0 = shock_vector(&net, &refs).map_err(|e| bad(e.to_string()))?;
    let r = run_debtrank(&net, &h0, &options).map_err(|e| bad(e.to_string()))?;
    if a.json {
        let stress: serde_json::Map<String, serde_json::Value> = net
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), serde_json::json!(r.stress[i])))
            .collect();
        let out = serde_json::json!({
            "variant": a.variant, "stress": stress, "debtrank": r.debtrank,
            "additional_stress": r.additional_stress, "rounds": r.rounds, "converged": r.converged,
            "stress_by_round": r.history.iter().map(|h| net.names.iter().cloned().zip(h.iter().map(|x| serde_json::json!(x))).collect::<serde_json::Map<String, serde_json::Value>>()).collect::<Vec<_>>(),
        });
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&out).context("JSON")?
        )
        .context("writing to stdout")?;
    } else {
        writeln!(
            stdout,
            "DebtRank ({}): {:.6}; additional stress {:.6}; {} rounds\n",
            a.variant, r.debtrank, r.additional_stress, r.rounds
        )
        .context("writing to stdout")?;
        for (i, n) in net.names.iter().enumerate() {
            writeln!(stdout, "  {n:<16} stress {:.6}", r.stress[i]).context("writing to stdout")?;
        }
    }
    Ok(())
}
