//! The write path: batches from every source queued, checked against the state the earlier ones
//! leave, appended to the log in one durable transaction per group, applied, and answered; and the
//! rebuild of the live state from the log at start.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::{lock, AppState};
use crate::events::Event;
use crate::ingest::{IngestError, ItemError};
use crate::live::{Live, Resolved};
use crate::store::{Store, StoreError};

impl AppState {
    /// Checks, logs and applies one batch of events from any source (HTTP, NATS, a chain
    /// follower): names are resolved against the live state, the batch is appended to the log in
    /// one durable transaction, then applied; `Ok` means every event is durable (acknowledge it).
    /// `array` names the batch's items in errors (`prices[3].asset`).
    ///
    /// Batches that arrive while another is being written wait in a queue and are then written
    /// together (group commit): one transaction and one `fsync` for all of them, one application
    /// to the live state. Each is still checked on its own against the state the earlier ones
    /// leave, and refused or acknowledged on its own; the log's order is the queue's, and the state
    /// after the group is the state after its batches one at a time. The writing runs in its own
    /// task, so a request abandoned meanwhile (a client gone, a timeout) cannot leave a batch logged
    /// but not applied.
    pub async fn apply_events(
        self: &Arc<Self>,
        events: Vec<Event>,
        array: &str,
    ) -> Result<Applied, Refusal> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        lock(&self.pending).push(Pending {
            events,
            array: array.to_string(),
            started: Instant::now(),
            reply,
        });
        let state = Arc::clone(self);
        tokio::spawn(async move {
            let _one_writer = state.writer.lock().await;
            let group = std::mem::take(&mut *lock(&state.pending));
            if !group.is_empty() {
                state.write_group(group).await;
            }
        });
        answer
            .await
            .unwrap_or_else(|_| Err(Refusal::Internal("the batch's writer stopped".into())))
    }

    /// Writes queued batches (the caller holds `writer`): each resolved against the state the ones
    /// before it leave; a batch that does not resolve is refused if nothing before it in the group
    /// is pending (the state is then exactly the one it would meet alone), else it and the batches
    /// after it wait for the next round, after the ones before are written.
    async fn write_group(self: &Arc<Self>, group: Vec<Pending>) {
        let mut todo = group;
        while !todo.is_empty() {
            let mut accepted: Vec<(Pending, Vec<Resolved>)> = Vec::new();
            let mut later = Vec::new();
            {
                let live = self.live();
                for p in todo {
                    if !later.is_empty() {
                        later.push(p);
                        continue;
                    }
                    match resolve_batch(&live, &p.events, &p.array) {
                        Ok(r) => accepted.push((p, r)),
                        Err(errors) if accepted.is_empty() => {
                            self.metrics
                                .batches_refused
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let _ = p.reply.send(Err(Refusal::Items(IngestError::Items {
                                unprocessable: true,
                                errors,
                            })));
                        }
                        Err(_) => later.push(p),
                    }
                }
            }
            if !accepted.is_empty() {
                self.commit(accepted).await;
            }
            todo = later;
        }
    }

    /// Appends the resolved batches to the log in one durable transaction, applies them, then
    /// answers each.
    async fn commit(self: &Arc<Self>, accepted: Vec<(Pending, Vec<Resolved>)>) {
        let mut replies = Vec::with_capacity(accepted.len());
        let mut events = Vec::new();
        let mut batches = Vec::with_capacity(accepted.len());
        for (p, resolved) in accepted {
            let n = p.events.len();
            let last_at = p.events.last().map(|e| e.at_ms);
            events.extend(p.events);
            batches.push((n, last_at, resolved, p.started));
            replies.push(p.reply);
        }
        let state = Arc::clone(self);
        let timer = Instant::now();
        let appended =
            tokio::task::spawn_blocking(move || lock(&state.store).append(&events)).await;
        let append_ms = timer.elapsed().as_secs_f64() * 1e3;
        let seqs = match appended {
            Ok(Ok(seqs)) => seqs,
            Ok(Err(e)) => {
                let refusal = |e: &StoreError| {
                    if e.is_full() {
                        Refusal::Full(format!(
                            "the state's disk is full; nothing of this batch was applied: {e}"
                        ))
                    } else {
                        Refusal::Internal(e.to_string())
                    }
                };
                if e.is_full() {
                    tracing::error!(error = %e, "ingest refused: disk full");
                } else {
                    tracing::error!(error = %e, "ingest failed");
                }
                for r in replies {
                    let _ = r.send(Err(refusal(&e)));
                }
                return;
            }
            Err(e) => {
                for r in replies {
                    let _ = r.send(Err(Refusal::Internal(e.to_string())));
                }
                return;
            }
        };
        // Per batch: its events' sequence numbers; the state after the group is at the last
        // batch that appended anything (its last event's time), as after the batches in turn.
        let mut fresh: Vec<Resolved> = Vec::new();
        let mut counts = Vec::with_capacity(batches.len());
        let mut applied_at: Option<(u64, i64)> = None;
        let mut at = 0;
        for (n, last_at, resolved, _) in &mut batches {
            let own = &seqs[at..at + *n];
            at += *n;
            let before = fresh.len();
            fresh.extend(
                std::mem::take(resolved)
                    .into_iter()
                    .zip(own)
                    .filter(|(_, s)| s.is_some())
                    .map(|(r, _)| r),
            );
            let applied = (fresh.len() - before) as u64;
            counts.push((applied, *n as u64 - applied));
            if let (Some(seq), Some(t)) = (own.iter().flatten().max(), last_at) {
                applied_at = Some((*seq as u64, *t));
            }
        }
        let timer = Instant::now();
        {
            let mut live = self.live_mut();
            if !fresh.is_empty() {
                live.apply(&fresh);
                let mut r = lock(&self.recommend);
                for (asset, usd) in fresh.iter().filter_map(Resolved::price) {
                    r.observe(asset, usd);
                }
            }
            if let Some((seq, t)) = applied_at {
                live.set_applied(seq, t);
            }
        }
        let apply_ms = timer.elapsed().as_secs_f64() * 1e3;
        // Still the only writer: the summary is the state the group left, taken while readers go
        // on.
        let summary = serde_json::to_value(self.live().summary()).unwrap_or(Value::Null);
        tracing::debug!(
            batches = batches.len(),
            events = seqs.len(),
            append_ms = format!("{append_ms:.2}"),
            apply_ms = format!("{apply_ms:.2}"),
            summary_ms = format!("{:.2}", timer.elapsed().as_secs_f64() * 1e3 - apply_ms),
            "group written"
        );
        let applied = fresh.len() as u64;
        let m = &self.metrics;
        m.events_applied
            .fetch_add(applied, std::sync::atomic::Ordering::Relaxed);
        m.events_duplicate.fetch_add(
            seqs.len() as u64 - applied,
            std::sync::atomic::Ordering::Relaxed,
        );
        for (_, _, _, started) in &batches {
            m.ingest_lag.observe(started.elapsed().as_secs_f64());
        }
        let due = {
            let mut n = lock(&self.since_checkpoint);
            *n += applied;
            *n >= self.config.checkpoint_every_events
        };
        if due {
            let state = Arc::clone(self);
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || state.checkpoint()).await {
                tracing::warn!(error = %e, "checkpoint failed; the log still has every event");
            }
        }
        let seq = summary.get("seq").and_then(Value::as_u64).unwrap_or(0);
        if applied > 0 {
            self.notify("summary", summary);
        }
        for (reply, (applied, duplicates)) in replies.into_iter().zip(counts) {
            let _ = reply.send(Ok(Applied {
                applied,
                duplicates,
                seq,
            }));
        }
    }
}

/// A batch waiting for the writer, and where its answer goes.
pub(super) struct Pending {
    events: Vec<Event>,
    array: String,
    started: Instant,
    reply: tokio::sync::oneshot::Sender<Result<Applied, Refusal>>,
}

/// The batch's changes resolved against `live`, or every item that does not resolve (named
/// `array[index].field`).
fn resolve_batch(
    live: &Live,
    events: &[Event],
    array: &str,
) -> Result<Vec<Resolved>, Vec<ItemError>> {
    let mut errors = Vec::new();
    let mut ok = Vec::with_capacity(events.len());
    for (index, e) in events.iter().enumerate() {
        match live.resolve(&e.change) {
            Ok(r) => ok.push(r),
            Err(err) => {
                let text = err.to_string();
                let (field, message) = match text.split_once(": ") {
                    Some((f, m)) if !f.contains(' ') => (f.to_string(), m.to_string()),
                    _ => (String::new(), text),
                };
                let field = if field.is_empty() {
                    format!("{array}[{index}]")
                } else {
                    format!("{array}[{index}].{field}")
                };
                errors.push(ItemError {
                    index,
                    field,
                    message,
                })
            }
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
    }
}

/// What an applied batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Events that changed the state.
    pub applied: u64,
    /// Events whose id was already in the log (no-ops).
    pub duplicates: u64,
    /// The log position the live state is at after the batch (and the batches written in the
    /// same group, [`AppState::apply_events`]): the last event of the log.
    pub seq: u64,
}

/// Why a batch was not applied; nothing of it was.
#[derive(Debug)]
pub enum Refusal {
    /// Items that do not fit the live state (unknown names, …): the sender's fault, 422.
    Items(IngestError),
    /// The state's disk is full: retry later, 503.
    Full(String),
    /// Anything else (an I/O error of the log): 500.
    Internal(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Items(e) => write!(f, "{}", e.body()),
            Refusal::Full(m) | Refusal::Internal(m) => f.write_str(m),
        }
    }
}

/// Builds the live state from `snapshot` and the log in `store`: the latest checkpoint, then every
/// event after it. Events that no longer resolve (the log was written for another snapshot) are
/// an error naming the first.
pub fn recover(snapshot: cascade_model::Snapshot, store: &Store) -> Result<Live, String> {
    let mut live = match store.latest_checkpoint().map_err(|e| e.to_string())? {
        Some((_, bytes)) => Live::from_bytes(&snapshot, &bytes).map_err(|e| e.to_string())?,
        None => Live::new(snapshot).map_err(|e| e.to_string())?,
    };
    let after = live.summary().seq as i64;
    let mut batch = Vec::new();
    let mut last = None;
    let mut failure = None;
    store
        .replay(after, |seq, e| {
            // An event may name an account opened by an earlier event of the same chunk (a close
            // after an open): apply what is pending, then resolve it again.
            let resolved = live.resolve(&e.change).or_else(|err| {
                if batch.is_empty() {
                    Err(err)
                } else {
                    live.apply(&batch);
                    batch.clear();
                    live.resolve(&e.change)
                }
            });
            match resolved {
                Ok(r) => batch.push(r),
                Err(err) if failure.is_none() => {
                    failure = Some(format!(
                        "event {seq} ({:?}) of the log does not fit the snapshot: {err}",
                        e.id
                    ))
                }
                Err(_) => {}
            }
            last = Some((seq, e.at_ms));
            // Applied in order, a few thousand at a time.
            if batch.len() >= 4096 {
                live.apply(&batch);
                batch.clear();
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    if let Some(f) = failure {
        return Err(f);
    }
    live.apply(&batch);
    if let Some((seq, at)) = last {
        live.set_applied(seq as u64, at);
    }
    Ok(live)
}
