//! Criterion benches of the liquidity curves (docs/liquidity.md#liquidity-curves-and-price-impact): the quote a liquidator's profitability
//! check makes, and a sale that moves a curve. `cargo bench -p cascade-market`.

use std::hint::black_box;

use cascade_market::curve::{Curve, Quoter};
use cascade_model::{CurveSpec, PoolDepth};
use criterion::{criterion_group, criterion_main, Criterion};

fn curves(c: &mut Criterion) {
    let specs = [
        (
            "constant_product",
            CurveSpec::ConstantProduct(PoolDepth {
                base: 1.0e5,
                quote: 2.0e8,
                fee: 0.003,
            }),
        ),
        (
            "stableswap",
            CurveSpec::StableSwap {
                amplification: 50.0,
                depth: PoolDepth {
                    base: 1.0e5,
                    quote: 1.0e5,
                    fee: 0.0004,
                },
            },
        ),
        (
            "power_law",
            CurveSpec::PowerLaw {
                adv_usd: 1.0e9,
                k: 1.0,
                alpha: 0.5,
            },
        ),
    ];
    for (name, spec) in specs {
        let mut curve = Curve::from_spec(&spec);
        curve.anchor(2000.0);
        let quoter = Quoter::new(&curve);
        c.bench_function(&format!("{name}/quote_slippage"), |b| {
            b.iter(|| quoter.slippage(black_box(50.0)))
        });
        c.bench_function(&format!("{name}/sell_100_small_sales"), |b| {
            b.iter(|| {
                let mut k = curve.clone();
                let mut total = 0.0;
                for _ in 0..100 {
                    total += k.sell(black_box(1.0));
                }
                total
            })
        });
    }
}

criterion_group!(benches, curves);
criterion_main!(benches);
