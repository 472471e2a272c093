//! The reports of a small stress run and of loss samples: content, escaping, self-containment.

use cascade_engine::{run, StressResult};
use cascade_io::Format;
use cascade_io::{parse_scenario, snapshot_from_str};
use cascade_model::Snapshot;
use cascade_report::{
    escape_html, loss_distribution_svg, simulation_html, simulation_report_html,
    stress_comparison_html, stress_html, worst_path, Section,
};
use cascade_testkit::system::{System, ETH_RESERVE, USDC_RESERVE};

/// A pool with ETH (LT 0.825, LB 0.05, square-root price impact) and USDC reserves, one account that
/// ends with bad debt and one that is only partly liquidated (engine tests' `system`).
fn hand() -> Snapshot {
    System::new()
        .name("hand")
        .asset(
            "ETH",
            "native",
            "price = 2000.0\nliquidity = { curve = \"power_law\", adv_usd = 1.0e7, k = 1.0, alpha = 0.5 }",
        )
        .usdc()
        .lending_with(
            "lend",
            "liquidator_cost_usd = 0.0",
            &[ETH_RESERVE, USDC_RESERVE],
        )
        .account("a", "lend", &[("ETH", 10.0)], &[("USDC", 19000.0)])
        .account("b", "lend", &[("ETH", 10.0)], &[("USDC", 16000.0)])
        .build()
}

const ETH_MINUS_10: &str = "name = \"eth-10\"\n[[shock]]\nasset = \"ETH\"\nprice_change = -0.10\n";

fn stress(system: &str, scenario: &str) -> (Snapshot, StressResult) {
    match snapshot_from_str(system, Format::Toml, "hand.toml") {
        Ok((s, _)) => stress_on(s, scenario),
        Err(e) => panic!("{e}"),
    }
}

/// Runs `scenario` (TOML) on `s`.
fn stress_on(s: Snapshot, scenario: &str) -> (Snapshot, StressResult) {
    let sc = match parse_scenario(scenario, Format::Toml, "scenario.toml", &s) {
        Ok((sc, _)) => sc,
        Err(e) => panic!("{e}"),
    };
    let r = run(&s, &sc);
    (s, r)
}

/// No script, and nothing the page would fetch: no URL at all (inline SVG carries no namespace).
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "script in page");
    assert!(!lower.contains("http"), "URL in page");
    assert!(!lower.contains("src="), "src attribute in page");
    assert!(!lower.contains("<link"), "link element in page");
    assert!(!lower.contains("@import"), "CSS import in page");
    assert!(!lower.contains("url("), "CSS url() in page");
}

#[test]
fn stress_report_shows_the_run() {
    let (s, r) = stress_on(hand(), ETH_MINUS_10);
    assert!(
        r.system.bad_debt_usd > 0.0,
        "the test system should take bad debt: {:#?}",
        r.trace
    );
    let html = stress_html(&s, &r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    for p in &r.protocols {
        assert!(html.contains(&escape_html(&p.id)), "protocol {}", p.id);
    }
    assert!(html.contains("hand") && html.contains("eth-10"));
    assert!(
        html.matches("<svg").count() >= 3,
        "bad debt, prices, liquidations charts"
    );
    for line in &r.trace {
        assert!(
            html.contains(&format!("<li>{}</li>", escape_html(line))),
            "{line}"
        );
    }
    // The trace names the scenario in quotes: they must arrive escaped.
    assert!(html.contains("&quot;eth-10&quot;"));
    assert!(html.contains(&cascade_engine::trace::fmt_usd(r.system.bad_debt_usd)));
    assert!(html.contains("Contagion trace"));
    assert_self_contained(&html);
}

#[test]
fn stress_report_escapes_input() {
    let (s, mut r) = stress_on(hand(), ETH_MINUS_10);
    let evil = r#"<b>&"x"</b>"#;
    r.protocols[0].id = evil.to_string();
    r.snapshot = evil.to_string();
    r.scenario = evil.to_string();
    r.trace
        .push(format!("round 9: {evil} <script>alert(1)</script>"));
    let html = stress_html(&s, &r);
    assert!(!html.contains(evil));
    assert!(!html.contains("&\"x\""));
    assert!(html.contains("&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_self_contained(&html);
}

#[test]
fn stress_report_without_any_loss() {
    let quiet = "name = \"quiet\"\n[[shock]]\nasset = \"ETH\"\nprice_change = 0.2\n";
    let (s, r) = stress_on(hand(), quiet);
    let html = stress_html(&s, &r);
    assert!(html.contains("No protocol took bad debt."));
    assert!(html.contains("No liquidation."));
    assert_self_contained(&html);
}

#[test]
fn builtin_eth_crash_report() {
    let system = include_str!("../../../examples/builtin/system.toml");
    let scenario = include_str!("../../../examples/builtin/eth-crash.toml");
    let (s, r) = stress(system, scenario);
    let html = stress_html(&s, &r);
    for p in &r.protocols {
        assert!(html.contains(&escape_html(&p.id)), "protocol {}", p.id);
    }
    assert!(!html.contains("could not be drawn"));
    assert_self_contained(&html);
}

/// Risk levels and their USD values, as `loss_distribution_svg` takes them.
type Levels = Vec<(String, f64)>;

fn var_es() -> (Levels, Levels) {
    (
        vec![("95%".into(), 0.0), ("99%".into(), 0.0)],
        vec![("97.5%".into(), 0.0)],
    )
}

#[test]
fn histogram_of_all_zero_sample() {
    let (var, es) = var_es();
    let svg = loss_distribution_svg(&[0.0; 500], &var, &es, "System loss");
    assert!(svg.starts_with("<svg"));
    for l in [
        "VaR 95%",
        "VaR 99%",
        "ES 97.5%",
        "All 500 paths had no loss",
    ] {
        assert!(svg.contains(l), "{l} missing");
    }
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    // Empty too.
    let svg = loss_distribution_svg(&[], &var, &es, "System loss");
    assert!(svg.contains("VaR 99%") && svg.contains("No path in the sample"));
}

#[test]
fn histogram_of_heavy_tailed_sample() {
    // 700 paths without loss, 295 spread over $10k–$3M, 5 extreme ones up to $2B.
    let mut losses = vec![0.0; 700];
    losses.extend((0..295).map(|i| 1.0e4 * (1.0 + i as f64).powf(1.4)));
    losses.extend([2.0e8, 4.0e8, 7.0e8, 1.0e9, 2.0e9]);
    losses.push(f64::NAN);
    let var = vec![("0.95".to_string(), 1.0e6), ("0.99".to_string(), 2.0e8)];
    let es = vec![("0.95".to_string(), 5.0e7), ("0.99".to_string(), 8.6e8)];
    let svg = loss_distribution_svg(&losses, &var, &es, "System <loss> & more");
    for l in [
        "VaR 95%",
        "VaR 99%",
        "ES 95%",
        "ES 99%",
        "log scale",
        "700 paths",
    ] {
        assert!(svg.contains(l), "{l} missing");
    }
    assert!(svg.contains("1 non-finite"));
    assert!(svg.contains("System &lt;loss&gt; &amp; more"));
    assert!(!svg.contains("NaN"));
}

#[test]
fn simulation_page_builds_sections() {
    let (var, es) = var_es();
    let svg = loss_distribution_svg(&[0.0, 1.0, 2.0, 3.0], &var, &es, "t");
    let sections = vec![
        Section {
            heading: "System <loss>".into(),
            svg: Some(svg),
            table: Some(vec![
                vec!["level".into(), "VaR".into(), "ES".into()],
                vec!["99%".into(), "$1.20M".into(), "$2.00M".into()],
            ]),
            text: vec!["1,000 paths & 10 days.".into()],
        },
        Section::new("Notes").with_text("none"),
    ];
    let html = simulation_html("Monte Carlo: \"hand\"", &sections);
    assert!(html.contains("<title>Monte Carlo: &quot;hand&quot;</title>"));
    assert!(html.contains("System &lt;loss&gt;"));
    assert!(html.contains("<th class=\"num\">VaR</th>"));
    assert!(html.contains("<td class=\"num\">$1.20M</td>"));
    assert!(html.contains("1,000 paths &amp; 10 days."));
    assert!(html.contains("<svg"));
    assert_self_contained(&html);
}

const BUILTIN: &str = include_str!("../../../examples/builtin/system.toml");
const ETH_CRASH: &str = include_str!("../../../examples/builtin/eth-crash.toml");

/// The built-in system under eth-crash, with circuit breakers on or off.
fn builtin_eth_crash(breakers: bool) -> (Snapshot, StressResult) {
    let s = match snapshot_from_str(BUILTIN, Format::Toml, "system.toml") {
        Ok((s, _)) => s,
        Err(e) => panic!("{e}"),
    };
    let sc = match parse_scenario(ETH_CRASH, Format::Toml, "eth-crash.toml", &s) {
        Ok((sc, _)) => sc,
        Err(e) => panic!("{e}"),
    };
    let options = cascade_engine::Options {
        breakers,
        ..Default::default()
    };
    let r = cascade_engine::run_with(&s, &sc, &options);
    (s, r)
}

/// The value of `name="…"` in the attributes of an SVG or HTML tag, as a number.
fn attr(tag: &str, name: &str) -> Option<f64> {
    let tag = format!(" {tag}");
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    tag[start..end].parse().ok()
}

/// Every `<rect …>` tag of an SVG with its fill colour, as `(x, y, width, fill)`.
fn rects(svg: &str) -> Vec<(f64, f64, f64, String)> {
    svg.split("<rect ")
        .skip(1)
        .filter_map(|t| {
            let tag = &t[..t.find('>')?];
            let fill = tag.split(" fill=\"").nth(1)?.split('"').next()?.to_string();
            Some((attr(tag, "x")?, attr(tag, "y")?, attr(tag, "width")?, fill))
        })
        .collect()
}

/// The bad-debt chart of a stress page: the SVG in the section after its heading.
fn bad_debt_svg(html: &str) -> &str {
    let from = html.find("Bad debt by protocol").unwrap_or(0);
    let rest = &html[from..];
    let start = rest.find("<svg").unwrap_or(0);
    let end = rest.find("</svg>").unwrap_or(rest.len());
    &rest[start..end]
}

#[test]
fn winners_are_a_category_of_their_own() {
    let (s, r) = builtin_eth_crash(true);
    let perp = r.protocols.iter().find(|p| p.id == "perp-dex");
    let Some(perp) = perp else {
        panic!("perp-dex in the built-in system")
    };
    // The built-in eth-crash: the clearinghouse's fund pays $2.00M and its winners $1.45M of its
    // $3.45M bad debt; nothing of it is uncovered.
    assert!((perp.winners_paid_usd - 1.45e6).abs() < 0.01e6, "{perp:?}");
    assert!(perp.uncovered_usd.abs() < 1e-6);
    let html = stress_html(&s, &r);
    let svg = bad_debt_svg(&html);
    assert!(svg.contains("paid by winners (socialised / ADL)"));
    assert!(svg.contains("uncovered (suppliers / backing)"));
    // The bars: perp-dex's row holds an insurance-blue and a winners-teal bar, no red one, and the
    // teal bar's length over the blue one's is winners / insurance (pixels rounded).
    let all = rects(svg);
    let bar = |fill: &str| {
        all.iter()
            .filter(|r| r.3 == fill && r.2 > 20.0)
            .cloned()
            .collect::<Vec<_>>()
    };
    let teal = bar("#2A9D8F");
    assert_eq!(teal.len(), 1, "one winners bar: {teal:?}");
    let y = teal[0].1;
    let blue = all
        .iter()
        .find(|r| r.3 == "#7696BE" && r.1 == y)
        .cloned()
        .unwrap_or_else(|| panic!("insurance bar of perp-dex"));
    let want = perp.winners_paid_usd / perp.insurance_used_usd;
    assert!(
        (teal[0].2 / blue.2 - want).abs() < 0.02,
        "{} / {} vs {want}",
        teal[0].2,
        blue.2
    );
    assert!(
        !all.iter().any(|r| r.3 == "#CD3C3C" && r.1 == y),
        "perp-dex drawn as uncovered"
    );
    // The summary says it too, in the text and in its own column.
    assert!(html.contains(&format!(
        "clearinghouses&#39; winners paid {}",
        cascade_engine::trace::fmt_usd(r.system.winners_paid_usd)
    )));
    assert!(html.contains("<th class=\"num\">paid by winners</th>"));
}

#[test]
fn winners_column_only_with_a_clearinghouse() {
    let (s, r) = stress_on(hand(), ETH_MINUS_10);
    let html = stress_html(&s, &r);
    assert!(!html.contains("winners"));
}

#[test]
fn breakers_comparison_is_one_document() {
    let (s, on) = builtin_eth_crash(true);
    let (_, off) = builtin_eth_crash(false);
    let html = stress_comparison_html(&s, &on, &off);
    assert_eq!(html.matches("<!DOCTYPE html>").count(), 1);
    assert_eq!(html.matches("<html").count(), 1);
    assert_eq!(html.matches("</html>").count(), 1);
    assert_eq!(html.matches("<body").count(), 1);
    assert!(html.trim_end().ends_with("</html>"));
    // Both runs, side by side, section by section.
    assert!(html.contains("<div class=\"pair\">"));
    for part in [
        "Summary",
        "Bad debt by protocol",
        "Prices",
        "Contagion trace",
    ] {
        for side in ["on", "off"] {
            assert!(
                html.contains(&format!("<h3>{part} — breakers {side}</h3>")),
                "{part} {side}"
            );
        }
    }
    // The comparison table: both bad debts and their difference.
    let fmt = cascade_engine::trace::fmt_usd;
    assert!(html.contains("<th class=\"num\">bad debt, on</th>"));
    assert!(html.contains(&format!(
        "<td class=\"num\">{}</td>",
        fmt(on.system.bad_debt_usd)
    )));
    assert!(html.contains(&format!(
        "<td class=\"num\">{}</td>",
        fmt(off.system.bad_debt_usd)
    )));
    // Each run's trace appears once.
    for line in on.trace.iter().chain(&off.trace) {
        assert!(
            html.contains(&format!("<li>{}</li>", escape_html(line))),
            "{line}"
        );
    }
    assert_self_contained(&html);
}

#[test]
fn close_var_and_es_labels_do_not_collide() {
    let losses: Vec<f64> = (0..1000).map(|i| 1.0e4 * (1.0 + f64::from(i))).collect();
    // VaR 99% and ES 95% 1% apart, VaR 99.9% and ES 99.9% equal: four labels at two places.
    let var = vec![
        ("95%".to_string(), 9.5e6),
        ("99%".to_string(), 9.9e6),
        ("99.9%".to_string(), 9.99e6),
    ];
    let es = vec![
        ("95%".to_string(), 9.8e6),
        ("99%".to_string(), 9.95e6),
        ("99.9%".to_string(), 9.99e6),
    ];
    let svg = loss_distribution_svg(&losses, &var, &es, "close");
    // Each marker label is a white box then its text: collect the boxes.
    let mut boxes: Vec<(String, [f64; 4])> = Vec::new();
    let parts: Vec<&str> = svg.split("<rect ").collect();
    for p in &parts[1..] {
        let Some(end) = p.find('>') else { continue };
        let tag = &p[..end];
        if !tag.contains("fill=\"#FFFFFF\"") {
            continue;
        }
        let text = p[end..].split("</text>").next().unwrap_or("");
        let label = text.rsplit('>').next().unwrap_or("").trim().to_string();
        if !(label.starts_with("VaR ") || label.starts_with("ES ")) {
            continue;
        }
        let (Some(x), Some(y), Some(w), Some(h)) = (
            attr(tag, "x"),
            attr(tag, "y"),
            attr(tag, "width"),
            attr(tag, "height"),
        ) else {
            continue;
        };
        boxes.push((label, [x, y, x + w, y + h]));
    }
    assert_eq!(boxes.len(), 6, "{boxes:?}");
    // No two label boxes overlap: at least 2 px apart vertically or 8 px apart horizontally.
    for (i, (a, p)) in boxes.iter().enumerate() {
        for (b, q) in &boxes[i + 1..] {
            let vertical = p[3] + 2.0 <= q[1] || q[3] + 2.0 <= p[1];
            let horizontal = p[2] + 8.0 <= q[0] || q[2] + 8.0 <= p[0];
            assert!(vertical || horizontal, "{a} {p:?} and {b} {q:?} collide");
        }
    }
}

/// A debt of 1.7e308 made the chart axis loop forever. Every figure at the edge of f64 (or
/// beyond: infinite, NaN) must still give a page, quickly.
#[test]
fn huge_figures_finish() {
    let (s, mut r) = builtin_eth_crash(true);
    for p in &mut r.protocols {
        p.bad_debt_usd = 1.7e308;
        p.insurance_used_usd = f64::MAX;
        p.winners_paid_usd = f64::NAN;
        p.uncovered_usd = 1.7e308;
    }
    r.system.bad_debt_usd = f64::INFINITY;
    for k in &mut r.rounds {
        for l in &mut k.liquidations {
            l.repaid_usd = 1.7e308;
        }
        for (i, p) in k.prices.values_mut().enumerate() {
            *p = if i % 2 == 0 { 1.7e308 } else { 5e-324 };
        }
    }
    let off = r.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let one = stress_html(&s, &r);
        let both = stress_comparison_html(&s, &r, &off);
        let _ = tx.send((one, both));
    });
    let (one, both) = match rx.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(x) => x,
        Err(e) => panic!("the report did not finish: {e}"),
    };
    for html in [one, both] {
        assert!(html.trim_end().ends_with("</html>"));
        assert!(!html.contains("could not be drawn"));
        let svg: String = html
            .split("<svg")
            .skip(1)
            .map(|p| p.split("</svg>").next().unwrap_or(""))
            .collect();
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}

#[test]
fn simulation_report_is_one_page_with_the_worst_path() {
    use cascade_risk::paths::Dist;
    use cascade_risk::simulate::{simulate, SimulationSpec};
    let (s, _) = match snapshot_from_str(BUILTIN, Format::Toml, "system.toml") {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    };
    let spec = SimulationSpec {
        paths: 64,
        horizon_days: 30.0,
        seed: 7,
        dist: Dist::StudentT { dof: 3.0 },
        jumps: Vec::new(),
        antithetic: false,
        alphas: SimulationSpec::DEFAULT_ALPHAS.to_vec(),
        breakers: true,
        max_rounds: 50,
    };
    let sim = match simulate(&s, &spec, &|| ()) {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    };
    let html = simulation_report_html(&s, &sim);
    assert_eq!(html.matches("<html").count(), 1);
    assert!(html.contains("<title>Monte Carlo: builtin</title>"));
    // The loss histogram with its markers, and the figures of the system and every protocol.
    for l in ["VaR 95%", "ES 99.9%", "LaR 95%", "P(loss &gt; 0)"] {
        assert!(html.contains(l), "{l}");
    }
    for id in &sim.protocols {
        assert!(
            html.contains(&format!("<td>{}</td>", escape_html(id))),
            "{id}"
        );
    }
    // Every table scrolls sideways inside its container rather than widening the page, and intervals
    // sit under their figure.
    assert!(html.contains(".scroll{overflow-x:auto"));
    assert_eq!(
        html.matches("<table>").count(),
        html.matches("<div class=\"scroll\"><table>").count()
    );
    assert!(html.contains("<span class=\"sub\">["));
    // The worst path: the path with the largest loss, re-run — its loss matches the simulation's.
    let worst = sim
        .paths
        .iter()
        .map(|p| p.loss_usd)
        .fold(f64::NEG_INFINITY, f64::max);
    let w = match worst_path(&s, &sim) {
        Ok(Some(w)) => w,
        other => panic!("{other:?}"),
    };
    assert_eq!(w.loss_usd, worst);
    let rerun = w.result.system.bad_debt_usd + w.result.system.shortfall_usd;
    assert!(
        (rerun - worst).abs() <= 1e-6 * worst.max(1.0),
        "{rerun} vs {worst}"
    );
    assert!(html.contains(&format!(
        "Path {} lost {}",
        w.path,
        cascade_engine::trace::fmt_usd(worst)
    )));
    assert!(html.contains("<h3>Contagion trace</h3>"));
    assert_self_contained(&html);
}
