//! `cascade clearing`: published Eisenberg–Noe and Rogers–Veraart values.

use crate::common::{cascade, example, json, stderr};

#[test]
fn clearing_reproduces_the_published_values() {
    // Three banks, external assets −10%: payments [20, 21, 10]; −20%: [18, 19.4285714286, 10].
    let (l, e) = (
        example("three-banks-liabilities.csv"),
        example("three-banks-external.csv"),
    );
    for (shock, want) in [
        ("0.1", [20.0, 21.0, 10.0]),
        ("0.2", [18.0, 19.4285714286, 10.0]),
    ] {
        let o = cascade(&[
            "clearing",
            "--liabilities",
            &l,
            "--external-assets",
            &e,
            "--shock",
            shock,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        for (node, w) in ["A", "B", "C"].iter().zip(want) {
            assert!(
                (v["payments"][node].as_f64().unwrap_or(f64::NAN) - w).abs() < 1e-9,
                "{shock} {node}: {}",
                v["payments"]
            );
        }
        assert!(v["recovery"].get("A").is_some() && v["default_round"].get("C").is_some());
    }
    // Rogers–Veraart, α = β = 0.5: [2, 2.2].
    let o = cascade(&[
        "clearing",
        "--liabilities",
        &example("rv-liabilities.csv"),
        "--external-assets",
        &example("rv-external.csv"),
        "--external-recovery",
        "0.5",
        "--interbank-recovery",
        "0.5",
        "--json",
    ]);
    let v = json(&o);
    assert!(
        (v["payments"]["X"].as_f64().unwrap_or(0.0) - 2.0).abs() < 1e-12
            && (v["payments"]["Y"].as_f64().unwrap_or(0.0) - 2.2).abs() < 1e-12
    );
    // Bad input: exit 2 naming the file.
    let o = cascade(&["clearing", "--liabilities", &e, "--external-assets", &e]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("three-banks-external.csv"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_problem_of_both_files_and_a_node_without_external_assets_are_reported() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p.to_string_lossy().into_owned()
    };
    // C owes A but has no external-assets row: an error, not a silent 0.
    let l = write("L.csv", "debtor,creditor,amount\nA,B,4\nC,A,2\n");
    let e = write("E.csv", "node,external_assets\nA,20\nB,20\n");
    let o = cascade(&["clearing", "--liabilities", &l, "--external-assets", &e]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("E.csv: node: no row for node \"C\""),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("L.csv, row 2"), "{}", stderr(&o));
    // A bad amount in each file: both reported in one run.
    let l = write("L.csv", "debtor,creditor,amount\nA,B,x\nB,A,-1\n");
    let e = write("E.csv", "node,external_assets\nA,20\nB,nan\n");
    let o = cascade(&["clearing", "--liabilities", &l, "--external-assets", &e]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    for says in [
        "L.csv: row 1: amount",
        "L.csv: row 2: amount",
        "E.csv: row 2: external_assets",
    ] {
        assert!(err.lines().any(|line| line.contains(says)), "{says}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}
