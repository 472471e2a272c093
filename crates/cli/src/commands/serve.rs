//! `cascade serve`: the live monitor (docs/serve.md). Flags override `--config serve.toml`, which
//! overrides the defaults (the built-in system, 127.0.0.1:8080, ./cascade-data).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use cascade_serve::config::ServeConfig;
use cascade_serve::server::{recover, serve, shutdown_signal, AppState};
use cascade_serve::store::Store;

use crate::failure::Failure;
use crate::load::{load_snapshot, SnapshotArg};

/// Flags of `cascade serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    snapshot: SnapshotArg,
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Folder of the durable state (event log, checkpoints, history, alerts) [default: ./cascade-data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Settings file (docs/serve.md#configuration); flags override it.
    #[arg(long, value_name = "serve.toml")]
    config: Option<PathBuf>,
}

pub fn run(a: &ServeArgs) -> Result<(), Failure> {
    // Structured logs on stderr; RUST_LOG filters them (default: info).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let mut cfg = match &a.config {
        Some(p) => ServeConfig::load(p).map_err(|d| Failure::Input(d.to_string()))?,
        None => ServeConfig::default(),
    }
    .with_env_token();
    if let Some(l) = a.listen {
        cfg.listen = l;
    }
    if let Some(d) = &a.data {
        cfg.data = d.clone();
    }
    let snapshot_arg = SnapshotArg {
        snapshot: a.snapshot.snapshot.clone().or(cfg.snapshot.clone()),
    };
    let (snapshot, warnings) =
        load_snapshot(&snapshot_arg).map_err(|d| Failure::Input(d.to_string()))?;
    if !warnings.is_empty() {
        eprint!("{warnings}");
    }
    let store = Store::open(&cfg.data).map_err(|e| {
        if e.is_usage() {
            Failure::Input(format!("error: {e}"))
        } else {
            Failure::Runtime(anyhow::Error::new(e))
        }
    })?;
    let started = std::time::Instant::now();
    let live = recover(snapshot, &store).map_err(|e| Failure::Input(format!("error: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(anyhow::Error::new(e)))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| Failure::Input(format!("error: --listen {}: {e}", cfg.listen)))?;
        let addr = listener.local_addr().unwrap_or(cfg.listen);
        let writes = if cfg.token.is_some() {
            "writes need the bearer token"
        } else {
            "writes are refused until a token is set (token in serve.toml or CASCADE_TOKEN)"
        };
        let state = AppState::new(cfg, live, store);
        // One guard at a time: two `state.live()` in one statement would deadlock.
        let (accounts, seq) = {
            let live = state.live();
            (live.accounts(), live.summary().seq)
        };
        eprintln!(
            "cascade serve: listening on http://{addr} ({} accounts, event {} of the log, ready in {:.2} s); {writes}",
            accounts,
            seq,
            started.elapsed().as_secs_f64()
        );
        // NATS JetStream ingest (docs/serve-nats.md) when the config has a [nats] table; NATS
        // being down never holds up HTTP.
        let nats = state
            .config
            .nats
            .clone()
            .map(|n| cascade_serve::nats::spawn(std::sync::Arc::clone(&state), n, None));
        let served = serve(state, listener, shutdown_signal()).await;
        if let Some(n) = nats {
            n.abort();
        }
        served.map_err(|e| Failure::Runtime(anyhow::Error::new(e)))
    })
}
