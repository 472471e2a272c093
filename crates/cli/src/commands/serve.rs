//! `cascade serve`: the live monitor (docs/serve.md). Flags override `--config serve.toml`, which
//! overrides the defaults (the built-in system, 127.0.0.1:8080, ./cascade-data).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use cascade_serve::config::ServeConfig;
use cascade_serve::server::{recover, serve, shutdown_signal, AppState};
use cascade_serve::store::Store;

use crate::failure::Failure;
use crate::load::{
    fitting_builtins, generic_shock, load_scenario, load_snapshot, most_held_volatile, SnapshotArg,
};

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
    #[command(flatten)]
    follow: super::serve_follow::FollowArgs,
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
    let follow = a.follow.config(cfg.snapshot.is_some())?;
    let snapshot_arg = SnapshotArg {
        snapshot: a.snapshot.snapshot.clone().or(cfg.snapshot.clone()),
    };
    // The snapshot served, or the market to follow (imported once, into the data folder).
    let base = match follow {
        Some(f) => Err(f),
        None => {
            let (snapshot, warnings) =
                load_snapshot(&snapshot_arg).map_err(|d| Failure::Input(d.to_string()))?;
            if !warnings.is_empty() {
                eprint!("{warnings}");
            }
            Ok(snapshot)
        }
    };
    let mut store = Store::open(&cfg.data).map_err(|e| {
        if e.is_usage() {
            Failure::Input(format!("error: {e}"))
        } else {
            Failure::Runtime(anyhow::Error::new(e))
        }
    })?;
    // One service per state folder: a second one would interleave its batches with ours in the log.
    // The lock is the OS's (released when the process ends, however it ends).
    let lock_path = cfg.data.join("cascade.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Failure::Input(format!("error: {}: {e}", lock_path.display())))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Failure::Input(format!(
                "error: --data {}: another cascade serve is using this state folder (it holds {})",
                cfg.data.display(),
                lock_path.display()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Failure::Input(format!(
                "error: {}: cannot lock: {e}",
                lock_path.display()
            )))
        }
    }
    let (snapshot, follow) = match base {
        Ok(s) => (s, None),
        Err(f) => {
            let followed = super::serve_follow::prepare_followed(&f, &cfg.data, &mut store)?;
            (
                followed.snapshot,
                Some((f, followed.tracked, followed.cursor)),
            )
        }
    };
    // The watchlist: its scenarios resolved against the served system (assets and protocols do not
    // change while it runs); by default every built-in scenario that fits it.
    let mut scenarios = Vec::new();
    let names: Vec<String> = if cfg.watch.scenarios.is_empty() {
        fitting_builtins(&snapshot)
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        cfg.watch.scenarios.clone()
    };
    for name in &names {
        let (sc, d) = load_scenario(name, &snapshot).map_err(|d| {
            Failure::Input(format!(
                "{d}error: [watchlist] scenario \"{name}\" does not fit the served system"
            ))
        })?;
        if !d.is_empty() {
            eprint!("{d}");
        }
        scenarios.push(sc);
    }
    if scenarios.is_empty() {
        if let Some(asset) = most_held_volatile(&snapshot) {
            scenarios.push(generic_shock(asset));
        }
    }
    let watched: Vec<String> = scenarios.iter().map(|s| s.name.clone()).collect();
    let started = std::time::Instant::now();
    let live = recover(snapshot, &store).map_err(|e| Failure::Input(format!("error: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(anyhow::Error::new(e)))?;
    let _held = lock;
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
        let (watch, rules, delivery) = (cfg.watch.clone(), cfg.alerts.clone(), cfg.delivery.clone());
        let deferred_check = store.deferred_check();
        let state = AppState::new(cfg, live, store);
        let problems = cascade_serve::alerts::check_rules(&state, &rules, &watched);
        if !problems.is_empty() {
            return Err(Failure::Input(
                problems
                    .iter()
                    .map(|p| format!("error: --config: {p}\n"))
                    .collect::<String>()
                    .trim_end()
                    .to_string(),
            ));
        }
        cascade_serve::watch::spawn(std::sync::Arc::clone(&state), scenarios, watch);
        cascade_serve::alerts::spawn(std::sync::Arc::clone(&state), rules, delivery);
        // One guard at a time: two `state.live()` in one statement would deadlock.
        let (accounts, seq) = {
            let live = state.live();
            (live.accounts(), live.summary().seq)
        };
        eprintln!(
            "cascade serve: listening on http://{addr} ({} accounts, event {} of the log, ready in {:.2} s); watching {}; {writes}",
            accounts,
            seq,
            started.elapsed().as_secs_f64(),
            if watched.is_empty() { "no scenario".to_string() } else { watched.join(", ") }
        );
        // A store too large to be read whole before serving (a long event log) is read whole now,
        // beside the service (docs/serve-store.md#foreign-damaged-and-newer-files).
        if let Some(check) = deferred_check {
            check.spawn();
        }
        // The dashboard, and a one-time link that signs a browser in (to acknowledge alerts).
        eprintln!(
            "cascade serve: dashboard at http://{addr}/ ; sign in (once) with http://{addr}/login?key={}",
            state.dashboard.sessions.login_key()
        );
        let follower = follow.map(|(f, tracked, cursor)| {
            cascade_serve::follow::spawn(std::sync::Arc::clone(&state), f, tracked, cursor)
        });
        // NATS JetStream ingest and alerts (docs/serve-nats.md) when the config has a [nats]
        // table; NATS being down never holds up HTTP.
        let nats = state.config.nats.clone().map(|n| {
            let alerts = state.subscribe();
            cascade_serve::nats::spawn(std::sync::Arc::clone(&state), n, Some(alerts))
        });
        let served = serve(state, listener, shutdown_signal()).await;
        if let Some(f) = follower {
            f.stop().await;
        }
        if let Some(n) = nats {
            n.abort();
        }
        served.map_err(|e| Failure::Runtime(anyhow::Error::new(e)))
    })
}
