//! Criterion benches of the Monte Carlo (docs/monte-carlo.md#monte-carlo) on the built-in system: drawing one path's
//! correlated returns, and 16 paths each through the full cascade. `cargo bench -p cascade-risk`.

use std::hint::black_box;

use cascade_io::{snapshot_from_str, Format};
use cascade_risk::paths::{Dist, PathModel};
use cascade_risk::simulate::{simulate, SimulationSpec};
use criterion::{criterion_group, criterion_main, Criterion};

const SYSTEM: &str = include_str!("../../../examples/builtin/system.toml");

fn monte_carlo(c: &mut Criterion) {
    let (s, _) = snapshot_from_str(SYSTEM, Format::Toml, "system.toml").expect("built-in system");
    let model = PathModel::new(&s, 1.0, Dist::StudentT { dof: 4.0 }, Vec::new()).expect("model");
    let mut i = 0u64;
    c.bench_function("paths/draw_student_t", |b| {
        b.iter(|| {
            i += 1;
            model.draw(1, black_box(i), false)
        })
    });
    let spec = SimulationSpec {
        paths: 16,
        horizon_days: 1.0,
        seed: 1,
        dist: Dist::Normal,
        jumps: Vec::new(),
        antithetic: false,
        alphas: SimulationSpec::DEFAULT_ALPHAS.to_vec(),
        breakers: true,
        max_rounds: 50,
    };
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.bench_function("builtin_16_paths", |b| {
        b.iter(|| simulate(&s, &spec, &|| {}).map(|r| r.paths.len()))
    });
    group.finish();
}

criterion_group!(benches, monte_carlo);
criterion_main!(benches);
