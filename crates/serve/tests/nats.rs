//! NATS JetStream ingest against a real `nats-server -js` started (and killed) by each test: both
//! subjects applied and acked after commit, replays as no-ops, bad messages terminated alone, a
//! full disk handed back and applied once there is room, NATS down at start, NATS killed mid-run.
//!
//! Without a nats-server binary the tests say so and pass, except under CI (`CI` set), where
//! .ci/run installs it and its absence is a failure.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use async_nats::jetstream;
use cascade_serve::config::ServeConfig;
use cascade_serve::nats::{spawn, NatsConfig};
use cascade_serve::server::AppState;
use common::{snapshot, TOKEN};
use serde_json::{json, Value};

/// Every wait of these tests polls up to this long: a loaded 2-core machine is slow, not stuck.
const DEADLINE: Duration = Duration::from_secs(30);

fn nats_server_binary() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/bin", "/usr/bin"].map(PathBuf::from));
    let found = dirs
        .into_iter()
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nats-server not found: .ci/run installs it (apt-get install nats-server)"
        );
        eprintln!("nats-server not found; skipping (apt-get install nats-server)");
    }
    found
}

/// A free TCP port on loopback (bound, then released).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    l.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
}

/// A `nats-server -js` on loopback, killed when dropped.
struct NatsServer {
    child: Child,
}

impl NatsServer {
    fn start(bin: &Path, port: u16, store: &Path) -> NatsServer {
        let log =
            std::fs::File::create(store.with_extension("log")).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        let server = NatsServer { child };
        // A connection to a port nobody listens on yet can succeed by connecting to itself (the
        // kernel may pick the same port as the source): only a different peer counts.
        wait_until("nats-server to listen", || {
            TcpStream::connect(("127.0.0.1", port))
                .is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok())
        });
        server
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `ok` every 50 ms until it holds; panics after [`DEADLINE`].
fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn nats_config(port: u16) -> NatsConfig {
    NatsConfig {
        url: format!("nats://127.0.0.1:{port}"),
        ack_wait: Duration::from_secs(2),
        retry_delay: Duration::from_millis(300),
        max_backoff: Duration::from_millis(300),
        ..NatsConfig::default()
    }
}

/// The service on loopback with the NATS worker (the shared in-process service of
/// `tests/common`, with the worker spawned on its runtime).
struct Running {
    addr: SocketAddr,
    state: Arc<AppState>,
    data: PathBuf,
    service: Option<common::Running>,
}

impl Running {
    fn start(
        dir: &Path,
        nats: NatsConfig,
        alerts: Option<tokio::sync::broadcast::Receiver<(&'static str, Value)>>,
    ) -> Running {
        let cfg = ServeConfig {
            data: dir.join("data"),
            token: Some(TOKEN.into()),
            nats: Some(nats.clone()),
            ..ServeConfig::default()
        };
        let data = cfg.data.clone();
        let service = common::start_with(cfg, snapshot(), move |state| {
            // Ends with the service's runtime.
            drop(spawn(Arc::clone(state), nats, alerts));
        });
        Running {
            addr: service.addr,
            state: Arc::clone(&service.state),
            data,
            service: Some(service),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn eth(&self) -> f64 {
        self.state.live().price("ETH").unwrap_or(f64::NAN)
    }

    /// (events in the SQLite log, distinct ids among them), read from the file.
    fn log_counts(&self) -> (i64, i64) {
        let db = rusqlite::Connection::open(self.data.join("cascade.sqlite"))
            .unwrap_or_else(|e| panic!("{e}"));
        db.query_row("SELECT count(*), count(DISTINCT id) FROM events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn log_ids(&self) -> Vec<String> {
        let db = rusqlite::Connection::open(self.data.join("cascade.sqlite"))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut stmt = db
            .prepare("SELECT id FROM events ORDER BY seq")
            .unwrap_or_else(|e| panic!("{e}"));
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap_or_else(|e| panic!("{e}"));
        rows.map(|r| r.unwrap_or_else(|e| panic!("{e}"))).collect()
    }

    fn metric(&self, name: &str) -> f64 {
        let (code, text) = get(&self.url("/metrics"));
        assert_eq!(code, 200);
        let text = text.as_str().unwrap_or_default().to_string();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.service.take() {
            s.stop();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>, url: &str) -> (u16, Value) {
    match r {
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

fn get(url: &str) -> (u16, Value) {
    answer(agent().get(url).call(), url)
}

fn post(url: &str, body: &str) -> (u16, Value) {
    let r = agent()
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", &format!("Bearer {TOKEN}"))
        .send(body);
    answer(r, url)
}

/// A test-side NATS client on its own small runtime.
struct Publisher {
    rt: tokio::runtime::Runtime,
    client: async_nats::Client,
    js: jetstream::Context,
}

impl Publisher {
    fn connect(port: u16) -> Publisher {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        // Retried until the deadline: the server may still be starting.
        let start = Instant::now();
        let client = loop {
            match rt.block_on(
                async_nats::ConnectOptions::new()
                    .max_reconnects(None)
                    .connect(format!("nats://127.0.0.1:{port}")),
            ) {
                Ok(c) => break c,
                Err(e) if start.elapsed() >= DEADLINE => panic!("{e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        // The context spawns its acker on the runtime.
        let js = rt.block_on(async { jetstream::new(client.clone()) });
        Publisher { rt, client, js }
    }

    /// Publishes and waits for the stream's acknowledgement (retrying while the stream is not
    /// there yet or the server is restarting); returns the stream sequence.
    fn publish(&self, subject: &str, body: &Value) -> u64 {
        let payload = body.to_string();
        let start = Instant::now();
        loop {
            let r = self.rt.block_on(async {
                let ack = self
                    .js
                    .publish(subject.to_string(), payload.clone().into())
                    .await?;
                Ok::<_, async_nats::Error>(ack.await?)
            });
            match r {
                Ok(ack) => return ack.sequence,
                Err(e) => {
                    assert!(start.elapsed() < DEADLINE, "publish to {subject}: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// Publishes every body without waiting in between, then waits for the stream's
    /// acknowledgements; returns the last stream sequence.
    fn publish_all(&self, subject: &str, bodies: &[Value]) -> u64 {
        self.rt
            .block_on(async {
                let mut acks = Vec::with_capacity(bodies.len());
                for b in bodies {
                    acks.push(
                        self.js
                            .publish(subject.to_string(), b.to_string().into())
                            .await?,
                    );
                }
                let mut last = 0;
                for a in acks {
                    last = a.await?.sequence;
                }
                Ok::<_, async_nats::Error>(last)
            })
            .unwrap_or_else(|e| panic!("publish to {subject}: {e}"))
    }

    /// The durable consumer's info, once the service has created it.
    fn consumer(&self, cfg: &NatsConfig) -> Option<jetstream::consumer::Info> {
        self.rt.block_on(async {
            let stream = self.js.get_stream(&cfg.stream).await.ok()?;
            stream.consumer_info(&cfg.consumer).await.ok()
        })
    }

    fn wait_consumer(&self, cfg: &NatsConfig) {
        wait_until("the service's durable consumer", || {
            self.consumer(cfg).is_some()
        });
    }

    /// Waits until the consumer has nothing left to deliver and nothing unacknowledged, and
    /// its ack floor is at `seq`.
    fn wait_all_acked(&self, cfg: &NatsConfig, seq: u64) {
        wait_until("every message acknowledged", || {
            self.consumer(cfg).is_some_and(|i| {
                i.num_pending == 0 && i.num_ack_pending == 0 && i.ack_floor.stream_sequence == seq
            })
        });
    }
}

fn prices(items: &[(&str, f64)]) -> Value {
    let list: Vec<Value> = items
        .iter()
        .map(|(id, p)| json!({"id": id, "asset": "ETH", "price": p}))
        .collect();
    json!({ "prices": list })
}

/// carol: 5 ETH collateral and 1,000 USDC debt in `lend`.
fn carol(id: &str) -> Value {
    json!({"changes": [
        {"id": format!("{id}-eth"), "op": "set", "protocol": "lend", "account": "carol", "asset": "ETH", "side": "collateral", "amount": 5.0},
        {"id": format!("{id}-usdc"), "op": "set", "protocol": "lend", "account": "carol", "asset": "USDC", "side": "debt", "amount": 1000.0}
    ]})
}

#[test]
fn both_subjects_apply_replays_are_no_ops_and_acks_follow_commits() {
    let Some(bin) = nats_server_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let _nats = NatsServer::start(&bin, port, &dir.path().join("js"));
    let cfg = nats_config(port);
    let (alerts, alerts_rx) = tokio::sync::broadcast::channel(16);
    let s = Running::start(dir.path(), cfg.clone(), Some(alerts_rx));
    let p = Publisher::connect(port);
    p.wait_consumer(&cfg);
    assert_eq!(s.state.live().accounts(), 2);
    assert_eq!(s.eth(), 2000.0);

    p.publish(&cfg.prices_subject(), &prices(&[("p1", 1800.0)]));
    p.publish(&cfg.positions_subject(), &carol("c1"));
    let last = p.publish(&cfg.prices_subject(), &prices(&[("p2", 1700.0)]));
    assert_eq!(last, 3);
    wait_until("three messages applied", || s.log_counts() == (4, 4));
    p.wait_all_acked(&cfg, 3);
    assert_eq!(s.eth(), 1700.0);
    assert_eq!(s.state.live().accounts(), 3, "carol opened");
    assert_eq!(s.log_ids(), ["p1", "c1-eth", "c1-usdc", "p2"]);
    let (code, summary) = get(&s.url("/v1/summary"));
    assert_eq!(code, 200);
    assert_eq!(summary["seq"], 4, "{summary}");

    // The first message again (a sender that missed its ack): acked, nothing applied.
    p.publish(&cfg.prices_subject(), &prices(&[("p1", 1800.0)]));
    p.wait_all_acked(&cfg, 4);
    assert_eq!(s.log_counts(), (4, 4));
    assert_eq!(s.eth(), 1700.0, "a replayed id is a no-op");
    let m = &s.state.metrics;
    assert_eq!(m.nats_consumed.load(Relaxed), 4);
    assert_eq!(m.events_duplicate.load(Relaxed), 1);
    assert_eq!(m.nats_terminated.load(Relaxed), 0);
    assert_eq!(s.metric("cascade_nats_messages_consumed_total"), 4.0);
    assert_eq!(s.metric("cascade_nats_connected"), 1.0);

    // Alerts go out as JSON on {prefix}.alerts. (The subscriber lives and dies on the runtime.)
    let alert = json!({"rule": "below_one", "key": "alice", "state": "firing"});
    let got = p.rt.block_on(async {
        use futures_util::StreamExt;
        let mut sub = p
            .client
            .subscribe(cfg.alerts_subject())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // A flush only writes the subscription out; the server has it once a message of our own
        // comes back through it (otherwise, on a loaded machine, the service's alert could reach
        // the server first and go to nobody: plain NATS delivers at most once).
        p.client
            .publish(cfg.alerts_subject(), "probe".into())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let probe = tokio::time::timeout(DEADLINE, sub.next())
            .await
            .unwrap_or_else(|e| panic!("the probe did not come back: {e}"))
            .unwrap_or_else(|| panic!("alert subscription closed"));
        assert_eq!(&probe.payload[..], b"probe");
        alerts
            .send(("summary", json!({"seq": 0})))
            .unwrap_or_else(|e| panic!("{e}"));
        alerts
            .send(("alert", alert.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        tokio::time::timeout(DEADLINE, sub.next())
            .await
            .unwrap_or_else(|e| panic!("no alert published: {e}"))
            .unwrap_or_else(|| panic!("alert subscription closed"))
    });
    let got: Value = serde_json::from_slice(&got.payload).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, alert);
    wait_until("the alert counted", || {
        s.metric("cascade_nats_alerts_published_total") == 1.0
    });
}

#[test]
fn a_full_disk_hands_the_batch_back_and_it_applies_once_there_is_room() {
    let Some(bin) = nats_server_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let _nats = NatsServer::start(&bin, port, &dir.path().join("js"));
    let cfg = nats_config(port);
    let s = Running::start(dir.path(), cfg.clone(), None);
    let p = Publisher::connect(port);
    p.wait_consumer(&cfg);

    // Full: the file may not grow by a page; 60 events with long ids need several.
    let pages = s
        .state
        .with_store(|st| st.limit_pages_for_test(1))
        .unwrap_or_else(|e| panic!("{e}"));
    s.state
        .with_store(|st| st.limit_pages_for_test(pages))
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<String> = (0..60)
        .map(|k| format!("full-{k:02}-{}", "x".repeat(100)))
        .collect();
    let items: Vec<(&str, f64)> = ids
        .iter()
        .enumerate()
        .map(|(k, id)| (id.as_str(), 1000.0 + k as f64))
        .collect();
    let seq = p.publish(&cfg.prices_subject(), &prices(&items));
    wait_until("the batch handed back twice", || {
        s.state.metrics.nats_redelivered.load(Relaxed) >= 2
    });
    assert_eq!(s.log_counts(), (0, 0), "nothing of the batch is in the log");
    assert_eq!(s.eth(), 2000.0, "nor applied");
    assert_eq!(s.state.metrics.nats_consumed.load(Relaxed), 0);
    let info = p.consumer(&cfg).unwrap_or_else(|| panic!("no consumer"));
    assert_eq!(info.ack_floor.stream_sequence, 0, "not acknowledged");

    // Room again: the next redelivery is applied, once, and acknowledged.
    s.state
        .with_store(|st| st.limit_pages_for_test(1 << 30))
        .unwrap_or_else(|e| panic!("{e}"));
    wait_until("the batch applied", || s.log_counts() == (60, 60));
    p.wait_all_acked(&cfg, seq);
    assert_eq!(s.eth(), 1059.0);
    assert_eq!(s.state.metrics.nats_consumed.load(Relaxed), 1);
    assert_eq!(s.state.metrics.nats_terminated.load(Relaxed), 0);
}

#[test]
fn a_bad_message_is_terminated_and_counted_while_its_neighbours_apply() {
    let Some(bin) = nats_server_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let _nats = NatsServer::start(&bin, port, &dir.path().join("js"));
    let cfg = nats_config(port);
    let p = Publisher::connect(port);
    // The stream exists before the service starts, so that the messages are all waiting and are
    // combined into one batch.
    wait_until("the stream created", || {
        p.rt.block_on(p.js.create_stream(jetstream::stream::Config {
            name: cfg.stream.clone(),
            subjects: vec![cfg.prices_subject(), cfg.positions_subject()],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        }))
        .is_ok()
    });
    p.publish(&cfg.prices_subject(), &prices(&[("p1", 1900.0)]));
    let not_json = p.publish(&cfg.prices_subject(), &json!("not a batch"));
    p.publish(&cfg.positions_subject(), &carol("c1"));
    let doge = p.publish(
        &cfg.prices_subject(),
        &json!({"prices": [{"id": "p-doge", "asset": "DOGE", "price": 0.1}]}),
    );
    p.publish(&cfg.positions_subject(), &carol("c2"));
    let last = p.publish(&cfg.prices_subject(), &prices(&[("p2", 1950.0)]));
    assert_eq!((not_json, doge, last), (2, 4, 6));

    let s = Running::start(dir.path(), cfg.clone(), None);
    p.wait_all_acked(&cfg, last);
    wait_until("the good messages applied", || s.log_counts() == (6, 6));
    assert_eq!(
        s.log_ids(),
        ["p1", "c1-eth", "c1-usdc", "c2-eth", "c2-usdc", "p2"]
    );
    assert_eq!(s.eth(), 1950.0);
    assert_eq!(s.state.live().accounts(), 3);
    let m = &s.state.metrics;
    assert_eq!(m.nats_terminated.load(Relaxed), 2);
    assert_eq!(m.nats_consumed.load(Relaxed), 4);
    assert_eq!(m.batches_refused.load(Relaxed), 2, "one per bad message");
    assert_eq!(s.metric("cascade_nats_messages_terminated_total"), 2.0);
    // Terminated messages are not redelivered.
    std::thread::sleep(cfg.ack_wait + Duration::from_millis(500));
    assert_eq!(m.nats_terminated.load(Relaxed), 2);
    let info = p.consumer(&cfg).unwrap_or_else(|| panic!("no consumer"));
    assert_eq!((info.num_pending, info.num_ack_pending), (0, 0));
}

#[test]
fn nats_down_at_start_http_works_then_the_consumer_catches_up() {
    let Some(bin) = nats_server_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let cfg = nats_config(port);
    let s = Running::start(dir.path(), cfg.clone(), None);

    // No NATS: HTTP ingest and reads work.
    let (code, body) = post(&s.url("/v1/prices"), &prices(&[("h1", 1500.0)]).to_string());
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["applied"], 1, "{body}");
    let (code, summary) = get(&s.url("/v1/summary"));
    assert_eq!((code, summary["seq"].as_u64()), (200, Some(1)), "{summary}");
    assert_eq!(s.eth(), 1500.0);
    assert_eq!(s.metric("cascade_nats_connected"), 0.0);

    // NATS comes up: the service connects, creates the stream and consumer, and consumes.
    let _nats = NatsServer::start(&bin, port, &dir.path().join("js"));
    let p = Publisher::connect(port);
    p.wait_consumer(&cfg);
    p.publish(&cfg.positions_subject(), &carol("c1"));
    let last = p.publish(&cfg.prices_subject(), &prices(&[("n1", 1600.0)]));
    wait_until("NATS messages applied", || s.log_counts() == (4, 4));
    p.wait_all_acked(&cfg, last);
    assert_eq!(s.log_ids(), ["h1", "c1-eth", "c1-usdc", "n1"]);
    assert_eq!(s.eth(), 1600.0);
    assert_eq!(s.state.live().accounts(), 3);
    assert_eq!(s.metric("cascade_nats_connected"), 1.0);
    // HTTP still works alongside.
    let (code, body) = post(&s.url("/v1/prices"), &prices(&[("h2", 1650.0)]).to_string());
    assert_eq!((code, body["applied"].as_u64()), (200, Some(1)), "{body}");
    assert_eq!(s.eth(), 1650.0);
}

#[test]
fn nats_killed_mid_run_and_restarted_loses_and_repeats_nothing() {
    let Some(bin) = nats_server_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let store = dir.path().join("js");
    let nats = NatsServer::start(&bin, port, &store);
    let cfg = nats_config(port);
    let s = Running::start(dir.path(), cfg.clone(), None);
    let p = Publisher::connect(port);
    p.wait_consumer(&cfg);

    // 40 messages, and the server killed while they are being consumed.
    let a: Vec<Value> = (0..40)
        .map(|k| prices(&[(&format!("a{k:02}"), 1000.0 + k as f64)]))
        .collect();
    assert_eq!(p.publish_all(&cfg.prices_subject(), &a), 40);
    nats.kill();
    wait_until("the service to see the loss", || {
        s.state.metrics.nats_connected.load(Relaxed) == 0
    });
    // HTTP meanwhile.
    let (code, body) = post(&s.url("/v1/prices"), &prices(&[("h1", 1500.0)]).to_string());
    assert_eq!(code, 200, "{body}");

    // Same port and store: the stream and the consumer's acks survived.
    let _nats = NatsServer::start(&bin, port, &store);
    p.wait_consumer(&cfg);
    let b: Vec<Value> = (0..40)
        .map(|k| prices(&[(&format!("b{k:02}"), 2000.0 + k as f64)]))
        .collect();
    assert_eq!(p.publish_all(&cfg.prices_subject(), &b), 80);
    wait_until("every event in the log", || s.log_counts() == (81, 81));
    p.wait_all_acked(&cfg, 80);
    assert_eq!(s.log_counts(), (81, 81), "each event exactly once");
    assert_eq!(s.eth(), 2039.0, "the newest price wins: order kept");
    let ids = s.log_ids();
    let nats_ids: Vec<&String> = ids.iter().filter(|i| *i != "h1").collect();
    let expected: Vec<String> = (0..40)
        .map(|k| format!("a{k:02}"))
        .chain((0..40).map(|k| format!("b{k:02}")))
        .collect();
    assert_eq!(
        nats_ids,
        expected.iter().collect::<Vec<_>>(),
        "in publication order"
    );
    assert_eq!(s.state.metrics.nats_connected.load(Relaxed), 1);
}
