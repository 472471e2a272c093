//! The reports of a small stress run and of loss samples: content, escaping, self-containment.

use cascade_engine::{run, StressResult};
use cascade_io::Format;
use cascade_io::{parse_scenario, snapshot_from_str};
use cascade_model::Snapshot;
use cascade_report::{escape_html, loss_distribution_svg, simulation_html, stress_html, Section};

/// A pool with ETH (LT 0.825, LB 0.05, square-root price impact) and USDC reserves, one account that
/// ends with bad debt and one that is only partly liquidated (engine tests' `system`).
const SYSTEM: &str = r#"
name = "hand"
[[asset]]
id = "ETH"
kind = "native"
price = 2000.0
liquidity = { curve = "power_law", adv_usd = 1.0e7, k = 1.0, alpha = 0.5 }
[[asset]]
id = "USDC"
kind = "stable"
price = 1.0
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.0, alpha = 0.5 }
[[protocol]]
id = "lend"
kind = "lending"
liquidator_cost_usd = 0.0
[[protocol.reserve]]
asset = "ETH"
ltv = 0.80
liquidation_threshold = 0.825
liquidation_bonus = 0.05
[[protocol.reserve]]
asset = "USDC"
ltv = 0.80
liquidation_threshold = 0.85
liquidation_bonus = 0.05
[[account]]
id = "a"
protocol = "lend"
collateral = { ETH = 10.0 }
debt = { USDC = 19000.0 }
[[account]]
id = "b"
protocol = "lend"
collateral = { ETH = 10.0 }
debt = { USDC = 16000.0 }
"#;

const ETH_MINUS_10: &str = "name = \"eth-10\"\n[[shock]]\nasset = \"ETH\"\nprice_change = -0.10\n";

fn stress(system: &str, scenario: &str) -> (Snapshot, StressResult) {
    let s = match snapshot_from_str(system, Format::Toml, "hand.toml") {
        Ok((s, _)) => s,
        Err(e) => panic!("{e}"),
    };
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
    let (s, r) = stress(SYSTEM, ETH_MINUS_10);
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
    let (s, mut r) = stress(SYSTEM, ETH_MINUS_10);
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
    let (s, r) = stress(SYSTEM, quiet);
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
