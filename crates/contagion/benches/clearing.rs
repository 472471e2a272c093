//! Criterion benches of Eisenberg–Noe clearing (docs/contagion.md#eisenberg-noe-clearing) on seeded random networks: dense
//! n = 300 and sparse n = 20,000 with 200,000 liabilities. `cargo bench -p cascade-contagion`.
//! (`cascade bench` times the sizes, n = 2,000 dense and n = 100,000 sparse.)

use cascade_contagion::clearing::{clear_matrix, ClearingOptions};
use cascade_contagion::network::Csr;
use criterion::{criterion_group, criterion_main, Criterion};

/// A small xorshift generator: enough for bench inputs, and no extra dependency.
struct XorShift(u64);

impl XorShift {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Liabilities, external assets U(0, 0.4)·debt, external liabilities 0.2·debt.
fn network(
    n: usize,
    triplets: Vec<(usize, usize, f64)>,
    rng: &mut XorShift,
) -> (Csr, Vec<f64>, Vec<f64>) {
    let l = Csr::from_triplets(n, n, &triplets).expect("valid triplets");
    let debt = l.row_sums();
    let e = debt.iter().map(|d| 0.4 * rng.unit() * d).collect();
    let x = debt.iter().map(|d| 0.2 * d).collect();
    (l, e, x)
}

fn clearing(c: &mut Criterion) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let n = 300;
    let mut t = Vec::new();
    for i in 0..n {
        for j in 0..n {
            if i != j {
                t.push((i, j, rng.unit()));
            }
        }
    }
    let (l, e, x) = network(n, t, &mut rng);
    let opts = ClearingOptions::default();
    c.bench_function("clearing/dense_300", |b| {
        b.iter(|| clear_matrix(&l, &e, &x, &opts).map(|r| r.rounds))
    });
    let (n, m) = (20_000, 200_000);
    let mut t = Vec::with_capacity(m);
    while t.len() < m {
        let i = (rng.unit() * n as f64) as usize;
        let j = (rng.unit() * n as f64) as usize;
        if i != j {
            t.push((i, j, rng.unit()));
        }
    }
    let (l, e, x) = network(n, t, &mut rng);
    let mut group = c.benchmark_group("clearing");
    group.sample_size(10);
    group.bench_function("sparse_20k_200k", |b| {
        b.iter(|| clear_matrix(&l, &e, &x, &opts).map(|r| r.rounds))
    });
    group.finish();
}

criterion_group!(benches, clearing);
criterion_main!(benches);
