//! `cascade serve` as a process: killed with SIGKILL while it ingests, restarted on the same
//! state, it has applied every acknowledged event exactly once and shows the same figures as a run
//! that never crashed; a damaged state file is refused (exit 2) and left as it was.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::common::{example_path, stderr};

const TOKEN: &str = "kill-nine-token";

/// A running `cascade serve`, its base URL and the dashboard's sign-in link it printed.
struct Service {
    child: Child,
    url: String,
    login: String,
}

/// Starts `cascade serve` on the worked example with its state in `data`, on a free port; waits
/// until it listens.
fn spawn(data: &Path) -> Service {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args([
            "serve",
            "--snapshot",
            &example_path("worked/snapshot.toml"),
            "--listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data)
        .env("CASCADE_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cascade serve: {e}"));
    let err = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut addr = None;
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                addr = Some(rest.split_whitespace().next().unwrap_or("").to_string());
            }
            if let (Some(a), Some(link)) = (&addr, line.split("sign in (once) with ").nth(1)) {
                let _ = tx.send((a.clone(), link.trim().to_string()));
            }
        }
    });
    let (addr, login) = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("cascade serve did not start"));
    Service {
        child,
        url: format!("http://{addr}"),
        login,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Batch `b` of the workload: prices of ETH and position changes of 20 accounts, each event with
/// its own id. Absolute values, so the order of application matters and is checked.
fn batch(b: usize) -> (&'static str, String) {
    if b % 5 == 4 {
        let price = 1_500.0 + ((b * 37) % 1_000) as f64;
        (
            "/v1/prices",
            json!({"prices": [{"id": format!("p{b}"), "asset": "ETH", "price": price}]})
                .to_string(),
        )
    } else {
        let changes: Vec<Value> = (0..20)
            .flat_map(|j| {
                let k = (b * 7 + j * 13) % 400;
                let collateral = 1.0 + ((b + j) % 17) as f64;
                let debt = 500.0 * ((b * 3 + j) % 40) as f64;
                [
                    json!({"id": format!("b{b}-{j}-c"), "op": "set", "protocol": "lend",
                        "account": format!("acct-{k}"), "asset": "ETH", "side": "collateral",
                        "amount": collateral}),
                    json!({"id": format!("b{b}-{j}-d"), "op": "set", "protocol": "lend",
                        "account": format!("acct-{k}"), "asset": "USDC", "side": "debt",
                        "amount": debt}),
                ]
            })
            .collect();
        ("/v1/positions", json!({ "changes": changes }).to_string())
    }
}

const BATCHES: usize = 400;

/// Posts every batch in order, each until it is acknowledged (2xx), following the service to
/// wherever `url` says it is now.
fn feed(url: Arc<Mutex<String>>) {
    let a = agent();
    for b in 0..BATCHES {
        let (path, body) = batch(b);
        let started = Instant::now();
        loop {
            let base = url.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let r = a
                .post(&format!("{base}{path}"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .send(&body);
            match r {
                Ok(r) if r.status().is_success() => break,
                Ok(r) if r.status().as_u16() < 500 => {
                    panic!("batch {b} refused with {}", r.status())
                }
                _ => {
                    assert!(
                        started.elapsed() < Duration::from_secs(120),
                        "batch {b} never acknowledged"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

fn read(a: &ureq::Agent, url: &str) -> Value {
    let mut r = a.get(url).call().unwrap_or_else(|e| panic!("{url}: {e}"));
    serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// The figures that must not depend on crashes: the summary without its clock, and every account.
fn figures(base: &str) -> Value {
    let a = agent();
    let mut summary = read(&a, &format!("{base}/v1/summary"));
    if let Some(o) = summary.as_object_mut() {
        o.remove("updated_at_ms");
    }
    let accounts: Vec<Value> = (0..400)
        .map(|k| {
            let r = a
                .get(&format!("{base}/v1/accounts/acct-{k}"))
                .call()
                .unwrap_or_else(|e| panic!("{e}"));
            let mut r = r;
            serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default())
                .unwrap_or(Value::Null)
        })
        .collect();
    json!({ "summary": summary, "accounts": accounts })
}

#[test]
fn kill_9_during_ingest_loses_nothing_acknowledged_and_applies_it_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("crashed");
    let mut service = spawn(&data);
    let url = Arc::new(Mutex::new(service.url.clone()));
    let feeder = {
        let url = Arc::clone(&url);
        std::thread::spawn(move || feed(url))
    };
    // Three kills at moments the feeder cannot foresee, each followed by a restart on the same
    // state (the new process listens on a new port; the feeder follows it).
    let mut kills = 0;
    for wait_ms in [150u64, 400, 250] {
        std::thread::sleep(Duration::from_millis(wait_ms));
        if feeder.is_finished() {
            break;
        }
        let _ = service.child.kill();
        let _ = service.child.wait();
        kills += 1;
        service = spawn(&data);
        *url.lock().unwrap_or_else(|p| p.into_inner()) = service.url.clone();
    }
    feeder
        .join()
        .unwrap_or_else(|_| panic!("the feeder failed"));
    assert!(kills >= 1, "the workload ended before any kill");
    let crashed = figures(&service.url);
    let _ = service.child.kill();
    let _ = service.child.wait();

    // The same batches into a service that never crashed.
    let mut calm = spawn(&dir.path().join("calm"));
    feed(Arc::new(Mutex::new(calm.url.clone())));
    let expected = figures(&calm.url);
    let _ = calm.child.kill();
    let _ = calm.child.wait();

    // Every event applied exactly once: the same sequence number (one per applied event) …
    let events: u64 = (0..BATCHES).map(|b| if b % 5 == 4 { 1 } else { 40 }).sum();
    assert_eq!(crashed["summary"]["seq"], events, "{}", crashed["summary"]);
    assert_eq!(expected["summary"]["seq"], events);
    // … and the same figures, account by account.
    assert_eq!(crashed["summary"], expected["summary"]);
    assert_eq!(crashed["accounts"], expected["accounts"]);
}

#[test]
fn a_damaged_state_file_is_refused_with_exit_2_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
    let file = data.join("cascade.sqlite");
    let garbage = b"SQLite format 3\0 but then nothing a database would hold".repeat(40);
    std::fs::write(&file, &garbage).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cascade.sqlite"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap_or_default(), garbage);
    assert_eq!(
        std::fs::read_dir(&data).map(|d| d.count()).unwrap_or(0),
        1,
        "nothing written beside it"
    );
}

#[test]
fn a_second_service_on_the_same_state_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let mut first = spawn(&data);
    let out = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = first.child.kill();
    let _ = first.child.wait();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another cascade serve is using this state folder"),
        "{}",
        stderr(&out)
    );
    // Once the first is gone (even by SIGKILL), the folder is free again.
    let mut again = spawn(&data);
    let _ = again.child.kill();
    let _ = again.child.wait();
}

#[test]
fn the_printed_sign_in_link_signs_a_browser_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spawn(&dir.path().join("state"));
    assert!(
        s.login.starts_with(&format!("{}/login?key=", s.url)),
        "{}",
        s.login
    );
    let a: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let r = a.get(&s.login).call().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cookie.starts_with("cascade_session="), "{cookie}");
    let again = a.get(&s.login).call().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.status().as_u16(), 403, "the link works once");
    let page = a
        .get(&format!("{}/", s.url))
        .call()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status().as_u16(), 200);
    let _ = s.child.kill();
    let _ = s.child.wait();
}
