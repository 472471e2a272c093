//! The page of a liquidation-mechanism comparison (`cascade compare --mechanisms --report`,
//! docs/mechanisms.md#comparing-mechanisms).

use cascade_engine::trace::fmt_usd;
use cascade_engine::{MechanismComparison, MechanismRow};
use cascade_model::Snapshot;

use crate::charts::{vbar_grouped, Series, WIDTH};
use crate::html::{escape_html, page, section_html, Section};

/// A self-contained HTML page comparing liquidation mechanisms: a grouped bar chart (one group per
/// figure, one bar per mechanism), the figures of the chosen pools together, per pool, and the fire
/// sale's price impact per asset. Every text taken from the input is escaped; no script.
pub fn mechanisms_html(snapshot: &Snapshot, c: &MechanismComparison) -> String {
    let title = format!("Liquidation mechanisms: {} on {}", c.scenario, c.snapshot);
    let meta = vec![format!(
        "Snapshot <b>{}</b> ({}) · scenario <b>{}</b> · pools switched: {}",
        escape_html(&c.snapshot),
        escape_html(&snapshot.source),
        escape_html(&c.scenario),
        escape_html(&c.protocols.join(", "))
    )];
    let labels: Vec<String> = MechanismRow::FIGURES
        .iter()
        .map(|(l, _)| l.to_string())
        .collect();
    let series: Vec<Series> = c
        .runs
        .iter()
        .enumerate()
        .map(|(k, r)| {
            Series::nth(
                k,
                r.mechanism.clone(),
                MechanismRow::FIGURES
                    .iter()
                    .map(|(_, f)| f(&r.total))
                    .collect(),
            )
        })
        .collect();
    let chart = vbar_grouped(
        "Figures of the chosen pools per mechanism",
        &labels,
        &series,
        "USD",
        WIDTH,
    );
    let mut head = vec!["figure".to_string()];
    head.extend(c.runs.iter().map(|r| r.mechanism.clone()));
    let mut rows = vec![head.clone()];
    for (label, f) in MechanismRow::FIGURES {
        let mut row = vec![label.to_string()];
        row.extend(c.runs.iter().map(|r| fmt_usd(f(&r.total))));
        rows.push(row);
    }
    let mut row = vec!["accounts liquidated".to_string()];
    row.extend(
        c.runs
            .iter()
            .map(|r| r.total.accounts_liquidated.to_string()),
    );
    rows.push(row);
    let mut row = vec!["rounds".to_string()];
    row.extend(c.runs.iter().map(|r| r.rounds.to_string()));
    rows.push(row);
    let summary = Section::new("Side by side")
        .with_text(
            "Insolvent debt is bad debt booked plus the shortfall left at the end (accounts still \
             underwater, auctions still running net of their lots); borrower losses are the \
             collateral taken beyond the debt taken off; slippage is what the liquidators' sales \
             lost on the curves (docs/mechanisms.md#metrics). Bars below zero are drawn at zero.",
        )
        .with_svg(chart)
        .with_table(rows);
    let mut per = vec![{
        let mut h = vec!["pool".to_string(), "mechanism".to_string()];
        h.extend(MechanismRow::FIGURES.iter().map(|(l, _)| l.to_string()));
        h
    }];
    for r in &c.runs {
        for p in &r.by_protocol {
            let mut row = vec![p.protocol.clone(), r.mechanism.clone()];
            row.extend(MechanismRow::FIGURES.iter().map(|(_, f)| fmt_usd(f(p))));
            per.push(row);
        }
    }
    let pools = Section::new("Per pool").with_table(per);
    let assets: Vec<&String> = c
        .runs
        .first()
        .map(|r| r.price_impact.keys().collect())
        .unwrap_or_default();
    let mut impact = vec![{
        let mut h = vec!["asset".to_string()];
        h.extend(c.runs.iter().map(|r| r.mechanism.clone()));
        h
    }];
    for a in assets {
        let mut row = vec![a.clone()];
        row.extend(c.runs.iter().map(|r| {
            format!(
                "{:.2}%",
                100.0 * r.price_impact.get(a).copied().unwrap_or(0.0)
            )
        }));
        impact.push(row);
    }
    let impact = Section::new("Fire-sale price impact")
        .with_text("Per asset, how far the price ended below where the shock left it: 1 − final / after shock.")
        .with_table(impact);
    page(
        &title,
        &meta,
        &[
            section_html(&summary),
            section_html(&pools),
            section_html(&impact),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cascade_engine::MechanismRun;

    fn row(bad: f64) -> MechanismRow {
        MechanismRow {
            protocol: "<pool>".into(),
            bad_debt_usd: bad,
            liquidated_usd: 1000.0,
            ..MechanismRow::default()
        }
    }

    /// One bar per (figure, mechanism) with a positive value, escaped ids, no script.
    #[test]
    fn page_has_a_grouped_chart_and_escapes_ids() {
        let run = |m: &str, bad: f64| MechanismRun {
            mechanism: m.into(),
            rounds: 3,
            fixed_point: true,
            total: row(bad),
            by_protocol: vec![row(bad)],
            price_impact: [("ETH".to_string(), 0.05)].into_iter().collect(),
            worst_price_impact: 0.05,
            worst_price_impact_asset: "ETH".into(),
        };
        let c = MechanismComparison {
            snapshot: "s".into(),
            scenario: "x".into(),
            protocols: vec!["<pool>".into()],
            runs: vec![run("fixed-bonus", 10.0), run("absorb", 0.0)],
        };
        let s = Snapshot::default();
        let h = mechanisms_html(&s, &c);
        assert!(h.contains("&lt;pool&gt;") && !h.contains("<pool>"));
        assert!(!h.contains("<script"));
        // Bars: bad debt (fixed-bonus only) and liquidated (both): 3 rectangles in the plot, plus
        // the two legend boxes.
        let fill = |k: usize| {
            let c = crate::charts::color(k);
            format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2)
        };
        assert_eq!(h.matches(&fill(0)).count(), 2 + 1, "{h}");
        assert_eq!(h.matches(&fill(1)).count(), 1 + 1, "{h}");
        assert!(h.contains("5.00%"));
    }
}
