//! Counters and histograms of the service itself, and the Prometheus text exposition of `/metrics`
//! (docs/serve.md#metrics).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the latency histograms, seconds.
pub const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A histogram of durations in seconds (cumulative buckets, sum and count), lock-free.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in nanoseconds.
    sum_ns: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let ns = (seconds.max(0.0) * 1e9).min(u64::MAX as f64) as u64;
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Writes the histogram `name` with `labels` (`key="value",…` or empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (b, c) in BUCKETS.iter().zip(&self.counts) {
            cumulative += c.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        let n = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {n}");
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {n}");
    }
}

/// The service's own figures.
#[derive(Default)]
pub struct ServiceMetrics {
    pub events_applied: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub batches_refused: AtomicU64,
    /// Alerts that fired, and alert deliveries the webhook never took.
    pub alerts_fired: AtomicU64,
    pub webhook_failures: AtomicU64,
    /// Reads (`GET`) and writes (`POST`): request latency.
    pub read_latency: Histogram,
    pub write_latency: Histogram,
    /// From a batch's arrival to its events being applied to the live state.
    pub ingest_lag: Histogram,
    /// NATS (docs/serve-nats.md): messages applied and acked, terminated (refused for good),
    /// handed back for redelivery (log not writable), alerts published; 1 while connected.
    pub nats_consumed: AtomicU64,
    pub nats_terminated: AtomicU64,
    pub nats_redelivered: AtomicU64,
    pub nats_alerts_published: AtomicU64,
    pub nats_connected: AtomicU64,
}

/// A Prometheus sample line: `name{labels} value`, NaN and infinities as Prometheus spells them.
pub fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    let v = if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{value}")
    };
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {v}");
    } else {
        let l: Vec<String> = labels
            .iter()
            .map(|(k, x)| format!("{k}=\"{}\"", escape(x)))
            .collect();
        let _ = writeln!(out, "{name}{{{}}} {v}", l.join(","));
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Every number at the top level of a JSON object, as `(key, value)`.
pub fn numbers(v: &serde_json::Value) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    flatten(v, "", &mut out);
    out
}

/// The numbers of `v`'s objects, nested ones joined by `_` (`below_one_accounts`); arrays are
/// left out (each protocol is labelled separately).
fn flatten(v: &serde_json::Value, prefix: &str, out: &mut Vec<(String, f64)>) {
    if let serde_json::Value::Object(o) = v {
        for (k, x) in o {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}_{k}")
            };
            match x {
                serde_json::Value::Object(_) => flatten(x, &name, out),
                _ => {
                    if let Some(f) = x.as_f64() {
                        out.push((name, f));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_numbers_are_flattened_and_arrays_left_out() {
        let v = serde_json::json!({"seq": 3, "below_one": {"accounts": 2, "debt_usd": 5.5},
            "protocols": [{"debt_usd": 1.0}], "id": "x"});
        let mut got = numbers(&v);
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                ("below_one_accounts".to_string(), 2.0),
                ("below_one_debt_usd".to_string(), 5.5),
                ("seq".to_string(), 3.0)
            ]
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(0.0004);
        h.observe(0.003);
        h.observe(9.0);
        let mut s = String::new();
        h.render(&mut s, "x_seconds", "route=\"r\"");
        assert!(
            s.contains("x_seconds_bucket{route=\"r\",le=\"0.0005\"} 1\n"),
            "{s}"
        );
        assert!(
            s.contains("x_seconds_bucket{route=\"r\",le=\"0.005\"} 2\n"),
            "{s}"
        );
        assert!(
            s.contains("x_seconds_bucket{route=\"r\",le=\"+Inf\"} 3\n"),
            "{s}"
        );
        assert!(s.contains("x_seconds_count{route=\"r\"} 3\n"), "{s}");
    }

    #[test]
    fn samples_escape_labels() {
        let mut s = String::new();
        sample(&mut s, "m", &[("p", "a\"b")], f64::INFINITY);
        assert_eq!(s, "m{p=\"a\\\"b\"} +Inf\n");
    }
}
