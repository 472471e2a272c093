use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use super::*;
use crate::events::PositionSide;

/// A deterministic event for `id`, its kind and numbers chosen by `k`. The numbers have 16–17
/// significant digits (a 17-digit number may not survive serde_json's default parser exactly).
fn event(id: &str, k: u64) -> Event {
    let x = (k as f64 + 0.1 + 0.2) / 7.0;
    let change = match k % 3 {
        0 => Change::Price {
            asset: format!("A{}", k % 5),
            price: x,
        },
        1 => Change::Position {
            protocol: "aave".into(),
            account: format!("acct{}", k % 11),
            asset: "WETH".into(),
            side: if k.is_multiple_of(2) {
                PositionSide::Collateral
            } else {
                PositionSide::Debt
            },
            amount: x * 1e6,
        },
        _ => Change::Close {
            protocol: "aave".into(),
            account: format!("acct{}", k % 11),
        },
    };
    Event {
        id: id.to_string(),
        at_ms: 1_700_000_000_000 + k as i64,
        change,
    }
}

fn events(prefix: &str, range: std::ops::Range<u64>) -> Vec<Event> {
    range.map(|k| event(&format!("{prefix}{k}"), k)).collect()
}

fn replay_all(store: &Store, after: i64) -> Vec<(i64, Event)> {
    let mut out = Vec::new();
    store
        .replay(after, |seq, e| {
            out.push((seq, e));
            Ok(())
        })
        .unwrap();
    out
}

/// The file's bytes and modification time, and the names in its folder.
#[derive(PartialEq)]
struct Untouched {
    bytes: Vec<u8>,
    modified: SystemTime,
    entries: Vec<String>,
}

impl std::fmt::Debug for Untouched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fnv = self.bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
        f.debug_struct("Untouched")
            .field("len", &self.bytes.len())
            .field("fnv1a", &format_args!("{fnv:016x}"))
            .field("modified", &self.modified)
            .field("entries", &self.entries)
            .finish()
    }
}

fn untouched(dir: &Path) -> Untouched {
    let path = dir.join(FILE_NAME);
    let mut entries: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    Untouched {
        bytes: fs::read(&path).unwrap(),
        modified: fs::metadata(&path).unwrap().modified().unwrap(),
        entries,
    }
}

#[test]
fn append_then_replay_round_trips_every_event_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    // WAL, and every commit fsynced (synchronous = FULL = 2).
    let pragma = |name: &str| -> String {
        store
            .conn
            .pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .unwrap()
    };
    assert_eq!(pragma("journal_mode"), "Text(\"wal\")");
    assert_eq!(pragma("synchronous"), "Integer(2)");
    assert_eq!(
        pragma("application_id"),
        format!("Integer({APPLICATION_ID})")
    );
    assert_eq!(pragma("user_version"), format!("Integer({SCHEMA_VERSION})"));
    assert_eq!(store.last_seq().unwrap(), 0);
    assert_eq!(store.event_count().unwrap(), 0);
    assert_eq!(store.append(&[]).unwrap(), Vec::<Option<i64>>::new());

    let mut batch = events("e", 0..30);
    // Numbers whose shortest decimal form serde_json's default parser reads back one ulp off (as
    // checked here): the log must still give them back bit for bit.
    let off_by_one_ulp = [
        0x3ff2_ffff_c32f_2fc8u64,
        0x3fcf_90af_6cc7_5b79,
        0x3fb8_f1aa_d418_a9a0,
    ];
    let misread = off_by_one_ulp.iter().filter(|&&bits| {
        let x = f64::from_bits(bits);
        serde_json::from_str::<f64>(&serde_json::to_string(&x).unwrap()).unwrap() != x
    });
    assert!(misread.count() > 0, "serde_json now parses these exactly");
    for (i, bits) in off_by_one_ulp.into_iter().enumerate() {
        batch.push(Event {
            id: format!("bits{i}"),
            at_ms: -5,
            change: Change::Price {
                asset: "X".into(),
                price: f64::from_bits(bits),
            },
        });
    }
    batch.push(event("neg-zero", 1));
    if let Change::Position { amount, .. } = &mut batch.last_mut().unwrap().change {
        *amount = -0.0;
    }
    let seqs = store.append(&batch).unwrap();
    let expected: Vec<Option<i64>> = (1..=batch.len() as i64).map(Some).collect();
    assert_eq!(seqs, expected);
    assert_eq!(store.last_seq().unwrap(), batch.len() as i64);
    assert_eq!(store.event_count().unwrap(), batch.len() as i64);

    let back = replay_all(&store, 0);
    assert_eq!(back.len(), batch.len());
    for ((seq, got), (i, want)) in back.iter().zip(batch.iter().enumerate()) {
        assert_eq!(*seq, i as i64 + 1);
        assert_eq!(got, want);
        assert_eq!(
            number_of(&got.change).map(f64::to_bits),
            number_of(&want.change).map(f64::to_bits)
        );
    }
    // The JSON text in the file is readable on its own.
    let text: String = store
        .conn
        .query_row("SELECT change FROM events WHERE seq = 1", [], |r| r.get(0))
        .unwrap();
    assert!(text.contains("\"type\":\"price\""), "{text}");

    // Replay from the middle.
    let tail = replay_all(&store, 10);
    assert_eq!(tail.first().map(|(s, _)| *s), Some(11));
    assert_eq!(tail.len(), batch.len() - 10);
    assert!(replay_all(&store, 1_000).is_empty());
}

#[test]
fn replay_stops_at_the_callbacks_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.append(&events("e", 0..10)).unwrap();
    let mut seen = 0;
    let r = store.replay(0, |seq, _| {
        seen += 1;
        if seq == 4 {
            return Err(StoreError::Invalid {
                path: PathBuf::from("x"),
                detail: "stop".into(),
            });
        }
        Ok(())
    });
    assert!(matches!(r, Err(StoreError::Invalid { .. })));
    assert_eq!(seen, 4);
}

#[test]
fn a_replayed_id_is_a_no_op_across_and_within_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.append(&events("e", 0..3)).unwrap(),
        vec![Some(1), Some(2), Some(3)]
    );
    // e1 again (with another change: the first one stays), a new one, a duplicate inside the batch.
    let batch = vec![
        event("e1", 7),
        event("new", 4),
        event("new", 5),
        event("e2", 2),
        event("other", 6),
    ];
    assert_eq!(
        store.append(&batch).unwrap(),
        vec![None, Some(4), None, None, Some(5)]
    );
    // The whole batch again: nothing new.
    assert_eq!(store.append(&batch).unwrap(), vec![None; 5]);
    let back = replay_all(&store, 0);
    let ids: Vec<&str> = back.iter().map(|(_, e)| e.id.as_str()).collect();
    assert_eq!(ids, ["e0", "e1", "e2", "new", "other"]);
    assert_eq!(back[1].1, event("e1", 1));
    assert_eq!(back[3].1, event("new", 4));
    assert_eq!(store.last_seq().unwrap(), 5);
}

#[test]
fn everything_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let alert = AlertRecord {
        rule: "bad_debt".into(),
        key: "".into(),
        state: AlertState::Firing,
        fired_at_ms: 10,
        resolved_at_ms: None,
        value: 1.5e6,
        message: "bad debt above $1M".into(),
        acknowledged: false,
    };
    {
        let mut store = Store::open(&data).unwrap();
        assert_eq!(store.path(), data.join(FILE_NAME));
        store.append(&events("a", 0..20)).unwrap();
        store.checkpoint(15, b"state@15").unwrap();
        store.record_metrics(100, &[("bad_debt_usd", 3.0)]).unwrap();
        store.upsert_alert(&alert).unwrap();
    }
    let mut store = Store::open(&data).unwrap();
    assert_eq!(store.last_seq().unwrap(), 20);
    assert_eq!(
        replay_all(&store, 0)
            .into_iter()
            .map(|(_, e)| e)
            .collect::<Vec<_>>(),
        events("a", 0..20)
    );
    assert_eq!(
        store.latest_checkpoint().unwrap(),
        Some((15, b"state@15".to_vec()))
    );
    assert_eq!(
        store.history("bad_debt_usd", 0, 1000).unwrap(),
        vec![(100, 3.0)]
    );
    assert_eq!(store.alerts(10).unwrap(), vec![alert]);
    // Appending continues the sequence; old ids stay no-ops.
    assert_eq!(
        store.append(&events("a", 19..22)).unwrap(),
        vec![None, Some(21), Some(22)]
    );
}

#[test]
fn checkpoint_then_replay_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest_checkpoint().unwrap(), None);
    store.checkpoint(0, b"empty").unwrap();
    assert_eq!(
        store.latest_checkpoint().unwrap(),
        Some((0, b"empty".to_vec()))
    );

    let all = events("e", 0..50);
    store.append(&all[..30]).unwrap();
    store.checkpoint(30, &[1, 2, 3]).unwrap();
    store.append(&all[30..]).unwrap();

    let (seq, state) = store.latest_checkpoint().unwrap().unwrap();
    assert_eq!((seq, state.as_slice()), (30, &[1u8, 2, 3][..]));
    let rest: Vec<Event> = replay_all(&store, seq)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(rest, all[30..]);

    // A newer checkpoint replaces the older one.
    let big = vec![7u8; 3 << 20];
    store.checkpoint(45, &big).unwrap();
    assert_eq!(store.latest_checkpoint().unwrap(), Some((45, big)));
    let n: i64 = store
        .conn
        .query_row("SELECT count(*) FROM checkpoints", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);

    // A checkpoint past the log's end is refused and changes nothing.
    let e = store.checkpoint(51, b"future").unwrap_err();
    assert!(matches!(e, StoreError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains("0..=50"), "{e}");
    assert!(store.checkpoint(-1, b"x").is_err());
    assert_eq!(store.latest_checkpoint().unwrap().map(|(s, _)| s), Some(45));
}

#[test]
fn a_foreign_sqlite_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = Connection::open(dir.path().join(FILE_NAME)).unwrap();
        c.execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO users (name) VALUES ('ada'), ('grace');",
        )
        .unwrap();
    }
    let before = untouched(dir.path());
    let e = Store::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::Foreign { .. }), "{e}");
    assert!(e.is_usage() && !e.is_full());
    let msg = e.to_string();
    assert!(
        msg.contains("not a cascade store") && msg.contains("users"),
        "{msg}"
    );
    assert!(msg.contains(FILE_NAME), "{msg}");
    assert_eq!(untouched(dir.path()), before);
}

#[test]
fn another_application_id_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = Connection::open(dir.path().join(FILE_NAME)).unwrap();
        c.pragma_update(None, "application_id", 0x1234_5678)
            .unwrap();
    }
    let before = untouched(dir.path());
    let e = Store::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::Foreign { .. }), "{e}");
    assert!(e.to_string().contains("0x12345678"), "{e}");
    assert_eq!(untouched(dir.path()), before);
}

#[test]
fn a_folder_name_with_uri_characters_works() {
    // The inspection opens the file through a `file:` URI: these must be escaped.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("my data %20 #1 ?a=b&c");
    drop(Store::open(&data).unwrap());
    assert!(!data.join(format!("{FILE_NAME}-wal")).exists());
    let mut store = Store::open(&data).unwrap();
    assert_eq!(
        store.append(&events("e", 0..2)).unwrap(),
        vec![Some(1), Some(2)]
    );
    drop(store);
    let store = Store::open(&data).unwrap();
    assert_eq!(store.last_seq().unwrap(), 2);
    drop(store);
    assert_eq!(fs::read_dir(&data).unwrap().count(), 1);
}

#[test]
fn an_empty_sqlite_file_or_empty_file_becomes_a_store() {
    for make in ["zero bytes", "empty database"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        match make {
            "zero bytes" => fs::write(&path, b"").unwrap(),
            _ => {
                let c = Connection::open(&path).unwrap();
                c.execute_batch("CREATE TABLE t (x); DROP TABLE t;")
                    .unwrap();
            }
        }
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.append(&events("e", 0..2)).unwrap(),
            vec![Some(1), Some(2)]
        );
        drop(store);
        let c = Connection::open(&path).unwrap();
        let id: i32 = c
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID, "{make}");
    }
}

#[test]
fn a_text_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join(FILE_NAME),
        "this is not a database, just some notes\n".repeat(200),
    )
    .unwrap();
    let before = untouched(dir.path());
    let e = Store::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::Foreign { .. }), "{e}");
    assert!(e.is_usage());
    assert!(e.to_string().contains("not an SQLite database"), "{e}");
    assert_eq!(untouched(dir.path()), before);
}

/// A store of 3,000 events in 10 batches and nothing else, closed: its middle pages are the log's.
fn log_only_store(dir: &Path) -> u64 {
    let mut store = Store::open(dir).unwrap();
    for b in 0..10 {
        store.append(&events(&format!("b{b}-"), 0..300)).unwrap();
    }
    drop(store);
    fs::metadata(dir.join(FILE_NAME)).unwrap().len()
}

/// A real store of a few hundred pages (the log, then a checkpoint of 100 kB), closed.
fn filled_store(dir: &Path) -> u64 {
    log_only_store(dir);
    let mut store = Store::open(dir).unwrap();
    store.checkpoint(1000, &vec![9u8; 100_000]).unwrap();
    drop(store);
    fs::metadata(dir.join(FILE_NAME)).unwrap().len()
}

/// Overwrites the two pages in the middle of the store of `len` bytes with garbage.
fn damage_middle_pages(dir: &Path, len: u64) {
    let path = dir.join(FILE_NAME);
    let mut bytes = fs::read(&path).unwrap();
    let page = 4096;
    let at = (len as usize / 2) / page * page;
    for (i, b) in bytes[at..at + 2 * page].iter_mut().enumerate() {
        *b = (i * 37 % 251) as u8;
    }
    fs::write(&path, &bytes).unwrap();
}

#[test]
fn a_store_with_damaged_pages_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let len = filled_store(dir.path());
    damage_middle_pages(dir.path(), len);
    let before = untouched(dir.path());
    let e = Store::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(e.is_usage() && !e.is_full());
    assert!(e.to_string().contains("damaged"), "{e}");
    assert_eq!(untouched(dir.path()), before);
}

#[test]
fn a_truncated_store_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let len = filled_store(dir.path());
    let path = dir.path().join(FILE_NAME);
    let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let before = untouched(dir.path());
    let e = Store::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert_eq!(untouched(dir.path()), before);
}

#[test]
fn a_damaged_header_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    filled_store(dir.path());
    let path = dir.path().join(FILE_NAME);
    let mut bytes = fs::read(&path).unwrap();
    // The page size field (offset 16) set to an impossible value.
    bytes[16] = 0x03;
    bytes[17] = 0x01;
    fs::write(&path, &bytes).unwrap();
    let before = untouched(dir.path());
    let e = Store::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert_eq!(untouched(dir.path()), before);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    {
        let c = Connection::open(dir.path().join(FILE_NAME)).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let before = untouched(dir.path());
    let e = Store::open(dir.path()).unwrap_err();
    match &e {
        StoreError::TooNew {
            found, expected, ..
        } => assert_eq!((*found, *expected), (SCHEMA_VERSION + 1, SCHEMA_VERSION)),
        other => panic!("expected TooNew, got {other}"),
    }
    assert!(e.is_usage());
    assert_eq!(untouched(dir.path()), before);
}

#[test]
fn a_full_disk_fails_the_batch_whole_and_keeps_every_acknowledged_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.append(&events("init", 0..10)).unwrap();
    let pages = store.limit_pages_for_test(1).unwrap();
    assert!(pages >= 1);
    assert_eq!(store.limit_pages_for_test(pages + 6).unwrap(), pages + 6);

    let mut acknowledged: Vec<String> = (0..10).map(|k| format!("init{k}")).collect();
    let mut failed = None;
    for b in 0..1_000 {
        // Long ids so that a batch spans several pages.
        let batch = events(&format!("batch{b:04}-{}-", "x".repeat(60)), 0..40);
        match store.append(&batch) {
            Ok(seqs) => {
                assert!(seqs.iter().all(Option::is_some));
                acknowledged.extend(batch.into_iter().map(|e| e.id));
            }
            Err(e) => {
                failed = Some((e, batch));
                break;
            }
        }
    }
    let (e, batch) = failed.expect("the page limit was never reached");
    assert!(e.is_full(), "{e}");
    assert!(!e.is_usage());
    assert!(e.to_string().contains("disk full"), "{e}");
    assert!(acknowledged.len() > 10, "no batch fit");
    // The store still answers, and the same batch fails whole again.
    assert_eq!(store.event_count().unwrap(), acknowledged.len() as i64);
    assert!(store.append(&batch).unwrap_err().is_full());
    drop(store);

    let mut store = Store::open(dir.path()).unwrap();
    let ids: Vec<String> = replay_all(&store, 0)
        .into_iter()
        .map(|(_, e)| e.id)
        .collect();
    assert_eq!(ids, acknowledged);

    // Full again on this connection; once there is room, the same connection takes the batch.
    let pages = store.limit_pages_for_test(1).unwrap();
    store.limit_pages_for_test(pages).unwrap();
    assert!(store.append(&batch).unwrap_err().is_full());
    store.limit_pages_for_test(1 << 30).unwrap();
    assert!(store.append(&batch).unwrap().iter().all(Option::is_some));
    acknowledged.extend(batch.into_iter().map(|e| e.id));
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let ids: Vec<String> = replay_all(&store, 0)
        .into_iter()
        .map(|(_, e)| e.id)
        .collect();
    assert_eq!(ids, acknowledged);
}

#[test]
fn a_nan_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let mut bad = event("p", 0);
    if let Change::Price { price, .. } = &mut bad.change {
        *price = f64::NAN;
    }
    let e = store.append(&[event("ok", 3), bad]).unwrap_err();
    assert!(matches!(e, StoreError::Invalid { .. }), "{e}");
    assert_eq!(store.event_count().unwrap(), 0);
    assert!(store
        .record_metrics(1, &[("a", 1.0), ("b", f64::NAN)])
        .is_err());
    assert!(store.history("a", 0, 10).unwrap().is_empty());
    let alert = AlertRecord {
        rule: "r".into(),
        key: "k".into(),
        state: AlertState::Firing,
        fired_at_ms: 0,
        resolved_at_ms: None,
        value: f64::NAN,
        message: String::new(),
        acknowledged: false,
    };
    assert!(store.upsert_alert(&alert).is_err());
}

#[test]
fn metric_history_round_trips_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    // Recorded out of order; one point replaced.
    for t in [30, 10, 20, 40] {
        store
            .record_metrics(
                t,
                &[
                    ("bad_debt_usd", t as f64 * 1.5),
                    ("min_health", f64::INFINITY),
                ],
            )
            .unwrap();
    }
    store.record_metrics(20, &[("bad_debt_usd", -1.0)]).unwrap();
    assert_eq!(
        store.history("bad_debt_usd", 0, 100).unwrap(),
        vec![(10, 15.0), (20, -1.0), (30, 45.0), (40, 60.0)]
    );
    assert_eq!(
        store.history("bad_debt_usd", 20, 30).unwrap(),
        vec![(20, -1.0), (30, 45.0)]
    );
    assert_eq!(
        store.history("min_health", 40, 40).unwrap(),
        vec![(40, f64::INFINITY)]
    );
    assert!(store.history("nope", 0, 100).unwrap().is_empty());
    assert!(store.history("bad_debt_usd", 50, 0).unwrap().is_empty());

    // Sampling: 101 points down to 5 keeps ranks 0, 25, 50, 75, 100.
    for t in 0..=100 {
        store.record_metrics(1_000 + t, &[("s", t as f64)]).unwrap();
    }
    let s = store.history_sampled("s", 1_000, 1_100, 5).unwrap();
    assert_eq!(
        s,
        vec![
            (1_000, 0.0),
            (1_025, 25.0),
            (1_050, 50.0),
            (1_075, 75.0),
            (1_100, 100.0)
        ]
    );
    assert_eq!(
        store.history_sampled("s", 1_000, 1_100, 1).unwrap(),
        vec![(1_100, 100.0)]
    );
    assert!(store
        .history_sampled("s", 1_000, 1_100, 0)
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .history_sampled("s", 1_000, 1_100, 1_000)
            .unwrap()
            .len(),
        101
    );
    for n in 2..=101 {
        let s = store.history_sampled("s", 1_000, 1_100, n).unwrap();
        assert_eq!(s.len(), n);
        assert_eq!(s.first(), Some(&(1_000, 0.0)));
        assert_eq!(s.last(), Some(&(1_100, 100.0)));
        assert!(s.windows(2).all(|w| w[0].0 < w[1].0));
    }

    assert_eq!(store.prune(1_050).unwrap(), 4 + 4 + 50);
    assert_eq!(store.history("s", 0, 2_000).unwrap().len(), 51);
}

#[test]
fn alerts_upsert_by_rule_and_key_and_list_firing_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let firing = |rule: &str, key: &str, at: i64| AlertRecord {
        rule: rule.into(),
        key: key.into(),
        state: AlertState::Firing,
        fired_at_ms: at,
        resolved_at_ms: None,
        value: at as f64,
        message: format!("{rule} on {key}"),
        acknowledged: false,
    };
    store.upsert_alert(&firing("hf", "acct1", 10)).unwrap();
    store.upsert_alert(&firing("hf", "acct2", 20)).unwrap();
    store.upsert_alert(&firing("bad_debt", "", 30)).unwrap();
    store.upsert_alert(&firing("depeg", "USDC", 5)).unwrap();
    // acct1 resolves; depeg resolves later; bad_debt is acknowledged.
    let mut r1 = firing("hf", "acct1", 10);
    r1.state = AlertState::Resolved;
    r1.resolved_at_ms = Some(40);
    store.upsert_alert(&r1).unwrap();
    let mut r2 = firing("depeg", "USDC", 5);
    r2.state = AlertState::Resolved;
    r2.resolved_at_ms = Some(50);
    store.upsert_alert(&r2).unwrap();
    let mut ack = firing("bad_debt", "", 30);
    ack.acknowledged = true;
    store.upsert_alert(&ack).unwrap();

    let all = store.alerts(10).unwrap();
    let order: Vec<(&str, &str)> = all
        .iter()
        .map(|a| (a.rule.as_str(), a.key.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("bad_debt", ""),
            ("hf", "acct2"),
            ("depeg", "USDC"),
            ("hf", "acct1")
        ]
    );
    assert_eq!(all[0], ack);
    assert_eq!(all[3], r1);
    assert_eq!(store.alerts(2).unwrap().len(), 2);
    assert_eq!(store.alert("hf", "acct1").unwrap(), Some(r1));
    assert_eq!(store.alert("hf", "acct9").unwrap(), None);

    let json = serde_json::to_value(&all[0]).unwrap();
    assert_eq!(json["state"], "firing");
    assert_eq!(json["acknowledged"], true);

    // Pruning drops alerts resolved before the cut, never firing ones.
    assert_eq!(store.prune(45).unwrap(), 1);
    assert_eq!(store.alerts(10).unwrap().len(), 3);
}

#[test]
fn an_acknowledgement_stays_with_its_crossing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let rec = |state, fired_at_ms, resolved_at_ms| AlertRecord {
        rule: "bad_debt".into(),
        key: String::new(),
        state,
        fired_at_ms,
        resolved_at_ms,
        value: 1.0,
        message: "m".into(),
        acknowledged: false,
    };
    assert!(
        !store.acknowledge_alert("bad_debt", "").unwrap(),
        "nothing to acknowledge yet"
    );
    store
        .upsert_alert(&rec(AlertState::Firing, 10, None))
        .unwrap();
    assert!(store.acknowledge_alert("bad_debt", "").unwrap());
    assert!(store.alert("bad_debt", "").unwrap().unwrap().acknowledged);
    // The same crossing resolves: still acknowledged.
    store
        .upsert_alert(&rec(AlertState::Resolved, 10, Some(20)))
        .unwrap();
    let a = store.alert("bad_debt", "").unwrap().unwrap();
    assert_eq!((a.state, a.acknowledged), (AlertState::Resolved, true));
    assert_eq!(store.firing_alerts().unwrap(), 0);
    // A new crossing starts unacknowledged.
    store
        .upsert_alert(&rec(AlertState::Firing, 30, None))
        .unwrap();
    assert!(!store.alert("bad_debt", "").unwrap().unwrap().acknowledged);
    assert!(!store.acknowledge_alert("other", "").unwrap());
}

// ---- crash safety ----

/// Environment variable that turns [`crash_child`] into the appender of [`kill_9_loses_nothing_acknowledged`].
const CHILD_DIR: &str = "CASCADE_STORE_CRASH_DIR";
const CHILD_ROUND: &str = "CASCADE_STORE_CRASH_ROUND";
/// New events per batch of the child.
const CHILD_BATCH: u64 = 25;

fn child_id(round: u64, batch: u64, j: u64) -> String {
    format!("r{round}-b{batch}-e{j}")
}

fn child_event(id: &str) -> Event {
    let k = id
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    event(id, k % 100_003)
}

/// Helper process of [`kill_9_loses_nothing_acknowledged`]; a no-op in a normal test run. Appends
/// batches forever, each one retrying the first id of the batch before, and prints the ids of every
/// acknowledged batch on one line.
#[test]
fn crash_child() {
    let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ROUND)) else {
        return;
    };
    let round: u64 = round.parse().unwrap();
    let mut store = Store::open(Path::new(&dir)).unwrap();
    for b in 0..1_000_000 {
        let mut batch = Vec::new();
        if b > 0 {
            batch.push(child_event(&child_id(round, b - 1, 0)));
        }
        batch.extend((0..CHILD_BATCH).map(|j| child_event(&child_id(round, b, j))));
        let seqs = store.append(&batch).unwrap();
        assert_eq!(seqs[0].is_none(), b > 0);
        assert!(seqs[usize::from(b > 0)..].iter().all(Option::is_some));
        let ids: Vec<&str> = batch[usize::from(b > 0)..]
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        println!("ACK {}", ids.join(" "));
    }
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let rounds = 4u64;
    let mut acknowledged: Vec<HashSet<String>> = Vec::new();
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store::tests::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_ROUND, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let wait_for = 2 + next() % 12;
        let mut acked = HashSet::new();
        let mut line = String::new();
        let mut seen = 0;
        while seen < wait_for {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("round {round}: the child ended after {seen} batches: {err}");
            }
            // The first line may follow the harness's "test … ... " on the same line.
            if let Some((_, ids)) = line.trim_end().split_once("ACK ") {
                acked.extend(ids.split(' ').map(str::to_string));
                seen += 1;
            }
        }
        // Kill it at some moment of a later append (mid-transaction, mid-commit, mid-print).
        std::thread::sleep(std::time::Duration::from_micros(next() % 4_000));
        child.kill().unwrap();
        child.wait().unwrap();
        // Batches acknowledged before the kill whose line was still in the pipe; a line cut short
        // was never fully printed and counts as not acknowledged.
        loop {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 || !line.ends_with('\n') {
                break;
            }
            if let Some((_, ids)) = line.trim_end().split_once("ACK ") {
                acked.extend(ids.split(' ').map(str::to_string));
            }
        }
        // The kill left the WAL behind: the next open recovers from it.
        assert!(dir.path().join(format!("{FILE_NAME}-wal")).exists());
        eprintln!(
            "round {round}: {} batches acknowledged",
            acked.len() as u64 / CHILD_BATCH
        );
        acknowledged.push(acked);
    }

    let store = Store::open(dir.path()).unwrap();
    let log = replay_all(&store, 0);
    // seq contiguous from 1, ids unique, each event as it was generated.
    let mut ids = HashSet::new();
    for (i, (seq, e)) in log.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1);
        assert!(ids.insert(e.id.clone()), "{} twice", e.id);
        assert_eq!(*e, child_event(&e.id));
    }
    // Every acknowledged id is in the log.
    for (round, acked) in acknowledged.iter().enumerate() {
        for id in acked {
            assert!(
                ids.contains(id),
                "round {round}: acknowledged {id} is missing"
            );
        }
    }
    // Batches are all-or-nothing, in order, and at most one batch past the last acknowledged one
    // is in the log (committed, killed before it was printed).
    let mut batches: BTreeMap<(u64, u64), Vec<u64>> = BTreeMap::new();
    let mut order = Vec::new();
    for (_, e) in &log {
        let parts: Vec<u64> = e.id.split('-').map(|p| p[1..].parse().unwrap()).collect();
        let key = (parts[0], parts[1]);
        if order.last() != Some(&key) {
            order.push(key);
        }
        batches.entry(key).or_default().push(parts[2]);
    }
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "batches out of order");
    for (key, js) in &batches {
        assert_eq!(
            *js,
            (0..CHILD_BATCH).collect::<Vec<_>>(),
            "batch {key:?} partial"
        );
    }
    let mut per_round: HashMap<u64, Vec<u64>> = HashMap::new();
    for (r, b) in batches.keys() {
        per_round.entry(*r).or_default().push(*b);
    }
    for round in 0..rounds {
        let present = per_round.remove(&round).unwrap_or_default();
        assert_eq!(
            present,
            (0..present.len() as u64).collect::<Vec<_>>(),
            "round {round}"
        );
        let acked_batches = acknowledged[round as usize].len() as u64 / CHILD_BATCH;
        eprintln!("round {round}: {} batches in the log", present.len());
        assert!(
            present.len() as u64 == acked_batches || present.len() as u64 == acked_batches + 1,
            "round {round}: {} batches in the log, {acked_batches} acknowledged",
            present.len()
        );
    }
}

#[test]
fn a_large_store_opens_at_once_and_its_log_is_checked_after_start() {
    let dir = tempfile::tempdir().unwrap();
    let len = log_only_store(dir.path());
    damage_middle_pages(dir.path(), len);
    // Checked whole at open (the default limit, far above this file): refused.
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Corrupt { .. })
    ));
    // Above the limit: opens (header, length and the small tables are sound), the check after
    // start finds the damaged log, and from then on nothing is appended.
    let mut store = Store::open_checking(dir.path(), 0).unwrap();
    let check = store.deferred_check().expect("a file above the limit");
    assert!(store.deferred_check().is_none(), "handed out once");
    let e = check.run().unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    let e = store.append(&events("late-", 0..1)).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(
        e.to_string().contains("found by the check after start"),
        "{e}"
    );
}

#[test]
fn a_sound_large_store_passes_the_check_after_start_and_keeps_appending() {
    let dir = tempfile::tempdir().unwrap();
    log_only_store(dir.path());
    let mut store = Store::open_checking(dir.path(), 0).unwrap();
    let check = store.deferred_check().expect("a file above the limit");
    // The check reads beside the writer.
    let appended = store.append(&events("during-", 0..5)).unwrap();
    assert_eq!(appended.len(), 5);
    check.run().unwrap();
    assert_eq!(store.append(&events("after-", 0..1)).unwrap(), [Some(3006)]);
    // A file under the limit was checked whole at open: nothing left for later.
    drop(store);
    let mut store = Store::open(dir.path()).unwrap();
    assert!(store.deferred_check().is_none());
}

#[test]
fn a_truncated_large_store_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let len = log_only_store(dir.path());
    let path = dir.path().join(FILE_NAME);
    let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let before = untouched(dir.path());
    let e = Store::open_checking(dir.path(), 0).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    assert_eq!(untouched(dir.path()), before);
}
