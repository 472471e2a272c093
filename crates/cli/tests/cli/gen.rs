//! `cascade gen`: reproducible systems that load back, identical results whatever the thread count.

use std::path::Path;

use crate::common::{cascade, json, stderr, stdout};

#[test]
fn generated_system_gives_identical_json_with_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().to_str().unwrap_or("");
    let o = cascade(&["gen", "--accounts", "20000", "--seed", "7", "--out-dir", d]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let snap = dir.path().join("snapshot.toml");
    let snap = snap.to_str().unwrap_or("");
    let v = cascade(&["validate", "--snapshot", snap]);
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    let one = cascade(&["--threads", "1", "stress", "--snapshot", snap, "--json"]);
    let two = cascade(&["--threads", "2", "stress", "--snapshot", snap, "--json"]);
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    assert!(
        json(&one)["system"]["accounts_liquidated"]
            .as_u64()
            .unwrap_or(0)
            > 100
    );
    assert_eq!(one.stdout, two.stdout);
    // The same seed gives the same files.
    let dir2 = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = cascade(&[
        "gen",
        "--accounts",
        "20000",
        "--seed",
        "7",
        "--out-dir",
        dir2.path().to_str().unwrap_or(""),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let read = |p: &Path| std::fs::read(p).unwrap_or_default();
    assert_eq!(
        read(&dir.path().join("snapshot.toml")),
        read(&dir2.path().join("snapshot.toml"))
    );
    assert_eq!(
        read(&dir.path().join("positions.parquet")),
        read(&dir2.path().join("positions.parquet"))
    );
}

#[test]
fn gen_adds_a_derivatives_book_that_loads_back() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("g");
    let out_s = out.to_string_lossy().into_owned();
    let o = cascade(&[
        "gen",
        "--accounts",
        "300",
        "--derivative-accounts",
        "40",
        "--options-per-account",
        "3",
        "--format",
        "csv",
        "--out-dir",
        &out_s,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("120 options"), "{}", stderr(&o));
    let snap = out.join("snapshot.toml");
    let o = cascade(&["validate", "--snapshot", &snap.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        said.contains("340 accounts") && said.contains("120 options"),
        "{said}"
    );
}
