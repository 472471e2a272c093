use super::*;

/// The dense storage of a dense network gives every node the same inflow as the CSR transpose
/// (to rounding: the summation order differs), so both paths clear alike.
#[test]
fn dense_and_sparse_weights_agree() {
    let n = 37;
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    if i == j {
                        0.0
                    } else {
                        ((i * 31 + j * 17) % 13) as f64 + 0.5
                    }
                })
                .collect()
        })
        .collect();
    let l = match Csr::from_dense(&rows) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    let obligations: Vec<f64> = l.row_sums().iter().map(|s| s + 3.0).collect();
    let dense = Weights::new(&l, &obligations);
    assert!(matches!(dense, Weights::Dense { .. }));
    let sparse = Weights::Sparse(l.transpose_map(|j, _, x| x / obligations[j]));
    let p: Vec<f64> = (0..n).map(|i| 1.0 + (i % 7) as f64 * 0.3).collect();
    for i in 0..n {
        let (a, b) = (dense.inflow(&p, i), sparse.inflow(&p, i));
        // By hand for node 0: Σ_j L_j0 / p̄_j · p_j.
        if i == 0 {
            let by_hand: f64 = (0..n).map(|j| rows[j][0] / obligations[j] * p[j]).sum();
            assert!((a - by_hand).abs() <= 1e-12 * by_hand);
        }
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "node {i}: {a} vs {b}"
        );
    }
    // A sparse network stays sparse.
    let mut thin = vec![vec![0.0; n]; n];
    thin[0][1] = 5.0;
    let l = match Csr::from_dense(&thin) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    assert!(matches!(Weights::new(&l, &[5.0; 37]), Weights::Sparse(_)));
}

#[test]
fn dot_sums_every_term() {
    let a: Vec<f64> = (1..=11).map(f64::from).collect();
    let b = vec![2.0; 11];
    assert_eq!(dot(&a, &b), 132.0);
    assert_eq!(dot(&[], &[]), 0.0);
}

mod fast;
