//! The parallel read of row groups against the sequential one: same snapshot, same diagnostics in
//! the same order, on files of several small row groups (accounts split across row groups, an id
//! repeated in two row groups, rows with errors, an e-mode contradicting across a boundary).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use super::PARALLEL_READS;
use crate::{read_positions, snapshot_from_str, Diagnostics, Format, Location, Severity};
use cascade_model::Snapshot;

/// Two assets, a lending protocol with two e-modes and a CDP with two vault types; no account.
const SNAPSHOT: &str = r#"name = "groups"

[[asset]]
id = "ETH"
kind = "native"
price = 2000.0
volatility = 0.8
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 1.0, alpha = 0.5 }

[[asset]]
id = "USDC"
kind = "stable"
price = 1.0
liquidity = { curve = "power_law", adv_usd = 5.0e9, k = 0.1, alpha = 0.5 }

[[asset]]
id = "DAI"
kind = "cdp_stable"
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.1, alpha = 0.5 }

[[protocol]]
id = "lend"
kind = "lending"
close_factor = 0.5
[[protocol.reserve]]
asset = "ETH"
ltv = 0.80
liquidation_threshold = 0.825
liquidation_bonus = 0.05
[[protocol.reserve]]
asset = "USDC"
ltv = 0.80
liquidation_threshold = 0.85
liquidation_bonus = 0.05
[[protocol.emode]]
id = "stables"
ltv = 0.9
liquidation_threshold = 0.93
liquidation_bonus = 0.02
assets = ["USDC"]
[[protocol.emode]]
id = "eth"
ltv = 0.9
liquidation_threshold = 0.93
liquidation_bonus = 0.02
assets = ["ETH"]

[[protocol]]
id = "maker"
kind = "cdp"
stable = "DAI"
[[protocol.vault_type]]
id = "ETH-A"
collateral = "ETH"
liquidation_ratio = 1.45
[[protocol.vault_type]]
id = "ETH-B"
collateral = "ETH"
liquidation_ratio = 1.30
"#;

/// A row: protocol, account, asset, side, amount, emode, vault_type.
type R = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    Option<&'static str>,
    Option<&'static str>,
);

/// A Parquet file of `rows` in row groups of `group_rows` rows.
fn parquet(rows: &[R], group_rows: usize) -> Vec<u8> {
    let col = |f: fn(&R) -> Option<&'static str>| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let batch = RecordBatch::try_from_iter([
        ("protocol", col(|r| Some(r.0))),
        ("account", col(|r| Some(r.1))),
        ("asset", col(|r| Some(r.2))),
        ("side", col(|r| Some(r.3))),
        (
            "amount",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        ("emode", col(|r| r.5)),
        ("vault_type", col(|r| r.6)),
    ])
    .unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

/// Reads `bytes` into the empty [`SNAPSHOT`] on `threads` threads: the snapshot, the diagnostics,
/// and whether the row groups were read in parallel.
fn read_on(threads: usize, bytes: &[u8]) -> (Snapshot, Diagnostics, bool) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let before = PARALLEL_READS.with(|n| n.get());
        let (mut s, _) = snapshot_from_str(SNAPSHOT, Format::Toml, "groups.toml").unwrap();
        let mut d = Diagnostics::new();
        read_positions("pos.parquet", bytes.to_vec(), &mut s, &mut d);
        (s, d, PARALLEL_READS.with(|n| n.get()) > before)
    })
}

/// Reads `rows` (row groups of `group_rows`) on 1 and on 3 threads; asserts that both give the same
/// snapshot and diagnostics and that the 3-thread read was parallel iff `parallel`.
fn same_both_ways(rows: &[R], group_rows: usize, parallel: bool) -> (Snapshot, Diagnostics) {
    let bytes = parquet(rows, group_rows);
    let (s1, d1, p1) = read_on(1, &bytes);
    let (s3, d3, p3) = read_on(3, &bytes);
    assert!(!p1, "one thread reads in order");
    assert_eq!(p3, parallel, "parallel read on 3 threads");
    assert_eq!(s1, s3);
    assert_eq!(d1.items, d3.items);
    assert_eq!(d1.to_string(), d3.to_string());
    (s3, d3)
}

/// (row, field) of every error.
fn errors(d: &Diagnostics) -> Vec<(Location, String)> {
    d.items
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| (i.location, i.field.clone()))
        .collect()
}

#[test]
fn accounts_split_across_row_groups_read_in_parallel_as_in_order() {
    let rows: [R; 10] = [
        ("lend", "a", "ETH", "collateral", 1.0, None, None),
        ("lend", "a", "USDC", "debt", 100.0, None, None),
        ("lend", "b", "ETH", "collateral", 2.0, None, None),
        // Row group 2: b goes on and enters e-mode "eth" here.
        ("lend", "b", "ETH", "collateral", 0.5, Some("eth"), None),
        ("maker", "v1", "ETH", "collateral", 10.0, None, None),
        ("maker", "v1", "DAI", "debt", 5000.0, None, Some("ETH-A")),
        // Row group 3: v1 goes on without a vault type (it has one); v2 never gets one.
        ("maker", "v1", "ETH", "collateral", 1.0, None, None),
        ("maker", "v2", "ETH", "collateral", 3.0, None, None),
        ("lend", "c", "USDC", "collateral", 7.0, None, None),
        // Row group 4: c goes on.
        ("lend", "c", "USDC", "debt", 1.0, None, None),
    ];
    let (s, d) = same_both_ways(&rows, 3, true);
    // Accounts a, b, v1, v2, c in row order; 10 rows, 10 positions.
    let ids: Vec<&str> = s.accounts.id.iter().collect();
    assert_eq!(ids, ["a", "b", "v1", "v2", "c"]);
    assert_eq!(s.positions.account, [0, 0, 1, 1, 2, 2, 2, 3, 4, 4]);
    assert_eq!(s.accounts.emode, [None, Some(1), None, None, None]);
    assert_eq!(s.accounts.vault_type, [None, None, Some(0), None, None]);
    // v2 (row 8) is the only CDP account left without a vault type: one error, at its first row.
    assert_eq!(errors(&d), [(Location::Row(8), "vault_type".to_string())]);
    assert_eq!(s.accounts.find(0, "c"), Some(4));
}

#[test]
fn an_id_in_two_row_groups_is_read_again_with_lookups() {
    let rows: [R; 5] = [
        ("lend", "a", "ETH", "collateral", 1.0, None, None),
        ("lend", "b", "ETH", "collateral", 2.0, None, None),
        // Row group 2: a again, after b.
        ("lend", "a", "USDC", "debt", 10.0, None, None),
        ("lend", "c", "USDC", "collateral", 3.0, None, None),
        ("lend", "b", "USDC", "debt", 4.0, None, None),
    ];
    let (s, d) = same_both_ways(&rows, 2, true);
    // Three accounts (a, b, c by first row); a holds rows 1 and 3, b rows 2 and 5.
    let ids: Vec<&str> = s.accounts.id.iter().collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(s.positions.account, [0, 1, 0, 2, 1]);
    assert!(d.items.is_empty(), "{d}");
}

#[test]
fn a_row_group_with_errors_is_read_in_order() {
    let rows: [R; 6] = [
        ("lend", "a", "ETH", "collateral", 1.0, None, None),
        ("lend", "a", "USDC", "debt", 1.0, None, None),
        ("lend", "b", "ETH", "borrow", 2.0, None, None),
        ("lend", "b", "BTC", "debt", 2.0, None, None),
        ("lend", "c", "ETH", "collateral", -1.0, None, None),
        ("lend", "c", "USDC", "debt", 1.0, None, None),
    ];
    let (s, d) = same_both_ways(&rows, 2, false);
    // Rows 3 (side), 4 (asset) and 5 (amount < 0) are wrong and left out.
    let at = |row, field: &str| (Location::Row(row), field.to_string());
    assert_eq!(errors(&d), [at(3, "side"), at(4, "asset"), at(5, "amount")]);
    assert_eq!(s.positions.len(), 3);
}

#[test]
fn an_e_mode_contradicted_across_row_groups_is_read_in_order() {
    let rows: [R; 4] = [
        ("lend", "a", "ETH", "collateral", 1.0, Some("eth"), None),
        ("lend", "a", "ETH", "collateral", 1.0, None, None),
        // Row group 2: a, already in e-mode "eth", names "stables".
        (
            "lend",
            "a",
            "USDC",
            "collateral",
            1.0,
            Some("stables"),
            None,
        ),
        (
            "lend",
            "b",
            "USDC",
            "collateral",
            1.0,
            Some("stables"),
            None,
        ),
    ];
    let (s, d) = same_both_ways(&rows, 2, false);
    assert_eq!(errors(&d), [(Location::Row(3), "emode".to_string())]);
    assert_eq!(s.accounts.emode, [Some(1), Some(0)]);
}
