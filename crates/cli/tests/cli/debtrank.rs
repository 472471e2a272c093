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
