//! The human table of `cascade stress`.

use std::fmt::Write;

use cascade_engine::trace::{fmt_change, fmt_usd};
use cascade_engine::StressResult;
use cascade_model::Snapshot;

pub fn stress_table(s: &Snapshot, r: &StressResult) -> String {
    let mut o = String::new();
    let sys = &r.system;
    let _ = writeln!(
        o,
        "cascade stress — snapshot \"{}\", scenario \"{}\"",
        r.snapshot, r.scenario
    );
    let _ = writeln!(
        o,
        "{} ({}); {}, {}\n",
        plural(sys.rounds as usize, "round"),
        if sys.fixed_point {
            "fixed point"
        } else {
            "stopped at max_rounds"
        },
        plural(s.accounts.len(), "account"),
        plural(s.protocols.len(), "protocol")
    );
    let shocked = r.rounds.first().map(|x| &x.prices);
    let _ = writeln!(
        o,
        "{:<10} {:>14} {:>14} {:>14} {:>9}",
        "asset", "before (USD)", "after shock", "final", "change"
    );
    for a in &s.assets {
        let b = r.initial_prices.get(&a.id).copied().unwrap_or(0.0);
        let sh = shocked.and_then(|p| p.get(&a.id)).copied().unwrap_or(b);
        let f = r.final_prices.get(&a.id).copied().unwrap_or(0.0);
        let _ = writeln!(
            o,
            "{:<10} {:>14} {:>14} {:>14} {:>9}",
            a.id,
            price(b),
            price(sh),
            price(f),
            fmt_change(b, f)
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<14} {:>11} {:>11} {:>11} {:>11} {:>11} {:>9} {:>9}",
        "protocol", "TVL", "liquidated", "seized", "bad debt", "shortfall", "% of TVL", "accounts"
    );
    for p in &r.protocols {
        let _ = writeln!(
            o,
            "{:<14} {:>11} {:>11} {:>11} {:>11} {:>11} {:>8.3}% {:>9}",
            p.id,
            fmt_usd(p.tvl_usd),
            fmt_usd(p.liquidated_debt_usd),
            fmt_usd(p.seized_collateral_usd),
            fmt_usd(p.bad_debt_usd),
            fmt_usd(p.shortfall_usd),
            100.0 * p.bad_debt_share_of_tvl,
            p.accounts_liquidated
        );
    }
    let _ = writeln!(
        o,
        "{:<14} {:>11} {:>11} {:>11} {:>11} {:>11} {:>8.3}% {:>9}",
        "system",
        fmt_usd(sys.tvl_usd),
        fmt_usd(sys.liquidated_debt_usd),
        fmt_usd(sys.seized_collateral_usd),
        fmt_usd(sys.bad_debt_usd),
        fmt_usd(sys.shortfall_usd),
        100.0 * sys.bad_debt_share_of_tvl,
        sys.accounts_liquidated
    );
    let funded: Vec<_> = r
        .protocols
        .iter()
        .filter(|p| p.insurance_fund_initial_usd > 0.0 || p.insurance_used_usd > 0.0)
        .collect();
    if !funded.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<14} {:>11} {:>11} {:>9} {:>11} {:>11}",
            "insurance", "bad debt", "paid", "coverage", "fund before", "fund after"
        );
        for p in funded {
            let _ = writeln!(
                o,
                "{:<14} {:>11} {:>11} {:>8.1}% {:>11} {:>11}",
                p.id,
                fmt_usd(p.bad_debt_usd),
                fmt_usd(p.insurance_used_usd),
                100.0 * p.insurance_coverage,
                fmt_usd(p.insurance_fund_initial_usd),
                fmt_usd(p.insurance_fund_final_usd)
            );
        }
    }
    let _ = writeln!(o, "\nliquidated = debt repaid by liquidators; bad debt = debt left on accounts with no collateral (gross of insurance);");
    let _ = writeln!(o, "shortfall = open accounts with HF < 1 at the end, debt above collateral (not yet realised)\n");
    let _ = writeln!(o, "contagion trace:");
    for line in &r.trace {
        let _ = writeln!(o, "  {line}");
    }
    o
}

/// `--breakers both`: the difference breakers make, then each run in full.
pub fn breakers_table(s: &Snapshot, on: &StressResult, off: &StressResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "cascade stress — scenario \"{}\": circuit breakers on vs off\n",
        on.scenario
    );
    let _ = writeln!(
        o,
        "{:<14} {:>12} {:>12} {:>12} {:>12} {:>12} {:>7} {:>9}",
        "protocol",
        "bad debt on",
        "bad debt off",
        "difference",
        "liquid. on",
        "liquid. off",
        "paused",
        "deferred"
    );
    for (a, b) in on.protocols.iter().zip(&off.protocols) {
        let _ = writeln!(
            o,
            "{:<14} {:>12} {:>12} {:>12} {:>12} {:>12} {:>7} {:>9}",
            a.id,
            fmt_usd(a.bad_debt_usd),
            fmt_usd(b.bad_debt_usd),
            fmt_usd(a.bad_debt_usd - b.bad_debt_usd),
            fmt_usd(a.liquidated_debt_usd),
            fmt_usd(b.liquidated_debt_usd),
            a.paused_rounds,
            a.deferred_account_rounds
        );
    }
    let (a, b) = (&on.system, &off.system);
    let _ = writeln!(
        o,
        "{:<14} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "system",
        fmt_usd(a.bad_debt_usd),
        fmt_usd(b.bad_debt_usd),
        fmt_usd(a.bad_debt_usd - b.bad_debt_usd),
        fmt_usd(a.liquidated_debt_usd),
        fmt_usd(b.liquidated_debt_usd)
    );
    let _ = writeln!(
        o,
        "rounds: {} with breakers, {} without\n",
        a.rounds, b.rounds
    );
    let _ = writeln!(o, "=== with circuit breakers ===");
    o.push_str(&stress_table(s, on));
    let _ = writeln!(o, "\n=== without circuit breakers ===");
    o.push_str(&stress_table(s, off));
    o
}

fn price(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
