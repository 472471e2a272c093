//! Portfolio margin throughput: 100k accounts × 10 options each on listed series
//! (`cascade_gen::clearinghouse_book`), a 21 × 3 grid (21 price moves × 3 volatility shocks),
//! every account's health at one set of prices. The target is ≤ 1 s on 2 cores. Series are valued once
//! per grid point ([`Valuation::new`]) and accounts in parallel ([`Clearinghouse::health_all`]).

use criterion::{black_box, criterion_group, criterion_main, Criterion};

use cascade_protocols::clearinghouse::Clearinghouse;

fn book(accounts: usize) -> (Clearinghouse, Vec<f64>) {
    let mut s = cascade_gen::clearinghouse_book(accounts, 10, 7);
    let pi = s
        .protocols
        .iter()
        .position(|p| p.clearinghouse().is_some())
        .unwrap_or(0);
    if let cascade_model::ProtocolParams::Clearinghouse(c) = &mut s.protocols[pi].params {
        c.options.price_steps = 21;
        c.options.vol_shock = 0.3;
    }
    let Some(params) = s.protocols[pi].clearinghouse() else {
        panic!("clearinghouse_book has no clearinghouse")
    };
    let ch = Clearinghouse::new(&s, pi, params);
    let prices = (0..s.assets.len()).map(|a| s.reference_price(a)).collect();
    (ch, prices)
}

fn portfolio_margin(c: &mut Criterion) {
    let (ch, prices) = book(100_000);
    let mut g = c.benchmark_group("portfolio_margin");
    g.sample_size(10);
    g.bench_function("100k_accounts_x10_options_21x3_grid", |b| {
        b.iter(|| {
            let v = ch.valuation_at(black_box(&prices));
            black_box(ch.health_all(&v))
        })
    });
    g.finish();
}

criterion_group!(benches, portfolio_margin);
criterion_main!(benches);
