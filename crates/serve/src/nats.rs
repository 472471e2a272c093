//! NATS JetStream ingest and alert publishing (docs/serve-nats.md).
//!
//! Price updates and position changes arrive on `{prefix}.prices` and `{prefix}.positions` as the
//! same JSON bodies as `POST /v1/prices` and `POST /v1/positions`. A durable pull consumer with
//! explicit acks reads them from a file-backed stream; each batch of messages goes through
//! [`AppState::apply_events`] and is acknowledged only once it is committed to the log. A message
//! the service can never accept (not JSON, an unknown asset, …) is terminated on its own, without
//! holding back its neighbours; a batch that could not be written (disk full, I/O) is handed back
//! to the server with a delay and redelivered.
//!
//! NATS being down never stops the service: the connection is retried with a capped backoff
//! forever, the client reconnects by itself after a loss, and the consumer resumes from its last
//! acknowledged message. Alerts, when a receiver is given, are published to `{prefix}.alerts`.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind};
use cascade_io::doc::Node;
use cascade_io::reader::{Ctx, Table, POSITIVE};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::events::Event;
use crate::ingest::{parse_positions, parse_prices, IngestError};
use crate::server::{now_ms, AppState, Refusal};

/// Most messages that one batch combines, at most.
pub const MAX_BATCH_MESSAGES: usize = 10_000;

/// The `[nats]` table of serve.toml. Without it the service does not use NATS.
#[derive(Debug, Clone, PartialEq)]
pub struct NatsConfig {
    /// Server address, `nats://host:port` (a bare `host:port` is taken as `nats://`).
    pub url: String,
    /// JetStream stream holding the ingest subjects; created (file storage) if missing.
    pub stream: String,
    /// Subjects are `{prefix}.prices`, `{prefix}.positions` and `{prefix}.alerts`.
    pub subject_prefix: String,
    /// Name of the durable pull consumer.
    pub consumer: String,
    /// Most messages combined into one write to the log.
    pub batch_messages: usize,
    /// How long the server waits for an ack before redelivering a message.
    pub ack_wait: Duration,
    /// Delay before a batch that could not be written (disk full, I/O error) is redelivered.
    pub retry_delay: Duration,
    /// Longest wait between two attempts to reach the server (the backoff's cap).
    pub max_backoff: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: "nats://127.0.0.1:4222".into(),
            stream: "CASCADE".into(),
            subject_prefix: "cascade".into(),
            consumer: "cascade-serve".into(),
            batch_messages: 256,
            ack_wait: Duration::from_secs(30),
            retry_delay: Duration::from_secs(5),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// A NATS name (stream or consumer): no whitespace, `.`, `*`, `>`, `/` or `\`.
fn bad_name(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("empty")
    } else if s
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
    {
        Some("has whitespace or one of . * > / \\")
    } else {
        None
    }
}

/// A subject prefix: dot-separated tokens, none empty, no whitespace or wildcard.
fn bad_prefix(s: &str) -> Option<&'static str> {
    if s.split('.')
        .any(|t| t.is_empty() || t == "*" || t == ">" || t.chars().any(char::is_whitespace))
    {
        Some("expected dot-separated tokens without whitespace or wildcards, such as \"cascade\"")
    } else {
        None
    }
}

impl NatsConfig {
    /// `{prefix}.prices`
    pub fn prices_subject(&self) -> String {
        format!("{}.prices", self.subject_prefix)
    }

    /// `{prefix}.positions`
    pub fn positions_subject(&self) -> String {
        format!("{}.positions", self.subject_prefix)
    }

    /// `{prefix}.alerts`
    pub fn alerts_subject(&self) -> String {
        format!("{}.alerts", self.subject_prefix)
    }

    /// Reads the `[nats]` table; every problem goes to `ctx` with its line. `None` if `node` is
    /// not a table.
    pub fn read(node: &Node, ctx: &mut Ctx) -> Option<NatsConfig> {
        let mut t = Table::new(node, "nats", ctx)?;
        let mut c = NatsConfig::default();
        if let Some(u) = t.opt_str("url", ctx) {
            match u.parse::<async_nats::ServerAddr>() {
                Ok(_) => c.url = u,
                Err(e) => ctx.error(
                    t.line_of("url"),
                    t.field("url"),
                    format!("\"{u}\": {e}; expected such as \"nats://127.0.0.1:4222\""),
                ),
            }
        }
        for (key, slot) in [("stream", &mut c.stream), ("consumer", &mut c.consumer)] {
            if let Some(s) = t.opt_str(key, ctx) {
                match bad_name(&s) {
                    None => *slot = s,
                    Some(why) => ctx.error(t.line_of(key), t.field(key), format!("\"{s}\": {why}")),
                }
            }
        }
        if let Some(s) = t.opt_str("subject_prefix", ctx) {
            match bad_prefix(&s) {
                None => c.subject_prefix = s,
                Some(why) => ctx.error(
                    t.line_of("subject_prefix"),
                    t.field("subject_prefix"),
                    format!("\"{s}\": {why}"),
                ),
            }
        }
        if let Some(x) = t.opt("batch_messages", POSITIVE, ctx) {
            if x.fract() == 0.0 && x <= MAX_BATCH_MESSAGES as f64 {
                c.batch_messages = x as usize;
            } else {
                ctx.error(
                    t.line_of("batch_messages"),
                    t.field("batch_messages"),
                    format!("{x}, expected a whole number from 1 to {MAX_BATCH_MESSAGES}"),
                );
            }
        }
        let seconds = [
            ("ack_wait_seconds", &mut c.ack_wait),
            ("retry_seconds", &mut c.retry_delay),
            ("max_backoff_seconds", &mut c.max_backoff),
        ];
        for (key, slot) in seconds {
            if let Some(x) = t.opt(key, POSITIVE, ctx) {
                match Duration::try_from_secs_f64(x) {
                    Ok(d) if x <= 86_400.0 => *slot = d,
                    _ => ctx.error(
                        t.line_of(key),
                        t.field(key),
                        format!("{x}, expected at most 86400 seconds"),
                    ),
                }
            }
        }
        t.finish(ctx);
        Some(c)
    }
}

/// Why talking to NATS failed; the worker logs it and tries again.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("cannot connect to NATS at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("JetStream stream \"{stream}\": {detail}")]
    Stream { stream: String, detail: String },
    #[error("JetStream consumer \"{consumer}\": {detail}")]
    Consumer { consumer: String, detail: String },
    #[error("pulling messages: {0}")]
    Pull(String),
}

/// A capped exponential backoff: 100 ms, 200 ms, … up to `max`.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);

    fn new(max: Duration) -> Backoff {
        Backoff {
            next: Self::FIRST.min(max),
            max,
        }
    }

    fn step(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    fn reset(&mut self) {
        self.next = Self::FIRST.min(self.max);
    }
}

/// Starts the NATS worker on the current runtime: connects (retrying forever), makes sure the
/// stream and the durable consumer exist, then pulls, applies and acknowledges messages; alerts
/// from `alerts` (the service's notifications, [`AppState::subscribe`]: only those named
/// `"alert"` are sent), if given, are published to `{prefix}.alerts`. Runs until the handle is
/// aborted.
pub fn spawn(
    state: Arc<AppState>,
    cfg: NatsConfig,
    alerts: Option<broadcast::Receiver<(&'static str, Value)>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (up_tx, up) = watch::channel(false);
        let client = connect_forever(&state, &cfg, Arc::new(up_tx)).await;
        let publish = async {
            if let Some(rx) = alerts {
                publish_alerts(&state, client.clone(), cfg.alerts_subject(), rx).await;
            }
        };
        tokio::join!(consume_forever(&state, &cfg, client.clone(), up), publish);
    })
}

/// Connects, retrying with a capped backoff until the server answers. The client then reconnects
/// by itself, forever; the connected gauge and `up` follow its events.
async fn connect_forever(
    state: &Arc<AppState>,
    cfg: &NatsConfig,
    up: Arc<watch::Sender<bool>>,
) -> async_nats::Client {
    let mut backoff = Backoff::new(cfg.max_backoff);
    let mut attempt: u64 = 0;
    loop {
        attempt += 1;
        match connect(state, cfg, Arc::clone(&up)).await {
            Ok(c) => {
                state.metrics.nats_connected.store(1, Relaxed);
                up.send_replace(true);
                tracing::info!(url = %cfg.url, "NATS connected");
                return c;
            }
            Err(e) => {
                let wait = backoff.step();
                if attempt == 1 {
                    tracing::warn!(error = %e, "NATS unreachable; HTTP ingest goes on, retrying");
                } else {
                    tracing::debug!(error = %e, attempt, "NATS still unreachable");
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

async fn connect(
    state: &Arc<AppState>,
    cfg: &NatsConfig,
    up: Arc<watch::Sender<bool>>,
) -> Result<async_nats::Client, NatsError> {
    let max = cfg.max_backoff;
    let events = Arc::clone(state);
    async_nats::ConnectOptions::new()
        .name("cascade-serve")
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5))
        .reconnect_delay_callback(move |attempts| {
            let exp = attempts.min(16) as u32;
            Duration::from_millis(100u64.saturating_mul(1 << exp)).min(max)
        })
        .event_callback(move |event| {
            let state = Arc::clone(&events);
            let up = Arc::clone(&up);
            async move {
                match event {
                    async_nats::Event::Connected => {
                        state.metrics.nats_connected.store(1, Relaxed);
                        up.send_replace(true);
                        // The first connection is logged by connect_forever (with the URL).
                        tracing::debug!("NATS connection up");
                    }
                    async_nats::Event::Disconnected | async_nats::Event::Closed => {
                        state.metrics.nats_connected.store(0, Relaxed);
                        up.send_replace(false);
                        tracing::warn!("NATS connection lost; reconnecting");
                    }
                    other => tracing::debug!(event = %other, "NATS event"),
                }
            }
        })
        .connect(cfg.url.as_str())
        .await
        .map_err(|e| NatsError::Connect {
            url: cfg.url.clone(),
            detail: e.to_string(),
        })
}

fn stream_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(j)
            if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// The stream (created with file storage if missing, its subjects extended if it lacks ours) and
/// the durable pull consumer with explicit acks.
async fn ensure(js: &jetstream::Context, cfg: &NatsConfig) -> Result<PullConsumer, NatsError> {
    let stream_err = |detail: String| NatsError::Stream {
        stream: cfg.stream.clone(),
        detail,
    };
    let ours = [cfg.prices_subject(), cfg.positions_subject()];
    let stream = match js.get_stream(&cfg.stream).await {
        Ok(mut s) => {
            let info = s.info().await.map_err(|e| stream_err(e.to_string()))?;
            let mut config = info.config.clone();
            let missing: Vec<String> = ours
                .iter()
                .filter(|x| !config.subjects.contains(x))
                .cloned()
                .collect();
            if !missing.is_empty() {
                tracing::info!(stream = %cfg.stream, subjects = ?missing, "adding subjects to the stream");
                config.subjects.extend(missing);
                js.update_stream(config)
                    .await
                    .map_err(|e| stream_err(e.to_string()))?;
            }
            s
        }
        Err(e) if stream_not_found(&e) => {
            tracing::info!(stream = %cfg.stream, "creating the JetStream stream");
            js.create_stream(jetstream::stream::Config {
                name: cfg.stream.clone(),
                subjects: ours.to_vec(),
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| stream_err(e.to_string()))?
        }
        Err(e) => return Err(stream_err(e.to_string())),
    };
    let config = jetstream::consumer::pull::Config {
        durable_name: Some(cfg.consumer.clone()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: cfg.ack_wait,
        ..Default::default()
    };
    let consumer_err = |detail: String| NatsError::Consumer {
        consumer: cfg.consumer.clone(),
        detail,
    };
    match stream.create_consumer(config).await {
        Ok(c) => Ok(c),
        Err(e) => {
            // An existing consumer whose settings cannot be changed: use it as it is.
            tracing::warn!(consumer = %cfg.consumer, error = %e, "consumer not updated; using the existing one");
            stream
                .get_consumer(&cfg.consumer)
                .await
                .map_err(|e| consumer_err(e.to_string()))
        }
    }
}

/// Pulls and applies messages forever; any failure (the connection lost, the consumer deleted)
/// backs off and starts again from making sure the stream and consumer exist.
///
/// Order is kept across faults: the service holds no unacknowledged message between batches, so
/// messages the consumer shows as pending when the loop (re)starts were delivered into a lost
/// connection (or acked into one). The loop then waits one `ack_wait` for the server to redeliver
/// them before anything newer.
async fn consume_forever(
    state: &Arc<AppState>,
    cfg: &NatsConfig,
    client: async_nats::Client,
    mut up: watch::Receiver<bool>,
) {
    let js = jetstream::new(client);
    let mut backoff = Backoff::new(cfg.max_backoff);
    loop {
        // Requests sent while disconnected would only time out.
        if up.wait_for(|c| *c).await.is_err() {
            return;
        }
        let mut consumer = match ensure(&js, cfg).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "NATS consumer not ready; retrying");
                tokio::time::sleep(backoff.step()).await;
                continue;
            }
        };
        let pending = match consumer.info().await {
            Ok(i) => i.num_ack_pending,
            Err(e) => {
                tracing::warn!(error = %e, "NATS consumer info not read; retrying");
                tokio::time::sleep(backoff.step()).await;
                continue;
            }
        };
        if pending > 0 {
            let wait = cfg.ack_wait + margin(cfg.ack_wait);
            tracing::info!(
                pending,
                wait_seconds = wait.as_secs_f64(),
                "NATS messages delivered before a fault were not acknowledged; waiting for their redelivery first"
            );
            tokio::time::sleep(wait).await;
        }
        tracing::info!(stream = %cfg.stream, consumer = %cfg.consumer, "NATS consumer ready");
        loop {
            match pull(&consumer, cfg, &mut up).await {
                Ok(msgs) if msgs.is_empty() => backoff.reset(),
                Ok(msgs) => {
                    backoff.reset();
                    if let Some(pause) = handle(state, cfg, msgs).await {
                        // Past the nak's delay, so that the handed-back messages come first.
                        tokio::time::sleep(pause + margin(pause)).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "NATS pull failed; retrying");
                    tokio::time::sleep(backoff.step()).await;
                    break;
                }
            }
        }
    }
}

/// A little longer than `d`: the server's redelivery timer and ours are not the same clock.
fn margin(d: Duration) -> Duration {
    d / 5 + Duration::from_millis(250)
}

/// How long a pull request waits on the server for a first message.
const PULL_WAIT: Duration = Duration::from_secs(5);
/// How much longer than that the client waits before it gives the request up (a lost connection).
const PULL_GRACE: Duration = Duration::from_secs(10);

/// Waits up to [`PULL_WAIT`] for one message, then takes whatever else is already there, up to
/// `batch_messages` in all. Every pull request is finished before the messages are handled, so
/// no message is in flight while a batch is written.
async fn pull(
    consumer: &PullConsumer,
    cfg: &NatsConfig,
    up: &mut watch::Receiver<bool>,
) -> Result<Vec<jetstream::Message>, NatsError> {
    let pull_err = |e: &dyn std::fmt::Display| NatsError::Pull(e.to_string());
    let mut first = consumer
        .batch()
        .max_messages(1)
        .expires(PULL_WAIT)
        .messages()
        .await
        .map_err(|e| pull_err(&e))?;
    // A lost connection also loses the server's side of the request: stop waiting then.
    let next = tokio::select! {
        n = tokio::time::timeout(PULL_WAIT + PULL_GRACE, first.next()) => n,
        _ = up.wait_for(|c| !*c) => {
            return Err(NatsError::Pull("connection lost while waiting for messages".into()))
        }
    };
    let msg = match next {
        Err(_) => return Err(NatsError::Pull("no answer to a pull request".into())),
        Ok(None) => return Ok(Vec::new()),
        Ok(Some(Err(e))) => return Err(pull_err(&e)),
        Ok(Some(Ok(m))) => m,
    };
    drop(first);
    let mut msgs = vec![msg];
    if cfg.batch_messages > 1 {
        let more = consumer
            .fetch()
            .max_messages(cfg.batch_messages - 1)
            .messages()
            .await;
        match more {
            Ok(mut more) => {
                while let Ok(Some(item)) = tokio::time::timeout(PULL_GRACE, more.next()).await {
                    match item {
                        Ok(m) => msgs.push(m),
                        Err(e) => {
                            // 409 (too many unacknowledged) and the like: handle what we have.
                            tracing::debug!(error = %e, "fetch ended early");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "fetch not sent; handling one message"),
        }
    }
    Ok(msgs)
}

/// One message parsed into events.
struct Parsed {
    msg: jetstream::Message,
    seq: u64,
    events: Vec<Event>,
    array: &'static str,
}

fn messages(run: &[Parsed]) -> Vec<&jetstream::Message> {
    run.iter().map(|p| &p.msg).collect()
}

fn stream_seq(m: &jetstream::Message) -> u64 {
    m.info().map(|i| i.stream_sequence).unwrap_or(0)
}

/// Acknowledges `msgs` with `kind`; a lost ack only means a redelivery, which is a no-op.
async fn ack_all(msgs: &[&jetstream::Message], kind: AckKind) {
    for m in msgs {
        if let Err(e) = m.ack_with(kind).await {
            tracing::warn!(seq = stream_seq(m), error = %e, ?kind, "NATS ack not sent; the message will be redelivered");
        }
    }
}

/// Terminates a message the service can never accept, logging why.
async fn terminate(state: &AppState, msg: &jetstream::Message, seq: u64, why: &str) {
    state.metrics.nats_terminated.fetch_add(1, Relaxed);
    tracing::warn!(seq, subject = %msg.subject, error = %why, "NATS message refused and terminated");
    ack_all(&[msg], AckKind::Term).await;
}

fn ingest_text(e: &IngestError) -> String {
    e.body().to_string()
}

/// Applies `msgs` (in order) and acknowledges each after its events are committed. Returns a
/// pause when the log could not be written (the rest were handed back with a delay).
async fn handle(
    state: &Arc<AppState>,
    cfg: &NatsConfig,
    msgs: Vec<jetstream::Message>,
) -> Option<Duration> {
    let prices = cfg.prices_subject();
    let positions = cfg.positions_subject();
    let mut parsed = Vec::with_capacity(msgs.len());
    for msg in msgs {
        let seq = stream_seq(&msg);
        let at = now_ms();
        let subject = msg.subject.as_str();
        let (result, array) = if subject == prices {
            (parse_prices(&msg.payload, at), "prices")
        } else if subject == positions {
            (parse_positions(&msg.payload, at), "changes")
        } else {
            let why = format!("subject \"{subject}\" is neither {prices} nor {positions}");
            terminate(state, &msg, seq, &why).await;
            continue;
        };
        match result {
            Ok(events) => parsed.push(Parsed {
                msg,
                seq,
                events,
                array,
            }),
            Err(e) => {
                state.metrics.batches_refused.fetch_add(1, Relaxed);
                terminate(state, &msg, seq, &ingest_text(&e)).await;
            }
        }
    }
    apply_run(state, cfg, parsed).await
}

/// Applies a run of messages as one batch. Refused for its items, the messages holding them are
/// applied on their own (to be terminated with their own error) and the runs between them as
/// batches again, in order; a run that is still refused is applied one message at a time.
async fn apply_run(state: &Arc<AppState>, cfg: &NatsConfig, run: Vec<Parsed>) -> Option<Duration> {
    if run.is_empty() {
        return None;
    }
    let array = if run.iter().all(|p| p.array == run[0].array) {
        run[0].array
    } else {
        "messages"
    };
    let events: Vec<Event> = run.iter().flat_map(|p| p.events.iter().cloned()).collect();
    match state.apply_events(events, array).await {
        Ok(_) => {
            state
                .metrics
                .nats_consumed
                .fetch_add(run.len() as u64, Relaxed);
            ack_all(&messages(&run), AckKind::Ack).await;
            None
        }
        Err(Refusal::Items(e)) if run.len() == 1 => {
            let p = &run[0];
            terminate(state, &p.msg, p.seq, &ingest_text(&e)).await;
            None
        }
        Err(Refusal::Items(e)) => {
            // The combined batch was ours, not a sender's: only the messages refused on their
            // own below count as refused batches.
            state.metrics.batches_refused.fetch_sub(1, Relaxed);
            // Which messages hold the refused items.
            let bad: Vec<usize> = match &e {
                IngestError::Items { errors, .. } => errors.iter().map(|x| x.index).collect(),
                IngestError::Syntax(_) => Vec::new(),
            };
            let mut suspect = vec![false; run.len()];
            let mut start = 0;
            for (i, p) in run.iter().enumerate() {
                let end = start + p.events.len();
                suspect[i] = bad.iter().any(|b| (start..end).contains(b));
                start = end;
            }
            let pieces = if suspect.iter().any(|s| *s) && !suspect.iter().all(|s| *s) {
                split_runs(run, &suspect)
            } else {
                // Refused as a whole but no message to blame: one at a time.
                run.into_iter().map(|p| vec![p]).collect()
            };
            let mut pieces = pieces.into_iter();
            while let Some(piece) = pieces.next() {
                if let Some(pause) = Box::pin(apply_run(state, cfg, piece)).await {
                    let rest: Vec<Parsed> = pieces.flatten().collect();
                    hand_back(state, cfg, &rest).await;
                    return Some(pause);
                }
            }
            None
        }
        Err(refusal @ (Refusal::Full(_) | Refusal::Internal(_))) => {
            tracing::error!(error = %refusal, messages = run.len(), "NATS batch not written; redelivered later");
            hand_back(state, cfg, &run).await;
            Some(cfg.retry_delay)
        }
    }
}

/// Messages split into runs: each suspect alone, the others grouped between them, in order.
fn split_runs<T>(run: Vec<T>, suspect: &[bool]) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut current = Vec::new();
    for (p, s) in run.into_iter().zip(suspect) {
        if *s {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            out.push(vec![p]);
        } else {
            current.push(p);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Naks `run` with the retry delay: the server redelivers it then, before newer messages.
async fn hand_back(state: &AppState, cfg: &NatsConfig, run: &[Parsed]) {
    state
        .metrics
        .nats_redelivered
        .fetch_add(run.len() as u64, Relaxed);
    ack_all(&messages(run), AckKind::Nak(Some(cfg.retry_delay))).await;
}

/// Publishes every alert from `rx` as JSON to `subject` (plain NATS, at most once).
async fn publish_alerts(
    state: &AppState,
    client: async_nats::Client,
    subject: String,
    mut rx: broadcast::Receiver<(&'static str, Value)>,
) {
    loop {
        match rx.recv().await {
            Ok((what, _)) if what != "alert" => {}
            Ok((_, alert)) => {
                let payload = alert.to_string();
                match client.publish(subject.clone(), payload.into()).await {
                    Ok(()) => {
                        state.metrics.nats_alerts_published.fetch_add(1, Relaxed);
                    }
                    Err(e) => tracing::warn!(error = %e, "alert not published to NATS"),
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    skipped = n,
                    "alerts skipped: the NATS publisher fell behind"
                );
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests;
