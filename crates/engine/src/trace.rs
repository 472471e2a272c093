//! The contagion trace: what caused what, one line per step, e.g.
//! `round 2: stETH −6.1% → aave-v3 liquidates 14 accounts: seizes 12,040 stETH ($13.7M) …`.

use cascade_model::units::fmt_tokens;
use cascade_model::{ProtocolKind, Scenario, Snapshot};

use crate::report::{RoundReport, SystemSummary};

// The formatters live in `cascade_model::units`; `fmt_usd` and `fmt_change` are re-exported here
// for the callers that import them from the trace.
pub use cascade_model::units::{fmt_change, fmt_usd};

pub(crate) fn shock_line(s: &Snapshot, sc: &Scenario, before: &[f64], after: &[f64]) -> String {
    let mut parts = Vec::new();
    for (a, asset) in s.assets.iter().enumerate() {
        if (after[a] - before[a]).abs() > 1e-12 * before[a].abs().max(1.0) {
            parts.push(format!(
                "{} {} (${:.4} → ${:.4})",
                asset.id,
                fmt_change(before[a], after[a]),
                before[a],
                after[a]
            ));
        }
    }
    for sh in &sc.shocks {
        if let Some(m) = sh.liquidity_multiplier {
            match sh.asset {
                Some(a) => parts.push(format!("{} liquidity ×{m}", s.assets[a].id)),
                None => parts.push(format!("liquidity ×{m} on every curve")),
            }
        }
        if let (Some(a), Some(v)) = (sh.asset, sh.vol_change) {
            parts.push(format!(
                "{} implied volatility ×{}",
                s.assets[a].id,
                1.0 + v
            ));
        }
        let protocol = sh
            .protocol
            .map(|p| s.protocols[p].id.as_str())
            .unwrap_or("");
        if let Some(d) = sh.default {
            parts.push(format!(
                "{protocol} defaults on {:.1}% of what it owes",
                d * 100.0
            ));
        }
        if let Some(usd) = sh.redemptions_usd {
            parts.push(format!(
                "{} of {protocol}'s stable queued for redemption",
                fmt_usd(usd)
            ));
        }
        if let Some(d) = sh.oracle_delay_rounds {
            let target = sh.market.as_deref().unwrap_or("every market");
            parts.push(format!("{protocol} oracles ({target}) {d} round(s) late"));
        }
        if let Some(usd) = sh.pump_usd {
            parts.push(format!(
                "{} spent pumping the oracle venue of {protocol} {}",
                fmt_usd(usd),
                sh.market.as_deref().unwrap_or("")
            ));
        }
        if let (Some(acc), Some(b)) = (&sh.account, sh.borrow) {
            parts.push(format!(
                "{protocol} account \"{acc}\" borrows {} up to its initial health",
                s.assets[b].id
            ));
        }
        if let (Some(b), Some(l)) = (sh.bridge, sh.loss) {
            parts.push(format!(
                "{} loses {:.1}% of its locked underlying",
                s.protocols[b].id,
                l * 100.0
            ));
        }
    }
    if parts.is_empty() {
        format!("round 0: scenario \"{}\": no shock", sc.name)
    } else {
        format!("round 0: scenario \"{}\": {}", sc.name, parts.join(", "))
    }
}

/// The trace of one round: the price moves it started from, what each protocol did, what the sales did.
pub(crate) fn round_lines(
    s: &Snapshot,
    r: &RoundReport,
    prev: &[f64],
    start: &[f64],
    next: &[f64],
) -> Vec<String> {
    let mut lines = Vec::new();
    let moved: Vec<String> = s
        .assets
        .iter()
        .enumerate()
        .filter(|(a, _)| prev[*a] > 0.0 && (start[*a] / prev[*a] - 1.0).abs() >= 0.0005)
        .map(|(a, asset)| format!("{} {}", asset.id, fmt_change(prev[a], start[a])))
        .collect();
    let cause = if moved.is_empty() {
        String::new()
    } else {
        format!("{} → ", moved.join(", "))
    };
    let mut protocols: Vec<&str> = r.liquidations.iter().map(|l| l.protocol.as_str()).collect();
    protocols.extend(r.bad_debt.iter().map(|b| b.protocol.as_str()));
    protocols.dedup();
    let mut seen = Vec::new();
    for p in protocols {
        if seen.contains(&p) {
            continue;
        }
        seen.push(p);
        let mut what = Vec::new();
        let mut colls: Vec<&str> = Vec::new();
        for l in r.liquidations.iter().filter(|l| l.protocol == p) {
            if !colls.contains(&l.collateral.as_str()) {
                colls.push(&l.collateral);
            }
        }
        for c in colls {
            let (q, usd, rep) = r
                .liquidations
                .iter()
                .filter(|l| l.protocol == p && l.collateral == c)
                .fold((0.0, 0.0, 0.0), |acc, l| {
                    (
                        acc.0 + l.seized_tokens,
                        acc.1 + l.seized_usd,
                        acc.2 + l.repaid_usd,
                    )
                });
            what.push(format!(
                "{} {c} ({}) for {} of debt",
                fmt_tokens(q),
                fmt_usd(usd),
                fmt_usd(rep)
            ));
        }
        let mut line = if what.is_empty() {
            format!("round {}: {cause}{p}", r.round)
        } else {
            format!(
                "round {}: {cause}{p} liquidates {}",
                r.round,
                what.join(", ")
            )
        };
        let bad: f64 = r
            .bad_debt
            .iter()
            .filter(|b| b.protocol == p)
            .map(|b| b.usd)
            .sum();
        if bad > 0.0 {
            let accounts = r
                .losses
                .iter()
                .find(|l| l.protocol == p)
                .map_or(0, |l| l.accounts_bad_debt);
            line.push_str(&format!(
                "; bad debt {} ({} account{})",
                fmt_usd(bad),
                accounts,
                if accounts == 1 { "" } else { "s" }
            ));
        }
        lines.push(line);
    }
    for p in &r.paused {
        lines.push(format!(
            "round {}: {cause}{} liquidations paused by a circuit breaker ({} liquidatable account{} deferred)",
            r.round,
            p.protocol,
            p.deferred_accounts,
            if p.deferred_accounts == 1 { "" } else { "s" }
        ));
    }
    for p in &r.borrowing_frozen {
        lines.push(format!(
            "round {}: {p} freezes new borrowing (an oracle moved beyond its breaker)",
            r.round
        ));
    }
    for l in &r.losses {
        let is_cdp = s
            .protocols
            .iter()
            .any(|p| p.id == l.protocol && p.kind == ProtocolKind::Cdp);
        let (fund, rest) = if is_cdp {
            (
                "surplus buffer",
                "uncovered deficit, lowering the stable's backing",
            )
        } else {
            ("insurance fund", "socialised to suppliers")
        };
        let is_clearinghouse = s
            .protocols
            .iter()
            .any(|p| p.id == l.protocol && p.kind == ProtocolKind::Clearinghouse);
        if is_clearinghouse {
            lines.push(format!(
                "round {}: {} bad debt {}: insurance fund pays {}, profitable positions give up {}, {} uncovered (falls on depositors)",
                r.round,
                l.protocol,
                fmt_usd(l.insurance_used_usd + l.winners_paid_usd + l.uncovered_usd),
                fmt_usd(l.insurance_used_usd),
                fmt_usd(l.winners_paid_usd),
                fmt_usd(l.uncovered_usd)
            ));
            continue;
        }
        lines.push(format!(
            "round {}: {} bad debt {}: {fund} pays {}, {} {rest}",
            r.round,
            l.protocol,
            fmt_usd(l.insurance_used_usd + l.uncovered_usd),
            fmt_usd(l.insurance_used_usd),
            fmt_usd(l.uncovered_usd)
        ));
    }
    // Sales, then buys: (asset, verb, tokens, what the trade gives, USD, slippage USD).
    let sales = r.sales.iter().map(|t| {
        let f = &t.fill;
        (
            &t.asset,
            "selling",
            f.quantity,
            "yields",
            f.proceeds_usd,
            f.slippage_usd,
        )
    });
    let buys = r.buys.iter().map(|t| {
        let f = &t.fill;
        (
            &t.asset,
            "buying",
            f.quantity,
            "costs",
            f.cost_usd,
            f.slippage_usd,
        )
    });
    for (asset, doing, tokens, gives, usd, slippage) in sales.chain(buys) {
        let a = s.assets.iter().position(|x| &x.id == asset).unwrap_or(0);
        lines.push(format!(
            "round {}: {doing} {} {asset} {gives} {} (slippage {}) → {asset} {} (${:.4} → ${:.4})",
            r.round,
            fmt_tokens(tokens),
            fmt_usd(usd),
            fmt_usd(slippage),
            fmt_change(start[a], next[a]),
            start[a],
            next[a],
        ));
    }
    if lines.is_empty() {
        lines.push(format!("round {}: {cause}no liquidation", r.round));
    }
    lines
}

pub(crate) fn final_line(sys: &SystemSummary, fixed_point: bool, rounds: u32) -> String {
    let how = if fixed_point {
        "fixed point"
    } else {
        "max_rounds reached"
    };
    format!(
        "end after {rounds} round{} ({how}): {} of debt liquidated, bad debt {}, shortfall {}",
        if rounds == 1 { "" } else { "s" },
        fmt_usd(sys.liquidated_debt_usd),
        fmt_usd(sys.bad_debt_usd),
        fmt_usd(sys.shortfall_usd)
    )
}
