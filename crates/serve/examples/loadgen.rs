//! A bounded load generator and benchmark driver for `cascade serve` on loopback (BENCHMARKS.md,
//! "cascade serve"). `bench/serve.sh` builds the release binary, generates the system and runs this;
//! run it directly with
//!
//! ```sh
//! cargo run --release -p cascade-serve --example loadgen -- \
//!     --cascade target/release/cascade --snapshot /tmp/serve-1m/snapshot.toml --work /tmp/serve-bench
//! ```
//!
//! It starts `cascade serve` on the snapshot with a fresh state folder and a 4-scenario watchlist,
//! then, with a bounded number of keep-alive connections (plain HTTP/1.1 over `TcpStream`, so the
//! client costs little of the two cores it shares with the service):
//!
//! 1. latency: one price update of one asset, then `GET /v1/summary` and `GET /v1/ladder?asset=X`,
//!    one after the other; the update→read-back time's percentiles;
//! 2. sustained ingest of price batches, then of position-change batches, for `--seconds` each
//!    while the watchlist re-runs (every batch moves prices, so it is always due);
//! 3. the watchlist's refresh time (`/v1/scenarios` and the service's log);
//! 4. peak resident memory (`VmHWM` of `/proc/PID/status`);
//! 5. restart to serving after SIGTERM, and after `kill -9` with events logged since the last
//!    checkpoint (replayed at start).
//!
//! With `--jetstream URL` (a nats-server with JetStream), the same batches are also published to
//! the service's JetStream subjects and timed until applied (`jetstream_ingest`).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cascade_model::Side;
use serde_json::Value;

const USAGE: &str = "usage: loadgen --cascade BIN --snapshot SNAPSHOT.toml --work DIR \
[--port 18080] [--connections 4] [--seconds 10] [--latency-updates 1000] \
[--price-batch 1000] [--position-batch 1000] [--asset ETH] [--scenarios a,b,c,d] \
[--contagion] [--jetstream URL]";

/// Settings from the command line.
struct Args {
    cascade: PathBuf,
    snapshot: PathBuf,
    work: PathBuf,
    port: u16,
    connections: usize,
    seconds: f64,
    latency_updates: usize,
    price_batch: usize,
    position_batch: usize,
    asset: String,
    scenarios: Vec<String>,
    contagion: bool,
    jetstream: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        cascade: PathBuf::from("target/release/cascade"),
        snapshot: PathBuf::new(),
        work: PathBuf::from("/tmp/cascade-serve-bench"),
        port: 18080,
        connections: 4,
        seconds: 10.0,
        latency_updates: 1000,
        price_batch: 1000,
        position_batch: 1000,
        asset: "ETH".into(),
        scenarios: ["eth-crash", "usdc-depeg", "steth-depeg", "bridge-hack"]
            .map(String::from)
            .to_vec(),
        contagion: false,
        jetstream: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--contagion" {
            a.contagion = true;
            continue;
        }
        let Some(v) = it.next() else {
            die(&format!("{flag}: missing value\n{USAGE}"));
        };
        let num = |v: &str| -> f64 {
            v.parse()
                .unwrap_or_else(|_| die(&format!("{flag} {v}: expected a number")))
        };
        match flag.as_str() {
            "--cascade" => a.cascade = v.into(),
            "--snapshot" => a.snapshot = v.into(),
            "--work" => a.work = v.into(),
            "--port" => a.port = num(&v) as u16,
            "--connections" => a.connections = (num(&v) as usize).max(1),
            "--seconds" => a.seconds = num(&v),
            "--latency-updates" => a.latency_updates = (num(&v) as usize).max(10),
            "--price-batch" => a.price_batch = (num(&v) as usize).max(1),
            "--position-batch" => a.position_batch = (num(&v) as usize).max(1),
            "--asset" => a.asset = v,
            "--scenarios" => a.scenarios = v.split(',').map(String::from).collect(),
            "--jetstream" => a.jetstream = Some(v),
            _ => die(&format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if a.snapshot.as_os_str().is_empty() {
        die(USAGE);
    }
    a
}

fn die(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(2)
}

/// splitmix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 keep-alive client.

struct Conn {
    addr: String,
    reader: BufReader<TcpStream>,
    token: String,
}

struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Conn {
    fn open(addr: &str, token: &str) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        Ok(Conn {
            addr: addr.to_string(),
            reader: BufReader::with_capacity(1 << 16, s),
            token: token.to_string(),
        })
    }

    fn get(&mut self, path: &str) -> std::io::Result<Reply> {
        self.request("GET", path, None)
    }

    fn post(&mut self, path: &str, body: &str) -> std::io::Result<Reply> {
        self.request("POST", path, Some(body))
    }

    fn request(&mut self, method: &str, path: &str, body: Option<&str>) -> std::io::Result<Reply> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n",
            self.addr, self.token
        );
        if let Some(b) = body {
            let _ = write!(
                head,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            );
        }
        head.push_str("\r\n");
        let s = self.reader.get_mut();
        match body {
            Some(b) if b.len() < 16 << 10 => {
                head.push_str(b);
                s.write_all(head.as_bytes())?;
            }
            Some(b) => {
                s.write_all(head.as_bytes())?;
                s.write_all(b.as_bytes())?;
            }
            None => s.write_all(head.as_bytes())?,
        }
        self.read_reply()
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(&format!("status line {line:?}")))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(bad("connection closed in the headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-length" {
                    length = v.trim().parse::<usize>().ok();
                } else if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| bad("chunk size"))?;
                let at = body.len();
                body.resize(at + n + 2, 0);
                self.reader.read_exact(&mut body[at..])?;
                body.truncate(at + n);
                if n == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.reader.read_exact(&mut body)?;
        }
        Ok(Reply { status, body })
    }
}

// ---------------------------------------------------------------------------------------------
// The system's names, for valid updates.

/// What the generator needs of the snapshot: exogenous assets with their prices, and a sample of
/// position rows (protocol, account, asset, side, amount), names JSON-quoted.
struct Book {
    prices: Vec<(String, f64)>,
    rows: Vec<(String, String, String, &'static str, f64)>,
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn book_of(path: &Path) -> Book {
    let (s, _) = cascade_io::load_snapshot(path)
        .unwrap_or_else(|e| die(&format!("{}: {}", path.display(), e.diagnostics)));
    let prices = s
        .assets
        .iter()
        .filter(|a| a.kind.is_exogenous())
        .map(|a| (a.id.clone(), a.price.unwrap_or(1.0)))
        .collect();
    let mut rng = Rng(11);
    let n = s.positions.len();
    let rows = (0..n.min(200_000))
        .map(|_| {
            let r = rng.below(n);
            let k = s.positions.account[r] as usize;
            let p = s.accounts.protocol[k] as usize;
            (
                quoted(&s.protocols[p].id),
                quoted(&s.accounts.id[k]),
                quoted(&s.assets[s.positions.asset[r] as usize].id),
                match s.positions.side[r] {
                    Side::Collateral => "collateral",
                    Side::Debt => "debt",
                },
                s.positions.amount[r],
            )
        })
        .collect();
    Book { prices, rows }
}

/// A price `±0.5%` from `now`, kept within ±20% of `reference`.
fn walk(rng: &mut Rng, now: f64, reference: f64) -> f64 {
    (now * (1.0 + 0.01 * (rng.unit() - 0.5))).clamp(0.8 * reference, 1.2 * reference)
}

// ---------------------------------------------------------------------------------------------
// The service.

struct Service {
    child: Child,
    log: PathBuf,
}

fn start(a: &Args, config: &Path, log: &Path) -> Service {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap_or_else(|e| die(&format!("{}: {e}", log.display())));
    let child = Command::new(&a.cascade)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| die(&format!("{}: {e}", a.cascade.display())));
    Service {
        child,
        log: log.to_path_buf(),
    }
}

/// Polls `GET /v1/summary` until it answers 200; the time from `since`.
fn until_serving(addr: &str, svc: &mut Service, since: Instant) -> Duration {
    loop {
        if let Ok(Some(st)) = svc.child.try_wait() {
            die(&format!(
                "cascade serve exited ({st}); see {}",
                svc.log.display()
            ));
        }
        if let Ok(mut c) = Conn::open(addr, "") {
            if c.get("/v1/summary").is_ok_and(|r| r.status == 200) {
                return since.elapsed();
            }
        }
        if since.elapsed() > Duration::from_secs(600) {
            die("cascade serve did not answer within 600 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn sigterm(svc: &mut Service) -> Duration {
    let t = Instant::now();
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(svc.child.id().to_string())
        .status();
    let _ = svc.child.wait();
    t.elapsed()
}

fn watch(c: &mut Conn) -> Value {
    c.get("/v1/scenarios")
        .map(|r| r.json())
        .unwrap_or(Value::Null)
}

fn refreshes(c: &mut Conn) -> u64 {
    watch(c)
        .get("refreshes")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// Waits until the watchlist has completed more than `after` refreshes.
fn until_refreshed(c: &mut Conn, after: u64, limit: Duration) -> Option<Value> {
    let t = Instant::now();
    while t.elapsed() < limit {
        let w = watch(c);
        if w.get("refreshes").and_then(Value::as_u64).unwrap_or(0) > after {
            return Some(w);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Every `watchlist refreshed … seconds=…` of the log from byte `from` on.
fn logged_refreshes(log: &Path, from: u64) -> Vec<f64> {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text[(from as usize).min(text.len())..]).into_owned();
    text.lines()
        .filter(|l| l.contains("watchlist refreshed"))
        .filter_map(|l| {
            let at = l.find("seconds=")? + "seconds=".len();
            let v: String = l[at..]
                .trim_start_matches('"')
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            v.parse().ok()
        })
        .collect()
}

fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// The phases.

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One price update of `asset`, then the summary and the ladder; ms each.
fn latency(c: &mut Conn, book: &Book, asset: &str, updates: usize, tag: &str) -> Vec<f64> {
    let reference = book
        .prices
        .iter()
        .find(|(a, _)| a == asset)
        .map(|p| p.1)
        .unwrap_or_else(|| die(&format!("--asset {asset}: not an exogenous asset")));
    let mut rng = Rng(3);
    let mut price = reference;
    let ladder = format!("/v1/ladder?asset={asset}");
    let mut out = Vec::with_capacity(updates);
    for i in 0..updates {
        price = walk(&mut rng, price, reference);
        let body = format!(
            "{{\"prices\":[{{\"id\":\"lat-{tag}-{i}\",\"asset\":{},\"price\":{price}}}]}}",
            quoted(asset)
        );
        let t = Instant::now();
        let r = c
            .post("/v1/prices", &body)
            .unwrap_or_else(|e| die(&e.to_string()));
        if r.status != 200 {
            die(&format!(
                "POST /v1/prices: {} {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            ));
        }
        let seq = r.json().get("seq").and_then(Value::as_u64).unwrap_or(0);
        let s = c.get("/v1/summary").unwrap_or_else(|e| die(&e.to_string()));
        let l = c.get(&ladder).unwrap_or_else(|e| die(&e.to_string()));
        let elapsed = t.elapsed().as_secs_f64() * 1e3;
        let read_seq = s.json().get("seq").and_then(Value::as_u64).unwrap_or(0);
        if s.status != 200 || l.status != 200 || read_seq < seq {
            die(&format!(
                "read-back: summary {} (seq {read_seq} < {seq}?), ladder {}",
                s.status, l.status
            ));
        }
        out.push(elapsed);
    }
    out
}

/// Sustained ingest over `connections` connections for `seconds`: events/s and batch latencies.
#[derive(Default)]
struct Rate {
    events: u64,
    batches: u64,
    seconds: f64,
    batch_ms: Vec<f64>,
    errors: u64,
}

impl Rate {
    fn per_second(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Prices,
    Positions,
}

fn batch_body(
    kind: Kind,
    book: &Book,
    rng: &mut Rng,
    n: usize,
    tag: &str,
    seq: &mut u64,
) -> String {
    let mut s = String::with_capacity(n * 160 + 32);
    match kind {
        Kind::Prices => {
            s.push_str("{\"prices\":[");
            for i in 0..n {
                let (asset, reference) = &book.prices[rng.below(book.prices.len())];
                let p = walk(rng, *reference, *reference);
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(
                    s,
                    "{{\"id\":\"{tag}-{seq}\",\"asset\":{},\"price\":{p}}}",
                    quoted(asset)
                );
                *seq += 1;
            }
        }
        Kind::Positions => {
            s.push_str("{\"changes\":[");
            for i in 0..n {
                let (protocol, account, asset, side, amount) =
                    &book.rows[rng.below(book.rows.len())];
                if i > 0 {
                    s.push(',');
                }
                let amount = amount * (0.9 + 0.2 * rng.unit());
                // One change in a hundred opens an account.
                if *seq % 100 == 99 {
                    let _ = write!(
                        s,
                        "{{\"id\":\"{tag}-{seq}\",\"op\":\"set\",\"protocol\":{protocol},\
                         \"account\":\"{tag}-new-{seq}\",\"asset\":{asset},\"side\":\"{side}\",\
                         \"amount\":{amount}}}"
                    );
                } else {
                    let _ = write!(
                        s,
                        "{{\"id\":\"{tag}-{seq}\",\"op\":\"set\",\"protocol\":{protocol},\
                         \"account\":{account},\"asset\":{asset},\"side\":\"{side}\",\
                         \"amount\":{amount}}}"
                    );
                }
                *seq += 1;
            }
        }
    }
    s.push_str("]}");
    s
}

/// One sustained-ingest run: where, what, how much.
struct Load<'a> {
    addr: &'a str,
    token: &'a str,
    book: &'a Arc<Book>,
    connections: usize,
}

/// `per_second`: the rate to hold, events per second over all connections (each connection sends
/// its batches on a fixed schedule and catches up without pause when behind); `None`: as fast as
/// the service answers.
fn ingest(
    l: &Load<'_>,
    kind: Kind,
    batch: usize,
    seconds: f64,
    tag: &str,
    per_second: Option<f64>,
) -> Rate {
    let (addr, token, book, connections) = (l.addr, l.token, l.book, l.connections);
    let stop = Arc::new(AtomicBool::new(false));
    let events = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let path = match kind {
        Kind::Prices => "/v1/prices",
        Kind::Positions => "/v1/positions",
    };
    let workers: Vec<_> = (0..connections)
        .map(|w| {
            let (stop, events, book) = (Arc::clone(&stop), Arc::clone(&events), Arc::clone(book));
            let (addr, token, tag) = (addr.to_string(), token.to_string(), format!("{tag}{w}"));
            std::thread::spawn(move || {
                let mut c = Conn::open(&addr, &token).unwrap_or_else(|e| die(&e.to_string()));
                let mut rng = Rng(100 + w as u64);
                let mut seq = 0u64;
                let (mut lat, mut errors, mut batches) = (Vec::new(), 0u64, 0u64);
                // Seconds between this connection's batches when paced.
                let every = per_second.map(|r| batch as f64 * connections as f64 / r);
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(every) = every {
                        let due = started + Duration::from_secs_f64(every * sent as f64);
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        sent += 1;
                    }
                    let body = batch_body(kind, &book, &mut rng, batch, &tag, &mut seq);
                    let t = Instant::now();
                    match c.post(path, &body) {
                        Ok(r) if r.status == 200 => {
                            let n = r.json().get("applied").and_then(Value::as_u64).unwrap_or(0);
                            events.fetch_add(n, Ordering::Relaxed);
                            lat.push(t.elapsed().as_secs_f64() * 1e3);
                            batches += 1;
                        }
                        Ok(r) => {
                            errors += 1;
                            if errors <= 3 {
                                eprintln!(
                                    "loadgen: POST {path}: {} {}",
                                    r.status,
                                    String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
                                );
                            }
                        }
                        Err(e) => {
                            errors += 1;
                            eprintln!("loadgen: POST {path}: {e}");
                            match Conn::open(&addr, &token) {
                                Ok(n) => c = n,
                                Err(_) => std::thread::sleep(Duration::from_millis(100)),
                            }
                        }
                    }
                }
                (lat, errors, batches)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut rate = Rate::default();
    for w in workers {
        let (lat, errors, batches) = w.join().unwrap_or_default();
        rate.batch_ms.extend(lat);
        rate.errors += errors;
        rate.batches += batches;
    }
    // In-flight batches finished after the stop; they count, and so does their time.
    rate.seconds = started.elapsed().as_secs_f64();
    rate.events = events.load(Ordering::Relaxed);
    rate.batch_ms.sort_by(f64::total_cmp);
    rate
}

/// Sustained ingest through NATS JetStream: `connections` publishers send the same batches as
/// [`batch_body`] to the service's subject (`cascade.prices` / `cascade.positions`) for `seconds`,
/// each publish awaited until the stream has stored it; then the clock runs on until the service's
/// `seq` shows every published event applied. The rate is events / (first publish → last applied):
/// what the service sustains from the stream, acknowledgement after the log's commit included.
fn jetstream_ingest(
    url: Option<&str>,
    l: &Load<'_>,
    kind: Kind,
    batch: usize,
    seconds: f64,
) -> Option<Rate> {
    let url = url?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| die(&e.to_string()));
    let subject = match kind {
        Kind::Prices => "cascade.prices",
        Kind::Positions => "cascade.positions",
    };
    let mut c = Conn::open(l.addr, l.token).unwrap_or_else(|e| die(&e.to_string()));
    let seq_now = |c: &mut Conn| {
        c.get("/v1/summary")
            .ok()
            .and_then(|r| r.json().get("seq").and_then(Value::as_u64))
            .unwrap_or(0)
    };
    let seq0 = seq_now(&mut c);
    let book = Arc::clone(l.book);
    let connections = l.connections;
    let tag = if kind == Kind::Prices { "jp" } else { "jc" };
    let (events, batches, started) = rt.block_on(async move {
        let client = async_nats::connect(url)
            .await
            .unwrap_or_else(|e| die(&format!("--jetstream {url}: {e}")));
        let js = async_nats::jetstream::new(client);
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let tasks: Vec<_> = (0..connections)
            .map(|w| {
                let (js, stop, book) = (js.clone(), Arc::clone(&stop), Arc::clone(&book));
                let tag = format!("{tag}{w}");
                tokio::spawn(async move {
                    let mut rng = Rng(200 + w as u64);
                    let (mut seq, mut events, mut batches) = (0u64, 0u64, 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        let body = batch_body(kind, &book, &mut rng, batch, &tag, &mut seq);
                        let stored = match js.publish(subject, body.into()).await {
                            Ok(ack) => ack.await.is_ok(),
                            Err(_) => false,
                        };
                        if stored {
                            events += batch as u64;
                            batches += 1;
                        } else {
                            // The stream may not exist yet (the service creates it): wait.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                    (events, batches)
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let (mut events, mut batches) = (0u64, 0u64);
        for t in tasks {
            let (e, b) = t.await.unwrap_or((0, 0));
            events += e;
            batches += b;
        }
        (events, batches, started)
    });
    // Wait until the service has applied every stored event.
    let limit = Instant::now();
    while seq_now(&mut c) < seq0 + events {
        if limit.elapsed() > Duration::from_secs(300) {
            die(&format!(
                "JetStream: the service applied {} of {events} events in 300 s",
                seq_now(&mut c) - seq0
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Rate {
        events,
        batches,
        seconds: started.elapsed().as_secs_f64(),
        batch_ms: Vec::new(),
        errors: 0,
    })
}

fn fmt_ms(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.2} ms")
    } else {
        format!("{x:.0} ms")
    }
}

fn main() {
    let a = args();
    let addr = format!("127.0.0.1:{}", a.port);
    let token = "loadgen-token".to_string();
    let _ = std::fs::remove_dir_all(&a.work);
    std::fs::create_dir_all(&a.work).unwrap_or_else(|e| die(&format!("{}: {e}", a.work.display())));
    let data = a.work.join("data");
    let snapshot = std::fs::canonicalize(&a.snapshot)
        .unwrap_or_else(|e| die(&format!("{}: {e}", a.snapshot.display())));
    let config = a.work.join("serve.toml");
    let scenarios: Vec<String> = a.scenarios.iter().map(|s| quoted(s)).collect();
    std::fs::write(
        &config,
        format!(
            "listen = \"{addr}\"\ndata = {}\nsnapshot = {}\ntoken = \"{token}\"\n\
             rate_per_second = 1000000\nrate_burst = 1000000\n\n\
             [watchlist]\nscenarios = [{}]\ncontagion = {}\n{}",
            quoted(&data.display().to_string()),
            quoted(&snapshot.display().to_string()),
            scenarios.join(", "),
            a.contagion,
            a.jetstream
                .as_deref()
                .map(|u| format!("\n[nats]\nurl = {}\n", quoted(u)))
                .unwrap_or_default()
        ),
    )
    .unwrap_or_else(|e| die(&e.to_string()));
    let log = a.work.join("serve.log");
    eprintln!("loadgen: reading {}", snapshot.display());
    let book = Arc::new(book_of(&snapshot));
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut row = |what: &str, target: &str, measured: String| {
        eprintln!("loadgen: {what}: {measured}");
        rows.push((what.to_string(), target.to_string(), measured));
    };

    // Start on a fresh state folder.
    eprintln!("loadgen: starting cascade serve ({})", config.display());
    let t = Instant::now();
    let mut svc = start(&a, &config, &log);
    let cold = until_serving(&addr, &mut svc, t);
    let pid = svc.child.id();
    let mut c = Conn::open(&addr, &token).unwrap_or_else(|e| die(&e.to_string()));
    let first = until_refreshed(&mut c, 0, Duration::from_secs(300));
    let first_s = first
        .as_ref()
        .and_then(|w| w.get("last_refresh_seconds").and_then(Value::as_f64));
    row(
        "start on a fresh state folder → /v1/summary answers",
        "",
        format!("{:.2} s", cold.as_secs_f64()),
    );

    // (c) an idle watchlist refresh: move the price materially, wait for the run.
    let before = refreshes(&mut c);
    let body = format!(
        "{{\"prices\":[{{\"id\":\"idle-move\",\"asset\":{},\"price\":{}}}]}}",
        quoted(&a.asset),
        book.prices
            .iter()
            .find(|p| p.0 == a.asset)
            .map_or(1.0, |p| p.1 * 0.99)
    );
    let _ = c.post("/v1/prices", &body);
    let idle = until_refreshed(&mut c, before, Duration::from_secs(300));
    let idle_s = idle
        .as_ref()
        .and_then(|w| w.get("last_refresh_seconds").and_then(Value::as_f64));
    let per_scenario: Vec<String> = idle
        .as_ref()
        .and_then(|w| w.get("scenarios").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            format!(
                "{} {:.2}",
                s.get("name").and_then(Value::as_str).unwrap_or("?"),
                s.get("seconds").and_then(Value::as_f64).unwrap_or(f64::NAN)
            )
        })
        .collect();

    // (a) latency.
    let log_at = log_len(&log);
    let mut lat = latency(&mut c, &book, &a.asset, a.latency_updates, "a");
    lat.sort_by(f64::total_cmp);
    let during_latency = logged_refreshes(&log, log_at).len();
    row(
        &format!(
            "one {} price update → summary + ladder read back (HTTP, {} updates, {during_latency} watchlist runs meanwhile): p50 / p99 / max",
            a.asset,
            lat.len()
        ),
        "p99 ≤ 5 ms",
        format!(
            "{} / {} / {}",
            fmt_ms(percentile(&lat, 0.5)),
            fmt_ms(percentile(&lat, 0.99)),
            fmt_ms(percentile(&lat, 1.0))
        ),
    );

    // (b) sustained ingest while the watchlist runs.
    let load = Load {
        addr: &addr,
        token: &token,
        book: &book,
        connections: a.connections,
    };
    let log_at = log_len(&log);
    let mut watch_under_load = Vec::new();
    for (kind, batch, target, name) in [
        (Kind::Prices, a.price_batch, "≥ 50,000/s", "price updates"),
        (
            Kind::Positions,
            a.position_batch,
            "≥ 100,000/s",
            "position changes",
        ),
    ] {
        let w0 = refreshes(&mut c);
        let tag = if kind == Kind::Prices { "p" } else { "c" };
        let r = ingest(&load, kind, batch, a.seconds, tag, None);
        let runs = refreshes(&mut c) - w0;
        row(
            &format!(
                "{name}, HTTP batches of {batch}, {} connections, {:.0} s, {runs} watchlist runs meanwhile (batch p50 / p99 {} / {}{})",
                a.connections,
                r.seconds,
                fmt_ms(percentile(&r.batch_ms, 0.5)),
                fmt_ms(percentile(&r.batch_ms, 0.99)),
                if r.errors > 0 { format!(", {} errors", r.errors) } else { String::new() }
            ),
            target,
            format!("{:.0}/s", r.per_second()),
        );
        let js = jetstream_ingest(a.jetstream.as_deref(), &load, kind, batch, a.seconds);
        row(
            &format!(
                "{name}, JetStream batches of {batch}, {} publishers, {:.0} s of publishing, until applied",
                a.connections, a.seconds
            ),
            target,
            js.map_or("not measured (pass --jetstream nats://…)".into(), |r| {
                format!("{:.0}/s ({} events in {:.1} s)", r.per_second(), r.events, r.seconds)
            }),
        );
    }
    watch_under_load.extend(logged_refreshes(&log, log_at));
    let mut wl = watch_under_load.clone();
    wl.sort_by(f64::total_cmp);

    // (b') both kinds at once, held at the targets' rates (50,000 prices/s and 100,000 position
    // changes/s, `--connections` each): does the service keep up, and how long does the
    // watchlist take meanwhile?
    let paced_at = log_len(&log);
    let w0 = refreshes(&mut c);
    let paced_load = &load;
    let (pr, cr) = std::thread::scope(|sc| {
        let p = sc.spawn(|| {
            ingest(
                paced_load,
                Kind::Prices,
                a.price_batch,
                a.seconds * 2.0,
                "qp",
                Some(50_000.0),
            )
        });
        let c = sc.spawn(|| {
            ingest(
                paced_load,
                Kind::Positions,
                a.position_batch,
                a.seconds * 2.0,
                "qc",
                Some(100_000.0),
            )
        });
        (p.join().unwrap_or_default(), c.join().unwrap_or_default())
    });
    let paced_runs = refreshes(&mut c) - w0;
    let mut pw = logged_refreshes(&log, paced_at);
    pw.sort_by(f64::total_cmp);
    row(
        &format!(
            "prices and position changes together, each held at its target ({:.0} s, {} connections each, batches p99 {} / {}{}): rates kept; watchlist refreshes meanwhile, runs, median / max",
            pr.seconds.max(cr.seconds),
            a.connections,
            fmt_ms(percentile(&pr.batch_ms, 0.99)),
            fmt_ms(percentile(&cr.batch_ms, 0.99)),
            if pr.errors + cr.errors > 0 { format!(", {} errors", pr.errors + cr.errors) } else { String::new() }
        ),
        "≥ 50,000/s and ≥ 100,000/s; ≤ 2 s",
        format!(
            "{:.0}/s and {:.0}/s; {} runs ({} logged), {:.2} s / {:.2} s",
            pr.per_second(),
            cr.per_second(),
            paced_runs,
            pw.len(),
            percentile(&pw, 0.5),
            percentile(&pw, 1.0)
        ),
    );

    row(
        "4-scenario watchlist refresh, idle (first run at start; after one price move)",
        "≤ 2 s",
        format!(
            "{} s; {} s ({})",
            first_s.map_or("?".into(), |s| format!("{s:.2}")),
            idle_s.map_or("?".into(), |s| format!("{s:.2}")),
            per_scenario.join(", ")
        ),
    );
    row(
        "watchlist refresh during the ingest phases: runs, median / max",
        "≤ 2 s",
        format!(
            "{} runs, {:.2} s / {:.2} s",
            wl.len(),
            percentile(&wl, 0.5),
            percentile(&wl, 1.0)
        ),
    );

    // (d) memory.
    let (hwm, rss) = rss_kib(pid);
    row(
        "resident memory: peak (VmHWM) / now (VmRSS)",
        "≤ 2 GiB",
        format!(
            "{:.0} MiB / {:.0} MiB",
            hwm as f64 / 1024.0,
            rss as f64 / 1024.0
        ),
    );
    let summary = c
        .get("/v1/summary")
        .map(|r| r.json())
        .unwrap_or(Value::Null);
    let seq = summary.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let accounts = summary.get("accounts").and_then(Value::as_u64).unwrap_or(0);
    drop(c);

    // (e) restart after SIGTERM (a checkpoint at shutdown), then after kill -9.
    let stop = sigterm(&mut svc);
    let t = Instant::now();
    let mut svc = start(&a, &config, &log);
    let warm = until_serving(&addr, &mut svc, t);
    row(
        &format!(
            "restart after SIGTERM (stop with checkpoint took {:.2} s; {seq} events in the log)",
            stop.as_secs_f64()
        ),
        "≤ 5 s",
        format!("{:.2} s", warm.as_secs_f64()),
    );
    let before_kill = ingest(
        &load,
        Kind::Positions,
        a.position_batch,
        (a.seconds / 2.0).max(2.0),
        "k",
        None,
    );
    let mut c = Conn::open(&addr, &token).unwrap_or_else(|e| die(&e.to_string()));
    let seq_killed = c
        .get("/v1/summary")
        .map(|r| r.json())
        .ok()
        .and_then(|v| v.get("seq").and_then(Value::as_u64))
        .unwrap_or(0);
    drop(c);
    let _ = svc.child.kill();
    let _ = svc.child.wait();
    let t = Instant::now();
    let mut svc = start(&a, &config, &log);
    let after_kill = until_serving(&addr, &mut svc, t);
    let mut c = Conn::open(&addr, &token).unwrap_or_else(|e| die(&e.to_string()));
    let seq_back = c
        .get("/v1/summary")
        .map(|r| r.json())
        .ok()
        .and_then(|v| v.get("seq").and_then(Value::as_u64))
        .unwrap_or(0);
    row(
        &format!(
            "restart after kill -9 ({} events logged since the SIGTERM restart's checkpoint at most; seq {seq_back} of {seq_killed} back)",
            before_kill.events
        ),
        "≤ 5 s",
        format!("{:.2} s", after_kill.as_secs_f64()),
    );
    drop(c);
    let _ = sigterm(&mut svc);

    // The table.
    println!();
    println!(
        "cascade serve on {} ({accounts} accounts at the end), loopback, {} connections; {}",
        snapshot.display(),
        a.connections,
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| format!(
                "load average at the end {}",
                l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
            ))
            .unwrap_or_default()
    );
    println!();
    println!("| figure | target | measured |");
    println!("|---|---|---|");
    for (what, target, measured) in &rows {
        println!("| {what} | {target} | {measured} |");
    }
}
