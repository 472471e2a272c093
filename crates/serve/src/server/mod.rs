//! The HTTP service of `cascade serve` (docs/serve.md): ingest, reads, Server-Sent Events, the
//! OpenAPI document and Prometheus metrics, behind the token, body-size, timeout and rate limits.
//!
//! Writes go one group of batches at a time: a batch is checked whole, appended to the log in one
//! durable transaction (with the batches queued behind the one before: group commit), then applied
//! to the live state, and only then acknowledged; so the log's order is the order in which the live
//! state changed, and a restart (checkpoint + replay) rebuilds it.

pub mod limits;
pub mod metrics;
mod openapi;
mod recommend;
mod write;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::config::ServeConfig;
use crate::events::Event;
use crate::ingest::{parse_positions, parse_prices, IngestError};
use crate::live::Live;
use crate::store::{Store, StoreError};
use crate::watch::WatchState;

use cascade_volatility::adjust::online::OnlineVolatility;
use limits::{authorised, RateLimiter};
use metrics::ServiceMetrics;
use write::Pending;
pub use write::{recover, Applied, Refusal};

/// What every handler shares.
pub struct AppState {
    pub config: ServeConfig,
    /// Reads share it (every query of [`Live`] takes `&self`; the ladder's indexes have their own
    /// locks); a batch's application takes it alone, briefly.
    live: RwLock<Live>,
    store: Mutex<Store>,
    /// One writer at a time: a group's append and apply are not interleaved with another's.
    writer: tokio::sync::Mutex<()>,
    /// Batches waiting for the writer ([`AppState::apply_events`]).
    pending: Mutex<Vec<Pending>>,
    pub metrics: ServiceMetrics,
    limiter: RateLimiter,
    /// What happened, for `/v1/events` and the workers: `("summary", the summary)` after each
    /// applied batch, `("watchlist", …)` after each refresh, `("alert", …)` per alert.
    changes: broadcast::Sender<(&'static str, Value)>,
    /// The watchlist's latest results.
    watch: RwLock<WatchState>,
    /// Events applied since the last checkpoint.
    since_checkpoint: Mutex<u64>,
    /// The dashboard's sessions and its what-if slot.
    pub dashboard: crate::dashboard::Dashboard,
    /// The live recommendations' EWMA over the prices applied since the start
    /// (docs/adjuster.md#live-recommendations).
    recommend: Mutex<OnlineVolatility>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A JSON error response `{"error": message}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock cannot leave these states half-changed (each change is a
    // whole batch applied after it was durable), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// The state of a service over `live` and `store`.
    pub fn new(config: ServeConfig, live: Live, store: Store) -> Arc<AppState> {
        let (changes, _) = broadcast::channel(256);
        let recommend = OnlineVolatility::new(live.system().assets.len(), config.adjuster.lambda);
        Arc::new(AppState {
            recommend: Mutex::new(recommend),
            limiter: RateLimiter::new(config.rate_per_second, config.rate_burst),
            config,
            live: RwLock::new(live),
            store: Mutex::new(store),
            writer: tokio::sync::Mutex::new(()),
            pending: Mutex::new(Vec::new()),
            metrics: ServiceMetrics::default(),
            changes,
            watch: RwLock::new(WatchState::default()),
            since_checkpoint: Mutex::new(0),
            dashboard: crate::dashboard::Dashboard::default(),
        })
    }

    /// The live state, for reads (shared with other readers). Do not take it twice in one
    /// statement: a writer waiting between the two would deadlock them.
    pub fn live(&self) -> RwLockReadGuard<'_, Live> {
        self.live.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The live state, to apply a batch (alone).
    fn live_mut(&self) -> RwLockWriteGuard<'_, Live> {
        self.live.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The watchlist's latest results.
    pub fn watch(&self) -> RwLockReadGuard<'_, WatchState> {
        self.watch.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn watch_mut(&self) -> RwLockWriteGuard<'_, WatchState> {
        self.watch.write().unwrap_or_else(|p| p.into_inner())
    }

    /// What `/v1/scenarios` lists: each watched scenario's latest run and headline figures, the
    /// contagion run and the unliquidatable accounts.
    pub fn watch_summary(&self) -> Value {
        let w = self.watch();
        let scenarios: Vec<Value> = w
            .scenarios
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "seq": r.seq,
                    "state_at_ms": r.state_at_ms,
                    "at_ms": r.at_ms,
                    "seconds": r.seconds,
                    "system": r.result.get("system"),
                    "baseline": r.result.get("baseline"),
                    "incremental": r.result.get("incremental"),
                })
            })
            .collect();
        json!({
            "refreshes": w.refreshes,
            "last_refresh_seconds": w.last_refresh_seconds,
            "scenarios": scenarios,
            "contagion": w.contagion.as_ref().map(|c| json!({
                "seq": c.seq,
                "at_ms": c.at_ms,
                "seconds": c.seconds,
                "min_threshold": c.min_threshold,
            })),
            "unliquidatable": w.unliquidatable,
        })
    }

    /// Tells `/v1/events` and the workers that `what` happened.
    pub fn notify(&self, what: &'static str, v: Value) {
        let _ = self.changes.send((what, v));
    }

    /// Runs `f` on the store (blocking: call it from `spawn_blocking`), for background workers'
    /// bookkeeping (alerts, a follower's cursor in the `meta` table).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut lock(&self.store))
    }

    /// Writes a checkpoint of the live state now (at shutdown, and every
    /// `checkpoint_every_events`).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let (seq, bytes) = {
            let live = self.live();
            (live.summary().seq as i64, live.to_bytes())
        };
        lock(&self.store).checkpoint(seq, &bytes)?;
        *lock(&self.since_checkpoint) = 0;
        Ok(())
    }

    /// Records the headline figures as one point of history: the summary's numbers and the
    /// dashboard's tiles (`crate::dashboard::tile_values`).
    pub fn record_history(&self) -> Result<(), StoreError> {
        let summary = serde_json::to_value(self.live().summary()).unwrap_or(Value::Null);
        let mut points = metrics::numbers(&summary);
        for t in crate::dashboard::tile_values(self) {
            if !points.iter().any(|(k, _)| *k == t.key) {
                points.push((t.key, t.value));
            }
        }
        let refs: Vec<(&str, f64)> = points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        lock(&self.store).record_metrics(now_ms(), &refs)
    }

    /// Summaries after each applied batch (for `/v1/events` and background workers).
    pub fn subscribe(&self) -> broadcast::Receiver<(&'static str, Value)> {
        self.changes.subscribe()
    }

    /// [`AppState::apply_events`] as an HTTP answer.
    async fn ingest(self: &Arc<Self>, events: Vec<Event>, array: &str) -> Response {
        match self.apply_events(events, array).await {
            Ok(a) => Json(json!({
                "applied": a.applied,
                "duplicates": a.duplicates,
                "seq": a.seq,
            }))
            .into_response(),
            Err(Refusal::Items(e)) => (
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                Json(e.body()),
            )
                .into_response(),
            Err(Refusal::Full(m)) => error(StatusCode::SERVICE_UNAVAILABLE, m),
            Err(Refusal::Internal(m)) => error(StatusCode::INTERNAL_SERVER_ERROR, m),
        }
    }
}

/// Reads need the token (or a dashboard session) unless they are open.
fn may_read(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.open_reads
        || authorised(headers, state.config.token.as_deref())
        || state.dashboard.sessions.signed_in(headers, Instant::now())
}

/// Rate limit, read authorisation and latency, around every route.
async fn guard(
    State(state): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    if !state.limiter.allow(client.ip(), started) {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this client; slow down",
        );
    }
    let write = req.method() == Method::POST;
    let path = req.uri().path();
    let always_open = path == "/login" || path.starts_with("/assets/");
    if !write && !always_open && !may_read(&state, req.headers()) {
        if crate::dashboard::is_page(path) {
            return axum::response::Redirect::to("/login").into_response();
        }
        return error(
            StatusCode::UNAUTHORIZED,
            "reads need a bearer token on this server",
        );
    }
    let res = next.run(req).await;
    let h = if write {
        &state.metrics.write_latency
    } else {
        &state.metrics.read_latency
    };
    h.observe(started.elapsed().as_secs_f64());
    res
}

fn check_write(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    if authorised(headers, state.config.token.as_deref()) {
        Ok(())
    } else if state.config.token.is_none() {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "writes need a bearer token; none is configured (set token in serve.toml or CASCADE_TOKEN)",
        ))
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        ))
    }
}

#[utoipa::path(post, path = "/v1/prices", tag = "ingest",
    request_body = openapi::PriceBatch, security(("bearer" = [])),
    responses(
        (status = 200, description = "durable and applied", body = openapi::Answer),
        (status = 400, description = "malformed batch", body = openapi::Refused),
        (status = 401, description = "missing or wrong bearer token", body = openapi::ErrorBody),
        (status = 413, description = "body too large"),
        (status = 422, description = "values the system does not accept", body = openapi::Refused),
        (status = 429, description = "rate limited", body = openapi::ErrorBody),
        (status = 503, description = "the state's disk is full; nothing applied", body = openapi::ErrorBody)))]
async fn post_prices(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_write(&state, &headers) {
        return r;
    }
    match parse_prices(&body, now_ms()) {
        Ok(events) => state.ingest(events, "prices").await,
        Err(e) => refused(&state, e),
    }
}

#[utoipa::path(post, path = "/v1/positions", tag = "ingest",
    request_body = openapi::PositionBatch, security(("bearer" = [])),
    responses(
        (status = 200, description = "durable and applied", body = openapi::Answer),
        (status = 400, description = "malformed batch", body = openapi::Refused),
        (status = 401, description = "missing or wrong bearer token", body = openapi::ErrorBody),
        (status = 413, description = "body too large"),
        (status = 422, description = "values the system does not accept", body = openapi::Refused),
        (status = 429, description = "rate limited", body = openapi::ErrorBody),
        (status = 503, description = "the state's disk is full; nothing applied", body = openapi::ErrorBody)))]
async fn post_positions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_write(&state, &headers) {
        return r;
    }
    match parse_positions(&body, now_ms()) {
        Ok(events) => state.ingest(events, "changes").await,
        Err(e) => refused(&state, e),
    }
}

fn refused(state: &AppState, e: IngestError) -> Response {
    state
        .metrics
        .batches_refused
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
        Json(e.body()),
    )
        .into_response()
}

#[utoipa::path(get, path = "/v1/summary", tag = "read",
    responses((status = 200, description = "OK", body = crate::live::Summary), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn summary(State(state): State<Arc<AppState>>) -> Response {
    Json(state.live().summary()).into_response()
}

#[utoipa::path(get, path = "/v1/protocols", tag = "read",
    responses((status = 200, description = "OK", body = Vec<crate::live::ProtocolTotals>), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn protocols(State(state): State<Arc<AppState>>) -> Response {
    Json(state.live().protocols()).into_response()
}

#[utoipa::path(get, path = "/v1/protocols/{id}", tag = "read",
    params(("id" = String, Path, description = "protocol id")),
    responses((status = 200, description = "OK", body = crate::live::ProtocolView),
        (status = 404, description = "unknown name", body = openapi::ErrorBody), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn protocol(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.live().protocol(&id) {
        Some(p) => Json(p).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no protocol \"{id}\"")),
    }
}

#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "read",
    params(("id" = String, Path, description = "account id")),
    responses((status = 200, description = "OK", body = Vec<crate::live::AccountView>),
        (status = 404, description = "unknown name", body = openapi::ErrorBody), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn account(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let views = state.live().account(&id);
    if views.is_empty() {
        error(StatusCode::NOT_FOUND, format!("no account \"{id}\""))
    } else {
        Json(views).into_response()
    }
}

#[derive(Deserialize)]
struct LadderQuery {
    asset: Option<String>,
}

#[utoipa::path(get, path = "/v1/ladder", tag = "read",
    params(("asset" = String, Query, description = "the asset whose price drops (with the assets priced from it)")),
    responses((status = 200, description = "OK", body = crate::live::Ladder),
        (status = 404, description = "unknown name", body = openapi::ErrorBody),
        (status = 400, description = "no asset given", body = openapi::ErrorBody), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn ladder(State(state): State<Arc<AppState>>, Query(q): Query<LadderQuery>) -> Response {
    let Some(asset) = q.asset else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing ?asset=<id>: the asset whose price drops",
        );
    };
    match state.live().ladder(&asset) {
        Some(l) => Json(l).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no asset \"{asset}\"")),
    }
}

#[derive(Deserialize)]
struct HistoryQuery {
    metric: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

#[utoipa::path(get, path = "/v1/history", tag = "read",
    params(("metric" = String, Query, description = "a number of /v1/summary, nested names joined by _ (below_one_accounts)"), ("from" = Option<i64>, Query, description = "ms since the Unix epoch"), ("to" = Option<i64>, Query, description = "ms since the Unix epoch")),
    responses((status = 200, description = "OK", body = openapi::History),
        (status = 400, description = "no metric given", body = openapi::ErrorBody), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn history(State(state): State<Arc<AppState>>, Query(q): Query<HistoryQuery>) -> Response {
    let Some(metric) = q.metric else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing ?metric=<name> (a number of /v1/summary); from and to are milliseconds since the Unix epoch",
        );
    };
    let (from, to) = (q.from.unwrap_or(0), q.to.unwrap_or(i64::MAX));
    let s = Arc::clone(&state);
    let m = metric.clone();
    match tokio::task::spawn_blocking(move || lock(&s.store).history(&m, from, to)).await {
        Ok(Ok(points)) => Json(json!({
            "metric": metric,
            "points": points.iter().map(|(t, v)| json!([t, v])).collect::<Vec<_>>(),
        }))
        .into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[utoipa::path(get, path = "/v1/scenarios", tag = "read",
    responses((status = 200, description = "OK", body = openapi::Watchlist), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn scenarios(State(state): State<Arc<AppState>>) -> Response {
    Json(state.watch_summary()).into_response()
}

/// The latest result of a watched scenario, exactly as `cascade stress --json` prints it; the
/// state it ran on in the headers `x-cascade-seq` and `x-cascade-state-at-ms`.
#[utoipa::path(get, path = "/v1/scenarios/{name}", tag = "read",
    params(("name" = String, Path, description = "a watched scenario")),
    responses((status = 200, description = "OK", body = Object),
        (status = 404, description = "unknown name", body = openapi::ErrorBody),
        (status = 503, description = "the watchlist has not run yet", body = openapi::ErrorBody), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn scenario(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let w = state.watch();
    match w.scenario(&name) {
        Some(r) => (
            [
                ("x-cascade-seq", r.seq.to_string()),
                ("x-cascade-state-at-ms", r.state_at_ms.to_string()),
                ("x-cascade-at-ms", r.at_ms.to_string()),
            ],
            Json(&r.result),
        )
            .into_response(),
        None if w.refreshes == 0 && !w.scenarios.is_empty() => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the watchlist has not run yet; try again shortly",
        ),
        None => error(
            StatusCode::NOT_FOUND,
            format!(
                "no watched scenario \"{name}\" (watched: {})",
                w.scenarios
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
}

/// The latest contagion coefficients (as `cascade contagion --json`'s `contagion_coefficients`).
#[utoipa::path(get, path = "/v1/contagion", tag = "read",
    responses((status = 200, description = "OK", body = crate::watch::ContagionRun),
        (status = 503, description = "no contagion run yet", body = openapi::ErrorBody), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn contagion(State(state): State<Arc<AppState>>) -> Response {
    match &state.watch().contagion {
        Some(c) => Json(c).into_response(),
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no contagion coefficients yet (the watchlist computes them in the background; off if [watchlist] contagion = false)",
        ),
    }
}

#[utoipa::path(get, path = "/v1/alerts", tag = "read",
    responses((status = 200, description = "OK", body = openapi::Alerts), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn alerts(State(state): State<Arc<AppState>>) -> Response {
    let s = Arc::clone(&state);
    match tokio::task::spawn_blocking(move || lock(&s.store).alerts(500)).await {
        Ok(Ok(a)) => Json(json!({ "alerts": a })).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `/v1/events`: Server-Sent Events — `summary` after every applied batch (the current one first),
/// `watchlist` after every refresh, `alert` per alert that fires or resolves.
#[utoipa::path(get, path = "/v1/events", tag = "read",
    responses((status = 200, description = "Server-Sent Events: summary, watchlist, alert", body = String, content_type = "text/event-stream"), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn events(State(state): State<Arc<AppState>>) -> Response {
    let first = serde_json::to_value(state.live().summary()).unwrap_or(Value::Null);
    let rx = state.changes.subscribe();
    let stream = futures_stream(first, rx);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The first summary, then each broadcast one (a subscriber that lags skips to the newest).
fn futures_stream(
    first: Value,
    rx: broadcast::Receiver<(&'static str, Value)>,
) -> impl futures_core::Stream<Item = Result<SseEvent, std::convert::Infallible>> {
    let state = (Some(first), rx);
    futures_util::stream::unfold(state, |(first, mut rx)| async move {
        if let Some(v) = first {
            return Some((
                Ok(SseEvent::default().event("summary").data(v.to_string())),
                (None, rx),
            ));
        }
        loop {
            match rx.recv().await {
                Ok((name, v)) => {
                    return Some((
                        Ok(SseEvent::default().event(name).data(v.to_string())),
                        (None, rx),
                    ))
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

#[utoipa::path(get, path = "/metrics", tag = "read",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn prometheus(State(state): State<Arc<AppState>>) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    let mut out = String::new();
    let summary = serde_json::to_value(state.live().summary()).unwrap_or(Value::Null);
    for (k, v) in metrics::numbers(&summary) {
        metrics::sample(&mut out, &format!("cascade_{k}"), &[], v);
    }
    let protocols = serde_json::to_value(state.live().protocols()).unwrap_or(Value::Null);
    for p in protocols.as_array().into_iter().flatten() {
        let id = p.get("id").and_then(Value::as_str).unwrap_or("");
        for (k, v) in metrics::numbers(p) {
            metrics::sample(
                &mut out,
                &format!("cascade_protocol_{k}"),
                &[("protocol", id)],
                v,
            );
        }
    }
    {
        let w = state.watch();
        for r in &w.scenarios {
            for part in ["system", "baseline", "incremental"] {
                if let Some(v) = r.result.get(part) {
                    for (k, x) in metrics::numbers(v) {
                        metrics::sample(
                            &mut out,
                            &format!("cascade_scenario_{part}_{k}"),
                            &[("scenario", r.name.as_str())],
                            x,
                        );
                    }
                }
            }
        }
        if let Some(m) = w.contagion.as_ref().and_then(|c| c.min_threshold.as_ref()) {
            metrics::sample(
                &mut out,
                "cascade_contagion_min_threshold_drop",
                &[("asset", &m.asset), ("protocol", &m.protocol)],
                m.drop,
            );
        }
        if let Some(u) = w.unliquidatable {
            metrics::sample(
                &mut out,
                "cascade_unliquidatable_accounts",
                &[],
                u.accounts as f64,
            );
            metrics::sample(&mut out, "cascade_unliquidatable_debt_usd", &[], u.debt_usd);
        }
    }
    recommend::render(&state, &mut out);
    let m = &state.metrics;
    metrics::sample(
        &mut out,
        "cascade_alerts_fired_total",
        &[],
        m.alerts_fired.load(Relaxed) as f64,
    );
    metrics::sample(
        &mut out,
        "cascade_webhook_failures_total",
        &[],
        m.webhook_failures.load(Relaxed) as f64,
    );
    metrics::sample(
        &mut out,
        "cascade_events_applied_total",
        &[],
        m.events_applied.load(Relaxed) as f64,
    );
    metrics::sample(
        &mut out,
        "cascade_events_duplicate_total",
        &[],
        m.events_duplicate.load(Relaxed) as f64,
    );
    metrics::sample(
        &mut out,
        "cascade_batches_refused_total",
        &[],
        m.batches_refused.load(Relaxed) as f64,
    );
    for (name, v) in [
        ("cascade_nats_messages_consumed_total", &m.nats_consumed),
        ("cascade_nats_messages_terminated_total", &m.nats_terminated),
        (
            "cascade_nats_messages_redelivered_total",
            &m.nats_redelivered,
        ),
        (
            "cascade_nats_alerts_published_total",
            &m.nats_alerts_published,
        ),
        ("cascade_nats_connected", &m.nats_connected),
    ] {
        metrics::sample(&mut out, name, &[], v.load(Relaxed) as f64);
    }
    m.read_latency
        .render(&mut out, "cascade_request_seconds", "kind=\"read\"");
    m.write_latency
        .render(&mut out, "cascade_request_seconds", "kind=\"write\"");
    m.ingest_lag
        .render(&mut out, "cascade_ingest_lag_seconds", "");
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "read",
    responses((status = 200, description = "OK", body = Object), (status = 401, description = "reads need a bearer token on this server", body = openapi::ErrorBody), (status = 429, description = "rate limited", body = openapi::ErrorBody)))]
async fn openapi_json() -> Response {
    Json(openapi::document()).into_response()
}

/// `POST /v1/login-url` (bearer token): the dashboard's current one-time login path, for an
/// operator who needs a new one after the one printed at start was used.
#[utoipa::path(post, path = "/v1/login-url", tag = "ingest", security(("bearer" = [])),
    responses((status = 200, description = "the path of a one-time login link (append it to the server's address)", body = Object),
        (status = 401, description = "missing or wrong bearer token", body = openapi::ErrorBody)))]
async fn login_url(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = check_write(&state, &headers) {
        return r;
    }
    Json(json!({ "path": format!("/login?key={}", state.dashboard.sessions.login_key()) }))
        .into_response()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such endpoint; see /v1/openapi.json",
    )
}

/// The service's routes with every limit.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.body_limit_bytes;
    let timeout = state.config.request_timeout;
    Router::new()
        .route("/v1/prices", post(post_prices))
        .route("/v1/positions", post(post_positions))
        .route("/v1/summary", get(summary))
        .route("/v1/protocols", get(protocols))
        .route("/v1/protocols/{id}", get(protocol))
        .route("/v1/accounts/{id}", get(account))
        .route("/v1/ladder", get(ladder))
        .route("/v1/history", get(history))
        .route("/v1/alerts", get(alerts))
        .route("/v1/scenarios", get(scenarios))
        .route("/v1/scenarios/{name}", get(scenario))
        .route("/v1/contagion", get(contagion))
        .route("/v1/events", get(events))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/metrics", get(prometheus))
        .route("/v1/login-url", post(login_url))
        .merge(crate::dashboard::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` resolves, then drains requests and writes a
/// checkpoint; a history point every `history_every_seconds` meanwhile.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let every = Duration::from_secs(state.config.history_every_seconds.max(1));
    let recorder = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let s = Arc::clone(&state);
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.record_history()).await {
                    tracing::warn!(error = %e, "metric history not recorded");
                }
            }
        })
    };
    let app = router(Arc::clone(&state));
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    recorder.abort();
    let s = Arc::clone(&state);
    match tokio::task::spawn_blocking(move || s.checkpoint()).await {
        Ok(Ok(())) => tracing::info!("checkpoint written at shutdown"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "no checkpoint at shutdown; the log has every event")
        }
        Err(e) => tracing::warn!(error = %e, "no checkpoint at shutdown"),
    }
    result
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
