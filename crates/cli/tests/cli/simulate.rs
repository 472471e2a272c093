//! `cascade simulate`: JSON keys, thread independence, bad arguments.

use crate::common::{cascade, json, stderr};

#[test]
fn simulate_json_keys_threads_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("paths.parquet");
    let args = [
        "simulate",
        "--paths",
        "300",
        "--horizon-days",
        "7",
        "--seed",
        "5",
        "--dist",
        "t",
        "--dof",
        "4",
        "--json",
    ];
    let one = cascade(
        &[
            &["--threads", "1"],
            &args[..],
            &["--per-path", out.to_str().unwrap_or("")],
        ]
        .concat(),
    );
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    let two = cascade(&[&["--threads", "2"], &args[..]].concat());
    assert_eq!(one.stdout, two.stdout);
    let v = json(&one);
    for k in [
        "var_95_usd",
        "var_99_usd",
        "es_95_usd",
        "es_99_usd",
        "lar_95_usd",
        "p_bad_debt",
        "var_99_usd_ci",
        "es_99_usd_ci",
    ] {
        assert!(v["system"].get(k).is_some(), "system.{k}");
        assert!(v["protocols"][0].get(k).is_some(), "protocols[0].{k}");
    }
    assert_eq!(v["paths"], 300);
    assert!(std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) > 0);
    // Bad arguments: exit 2, nothing written.
    let bad = dir.path().join("bad.parquet");
    for a in [
        vec!["simulate", "--paths", "0"],
        vec!["simulate", "--dist", "t", "--dof", "2"],
        vec!["simulate", "--jump", "NOPE=0.1:-0.2"],
        vec!["simulate", "--jump", "stETH=1.5:-0.2"],
        vec!["simulate", "--confidence", "0.95,1.2"],
    ] {
        let o = cascade(&[&a[..], &["--per-path", bad.to_str().unwrap_or("")]].concat());
        assert_eq!(o.status.code(), Some(2), "{a:?}: {}", stderr(&o));
    }
    assert!(!bad.exists());
}
