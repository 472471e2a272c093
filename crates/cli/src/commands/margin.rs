//! `cascade margin --account ID`: an account's margin explained (docs/commands.md#margin) — equity and
//! requirements, each leg's value and requirement, each option's Greeks, the account's net Greeks, and
//! the scenario grid with the scenario that binds and each leg's part of it. Prices are the snapshot's
//! (issuers' prices included), every oracle at its system price.

use std::fmt::Write as _;

use clap::Args;
use serde_json::{json, Value};

use cascade_model::{MarginMode, Snapshot};
use cascade_protocols::clearinghouse::explain::{Explanation, Leg};
use cascade_protocols::clearinghouse::Clearinghouse;

use crate::args::JsonArgs;
use crate::failure::{input, Failure};
use crate::load::{load_snapshot, print_warnings, SnapshotArg};
use crate::output::{check_output_path, emit, to_json};

/// Flags of `cascade margin`.
#[derive(Args, Debug)]
pub struct MarginArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// The account's id.
    #[arg(long)]
    account: String,
    /// The clearinghouse's id (needed only when two clearinghouses have an account with that id).
    #[arg(long)]
    protocol: Option<String>,
    #[command(flatten)]
    out: JsonArgs,
}

pub fn run(a: &MarginArgs) -> Result<(), Failure> {
    if let Some(path) = &a.out.output {
        check_output_path("--output", path)?;
    }
    let (snap, diags) = load_snapshot(&a.snapshot).map_err(input)?;
    print_warnings(&diags);
    let candidates: Vec<usize> = snap
        .protocols
        .iter()
        .enumerate()
        .filter(|(_, p)| p.clearinghouse().is_some())
        .filter(|(_, p)| a.protocol.as_deref().is_none_or(|id| p.id == id))
        .filter(|(i, _)| snap.accounts.find(*i, &a.account).is_some())
        .map(|(i, _)| i)
        .collect();
    let pi = match candidates.as_slice() {
        [one] => *one,
        [] => {
            let chs: Vec<&str> = snap
                .protocols
                .iter()
                .filter(|p| p.clearinghouse().is_some())
                .map(|p| p.id.as_str())
                .collect();
            return Err(Failure::Input(format!(
                "error: --account: no account \"{}\" in {}{}",
                a.account,
                match &a.protocol {
                    Some(p) => format!("clearinghouse \"{p}\""),
                    None => "any clearinghouse".into(),
                },
                if chs.is_empty() {
                    " (the snapshot has no clearinghouse)".to_string()
                } else {
                    format!(" (clearinghouses: {})", chs.join(", "))
                }
            )));
        }
        many => {
            let ids: Vec<&str> = many
                .iter()
                .map(|&i| snap.protocols[i].id.as_str())
                .collect();
            return Err(Failure::Input(format!(
                "error: --account: \"{}\" exists in {}; choose one with --protocol",
                a.account,
                ids.join(", ")
            )));
        }
    };
    let Some(params) = snap.protocols[pi].clearinghouse() else {
        return Err(Failure::Input("error: not a clearinghouse".into()));
    };
    let prepared = cascade_engine::Prepared::new(&snap);
    let ch = Clearinghouse::new(&snap, pi, params);
    let Some(k) = ch.account_idx(&a.account) else {
        return Err(Failure::Input(format!(
            "error: --account: no account \"{}\"",
            a.account
        )));
    };
    let v = ch.valuation_at(&prepared.initial_prices);
    let e = ch.explain(k, &v);
    let id = &snap.protocols[pi].id;
    emit(
        &a.out,
        || to_json(&margin_json(&snap, &ch, id, &e)),
        || table(&snap, &ch, id, &e),
    )
}

fn leg_name(s: &Snapshot, ch: &Clearinghouse, e: &Explanation, leg: Leg) -> String {
    let _ = ch;
    match leg {
        Leg::Collateral(a) => format!("collateral {}", s.assets[a].id),
        Leg::Liability(a) => format!("borrowed {}", s.assets[a].id),
        Leg::Perp(i) => format!("perp {}", e.perps[i].market),
        Leg::Option(i) => {
            let o = &e.options[i];
            format!(
                "{} {} {} {}d",
                s.assets[o.underlying].id,
                o.kind.name(),
                o.strike,
                o.expiry_days
            )
        }
    }
}

fn margin_json(s: &Snapshot, ch: &Clearinghouse, protocol: &str, e: &Explanation) -> Value {
    let h = &e.health;
    let id = |a: usize| s.assets[a].id.clone();
    let spot = |l: &[cascade_protocols::clearinghouse::explain::SpotLine]| -> Vec<Value> {
        l.iter()
            .map(|x| {
                json!({"asset": id(x.asset), "tokens": x.tokens, "price_usd": x.price_usd,
                "initial_weight": x.initial_weight, "maintenance_weight": x.maintenance_weight,
                "value_usd": x.value_usd})
            })
            .collect()
    };
    json!({
        "account": e.account,
        "protocol": protocol,
        "margin_mode": e.mode.name(),
        "equity_initial_usd": h.equity_initial,
        "equity_maintenance_usd": h.equity_maintenance,
        "initial_margin_usd": h.im,
        "maintenance_margin_usd": h.mm,
        "initial_health_usd": h.initial(),
        "maintenance_health_usd": h.maintenance(),
        "net_value_usd": h.net_value,
        "unrealised_pnl_usd": h.unrealised_pnl,
        "options_value_usd": h.options_value,
        "binding_scenario": h.binding.map(|(u, m, vf)| json!({"underlying": id(u), "move": m, "vol_factor": vf})),
        "collateral": spot(&e.collateral),
        "liabilities": spot(&e.liabilities),
        "perps": e.perps.iter().map(|p| json!({"market": p.market, "underlying": id(p.underlying),
            "size": p.size, "entry_price": p.entry_price, "mark": p.mark, "pnl_usd": p.pnl_usd,
            "notional_usd": p.notional_usd, "imr": p.imr, "mmr": p.mmr, "im_usd": p.im_usd,
            "mm_usd": p.mm_usd})).collect::<Vec<_>>(),
        "options": e.options.iter().map(|o| json!({"underlying": id(o.underlying), "kind": o.kind.name(),
            "strike": o.strike, "expiry_days": o.expiry_days, "size": o.size, "spot": o.spot, "vol": o.vol,
            "value_usd": o.value_usd, "delta": o.delta, "gamma": o.gamma, "vega": o.vega, "theta": o.theta,
            "requirement_usd": o.requirement_usd})).collect::<Vec<_>>(),
        "greeks": e.greeks.iter().map(|g| json!({"underlying": id(g.underlying), "delta": g.delta,
            "gamma": g.gamma, "vega": g.vega, "theta": g.theta})).collect::<Vec<_>>(),
        "grid": e.grid.iter().map(|g| json!({
            "underlying": id(g.underlying),
            "scenarios": g.losses.iter().map(|(m, vf, l)| json!({"move": m, "vol_factor": vf, "loss_usd": l})).collect::<Vec<_>>(),
            "worst": {"move": g.worst.0, "vol_factor": g.worst.1, "loss_usd": g.worst.2},
            "contributions": g.contributions.iter().map(|(leg, usd)| json!({"leg": leg_name(s, ch, e, *leg), "loss_usd": usd})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn usd(x: f64) -> String {
    cascade_model::units::fmt_usd(x)
}

fn table(s: &Snapshot, ch: &Clearinghouse, protocol: &str, e: &Explanation) -> String {
    let h = &e.health;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "account \"{}\" of {protocol}, {} margin",
        e.account,
        e.mode.name()
    );
    let _ = writeln!(
        o,
        "  maintenance: equity {} − requirement {} = health {}{}",
        usd(h.equity_maintenance),
        usd(h.mm),
        usd(h.maintenance()),
        if h.maintenance() < 0.0 {
            "  → LIQUIDATABLE"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "  initial:     equity {} − requirement {} = health {} (what may still be opened or borrowed)",
        usd(h.equity_initial),
        usd(h.im),
        usd(h.initial())
    );
    let _ = writeln!(
        o,
        "  net value if closed at the marks: {} (unrealised PnL {}, options {})",
        usd(h.net_value),
        usd(h.unrealised_pnl),
        usd(h.options_value)
    );
    if !e.collateral.is_empty() || !e.liabilities.is_empty() {
        let _ = writeln!(
            o,
            "\nspot            tokens        price      value   w_init  w_maint"
        );
        for (l, sign) in e
            .collateral
            .iter()
            .map(|l| (l, ""))
            .chain(e.liabilities.iter().map(|l| (l, "−")))
        {
            let _ = writeln!(
                o,
                "  {:<12} {:>10.4} {:>12.4} {:>10} {:>8.3} {:>8.3}",
                format!("{sign}{}", s.assets[l.asset].id),
                l.tokens,
                l.price_usd,
                usd(l.value_usd),
                l.initial_weight,
                l.maintenance_weight
            );
        }
    }
    if !e.perps.is_empty() {
        let _ = writeln!(
            o,
            "\nperp            size      entry       mark        PnL   notional    imr    mmr         IM         MM"
        );
        for p in &e.perps {
            let _ = writeln!(
                o,
                "  {:<10} {:>9.4} {:>10.4} {:>10.4} {:>10} {:>10} {:>6.4} {:>6.4} {:>10} {:>10}",
                p.market,
                p.size,
                p.entry_price,
                p.mark,
                usd(p.pnl_usd),
                usd(p.notional_usd),
                p.imr,
                p.mmr,
                usd(p.im_usd),
                usd(p.mm_usd)
            );
        }
    }
    if !e.options.is_empty() {
        let _ = writeln!(
            o,
            "\noption                         size     vol      value      delta      gamma       vega      theta   own req."
        );
        for (i, p) in e.options.iter().enumerate() {
            let _ = writeln!(
                o,
                "  {:<26} {:>8.3} {:>6.3} {:>10} {:>10.4} {:>10.6} {:>10.2} {:>10.2} {:>10}",
                leg_name(s, ch, e, Leg::Option(i)),
                p.size,
                p.vol,
                usd(p.value_usd),
                p.delta,
                p.gamma,
                p.vega,
                p.theta,
                usd(p.requirement_usd)
            );
        }
    }
    if !e.greeks.is_empty() {
        let _ = writeln!(
            o,
            "\nnet Greeks      delta (tokens)      gamma       vega (per vol)   theta (per year)"
        );
        for g in &e.greeks {
            let _ = writeln!(
                o,
                "  {:<12} {:>14.4} {:>10.6} {:>16.2} {:>18.2}",
                s.assets[g.underlying].id, g.delta, g.gamma, g.vega, g.theta
            );
        }
    }
    for g in &e.grid {
        let _ = writeln!(
            o,
            "\nscenario grid on {} (loss of maintenance equity; > 0 is a loss):",
            s.assets[g.underlying].id
        );
        let mut vfs: Vec<f64> = Vec::new();
        for (_, vf, _) in &g.losses {
            if !vfs.contains(vf) {
                vfs.push(*vf);
            }
        }
        let mut head = "    move".to_string();
        for vf in &vfs {
            let _ = write!(head, " {:>14}", format!("vol ×{vf:.2}"));
        }
        let _ = writeln!(o, "{head}");
        for row in g.losses.chunks(vfs.len().max(1)) {
            let mut line = format!("  {:>+5.1}%", row[0].0 * 100.0);
            for (_, _, l) in row {
                let _ = write!(line, " {:>14}", usd(*l));
            }
            let _ = writeln!(o, "{line}");
        }
        let binds =
            e.mode == MarginMode::Portfolio && h.binding.is_some_and(|(u, _, _)| u == g.underlying);
        let _ = writeln!(
            o,
            "  worst: move {:+.1}%, vol ×{:.2}: loss {}{}",
            g.worst.0 * 100.0,
            g.worst.1,
            usd(g.worst.2),
            if binds {
                "  ← binds the portfolio requirement"
            } else {
                ""
            }
        );
        for (leg, l) in &g.contributions {
            let _ = writeln!(o, "    {:<32} {:>12}", leg_name(s, ch, e, *leg), usd(*l));
        }
    }
    if e.mode == MarginMode::Portfolio {
        let _ = writeln!(
            o,
            "\nportfolio requirement = max(floor {:.2}% of gross notional, Σ worst losses); initial = {:.2} × maintenance",
            ch.params().options.floor * 100.0,
            ch.params().options.initial_multiplier
        );
    }
    o
}
