//! Criterion benches of the hot kernels `cascade bench` times at full size: the columnar
//! health-factor scan and the first liquidation call over 100,000 generated accounts, and the
//! STREAM triad. `cargo bench -p cascade-bench`.

use cascade_bench::suite::first_calls;
use cascade_io::{snapshot_from_str, Format};
use cascade_protocols::health::HealthColumns;
use cascade_protocols::lending::{LendingPool, LiquidationRules};
use criterion::{criterion_group, criterion_main, Criterion};

const SYSTEM: &str = include_str!("../../../examples/builtin/system.toml");

fn kernels(c: &mut Criterion) {
    let (base, _) =
        snapshot_from_str(SYSTEM, Format::Toml, "system.toml").expect("built-in system");
    let s = cascade_gen::generate(&base, 100_000, 1);
    let prices: Vec<f64> = cascade_gen::snapshot_prices(&s)
        .iter()
        .map(|p| p * 0.7)
        .collect();
    let cols = HealthColumns::from_snapshot(&s);
    let mut out = vec![0.0; cols.accounts()];
    c.bench_function("health_scan/100k_accounts", |b| {
        b.iter(|| cols.scan_into(&prices, &mut out))
    });
    let pools: Vec<LendingPool> = s
        .protocols
        .iter()
        .enumerate()
        .filter(|(_, p)| p.lending().is_some())
        .map(|(i, _)| LendingPool::new(&s, i))
        .collect();
    let rules: Vec<LiquidationRules> = s
        .protocols
        .iter()
        .filter_map(|p| p.lending().map(LiquidationRules::of))
        .collect();
    c.bench_function("liquidation_first_call/100k_accounts", |b| {
        b.iter(|| first_calls(&pools, &rules, &prices))
    });
    let mut group = c.benchmark_group("stream");
    group.sample_size(10);
    group.bench_function("triad_4M", |b| {
        b.iter(|| cascade_bench::stream::measure_bandwidth(1 << 22, 1).map(|x| x.triad_all_gb_s))
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
