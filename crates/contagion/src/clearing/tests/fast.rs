//! The fast round solvers ([`Method::Krylov`], [`Method::Compact`]) against hand-worked networks,
//! against [`Method::GaussSeidel`], on random networks, and across thread counts.

use proptest::prelude::*;

use super::super::*;

fn csr(rows: &[Vec<f64>]) -> Csr {
    match Csr::from_dense(rows) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    }
}

fn run(method: Method, l: &Csr, e: &[f64], x: &[f64], o: &ClearingOptions) -> Clearing {
    match clear_matrix_with(method, l, e, x, o) {
        Ok(c) => c,
        Err(e) => panic!("{method:?}: {e}"),
    }
}

const FAST: [Method; 2] = [Method::Krylov, Method::Compact];

/// A small generator for seeded networks (no extra dependency).
struct SplitMix(u64);

impl SplitMix {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` nodes, `per_node` random creditors each (all others when `per_node ≥ n − 1`),
/// liabilities U(0, 1), external liabilities 20% of what a node owes, external assets U(0, 0.4)
/// times it — the networks of `cascade bench`, smaller.
fn random_network(n: usize, per_node: usize, seed: u64) -> (Csr, Vec<f64>, Vec<f64>) {
    let mut rng = SplitMix(seed);
    let mut t = Vec::new();
    for i in 0..n {
        if per_node + 1 >= n {
            t.extend((0..n).filter(|&j| j != i).map(|j| (i, j, rng.unit())));
        } else {
            for _ in 0..per_node {
                let j = (rng.unit() * n as f64) as usize % n;
                if j != i {
                    t.push((i, j, rng.unit()));
                }
            }
        }
    }
    let l = match Csr::from_triplets(n, n, &t) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    let debt = l.row_sums();
    let e = debt.iter().map(|d| 0.4 * rng.unit() * d).collect();
    let x = debt.iter().map(|d| 0.2 * d).collect();
    (l, e, x)
}

/// `max_i |p_i − min(p̄_i, max(0, α'·e_i + β'·Σ_j Π_ji p_j))| / p̄_i`, with `α' = α`, `β' = β` for
/// a defaulter and 1 for the others, and whether `0 ≤ p ≤ p̄`.
fn fixed_point_residual(l: &Csr, e: &[f64], o: &ClearingOptions, c: &Clearing) -> f64 {
    let n = c.payments.len();
    let mut inflow = vec![0.0; n];
    for (j, &pbar) in c.obligations.iter().enumerate() {
        let (cols, vals) = l.row(j);
        for (&i, &v) in cols.iter().zip(vals) {
            inflow[i] += v / pbar * c.payments[j];
        }
    }
    (0..n)
        .map(|i| {
            let (pbar, p) = (c.obligations[i], c.payments[i]);
            if !(0.0..=pbar * (1.0 + 1e-15)).contains(&p) {
                return f64::INFINITY;
            }
            let a = e[i] * (1.0 - o.asset_shock);
            let want = match c.default_round[i] {
                Some(_) => (o.alpha * a + o.beta * inflow[i]).min(pbar).max(0.0),
                None => pbar,
            };
            (p - want).abs() / pbar.max(f64::MIN_POSITIVE)
        })
        .fold(0.0, f64::max)
}

#[test]
fn three_banks_by_hand() {
    // p̄ = [21, 21, 10]. External assets −20%, e = [16, 16, 8]: banks 0 and 1 default in round
    // 1; p0 = 16 + 2 = 18 (bank 2 pays in full), p1 = 16 + (4/21)·18; bank 2 has
    // 8 + (3/21)·p1 ≥ 10 and stays solvent. −10%: only bank 0 defaults and pays 18 + 2 = 20.
    let l = csr(&[
        vec![0.0, 4.0, 0.0],
        vec![0.0, 0.0, 3.0],
        vec![2.0, 0.0, 0.0],
    ]);
    let (e, x) = ([20.0, 20.0, 10.0], [17.0, 18.0, 8.0]);
    for method in FAST {
        let o = ClearingOptions::default()
            .with_asset_shock(0.2)
            .unwrap_or_default();
        let c = run(method, &l, &e, &x, &o);
        let want = [18.0, 16.0 + 4.0 / 21.0 * 18.0, 10.0];
        for (p, w) in c.payments.iter().zip(want) {
            assert!((p - w).abs() <= 1e-12 * w, "{method:?}: {:?}", c.payments);
        }
        assert_eq!(c.default_round, [Some(1), Some(1), None], "{method:?}");
        assert_eq!(c.rounds, 1);
        let o = ClearingOptions::default()
            .with_asset_shock(0.1)
            .unwrap_or_default();
        let c = run(method, &l, &e, &x, &o);
        assert!((c.payments[0] - 20.0).abs() <= 1e-12 * 20.0, "{method:?}");
        assert_eq!(c.default_round, [Some(1), None, None], "{method:?}");
    }
}

#[test]
fn ring_by_hand() {
    // A ring of 6: bank i owes 10 to bank i + 1, bank 0 also owes x = 4 outside and holds a = 2.
    // One default per round (6 rounds); with α = 0.8, β = 0.9 and π = 10/14:
    // p_0 = α·a / (1 − β⁶·π), p_i = β^i·π·p_0 (tests/contagion/network.rs derives it). Only bank 0
    // pays outside the ring, so the Krylov solver's check that every defaulter leaks runs its
    // search backwards around the ring.
    let n = 6;
    let mut rows = vec![vec![0.0; n]; n];
    for (i, row) in rows.iter_mut().enumerate() {
        row[(i + 1) % n] = 10.0;
    }
    let l = csr(&rows);
    let mut e = vec![0.0; n];
    e[0] = 2.0;
    let mut x = vec![0.0; n];
    x[0] = 4.0;
    let o = ClearingOptions::with_costs(0.8, 0.9).unwrap_or_default();
    let pi = 10.0 / 14.0;
    let p0 = 0.8 * 2.0 / (1.0 - 0.9f64.powi(6) * pi);
    for method in FAST {
        let c = run(method, &l, &e, &x, &o);
        assert_eq!(c.rounds, n, "{method:?}");
        for (i, p) in c.payments.iter().enumerate() {
            let want = if i == 0 {
                p0
            } else {
                0.9f64.powi(i as i32) * pi * p0
            };
            assert!(
                (p - want).abs() <= 1e-12 * want,
                "{method:?} {i}: {p} vs {want}"
            );
            assert_eq!(c.default_round[i], Some(i + 1));
        }
    }
}

/// The fast solvers find the same defaults, in the same rounds, and the same payments to
/// rounding as Gauss–Seidel on the full rows (the bench's networks, smaller, with and without
/// default costs and shocks).
#[test]
fn fast_solvers_agree_with_gauss_seidel() {
    let options = [
        ClearingOptions::default(),
        ClearingOptions::with_costs(0.7, 0.6).unwrap_or_default(),
        ClearingOptions::default()
            .with_asset_shock(0.3)
            .unwrap_or_default(),
    ];
    for (n, per_node, seed) in [(300, 300, 1), (400, 400, 2), (3000, 8, 3), (2000, 3, 4)] {
        let (l, e, x) = random_network(n, per_node, seed);
        for o in &options {
            let want = run(Method::GaussSeidel, &l, &e, &x, o);
            assert!(want.rounds >= 2, "n = {n}: the network tests little");
            for method in FAST {
                let c = run(method, &l, &e, &x, o);
                assert_eq!(c.default_round, want.default_round, "{method:?} n = {n}");
                assert_eq!(c.rounds, want.rounds);
                for i in 0..n {
                    let d = (c.payments[i] - want.payments[i]).abs();
                    assert!(
                        d <= 1e-12 * want.obligations[i],
                        "{method:?} n = {n} node {i}"
                    );
                }
                assert!(fixed_point_residual(&l, &e, o, &c) <= 1e-12, "{method:?}");
            }
        }
    }
    // clear_matrix picks them by shape and size.
    let (l, _, _) = random_network(300, 300, 1);
    assert_eq!(Method::choose(&l), Method::Krylov);
    let (l, _, _) = random_network(3000, 8, 3);
    assert_eq!(Method::choose(&l), Method::Compact);
    let (l, _, _) = random_network(255, 255, 3);
    assert_eq!(Method::choose(&l), Method::GaussSeidel);
}

/// The parallel products sum each entry in a fixed order: one thread and two give the same bits.
#[test]
fn krylov_is_the_same_on_one_and_two_threads() {
    let (l, e, x) = random_network(500, 500, 9);
    let o = ClearingOptions::with_costs(0.9, 0.95).unwrap_or_default();
    let on = |threads: usize| {
        let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        pool.install(|| run(Method::Krylov, &l, &e, &x, &o))
    };
    let (one, two) = (on(1), on(2));
    assert!(one.rounds >= 2);
    assert_eq!(one.default_round, two.default_round);
    assert_eq!(one.sweeps, two.sweeps);
    for (a, b) in one.payments.iter().zip(&two.payments) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}

/// Jacobi sweeps from `z = 1` (the Krylov solver's fallback) and GMRES solve a round alike.
#[test]
fn krylov_fallback_agrees_with_gmres() {
    let (l, e, x) = random_network(300, 300, 5);
    let obligations: Vec<f64> = l.row_sums().iter().zip(&x).map(|(a, b)| a + b).collect();
    let o = ClearingOptions::default();
    let problem = Problem {
        liabilities: &l,
        external_liabilities: &x,
        obligations: &obligations,
        assets: &e,
        options: &o,
    };
    let mut k = krylov::Krylov::new(&problem);
    let mut values = Vec::new();
    let nodes: Vec<usize> = (0..300).collect();
    k.values(&obligations, &nodes, &mut values);
    let defaulters: Vec<usize> = nodes
        .iter()
        .copied()
        .filter(|&i| values[i] < obligations[i])
        .collect();
    assert!(!defaulters.is_empty());
    let mut p = obligations.clone();
    assert!(k.solve(&defaulters, &mut p, 1e-14, 1).is_ok());
    let mut z = vec![0.0; defaulters.len()];
    let mut passes = 0;
    assert!(k.jacobi(&mut z, 1e-14, &mut passes, 1).is_ok());
    for (&i, z) in defaulters.iter().zip(&z) {
        assert!((p[i] - z * obligations[i]).abs() <= 1e-12 * obligations[i]);
    }
    assert!(k.leaks());
}

/// Random networks: dense liabilities (some zero), external assets and liabilities.
fn small_network() -> impl Strategy<Value = (Vec<Vec<f64>>, Vec<f64>, Vec<f64>)> {
    (1usize..=24).prop_flat_map(|n| {
        (
            prop::collection::vec(
                prop::collection::vec(prop_oneof![Just(0.0), 0.0..10.0f64], n),
                n,
            ),
            prop::collection::vec(0.0..10.0f64, n),
            prop::collection::vec(prop_oneof![Just(0.0), 0.0..5.0f64], n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Through either fast solver: `0 ≤ p ≤ p̄`, the fixed point holds to 1e-10, and the default
    /// set and payments are Gauss–Seidel's.
    #[test]
    fn fast_solvers_clear_random_networks(
        (l, e, x) in small_network(),
        alpha in 0.05..=1.0f64,
        beta in 0.05..=1.0f64,
        shock in 0.0..1.0f64,
    ) {
        let l = csr(&l);
        let o = ClearingOptions::with_costs(alpha, beta)
            .and_then(|o| o.with_asset_shock(shock))
            .unwrap_or_default();
        let want = run(Method::GaussSeidel, &l, &e, &x, &o);
        for method in FAST {
            let c = run(method, &l, &e, &x, &o);
            prop_assert!(fixed_point_residual(&l, &e, &o, &c) <= 1e-10, "{:?}", method);
            let defaulted = |c: &Clearing| c.default_round.iter().map(Option::is_some).collect::<Vec<_>>();
            prop_assert_eq!(defaulted(&c), defaulted(&want));
            for (i, (p, w)) in c.payments.iter().zip(&want.payments).enumerate() {
                prop_assert!((p - w).abs() <= 1e-9 * want.obligations[i].max(1e-300), "{:?} {}", method, i);
            }
        }
    }
}

/// The sparse path keeps the defaulters' rows from round to round: a round-2 defaulter moves
/// into the block of a round-1 defaulter's row, and is updated before the sweeps.
#[test]
fn compact_rows_kept_across_rounds_by_hand() {
    // Bank 0 owes 10 to bank 1 and 10 to bank 2 (p̄0 = 20, holds 4); bank 1 owes 4 to bank 0 and
    // 6 to bank 2 (p̄1 = 10, holds e1); bank 2 owes nothing.
    // Round 1, everybody paying in full: bank 0 has 4 + (4/10)·10 = 8 < 20 and defaults; bank 1
    // has e1 + (10/20)·20 ≥ 10. Round 1's system: p0 = 4 + 0.4·10 = 8.
    // e1 = 1: bank 1 has 1 + 0.5·8 = 5 < 10 and defaults in round 2; then
    // p0 = 4 + 0.4·p1, p1 = 1 + 0.5·p0 ⇒ 0.8·p0 = 4.4, p0 = 5.5, p1 = 3.75.
    let l = csr(&[
        vec![0.0, 10.0, 10.0],
        vec![4.0, 0.0, 6.0],
        vec![0.0, 0.0, 0.0],
    ]);
    let o = ClearingOptions::default();
    for method in [Method::Compact, Method::GaussSeidel] {
        let c = run(method, &l, &[4.0, 1.0, 0.0], &[0.0; 3], &o);
        assert_eq!(c.default_round, [Some(1), Some(2), None], "{method:?}");
        assert_eq!(c.rounds, 2);
        for (p, w) in c.payments.iter().zip([5.5, 3.75, 0.0]) {
            assert!((p - w).abs() <= 1e-13, "{method:?}: {:?}", c.payments);
        }
    }
    // Bank 1 just above and just below its threshold after round 1 (e1 = 6 ± 1e-9, value
    // 10 ± 1e-9 against 10·(1 − 1e-12)): no false default above, the default found in round 2
    // below (p0 = 4 + 0.4·p1, p1 = e1 + 0.5·p0 ⇒ p0 = (4 + 0.4·e1)/0.8, p1 = e1 + 0.5·p0).
    for (e1, defaults) in [(6.0 + 1e-9, false), (6.0 - 1e-9, true)] {
        let c = run(Method::Compact, &l, &[4.0, e1, 0.0], &[0.0; 3], &o);
        let want = if defaults {
            let p0 = (4.0 + 0.4 * e1) / 0.8;
            assert_eq!(c.default_round, [Some(1), Some(2), None]);
            [p0, e1 + 0.5 * p0]
        } else {
            assert_eq!(c.default_round, [Some(1), None, None]);
            [8.0, 10.0]
        };
        for (p, w) in c.payments.iter().zip(want) {
            assert!((p - w).abs() <= 1e-13, "e1 = {e1}: {:?}", c.payments);
        }
    }
}

/// The sparse path gives the same bits on one thread and two (the bench network, smaller).
#[test]
fn compact_is_the_same_on_one_and_two_threads() {
    let (l, e, x) = random_network(3000, 8, 11);
    let o = ClearingOptions::default();
    assert_eq!(Method::choose(&l), Method::Compact);
    let on = |threads: usize| {
        let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        pool.install(|| run(Method::Compact, &l, &e, &x, &o))
    };
    let (one, two) = (on(1), on(2));
    assert!(one.rounds >= 3, "the network tests little");
    assert_eq!(one.default_round, two.default_round);
    assert_eq!(one.sweeps, two.sweeps);
    for (a, b) in one.payments.iter().zip(&two.payments) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}
