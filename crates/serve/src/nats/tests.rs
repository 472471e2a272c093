use std::time::Duration;

use super::*;
use crate::config::ServeConfig;

fn load(text: &str) -> Result<ServeConfig, String> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("serve.toml");
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    ServeConfig::load(&p).map_err(|d| d.to_string())
}

#[test]
fn no_table_no_nats_and_defaults_for_an_empty_one() {
    assert_eq!(load("").map(|c| c.nats), Ok(None));
    let c = load("[nats]\n").unwrap_or_else(|e| panic!("{e}"));
    let n = c.nats.unwrap_or_else(|| panic!("[nats] read as none"));
    assert_eq!(n, NatsConfig::default());
    assert_eq!(n.prices_subject(), "cascade.prices");
    assert_eq!(n.positions_subject(), "cascade.positions");
    assert_eq!(n.alerts_subject(), "cascade.alerts");
}

#[test]
fn every_key_read() {
    let c = load(
        "listen = \"127.0.0.1:9000\"\n[nats]\nurl = \"nats://10.0.0.5:4333\"\nstream = \"RISK\"\n\
         subject_prefix = \"desk.risk\"\nconsumer = \"monitor-1\"\nbatch_messages = 50\n\
         ack_wait_seconds = 12\nretry_seconds = 0.5\nmax_backoff_seconds = 3\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let n = c.nats.unwrap_or_else(|| panic!("no [nats]"));
    assert_eq!(
        n,
        NatsConfig {
            url: "nats://10.0.0.5:4333".into(),
            stream: "RISK".into(),
            subject_prefix: "desk.risk".into(),
            consumer: "monitor-1".into(),
            batch_messages: 50,
            ack_wait: Duration::from_secs(12),
            retry_delay: Duration::from_millis(500),
            max_backoff: Duration::from_secs(3),
        }
    );
    assert_eq!(n.positions_subject(), "desk.risk.positions");
}

#[test]
fn every_problem_with_its_line() {
    let e = load(
        "[nats]\nurl = \"http://x\"\nstream = \"a.b\"\nsubject_prefix = \"cascade.>\"\n\
         consumer = \"\"\nbatch_messages = 2.5\nack_wait_seconds = -1\ncolour = 1\n",
    )
    .err()
    .unwrap_or_default();
    for (line, key) in [
        (2, "url"),
        (3, "stream"),
        (4, "subject_prefix"),
        (5, "consumer"),
        (6, "batch_messages"),
        (7, "ack_wait_seconds"),
        (8, "colour"),
    ] {
        assert!(
            e.contains(&format!(":{line}:")) && e.contains(key),
            "line {line} {key}: {e}"
        );
    }
    let e = load("nats = 3\n").err().unwrap_or_default();
    assert!(e.contains(":1:") && e.contains("nats"), "{e}");
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let mut b = Backoff::new(Duration::from_millis(500));
    let steps: Vec<u128> = (0..5).map(|_| b.step().as_millis()).collect();
    assert_eq!(steps, [100, 200, 400, 500, 500]);
    b.reset();
    assert_eq!(b.step(), Duration::from_millis(100));
}

#[test]
fn suspects_alone_and_the_rest_in_order() {
    let suspect = [false, false, true, false, false, true, true, false];
    let groups = split_runs((0..8).collect(), &suspect);
    assert_eq!(
        groups,
        vec![vec![0, 1], vec![2], vec![3, 4], vec![5], vec![6], vec![7]]
    );
}
