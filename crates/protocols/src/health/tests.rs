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
    // 12 bytes per stored entry — carol's block of 8 rows × 1 entry, alice and bob's block of
    // 8 rows × 2 (the unused lanes padded) — and 8·3 outputs.
    assert_eq!(c.bytes_touched(), 12 * (8 + 16) + 24);
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

/// 45 accounts in two pools, with one to four entries each, so that every group of rows starts
/// and ends inside a block of eight.
fn mixed() -> (Snapshot, HealthColumns) {
    let mut sys = System::new()
        .impact(1.0)
        .eth(2000.0)
        .steth()
        .usdc()
        .lending(
            "lend",
            &[ETH_RESERVE, ("stETH", 0.70, 0.75, 0.07), USDC_RESERVE],
        )
        .lending("lend2", &[ETH_RESERVE, USDC_RESERVE]);
    let names = ["ETH", "stETH", "USDC"];
    for j in 0..45usize {
        let set = j % 7 + 1;
        let amount = |k: usize| 1.0 + ((j * 37 + k * 11) % 23) as f64;
        let coll: Vec<(&str, f64)> = (0..3)
            .filter(|b| set >> b & 1 == 1)
            .map(|b| (names[b], amount(b)))
            .collect();
        let debt: Vec<(&str, f64)> = (0..3)
            .filter(|b| set >> b & 1 == 0 && (j + b) % 2 == 0)
            .map(|b| {
                (
                    names[b],
                    900.0 * amount(b + 3) / if b == 2 { 1.0 } else { 1500.0 },
                )
            })
            .collect();
        let holds_steth = coll.iter().chain(&debt).any(|(a, _)| *a == "stETH");
        let pool = if j % 5 == 0 && !holds_steth {
            "lend2"
        } else {
            "lend"
        };
        sys = sys.account(&format!("a{j}"), pool, &coll, &debt);
    }
    let s = sys.build();
    let c = HealthColumns::from_snapshot(&s);
    (s, c)
}

#[test]
fn rows_in_partly_filled_blocks_agree_with_the_engine() {
    let (s, c) = mixed();
    assert_eq!(c.accounts(), 45);
    assert!(
        c.groups.iter().any(|g| g.first_row % LANES != 0)
            && c.groups.iter().any(|g| (g.first_row + g.rows) % LANES != 0),
        "some group starts and some ends inside a block"
    );
    let pools: Vec<LendingPool> = (0..2).map(|i| LendingPool::new(&s, i)).collect();
    for prices in [
        [2000.0, 1900.0, 1.0],
        [700.0, 650.0, 1.02],
        [0.0, 1800.0, 1.0],
    ] {
        let mut out = vec![0.0; 45];
        let below = c.scan_into(&prices, &mut out).unwrap();
        let mut engine_below = 0;
        for (row, hf) in out.iter().enumerate() {
            let (pool, k) = pools
                .iter()
                .find_map(|p| Some((p, p.account.iter().position(|&a| a == c.account[row])?)))
                .unwrap();
            let engine = crate::lending::health_factor(&pool.entries_of(k), &prices);
            engine_below += usize::from(engine < 1.0);
            assert!(
                (hf - engine).abs() <= 1e-14 * engine.abs()
                    || (hf.is_infinite() && engine.is_infinite()),
                "row {row}: {hf} vs {engine}"
            );
            assert_eq!(hf.to_bits(), c.health_factor(row, &prices).to_bits());
        }
        assert_eq!(below, engine_below);
    }
}

#[test]
fn every_kernel_and_store_gives_the_same_bits() {
    let (_, c) = mixed();
    let prices = [700.0, 650.0, 1.02];
    let mut want = vec![0.0; 45];
    let want_below = c
        .scan_with(Kernel::Scalar, &prices, &mut want, false)
        .unwrap();
    assert!(want_below > 0 && want_below < 45);
    // An output that starts on a cache line (whole blocks streamed) and one that does not.
    let mut buf = vec![0.0f64; 45 + 16];
    let aligned = buf.as_ptr().align_offset(64);
    for start in [aligned, aligned + 1] {
        for kernel in [Kernel::detect(), Kernel::Avx2, Kernel::Scalar] {
            for stream in [false, true] {
                let out = &mut buf[start..start + 45];
                out.fill(-1.0);
                let below = c.scan_with(kernel, &prices, out, stream).unwrap();
                assert_eq!(below, want_below);
                let bits: Vec<u64> = out.iter().map(|x| x.to_bits()).collect();
                let want: Vec<u64> = want.iter().map(|x| x.to_bits()).collect();
                assert_eq!(
                    bits,
                    want,
                    "{} stream {stream} start {start}",
                    kernel.name()
                );
            }
        }
    }
}
