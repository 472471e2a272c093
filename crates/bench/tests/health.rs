//! The columnar health scan against the lending engine on a generated system: at snapshot
//! prices every account's HF is the one the generator drew for it (docs/lending.md#health-factor's formula solved for
//! the debt), and at shocked prices it equals the lending pool's own `health_factor`.

use cascade_io::{snapshot_from_str, Format};
use cascade_protocols::health::HealthColumns;
use cascade_protocols::lending::{health_factor, LendingPool};

const SYSTEM: &str = include_str!("../../../examples/builtin/system.toml");

#[test]
fn scan_agrees_with_the_generator_and_the_lending_engine() {
    let (base, _) = snapshot_from_str(SYSTEM, Format::Toml, "system.toml").unwrap();
    let g = cascade_gen::generate_detailed(&base, 3000, 5);
    let s = &g.snapshot;
    let cols = HealthColumns::from_snapshot(s);
    assert_eq!(cols.accounts(), s.accounts.len());
    let p0 = cascade_gen::snapshot_prices(s);
    let mut out = vec![0.0; cols.accounts()];
    let below = cols.scan_into(&p0, &mut out).unwrap();
    // The generator draws HF ≥ 1.01 for every account.
    assert_eq!(below, 0);
    for (k, hf) in out.iter().enumerate() {
        let want = g.target_health_factor[cols.account[k] as usize];
        assert!(
            (hf - want).abs() <= 1e-9 * want,
            "account {k}: {hf} vs drawn {want}"
        );
    }
    // ETH-family down 35%: the engine's HF, account by account.
    let eth = s.asset_idx("ETH").unwrap();
    let prices: Vec<f64> = p0
        .iter()
        .enumerate()
        .map(|(a, p)| {
            let fam = a == eth || s.assets[a].underlying == Some(eth);
            if fam {
                p * 0.65
            } else {
                *p
            }
        })
        .collect();
    let below = cols.scan_into(&prices, &mut out).unwrap();
    let mut row_of = vec![usize::MAX; s.accounts.len()];
    for (row, &a) in cols.account.iter().enumerate() {
        row_of[a as usize] = row;
    }
    let mut k0 = 0;
    let mut engine_below = 0;
    for (i, p) in s.protocols.iter().enumerate() {
        if p.lending().is_none() {
            continue;
        }
        let pool = LendingPool::new(s, i);
        for k in 0..pool.accounts() {
            let engine = health_factor(&pool.entries_of(k), &prices);
            engine_below += usize::from(engine < 1.0);
            let got = out[row_of[pool.account[k] as usize]];
            assert!(
                (got - engine).abs() <= 1e-12 * engine.abs() || got == engine,
                "pool {i} account {k}: scan {got}, engine {engine}"
            );
        }
        k0 += pool.accounts();
    }
    assert_eq!(k0, cols.accounts());
    assert_eq!(below, engine_below);
    assert!(below > 0, "a 35% ETH drop leaves some account below 1");
}
