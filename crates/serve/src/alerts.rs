//! Alerts (docs/serve.md#alerts): rules on a metric, a threshold and a duration. A rule fires once
//! when its metric has been beyond the threshold for the duration, and resolves when the metric is
//! back past the clearing level (hysteresis: a metric hovering at the threshold does not flap).
//! Firing and resolving are stored in SQLite, written to the log, POSTed to a webhook (with
//! retries) and published for NATS and `/v1/events`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::server::{now_ms, AppState};
use crate::store::{AlertRecord, AlertState};
use crate::watch::json_number;

/// Which side of the threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Fires while `value > threshold`.
    Above,
    /// Fires while `value < threshold`.
    Below,
}

/// Default hysteresis: a rule clears 5% of the threshold back on the good side.
pub const DEFAULT_HYSTERESIS: f64 = 0.05;

/// One rule of `[[alerts]]` in serve.toml.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRule {
    pub name: String,
    /// See [`metric_value`] for the names.
    pub metric: String,
    pub direction: Direction,
    pub threshold: f64,
    /// The metric must stay beyond the threshold this long before the rule fires.
    #[serde(skip)]
    pub duration: Duration,
    /// The level the metric must get back to (at or past) for the alert to resolve: by default
    /// `threshold ∓ 5%·|threshold|` (below an `above` threshold, above a `below` one).
    pub clear: f64,
}

impl AlertRule {
    /// The default clearing level of a rule.
    pub fn default_clear(direction: Direction, threshold: f64) -> f64 {
        match direction {
            Direction::Above => threshold - DEFAULT_HYSTERESIS * threshold.abs(),
            Direction::Below => threshold + DEFAULT_HYSTERESIS * threshold.abs(),
        }
    }

    fn breached(&self, v: f64) -> bool {
        match self.direction {
            Direction::Above => v > self.threshold,
            Direction::Below => v < self.threshold,
        }
    }

    fn cleared(&self, v: f64) -> bool {
        match self.direction {
            Direction::Above => v <= self.clear,
            Direction::Below => v >= self.clear,
        }
    }

    fn message(&self, v: f64, firing: bool) -> String {
        let side = match self.direction {
            Direction::Above => "above",
            Direction::Below => "below",
        };
        if firing {
            format!(
                "{} = {v} is {side} {} (for {} s)",
                self.metric,
                self.threshold,
                self.duration.as_secs_f64()
            )
        } else {
            format!(
                "{} = {v} is back past {} (threshold {})",
                self.metric, self.clear, self.threshold
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Clear,
    /// Beyond the threshold since this time (ms); not yet for long enough.
    Pending(i64),
    /// Fired at this time (ms).
    Firing(i64),
}

/// The rules' state machines. Pure: fed values and times, it says what fired and resolved.
#[derive(Debug, Clone)]
pub struct Evaluator {
    rules: Vec<AlertRule>,
    phase: Vec<Phase>,
}

impl Evaluator {
    /// Rules with their stored state: a rule whose alert is firing in the store stays firing (a
    /// restart does not fire it again).
    pub fn new(rules: Vec<AlertRule>, stored: &[AlertRecord]) -> Evaluator {
        let phase = rules
            .iter()
            .map(|r| {
                stored
                    .iter()
                    .find(|a| a.rule == r.name && a.key.is_empty() && a.state == AlertState::Firing)
                    .map_or(Phase::Clear, |a| Phase::Firing(a.fired_at_ms))
            })
            .collect();
        Evaluator { rules, phase }
    }

    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Advances every rule to time `now_ms` with its metric's current value (`None`: not known
    /// yet, nothing changes); the alerts that fired or resolved now.
    pub fn step(&mut self, now_ms: i64, value: impl Fn(&str) -> Option<f64>) -> Vec<AlertRecord> {
        let mut out = Vec::new();
        for (r, phase) in self.rules.iter().zip(self.phase.iter_mut()) {
            let Some(v) = value(&r.metric).filter(|v| !v.is_nan()) else {
                continue;
            };
            let record = |state, fired_at_ms, resolved_at_ms, firing| AlertRecord {
                rule: r.name.clone(),
                key: String::new(),
                state,
                fired_at_ms,
                resolved_at_ms,
                value: v,
                message: r.message(v, firing),
                acknowledged: false,
            };
            let needed = i64::try_from(r.duration.as_millis()).unwrap_or(i64::MAX);
            match *phase {
                Phase::Clear | Phase::Pending(_) if !r.breached(v) => *phase = Phase::Clear,
                Phase::Clear | Phase::Pending(_) => {
                    let since = match *phase {
                        Phase::Pending(s) => s,
                        _ => now_ms,
                    };
                    if now_ms.saturating_sub(since) >= needed {
                        *phase = Phase::Firing(now_ms);
                        out.push(record(AlertState::Firing, now_ms, None, true));
                    } else {
                        *phase = Phase::Pending(since);
                    }
                }
                Phase::Firing(at) if r.cleared(v) => {
                    *phase = Phase::Clear;
                    out.push(record(AlertState::Resolved, at, Some(now_ms), false));
                }
                Phase::Firing(_) => {}
            }
        }
        out
    }
}

/// Where alerts go besides the store and the log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delivery {
    /// POSTed a JSON body per alert (firing and resolved).
    pub webhook: Option<String>,
    /// Attempts per alert (≥ 1); waits 0.5 s, 1 s, 2 s, … between them.
    pub webhook_attempts: u32,
}

/// The value of a metric on the service now:
/// - `summary.<path>`: a number of `/v1/summary` (`summary.below_one.debt_usd`);
/// - `protocol.<id>.<path>`: a number of `/v1/protocols/{id}`;
/// - `ladder.<asset>.<percent>`: the debt that a drop of the asset's price by that percentage
///   makes liquidatable, USD (`ladder.ETH.10`);
/// - the watchlist's: `scenario.<name>.<path in the stress JSON>`, `contagion.min_threshold_drop`,
///   `unliquidatable.accounts`, `unliquidatable.debt_usd` (see [`crate::watch::WatchState::metric`]).
pub fn metric_value(state: &AppState, name: &str) -> Option<f64> {
    if let Some(path) = name.strip_prefix("summary.") {
        let s = serde_json::to_value(state.live().summary()).ok()?;
        return json_number(&s, path);
    }
    if let Some(rest) = name.strip_prefix("protocol.") {
        let live = state.live();
        // The longest protocol id that prefixes the rest.
        let (id, path) = split_known(rest, |id| live.protocol(id).is_some())?;
        let v = serde_json::to_value(live.protocol(id)?).ok()?;
        return json_number(&v, path);
    }
    if let Some(rest) = name.strip_prefix("ladder.") {
        let live = state.live();
        let (asset, pct) = split_known(rest, |a| live.price(a).is_some())?;
        let pct: f64 = pct.parse().ok()?;
        return live.liquidatable_debt(asset, pct / 100.0);
    }
    state.watch().metric(name)
}

/// `rest` split as `known.tail` at the longest known prefix.
fn split_known(rest: &str, known: impl Fn(&str) -> bool) -> Option<(&str, &str)> {
    rest.match_indices('.')
        .rev()
        .map(|(i, _)| (&rest[..i], &rest[i + 1..]))
        .find(|(head, _)| known(head))
}

/// Problems with the rules' metric names on this service (unknown form, protocol, asset,
/// scenario or path), one line each naming the rule.
pub fn check_rules(state: &AppState, rules: &[AlertRule], scenarios: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for r in rules {
        let m = r.metric.as_str();
        let known = if let Some(rest) = m.strip_prefix("scenario.") {
            scenarios
                .iter()
                .any(|s| rest.starts_with(s.as_str()) && rest[s.len()..].starts_with('.'))
        } else if ["ladder.", "summary.", "protocol."]
            .iter()
            .any(|p| m.starts_with(p))
        {
            metric_value(state, m).is_some()
        } else {
            matches!(
                m,
                "contagion.min_threshold_drop"
                    | "unliquidatable.accounts"
                    | "unliquidatable.debt_usd"
            )
        };
        if !known {
            problems.push(format!(
                "alert \"{}\": metric \"{m}\" is not a number of this service (summary.<path>, protocol.<id>.<path>, ladder.<asset>.<percent>, scenario.<watched scenario>.<path>, contagion.min_threshold_drop, unliquidatable.accounts, unliquidatable.debt_usd)",
                r.name
            ));
        }
    }
    problems
}

/// The JSON of an alert as delivered (webhook, NATS, `/v1/events`).
pub fn payload(a: &AlertRecord, rule: Option<&AlertRule>) -> Value {
    json!({
        "rule": a.rule,
        "key": a.key,
        "state": a.state,
        "metric": rule.map(|r| r.metric.as_str()),
        "direction": rule.map(|r| r.direction),
        "threshold": rule.map(|r| r.threshold),
        "clear": rule.map(|r| r.clear),
        "value": a.value,
        "message": a.message,
        "fired_at_ms": a.fired_at_ms,
        "resolved_at_ms": a.resolved_at_ms,
    })
}

/// POSTs `body` to `url`, up to `attempts` times; whether it was taken (2xx).
fn post_with_retries(url: &str, body: &str, attempts: u32) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=attempts.max(1) {
        match agent
            .post(url)
            .header("content-type", "application/json")
            .send(body)
        {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) => tracing::warn!(
                url,
                attempt,
                status = r.status().as_u16(),
                "webhook refused the alert"
            ),
            Err(e) => tracing::warn!(url, attempt, error = %e, "webhook unreachable"),
        }
        if attempt < attempts {
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }
    false
}

/// Spawns the alert worker: evaluates every rule after each applied batch, after each watchlist
/// refresh and every second (for durations), and delivers what fires or resolves.
pub fn spawn(
    state: Arc<AppState>,
    rules: Vec<AlertRule>,
    delivery: Delivery,
) -> tokio::task::JoinHandle<()> {
    // Webhook deliveries in order, on one blocking thread, never holding up the evaluation.
    let (hook_tx, mut hook_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    if let Some(url) = delivery.webhook.clone() {
        let attempts = delivery.webhook_attempts.max(1);
        let st = Arc::clone(&state);
        tokio::task::spawn_blocking(move || {
            while let Some(body) = hook_rx.blocking_recv() {
                if !post_with_retries(&url, &body, attempts) {
                    st.metrics
                        .webhook_failures
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::error!(
                        url,
                        "alert not delivered to the webhook after every attempt"
                    );
                }
            }
        });
    }
    tokio::spawn(async move {
        let stored = {
            let s = Arc::clone(&state);
            tokio::task::spawn_blocking(move || s.with_store(|st| st.alerts(10_000)))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        let mut eval = Evaluator::new(rules, &stored);
        let mut changes = state.subscribe();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                r = changes.recv() => {
                    if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        return;
                    }
                }
                _ = tick.tick() => {}
            }
            let now = now_ms();
            let fired = eval.step(now, |m| metric_value(&state, m));
            for a in fired {
                let rule = eval.rules().iter().find(|r| r.name == a.rule);
                match a.state {
                    AlertState::Firing => {
                        tracing::warn!(
                            rule = a.rule,
                            value = a.value,
                            "alert firing: {}",
                            a.message
                        )
                    }
                    AlertState::Resolved => {
                        tracing::info!(
                            rule = a.rule,
                            value = a.value,
                            "alert resolved: {}",
                            a.message
                        )
                    }
                }
                let body = payload(&a, rule);
                let s = Arc::clone(&state);
                let rec = a.clone();
                match tokio::task::spawn_blocking(move || s.with_store(|st| st.upsert_alert(&rec)))
                    .await
                {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "alert not stored"),
                    Err(e) => tracing::error!(error = %e, "alert not stored"),
                }
                if delivery.webhook.is_some() {
                    let _ = hook_tx.send(body.to_string());
                }
                state.metrics.alerts_fired.fetch_add(
                    u64::from(a.state == AlertState::Firing),
                    std::sync::atomic::Ordering::Relaxed,
                );
                state.notify("alert", body);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(direction: Direction, threshold: f64, secs: u64) -> AlertRule {
        AlertRule {
            name: "r".into(),
            metric: "m".into(),
            direction,
            threshold,
            duration: Duration::from_secs(secs),
            clear: AlertRule::default_clear(direction, threshold),
        }
    }

    /// Feeds `(time s, value)` and returns `(time s, "firing"|"resolved")` per transition.
    fn run(rule: AlertRule, series: &[(i64, f64)]) -> Vec<(i64, AlertState)> {
        let mut e = Evaluator::new(vec![rule], &[]);
        series
            .iter()
            .flat_map(|&(t, v)| {
                e.step(t * 1000, |_| Some(v))
                    .into_iter()
                    .map(move |a| (t, a.state))
            })
            .collect()
    }

    #[test]
    fn fires_once_after_the_duration_and_resolves_past_the_clearing_level() {
        // Above 100 for 300 s; clears at 95.
        let r = rule(Direction::Above, 100.0, 300);
        assert_eq!(r.clear, 95.0);
        let got = run(
            r,
            &[
                (0, 90.0),
                (10, 120.0),  // pending since 10
                (200, 130.0), // 190 s: not yet
                (250, 99.0),  // back under: pending reset
                (260, 101.0), // pending since 260
                (559, 150.0), // 299 s
                (560, 150.0), // 300 s: fires
                (600, 160.0), // still firing: nothing
                (700, 97.0),  // under the threshold, above 95: still firing (hysteresis)
                (710, 101.0), // back above: no second firing
                (720, 95.0),  // at the clearing level: resolves
                (730, 96.0),  // clear
                (731, 101.0), // pending again (duration 300)
            ],
        );
        assert_eq!(
            got,
            vec![(560, AlertState::Firing), (720, AlertState::Resolved)]
        );
    }

    #[test]
    fn below_rules_and_immediate_ones() {
        // Any contagion threshold below 15%, no duration: fires at once; clears at 15.75%.
        let r = rule(Direction::Below, 0.15, 0);
        assert!((r.clear - 0.1575).abs() < 1e-15);
        let got = run(
            r,
            &[
                (0, 0.2),
                (1, 0.14),
                (2, 0.155),
                (3, 0.10),
                (4, 0.16),
                (5, 0.149),
            ],
        );
        assert_eq!(
            got,
            vec![
                (1, AlertState::Firing),
                (4, AlertState::Resolved),
                (5, AlertState::Firing)
            ]
        );
    }

    #[test]
    fn an_unknown_value_changes_nothing_and_a_stored_firing_alert_does_not_fire_again() {
        let r = rule(Direction::Above, 1.0, 0);
        let stored = AlertRecord {
            rule: "r".into(),
            key: String::new(),
            state: AlertState::Firing,
            fired_at_ms: 5,
            resolved_at_ms: None,
            value: 2.0,
            message: String::new(),
            acknowledged: false,
        };
        let mut e = Evaluator::new(vec![r], &[stored]);
        assert!(e.step(1_000, |_| None).is_empty());
        assert!(e.step(2_000, |_| Some(3.0)).is_empty());
        let out = e.step(3_000, |_| Some(0.5));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].state, AlertState::Resolved);
        assert_eq!(out[0].fired_at_ms, 5);
        assert_eq!(out[0].resolved_at_ms, Some(3_000));
    }

    #[test]
    fn names_split_at_the_longest_known_prefix() {
        let known = |s: &str| s == "aave-v3" || s == "aave" || s == "a.b";
        assert_eq!(
            split_known("aave-v3.below_one.debt_usd", known),
            Some(("aave-v3", "below_one.debt_usd"))
        );
        assert_eq!(split_known("a.b.x", known), Some(("a.b", "x")));
        assert_eq!(
            split_known("ETH.12.5", |s| s == "ETH"),
            Some(("ETH", "12.5"))
        );
        assert_eq!(split_known("nothing", known), None);
    }
}
