//! `serve.toml` (docs/serve.md#configuration): where to listen and keep state, the write token, and
//! the limits. Every key is optional; command-line flags override the file. Problems are reported
//! all at once with the file, line and key, as for snapshots.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cascade_io::doc::Format;
use cascade_io::reader::{num_of, str_of, Ctx, Rule, Table, NON_NEGATIVE, POSITIVE};

use crate::alerts::{AlertRule, Delivery, Direction};
use crate::watch::WatchConfig;
use cascade_io::Diagnostics;

use crate::nats::NatsConfig;

/// Environment variable holding the write token when the file has none.
pub const TOKEN_ENV: &str = "CASCADE_TOKEN";

/// Settings of `cascade serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// Address to listen on; loopback by default.
    pub listen: SocketAddr,
    /// Folder of the state (`cascade.sqlite`).
    pub data: PathBuf,
    /// The system to serve; the built-in one if `None`.
    pub snapshot: Option<PathBuf>,
    /// Bearer token for writes (and for reads when `open_reads` is false). Writes are refused
    /// (401) while there is none.
    pub token: Option<String>,
    /// Reads without a token.
    pub open_reads: bool,
    /// Largest request body, bytes (413 beyond).
    pub body_limit_bytes: usize,
    /// Time a request may take before it is abandoned (408).
    pub request_timeout: Duration,
    /// Per client (IP address): sustained requests per second and burst (429 beyond).
    pub rate_per_second: f64,
    pub rate_burst: f64,
    /// A checkpoint of the live state after this many events.
    pub checkpoint_every_events: u64,
    /// Seconds between two points of metric history.
    pub history_every_seconds: u64,
    /// `[watchlist]`: the scenarios re-run in the background, and when.
    pub watch: WatchConfig,
    /// `[[alerts]]`: the alert rules.
    pub alerts: Vec<AlertRule>,
    /// `[alert_delivery]`: where alerts go besides the store and the log.
    pub delivery: Delivery,
    /// NATS JetStream ingest and alerts (`[nats]`, docs/serve-nats.md); none without the table.
    pub nats: Option<NatsConfig>,
    /// `[adjuster]`: the live recommendations of `/metrics` (docs/adjuster.md#live-recommendations).
    pub adjuster: AdjusterConfig,
}

/// `[adjuster]`: how the live recommendations read the price feed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdjusterConfig {
    /// EWMA decay per price update, in (0, 1).
    pub lambda: f64,
    /// The period one price update stands for, seconds (annualises the variance).
    pub update_period_seconds: f64,
    /// Confidence `α` of the haircut, in (0.5, 1).
    pub confidence: f64,
    /// Liquidation horizon `T`, days.
    pub days: f64,
}

impl Default for AdjusterConfig {
    fn default() -> Self {
        AdjusterConfig {
            lambda: 0.94,
            update_period_seconds: 3600.0,
            confidence: 0.99,
            days: 1.0,
        }
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data: PathBuf::from("cascade-data"),
            snapshot: None,
            token: None,
            open_reads: true,
            body_limit_bytes: 16 << 20,
            request_timeout: Duration::from_secs(30),
            rate_per_second: 1_000.0,
            rate_burst: 2_000.0,
            checkpoint_every_events: 1_000_000,
            history_every_seconds: 10,
            watch: WatchConfig::default(),
            alerts: Vec::new(),
            delivery: Delivery {
                webhook: None,
                webhook_attempts: 5,
            },
            nats: None,
            adjuster: AdjusterConfig::default(),
        }
    }
}

impl ServeConfig {
    /// Reads `path`; every problem is in the error, each with its line and key. Paths in the file
    /// are relative to the file's folder.
    pub fn load(path: &Path) -> Result<ServeConfig, Diagnostics> {
        let file = path.display().to_string();
        let mut diags = Diagnostics::default();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                diags.error(
                    &file,
                    cascade_io::Location::File,
                    "",
                    format!("cannot read: {e}"),
                );
                return Err(diags);
            }
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let cfg = Self::parse(&text, &file, base, &mut diags);
        match cfg {
            Some(c) if !diags.has_errors() => Ok(c),
            _ => Err(diags),
        }
    }

    fn parse(text: &str, file: &str, base: &Path, diags: &mut Diagnostics) -> Option<ServeConfig> {
        let (root, mut ctx) = Ctx::parse(text, Format::Toml, file, diags)?;
        let ctx = &mut ctx;
        let mut t = Table::new(&root, "serve.toml", ctx)?;
        let mut c = ServeConfig::default();
        if let Some(s) = t.opt_str("listen", ctx) {
            match s.parse::<SocketAddr>() {
                Ok(a) => c.listen = a,
                Err(_) => ctx.error(
                    t.line_of("listen"),
                    t.field("listen"),
                    format!("\"{s}\", expected an address and port such as \"127.0.0.1:8080\""),
                ),
            }
        }
        if let Some(d) = t.opt_str("data", ctx) {
            c.data = base.join(d);
        }
        c.snapshot = t.opt_str("snapshot", ctx).map(|s| base.join(s));
        c.token = t.opt_str("token", ctx).filter(|s| !s.is_empty());
        if let Some(b) = t.opt_bool("open_reads", ctx) {
            c.open_reads = b;
        }
        if let Some(x) = t.opt("body_limit_bytes", POSITIVE, ctx) {
            c.body_limit_bytes = x as usize;
        }
        if let Some(x) = t.opt("request_timeout_seconds", POSITIVE, ctx) {
            c.request_timeout = Duration::from_secs_f64(x);
        }
        if let Some(x) = t.opt("rate_per_second", POSITIVE, ctx) {
            c.rate_per_second = x;
        }
        if let Some(x) = t.opt("rate_burst", POSITIVE, ctx) {
            c.rate_burst = x;
        }
        if let Some(x) = t.opt("checkpoint_every_events", POSITIVE, ctx) {
            c.checkpoint_every_events = x as u64;
        }
        if let Some(x) = t.opt("history_every_seconds", POSITIVE, ctx) {
            c.history_every_seconds = x.ceil() as u64;
        }
        if let Some(n) = t.get("watchlist") {
            parse_watchlist(n, base, &mut c.watch, ctx);
        }
        for (i, n) in t.arr("alerts", ctx).iter().enumerate() {
            if let Some(r) = parse_alert(n, i, ctx) {
                if c.alerts.iter().any(|a| a.name == r.name) {
                    ctx.error(
                        n.line,
                        format!("alerts[{i}].name"),
                        format!(
                            "\"{}\" is the name of an earlier rule; names must differ",
                            r.name
                        ),
                    );
                }
                c.alerts.push(r);
            }
        }
        if let Some(n) = t.get("alert_delivery") {
            if let Some(mut d) = Table::new(n, "alert_delivery", ctx) {
                c.delivery.webhook = d.opt_str("webhook", ctx);
                if let Some(url) = &c.delivery.webhook {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        ctx.error(
                            d.line_of("webhook"),
                            d.field("webhook"),
                            format!("\"{url}\", expected an http:// or https:// URL"),
                        );
                    }
                }
                if let Some(x) = d.opt("webhook_attempts", POSITIVE, ctx) {
                    c.delivery.webhook_attempts = x.ceil() as u32;
                }
                d.finish(ctx);
            }
        }
        if let Some(n) = t.get("nats") {
            c.nats = NatsConfig::read(n, ctx);
        }
        if let Some(n) = t.get("adjuster") {
            if let Some(mut d) = Table::new(n, "adjuster", ctx) {
                const DECAY: Rule = Rule::new(|x| x > 0.0 && x < 1.0, "a decay in (0, 1)");
                const LEVEL: Rule = Rule::new(|x| x > 0.5 && x < 1.0, "a confidence in (0.5, 1)");
                let a = &mut c.adjuster;
                if let Some(x) = d.opt("lambda", DECAY, ctx) {
                    a.lambda = x;
                }
                if let Some(x) = d.opt("update_period_seconds", POSITIVE, ctx) {
                    a.update_period_seconds = x;
                }
                if let Some(x) = d.opt("confidence", LEVEL, ctx) {
                    a.confidence = x;
                }
                if let Some(x) = d.opt("days", POSITIVE, ctx) {
                    a.days = x;
                }
                d.finish(ctx);
            }
        }
        t.finish(ctx);
        Some(c)
    }

    /// The token from the file, else from [`TOKEN_ENV`].
    pub fn with_env_token(mut self) -> ServeConfig {
        if self.token.is_none() {
            self.token = std::env::var(TOKEN_ENV).ok().filter(|s| !s.is_empty());
        }
        self
    }
}

/// `[watchlist]`: `scenarios` (names or files, relative to the config's folder), `every_seconds`,
/// `debounce_ms`, `material_change`, `contagion`, `contagion_every_seconds`.
fn parse_watchlist(n: &cascade_io::doc::Node, base: &Path, w: &mut WatchConfig, ctx: &mut Ctx) {
    let Some(mut t) = Table::new(n, "watchlist", ctx) else {
        return;
    };
    for (i, s) in t.arr("scenarios", ctx).iter().enumerate() {
        if let Some(name) = str_of(s, &format!("watchlist.scenarios[{i}]"), ctx) {
            // A path if it looks like one (a built-in name has no slash and no extension).
            let is_file = name.contains('/') || name.ends_with(".toml") || name.ends_with(".json");
            w.scenarios.push(if is_file {
                base.join(&name).display().to_string()
            } else {
                name
            });
        }
    }
    if let Some(x) = t.opt("every_seconds", POSITIVE, ctx) {
        w.every = Duration::from_secs_f64(x);
    }
    if let Some(x) = t.opt("debounce_ms", NON_NEGATIVE, ctx) {
        w.debounce = Duration::from_secs_f64(x / 1000.0);
    }
    if let Some(x) = t.opt("material_change", NON_NEGATIVE, ctx) {
        w.material_change = x;
    }
    if let Some(b) = t.opt_bool("contagion", ctx) {
        w.contagion = b;
    }
    if let Some(x) = t.opt("contagion_every_seconds", NON_NEGATIVE, ctx) {
        w.contagion_every = Duration::from_secs_f64(x);
    }
    t.finish(ctx);
}

/// One `[[alerts]]` table: `name`, `metric`, exactly one of `above` / `below`, optional
/// `for_seconds` and `clear`.
fn parse_alert(n: &cascade_io::doc::Node, i: usize, ctx: &mut Ctx) -> Option<AlertRule> {
    let mut t = Table::new(n, format!("alerts[{i}]"), ctx)?;
    let name = t.req_str("name", ctx);
    let metric = t.req_str("metric", ctx);
    let above = t
        .get("above")
        .and_then(|x| num_of(x, &format!("alerts[{i}].above"), ctx));
    let below = t
        .get("below")
        .and_then(|x| num_of(x, &format!("alerts[{i}].below"), ctx));
    let line = t.line;
    let rule = match (above, below) {
        (Some(x), None) => Some((Direction::Above, x)),
        (None, Some(x)) => Some((Direction::Below, x)),
        (Some(_), Some(_)) => {
            ctx.error(
                line,
                format!("alerts[{i}]"),
                "both above and below; a rule has one threshold",
            );
            None
        }
        (None, None) => {
            if !t.has("above") && !t.has("below") {
                ctx.error(
                    line,
                    format!("alerts[{i}].above"),
                    "missing: a rule needs above = X or below = X",
                );
            }
            None
        }
    };
    let duration = t
        .opt("for_seconds", NON_NEGATIVE, ctx)
        .map_or(Duration::ZERO, Duration::from_secs_f64);
    let clear = t
        .get("clear")
        .and_then(|x| num_of(x, &format!("alerts[{i}].clear"), ctx));
    let clear_line = t.line_of("clear");
    t.finish(ctx);
    let (direction, threshold) = rule?;
    if let Some(c) = clear {
        let wrong = match direction {
            Direction::Above => c > threshold,
            Direction::Below => c < threshold,
        };
        if wrong {
            ctx.error(
                clear_line,
                format!("alerts[{i}].clear"),
                format!(
                    "{c} is on the firing side of the threshold {threshold}; the clearing level must be at or past it on the good side"
                ),
            );
        }
    }
    Some(AlertRule {
        name: name?,
        metric: metric?,
        direction,
        threshold,
        duration,
        clear: clear.unwrap_or_else(|| AlertRule::default_clear(direction, threshold)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_and_every_problem_with_its_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("serve.toml");
        std::fs::write(
            &p,
            "listen = \"127.0.0.1:9000\"\ndata = \"state\"\ntoken = \"s3cret\"\nopen_reads = false\nrate_per_second = 5\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = ServeConfig::load(&p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen, SocketAddr::from(([127, 0, 0, 1], 9000)));
        assert_eq!(c.data, dir.path().join("state"));
        assert_eq!(c.token.as_deref(), Some("s3cret"));
        assert!(!c.open_reads);
        assert_eq!(c.rate_per_second, 5.0);
        std::fs::write(
            &p,
            "listen = \"here\"\nrate_burst = -1\ncolour = \"blue\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let e = ServeConfig::load(&p).err().unwrap_or_default().to_string();
        assert!(e.contains(":1:") && e.contains("listen"), "{e}");
        assert!(e.contains(":2:") && e.contains("rate_burst"), "{e}");
        assert!(e.contains(":3:") && e.contains("colour"), "{e}");
    }

    #[test]
    fn watchlist_alerts_and_delivery() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("serve.toml");
        let good = r#"
[watchlist]
scenarios = ["eth-crash", "mine/scenario.toml"]
every_seconds = 30
debounce_ms = 250
material_change = 0.002
contagion = false

[[alerts]]
name = "bad-debt"
metric = "scenario.eth-crash.system.bad_debt_usd"
above = 5e6
for_seconds = 300

[[alerts]]
name = "contagion"
metric = "contagion.min_threshold_drop"
below = 0.15
clear = 0.2

[alert_delivery]
webhook = "http://127.0.0.1:9/hook"
webhook_attempts = 3
"#;
        std::fs::write(&p, good).unwrap_or_else(|e| panic!("{e}"));
        let c = ServeConfig::load(&p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.watch.scenarios,
            vec![
                "eth-crash".to_string(),
                dir.path().join("mine/scenario.toml").display().to_string()
            ]
        );
        assert_eq!(c.watch.every, Duration::from_secs(30));
        assert_eq!(c.watch.debounce, Duration::from_millis(250));
        assert_eq!(c.watch.material_change, 0.002);
        assert!(!c.watch.contagion);
        assert_eq!(c.alerts.len(), 2);
        assert_eq!(c.alerts[0].direction, Direction::Above);
        assert_eq!(c.alerts[0].duration, Duration::from_secs(300));
        // Default hysteresis: 5% of the threshold back.
        assert_eq!(c.alerts[0].clear, 4.75e6);
        assert_eq!(c.alerts[1].direction, Direction::Below);
        assert_eq!(c.alerts[1].clear, 0.2);
        assert_eq!(
            c.delivery.webhook.as_deref(),
            Some("http://127.0.0.1:9/hook")
        );
        assert_eq!(c.delivery.webhook_attempts, 3);

        let bad = r#"
[[alerts]]
name = "both"
metric = "summary.debt_usd"
above = 1
below = 2

[[alerts]]
name = "wrong-clear"
metric = "summary.debt_usd"
above = 10
clear = 11

[[alerts]]
name = "neither"
metric = "summary.debt_usd"
colour = 1

[alert_delivery]
webhook = "ftp://x"
"#;
        std::fs::write(&p, bad).unwrap_or_else(|e| panic!("{e}"));
        let e = ServeConfig::load(&p).err().unwrap_or_default().to_string();
        assert!(
            e.contains(":2:") && e.contains("both above and below"),
            "{e}"
        );
        assert!(e.contains(":12:") && e.contains("alerts[1].clear"), "{e}");
        assert!(
            e.contains("alerts[2].above") && e.contains("missing"),
            "{e}"
        );
        assert!(e.contains(":17:") && e.contains("alerts[2].colour"), "{e}");
        assert!(e.contains(":20:") && e.contains("webhook"), "{e}");
    }

    #[test]
    fn adjuster_table_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("serve.toml");
        let good =
            "[adjuster]\nlambda = 0.99\nupdate_period_seconds = 60\nconfidence = 0.95\ndays = 2\n";
        std::fs::write(&p, good).unwrap_or_else(|e| panic!("{e}"));
        let c = ServeConfig::load(&p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.adjuster,
            AdjusterConfig {
                lambda: 0.99,
                update_period_seconds: 60.0,
                confidence: 0.95,
                days: 2.0
            }
        );
        assert_eq!(ServeConfig::default().adjuster, AdjusterConfig::default());
        let bad = "[adjuster]\nlambda = 1\nconfidence = 0.4\nhorizon = 3\n";
        std::fs::write(&p, bad).unwrap_or_else(|e| panic!("{e}"));
        let e = ServeConfig::load(&p).err().unwrap_or_default().to_string();
        assert!(
            e.contains(":2:") && e.contains("adjuster.lambda") && e.contains("a decay in (0, 1)"),
            "{e}"
        );
        assert!(
            e.contains(":3:") && e.contains("adjuster.confidence"),
            "{e}"
        );
        assert!(e.contains(":4:") && e.contains("adjuster.horizon"), "{e}");
    }
}
