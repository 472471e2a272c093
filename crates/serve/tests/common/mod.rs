//! What the service's tests share: the worked example, an in-process service on loopback, and an
//! HTTP client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cascade_serve::config::ServeConfig;
use cascade_serve::server::{recover, serve, AppState};
use cascade_serve::store::Store;
use serde_json::Value;

pub const TOKEN: &str = "test-token-0123456789";

/// The worked example: alice (10 ETH, 17,000 USDC debt) and bob (10 ETH, 15,500 USDC) in `lend`,
/// ETH at 2,000, LT 0.825: HF 16,500/17,000 = 0.9706 and 16,500/15,500 = 1.0645.
pub fn snapshot() -> cascade_model::Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/worked/snapshot.toml");
    cascade_io::load_snapshot(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

/// A running service: its address and a way to stop it (graceful: drain, checkpoint).
pub struct Running {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn start(cfg: ServeConfig) -> Running {
    start_with(cfg, snapshot(), |_| {})
}

/// A service on `snap`; `setup` runs inside its runtime before it serves (to spawn workers).
pub fn start_with(
    cfg: ServeConfig,
    snap: cascade_model::Snapshot,
    setup: impl FnOnce(&Arc<AppState>) + Send + 'static,
) -> Running {
    let store = Store::open(&cfg.data).unwrap_or_else(|e| panic!("{e}"));
    let live = recover(snap, &store).unwrap_or_else(|e| panic!("{e}"));
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
            let state = AppState::new(cfg, live, store);
            setup(&state);
            let _ = addr_tx.send((
                listener.local_addr().unwrap_or_else(|e| panic!("{e}")),
                Arc::clone(&state),
            ));
            let _ = serve(state, listener, async {
                let _ = rx.await;
            })
            .await;
        });
    });
    let (addr, state) = addr_rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    Running {
        addr,
        state,
        stop: Some(tx),
        thread: Some(thread),
    }
}

pub fn config(dir: &Path) -> ServeConfig {
    ServeConfig {
        data: dir.join("data"),
        token: Some(TOKEN.into()),
        ..ServeConfig::default()
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// (status, JSON body or the text as a JSON string).
pub fn post(a: &ureq::Agent, url: &str, token: Option<&str>, body: &str) -> (u16, Value) {
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

pub fn get(a: &ureq::Agent, url: &str) -> (u16, Value) {
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

pub fn below_one(summary: &Value) -> u64 {
    summary["below_one"]["accounts"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

/// The worked example's scenario (ETH −5%).
pub fn scenario() -> cascade_model::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/worked/scenario.toml");
    cascade_io::load_scenario(&path, &snapshot())
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

/// Polls `f` until it gives a value or 30 s pass.
pub fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The worked example served as the dashboard's tests see it: its scenario watched, and one alert
/// rule that fires at once (`debt-high`: the system's debt, 32,500, above 1,000); `open_reads` as
/// given.
pub fn dashboard_service(dir: &Path, open_reads: bool) -> Running {
    use cascade_serve::alerts::{AlertRule, Delivery, Direction};
    let mut cfg = config(dir);
    cfg.open_reads = open_reads;
    let watch = cascade_serve::watch::WatchConfig {
        debounce: Duration::from_millis(50),
        ..Default::default()
    };
    let rule = AlertRule {
        name: "debt-high".into(),
        metric: "summary.debt_usd".into(),
        direction: Direction::Above,
        threshold: 1_000.0,
        duration: Duration::ZERO,
        clear: AlertRule::default_clear(Direction::Above, 1_000.0),
    };
    start_with(cfg, snapshot(), move |state| {
        cascade_serve::watch::spawn(Arc::clone(state), vec![scenario()], watch);
        cascade_serve::alerts::spawn(
            Arc::clone(state),
            vec![rule],
            Delivery {
                webhook: None,
                webhook_attempts: 1,
            },
        );
    })
}
