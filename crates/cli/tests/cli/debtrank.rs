//! `cascade debtrank`: both variants on the example network.

use crate::common::{cascade, example, json, stderr};

#[test]
fn debtrank_both_variants() {
    // examples/networks/README.md: shock A by 0.5 — original: stress [0.65, 0.2, 0.25], DebtRank 0.1125;
    // differential: [1, 0.4, 0.5], DebtRank 0.225.
    let (x, q) = (
        example("debtrank-exposures.csv"),
        example("debtrank-equity.csv"),
    );
    for (variant, want, dr) in [
        ("original", [0.65, 0.2, 0.25], 0.1125),
        ("differential", [1.0, 0.4, 0.5], 0.225),
    ] {
        let o = cascade(&[
            "debtrank",
            "--exposures",
            &x,
            "--equity",
            &q,
            "--shock",
            "A=0.5",
            "--variant",
            variant,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        for (node, w) in ["A", "B", "C"].iter().zip(want) {
            assert!(
                (v["stress"][node].as_f64().unwrap_or(f64::NAN) - w).abs() < 1e-9,
                "{variant} {node}: {}",
                v["stress"]
            );
        }
        assert!((v["debtrank"].as_f64().unwrap_or(f64::NAN) - dr).abs() < 1e-9);
        assert!(v.get("additional_stress").is_some() && v.get("rounds").is_some());
    }
    assert_eq!(
        cascade(&[
            "debtrank",
            "--exposures",
            &x,
            "--equity",
            &q,
            "--shock",
            "Z=0.5"
        ])
        .status
        .code(),
        Some(2)
    );
}

/// A 9-edge network (from a fuzzing find) whose differential DebtRank used to run 10,000 rounds and
/// report `converged: false`: A and C are exposed to each other beyond their equity (impact 1 both
/// ways), so stress reaching them circled undamped, growing by 0.00015 a round.
fn nine_edges(dir: &tempfile::TempDir) -> (String, String) {
    let x = dir.path().join("x.csv");
    let q = dir.path().join("q.csv");
    std::fs::write(
        &x,
        "creditor,debtor,amount\nB,B,3\nC,A,10\nE,B,0.5\nC,C,11\nB,D,1\nA,C,20\nD,B,20\nD,E,20\nA,E,3\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&q, "node,equity\nA,10\nB,100\nC,5\nD,10\nE,10\n")
        .unwrap_or_else(|e| panic!("{e}"));
    (
        x.to_string_lossy().into_owned(),
        q.to_string_lossy().into_owned(),
    )
}

#[test]
fn a_loop_of_full_impacts_converges_at_once() {
    // Impacts W (debtor → creditor, min(1, exposure / creditor's equity); self-exposures dropped):
    // D→B 1/100 = 0.01, B→E 0.5/10 = 0.05, B→D 20/10 → 1, E→D 1, E→A 3/10 = 0.3, A→C 10/5 → 1,
    // C→A 20/10 → 1. Shock D = 1:
    // round 1: B = 0.01; round 2: E = 0.05·0.01 = 0.0005 (D is already at 1);
    // round 3: A = 0.3·0.0005 > 0, and A ↔ C is a loop of full impacts: both end at 1;
    // round 4: A and C pass their increments to each other, both already at 1: done.
    // DebtRank (weights = equity, V = 135): (10·1 + 100·0.01 + 5·1 + 10·0.0005) / 135 = 16.005/135.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (x, q) = nine_edges(&dir);
    let o = cascade(&[
        "debtrank",
        "--exposures",
        &x,
        "--equity",
        &q,
        "--shock",
        "D=1",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let v = json(&o);
    assert_eq!(v["converged"], true);
    assert_eq!(v["rounds"], 4);
    for (node, want) in [
        ("A", 1.0),
        ("B", 0.01),
        ("C", 1.0),
        ("D", 1.0),
        ("E", 0.0005),
    ] {
        let got = v["stress"][node].as_f64().unwrap_or(f64::NAN);
        assert!((got - want).abs() < 1e-15, "{node}: {got}");
    }
    let dr = v["debtrank"].as_f64().unwrap_or(f64::NAN);
    assert!((dr - 16.005 / 135.0).abs() < 1e-15, "{dr}");
    // Every node alone: each run ends within a few rounds, none stopped by the cap.
    let o = cascade(&["debtrank", "--exposures", &x, "--equity", &q, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let v = json(&o);
    let rows = v["by_node"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 5);
    assert!(
        rows.iter()
            .all(|r| r["rounds"].as_u64().is_some_and(|n| n <= 5)),
        "{v}"
    );
}

#[test]
fn stress_by_round_only_when_asked() {
    let (x, q) = (
        example("debtrank-exposures.csv"),
        example("debtrank-equity.csv"),
    );
    let base = [
        "debtrank",
        "--exposures",
        &x,
        "--equity",
        &q,
        "--shock",
        "A=0.5",
        "--variant",
        "original",
        "--json",
    ];
    let v = json(&cascade(&base));
    assert!(v.get("stress_by_round").is_none(), "{v}");
    let o = cascade(&[&base[..], &["--stress-by-round"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    // examples/networks/README.md: original variant, 2 rounds: [0.5,0,0], [0.5,0.2,0.15], [0.65,0.2,0.25].
    let by_round = v["stress_by_round"].as_array().cloned().unwrap_or_default();
    assert_eq!(by_round.len(), 3, "{v}");
    assert_eq!(by_round[0]["A"], 0.5);
    assert_eq!(by_round[1]["B"], 0.2);
    assert_eq!(by_round[2]["A"], 0.65);
    // Without a shock each node runs alone: nothing to list by round.
    let o = cascade(&[
        "debtrank",
        "--exposures",
        &x,
        "--equity",
        &q,
        "--stress-by-round",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--stress-by-round needs --shock"),
        "{}",
        stderr(&o)
    );
}
