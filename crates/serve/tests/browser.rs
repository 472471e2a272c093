//! The dashboard in a real browser: headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them). On the worked example (alice: 10 ETH, 17,000 USDC
//! debt; bob: 10 ETH, 15,500 USDC; ETH at 2,000): every page loads without a console error at 1280
//! and at 390 pixels wide, without horizontal scrolling at 390; a price posted to the API changes
//! the overview's tile within 2 s without a reload; the what-if form runs; an alert is acknowledged
//! after signing in with the one-time link.
//!
//! `CASCADE_CHROMEDRIVER` and `CASCADE_CHROMIUM` override the programs' paths; with
//! `CASCADE_SCREENSHOTS=DIR` every page is also saved as a PNG in DIR (to look at, not to commit).

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{agent, dashboard_service, post, TOKEN};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// A chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn program(env: &str, default: &str) -> PathBuf {
    let p = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        p.exists(),
        "{} is missing: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver, as .ci/run does) or set {env}",
        p.display()
    );
    p
}

fn start_driver() -> Driver {
    let exe = program("CASCADE_CHROMEDRIVER", "/usr/bin/chromedriver");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(exe)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("chromedriver: {e}"));
    let d = Driver { child, port };
    let a = agent();
    let t = Instant::now();
    while a
        .get(&format!("http://127.0.0.1:{port}/status"))
        .call()
        .map(|r| r.status().as_u16() != 200)
        .unwrap_or(true)
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    d
}

async fn browser(d: &Driver, profile: &Path) -> Client {
    let chromium = program("CASCADE_CHROMIUM", "/usr/bin/chromium");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-extensions", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .unwrap_or_else(|e| panic!("a Chromium session: {e}"))
}

/// The browser's console messages since the last call, as (level, message).
async fn console(c: &Client, d: &Driver) -> Vec<(String, String)> {
    let sid = c.session_id().await.ok().flatten().unwrap_or_default();
    let url = format!("http://127.0.0.1:{}/session/{sid}/se/log", d.port);
    let v: Value = tokio::task::block_in_place(|| {
        let mut r = agent()
            .post(&url)
            .header("content-type", "application/json")
            .send(r#"{"type":"browser"}"#)
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default())
            .unwrap_or(Value::Null)
    });
    v["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["level"].as_str().unwrap_or("").to_string(),
                e["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn text(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn eval(c: &Client, js: &str) -> Value {
    c.execute(js, vec![])
        .await
        .unwrap_or_else(|e| panic!("{js}: {e}"))
}

async fn screenshot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("CASCADE_SCREENSHOTS") {
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(Path::new(&dir).join(format!("{name}.png")), png);
        }
    }
}

/// The pages and their headings.
const PAGES: [(&str, &str); 10] = [
    ("/", "Overview"),
    ("/protocols/lend", "Protocol lend"),
    ("/scenarios", "Scenarios"),
    ("/scenarios/eth-minus-5", "Scenario eth-minus-5"),
    ("/contagion", "Contagion"),
    ("/alerts", "Alerts"),
    ("/accounts?id=bob", "Account bob"),
    ("/what-if", "What-if"),
    ("/what-if?asset=ETH&drop=5&liquidity=1", "What-if"),
    ("/login", "Sign in"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let s = dashboard_service(dir.path(), true);
    let driver = start_driver();
    let c = browser(&driver, &dir.path().join("profile")).await;
    // The watchlist's first run, so that every page has its figures.
    let t = Instant::now();
    while s.state.watch().refreshes == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the watchlist did not run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = console(&c, &driver).await;

    // Every page at 1280 and at 390 pixels wide: its heading, no console error, and at 390 no
    // horizontal scrolling of the page (wide tables scroll inside their own box).
    for (width, height) in [(1280u32, 900u32), (390, 844)] {
        c.set_window_size(width, height).await.unwrap();
        for (path, h1) in PAGES {
            c.goto(&s.url(path)).await.unwrap();
            assert_eq!(text(&c, "h1").await, h1, "{path} at {width} px");
            // Let the page's script connect its event stream (and log any error).
            tokio::time::sleep(Duration::from_millis(300)).await;
            let errors: Vec<_> = console(&c, &driver)
                .await
                .into_iter()
                .filter(|(level, _)| level == "SEVERE")
                .collect();
            assert!(
                errors.is_empty(),
                "{path} at {width} px: console errors {errors:?}"
            );
            if width == 390 {
                let v = eval(
                    &c,
                    "return [window.innerWidth, document.documentElement.scrollWidth];",
                )
                .await;
                let (inner, scroll) = (
                    v[0].as_f64().unwrap_or(0.0),
                    v[1].as_f64().unwrap_or(f64::MAX),
                );
                assert!(
                    inner <= 400.0,
                    "the window is {inner} px wide, not a phone's"
                );
                assert!(
                    scroll <= inner,
                    "{path}: the page scrolls sideways at {inner} px ({scroll} px wide)"
                );
            }
            let name = format!("{width}{}", path.replace(['/', '?', '=', '&'], "_"));
            screenshot(&c, &name).await;
        }
    }
    c.set_window_size(1280, 900).await.unwrap();

    // A price through the API changes the overview's tile without a reload: 20 ETH at 1,900.
    c.goto(&s.url("/")).await.unwrap();
    let tile = "[data-key=\"collateral_usd\"]";
    assert_eq!(text(&c, tile).await, "$40.00k");
    let t = Instant::now();
    while text(&c, "[data-live=\"connection\"]").await != "live" {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the event stream did not connect"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eval(&c, "window.__same_page = true; return null;").await;
    let (status, _) = tokio::task::block_in_place(|| {
        post(
            &agent(),
            &s.url("/v1/prices"),
            Some(TOKEN),
            r#"{"prices":[{"id":"browser-1","asset":"ETH","price":1900}]}"#,
        )
    });
    assert_eq!(status, 200);
    let posted = Instant::now();
    while text(&c, tile).await != "$38.00k" {
        assert!(
            posted.elapsed() < Duration::from_secs(2),
            "the tile did not change within 2 s: {}",
            text(&c, tile).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        eval(&c, "return window.__same_page === true;").await,
        json!(true),
        "the page was reloaded"
    );
    assert_eq!(text(&c, "[data-live=\"seq\"]").await, "1");

    // The what-if form: ETH −5% at today's depth on the state now (ETH at 1,900: alice and bob
    // both below 1 after the drop to 1,805). The page shows the run and its figures.
    c.goto(&s.url("/what-if")).await.unwrap();
    c.find(Locator::Css("#asset option[value=\"ETH\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let drop_field = c.find(Locator::Css("#drop")).await.unwrap();
    drop_field.clear().await.unwrap();
    drop_field.send_keys("5").await.unwrap();
    c.find(Locator::Css("#what-if button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let t = Instant::now();
    while text(&c, "#h-result").await.is_empty() {
        assert!(t.elapsed() < Duration::from_secs(10), "no what-if result");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        text(&c, "#h-result").await,
        "Result: what-if: ETH −5%, depth ×1"
    );
    let lead = text(&c, "#result .lead").await;
    assert!(lead.starts_with("On the state after event 1 "), "{lead}");
    screenshot(&c, "what-if-submitted").await;

    // Acknowledging an alert: no button before signing in; the one-time link; the button.
    c.goto(&s.url("/alerts")).await.unwrap();
    assert!(c
        .find(Locator::Css("button[aria-label=\"Acknowledge debt-high\"]"))
        .await
        .is_err());
    let key = s.state.dashboard.sessions.login_key();
    c.goto(&s.url(&format!("/login?key={key}"))).await.unwrap();
    assert_eq!(text(&c, "h1").await, "Overview");
    c.goto(&s.url("/alerts")).await.unwrap();
    c.find(Locator::Css("button[aria-label=\"Acknowledge debt-high\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let t = Instant::now();
    while !text(&c, "#h-active + div").await.contains("acknowledged") {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "not acknowledged on the page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored = tokio::task::block_in_place(|| s.state.with_store(|st| st.alert("debt-high", "")));
    assert!(stored.unwrap().unwrap().acknowledged);
    let errors: Vec<_> = console(&c, &driver)
        .await
        .into_iter()
        .filter(|(level, _)| level == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors {errors:?}");
    screenshot(&c, "alerts-acknowledged").await;

    c.close().await.unwrap();
    drop(driver);
    tokio::task::block_in_place(|| s.stop());
}
