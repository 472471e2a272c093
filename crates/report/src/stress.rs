//! The report of one stress run (DESIGN §10): summary, prices, bad debt, liquidations by round and the
//! contagion trace.

use std::fmt::Write as _;

use cascade_engine::trace::{fmt_change, fmt_usd};
use cascade_engine::StressResult;
use cascade_model::Snapshot;

use plotters::style::RGBColor;

use crate::charts::{color, hbar_stacked, lines, vbar_stacked, Series};
use crate::html::{escape_html, page, section_html, section_html_with_total, Section};

/// A price counts as moved when it differs from its pre-shock value by more than this (relative).
const MOVED_REL: f64 = 1e-9;

/// A self-contained HTML report of one stress run: the snapshot's and scenario's names, a summary
/// table (per protocol and for the system: TVL, liquidated debt, seized collateral, bad debt,
/// insurance used, uncovered, shortfall, accounts liquidated, bad debt as a share of TVL), the prices
/// of every asset that moved, charts of bad debt by protocol, price paths by round (round 0 = 100) and
/// liquidated debt by round per protocol, and the contagion trace.
///
/// Every text taken from the input (ids, names, trace lines) is escaped; the page has no script and
/// loads nothing.
pub fn stress_html(snapshot: &Snapshot, result: &StressResult) -> String {
    let r = result;
    let sys = &r.system;
    let title = format!("Stress report: {} on {}", r.scenario, r.snapshot);
    let how = if sys.fixed_point {
        "stopped at a fixed point"
    } else {
        "stopped at max_rounds, before a fixed point"
    };
    let meta = vec![
        format!(
            "Snapshot <b>{}</b> ({}) · scenario <b>{}</b>",
            escape_html(&r.snapshot),
            escape_html(&snapshot.source),
            escape_html(&r.scenario)
        ),
        format!(
            "Circuit breakers {} · {} round{} after the shocks, {how}",
            if r.breakers { "on" } else { "off" },
            sys.rounds,
            plural(u64::from(sys.rounds))
        ),
    ];
    let mut body = vec![
        section_html_with_total(&summary_section(r)),
        section_html(&bad_debt_section(r)),
        section_html(&prices_section(snapshot, r)),
        section_html(&liquidations_section(r)),
    ];
    if let Some(s) = insurance_section(r) {
        body.push(section_html(&s));
    }
    body.push(trace_html(&r.trace));
    page(&title, &meta, &body)
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn pct(share: f64) -> String {
    format!("{:.3}%", 100.0 * share)
}

fn summary_section(r: &StressResult) -> Section {
    let s = &r.system;
    let header = [
        "protocol",
        "kind",
        "TVL",
        "liquidated debt",
        "seized collateral",
        "bad debt",
        "insurance used",
        "uncovered",
        "shortfall",
        "accounts liquidated",
        "bad debt / TVL",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for p in &r.protocols {
        rows.push(vec![
            p.id.clone(),
            p.kind.clone(),
            fmt_usd(p.tvl_usd),
            fmt_usd(p.liquidated_debt_usd),
            fmt_usd(p.seized_collateral_usd),
            fmt_usd(p.bad_debt_usd),
            fmt_usd(p.insurance_used_usd),
            fmt_usd(p.uncovered_usd),
            fmt_usd(p.shortfall_usd),
            p.accounts_liquidated.to_string(),
            pct(p.bad_debt_share_of_tvl),
        ]);
    }
    rows.push(vec![
        "system".into(),
        String::new(),
        fmt_usd(s.tvl_usd),
        fmt_usd(s.liquidated_debt_usd),
        fmt_usd(s.seized_collateral_usd),
        fmt_usd(s.bad_debt_usd),
        fmt_usd(s.insurance_used_usd),
        fmt_usd(s.uncovered_usd),
        fmt_usd(s.shortfall_usd),
        s.accounts_liquidated.to_string(),
        pct(s.bad_debt_share_of_tvl),
    ]);
    Section::new("Summary")
        .with_text(format!(
            "Bad debt {} ({} of TVL {}): insurance funds paid {}, {} uncovered. {} of debt liquidated \
             ({} of collateral seized) on {} account{}; {} still underwater with a shortfall of {}.",
            fmt_usd(s.bad_debt_usd),
            pct(s.bad_debt_share_of_tvl),
            fmt_usd(s.tvl_usd),
            fmt_usd(s.insurance_used_usd),
            fmt_usd(s.uncovered_usd),
            fmt_usd(s.liquidated_debt_usd),
            fmt_usd(s.seized_collateral_usd),
            s.accounts_liquidated,
            plural(s.accounts_liquidated),
            s.accounts_underwater,
            fmt_usd(s.shortfall_usd),
        ))
        .with_text(
            "Bad debt is gross (before insurance); shortfall is the unrealised loss on accounts still \
             open with HF < 1 at the end, at final prices.",
        )
        .with_table(rows)
}

fn bad_debt_section(r: &StressResult) -> Section {
    let s = Section::new("Bad debt by protocol");
    let any_bad_debt = r.protocols.iter().any(|p| p.bad_debt_usd > 0.0);
    if !any_bad_debt {
        return s.with_text("No protocol took bad debt.");
    }
    let ids: Vec<String> = r.protocols.iter().map(|p| p.id.clone()).collect();
    let paid: Vec<f64> = r
        .protocols
        .iter()
        .map(|p| p.insurance_used_usd.clamp(0.0, p.bad_debt_usd.max(0.0)))
        .collect();
    let rest: Vec<f64> = r
        .protocols
        .iter()
        .zip(&paid)
        .map(|(p, i)| (p.bad_debt_usd - i).max(0.0))
        .collect();
    let svg = hbar_stacked(
        "Bad debt by protocol (gross)",
        &ids,
        &[
            Series {
                name: "paid by insurance fund / surplus buffer".into(),
                values: paid,
                color: RGBColor(118, 150, 190),
            },
            Series {
                name: "uncovered (suppliers / backing)".into(),
                values: rest,
                color: RGBColor(205, 60, 60),
            },
        ],
        fmt_usd,
    );
    s.with_svg(svg)
}

/// Asset ids in snapshot order, then any other priced asset.
fn asset_order(snapshot: &Snapshot, r: &StressResult) -> Vec<String> {
    let mut ids: Vec<String> = snapshot.assets.iter().map(|a| a.id.clone()).collect();
    for id in r.initial_prices.keys() {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

fn moved(r: &StressResult, id: &str) -> bool {
    let Some(&p0) = r.initial_prices.get(id) else {
        return false;
    };
    let differs = |p: f64| (p - p0).abs() > MOVED_REL * p0.abs().max(1e-12);
    r.rounds
        .iter()
        .filter_map(|k| k.prices.get(id))
        .chain(r.final_prices.get(id))
        .any(|p| differs(*p))
}

fn prices_section(snapshot: &Snapshot, r: &StressResult) -> Section {
    let ids: Vec<String> = asset_order(snapshot, r)
        .into_iter()
        .filter(|id| moved(r, id))
        .collect();
    let s = Section::new("Prices");
    if ids.is_empty() {
        return s.with_text("No price moved.");
    }
    let usd = |p: f64| format!("${}", price_digits(p));
    let mut rows = vec![vec![
        "asset".to_string(),
        "before".into(),
        "after the shocks".into(),
        "final".into(),
        "shock".into(),
        "cascade".into(),
        "total".into(),
    ]];
    let shocked = |id: &str| r.rounds.first().and_then(|k| k.prices.get(id)).copied();
    for id in &ids {
        let b = r.initial_prices.get(id).copied().unwrap_or(f64::NAN);
        let sh = shocked(id).unwrap_or(b);
        let f = r.final_prices.get(id).copied().unwrap_or(sh);
        rows.push(vec![
            id.clone(),
            usd(b),
            usd(sh),
            usd(f),
            fmt_change(b, sh),
            fmt_change(sh, f),
            fmt_change(b, f),
        ]);
    }
    let xs: Vec<u32> = r.rounds.iter().map(|k| k.round).collect();
    let series: Vec<Series> = ids
        .iter()
        .enumerate()
        .filter_map(|(k, id)| {
            let base = shocked(id).filter(|p| *p > 0.0)?;
            Some(Series {
                name: id.clone(),
                color: color(k),
                values: r
                    .rounds
                    .iter()
                    .map(|k| k.prices.get(id).map_or(f64::NAN, |p| 100.0 * p / base))
                    .collect(),
            })
        })
        .collect();
    let mut s = s.with_text(
        "Assets whose price moved. Round 0 holds the prices right after the shocks; round r's are the \
         oracle prices its liquidations used. The chart indexes each asset to 100 at round 0, so it \
         shows what the cascade did after the shocks; the table shows the shocks themselves.",
    );
    if !series.is_empty() && !xs.is_empty() {
        s = s.with_svg(lines(
            "Prices by round (round 0 = 100)",
            &xs,
            &series,
            "round",
            "price index",
        ));
    }
    s.with_table(rows)
}

/// `1,234.56`, `0.9987`, `0.00001234`: enough digits to see a small move.
fn price_digits(p: f64) -> String {
    if !p.is_finite() {
        return "n/a".into();
    }
    let a = p.abs();
    let decimals = if a >= 100.0 {
        2
    } else if a >= 1.0 {
        4
    } else if a > 0.0 {
        // Four significant digits.
        (4 - a.log10().floor() as i32 - 1).clamp(4, 12) as usize
    } else {
        2
    };
    let s = format!("{a:.decimals$}");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut grouped = String::new();
    for (k, ch) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if p < 0.0 { "−" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

fn liquidations_section(r: &StressResult) -> Section {
    let s = Section::new("Liquidated debt by round");
    let rounds: Vec<&cascade_engine::RoundReport> =
        r.rounds.iter().filter(|k| k.round > 0).collect();
    // Each protocol keeps its colour (its place in the snapshot) whichever others liquidated.
    let mut protocols: Vec<(usize, String)> = Vec::new();
    for (k, p) in r.protocols.iter().enumerate() {
        let any = rounds
            .iter()
            .any(|x| x.liquidations.iter().any(|l| l.protocol == p.id));
        if any {
            protocols.push((k, p.id.clone()));
        }
    }
    if protocols.is_empty() || rounds.is_empty() {
        return s.with_text("No liquidation.");
    }
    let series: Vec<Series> = protocols
        .iter()
        .map(|(c, id)| Series {
            name: id.clone(),
            color: color(*c),
            values: rounds
                .iter()
                .map(|k| {
                    k.liquidations
                        .iter()
                        .filter(|l| &l.protocol == id)
                        .map(|l| l.repaid_usd)
                        .sum()
                })
                .collect(),
        })
        .collect();
    let labels: Vec<String> = rounds.iter().map(|k| k.round.to_string()).collect();
    let mut rows = vec![std::iter::once("round".to_string())
        .chain(protocols.iter().map(|(_, id)| id.clone()))
        .chain(std::iter::once("total".to_string()))
        .collect::<Vec<_>>()];
    for (i, k) in rounds.iter().enumerate() {
        let vals: Vec<f64> = series.iter().map(|s| s.values[i]).collect();
        let total: f64 = vals.iter().sum();
        rows.push(
            std::iter::once(k.round.to_string())
                .chain(vals.iter().map(|v| fmt_usd(*v)))
                .chain(std::iter::once(fmt_usd(total)))
                .collect(),
        );
    }
    s.with_text(
        "Debt repaid by liquidators in each round, valued at the round's oracle prices, stacked by \
         protocol.",
    )
    .with_svg(vbar_stacked(
        "Liquidated debt by round",
        &labels,
        &series,
        "debt repaid (USD)",
    ))
    .with_table(rows)
}

fn insurance_section(r: &StressResult) -> Option<Section> {
    let funded: Vec<_> = r
        .protocols
        .iter()
        .filter(|p| {
            p.insurance_fund_initial_usd > 0.0 || p.insurance_used_usd > 0.0 || p.bad_debt_usd > 0.0
        })
        .collect();
    if funded.is_empty() {
        return None;
    }
    let mut rows = vec![vec![
        "protocol".to_string(),
        "bad debt".into(),
        "paid by fund".into(),
        "coverage".into(),
        "fund before".into(),
        "fund after".into(),
    ]];
    for p in funded {
        rows.push(vec![
            p.id.clone(),
            fmt_usd(p.bad_debt_usd),
            fmt_usd(p.insurance_used_usd),
            format!("{:.1}%", 100.0 * p.insurance_coverage),
            fmt_usd(p.insurance_fund_initial_usd),
            fmt_usd(p.insurance_fund_final_usd),
        ]);
    }
    Some(
        Section::new("Insurance funds")
            .with_text(
                "The fund after is valued at final prices: its fall is what it paid plus what the \
                 stress did to its own tokens.",
            )
            .with_table(rows),
    )
}

fn trace_html(trace: &[String]) -> String {
    let mut o = String::from(
        "<section>\n<h2>Contagion trace</h2>\n<p>What caused what, round by round.</p>\n<ol class=\"trace\">\n",
    );
    for line in trace {
        let _ = writeln!(o, "<li>{}</li>", escape_html(line));
    }
    o.push_str("</ol>\n</section>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_digits_keep_small_moves_visible() {
        assert_eq!(price_digits(2000.0), "2,000.00");
        assert_eq!(price_digits(0.9987), "0.9987");
        assert_eq!(price_digits(0.00012346), "0.0001235");
        assert_eq!(price_digits(f64::NAN), "n/a");
    }

    #[test]
    fn trace_is_escaped() {
        let h = trace_html(&["round 1: <x> & \"y\"".to_string()]);
        assert!(h.contains("<li>round 1: &lt;x&gt; &amp; &quot;y&quot;</li>"));
    }
}
