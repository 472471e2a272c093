//! `cascade serve` over real HTTP on loopback with a real SQLite file: ingest (token, whole batches,
//! ids, named problems), reads, limits, restart, and no panic on random bodies.

mod common;

use cascade_serve::config::ServeConfig;
use cascade_serve::store::Store;
use common::*;
use serde_json::json;

#[test]
fn ingest_is_authorised_whole_idempotent_and_read_back() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = start(config(dir.path()));
    let a = agent();
    let (code, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(code, 200, "{summary}");
    // alice is below 1 at ETH 2,000; bob is not.
    assert_eq!(below_one(&summary), 1, "{summary}");
    assert_eq!(summary["seq"], 0);

    let prices = json!({"prices": [{"id": "p1", "asset": "ETH", "price": 1800.0}]}).to_string();
    // No token, a wrong token: 401 and nothing applied.
    assert_eq!(post(&a, &s.url("/v1/prices"), None, &prices).0, 401);
    assert_eq!(post(&a, &s.url("/v1/prices"), Some("nope"), &prices).0, 401);
    // With the token: applied. ETH 1,800: bob's HF = 10·1800·0.825/15500 = 0.958 < 1 too.
    let (code, body) = post(&a, &s.url("/v1/prices"), Some(TOKEN), &prices);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (body["applied"].as_u64(), body["duplicates"].as_u64()),
        (Some(1), Some(0))
    );
    let (_, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(below_one(&summary), 2, "{summary}");
    assert_eq!(summary["seq"], 1);
    // The same id again: a no-op.
    let (code, body) = post(&a, &s.url("/v1/prices"), Some(TOKEN), &prices);
    assert_eq!(code, 200);
    assert_eq!(
        (body["applied"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(1))
    );

    // A batch with one bad item is refused whole, naming the item and field.
    let bad = json!({"prices": [
        {"id": "p2", "asset": "ETH", "price": 2500.0},
        {"id": "p3", "asset": "DOGE", "price": 1.0}
    ]})
    .to_string();
    let (code, body) = post(&a, &s.url("/v1/prices"), Some(TOKEN), &bad);
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["items"][0]["index"], 1, "{body}");
    assert_eq!(body["items"][0]["field"], "prices[1].asset", "{body}");
    let bad = json!({"prices": [{"id": "p4", "asset": "ETH", "price": -5}]}).to_string();
    let (code, body) = post(&a, &s.url("/v1/prices"), Some(TOKEN), &bad);
    assert_eq!(code, 422, "{body}");
    assert_eq!(body["items"][0]["field"], "prices[0].price", "{body}");
    let (code, body) = post(
        &a,
        &s.url("/v1/prices"),
        Some(TOKEN),
        "{\"prices\": [{\"id\": \"x\", \"asset\": \"ETH\", \"price\": 1, \"colour\": 1}]}",
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["items"][0]["field"], "prices[0].colour", "{body}");
    let (_, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(summary["seq"], 1, "nothing of a refused batch is applied");

    // Positions: carol opens a healthy account; alice closes hers.
    let changes = json!({"changes": [
        {"id": "c1", "op": "set", "protocol": "lend", "account": "carol", "asset": "ETH", "side": "collateral", "amount": 5.0},
        {"id": "c2", "op": "set", "protocol": "lend", "account": "carol", "asset": "USDC", "side": "debt", "amount": 1000.0},
        {"id": "c3", "op": "close", "protocol": "lend", "account": "alice"}
    ]})
    .to_string();
    let (code, body) = post(&a, &s.url("/v1/positions"), Some(TOKEN), &changes);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["applied"].as_u64(), Some(3));
    let (code, carol) = get(&a, &s.url("/v1/accounts/carol"));
    assert_eq!(code, 200, "{carol}");
    let text = carol.to_string();
    // HF = 5·1800·0.825/1000 = 7.425.
    assert!(text.contains("7.425"), "{text}");
    assert_eq!(get(&a, &s.url("/v1/accounts/nobody")).0, 404);
    let (_, summary) = get(&a, &s.url("/v1/summary"));
    assert_eq!(below_one(&summary), 1, "{summary}");

    // The other reads.
    for path in [
        "/v1/protocols",
        "/v1/protocols/lend",
        "/v1/ladder?asset=ETH",
        "/v1/alerts",
        "/v1/history?metric=debt_usd",
        "/v1/openapi.json",
    ] {
        let (code, body) = get(&a, &s.url(path));
        assert_eq!(code, 200, "{path}: {body}");
    }
    assert_eq!(get(&a, &s.url("/v1/protocols/none")).0, 404);
    assert_eq!(get(&a, &s.url("/v1/ladder")).0, 400);
    assert_eq!(get(&a, &s.url("/v1/nothing")).0, 404);
    let (code, metrics) = get(&a, &s.url("/metrics"));
    assert_eq!(code, 200);
    let m = metrics.as_str().unwrap_or_default().to_string();
    assert!(m.contains("cascade_events_applied_total 4"), "{m}");
    assert!(
        m.contains("cascade_request_seconds_bucket{kind=\"write\""),
        "{m}"
    );
    let (_, doc) = get(&a, &s.url("/v1/openapi.json"));
    assert_eq!(doc["openapi"], "3.1.0");

    // A restart (checkpoint at shutdown) gives the same state.
    s.stop();
    let s = start(config(dir.path()));
    let (_, again) = get(&a, &s.url("/v1/summary"));
    assert_eq!(again["seq"], 4, "{again}");
    assert_eq!(again["debt_usd"], summary["debt_usd"]);
    assert_eq!(below_one(&again), 1);
    s.stop();
}

#[test]
fn limits_answer_413_429_and_closed_reads_401() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = ServeConfig {
        body_limit_bytes: 1024,
        rate_per_second: 1.0,
        rate_burst: 5.0,
        open_reads: false,
        ..config(dir.path())
    };
    let s = start(cfg);
    let a = agent();
    let big = format!(
        "{{\"prices\": [{}]}}",
        vec!["{\"id\": \"x\", \"asset\": \"ETH\", \"price\": 1.0}"; 100].join(",")
    );
    assert_eq!(post(&a, &s.url("/v1/prices"), Some(TOKEN), &big).0, 413);
    // Reads closed: 401 without the token.
    assert_eq!(get(&a, &s.url("/v1/summary")).0, 401);
    let mut codes = Vec::new();
    for _ in 0..10 {
        let r = a
            .get(&s.url("/v1/summary"))
            .header("authorization", &format!("Bearer {TOKEN}"))
            .call()
            .unwrap_or_else(|e| panic!("{e}"));
        codes.push(r.status().as_u16());
    }
    assert!(codes.contains(&429), "{codes:?}");
    s.stop();
}

#[test]
fn random_bodies_never_break_the_service() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = start(config(dir.path()));
    let a = agent();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        "\"prices\"",
        "\"changes\"",
        ":",
        ",",
        "\"id\"",
        "\"asset\"",
        "\"ETH\"",
        "\"price\"",
        "1e308",
        "-0",
        "null",
        "\"op\"",
        "\"set\"",
        "\"close\"",
        "\"amount\"",
        "NaN",
        "\"lend\"",
        "\"protocol\"",
        "\"account\"",
        "\u{0}",
        "\"side\"",
        "\"debt\"",
        "true",
        "99999999999999999999999",
    ];
    for i in 0..300 {
        let n = (next() % 24) as usize;
        let body: String = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let path = ["/v1/prices", "/v1/positions"][i % 2];
        let (code, b) = post(&a, &s.url(path), Some(TOKEN), &body);
        assert!(
            matches!(code, 200 | 400 | 422),
            "{path} {body:?} → {code} {b}"
        );
    }
    for path in [
        "/v1/accounts/%00",
        "/v1/protocols/%FF",
        "/v1/ladder?asset=",
        "/v1/history?metric=x&from=abc",
        "/v1/history?metric=x&from=-1&to=-2",
    ] {
        let code = get(&a, &s.url(path)).0;
        assert!(code < 500, "{path} → {code}");
    }
    assert_eq!(get(&a, &s.url("/v1/summary")).0, 200);
    s.stop();
}

#[test]
fn a_foreign_state_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(data.join("cascade.sqlite"), b"not a database at all")
        .unwrap_or_else(|e| panic!("{e}"));
    let e = Store::open(&data).err().unwrap_or_else(|| panic!("opened"));
    assert!(e.is_usage(), "{e}");
    assert_eq!(
        std::fs::read(data.join("cascade.sqlite")).unwrap_or_default(),
        b"not a database at all"
    );
}

/// Batches posted from many clients at once are written in groups (one transaction, one
/// application): each is still answered on its own, whole; the log has every event once; and the
/// state served is the log's events applied one at a time.
#[test]
fn concurrent_batches_are_grouped_and_equal_the_log_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = start(config(dir.path()));
    let url = s.url("/v1/positions");
    let prices = s.url("/v1/prices");
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let (url, prices) = (url.clone(), prices.clone());
            std::thread::spawn(move || {
                let a = agent();
                let (mut applied, mut duplicates, mut refused) = (0, 0, 0);
                for i in 0..15 {
                    let acc = format!("t{t}-{}", i % 3);
                    let mut changes = vec![
                        json!({"id": format!("c{t}-{i}-a"), "op": "set", "protocol": "lend",
                               "account": acc, "asset": "ETH", "side": "collateral",
                               "amount": 1.0 + (t * 15 + i) as f64}),
                        json!({"id": format!("c{t}-{i}-b"), "op": "set", "protocol": "lend",
                               "account": acc, "asset": "USDC", "side": "debt",
                               "amount": 1000.0 * (1 + i) as f64}),
                    ];
                    if i % 5 == 4 {
                        // Opened by this client's earlier batches, so it exists by now.
                        changes.push(json!({"id": format!("c{t}-{i}-x"), "op": "close",
                                            "protocol": "lend", "account": format!("t{t}-0")}));
                    }
                    let (code, body) = post(&a, &url, Some(TOKEN), &json!({"changes": changes}).to_string());
                    assert_eq!(code, 200, "{body}");
                    applied += body["applied"].as_u64().unwrap_or(0);
                    duplicates += body["duplicates"].as_u64().unwrap_or(0);
                    // The same id from every client: applied once in all.
                    let p = json!({"prices": [{"id": format!("shared-{i}"), "asset": "ETH",
                                               "price": 1900.0 + i as f64}]});
                    let (code, body) = post(&a, &prices, Some(TOKEN), &p.to_string());
                    assert_eq!(code, 200, "{body}");
                    applied += body["applied"].as_u64().unwrap_or(0);
                    duplicates += body["duplicates"].as_u64().unwrap_or(0);
                    if t == 1 && i % 4 == 0 {
                        let bad = json!({"prices": [{"id": format!("bad-{i}"), "asset": "DOGE", "price": 1.0}]});
                        let (code, body) = post(&a, &prices, Some(TOKEN), &bad.to_string());
                        assert_eq!(code, 422, "{body}");
                        refused += 1;
                    }
                }
                (applied, duplicates, refused)
            })
        })
        .collect();
    let (mut applied, mut duplicates) = (0, 0);
    for t in threads {
        let (a, d, _) = t.join().unwrap_or_else(|_| panic!("a client panicked"));
        applied += a;
        duplicates += d;
    }
    // 6 clients × 15 batches × 2 changes, 3 closes each, 15 shared prices sent 6 times.
    assert_eq!(applied, 6 * 15 * 2 + 6 * 3 + 15);
    assert_eq!(duplicates, 15 * 5);
    let (_, summary) = get(&agent(), &s.url("/v1/summary"));
    assert_eq!(summary["seq"].as_u64(), Some(applied), "{summary}");
    s.stop();
    // The log, one event at a time from the snapshot, gives the state that was served.
    let store = Store::open(&dir.path().join("data")).unwrap_or_else(|e| panic!("{e}"));
    let mut live = cascade_serve::live::Live::new(snapshot()).unwrap_or_else(|e| panic!("{e}"));
    let mut n = 0;
    store
        .replay(0, |_, e| {
            let r = live
                .resolve(&e.change)
                .unwrap_or_else(|err| panic!("{err}"));
            live.apply(std::slice::from_ref(&r));
            n += 1;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, applied);
    let replayed = serde_json::to_value(live.summary()).unwrap_or_default();
    assert_eq!(replayed["accounts"], summary["accounts"]);
    assert_eq!(
        below_one(&replayed),
        below_one(&summary),
        "{replayed} vs {summary}"
    );
    for k in ["collateral_usd", "debt_usd"] {
        let (x, y) = (
            replayed[k].as_f64().unwrap_or(f64::NAN),
            summary[k].as_f64().unwrap_or(f64::NAN),
        );
        assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{k}: {x} vs {y}");
    }
}

#[test]
fn a_log_that_opens_and_closes_an_account_replays() {
    use cascade_serve::events::{Change, Event, PositionSide};
    use cascade_serve::server::recover;
    // Two batches, as two requests would log them: dave opens, then closes. Replayed without a
    // checkpoint, both fall in one chunk of the replay; the close must find the account.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let event = |id: &str, change: Change| Event {
        id: id.into(),
        at_ms: 1,
        change,
    };
    let open = |id: &str, account: &str| {
        event(
            id,
            Change::Position {
                protocol: "lend".into(),
                account: account.into(),
                asset: "ETH".into(),
                side: PositionSide::Collateral,
                amount: 3.0,
            },
        )
    };
    store
        .append(&[open("e1", "dave"), open("e2", "erin")])
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .append(&[event(
            "e3",
            Change::Close {
                protocol: "lend".into(),
                account: "dave".into(),
            },
        )])
        .unwrap_or_else(|e| panic!("{e}"));
    let live = recover(snapshot(), &store).unwrap_or_else(|e| panic!("{e}"));
    let s = live.summary();
    assert_eq!(s.seq, 3);
    // alice, bob and erin hold positions; dave has none.
    assert_eq!(s.accounts, 3, "{s:?}");
    assert!(live.account("dave").iter().all(|v| v.positions.is_empty()));
    assert_eq!(live.account("erin")[0].positions[0].tokens, 3.0);
}

/// The adjuster's live recommendations (docs/adjuster.md#live-recommendations) on `/metrics`: none
/// before two ETH prices; after 2,000, 2,020 and 1,999.8 (default `[adjuster]`: λ = 0.94, one
/// update = one hour, α = 0.99, T = 1 day):
///   r = ln 1.01 = 0.00995033, ln 0.99 = −0.01005034;  σ²_1 = 9.900908e-5,
///   σ²_2 = 0.94·9.900908e-5 + 0.06·1.010093e-4 = 9.912909e-5;  σ = √(9.912909e-5·8760) = 0.9318642
///   x = z_99·σ·√(1/365) = 0.1134699;  h = 1 − e^−x = 0.1072690
///   lend/ETH (LT 0.825, LTV 0.80, bonus 0.05): LT* = 0.8927310/1.05 = 0.8502200, LTV* = 0.8252200
#[test]
fn metrics_expose_the_adjusters_live_recommendations() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = start(config(dir.path()));
    let a = agent();
    let metric = |name: &str| -> Option<f64> {
        let (_, m) = get(&a, &s.url("/metrics"));
        let text = m.as_str().unwrap_or_default().to_string();
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    let lt = "cascade_recommended_liquidation_threshold{protocol=\"lend\",asset=\"ETH\"} ";
    for (i, p) in [2000.0, 2020.0, 1999.8].iter().enumerate() {
        let body = json!({"prices": [{"id": format!("r{i}"), "asset": "ETH", "price": p}]});
        let (code, r) = post(&a, &s.url("/v1/prices"), Some(TOKEN), &body.to_string());
        assert_eq!(code, 200, "{r}");
        if i == 0 {
            assert_eq!(metric(lt), None);
            assert_eq!(
                metric("cascade_recommended_volatility{asset=\"ETH\"} "),
                None
            );
        }
    }
    let close = |x: Option<f64>, want: f64| x.is_some_and(|x| (x - want).abs() < 1e-6);
    let sigma = metric("cascade_recommended_volatility{asset=\"ETH\"} ");
    assert!(close(sigma, 0.931_864_2), "{sigma:?}");
    let h = metric("cascade_recommended_haircut{protocol=\"lend\",asset=\"ETH\"} ");
    assert!(close(h, 0.107_269_0), "{h:?}");
    assert!(close(metric(lt), 0.850_220_0), "{:?}", metric(lt));
    let ltv = metric("cascade_recommended_ltv{protocol=\"lend\",asset=\"ETH\"} ");
    assert!(close(ltv, 0.825_220_0), "{ltv:?}");
    // USDC has no price posted: no recommendation for it.
    assert_eq!(
        metric("cascade_recommended_volatility{asset=\"USDC\"} "),
        None
    );
    s.stop();
}
