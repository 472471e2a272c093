//! `cascade bench`: keys, workload selection, the peers' reference files, Markdown ratios.
//! Quick mode with one run and a few workloads: these check outputs, they do not time anything.

use crate::common::{cascade, json, stderr, stdout};

#[test]
fn bench_quick_json_has_the_report_keys() {
    let o = cascade(&[
        "bench",
        "--quick",
        "--json",
        "--runs",
        "1",
        "--workloads",
        "stream,health_scan,en_dense,portfolio_margin",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["mode"], "quick");
    for k in ["cpu_model", "cores", "threads", "memory_gib"] {
        assert!(!v["machine"][k].is_null(), "machine.{k}: {v}");
    }
    let b = &v["bandwidth"];
    for k in [
        "copy_1t_gb_s",
        "triad_1t_gb_s",
        "copy_all_gb_s",
        "triad_all_gb_s",
    ] {
        assert!(b[k].as_f64().is_some_and(|x| x > 0.0), "bandwidth.{k}: {b}");
    }
    let w = v["workloads"].as_array().expect("workloads");
    let names: Vec<&str> = w.iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, ["health_scan", "portfolio_margin", "en_dense"]);
    for m in w {
        for k in ["median_s", "min_s", "max_s", "throughput_per_s", "items"] {
            assert!(m[k].as_f64().is_some_and(|x| x > 0.0), "{k}: {m}");
        }
        assert_eq!(m["runs"], 1);
        assert!(
            m["target_met"].is_null(),
            "quick mode judges no target: {m}"
        );
        assert!(!m["checks"].as_array().expect("checks").is_empty());
    }
    // bytes touched / median / triad bandwidth
    let h = &w[0];
    let share = h["bytes_per_run"].as_f64().unwrap_or(0.0)
        / h["median_s"].as_f64().unwrap_or(1.0)
        / 1e9
        / b["triad_all_gb_s"]
            .as_f64()
            .unwrap_or(1.0)
            .max(b["triad_1t_gb_s"].as_f64().unwrap_or(1.0));
    assert!((h["bandwidth_share"].as_f64().unwrap_or(0.0) - share).abs() <= 1e-9 * share);
    assert_eq!(h["items"], 5000.0);
    assert_eq!(
        w[1]["items"], 2000.0,
        "the quick portfolio-margin book: {}",
        w[1]
    );
    assert_eq!(w[2]["size"], "n = 150, 22,350 liabilities");
    assert!(
        v["skipped"].as_array().is_none_or(|s| s.is_empty()),
        "{}",
        v["skipped"]
    );
}

#[test]
fn bench_refuses_an_unknown_workload() {
    let o = cascade(&["bench", "--quick", "--workloads", "health_scan,warp"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value 'warp' for '--workloads <NAME,…>'")
            && stderr(&o).contains("[possible values: stream, snapshot_load,"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bench_emit_writes_npy_references_and_render_puts_peer_ratios() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().to_string_lossy().to_string();
    let o = cascade(&[
        "bench",
        "--quick",
        "--json",
        "--runs",
        "1",
        "--workloads",
        "en_dense,en_sparse",
        "--out-dir",
        &d,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // .npy: 10 bytes of magic, version and header length, the header, then 8 bytes per value.
    for (file, values) in [
        ("en_dense_payments.npy", 150),
        ("en_sparse_payments.npy", 3_000),
        ("en_dense_liabilities.npy", 150 * 150),
    ] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!(bytes.len(), 10 + header + 8 * values, "{file}");
    }
    let report = dir.path().join("cascade.json");
    std::fs::write(&report, &o.stdout).unwrap_or_else(|e| panic!("{e}"));
    let v = json(&o);
    let cascade_per_s = v["workloads"][0]["throughput_per_s"]
        .as_f64()
        .unwrap_or(0.0);
    // A peer doing one clearing in 0.25 s: 4 clearings/s; and one that disagrees.
    let peers = serde_json::json!({"environment": "test", "peers": [
        {"name": "slow peer", "workload": "en_dense", "items": 1.0, "unit": "clearings", "runs": 1,
         "median_s": 0.25, "max_diff": 1e-12, "tolerance": 1e-9, "check": "p", "agrees": true,
         "target_ratio": 20.0},
        {"name": "wrong peer", "workload": "en_dense", "items": 1.0, "unit": "clearings", "runs": 1,
         "median_s": 0.001, "max_diff": 0.5, "tolerance": 1e-9, "check": "p", "agrees": false}
    ]});
    let peers_path = dir.path().join("peers.json");
    std::fs::write(&peers_path, peers.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let o = cascade(&[
        "bench",
        "--render",
        &report.to_string_lossy(),
        "--peers",
        &peers_path.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.starts_with("# Benchmarks"), "{md}");
    assert!(md.contains("bench/run.sh"));
    let ratio = format!("**{:.1}×**", cascade_per_s / 4.0);
    assert!(md.contains(&ratio), "expected {ratio} in:\n{md}");
    assert!(md.contains("| wrong peer | `en_dense` |"), "{md}");
    assert!(md.contains("not counted"), "{md}");
}
