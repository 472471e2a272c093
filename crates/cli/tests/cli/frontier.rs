//! Real data: Inverse Finance's Frontier market on 2024-04-09 (a Compound v2 fork; 1,732 accounts,
//! with the producer's own shortfall per account), converted by examples/frontier/convert.py. Runs
//! when the recorded file is present: `CASCADE_REAL_DATA` (a folder), else `../shared/data/real`
//! beside the repository; it is never copied into the repository.

use std::path::PathBuf;
use std::process::Command;

use cascade_model::Side;
use cascade_protocols::lending::LendingPool;

fn real_data() -> Option<PathBuf> {
    let dir = std::env::var_os("CASCADE_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real")
        });
    let f = dir.join("inverse_frontier_snapshot_2024-04-09.ts");
    f.exists().then_some(f)
}

#[test]
fn frontier_accounts_are_underwater_exactly_where_the_producer_says() {
    let Some(file) = real_data() else {
        eprintln!("skipped: the Frontier snapshot is not present (set CASCADE_REAL_DATA)");
        return;
    };
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/frontier/convert.py");
    let o = Command::new("python3")
        .arg(&script)
        .arg(&file)
        .arg(out.path())
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (snap, _) = cascade_io::load_snapshot(&out.path().join("snapshot.toml"))
        .unwrap_or_else(|e| panic!("{e}"));

    // The producer's own figures, per account.
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    let json = text
        .split_once('=')
        .map(|(_, j)| j.trim().trim_end_matches(';'))
        .unwrap_or("");
    let data: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
    let producer: std::collections::HashMap<String, (f64, f64)> = data["positions"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|p| {
            let f = |k: &str| p[k].as_f64().unwrap_or(f64::NAN);
            (
                p["account"].as_str().unwrap_or("").to_string(),
                (f("usdShortfall"), f("usdBorrowed")),
            )
        })
        .collect();
    assert_eq!(producer.len(), 1732);

    let pool = LendingPool::new(&snap, 0);
    let prices: Vec<f64> = snap
        .assets
        .iter()
        .map(|a| a.price.unwrap_or(f64::NAN))
        .collect();
    let (mut total_debt, mut underwater, mut compared) = (0.0, 0, 0);
    for k in 0..pool.accounts() {
        let id = &snap.accounts.id[pool.account[k] as usize];
        let (mut weighted, mut debt) = (0.0, 0.0);
        for e in pool.entries_of(k) {
            let v = e.amount * prices[e.asset as usize];
            match e.side {
                Side::Collateral => weighted += v * e.lt,
                Side::Debt => debt += v,
            }
        }
        let hf = if debt > 0.0 {
            weighted / debt
        } else {
            f64::INFINITY
        };
        let Some(&(shortfall, borrowed)) = producer.get(id) else {
            panic!("{id}: not in the producer's positions");
        };
        assert_eq!(
            hf < 1.0,
            shortfall > 0.0,
            "{id}: HF {hf}, producer's shortfall {shortfall}"
        );
        assert!(
            (debt - borrowed).abs() <= 1e-9 * borrowed.max(1.0),
            "{id}: debt {debt} vs {borrowed}"
        );
        total_debt += debt;
        underwater += usize::from(hf < 1.0);
        compared += 1;
    }
    // Accounts without positions are not loaded; every other one was compared.
    assert_eq!(compared, 796);
    assert_eq!(underwater, 77);
    let producer_total: f64 = producer.values().map(|&(_, b)| b).sum();
    assert!(
        (total_debt - producer_total).abs() <= 1e-9 * producer_total,
        "total debt {total_debt} vs the producer's {producer_total}"
    );
}
