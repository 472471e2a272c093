//! `serve.toml` (docs/serve.md#configuration): where to listen and keep state, the write token, and
//! the limits. Every key is optional; command-line flags override the file. Problems are reported
//! all at once with the file, line and key, as for snapshots.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cascade_io::doc::Format;
use cascade_io::reader::{Ctx, Table, POSITIVE};
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
    /// NATS JetStream ingest and alerts (`[nats]`, docs/serve-nats.md); none without the table.
    pub nats: Option<NatsConfig>,
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
            nats: None,
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
        if let Some(n) = t.get("nats") {
            c.nats = NatsConfig::read(n, ctx);
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
}
