//! One page comparing a stress run with circuit breakers on and the same run with them off
//! (`cascade stress --breakers both --report`, docs/breakers.md#breakers-on-and-off).

use cascade_engine::trace::fmt_usd;
use cascade_engine::{ProtocolSummary, StressResult};
use cascade_model::Snapshot;

use crate::charts::HALF_WIDTH;
use crate::html::{escape_html, page_with_layout, section_html_at, Layout, Level, Section};
use crate::stress::{parts, run_line, shows_winners, Part, PartStyle};

/// A self-contained HTML report comparing two runs of one scenario on one snapshot, `on` with circuit
/// breakers and `off` without: one document (one `<html>`), a table of both runs' figures per protocol
/// (bad debt, its difference, uncovered, paid by winners when a clearinghouse is in the run,
/// liquidated debt, rounds paused, account-rounds deferred), then each section of the single-run
/// report ([`crate::stress_html`]) twice, side by side — breakers on left, off right — stacked on a
/// narrow screen.
///
/// Every text taken from the input is escaped; the page has no script and loads nothing.
pub fn stress_comparison_html(
    snapshot: &Snapshot,
    on: &StressResult,
    off: &StressResult,
) -> String {
    let title = format!(
        "Stress report: {} on {}, circuit breakers on vs off",
        on.scenario, on.snapshot
    );
    let meta = vec![
        format!(
            "Snapshot <b>{}</b> ({}) · scenario <b>{}</b>",
            escape_html(&on.snapshot),
            escape_html(&snapshot.source),
            escape_html(&on.scenario)
        ),
        format!("Left: {}", run_line(on)),
        format!("Right: {}", run_line(off)),
    ];
    let mut body = vec![section_html_at(
        &comparison_section(on, off),
        true,
        Level::H2,
    )];
    let style = |suffix| PartStyle {
        level: Level::H3,
        width: HALF_WIDTH,
        suffix,
    };
    let left = parts(snapshot, on, style(" — breakers on"));
    let right = parts(snapshot, off, style(" — breakers off"));
    for part in Part::ALL {
        let find =
            |v: &[(Part, String)]| v.iter().find(|(p, _)| *p == part).map(|(_, h)| h.clone());
        let (a, b) = (find(&left), find(&right));
        if a.is_none() && b.is_none() {
            continue;
        }
        let missing = "<section><p class=\"note\">Not in this run.</p></section>\n".to_string();
        body.push(format!(
            "<div class=\"pair\">\n<div class=\"run on\">\n{}</div>\n<div class=\"run off\">\n{}</div>\n</div>\n",
            a.unwrap_or_else(|| missing.clone()),
            b.unwrap_or(missing)
        ));
    }
    page_with_layout(&title, &meta, &body, Layout::Wide)
}

/// Both runs' figures per protocol, then the system.
fn comparison_section(on: &StressResult, off: &StressResult) -> Section {
    let winners = shows_winners(on) || shows_winners(off);
    let mut header = vec![
        "protocol",
        "bad debt, on",
        "bad debt, off",
        "difference (on − off)",
        "uncovered, on",
        "uncovered, off",
    ];
    if winners {
        header.extend(["paid by winners, on", "paid by winners, off"]);
    }
    header.extend([
        "liquidated debt, on",
        "liquidated debt, off",
        "rounds paused",
        "account-rounds deferred",
    ]);
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    let row = |id: &str, a: Figures, b: Figures| {
        let mut r = vec![
            id.to_string(),
            fmt_usd(a.bad_debt),
            fmt_usd(b.bad_debt),
            signed_usd(a.bad_debt - b.bad_debt),
            fmt_usd(a.uncovered),
            fmt_usd(b.uncovered),
        ];
        if winners {
            r.extend([fmt_usd(a.winners), fmt_usd(b.winners)]);
        }
        r.extend([
            fmt_usd(a.liquidated),
            fmt_usd(b.liquidated),
            a.paused.to_string(),
            a.deferred.to_string(),
        ]);
        r
    };
    let none = Figures::default();
    for p in &on.protocols {
        let q = off.protocols.iter().find(|q| q.id == p.id);
        rows.push(row(&p.id, Figures::of(p), q.map_or(none, Figures::of)));
    }
    // Protocols only in the run without breakers (not expected: both runs share a snapshot).
    for q in &off.protocols {
        if !on.protocols.iter().any(|p| p.id == q.id) {
            rows.push(row(&q.id, none, Figures::of(q)));
        }
    }
    let system = |r: &StressResult| Figures {
        bad_debt: r.system.bad_debt_usd,
        uncovered: r.system.uncovered_usd,
        winners: r.system.winners_paid_usd,
        liquidated: r.system.liquidated_debt_usd,
        paused: r.protocols.iter().map(|p| p.paused_rounds).sum(),
        deferred: r.protocols.iter().map(|p| p.deferred_account_rounds).sum(),
    };
    rows.push(row("system", system(on), system(off)));
    Section::new("Circuit breakers on vs off")
        .with_text(format!(
            "The same scenario run twice: with circuit breakers, the system's bad debt is {} against {} \
             without ({}); {} round{} after the shocks against {}. Rounds paused and account-rounds \
             deferred are the run with breakers'.",
            fmt_usd(on.system.bad_debt_usd),
            fmt_usd(off.system.bad_debt_usd),
            signed_usd(on.system.bad_debt_usd - off.system.bad_debt_usd),
            on.system.rounds,
            if on.system.rounds == 1 { "" } else { "s" },
            off.system.rounds,
        ))
        .with_table(rows)
}

/// The figures of one protocol (or the system) in one run that the comparison shows.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    bad_debt: f64,
    uncovered: f64,
    winners: f64,
    liquidated: f64,
    paused: u64,
    deferred: u64,
}

impl Figures {
    fn of(p: &ProtocolSummary) -> Figures {
        Figures {
            bad_debt: p.bad_debt_usd,
            uncovered: p.uncovered_usd,
            winners: p.winners_paid_usd,
            liquidated: p.liquidated_debt_usd,
            paused: p.paused_rounds,
            deferred: p.deferred_account_rounds,
        }
    }
}

/// `+$1.20M`, `−$3.0k`, `$0.00`.
fn signed_usd(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", fmt_usd(x))
    } else {
        fmt_usd(x)
    }
}
