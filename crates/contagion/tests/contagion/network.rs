//! Network files, Eisenberg–Noe / Rogers–Veraart clearing and DebtRank (docs/contagion.md#eisenberg-noe-clearing).

use cascade_contagion::clearing::{clear, ClearingOptions};
use cascade_contagion::debtrank::{
    debtrank, each_node_alone, impact_matrix, shock_vector, DebtRankOptions, Variant,
};
use cascade_contagion::network::{Csr, Network, NetworkFile, NetworkTables};
use proptest::prelude::*;

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

// ---------------------------------------------------------------------------------------------
// Reading networks
// ---------------------------------------------------------------------------------------------

/// The network of the files `files` (kind, name, text), read as `cascade_io` reads them.
fn network(files: &[(NetworkFile, &str, &str)]) -> Network {
    let mut t = NetworkTables::new();
    for (kind, name, text) in files {
        t.read_from(*kind, name, text.as_bytes()).unwrap();
    }
    Network::try_from(t).unwrap()
}

#[test]
fn sparse_liabilities_add_duplicates_and_index_nodes_across_files() {
    let net = network(&[
        (
            NetworkFile::Liabilities,
            "L.csv",
            "debtor,creditor,amount\nbank A,B,2\nB,bank A,2.2\nbank A,B,0.5\n",
        ),
        (
            NetworkFile::ExternalAssets,
            "E.csv",
            "node,external_assets,external_liabilities\nB,1,\nC,3,4\nbank A,1,0.25\n",
        ),
    ]);
    assert_eq!(net.names, ["bank A", "B", "C"]);
    assert_eq!(net.liabilities.get(0, 1), 2.5);
    assert_eq!(net.liabilities.get(1, 0), 2.2);
    assert_eq!(net.liabilities.nnz(), 2);
    assert_eq!(net.external_assets, [1.0, 1.0, 3.0]);
    assert_eq!(net.external_liabilities, [0.25, 0.0, 4.0]);
    assert_eq!(net.index_of("C"), Some(2));
}

#[test]
fn dense_liabilities_are_detected_by_an_empty_first_header_cell() {
    let net = network(&[(
        NetworkFile::Liabilities,
        "L.csv",
        ",x,y,z\nz,2,0,0\nx,0,4,0\ny,0,0,3\n",
    )]);
    assert_eq!(net.names, ["x", "y", "z"]);
    assert_eq!(
        net.liabilities.to_dense(),
        [[0.0, 4.0, 0.0], [0.0, 0.0, 3.0], [2.0, 0.0, 0.0]]
    );
}

#[test]
fn exposures_and_equity_with_default_weight() {
    let net = network(&[
        (
            NetworkFile::Exposures,
            "X.csv",
            "creditor,debtor,amount\nA,B,4\nA,B,1\n",
        ),
        (
            NetworkFile::Equity,
            "Q.csv",
            "node,equity,weight\nA,10,\nB,5,7\n",
        ),
    ]);
    assert_eq!(net.exposures.get(0, 1), 5.0);
    assert_eq!(net.equity, [10.0, 5.0]);
    assert_eq!(net.weight, [10.0, 7.0]);
}

#[test]
fn tables_changed_by_hand_are_checked_again() {
    let mut t = NetworkTables::new();
    let a = t.node("A");
    t.liabilities.push((a, 7, 1.0));
    assert!(Network::try_from(t.clone()).is_err());
    t.liabilities = vec![(a, a, f64::NAN)];
    assert!(Network::try_from(t.clone()).is_err());
    t.liabilities.clear();
    t.set_external(3, 1.0, 0.0);
    let e = Network::try_from(t.clone()).unwrap_err().to_string();
    assert_eq!(
        e,
        "balance sheets: found 4, expected at most one per node (1)"
    );
    t.external.clear();
    t.set_equity(a, -1.0, None);
    assert!(Network::try_from(t).is_err());
}

#[test]
fn csr_transpose_and_validation() {
    let m = Csr::from_triplets(2, 3, &[(0, 2, 1.0), (1, 0, 2.0), (0, 2, 1.0)]).unwrap();
    assert_eq!(m.to_dense(), [[0.0, 0.0, 2.0], [2.0, 0.0, 0.0]]);
    assert_eq!(
        m.transpose().to_dense(),
        [[0.0, 2.0], [0.0, 0.0], [2.0, 0.0]]
    );
    assert!(Csr::from_triplets(2, 2, &[(2, 0, 1.0)]).is_err());
    assert!(Csr::from_triplets(2, 2, &[(0, 1, f64::NAN)]).is_err());
    assert!(Csr::from_triplets(2, 2, &[(0, 1, -1.0)]).is_err());
}

// ---------------------------------------------------------------------------------------------
// Clearing
// ---------------------------------------------------------------------------------------------

#[test]
fn rogers_veraart_two_banks() {
    // p̄ = [2, 2.2]; bank 0's value 1 + 2.2 ≥ 2 and bank 1's 1 + 2 ≥ 2.2: nobody defaults, so the
    // default costs α = β = 0.5 never apply.
    let net =
        Network::from_dense_liabilities(&[vec![0.0, 2.0], vec![2.2, 0.0]], &[1.0, 1.0], &[0.0; 2])
            .unwrap();
    let c = clear(&net, &ClearingOptions::with_costs(0.5, 0.5).unwrap()).unwrap();
    assert!(close(&c.payments, &[2.0, 2.2], 1e-12));
    assert_eq!(c.default_round, [None, None]);
    assert_eq!(c.recovery, [1.0, 1.0]);
    assert_eq!(c.rounds, 0);
}

fn three_banks() -> Network {
    Network::from_dense_liabilities(
        &[
            vec![0.0, 4.0, 0.0],
            vec![0.0, 0.0, 3.0],
            vec![2.0, 0.0, 0.0],
        ],
        &[20.0, 20.0, 10.0],
        &[17.0, 18.0, 8.0],
    )
    .unwrap()
}

#[test]
fn three_banks_minus_10_percent() {
    // p̄ = [21, 21, 10], e = [18, 18, 9]. Round 1 (all pay in full): bank 0 has 18 + 2 = 20 < 21,
    // defaults and pays 20; bank 1 has 18 + 4·20/21 ≥ 21, bank 2 has 9 + 3 ≥ 10.
    let opts = ClearingOptions::default().with_asset_shock(0.1).unwrap();
    let c = clear(&three_banks(), &opts).unwrap();
    assert!(close(&c.payments, &[20.0, 21.0, 10.0], 1e-10), "{c:?}");
    assert_eq!(c.default_round, [Some(1), None, None]);
    assert_eq!(c.rounds, 1);
    assert!((c.recovery[0] - 20.0 / 21.0).abs() < 1e-12);
}

#[test]
fn three_banks_minus_20_percent() {
    // e = [16, 16, 8]. Round 1: bank 0 has 16 + 2 = 18 < 21 and bank 1 has 16 + 4 = 20 < 21: both
    // default; p0 = 16 + 2 = 18 (bank 2 pays in full), p1 = 16 + (4/21)·18 = 19.4285714286. Round 2:
    // bank 2 has 8 + (3/21)·19.43 = 10.78 ≥ 10: no new default.
    let opts = ClearingOptions::default().with_asset_shock(0.2).unwrap();
    let c = clear(&three_banks(), &opts).unwrap();
    assert!(
        close(&c.payments, &[18.0, 16.0 + 4.0 / 21.0 * 18.0, 10.0], 1e-10),
        "{c:?}"
    );
    assert!((c.payments[1] - 19.4285714286).abs() < 1e-9);
    assert_eq!(c.default_round, [Some(1), Some(1), None]);
    assert_eq!(c.rounds, 1);
}

/// A ring of n banks: bank i owes L to bank i+1 (mod n); bank 0 also owes x to outside creditors
/// and holds external assets a < x; the others hold nothing outside.
///
/// Derivation. p̄_0 = L + x with Π_01 = π = L/(L + x); p̄_i = L and Π_i,i+1 = 1 for i ≥ 1.
/// Round 1 (all pay in full): bank 0 is worth a + L < L + x, so it defaults; banks i ≥ 1 receive L
/// and are solvent. Round k ≥ 2: bank k−1 receives less than L (its debtor defaulted) and has no
/// other assets, so it defaults — one default per round, `default_round[i] = i + 1`, n rounds in
/// all (the ≤ n bound is tight). Once all default, with costs α, β:
///   p_1 = β π p_0,  p_i = β p_{i−1} = β^i π p_0 (i ≥ 1),  p_0 = α a + β p_{n−1} = α a + β^n π p_0,
/// so   p_0 = α a / (1 − β^n π)   and   p_i = β^i π p_0.
/// Without costs (α = β = 1): p_0 = a (L + x) / x and p_i = L a / x for every i ≥ 1.
/// (Each round's defaults are consistent: bank 1 receives π(α a + β L) < L since a < x.)
fn ring(n: usize, l: f64, x: f64, a: f64) -> Network {
    let mut liabilities = vec![vec![0.0; n]; n];
    for (i, row) in liabilities.iter_mut().enumerate() {
        row[(i + 1) % n] = l;
    }
    let mut assets = vec![0.0; n];
    assets[0] = a;
    let mut ext = vec![0.0; n];
    ext[0] = x;
    Network::from_dense_liabilities(&liabilities, &assets, &ext).unwrap()
}

#[test]
fn ring_closed_form() {
    let (l, x, a) = (10.0, 4.0, 1.0);
    for n in [2usize, 3, 5, 17] {
        for (alpha, beta) in [(1.0, 1.0), (0.5, 0.5), (0.9, 0.7)] {
            let c = clear(
                &ring(n, l, x, a),
                &ClearingOptions::with_costs(alpha, beta).unwrap(),
            )
            .unwrap();
            let pi = l / (l + x);
            let p0 = alpha * a / (1.0 - beta.powi(n as i32) * pi);
            let expected: Vec<f64> = (0..n)
                .map(|i| {
                    if i == 0 {
                        p0
                    } else {
                        beta.powi(i as i32) * pi * p0
                    }
                })
                .collect();
            assert!(
                close(&c.payments, &expected, 1e-12),
                "n={n} α={alpha} β={beta}: {:?} vs {expected:?}",
                c.payments
            );
            let rounds: Vec<Option<usize>> = (1..=n).map(Some).collect();
            assert_eq!(c.default_round, rounds);
            assert_eq!(c.rounds, n);
        }
    }
    // Without costs: 3.5 for bank 0, 2.5 for the others.
    let c = clear(&ring(5, l, x, a), &ClearingOptions::default()).unwrap();
    assert!(close(&c.payments, &[3.5, 2.5, 2.5, 2.5, 2.5], 1e-12));
}

#[test]
fn clearing_rejects_bad_parameters() {
    assert!(ClearingOptions::with_costs(0.0, 1.0).is_err());
    assert!(ClearingOptions::with_costs(1.0, 1.5).is_err());
    assert!(ClearingOptions::default().with_asset_shock(-0.1).is_err());
    assert!(ClearingOptions::default()
        .with_asset_shock(f64::NAN)
        .is_err());
    let mut net = three_banks();
    net.external_assets.pop();
    assert!(clear(&net, &ClearingOptions::default()).is_err());
}

/// Random small networks: dense liabilities (about half zero), external assets and liabilities.
fn small_network() -> impl Strategy<Value = (Vec<Vec<f64>>, Vec<f64>, Vec<f64>)> {
    (1usize..=8).prop_flat_map(|n| {
        (
            prop::collection::vec(
                prop::collection::vec(prop_oneof![Just(0.0), 0.0..10.0f64], n),
                n,
            ),
            prop::collection::vec(0.0..10.0f64, n),
            prop::collection::vec(prop_oneof![Just(0.0), 0.0..5.0f64], n),
        )
            .prop_map(|(mut l, e, x)| {
                for (i, row) in l.iter_mut().enumerate() {
                    row[i] = 0.0;
                }
                (l, e, x)
            })
    })
}

/// `Σ_j Π_ji p_j` for every i, from dense inputs.
fn inflows(l: &[Vec<f64>], pbar: &[f64], p: &[f64]) -> Vec<f64> {
    let n = l.len();
    (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| pbar[j] > 0.0)
                .map(|j| l[j][i] / pbar[j] * p[j])
                .sum()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Without costs: p ≤ p̄, p = min(p̄, max(0, e + Πᵀp)) to 1e-12 (relative to the node's
    /// scale), ≤ n rounds, and p equals the greatest fixed point found by plain iteration from p̄.
    #[test]
    fn eisenberg_noe_fixed_point((l, e, x) in small_network(), shock in 0.0..1.0f64) {
        let n = l.len();
        let net = Network::from_dense_liabilities(&l, &e, &x).unwrap();
        let c = clear(&net, &ClearingOptions::default().with_asset_shock(shock).unwrap()).unwrap();
        let pbar: Vec<f64> = (0..n).map(|i| l[i].iter().sum::<f64>() + x[i]).collect();
        let es: Vec<f64> = e.iter().map(|v| v * (1.0 - shock)).collect();
        prop_assert!(c.rounds <= n);
        let inflow = inflows(&l, &pbar, &c.payments);
        for i in 0..n {
            prop_assert!(c.payments[i] <= pbar[i]);
            prop_assert!(c.payments[i] >= 0.0);
            let phi = pbar[i].min((es[i] + inflow[i]).max(0.0));
            let scale = 1.0 + pbar[i] + l.iter().map(|r| r[i]).sum::<f64>();
            prop_assert!((c.payments[i] - phi).abs() <= 1e-12 * scale,
                "node {i}: p = {}, Φ(p) = {phi}", c.payments[i]);
            if c.default_round[i].is_none() {
                prop_assert_eq!(c.payments[i], pbar[i]);
            }
            prop_assert!(c.recovery[i] <= 1.0 && c.recovery[i] >= 0.0);
        }
        // Greatest clearing vector: iterate Φ from p̄ (monotone decreasing) for a reference.
        let mut p = pbar.clone();
        for _ in 0..100_000 {
            let inflow = inflows(&l, &pbar, &p);
            let next: Vec<f64> = (0..n).map(|i| pbar[i].min((es[i] + inflow[i]).max(0.0))).collect();
            let done = close(&next, &p, 1e-15);
            p = next;
            if done { break; }
        }
        prop_assert!(close(&c.payments, &p, 1e-8 * (1.0 + pbar.iter().cloned().fold(0.0, f64::max))),
            "{:?} vs {:?}", c.payments, p);
    }

    /// With costs: p ≤ p̄, ≤ n rounds; a solvent node pays p̄ and is worth at least p̄; a defaulter
    /// pays α e + β Σ Π_ji p_j and is worth less than p̄.
    #[test]
    fn rogers_veraart_conditions((l, e, x) in small_network(), alpha in 0.05..1.0f64, beta in 0.05..1.0f64) {
        let n = l.len();
        let net = Network::from_dense_liabilities(&l, &e, &x).unwrap();
        let c = clear(&net, &ClearingOptions::with_costs(alpha, beta).unwrap()).unwrap();
        let pbar: Vec<f64> = (0..n).map(|i| l[i].iter().sum::<f64>() + x[i]).collect();
        prop_assert!(c.rounds <= n);
        let inflow = inflows(&l, &pbar, &c.payments);
        for i in 0..n {
            let scale = 1.0 + pbar[i] + l.iter().map(|r| r[i]).sum::<f64>();
            prop_assert!(c.payments[i] <= pbar[i]);
            match c.default_round[i] {
                None => {
                    prop_assert_eq!(c.payments[i], pbar[i]);
                    prop_assert!(e[i] + inflow[i] >= pbar[i] - 1e-12 * scale);
                }
                Some(r) => {
                    prop_assert!(r >= 1 && r <= c.rounds);
                    prop_assert!((c.payments[i] - (alpha * e[i] + beta * inflow[i])).abs() <= 1e-12 * scale);
                    prop_assert!(e[i] + inflow[i] < pbar[i]);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DebtRank
// ---------------------------------------------------------------------------------------------

/// Three nodes A, B, C, equity 10 each, weights (economic value) A 2, B 1, C 1 (V = 4).
/// Exposures (creditor, debtor, amount): B→A 4, C→A 3, C→B 5, A→C 20, so the impacts
/// W_ij = min(1, A_ji / E_j) are W_AB = 0.4, W_AC = 0.3, W_BC = 0.5, W_CA = min(1, 2) = 1.
fn three_nodes() -> Network {
    network(&[
        (
            NetworkFile::Equity,
            "Q.csv",
            "node,equity,weight\nA,10,2\nB,10,1\nC,10,1\n",
        ),
        (
            NetworkFile::Exposures,
            "X.csv",
            "creditor,debtor,amount\nB,A,4\nC,A,3\nC,B,5\nA,C,20\n",
        ),
    ])
}

#[test]
fn impact_matrix_of_three_nodes() {
    let w = impact_matrix(&three_nodes()).unwrap();
    assert_eq!(
        w.to_dense(),
        [[0.0, 0.4, 0.3], [0.0, 0.0, 0.5], [1.0, 0.0, 0.0]]
    );
}

/// Options of `variant` that keep every round's stress.
fn with_history(variant: Variant) -> DebtRankOptions {
    DebtRankOptions {
        keep_history: true,
        ..DebtRankOptions::new(variant)
    }
}

#[test]
fn debtrank_original_three_nodes() {
    // Shock A by 0.5: h(0) = [0.5, 0, 0], A distressed.
    // Round 1: A propagates (once): h_B = 0.4·0.5 = 0.2, h_C = 0.3·0.5 = 0.15 → [0.5, 0.2, 0.15];
    //          A becomes inactive, B and C distressed.
    // Round 2: B → C: 0.5·0.2 = 0.1; C → A: 1·0.15 = 0.15 → [0.65, 0.2, 0.25]; B, C inactive.
    //          A's new stress does not propagate (A is inactive): stop after 2 rounds.
    // Values: original = 2·0.5/4 = 0.25; additional = (2·0.15 + 0.2 + 0.25)/4 = 0.1875;
    //         debtrank (B and C, the others) = (0.2 + 0.25)/4 = 0.1125.
    let net = three_nodes();
    let h0 = shock_vector(&net, &[("A", 0.5)]).unwrap();
    let r = debtrank(&net, &h0, &with_history(Variant::Original)).unwrap();
    assert!(close(&r.stress, &[0.65, 0.2, 0.25], 1e-15), "{r:?}");
    assert_eq!(r.rounds, 2);
    assert_eq!(r.history.len(), 3);
    assert!(close(&r.history[1], &[0.5, 0.2, 0.15], 1e-15));
    assert_eq!(r.distressed_round, [Some(0), Some(1), Some(1)]);
    assert!((r.original_stress - 0.25).abs() < 1e-15);
    assert!((r.additional_stress - 0.1875).abs() < 1e-15);
    assert!((r.debtrank - 0.1125).abs() < 1e-15);
    assert!(r.converged);
}

#[test]
fn debtrank_differential_three_nodes() {
    // Same shock; increments Δ(t) = h(t) − h(t−1) propagate every round, Δ(0) = h(0).
    // Round 1: Δ = [0.5, 0, 0] → h = [0.5, 0.2, 0.15].
    // Round 2: Δ = [0, 0.2, 0.15] → C += 0.5·0.2, A += 1·0.15 → h = [0.65, 0.2, 0.25].
    // Round 3: Δ = [0.15, 0, 0.1] → B += 0.4·0.15 = 0.06, C += 0.3·0.15 = 0.045, A += 0.1
    //          → h = [0.75, 0.26, 0.295].
    // Limit (no cap binds below it): h_A = 0.5 + h_C, h_B = 0.4 h_A, h_C = 0.3 h_A + 0.5 h_B
    // = 0.5 h_A, so h_A = 0.5 + 0.5 h_A = 1, h_B = 0.4, h_C = 0.5 (approached geometrically).
    // Values: additional = (2·0.5 + 0.4 + 0.5)/4 = 0.475; debtrank = (0.4 + 0.5)/4 = 0.225.
    let net = three_nodes();
    let h0 = shock_vector(&net, &[("A", 0.5)]).unwrap();
    let r = debtrank(&net, &h0, &with_history(Variant::Differential)).unwrap();
    assert!(close(&r.history[1], &[0.5, 0.2, 0.15], 1e-15));
    assert!(close(&r.history[2], &[0.65, 0.2, 0.25], 1e-15));
    assert!(close(&r.history[3], &[0.75, 0.26, 0.295], 1e-15));
    assert!(close(&r.stress, &[1.0, 0.4, 0.5], 1e-9), "{:?}", r.stress);
    assert!((r.additional_stress - 0.475).abs() < 1e-9);
    assert!((r.debtrank - 0.225).abs() < 1e-9);
    assert!(r.converged);
    assert!(r.rounds > 3 && r.rounds < 1000, "{}", r.rounds);
}

#[test]
fn debtrank_cap_at_one_and_full_default() {
    // Default of A (h = 1) with W_AB = 1 hits B fully; both variants agree on a tree, and with a
    // full shock debtrank = additional_stress.
    let net = Network::from_dense_exposures(
        &[
            vec![0.0, 0.0, 0.0],
            vec![30.0, 0.0, 0.0],
            vec![0.0, 2.0, 0.0],
        ],
        &[10.0, 10.0, 10.0],
        None,
    )
    .unwrap();
    for variant in [Variant::Original, Variant::Differential] {
        let r = debtrank(&net, &[1.0, 0.0, 0.0], &DebtRankOptions::new(variant)).unwrap();
        assert!(close(&r.stress, &[1.0, 1.0, 0.2], 1e-15), "{r:?}");
        assert_eq!(r.rounds, 2);
        assert!((r.debtrank - 1.2 / 3.0).abs() < 1e-15);
        assert_eq!(r.debtrank, r.additional_stress);
    }
}

#[test]
fn shocks_are_validated() {
    let net = three_nodes();
    assert!(shock_vector(&net, &[("Z", 0.5)]).is_err());
    assert!(shock_vector(&net, &[("A", 1.5)]).is_err());
    assert!(shock_vector(&net, &[("A", 0.5), ("A", 0.2)]).is_err());
    assert!(debtrank(&net, &[0.5, 0.0], &DebtRankOptions::default()).is_err());
}

fn exposure_network() -> impl Strategy<Value = (Vec<Vec<f64>>, Vec<f64>, Vec<f64>, Vec<f64>)> {
    (1usize..=8).prop_flat_map(|n| {
        (
            prop::collection::vec(
                prop::collection::vec(prop_oneof![Just(0.0), 0.0..20.0f64], n),
                n,
            ),
            prop::collection::vec(prop_oneof![Just(0.0), 0.1..10.0f64], n),
            prop::collection::vec(0.0..5.0f64, n),
            prop::collection::vec(prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64], n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Stress and all metrics in [0, 1]; stress never decreases; in the original variant each
    /// node propagates once: replaying h(t) = min(1, h(t−1) + Σ_{i distressed at t−1} W_ij
    /// h_i(t−1)) reproduces every round, and there are at most n rounds.
    #[test]
    fn debtrank_bounds_and_single_propagation((x, q, w, h0) in exposure_network()) {
        let n = x.len();
        let net = Network::from_dense_exposures(&x, &q, Some(&w)).unwrap();
        let wm = impact_matrix(&net).unwrap().to_dense();
        for variant in [Variant::Original, Variant::Differential] {
            let r = debtrank(&net, &h0, &with_history(variant)).unwrap();
            for v in [r.debtrank, r.additional_stress, r.original_stress] {
                prop_assert!((0.0..=1.0).contains(&v));
            }
            prop_assert!(r.debtrank <= r.additional_stress + r.original_stress + 1e-12);
            for t in 1..r.history.len() {
                for j in 0..n {
                    prop_assert!((0.0..=1.0).contains(&r.history[t][j]));
                    prop_assert!(r.history[t][j] >= r.history[t - 1][j]);
                }
            }
            if variant == Variant::Original {
                prop_assert!(r.rounds <= n);
                prop_assert_eq!(r.history.len(), r.rounds + 1);
                for t in 1..r.history.len() {
                    let prev = &r.history[t - 1];
                    for j in 0..n {
                        let add: f64 = (0..n)
                            .filter(|&i| r.distressed_round[i] == Some(t - 1))
                            .map(|i| wm[i][j] * prev[i])
                            .sum();
                        let expected = (prev[j] + add).min(1.0);
                        prop_assert!((r.history[t][j] - expected).abs() < 1e-12,
                            "round {t} node {j}: {} vs {expected}", r.history[t][j]);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Timings (run with `cargo test --release -p cascade-contagion --test network -- --ignored
// --nocapture`); they print, they do not assert a time.
// ---------------------------------------------------------------------------------------------

struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A random network: liabilities from `edges`, external liabilities 20% of interbank debt and
/// external assets U(0, 0.4) of interbank debt, so about half the nodes fail on their own.
fn random_network(n: usize, edges: &[(usize, usize, f64)], rng: &mut SplitMix) -> Network {
    let liabilities = Csr::from_triplets(n, n, edges).unwrap();
    let debt = liabilities.row_sums();
    Network {
        names: (0..n).map(|i| i.to_string()).collect(),
        external_liabilities: debt.iter().map(|d| 0.2 * d).collect(),
        external_assets: debt.iter().map(|d| 0.4 * rng.next_f64() * d).collect(),
        liabilities,
        ..Network::default()
    }
}

fn time_clearing(label: &str, net: &Network) {
    for opts in [
        ClearingOptions::default(),
        ClearingOptions::with_costs(0.7, 0.9).unwrap(),
    ] {
        let start = std::time::Instant::now();
        let c = clear(net, &opts).unwrap();
        let elapsed = start.elapsed();
        let defaults = c.default_round.iter().filter(|r| r.is_some()).count();
        println!(
            "{label} α={} β={}: {:.3} s, {} rounds, {} sweeps, {defaults} defaults",
            opts.alpha,
            opts.beta,
            elapsed.as_secs_f64(),
            c.rounds,
            c.sweeps
        );
    }
}

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn timing_dense_2000() {
    let n = 2000;
    let mut rng = SplitMix(7);
    let mut edges = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            if i != j {
                edges.push((i, j, rng.next_f64()));
            }
        }
    }
    let net = random_network(n, &edges, &mut rng);
    time_clearing("dense n=2000", &net);
}

#[test]
#[ignore = "timing; run in release with --ignored --nocapture"]
fn timing_sparse_100k_1m() {
    let n = 100_000;
    let m = 1_000_000;
    let mut rng = SplitMix(11);
    let mut edges = Vec::with_capacity(m);
    while edges.len() < m {
        let i = (rng.next_f64() * n as f64) as usize;
        let j = (rng.next_f64() * n as f64) as usize;
        if i != j {
            edges.push((i, j, rng.next_f64()));
        }
    }
    let net = random_network(n, &edges, &mut rng);
    time_clearing("sparse n=100k m=1M", &net);

    let mut q = vec![0.0; n];
    for (i, row_sum) in net.liabilities.transpose().row_sums().iter().enumerate() {
        q[i] = row_sum * (0.5 + rng.next_f64());
    }
    let dr_net = Network {
        exposures: net.liabilities.transpose(),
        weight: q.clone(),
        equity: q,
        ..net
    };
    let mut h0 = vec![0.0; n];
    h0[..100].fill(1.0);
    for variant in [Variant::Original, Variant::Differential] {
        let start = std::time::Instant::now();
        let opts = DebtRankOptions {
            keep_history: false,
            ..DebtRankOptions::new(variant)
        };
        let r = debtrank(&dr_net, &h0, &opts).unwrap();
        println!(
            "debtrank {variant:?} n=100k m=1M: {:.3} s, {} rounds, debtrank {:.4}",
            start.elapsed().as_secs_f64(),
            r.rounds,
            r.debtrank
        );
    }
}

/// The 9-edge network of `cascade debtrank` (a fuzzing find): A and C are exposed to each other
/// beyond their equity, a loop of full impacts.
fn nine_edges() -> Network {
    network(&[
        (NetworkFile::Equity, "Q.csv", "node,equity\nA,10\nB,100\nC,5\nD,10\nE,10\n"),
        (NetworkFile::Exposures, "X.csv", "creditor,debtor,amount\nB,B,3\nC,A,10\nE,B,0.5\nC,C,11\nB,D,1\nA,C,20\nD,B,20\nD,E,20\nA,E,3\n"),
    ])
}

#[test]
fn debtrank_differential_saturates_a_loop_of_full_impacts() {
    // W: D→B 0.01, B→E 0.05, B→D 1, E→D 1, E→A 0.3, A→C 1, C→A 1 (self-exposures dropped).
    // Shock D = 1: round 1 B = 0.01; round 2 E = 0.0005; round 3 A = 0.00015 > 0 and the loop
    // A ↔ C ends at 1 (without the rule: +0.00015 a round, ~6,700 rounds each); round 4 A and C pass
    // their increments to each other, both at 1: done. Rounds 0–4 of stress kept with history.
    let net = nine_edges();
    let h0 = shock_vector(&net, &[("D", 1.0)]).unwrap();
    let r = debtrank(&net, &h0, &with_history(Variant::Differential)).unwrap();
    assert_eq!(r.stress, [1.0, 0.01, 1.0, 1.0, 0.0005]);
    assert!(r.converged);
    assert_eq!(r.rounds, 4);
    assert_eq!(r.history[2], [0.0, 0.01, 0.0, 1.0, 0.0005]);
    assert_eq!(r.history[3], [1.0, 0.01, 1.0, 1.0, 0.0005]);
    assert_eq!(
        r.distressed_round,
        [Some(3), Some(1), Some(3), Some(0), Some(2)]
    );
    assert!((r.debtrank - 16.005 / 135.0).abs() < 1e-15);
    // The loop alone, with a tiny shock: it ends fully distressed in one round.
    let h0 = shock_vector(&net, &[("A", 1e-9)]).unwrap();
    let r = debtrank(&net, &h0, &DebtRankOptions::new(Variant::Differential)).unwrap();
    assert_eq!((r.stress[0], r.stress[2], r.rounds), (1.0, 1.0, 2));
    // The original variant propagates each node once and has no such rule: A (distressed at round
    // 3 with 0.00015) passes 0.00015 to C, and C's passes back to A (inactive): C = 0.00015.
    let h0 = shock_vector(&net, &[("D", 1.0)]).unwrap();
    let r = debtrank(&net, &h0, &DebtRankOptions::new(Variant::Original)).unwrap();
    assert!((r.stress[2] - 0.00015).abs() < 1e-18, "{:?}", r.stress);
}

#[test]
fn debtrank_each_node_alone_matches_single_runs_and_keeps_no_history() {
    let net = nine_edges();
    for variant in [Variant::Original, Variant::Differential] {
        let options = DebtRankOptions::new(variant);
        let all = each_node_alone(&net, &options).unwrap();
        assert_eq!(all.len(), 5);
        for (i, r) in all.iter().enumerate() {
            let mut h0 = vec![0.0; 5];
            h0[i] = 1.0;
            assert_eq!(r, &debtrank(&net, &h0, &options).unwrap());
            // Without keep_history: only h(0) and h(T).
            assert!(r.history.len() <= 2, "{}", r.history.len());
            assert!(r.converged);
        }
    }
    assert_eq!(Variant::Original.name(), "original");
    assert_eq!(Variant::Differential.name(), "differential");
}
