//! The watchlist, alerts (with a local webhook receiver) and a full disk, on the worked example:
//! alice (10 ETH, 17,000 USDC debt) and bob (10 ETH, 15,500 USDC) in `lend`, ETH at 2,000,
//! LT 0.825, close factor 50% while HF > 0.95 and 100% at or below, bonus 5%.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cascade_serve::alerts::{AlertRule, Delivery, Direction};
use cascade_serve::watch::WatchConfig;
use common::*;
use serde_json::{json, Value};

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn rule(name: &str, metric: &str, direction: Direction, threshold: f64) -> AlertRule {
    AlertRule {
        name: name.into(),
        metric: metric.into(),
        direction,
        threshold,
        duration: Duration::ZERO,
        clear: AlertRule::default_clear(direction, threshold),
    }
}

/// A webhook receiver on loopback: answers the first request 500 (the sender must retry), then
/// 200, and keeps every body it was sent.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    requests: Arc<Mutex<u32>>,
}

fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "http://{}/hook",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::new(Mutex::new(0u32));
    let (b, r) = (Arc::clone(&bodies), Arc::clone(&requests));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let l = line.to_ascii_lowercase();
                if let Some(v) = l.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let n = {
                let mut n = r.lock().unwrap_or_else(|p| p.into_inner());
                *n += 1;
                *n
            };
            let status = if n == 1 {
                "500 Internal Server Error"
            } else {
                b.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                "200 OK"
            };
            let mut s = reader.into_inner();
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    Receiver {
        url,
        bodies,
        requests,
    }
}

fn watched(dir: &Path, rules: Vec<AlertRule>, webhook: Option<String>) -> (Running, ureq::Agent) {
    let cfg = config(dir);
    let watch = WatchConfig {
        debounce: Duration::from_millis(50),
        ..WatchConfig::default()
    };
    let s = start_with(cfg, snapshot(), move |state| {
        cascade_serve::watch::spawn(Arc::clone(state), vec![scenario()], watch);
        cascade_serve::alerts::spawn(
            Arc::clone(state),
            rules,
            Delivery {
                webhook,
                webhook_attempts: 5,
            },
        );
    });
    (s, agent())
}

/// The run of `eth-minus-5` on the state of event `seq`.
fn result_at(s: &Running, a: &ureq::Agent, seq: u64) -> Value {
    until("the watchlist result", || {
        let r = a.get(&s.url("/v1/scenarios/eth-minus-5")).call().ok()?;
        let at: u64 = r
            .headers()
            .get("x-cascade-seq")?
            .to_str()
            .ok()?
            .parse()
            .ok()?;
        let mut r = r;
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()?;
        (at == seq).then_some(v)
    })
}

fn liquidated(v: &Value, part: &str) -> f64 {
    v[part]["liquidated_debt_usd"].as_f64().unwrap_or(f64::NAN)
}

#[test]
fn the_watchlist_follows_the_live_state_and_matches_a_batch_run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (s, a) = watched(dir.path(), Vec::new(), None);

    // At ETH 2,000 (README, worked example): ETH −5% → alice (HF 0.922 ≤ 0.95) repaid in full,
    // $17,000; the sale takes ETH to 1,819.73, bob (HF 0.969 > 0.95) half, $7,750: $24,750. The
    // no-shock run repays half of alice's debt (HF 0.971 > 0.95): $8,500; the scenario's own part
    // is $16,250.
    let v = result_at(&s, &a, 0);
    assert!(near(liquidated(&v, "system"), 24_750.0), "{}", v["system"]);
    assert!(
        near(liquidated(&v, "baseline"), 8_500.0),
        "{}",
        v["baseline"]
    );
    assert!(
        near(liquidated(&v, "incremental"), 16_250.0),
        "{}",
        v["incremental"]
    );
    // Exactly what `cascade stress --json` prints for the same snapshot and scenario.
    let batch = serde_json::to_value(cascade_engine::run_with_baseline(
        &snapshot(),
        &scenario(),
        &cascade_engine::Options::default(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    for part in ["system", "baseline", "incremental", "protocols", "rounds"] {
        assert_eq!(v[part], batch[part], "{part}");
    }

    // bob closes his account: alice alone, repaid in full under the shock ($17,000), half without.
    let (code, body) = post(
        &a,
        &s.url("/v1/positions"),
        Some(TOKEN),
        &json!({"changes": [{"id": "c1", "op": "close", "protocol": "lend", "account": "bob"}]})
            .to_string(),
    );
    assert_eq!(code, 200, "{body}");
    let v = result_at(&s, &a, 1);
    assert!(near(liquidated(&v, "system"), 17_000.0), "{}", v["system"]);
    assert!(
        near(liquidated(&v, "incremental"), 8_500.0),
        "{}",
        v["incremental"]
    );
    // The same as a batch run on the snapshot written without bob.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/worked/snapshot.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let cut = text
        .find("id = \"bob\"")
        .unwrap_or_else(|| panic!("no bob"));
    let start = text[..cut].rfind("[[account]]").unwrap_or(0);
    let without_bob = text[..start].to_string();
    let snap = cascade_io::snapshot_from_str(&without_bob, cascade_io::Format::Toml, "no-bob")
        .unwrap_or_else(|e| panic!("{e}"))
        .0;
    let batch = serde_json::to_value(cascade_engine::run_with_baseline(
        &snap,
        &scenario(),
        &cascade_engine::Options::default(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    for part in ["system", "baseline", "incremental"] {
        assert_eq!(v[part], batch[part], "{part}");
    }

    // The list, the contagion coefficients, 404 for a scenario not watched.
    let (code, list) = get(&a, &s.url("/v1/scenarios"));
    assert_eq!(code, 200);
    assert_eq!(list["scenarios"][0]["name"], "eth-minus-5", "{list}");
    assert_eq!(list["scenarios"][0]["seq"], 1, "{list}");
    let (code, c) = until("contagion", || {
        let (code, c) = get(&a, &s.url("/v1/contagion"));
        (code == 200).then_some((code, c))
    });
    assert_eq!(code, 200);
    assert!(c["coefficients"].is_array(), "{c}");
    let (code, body) = get(&a, &s.url("/v1/scenarios/black-thursday"));
    assert_eq!(code, 404, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("eth-minus-5"),
        "{body}"
    );
    s.stop();
}

#[test]
fn alerts_fire_once_resolve_with_hysteresis_and_reach_the_webhook() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let hook = receiver();
    let rules = vec![
        // $16,250 now: fires; $8,500 once bob is gone: resolves (clears at ≤ $9,500).
        rule(
            "scenario-liquidations",
            "scenario.eth-minus-5.incremental.liquidated_debt_usd",
            Direction::Above,
            10_000.0,
        ),
        // bob's HF reaches 1 at ETH = 15,500 / (10 · 0.825) = 1,878.79, a 6.06% drop: his $15,500
        // is liquidatable within 10%. Gone with him.
        rule("ladder", "ladder.ETH.10", Direction::Above, 10_000.0),
        // alice is below 1 throughout: fires once, never resolves.
        rule(
            "below-one",
            "summary.below_one.accounts",
            Direction::Above,
            0.0,
        ),
    ];
    let (s, a) = watched(dir.path(), rules.clone(), Some(hook.url.clone()));
    let firing = |name: &str, state: &str| {
        let (_, v) = get(&a, &s.url("/v1/alerts"));
        v["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["rule"] == name && x["state"] == state)
            .cloned()
    };
    let x = until("scenario alert", || {
        firing("scenario-liquidations", "firing")
    });
    assert!(near(x["value"].as_f64().unwrap_or(0.0), 16_250.0), "{x}");
    let x = until("ladder alert", || firing("ladder", "firing"));
    assert!(near(x["value"].as_f64().unwrap_or(0.0), 15_500.0), "{x}");
    until("below-one alert", || firing("below-one", "firing"));

    // A price that keeps bob's 15,500 within 10% changes nothing (fire once per crossing).
    let (code, _) = post(
        &a,
        &s.url("/v1/prices"),
        Some(TOKEN),
        &json!({"prices": [{"id": "p1", "asset": "ETH", "price": 1990.0}]}).to_string(),
    );
    assert_eq!(code, 200);
    let (code, _) = post(
        &a,
        &s.url("/v1/positions"),
        Some(TOKEN),
        &json!({"changes": [{"id": "c1", "op": "close", "protocol": "lend", "account": "bob"}]})
            .to_string(),
    );
    assert_eq!(code, 200);
    let x = until("scenario alert resolved", || {
        firing("scenario-liquidations", "resolved")
    });
    assert!(x["resolved_at_ms"].as_i64().is_some(), "{x}");
    until("ladder resolved", || firing("ladder", "resolved"));

    // The webhook got each transition once, in order, after the first attempt was refused.
    let got = until("webhook deliveries", || {
        let b = hook
            .bodies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        (b.len() >= 5).then_some(b)
    });
    std::thread::sleep(Duration::from_millis(300));
    let got_now = hook
        .bodies
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    assert_eq!(got_now.len(), 5, "{got_now:?}");
    let seen: Vec<(String, String)> = got
        .iter()
        .map(|b| {
            (
                b["rule"].as_str().unwrap_or("").to_string(),
                b["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for name in ["scenario-liquidations", "ladder"] {
        let fired = seen.iter().position(|(r, st)| r == name && st == "firing");
        let resolved = seen
            .iter()
            .position(|(r, st)| r == name && st == "resolved");
        assert!(fired.is_some() && resolved > fired, "{seen:?}");
    }
    assert_eq!(
        seen.iter().filter(|(r, _)| r == "below-one").count(),
        1,
        "{seen:?}"
    );
    assert!(*hook.requests.lock().unwrap_or_else(|p| p.into_inner()) >= 6);
    let ladder = got
        .iter()
        .find(|b| b["rule"] == "ladder")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ladder["metric"], "ladder.ETH.10");
    assert_eq!(ladder["threshold"], 10_000.0);
    assert_eq!(ladder["clear"], 9_500.0);

    // A restart keeps the firing alert firing without a second delivery.
    s.stop();
    let (s, a) = watched(dir.path(), rules, Some(hook.url.clone()));
    until("watchlist after restart", || {
        let (_, l) = get(&a, &s.url("/v1/scenarios"));
        (l["refreshes"].as_u64() >= Some(1)).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        hook.bodies.lock().unwrap_or_else(|p| p.into_inner()).len(),
        5
    );
    s.stop();
}

#[test]
fn a_full_disk_answers_503_applies_nothing_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = start(config(dir.path()));
    let a = agent();
    let batch = |from: usize, n: usize| {
        json!({"changes": (from..from + n).map(|i| json!({
            "id": format!("c{i}"), "op": "set", "protocol": "lend",
            "account": format!("acct-{i}"), "asset": "ETH", "side": "collateral", "amount": 1.0
        })).collect::<Vec<_>>()})
        .to_string()
    };
    let (code, body) = post(&a, &s.url("/v1/positions"), Some(TOKEN), &batch(0, 50));
    assert_eq!(code, 200, "{body}");
    // The disk fills up: the store may not grow beyond its current pages.
    let pages = s
        .state
        .with_store(|st| st.limit_pages_for_test(1))
        .unwrap_or_else(|e| panic!("{e}"));
    s.state
        .with_store(|st| st.limit_pages_for_test(pages))
        .unwrap_or_else(|e| panic!("{e}"));
    let big = batch(50, 2_000);
    let (code, body) = post(&a, &s.url("/v1/positions"), Some(TOKEN), &big);
    assert_eq!(code, 503, "{body}");
    let (_, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(summary["seq"], 50, "nothing of the refused batch applied");
    assert_eq!(summary["accounts"], 52, "{summary}");
    // Room again: the same batch goes in whole.
    s.state
        .with_store(|st| st.limit_pages_for_test(1 << 30))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, body) = post(&a, &s.url("/v1/positions"), Some(TOKEN), &big);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["applied"], 2_000);
    s.stop();
    let s = start(config(dir.path()));
    let (_, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(summary["seq"], 2_050);
    assert_eq!(summary["accounts"], 2_052, "{summary}");
    s.stop();
}
