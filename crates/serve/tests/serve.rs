//! `cascade serve` over real HTTP on loopback with a real SQLite file: ingest (token, whole batches,
//! ids, named problems), reads, limits, restart, and no panic on random bodies.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cascade_serve::config::ServeConfig;
use cascade_serve::server::{recover, serve, AppState};
use cascade_serve::store::Store;
use serde_json::{json, Value};

const TOKEN: &str = "test-token-0123456789";

/// The worked example: alice (10 ETH, 17,000 USDC debt) and bob (10 ETH, 15,500 USDC) in `lend`,
/// ETH at 2,000, LT 0.825: HF 16,500/17,000 = 0.9706 and 16,500/15,500 = 1.0645.
fn snapshot() -> cascade_model::Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/worked/snapshot.toml");
    cascade_io::load_snapshot(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

/// A running service: its address and a way to stop it (graceful: drain, checkpoint).
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start(cfg: ServeConfig) -> Running {
    let store = Store::open(&cfg.data).unwrap_or_else(|e| panic!("{e}"));
    let live = recover(snapshot(), &store).unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let _ = addr_tx.send(listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
            let state = AppState::new(cfg, live, store);
            let _ = serve(state, listener, async {
                let _ = rx.await;
            })
            .await;
        });
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    Running {
        addr,
        stop: Some(tx),
        thread: Some(thread),
    }
}

fn config(dir: &Path) -> ServeConfig {
    ServeConfig {
        data: dir.join("data"),
        token: Some(TOKEN.into()),
        ..ServeConfig::default()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// (status, JSON body or the text as a JSON string).
fn post(a: &ureq::Agent, url: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = a.post(url).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    match req.send(body) {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
        Err(e) => panic!("{url}: {e}"),
    }
}

fn get(a: &ureq::Agent, url: &str) -> (u16, Value) {
    match a.get(url).call() {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
        Err(e) => panic!("{url}: {e}"),
    }
}

fn below_one(summary: &Value) -> u64 {
    summary["below_one"]["accounts"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

#[test]
fn ingest_is_authorised_whole_idempotent_and_read_back() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = start(config(dir.path()));
    let a = agent();
    let (code, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(code, 200, "{summary}");
    // alice is below 1 at ETH 2,000; bob is not.
    assert_eq!(below_one(&summary), 1, "{summary}");
    assert_eq!(summary["seq"], 0);

    let prices = json!({"prices": [{"id": "p1", "asset": "ETH", "price": 1800.0}]}).to_string();
    // No token, a wrong token: 401 and nothing applied.
    assert_eq!(post(&a, &s.url("/v1/prices"), None, &prices).0, 401);
    assert_eq!(post(&a, &s.url("/v1/prices"), Some("nope"), &prices).0, 401);
    // With the token: applied. ETH 1,800: bob's HF = 10·1800·0.825/15500 = 0.958 < 1 too.
    let (code, body) = post(&a, &s.url("/v1/prices"), Some(TOKEN), &prices);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (body["applied"].as_u64(), body["duplicates"].as_u64()),
        (Some(1), Some(0))
    );
    let (_, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(below_one(&summary), 2, "{summary}");
    assert_eq!(summary["seq"], 1);
    // The same id again: a no-op.
    let (code, body) = post(&a, &s.url("/v1/prices"), Some(TOKEN), &prices);
    assert_eq!(code, 200);
    assert_eq!(
        (body["applied"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(1))
    );

    // A batch with one bad item is refused whole, naming the item and field.
    let bad = json!({"prices": [
        {"id": "p2", "asset": "ETH", "price": 2500.0},
        {"id": "p3", "asset": "DOGE", "price": 1.0}
    ]})
    .to_string();
    let (code, body) = post(&a, &s.url("/v1/prices"), Some(TOKEN), &bad);
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["items"][0]["index"], 1, "{body}");
    assert_eq!(body["items"][0]["field"], "prices[1].asset", "{body}");
    let bad = json!({"prices": [{"id": "p4", "asset": "ETH", "price": -5}]}).to_string();
    let (code, body) = post(&a, &s.url("/v1/prices"), Some(TOKEN), &bad);
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["items"][0]["field"], "prices[0].price", "{body}");
    let (code, body) = post(
        &a,
        &s.url("/v1/prices"),
        Some(TOKEN),
        "{\"prices\": [{\"id\": \"x\", \"asset\": \"ETH\", \"price\": 1, \"colour\": 1}]}",
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["items"][0]["field"], "prices[0].colour", "{body}");
    let (_, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(summary["seq"], 1, "nothing of a refused batch is applied");

    // Positions: carol opens a healthy account; alice closes hers.
    let changes = json!({"changes": [
        {"id": "c1", "op": "set", "protocol": "lend", "account": "carol", "asset": "ETH", "side": "collateral", "amount": 5.0},
        {"id": "c2", "op": "set", "protocol": "lend", "account": "carol", "asset": "USDC", "side": "debt", "amount": 1000.0},
        {"id": "c3", "op": "close", "protocol": "lend", "account": "alice"}
    ]})
    .to_string();
    let (code, body) = post(&a, &s.url("/v1/positions"), Some(TOKEN), &changes);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["applied"].as_u64(), Some(3));
    let (code, carol) = get(&a, &s.url("/v1/accounts/carol"));
    assert_eq!(code, 200, "{carol}");
    let text = carol.to_string();
    // HF = 5·1800·0.825/1000 = 7.425.
    assert!(text.contains("7.425"), "{text}");
    assert_eq!(get(&a, &s.url("/v1/accounts/nobody")).0, 404);
    let (_, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(below_one(&summary), 1, "{summary}");

    // The other reads.
    for path in [
        "/v1/protocols",
        "/v1/protocols/lend",
        "/v1/ladder?asset=ETH",
        "/v1/alerts",
        "/v1/history?metric=debt_usd",
        "/v1/openapi.json",
    ] {
        let (code, body) = get(&a, &s.url(path));
        assert_eq!(code, 200, "{path}: {body}");
    }
    assert_eq!(get(&a, &s.url("/v1/protocols/none")).0, 404);
    assert_eq!(get(&a, &s.url("/v1/ladder")).0, 400);
    assert_eq!(get(&a, &s.url("/v1/nothing")).0, 404);
    let (code, metrics) = get(&a, &s.url("/metrics"));
    assert_eq!(code, 200);
    let m = metrics.as_str().unwrap_or_default().to_string();
    assert!(m.contains("cascade_events_applied_total 4"), "{m}");
    assert!(
        m.contains("cascade_request_seconds_bucket{kind=\"write\""),
        "{m}"
    );
    let (_, doc) = get(&a, &s.url("/v1/openapi.json"));
    assert_eq!(doc["openapi"], "3.1.0");

    // A restart (checkpoint at shutdown) gives the same state.
    s.stop();
    let s = start(config(dir.path()));
    let (_, again) = get(&a, &s.url("/v1/summary"));
    assert_eq!(again["seq"], 4, "{again}");
    assert_eq!(again["debt_usd"], summary["debt_usd"]);
    assert_eq!(below_one(&again), 1);
    s.stop();
}

#[test]
fn limits_answer_413_429_and_closed_reads_401() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = ServeConfig {
        body_limit_bytes: 1024,
        rate_per_second: 1.0,
        rate_burst: 5.0,
        open_reads: false,
        ..config(dir.path())
    };
    let s = start(cfg);
    let a = agent();
    let big = format!(
        "{{\"prices\": [{}]}}",
        vec!["{\"id\": \"x\", \"asset\": \"ETH\", \"price\": 1.0}"; 100].join(",")
    );
    assert_eq!(post(&a, &s.url("/v1/prices"), Some(TOKEN), &big).0, 413);
    // Reads closed: 401 without the token.
    assert_eq!(get(&a, &s.url("/v1/summary")).0, 401);
    let mut codes = Vec::new();
    for _ in 0..10 {
        let r = a
            .get(&s.url("/v1/summary"))
            .header("authorization", &format!("Bearer {TOKEN}"))
            .call()
            .unwrap_or_else(|e| panic!("{e}"));
        codes.push(r.status().as_u16());
    }
    assert!(codes.contains(&429), "{codes:?}");
    s.stop();
}

#[test]
fn random_bodies_never_break_the_service() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = start(config(dir.path()));
    let a = agent();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        "\"prices\"",
        "\"changes\"",
        ":",
        ",",
        "\"id\"",
        "\"asset\"",
        "\"ETH\"",
        "\"price\"",
        "1e308",
        "-0",
        "null",
        "\"op\"",
        "\"set\"",
        "\"close\"",
        "\"amount\"",
        "NaN",
        "\"lend\"",
        "\"protocol\"",
        "\"account\"",
        "\u{0}",
        "\"side\"",
        "\"debt\"",
        "true",
        "99999999999999999999999",
    ];
    for i in 0..300 {
        let n = (next() % 24) as usize;
        let body: String = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let path = ["/v1/prices", "/v1/positions"][i % 2];
        let (code, b) = post(&a, &s.url(path), Some(TOKEN), &body);
        assert!(
            matches!(code, 200 | 400 | 422),
            "{path} {body:?} → {code} {b}"
        );
    }
    for path in [
        "/v1/accounts/%00",
        "/v1/protocols/%FF",
        "/v1/ladder?asset=",
        "/v1/history?metric=x&from=abc",
        "/v1/history?metric=x&from=-1&to=-2",
    ] {
        let code = get(&a, &s.url(path)).0;
        assert!(code < 500, "{path} → {code}");
    }
    assert_eq!(get(&a, &s.url("/v1/summary")).0, 200);
    s.stop();
}

#[test]
fn a_foreign_state_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(data.join("cascade.sqlite"), b"not a database at all")
        .unwrap_or_else(|e| panic!("{e}"));
    let e = Store::open(&data).err().unwrap_or_else(|| panic!("opened"));
    assert!(e.is_usage(), "{e}");
    assert_eq!(
        std::fs::read(data.join("cascade.sqlite")).unwrap_or_default(),
        b"not a database at all"
    );
    let _ = Arc::new(());
}
