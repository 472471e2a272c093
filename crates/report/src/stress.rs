//! The report of one stress run (docs/cascade.md, docs/losses.md#reported-figures): summary, prices,
//! bad debt, liquidations by round and the contagion trace.

use std::fmt::Write as _;

use cascade_engine::trace::{fmt_change, fmt_usd};
use cascade_engine::{ProtocolSummary, StressResult};
use cascade_model::Snapshot;

use plotters::style::RGBColor;

use crate::charts::{hbar_stacked, lines, vbar_stacked, Series, WIDTH};
use crate::html::{escape_html, page, section_html_at, Level, Section};

/// A price counts as moved when it differs from its pre-shock value by more than this (relative).
const MOVED_REL: f64 = 1e-9;

/// Bad debt paid by an insurance fund or a surplus buffer.
const INSURANCE_COLOR: RGBColor = RGBColor(118, 150, 190);
/// Bad debt a clearinghouse took from its winners (socialised loss or auto-deleveraging).
const WINNERS_COLOR: RGBColor = RGBColor(42, 157, 143);
/// Bad debt nobody covered: left to suppliers or to a stablecoin's backing.
const UNCOVERED_COLOR: RGBColor = RGBColor(205, 60, 60);

/// The legend of the part of bad debt a clearinghouse's winners paid.
pub(crate) const WINNERS_LABEL: &str = "paid by winners (socialised / ADL)";
/// The legend of the part of bad debt nobody covered.
pub(crate) const UNCOVERED_LABEL: &str = "uncovered (suppliers / backing)";

/// A self-contained HTML report of one stress run: the snapshot's and scenario's names, a summary
/// table (per protocol and for the system: TVL, liquidated debt, seized collateral, bad debt,
/// insurance used, paid by a clearinghouse's winners (when any clearinghouse is in the run), uncovered,
/// shortfall, accounts liquidated, bad debt as a share of TVL), the prices of every asset that moved,
/// charts of bad debt by protocol (insurance, winners and uncovered parts), price paths by round
/// (round 0 = 100) and liquidated debt by round per protocol, and the contagion trace.
///
/// Every text taken from the input (ids, names, trace lines) is escaped; the page has no script and
/// loads nothing.
pub fn stress_html(snapshot: &Snapshot, result: &StressResult) -> String {
    let r = result;
    let title = format!("Stress report: {} on {}", r.scenario, r.snapshot);
    let body: Vec<String> = parts(snapshot, r, PartStyle::PAGE)
        .into_iter()
        .map(|(_, html)| html)
        .collect();
    page(&title, &meta_lines(snapshot, r), &body)
}

/// The lines under a stress report's title (HTML): snapshot and scenario, breakers and rounds.
pub(crate) fn meta_lines(snapshot: &Snapshot, r: &StressResult) -> Vec<String> {
    vec![
        format!(
            "Snapshot <b>{}</b> ({}) · scenario <b>{}</b>",
            escape_html(&r.snapshot),
            escape_html(&snapshot.source),
            escape_html(&r.scenario)
        ),
        run_line(r),
    ]
}

/// `Circuit breakers on · 7 rounds after the shocks, stopped at a fixed point`.
pub(crate) fn run_line(r: &StressResult) -> String {
    let sys = &r.system;
    let how = if sys.fixed_point {
        "stopped at a fixed point"
    } else {
        "stopped at max_rounds, before a fixed point"
    };
    format!(
        "Circuit breakers {} · {} round{} after the shocks, {how}",
        if r.breakers { "on" } else { "off" },
        sys.rounds,
        plural(u64::from(sys.rounds))
    )
}

/// The parts of a stress report, in page order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Summary,
    BadDebt,
    Prices,
    Liquidations,
    Insurance,
    Trace,
}

impl Part {
    pub(crate) const ALL: [Part; 6] = [
        Part::Summary,
        Part::BadDebt,
        Part::Prices,
        Part::Liquidations,
        Part::Insurance,
        Part::Trace,
    ];
}

/// How a run's sections are drawn: heading level, chart width (pixels) and a suffix for every heading
/// (e.g. ` — breakers on`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartStyle<'a> {
    pub level: Level,
    pub width: u32,
    pub suffix: &'a str,
}

impl PartStyle<'_> {
    /// A page of its own: `h2` headings, full-width charts, no suffix.
    pub(crate) const PAGE: PartStyle<'static> = PartStyle {
        level: Level::H2,
        width: WIDTH,
        suffix: "",
    };
}

/// The sections of one run's report as HTML, in page order; the insurance section only when a
/// protocol has a fund or took bad debt.
pub(crate) fn parts(
    snapshot: &Snapshot,
    r: &StressResult,
    style: PartStyle,
) -> Vec<(Part, String)> {
    let w = style.width;
    let html = |mut s: Section, total: bool| {
        s.heading.push_str(style.suffix);
        section_html_at(&s, total, style.level)
    };
    let mut out = vec![
        (Part::Summary, html(summary_section(r), true)),
        (Part::BadDebt, html(bad_debt_section(r, w), false)),
        (Part::Prices, html(prices_section(snapshot, r, w), false)),
        (Part::Liquidations, html(liquidations_section(r, w), false)),
    ];
    if let Some(s) = insurance_section(r) {
        out.push((Part::Insurance, html(s, false)));
    }
    out.push((Part::Trace, trace_html(&r.trace, style.level, style.suffix)));
    out
}

/// Whether a run's tables show what clearinghouses' winners paid: when one is in the run or paid.
pub(crate) fn shows_winners(r: &StressResult) -> bool {
    r.protocols
        .iter()
        .any(|p| p.kind == "clearinghouse" || p.winners_paid_usd > 0.0)
}

/// A protocol's bad debt split into what insurance paid, what winners paid and what is left
/// uncovered: each part ≥ 0, their sum the gross bad debt (`bad debt = insurance + winners +
/// uncovered` in the engine; clamped here so the bars never exceed the bad debt).
pub(crate) fn bad_debt_split(p: &ProtocolSummary) -> [f64; 3] {
    let bad = if p.bad_debt_usd.is_finite() {
        p.bad_debt_usd.max(0.0)
    } else {
        0.0
    };
    let part = |x: f64, room: f64| {
        if x.is_finite() {
            x.clamp(0.0, room)
        } else {
            0.0
        }
    };
    let insurance = part(p.insurance_used_usd, bad);
    let winners = part(p.winners_paid_usd, bad - insurance);
    [insurance, winners, (bad - insurance - winners).max(0.0)]
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
    let winners = shows_winners(r);
    let mut header = vec![
        "protocol",
        "kind",
        "TVL",
        "liquidated debt",
        "seized collateral",
        "bad debt",
        "insurance used",
    ];
    if winners {
        header.push("paid by winners");
    }
    header.extend([
        "uncovered",
        "shortfall",
        "accounts liquidated",
        "bad debt / TVL",
    ]);
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    let row = |id: &str, kind: &str, f: [f64; 9], accounts: u64| {
        let [tvl, liquidated, seized, bad, insurance, paid_by_winners, uncovered, shortfall, share] =
            f;
        let mut row = vec![
            id.to_string(),
            kind.to_string(),
            fmt_usd(tvl),
            fmt_usd(liquidated),
            fmt_usd(seized),
            fmt_usd(bad),
            fmt_usd(insurance),
        ];
        if winners {
            row.push(fmt_usd(paid_by_winners));
        }
        row.extend([
            fmt_usd(uncovered),
            fmt_usd(shortfall),
            accounts.to_string(),
            pct(share),
        ]);
        row
    };
    for p in &r.protocols {
        rows.push(row(
            &p.id,
            &p.kind,
            [
                p.tvl_usd,
                p.liquidated_debt_usd,
                p.seized_collateral_usd,
                p.bad_debt_usd,
                p.insurance_used_usd,
                p.winners_paid_usd,
                p.uncovered_usd,
                p.shortfall_usd,
                p.bad_debt_share_of_tvl,
            ],
            p.accounts_liquidated,
        ));
    }
    rows.push(row(
        "system",
        "",
        [
            s.tvl_usd,
            s.liquidated_debt_usd,
            s.seized_collateral_usd,
            s.bad_debt_usd,
            s.insurance_used_usd,
            s.winners_paid_usd,
            s.uncovered_usd,
            s.shortfall_usd,
            s.bad_debt_share_of_tvl,
        ],
        s.accounts_liquidated,
    ));
    let paid = if winners {
        format!(
            "insurance funds paid {}, clearinghouses' winners paid {}, {} uncovered",
            fmt_usd(s.insurance_used_usd),
            fmt_usd(s.winners_paid_usd),
            fmt_usd(s.uncovered_usd)
        )
    } else {
        format!(
            "insurance funds paid {}, {} uncovered",
            fmt_usd(s.insurance_used_usd),
            fmt_usd(s.uncovered_usd)
        )
    };
    Section::new("Summary")
        .with_text(format!(
            "Bad debt {} ({} of TVL {}): {paid}. {} of debt liquidated ({} of collateral seized) on {} \
             account{}; {} still underwater with a shortfall of {}.",
            fmt_usd(s.bad_debt_usd),
            pct(s.bad_debt_share_of_tvl),
            fmt_usd(s.tvl_usd),
            fmt_usd(s.liquidated_debt_usd),
            fmt_usd(s.seized_collateral_usd),
            s.accounts_liquidated,
            plural(s.accounts_liquidated),
            s.accounts_underwater,
            fmt_usd(s.shortfall_usd),
        ))
        .with_text(if winners {
            "Bad debt is gross (before insurance); a clearinghouse's winners pay what its insurance fund \
             cannot (socialised loss or auto-deleveraging), and only the rest is uncovered. Shortfall is \
             the unrealised loss on accounts still open with HF < 1 at the end, at final prices."
        } else {
            "Bad debt is gross (before insurance); shortfall is the unrealised loss on accounts still \
             open with HF < 1 at the end, at final prices."
        })
        .with_text_if(baseline_text(r))
        .with_table(rows)
}

/// What the snapshot already owed without any shock, and the scenario's part
/// (docs/losses.md#baseline-and-incremental); empty when the run has no baseline.
fn baseline_text(r: &StressResult) -> Option<String> {
    match (&r.baseline, &r.incremental) {
        (Some(b), Some(i)) => Some(format!(
            "Without any shock the same snapshot already liquidates {} and leaves {} of bad debt and {}              of shortfall: the scenario's own part is {} liquidated, {} of bad debt and {} of shortfall.",
            fmt_usd(b.liquidated_debt_usd),
            fmt_usd(b.bad_debt_usd),
            fmt_usd(b.shortfall_usd),
            fmt_usd(i.liquidated_debt_usd),
            fmt_usd(i.bad_debt_usd),
            fmt_usd(i.shortfall_usd)
        )),
        _ => None,
    }
}

fn bad_debt_section(r: &StressResult, width: u32) -> Section {
    let s = Section::new("Bad debt by protocol");
    let any_bad_debt = r.protocols.iter().any(|p| p.bad_debt_usd > 0.0);
    if !any_bad_debt {
        return s.with_text("No protocol took bad debt.");
    }
    let ids: Vec<String> = r.protocols.iter().map(|p| p.id.clone()).collect();
    let split: Vec<[f64; 3]> = r.protocols.iter().map(bad_debt_split).collect();
    let column = |k: usize| split.iter().map(|x| x[k]).collect::<Vec<f64>>();
    let mut series = vec![Series::colored(
        "paid by insurance fund / surplus buffer",
        column(0),
        INSURANCE_COLOR,
    )];
    // Winners get their own colour and legend entry whenever a clearinghouse is in the run.
    if shows_winners(r) {
        series.push(Series::colored(WINNERS_LABEL, column(1), WINNERS_COLOR));
    }
    series.push(Series::colored(UNCOVERED_LABEL, column(2), UNCOVERED_COLOR));
    let svg = hbar_stacked(
        "Bad debt by protocol (gross)",
        &ids,
        &series,
        fmt_usd,
        width,
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

fn prices_section(snapshot: &Snapshot, r: &StressResult, width: u32) -> Section {
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
            Some(Series::nth(
                k,
                id.clone(),
                r.rounds
                    .iter()
                    .map(|k| k.prices.get(id).map_or(f64::NAN, |p| 100.0 * p / base))
                    .collect(),
            ))
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
            ("round", "price index"),
            width,
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

fn liquidations_section(r: &StressResult, width: u32) -> Section {
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
        .map(|(c, id)| {
            Series::nth(
                *c,
                id.clone(),
                rounds
                    .iter()
                    .map(|k| {
                        k.liquidations
                            .iter()
                            .filter(|l| &l.protocol == id)
                            .map(|l| l.repaid_usd)
                            .sum()
                    })
                    .collect(),
            )
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
        width,
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
    let winners = shows_winners(r);
    let mut header = vec!["protocol", "bad debt", "paid by fund", "coverage"];
    if winners {
        header.push("paid by winners");
    }
    header.extend(["uncovered", "fund before", "fund after"]);
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for p in funded {
        let [_, paid_by_winners, uncovered] = bad_debt_split(p);
        let mut row = vec![
            p.id.clone(),
            fmt_usd(p.bad_debt_usd),
            fmt_usd(p.insurance_used_usd),
            format!("{:.1}%", 100.0 * p.insurance_coverage),
        ];
        if winners {
            row.push(fmt_usd(paid_by_winners));
        }
        row.extend([
            fmt_usd(uncovered),
            fmt_usd(p.insurance_fund_initial_usd),
            fmt_usd(p.insurance_fund_final_usd),
        ]);
        rows.push(row);
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

fn trace_html(trace: &[String], level: Level, suffix: &str) -> String {
    let h = level.tag();
    let mut o = format!(
        "<section>\n<{h}>Contagion trace{}</{h}>\n<p>What caused what, round by round.</p>\n<ol class=\"trace\">\n",
        escape_html(suffix)
    );
    for line in trace {
        let _ = writeln!(o, "<li>{}</li>", escape_html(line));
    }
    o.push_str("</ol>\n</section>\n");
    o
}

#[cfg(test)]
mod tests;
