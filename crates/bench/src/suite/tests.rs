use super::clearing::fixed_point_residual;
use super::*;
use crate::networks::ClearingInput;
use cascade_contagion::clearing::{clear_matrix, Clearing, ClearingOptions};

#[test]
fn settings_follow_the_mode() {
    let quick = Config {
        quick: true,
        runs: 3,
        workloads: None,
        emit: Some(PathBuf::from("out")),
        seed: 7,
    };
    assert_eq!(
        quick.settings(),
        Settings {
            runs: 3,
            judged: false,
            emit: Some(PathBuf::from("out")),
            sizes: Sizes::QUICK,
            seed: 7,
        }
    );
    let full = Config {
        quick: false,
        emit: None,
        ..quick
    }
    .settings();
    assert!(full.judged);
    assert_eq!((full.sizes, full.emit, full.runs), (Sizes::FULL, None, 3));
}

#[test]
fn unknown_workloads_are_refused() {
    let c = Config {
        quick: true,
        runs: 1,
        workloads: Some(vec!["health_scan".into(), "warp".into()]),
        emit: None,
        seed: 1,
    };
    match c.validate() {
        Err(BenchError::UnknownWorkload { name, .. }) => assert_eq!(name, "warp"),
        other => panic!("expected UnknownWorkload, got {other:?}"),
    }
}

#[test]
fn fixed_point_residual_of_a_hand_worked_network() {
    // A owes B 10, B owes A 5; e_A = 2, e_B = 1. Solvent B pays 5, so A has 2 + 5 = 7 < 10:
    // A defaults and pays 7; B has 1 + 7 = 8 ≥ 5. p = (7, 5).
    let liabilities =
        cascade_contagion::network::Csr::from_triplets(2, 2, &[(0, 1, 10.0), (1, 0, 5.0)]).unwrap();
    let net = ClearingInput {
        liabilities,
        external_assets: vec![2.0, 1.0],
        external_liabilities: vec![0.0, 0.0],
    };
    let c = clear_matrix(
        &net.liabilities,
        &net.external_assets,
        &net.external_liabilities,
        &ClearingOptions::default(),
    )
    .unwrap();
    assert_eq!(c.payments, [7.0, 5.0]);
    assert_eq!(fixed_point_residual(&net, &c), 0.0);
    let wrong = Clearing {
        payments: vec![8.0, 5.0],
        ..c
    };
    // |8 − min(10, 2 + 5)| / 10 = 0.1
    assert!((fixed_point_residual(&net, &wrong) - 0.1).abs() < 1e-15);
}
