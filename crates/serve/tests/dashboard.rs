//! The dashboard over HTTP (docs/dashboard.md): every page, signing in, acknowledging an alert, the
//! what-if form and the tiles' values, on the worked example (alice: 10 ETH, 17,000 USDC debt;
//! bob: 10 ETH, 15,500 USDC; ETH at 2,000, LT 0.825). The same pages in a real browser:
//! tests/browser.rs.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{agent, dashboard_service, post, until, Running, TOKEN};
use serde_json::Value;

fn service(dir: &Path, open_reads: bool) -> Running {
    dashboard_service(dir, open_reads)
}

/// An agent that does not follow redirects (to see them).
fn no_redirects() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// (status, headers, body text) of a GET with optional cookie.
fn page(a: &ureq::Agent, url: &str, cookie: Option<&str>) -> (u16, ureq::http::HeaderMap, String) {
    let mut req = a.get(url);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    match req.call() {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            (
                status,
                headers,
                r.body_mut().read_to_string().unwrap_or_default(),
            )
        }
        Err(e) => panic!("{url}: {e}"),
    }
}

/// A form POST: (status, headers, body).
fn form(
    a: &ureq::Agent,
    url: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> (u16, ureq::http::HeaderMap, String) {
    let mut req = a
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    match req.send(body) {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            (
                status,
                headers,
                r.body_mut().read_to_string().unwrap_or_default(),
            )
        }
        Err(e) => panic!("{url}: {e}"),
    }
}

fn live_values(a: &ureq::Agent, s: &Running) -> Value {
    let (status, _, body) = page(a, &s.url("/live.json"), None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap_or_else(|e| panic!("{e}: {body}"))["values"].clone()
}

#[test]
fn every_page_renders_with_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), true);
    let a = agent();
    // The watchlist's first run and the alert.
    until("the watchlist", || {
        (s.state.watch().refreshes > 0).then_some(())
    });
    until("the alert", || {
        let (_, _, b) = page(&a, &s.url("/alerts"), None);
        b.contains("debt-high").then_some(())
    });
    let pages = [
        (
            "/",
            "Overview",
            vec![
                "Total value locked",
                "$40.00k",
                "$32.50k",
                "Liquidatable if ETH −10%",
                "Bad debt under eth-minus-5",
                "<a href=\"/protocols/lend\">lend</a>",
            ],
        ),
        (
            "/protocols/lend",
            "Protocol lend",
            vec![
                "Reserves",
                "Liquidation ladder",
                "Health factor distribution",
                "Insurance fund and coverage",
                "Largest accounts",
                "alice",
                "0.971",
            ],
        ),
        ("/scenarios", "Scenarios", vec!["eth-minus-5", "$0.00"]),
        (
            "/scenarios/eth-minus-5",
            "Scenario eth-minus-5",
            vec!["$24.75k", "$8.50k", "$16.25k", "<svg"],
        ),
        ("/contagion", "Contagion", vec![]),
        (
            "/alerts",
            "Alerts",
            vec!["debt-high", "Sign in</a> to acknowledge"],
        ),
        (
            "/accounts?id=bob",
            "Account bob",
            vec!["1.065", "6.06%", "$1,878.79"],
        ),
        (
            "/what-if",
            "What-if",
            vec!["<label for=\"drop\">", "<option value=\"ETH\""],
        ),
        ("/login", "Sign in", vec!["<input id=\"token\""]),
    ];
    for (path, h1, texts) in pages {
        let (status, headers, body) = page(&a, &s.url(path), None);
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert!(
            body.contains(&format!("<h1>{h1}</h1>")),
            "{path}: no h1 {h1}"
        );
        for t in texts {
            assert!(body.contains(t), "{path}: no {t:?} in\n{body}");
        }
        assert!(
            body.contains("<script src=\"/assets/dashboard.js\" defer></script>"),
            "{path}"
        );
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}: loads nothing from elsewhere"
        );
    }
    for (path, status) in [
        ("/protocols/nope", 404),
        ("/scenarios/nope", 404),
        ("/accounts?id=nobody", 404),
    ] {
        assert_eq!(page(&a, &s.url(path), None).0, status, "{path}");
    }
    for path in ["/assets/dashboard.js", "/assets/dashboard.css"] {
        let (status, _, body) = page(&a, &s.url(path), None);
        assert_eq!(status, 200, "{path}");
        assert!(body.len() > 1_000, "{path}");
    }
    s.stop();
}

#[test]
fn tiles_follow_the_state_with_hand_worked_values() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), true);
    let a = agent();
    let v = live_values(&a, &s);
    // 20 ETH at 2,000; debt 17,000 + 15,500; alice below 1 (HF 0.971).
    assert_eq!(v["collateral_usd"], 40_000.0);
    assert_eq!(v["debt_usd"], 32_500.0);
    assert_eq!(v["below_one_accounts"], 1.0);
    assert_eq!(v["below_one_debt_usd"], 17_000.0);
    // ETH −10% (1,800): bob's weighted collateral 10 · 1,800 · 0.825 = 14,850 < 15,500, so his
    // 15,500 becomes liquidatable; alice is already below 1 and not counted.
    assert_eq!(v["ladder_ETH_10_debt_usd"], 15_500.0);
    let (status, _) = post(
        &a,
        &s.url("/v1/prices"),
        Some(TOKEN),
        r#"{"prices":[{"id":"p1","asset":"ETH","price":1900}]}"#,
    );
    assert_eq!(status, 200);
    let v = live_values(&a, &s);
    assert_eq!(v["collateral_usd"], 38_000.0);
    // At 1,900 bob's HF is 15,675 / 15,500 = 1.011: healthy; ETH −10% (1,710) → 14,107.5 < 15,500.
    assert_eq!(v["below_one_accounts"], 1.0);
    assert_eq!(v["ladder_ETH_10_debt_usd"], 15_500.0);
    // Every tile is a metric of the history.
    s.state.record_history().unwrap();
    let h = s
        .state
        .with_store(|st| st.history("ladder_ETH_10_debt_usd", 0, i64::MAX))
        .unwrap();
    assert_eq!(h.last().map(|p| p.1), Some(15_500.0));
    s.stop();
}

#[test]
fn what_if_runs_the_cascade_on_the_live_state() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), true);
    let a = agent();
    // ETH −5% with today's depth is the worked example's scenario: $24.75k liquidated, of which
    // $8.50k happen with no shock (alice), $16.25k are the shock's.
    let (status, _, body) = page(&a, &s.url("/what-if?asset=ETH&drop=5&liquidity=1"), None);
    assert_eq!(status, 200, "{body}");
    for t in ["<td>liquidated debt</td><td class=\"num\">$24.75k</td><td class=\"num\">$8.50k</td><td class=\"num\">$16.25k</td>", "bad debt <b data-result=\"bad_debt_usd\">$0.00</b>"] {
        assert!(body.contains(t), "no {t:?} in\n{body}");
    }
    for (q, field) in [
        ("asset=ETH&drop=abc", "drop: expected a number"),
        ("asset=ETH&drop=150", "drop: 150 is outside"),
        ("asset=ETH&drop=5&liquidity=0", "liquidity: 0 is outside"),
        (
            "asset=DOGE&drop=5",
            "asset: &quot;DOGE&quot; is not an asset",
        ),
    ] {
        let (status, _, body) = page(&a, &s.url(&format!("/what-if?{q}")), None);
        assert_eq!(status, 422, "{q}");
        assert!(body.contains(field), "{q}: {body}");
    }
    s.stop();
}

#[test]
fn signing_in_and_acknowledging_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), false);
    let a = no_redirects();
    until("the alert", || {
        s.state
            .with_store(|st| st.alert("debt-high", ""))
            .ok()
            .flatten()
    });
    // Reads need the token: pages send the browser to the login form; the API answers 401; the
    // login form and the assets are open.
    let (status, headers, _) = page(&a, &s.url("/"), None);
    assert_eq!(status, 303);
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some("/login")
    );
    assert_eq!(page(&a, &s.url("/v1/summary"), None).0, 401);
    assert_eq!(page(&a, &s.url("/login"), None).0, 200);
    assert_eq!(page(&a, &s.url("/assets/dashboard.js"), None).0, 200);
    // The one-time key.
    let key = s.state.dashboard.sessions.login_key();
    assert_eq!(page(&a, &s.url("/login?key=not-the-key"), None).0, 403);
    let (status, headers, _) = page(&a, &s.url(&format!("/login?key={key}")), None);
    assert_eq!(status, 303);
    let set = headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap_or_default().to_string();
    assert_eq!(
        page(&a, &s.url(&format!("/login?key={key}")), None).0,
        403,
        "used once"
    );
    // Signed in: pages, the API's reads, and the acknowledge button.
    assert_eq!(page(&a, &s.url("/v1/summary"), Some(&cookie)).0, 200);
    let (status, _, body) = page(&a, &s.url("/alerts"), Some(&cookie));
    assert_eq!(status, 200);
    assert!(body.contains(">Acknowledge</button>"), "{body}");
    // Acknowledging: not without the session, not from another site.
    let ack = "rule=debt-high&key=";
    assert_eq!(form(&a, &s.url("/alerts/acknowledge"), ack, &[]).0, 401);
    let evil = [
        ("cookie", cookie.as_str()),
        ("origin", "http://evil.example"),
    ];
    assert_eq!(form(&a, &s.url("/alerts/acknowledge"), ack, &evil).0, 403);
    assert!(
        !s.state
            .with_store(|st| st.alert("debt-high", ""))
            .unwrap()
            .unwrap()
            .acknowledged
    );
    let host = s.addr.to_string();
    let origin = format!("http://{host}");
    let ok = [
        ("cookie", cookie.as_str()),
        ("origin", origin.as_str()),
        ("host", host.as_str()),
    ];
    let (status, headers, _) = form(&a, &s.url("/alerts/acknowledge"), ack, &ok);
    assert_eq!(status, 303);
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some("/alerts")
    );
    assert!(
        s.state
            .with_store(|st| st.alert("debt-high", ""))
            .unwrap()
            .unwrap()
            .acknowledged
    );
    assert_eq!(
        form(&a, &s.url("/alerts/acknowledge"), "rule=nope&key=", &ok).0,
        404
    );
    // The token typed into the form signs in too; a wrong one does not.
    assert_eq!(form(&a, &s.url("/login"), "token=wrong", &[]).0, 401);
    let (status, headers, _) = form(&a, &s.url("/login"), &format!("token={TOKEN}"), &[]);
    assert_eq!(status, 303);
    assert!(headers.get("set-cookie").is_some());
    // A new link for the operator, with the token.
    let (status, v) = post(&agent(), &s.url("/v1/login-url"), Some(TOKEN), "");
    assert_eq!(status, 200);
    assert_eq!(
        v["path"],
        format!("/login?key={}", s.state.dashboard.sessions.login_key())
    );
    // Signing out ends the session.
    let (status, _, _) = form(&a, &s.url("/logout"), "", &[("cookie", cookie.as_str())]);
    assert_eq!(status, 303);
    assert_eq!(page(&a, &s.url("/"), Some(&cookie)).0, 303);
    s.stop();
}

#[test]
fn each_protocol_has_its_own_ladder_curve() {
    let dir = tempfile::tempdir().unwrap();
    let s = service(dir.path(), true);
    let a = agent();
    let (status, _, body) = page(&a, &s.url("/v1/ladder?asset=ETH"), None);
    assert_eq!(status, 200);
    let l: Value = serde_json::from_str(&body).unwrap();
    let mine = &l["by_protocol"][0];
    assert_eq!(mine["protocol"], "lend");
    // One protocol: its curve is the system's, point for point. By hand: bob (10 ETH, 15,500 USDC,
    // LT 0.825) is liquidatable below 15,500 / 8.25 = $1,878.79, a drop of 6.06%; so nothing at
    // 1–6%, his 15,500 from 7% on (alice, already below 1, is never counted).
    assert_eq!(mine["curve"], l["curve"]);
    let debt = |pc: usize| mine["curve"][pc - 1]["debt_usd"].as_f64().unwrap();
    assert_eq!(mine["curve"].as_array().map(Vec::len), Some(50));
    assert_eq!(debt(6), 0.0);
    assert_eq!(debt(7), 15_500.0);
    assert_eq!(debt(50), 15_500.0);
    let (status, _, body) = page(&a, &s.url("/protocols/lend"), None);
    assert_eq!(status, 200);
    assert!(body.contains("every 1% up to 50% in the chart"), "{body}");
    s.stop();
}

#[test]
fn protocol_ladder_curves_add_up_to_the_system_curve() {
    let dir = tempfile::tempdir().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/builtin/system.toml");
    let builtin = cascade_io::load_snapshot(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .0;
    let s = common::start_with(common::config(dir.path()), builtin, |_| {});
    let a = agent();
    for asset in ["ETH", "WBTC", "USDC", "stETH"] {
        let (status, _, body) = page(&a, &s.url(&format!("/v1/ladder?asset={asset}")), None);
        assert_eq!(status, 200, "{asset}");
        let l: Value = serde_json::from_str(&body).unwrap();
        let protocols = l["by_protocol"].as_array().cloned().unwrap_or_default();
        assert!(protocols.len() >= 4, "{asset}: {}", protocols.len());
        for pc in 0..50 {
            let system = l["curve"][pc]["debt_usd"].as_f64().unwrap();
            let sum: f64 = protocols
                .iter()
                .map(|p| p["curve"][pc]["debt_usd"].as_f64().unwrap())
                .sum();
            assert!(
                (sum - system).abs() <= 1e-9 * system.abs().max(1.0),
                "{asset} at {}%: {sum} vs {system}",
                pc + 1
            );
            let accounts: u64 = protocols
                .iter()
                .map(|p| p["curve"][pc]["accounts"].as_u64().unwrap())
                .sum();
            assert_eq!(
                accounts,
                l["curve"][pc]["accounts"].as_u64().unwrap(),
                "{asset} at {}%",
                pc + 1
            );
        }
    }
    s.stop();
}
