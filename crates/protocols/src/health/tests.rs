use super::*;
use cascade_testkit::system::{System, ETH_RESERVE, USDC_RESERVE};

/// Three reserves, an e-mode category for stETH/ETH, three accounts.
fn columns() -> (Snapshot, HealthColumns) {
    let s = System::new()
        .impact(1.0)
        .eth(2000.0)
        .steth()
        .usdc()
        .lending(
            "lend",
            &[ETH_RESERVE, ("stETH", 0.70, 0.75, 0.07), USDC_RESERVE],
        )
        .emode("eth", (0.90, 0.93, 0.01), &["ETH", "stETH"])
        .account("alice", "lend", &[("ETH", 10.0)], &[("USDC", 12000.0)])
        .account_toml(
            "bob",
            "lend",
            &[("stETH", 10.0)],
            &[("ETH", 9.0)],
            "emode = \"eth\"",
        )
        .account("carol", "lend", &[("USDC", 500.0)], &[])
        .build();
    let c = HealthColumns::from_snapshot(&s);
    (s, c)
}

#[test]
fn hand_worked_health_factors() {
    let (_, c) = columns();
    assert_eq!(c.accounts(), 3);
    assert_eq!(c.entries(), 5);
    // ETH 2000, stETH 1900, USDC 1.
    let prices = [2000.0, 1900.0, 1.0];
    let mut out = vec![0.0; 3];
    let below = c.scan_into(&prices, &mut out).unwrap();
    // Rows by entry count: carol (1 entry), then alice and bob (2 each, snapshot order).
    assert_eq!(c.account, [2, 0, 1]);
    // carol: no debt; alice: 10·2000·0.825 / 12000 = 1.375; bob (e-mode LT 0.93):
    // 10·1900·0.93 / (9·2000) = 17670 / 18000 = 0.981666…
    assert!(out[0].is_infinite());
    assert!((out[1] - 1.375).abs() < 1e-15);
    assert!((out[2] - 17670.0 / 18000.0).abs() < 1e-15);
    assert_eq!(below, 1);
    // 12·5 entries + 8·3 outputs.
    assert_eq!(c.bytes_touched(), 60 + 24);
}

#[test]
fn agrees_with_the_lending_pool() {
    let (s, c) = columns();
    let pool = LendingPool::new(&s, 0);
    for prices in [[2000.0, 1900.0, 1.0], [1234.5, 1100.25, 0.97]] {
        let mut out = vec![0.0; 3];
        c.scan_into(&prices, &mut out).unwrap();
        for (row, hf) in out.iter().enumerate() {
            let k = pool
                .account
                .iter()
                .position(|&a| a == c.account[row])
                .unwrap();
            let engine = crate::lending::health_factor(&pool.entries_of(k), &prices);
            assert!(
                (hf - engine).abs() <= 1e-14 * engine.abs()
                    || (hf.is_infinite() && engine.is_infinite()),
                "account {k}: {hf} vs {engine}"
            );
            assert_eq!(*hf, c.health_factor(row, &prices));
        }
    }
}

#[test]
fn rejects_short_prices_and_wrong_output() {
    let (_, c) = columns();
    let mut out = vec![0.0; 3];
    assert_eq!(
        c.scan_into(&[1.0, 1.0], &mut out),
        Err(HealthError::Prices {
            found: 2,
            expected: 3
        })
    );
    let mut short = vec![0.0; 2];
    assert_eq!(
        c.scan_into(&[1.0; 3], &mut short),
        Err(HealthError::Output {
            found: 2,
            expected: 3
        })
    );
}
