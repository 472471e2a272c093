//! Black-76 throughput: price + 4 Greeks of 1M options with `black76_batch` on all cores,
//! and the price-only hot path. The target is ≥ 20M options/s on 2 cores.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use cascade_model::OptionType;
use cascade_protocols::options::{black76_batch, black76_price, Greeks, OptionSpec};

/// A deterministic book of `n` options: calls and puts, strikes 50%–150% of spot, expiries a day to
/// two years, vols 10%–150%, rates −1%–9%.
struct Book {
    kind: Vec<OptionType>,
    spot: Vec<f64>,
    strike: Vec<f64>,
    rate: Vec<f64>,
    vol: Vec<f64>,
    t_years: Vec<f64>,
}

fn book(n: usize) -> Book {
    // A fixed low-discrepancy walk (golden ratio), no RNG needed.
    let u = |i: usize, j: u32| {
        (i as f64 * 0.618_033_988_749_895 + f64::from(j) * 0.414_213_562).fract()
    };
    Book {
        kind: (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    OptionType::Call
                } else {
                    OptionType::Put
                }
            })
            .collect(),
        spot: (0..n).map(|i| 1000.0 + 3000.0 * u(i, 1)).collect(),
        strike: (0..n).map(|i| 2000.0 * (0.5 + u(i, 2))).collect(),
        rate: (0..n).map(|i| -0.01 + 0.1 * u(i, 3)).collect(),
        vol: (0..n).map(|i| 0.1 + 1.4 * u(i, 4)).collect(),
        t_years: (0..n).map(|i| 1.0 / 365.0 + 2.0 * u(i, 5)).collect(),
    }
}

fn bench(c: &mut Criterion) {
    const N: usize = 1_000_000;
    let b = book(N);
    let mut out = vec![Greeks::default(); N];
    let mut g = c.benchmark_group("black76");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_with_input(
        BenchmarkId::new("batch_price_and_greeks", N),
        &b,
        |bch, b| {
            bch.iter(|| {
                black76_batch(
                    &b.kind, &b.spot, &b.strike, &b.rate, &b.vol, &b.t_years, &mut out,
                );
                black_box(&out);
            })
        },
    );
    g.bench_with_input(
        BenchmarkId::new("price_only_one_thread", N),
        &b,
        |bch, b| {
            bch.iter(|| {
                let mut sum = 0.0;
                for i in 0..N {
                    sum += black76_price(&OptionSpec {
                        kind: b.kind[i],
                        spot: b.spot[i],
                        strike: b.strike[i],
                        rate: b.rate[i],
                        vol: b.vol[i],
                        t_years: b.t_years[i],
                    });
                }
                black_box(sum)
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
