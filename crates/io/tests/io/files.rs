//! cascade-io's integration tests (one test binary): snapshot and position-file round trips, every
//! bad-input case with its row and column, atomic writes, and never-panic properties.

use cascade_io::positions::MAX_ROW_ERRORS;
use cascade_io::write::{
    check_output_path, snapshot_to_toml, write_atomic, write_atomic_with, write_positions_csv,
    write_positions_parquet, write_snapshot_toml, WriteError,
};
use cascade_io::{load_positions, load_snapshot};
use cascade_io::{Diagnostic, Diagnostics, Location, Severity};
use cascade_model::{Side, Snapshot};
use cascade_testkit::{normalized, parse};
use proptest::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A small valid system: one lending protocol with ETH and USDC reserves, two accounts.
pub(crate) const SMALL: &str = r#"name = "small"

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

[[protocol]]
id = "lend"
kind = "lending"
close_factor = 0.5
insurance_fund = { USDC = 1.0e6 }
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

[[account]]
id = "alice"
protocol = "lend"
collateral = { ETH = 10.0 }
debt = { USDC = 12000.0 }

[[account]]
id = "bob"
protocol = "lend"
emode = "stables"
collateral = { USDC = 5000.0 }
debt = { USDC = 1000.0 }
"#;

/// Every kind of field the writer must carry: derived assets, curves, quote assets, correlations,
/// non-default lending parameters, caps, isolation, e-mode, odd ids and floats.
const RICH: &str = r#"name = "rich \"quoted\" name"

[[asset]]
id = "ETH"
kind = "native"
price = 2000.123456789
volatility = 0.8
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 1.0, alpha = 0.5 }

[[asset]]
id = "USDC"
kind = "stable"
price = 1.0
volatility = 0.01
liquidity = { curve = "constant_product", base = 1.0e8, quote = 1.0e8, fee = 0.003 }

[[asset]]
id = "stETH"
kind = "lst"
underlying = "ETH"
rate = 1.1234567890123457
discount = 0.99
liquidity = { curve = "stableswap", amplification = 50.0, base = 100000.0, quote = 100000.0, fee = 0.0004, quote_asset = "ETH" }

[[asset]]
id = "aUSDC"
kind = "receipt"
underlying = "USDC"
rate = 1.05
issuer = "lend"
liquidity = { curve = "power_law", adv_usd = 1.0e7, k = 2.0, alpha = 0.7, quote_asset = "USDC" }

[[asset]]
id = "wh.ETH"
kind = "bridged"
underlying = "ETH"
bridge_loss = 0.1
liquidity = { curve = "constant_product", base = 1000.0, quote = 2.0e6 }

[[asset]]
id = "GOV"
kind = "governance"
price = 1.2345678901234567e22
volatility = 1.5
liquidity = { curve = "power_law", adv_usd = 1e-300, k = 0.30000000000000004, alpha = 5e-324 }

[[asset]]
id = "T-BILL"
kind = "rwa"
price = 100.000000001
liquidity = { curve = "stableswap", amplification = 1e3, base = 1.0, quote = 3.0 }

[[correlation]]
assets = ["ETH", "stETH"]
matrix = [[1.0, 0.95], [0.95, 1.0]]

[[correlation]]
assets = ["ETH", "GOV", "T-BILL"]
matrix = [[1.0, 0.1, -0.3], [0.1, 1.0, 0.30000000000000004], [-0.3, 0.30000000000000004, 1.0]]

[[protocol]]
id = "wormhole"
kind = "bridge"
bridged = "wh.ETH"
underlying = "ETH"
locked = 120000.5

[[protocol]]
id = "lend"
kind = "lending"
close_factor = 0.4
close_factor_full_below_hf = 0.9
full_close_factor = 0.8
liquidator_cost_usd = 12.5
insurance_fund = { USDC = 1.0e6, ETH = 10.0 }
breakers = { pause_liquidations_on_drop = 0.2, freeze_borrowing_on_deviation = 0.05 }
[[protocol.reserve]]
asset = "ETH"
ltv = 0.8
liquidation_threshold = 0.825
liquidation_bonus = 0.05
reserve_factor = 0.15
supply_cap = 1.0e6
borrow_cap = 5.0e5
[[protocol.reserve]]
asset = "USDC"
ltv = 0.77
liquidation_threshold = 0.8
liquidation_bonus = 0.045
[[protocol.reserve]]
asset = "stETH"
ltv = 0.7
liquidation_threshold = 0.75
liquidation_bonus = 0.07
borrowable = false
debt_ceiling = 5.0e7
supplied = 123456.789
[[protocol.reserve]]
asset = "aUSDC"
ltv = 0.0
liquidation_threshold = 0.0
liquidation_bonus = 0.0
collateral_enabled = false
[[protocol.emode]]
id = "eth correlated"
ltv = 0.9
liquidation_threshold = 0.93
liquidation_bonus = 0.01
assets = ["ETH", "stETH"]

[[protocol]]
id = "lend-2"
kind = "lending"
liquidation_rules = "aave-v3.3"
diversification_cap = 0.6
[[protocol.reserve]]
asset = "USDC"
ltv = 0.8
liquidation_threshold = 0.85
liquidation_bonus = 0.05
diversification_cap = 1.0
[[protocol.reserve]]
asset = "wh.ETH"
ltv = 0.5
liquidation_threshold = 0.6
liquidation_bonus = 0.1

[[account]]
id = "alice"
protocol = "lend"
emode = "eth correlated"
collateral = { ETH = 10.0, stETH = 5.5 }
debt = { USDC = 12000.0 }

[[account]]
id = "bob"
protocol = "lend"
collateral = { aUSDC = 100.0 }
debt = { ETH = 0.5 }

[[account]]
id = "alice"
protocol = "lend-2"
collateral = { "wh.ETH" = 1e-9 }
debt = { USDC = 0.1 }

[[account]]
id = "d.e \"f\""
protocol = "lend-2"
"#;

/// SMALL naming `files` as its position files.
pub(crate) fn small_with(files: &[&str], small: &str) -> String {
    let list: Vec<String> = files.iter().map(|f| format!("\"{f}\"")).collect();
    format!("positions = [{}]\n{small}", list.join(", "))
}

/// Writes SMALL (naming `pos.csv`) and `csv` into a temporary folder and loads it.
pub(crate) fn load_with_csv(
    small: &str,
    csv: &str,
) -> (
    tempfile::TempDir,
    Result<(Snapshot, Diagnostics), Diagnostics>,
) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("snap.toml"),
        small_with(&["pos.csv"], small),
    )
    .unwrap();
    fs::write(dir.path().join("pos.csv"), csv).unwrap();
    let r = load_snapshot(&dir.path().join("snap.toml")).map_err(|e| e.diagnostics);
    (dir, r)
}

pub(crate) fn csv_errors(csv: &str) -> Vec<Diagnostic> {
    csv_errors_with(SMALL, csv)
}

fn csv_errors_with(small: &str, csv: &str) -> Vec<Diagnostic> {
    let (_dir, r) = load_with_csv(small, csv);
    match r {
        Ok((_, d)) => panic!("expected errors, loaded with:\n{d}"),
        Err(d) => d.items,
    }
}

/// The one error at `row` in `column` of the position file.
pub(crate) fn error_at(items: &[Diagnostic], row: u64, column: &str) -> Diagnostic {
    let found: Vec<&Diagnostic> = items
        .iter()
        .filter(|d| {
            d.severity == Severity::Error
                && d.location == Location::Row(row)
                && d.field == column
                && d.file.ends_with("pos.csv")
        })
        .collect();
    assert_eq!(found.len(), 1, "row {row} column {column}: {items:#?}");
    found[0].clone()
}

pub(crate) const HEADER: &str = "protocol,account,asset,side,amount,emode\n";

// ---------------------------------------------------------------------------------------------
// TOML round trip

#[test]
fn toml_round_trip_is_exact() {
    let s = parse(RICH);
    assert_eq!(s.assets.len(), 7);
    assert_eq!(s.accounts.len(), 4);
    let text = snapshot_to_toml(&s, &[], true);
    let back = parse(&text);
    assert_eq!(normalized(back.clone()), normalized(s.clone()), "{text}");
    // Writing is a fixed point: the second text is the first.
    assert_eq!(snapshot_to_toml(&back, &[], true), text);
    // Optional fields that are unset or default are not written.
    assert_eq!(text.matches("supply_cap = ").count(), 1);
    assert!(text.contains("debt_ceiling = 50000000.0"), "{text}");
    assert!(!text.contains("reserve_factor = 0.0"));
    // The Aave v3.3 rules are written back; the default (Aave v3) is not written.
    assert_eq!(text.matches("liquidation_rules = ").count(), 1, "{text}");
    // The protocol's diversification cap and a reserve's own are written back.
    assert_eq!(text.matches("diversification_cap = ").count(), 2, "{text}");
    assert!(text.contains("liquidation_rules = \"aave-v3.3\""), "{text}");
    let rules: Vec<_> = s
        .protocols
        .iter()
        .filter_map(|p| p.lending())
        .map(|l| l.liquidation_rules)
        .collect();
    use cascade_model::LiquidationRuleSet::{AaveV3, AaveV33};
    assert_eq!(rules, [AaveV3, AaveV33]);
}

/// A liquidation mechanism and its parameters are written back (docs/mechanisms.md#parameters):
/// the mechanism's name, and only the parameters that differ from their defaults.
#[test]
fn toml_round_trip_keeps_the_liquidation_mechanism() {
    let rich = RICH.replace(
        "liquidation_rules = \"aave-v3.3\"",
        "liquidation_rules = \"aave-v3.3\"\nliquidation_mechanism = \"dutch-auction\"\nmechanism = { buf = 1.3, bands = 20, round_seconds = 60.0, store_front_price_factor = 0.8 }",
    );
    let s = parse(&rich);
    let text = snapshot_to_toml(&s, &[], true);
    let back = parse(&text);
    assert_eq!(normalized(back.clone()), normalized(s.clone()), "{text}");
    assert_eq!(snapshot_to_toml(&back, &[], true), text);
    assert_eq!(
        text.matches("liquidation_mechanism = ").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("mechanism = { round_seconds = 60.0, buf = 1.3, bands = 20.0, store_front_price_factor = 0.8 }"),
        "{text}"
    );
    let lending: Vec<_> = back.protocols.iter().filter_map(|p| p.lending()).collect();
    let l = lending[1];
    assert_eq!(
        l.liquidation_mechanism,
        cascade_model::LiquidationMechanism::DutchAuction
    );
    assert_eq!(l.mechanism.dutch.buf, 1.3);
    assert_eq!(l.mechanism.dutch.chop, 1.13);
    assert_eq!(l.mechanism.soft.bands, 20);
    assert_eq!(l.mechanism.absorb.store_front_price_factor, 0.8);
    // The default pool writes neither key.
    assert_eq!(
        lending[0].mechanism,
        cascade_model::MechanismParams::default()
    );
}

#[test]
fn toml_small_round_trip_and_top_level_keys_first() {
    let s = parse(SMALL);
    let text = snapshot_to_toml(&s, &["a.parquet", "b c.csv"], false);
    assert!(text.starts_with("name = \"small\"\npositions = [\"a.parquet\", \"b c.csv\"]\n"));
    assert!(!text.contains("[[account]]"));
    let text = snapshot_to_toml(&s, &[], true);
    assert_eq!(normalized(parse(&text)), normalized(s));
}

#[test]
fn toml_accounts_merge_duplicate_entries() {
    let mut s = parse(SMALL);
    let eth = s.asset_idx("ETH").unwrap();
    s.positions.push(0, eth, Side::Collateral, 0.5);
    let back = parse(&snapshot_to_toml(&s, &[], true));
    assert_eq!(back.total(0, eth, Side::Collateral), 10.5);
    assert_eq!(back.positions.len(), s.positions.len() - 1);
}

proptest! {
    #[test]
    fn toml_floats_round_trip(price in prop_oneof![
        (1e-300f64..1e300),
        any::<f64>().prop_filter("finite > 0", |x| x.is_finite() && *x > 0.0),
    ], amount in any::<f64>().prop_filter("finite ≥ 0", |x| x.is_finite() && *x >= 0.0)) {
        prop_assume!((amount * price).is_finite());
        let mut s = parse(SMALL);
        s.assets[0].price = Some(price);
        s.positions.amount[0] = amount;
        let back = parse(&snapshot_to_toml(&s, &[], true));
        prop_assert_eq!(back.assets[0].price.unwrap().to_bits(), price.to_bits());
        prop_assert_eq!(back.positions.amount[0].to_bits(), amount.to_bits());
    }
}

// ---------------------------------------------------------------------------------------------
// Position files round trip

/// SMALL with many more accounts (some in e-mode) and awkward amounts.
fn big_small() -> Snapshot {
    let mut s = parse(SMALL);
    let amounts = [
        0.1 + 0.2,
        1e-300,
        // The largest amount whose USD value at ETH's price is finite, with awkward digits.
        f64::MAX / 1e4,
        0.0,
        5e-324,
        123456.789,
        -0.0,
        1.0,
    ];
    let (eth, usdc) = (s.asset_idx("ETH").unwrap(), s.asset_idx("USDC").unwrap());
    for i in 0..3000u32 {
        let id = if i % 7 == 0 {
            format!("acc,\"{i}\" é")
        } else {
            format!("0x{i:040x}")
        };
        let a = s.accounts.get_or_insert(0, &id);
        if i % 5 == 0 {
            s.accounts.emode[a as usize] = Some((i % 2) as u16);
        }
        s.positions.push(
            a,
            eth,
            Side::Collateral,
            amounts[i as usize % amounts.len()],
        );
        s.positions.push(a, usdc, Side::Debt, f64::from(i) * 1.5);
        if i % 3 == 0 {
            s.positions.push(a, usdc, Side::Collateral, 7.25);
        }
    }
    s
}

fn assert_same_positions(a: &Snapshot, b: &Snapshot) {
    assert_eq!(a.accounts, b.accounts);
    assert_eq!(a.positions.account, b.positions.account);
    assert_eq!(a.positions.asset, b.positions.asset);
    assert_eq!(a.positions.side, b.positions.side);
    let bits =
        |s: &Snapshot| -> Vec<u64> { s.positions.amount.iter().map(|x| x.to_bits()).collect() };
    // -0.0 reads back as -0.0 from Parquet and CSV alike.
    assert_eq!(bits(a), bits(b));
}

fn round_trip_through(file: &str, write: fn(&Path, &Snapshot) -> Result<(), WriteError>) {
    let s = big_small();
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.toml");
    write_snapshot_toml(&snap, &s, &[file], false).unwrap();
    write(&dir.path().join(file), &s).unwrap();
    let (back, diags) = load_snapshot(&snap).unwrap_or_else(|e| panic!("{e}"));
    assert!(crate::unexpected(&diags).is_empty(), "{diags}");
    assert_eq!(back.source, snap.display().to_string());
    assert_same_positions(&s, &back);
    assert_eq!(normalized(back), normalized(s));
}

#[test]
fn parquet_round_trip() {
    round_trip_through("pos.parquet", write_positions_parquet);
}

#[test]
fn csv_round_trip() {
    round_trip_through("pos.csv", write_positions_csv);
}

#[test]
fn pq_extension_and_two_files_share_accounts() {
    let s = big_small();
    let dir = tempfile::tempdir().unwrap();
    write_positions_parquet(&dir.path().join("a.pq"), &s).unwrap();
    write_positions_csv(&dir.path().join("b.CSV"), &s).unwrap();
    let snap = dir.path().join("snap.toml");
    write_snapshot_toml(&snap, &s, &["a.pq", "b.CSV"], false).unwrap();
    let (back, _) = load_snapshot(&snap).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.accounts, s.accounts);
    assert_eq!(back.positions.len(), 2 * s.positions.len());
}

#[test]
fn file_rows_join_the_snapshot_accounts() {
    let csv = format!("{HEADER}lend,alice,ETH,collateral,1.5,\nlend,carol,USDC,debt,2,stables\n");
    let (_dir, r) = load_with_csv(SMALL, &csv);
    let (s, diags) = r.unwrap_or_else(|d| panic!("{d}"));
    assert!(crate::unexpected(&diags).is_empty(), "{diags}");
    assert_eq!(s.accounts.len(), 3);
    assert_eq!(s.positions.len(), 6);
    assert_eq!(s.total(0, 0, Side::Collateral), 11.5);
    let carol = s.accounts.find(0, "carol").unwrap() as usize;
    assert_eq!(s.accounts.emode[carol], Some(0));
}

/// SMALL without its `[[account]]` tables: a position file is then the first to add accounts, and
/// the loader indexes them after reading it (docs/formats.md#position-files).
fn small_without_accounts() -> String {
    let end = SMALL.find("[[account]]").unwrap();
    SMALL[..end].to_string()
}

#[test]
fn the_first_file_s_accounts_are_indexed_after_it_is_read() {
    let csv = format!(
        "{HEADER}lend,x,ETH,collateral,1,eth\nlend,x,USDC,debt,100,\nlend,y,USDC,collateral,7,\nlend,z,ETH,debt,0.5,\n"
    );
    let (_dir, r) = load_with_csv(&small_without_accounts(), &csv);
    let (s, diags) = r.unwrap_or_else(|d| panic!("{d}"));
    assert!(crate::unexpected(&diags).is_empty(), "{diags}");
    assert_eq!(s.accounts.id.iter().collect::<Vec<_>>(), ["x", "y", "z"]);
    assert_eq!(s.positions.account, [0, 0, 1, 2]);
    assert_eq!(s.accounts.emode, [Some(1), None, None]);
    for (k, id) in ["x", "y", "z"].iter().enumerate() {
        assert_eq!(s.accounts.find(0, id), Some(k as u32));
    }
    assert_eq!(s.accounts.find(0, "alice"), None);
}

#[test]
fn an_account_whose_rows_are_apart_is_one_account_and_errors_are_listed_once() {
    // x's rows are apart (rows 1 and 3): one account with two positions, as when every account is
    // looked up row by row.
    let csv = format!(
        "{HEADER}lend,x,ETH,collateral,1,\nlend,y,USDC,collateral,7,\nlend,x,USDC,debt,100,\n"
    );
    let (_dir, r) = load_with_csv(&small_without_accounts(), &csv);
    let (s, _) = r.unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(s.accounts.id.iter().collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(s.positions.account, [0, 1, 0]);
    assert_eq!(s.accounts.find(0, "x"), Some(0));
    // A second e-mode on x's later row is the one error, named once (the file is read twice).
    let csv = format!(
        "{HEADER}lend,x,ETH,collateral,1,eth\nlend,nope,ETH,collateral,1,nope\nlend,y,USDC,collateral,7,\nlend,x,USDC,collateral,5,stables\n"
    );
    let items = csv_errors_with(&small_without_accounts(), &csv);
    let e = error_at(&items, 4, "emode");
    assert!(e.message().contains("already in e-mode \"eth\""), "{e}");
    error_at(&items, 2, "emode");
    assert_eq!(
        items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count(),
        2,
        "{items:#?}"
    );
}

#[test]
fn csv_without_emode_column_and_with_spaces_and_bom() {
    let csv = "\u{feff}protocol , account,asset,side,amount\n lend , carol , ETH , debt , 1e3 \n";
    let (_dir, r) = load_with_csv(SMALL, csv);
    let (s, _) = r.unwrap_or_else(|d| panic!("{d}"));
    let carol = s.accounts.find(0, "carol").unwrap();
    assert_eq!(s.positions.account[4], carol);
    assert_eq!(s.positions.amount[4], 1000.0);
}

// ---------------------------------------------------------------------------------------------
// Bad position rows

#[test]
fn unknown_protocol_names_row_and_column() {
    let csv = format!("{HEADER}lend,a,ETH,collateral,1,\nnope,a,ETH,collateral,1,\n");
    let items = csv_errors(&csv);
    let e = error_at(&items, 2, "protocol");
    assert!(
        e.message().contains("\"nope\"") && e.message().contains("\"lend\""),
        "{e}"
    );
    assert_eq!(
        items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count(),
        1
    );
}

#[test]
fn unknown_asset_bad_side_empty_account() {
    let csv = format!(
        "{HEADER}lend,a,DOGE,collateral,1,\nlend,a,ETH,borrow,1,\nlend,,ETH,debt,1,\nlend,a,ETH,,1,\n"
    );
    let items = csv_errors(&csv);
    let e = error_at(&items, 1, "asset");
    assert!(
        e.message().contains("\"DOGE\"") && e.message().contains("\"USDC\""),
        "{e}"
    );
    let e = error_at(&items, 2, "side");
    assert!(
        e.message().contains("\"borrow\"") && e.message().contains("\"collateral\""),
        "{e}"
    );
    let e = error_at(&items, 3, "account");
    assert!(e.message().contains("empty"), "{e}");
    let e = error_at(&items, 4, "side");
    assert!(e.message().contains("empty"), "{e}");
}

#[test]
fn bad_amounts() {
    let csv = format!(
        "{HEADER}lend,a,ETH,debt,-1,\nlend,a,ETH,debt,abc,\nlend,a,ETH,debt,NaN,\nlend,a,ETH,debt,inf,\nlend,a,ETH,debt,,\nlend,a,ETH,debt,1e999,\n"
    );
    let items = csv_errors(&csv);
    for (row, found) in [
        (1, "-1"),
        (2, "abc"),
        (3, "NaN"),
        (4, "inf"),
        (5, "empty"),
        (6, "inf"),
    ] {
        let e = error_at(&items, row, "amount");
        assert!(e.message().contains(found), "{e}");
        assert!(e.message().contains("expected a finite number ≥ 0"), "{e}");
    }
}

#[test]
fn emode_errors() {
    let csv = format!(
        "{HEADER}lend,a,ETH,collateral,1,nope\nlend,b,ETH,collateral,1,eth\nlend,b,ETH,collateral,1,stables\nlend,bob,ETH,collateral,1,eth\n"
    );
    let items = csv_errors(&csv);
    let e = error_at(&items, 1, "emode");
    assert!(
        e.message().contains("\"nope\"") && e.message().contains("\"stables\""),
        "{e}"
    );
    let e = error_at(&items, 3, "emode");
    assert!(e.message().contains("already in e-mode \"eth\""), "{e}");
    // bob is in "stables" from the snapshot itself.
    let e = error_at(&items, 4, "emode");
    assert!(e.message().contains("already in e-mode \"stables\""), "{e}");
    assert_eq!(
        items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count(),
        3
    );
}

/// SMALL with a CDP "maker" issuing DAI against ETH (vault type ETH-A).
pub(crate) fn small_with_cdp() -> String {
    format!(
        "{SMALL}\n[[asset]]\nid = \"DAI\"\nkind = \"cdp_stable\"\nliquidity = {{ curve = \"power_law\", adv_usd = 1.0e9, k = 0.1, alpha = 0.5 }}\n[[protocol]]\nid = \"maker\"\nkind = \"cdp\"\nstable = \"DAI\"\n[[protocol.vault_type]]\nid = \"ETH-A\"\ncollateral = \"ETH\"\nliquidation_ratio = 1.45\n"
    )
}

#[test]
fn vault_type_column() {
    let small = small_with_cdp();
    let header = "protocol,account,asset,side,amount,vault_type\n";
    // A vault's type may sit on any of its rows.
    let csv = format!("{header}maker,v1,DAI,debt,5000,\nmaker,v1,ETH,collateral,10,ETH-A\n");
    let (_dir, r) = load_with_csv(&small, &csv);
    let (s, diags) = r.unwrap_or_else(|d| panic!("{d}"));
    assert!(crate::unexpected(&diags).is_empty(), "{diags}");
    let maker = s.protocol_idx("maker").unwrap();
    let v1 = s.accounts.find(maker, "v1").unwrap() as usize;
    assert_eq!(s.accounts.vault_type[v1], Some(0));
    // Missing, unknown, and on a lending account.
    let csv = format!(
        "{header}maker,v1,ETH,collateral,10,ETH-A\nmaker,v2,ETH,collateral,1,\nmaker,v3,ETH,collateral,1,ETH-B\nlend,a,ETH,collateral,1,ETH-A\n"
    );
    let items = csv_errors_with(&small, &csv);
    let e = error_at(&items, 2, "vault_type");
    assert!(e.message().contains("needs a vault_type"), "{e}");
    let e = error_at(&items, 3, "vault_type");
    assert!(
        e.message().contains("\"ETH-B\"") && e.message().contains("\"ETH-A\""),
        "{e}"
    );
    let e = error_at(&items, 4, "vault_type");
    assert!(e.message().contains("not a CDP"), "{e}");
    let errors = items.iter().filter(|d| d.severity == Severity::Error);
    assert_eq!(errors.count(), 3, "{items:#?}");
}

#[test]
fn written_position_files_carry_vault_types() {
    let text = format!(
        "{}\n[[account]]\nid = \"v1\"\nprotocol = \"maker\"\nvault_type = \"ETH-A\"\ncollateral = {{ ETH = 10.0 }}\ndebt = {{ DAI = 5000.0 }}\n",
        small_with_cdp()
    );
    let s = parse(&text);
    let dir = tempfile::tempdir().unwrap();
    let base = snapshot_to_toml(&s, &[], false);
    for (file, write) in [
        ("pos.csv", write_positions_csv as fn(&Path, &Snapshot) -> _),
        ("pos.parquet", write_positions_parquet),
    ] {
        fs::write(dir.path().join("snap.toml"), small_with(&[file], &base)).unwrap();
        write(&dir.path().join(file), &s).unwrap();
        let (back, _) =
            load_snapshot(&dir.path().join("snap.toml")).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(normalized(back), normalized(s.clone()), "{file}");
    }
    let csv = fs::read_to_string(dir.path().join("pos.csv")).unwrap();
    assert!(
        csv.starts_with("protocol,account,asset,side,amount,emode,vault_type\n"),
        "{csv}"
    );
    assert!(
        csv.contains("maker,v1,ETH,collateral,10.0,,ETH-A\n"),
        "{csv}"
    );
}

#[test]
fn not_borrowable_is_an_error() {
    let small = SMALL.replacen(
        "liquidation_threshold = 0.825\n",
        "liquidation_threshold = 0.825\nborrowable = false\n",
        1,
    );
    let csv = format!("{HEADER}lend,x,ETH,collateral,1,\nlend,x,ETH,debt,1,\n");
    let items = csv_errors_with(&small, &csv);
    let e = error_at(&items, 2, "asset");
    assert!(e.message().contains("not borrowable"), "{e}");
}

#[test]
fn collateral_not_enabled_warns_once_per_file() {
    let small = SMALL.replacen(
        "liquidation_threshold = 0.85\n",
        "liquidation_threshold = 0.85\ncollateral_enabled = false\n",
        1,
    );
    let csv = format!(
        "{HEADER}lend,x,USDC,collateral,1,\nlend,y,USDC,collateral,2,\nlend,z,USDC,collateral,3,\n"
    );
    let (_dir, r) = load_with_csv(&small, &csv);
    let (s, diags) = r.unwrap_or_else(|d| panic!("{d}"));
    let w: Vec<&Diagnostic> = diags
        .warnings()
        .filter(|d| d.file.ends_with("pos.csv"))
        .collect();
    assert_eq!(w.len(), 1, "{diags}");
    assert_eq!(w[0].location, Location::Row(1));
    assert_eq!(w[0].field, "asset");
    assert!(w[0].message().contains("not enabled as collateral"));
    // The positions are kept.
    assert_eq!(s.positions.len(), 4 + 3);
}

#[test]
fn missing_column_is_an_error() {
    let items = csv_errors("protocol,account,asset,side\nlend,a,ETH,debt\n");
    let e = items
        .iter()
        .find(|d| d.field == "amount")
        .unwrap_or_else(|| panic!("{items:#?}"));
    assert_eq!(e.severity, Severity::Error);
    assert_eq!(e.location, Location::File);
    assert!(e.message().contains("missing column"));
}

#[test]
fn duplicate_column_is_an_error() {
    let items = csv_errors("protocol,account,asset,side,amount,asset\nlend,a,ETH,debt,1,ETH\n");
    assert!(items
        .iter()
        .any(|d| d.field == "asset" && d.message() == "duplicate column"));
}

#[test]
fn unknown_columns_are_one_error_and_the_rows_are_still_checked() {
    // A misspelt `emod` would drop every e-mode: an error naming the file and the column.
    let items =
        csv_errors("protocol,account,asset,side,amount,emod\nlend,a,ETH,collateral,1,eth\n");
    assert_eq!(items.len(), 1, "{items:#?}");
    assert!(items[0].file.ends_with("pos.csv"));
    assert_eq!(items[0].location, Location::File);
    assert!(
        items[0]
            .message()
            .starts_with("unknown column \"emod\"; expected only the columns protocol, account"),
        "{}",
        items[0]
    );
    // Several, one repeated: one error naming each once; the bad row is reported as well.
    let csv = "protocol,account,note,asset,side,amount,weight,note\nlend,a,n,ETH,collateral,1,5,x\nlend,a,n,DOGE,debt,1,5,x\n";
    let items = csv_errors(csv);
    let header: Vec<_> = items
        .iter()
        .filter(|d| d.location == Location::File)
        .collect();
    assert_eq!(header.len(), 1, "{items:#?}");
    assert!(header[0]
        .message()
        .starts_with("unknown columns \"note\", \"weight\"; expected"));
    assert!(error_at(&items, 2, "asset").message().contains("\"DOGE\""));
}

#[test]
fn a_hundred_thousand_unknown_columns_are_one_error() {
    const EXTRA: usize = 100_000;
    let mut header = String::from("protocol,account,asset,side,amount");
    let mut row = String::from("lend,a,ETH,collateral,1");
    for i in 0..EXTRA {
        header.push_str(&format!(",x{i}"));
        row.push_str(",0");
    }
    let items = csv_errors(&format!("{header}\n{row}\n"));
    assert_eq!(items.len(), 1, "{:#?}", &items[..items.len().min(3)]);
    assert_eq!(
        items[0].message(),
        format!("unknown columns \"x0\", \"x1\", \"x2\", \"x3\", \"x4\", … ({EXTRA} in all); expected only the columns protocol, account, asset, side, amount (and optionally emode, vault_type, instrument, size, entry_price, strike, expiry_days, option_kind, margin_mode)")
    );
}

#[test]
fn empty_and_header_only_files_are_errors() {
    for text in ["", HEADER, "protocol,account,asset,side,amount"] {
        let items = csv_errors(text);
        assert!(
            items.iter().any(|d| d.file.ends_with("pos.csv")
                && d.severity == Severity::Error
                && (d.message().contains("empty") || d.message().contains("no data rows"))),
            "{text:?}: {items:#?}"
        );
    }
}

#[test]
fn wrong_field_count_names_the_row() {
    let csv = format!("{HEADER}lend,a,ETH,debt,1,\nlend,a,ETH,debt\nlend,a,ETH,debt,1,,extra\n");
    let items = csv_errors(&csv);
    for row in [2, 3] {
        let e = error_at(&items, row, "");
        assert!(e.message().contains("expected 6"), "{e}");
    }
}

#[test]
fn invalid_utf8_cell_names_the_column() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("snap.toml"),
        small_with(&["pos.csv"], SMALL),
    )
    .unwrap();
    let mut bytes = HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"lend,a\xff\xfe,ETH,debt,1,\n");
    fs::write(dir.path().join("pos.csv"), bytes).unwrap();
    let items = load_snapshot(&dir.path().join("snap.toml"))
        .unwrap_err()
        .diagnostics
        .items;
    let e = error_at(&items, 1, "account");
    assert!(e.message().contains("UTF-8"));
}

#[test]
fn error_list_is_capped_per_file() {
    let mut csv = HEADER.to_string();
    for i in 0..(MAX_ROW_ERRORS + 10) {
        csv.push_str(&format!("lend,a{i},ETH,debt,-{},\n", i + 1));
    }
    csv.push_str("lend,ok,ETH,debt,1,\n");
    let items = csv_errors(&csv);
    let errors: Vec<&Diagnostic> = items
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), MAX_ROW_ERRORS + 1);
    assert_eq!(
        errors[MAX_ROW_ERRORS - 1].location,
        Location::Row(MAX_ROW_ERRORS as u64)
    );
    let last = errors[MAX_ROW_ERRORS];
    assert_eq!(last.location, Location::File);
    assert_eq!(last.message(), "... and 10 more rows with errors");
}

#[test]
fn missing_position_file_names_the_snapshot_line() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.toml");
    fs::write(&snap, small_with(&["nothere.csv"], SMALL)).unwrap();
    let items = load_snapshot(&snap).unwrap_err().diagnostics.items;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0].file, snap.display().to_string());
    assert_eq!(items[0].location, Location::Line(1));
    assert_eq!(items[0].field, "positions");
    assert!(items[0].message().contains("nothere.csv"));
}

#[test]
fn unknown_extension_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pos.txt");
    fs::write(&p, HEADER).unwrap();
    let mut s = parse(SMALL);
    let mut d = Diagnostics::new();
    load_positions(&p, &mut s, &mut d);
    assert!(d.has_errors());
    assert!(d.items[0].message().contains(".csv, .parquet or .pq"));
}

#[test]
fn unreadable_and_empty_snapshots_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    let d = load_snapshot(&missing).unwrap_err().diagnostics;
    assert_eq!(d.items[0].file, missing.display().to_string());
    assert_eq!(d.items[0].location, Location::File);
    let empty = dir.path().join("empty.json");
    fs::write(&empty, "").unwrap();
    let d = load_snapshot(&empty).unwrap_err().diagnostics;
    assert!(d.items[0].message().contains("empty"));
    let bad = dir.path().join("bad.toml");
    fs::write(&bad, b"name = \"x\"\n\xff\n").unwrap();
    let d = load_snapshot(&bad).unwrap_err().diagnostics;
    assert_eq!(d.items[0].location, Location::Line(2));
}

#[test]
fn json_snapshot_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.json");
    fs::write(
        &p,
        r#"{"name": "j", "asset": [{"id": "USDC", "kind": "stable", "price": 1,
            "liquidity": {"curve": "power_law", "adv_usd": 1e9, "k": 1, "alpha": 0.5}}],
            "protocol": [{"id": "p", "kind": "lending", "reserve": [{"asset": "USDC", "ltv": 0.5,
            "liquidation_threshold": 0.6, "liquidation_bonus": 0.05}]}]}"#,
    )
    .unwrap();
    let (s, _) = load_snapshot(&p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "j");
}

// ---------------------------------------------------------------------------------------------
// Atomic writes

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn writes_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.toml");
    write_atomic(&p, b"old").unwrap();
    write_atomic(&p, b"new").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"new");
    assert_eq!(dir_entries(dir.path()), ["out.toml"]);
    let r = write_atomic_with(&p, |w| {
        use std::io::Write;
        w.write_all(b"half").unwrap();
        Err(WriteError::Io {
            path: p.clone(),
            error: std::io::Error::other("disk full"),
        })
    });
    assert!(r.is_err());
    assert_eq!(fs::read(&p).unwrap(), b"new");
    assert_eq!(dir_entries(dir.path()), ["out.toml"]);
}

#[test]
fn write_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let p: PathBuf = dir.path().join("no/such/dir/pos.parquet");
    let e = write_positions_parquet(&p, &parse(SMALL)).unwrap_err();
    assert!(matches!(&e, WriteError::NoFolder { path, .. } if *path == p));
    // One line naming the path as given, never the temporary file, and no chained cause.
    let folder = dir.path().join("no/such/dir");
    let expected = format!(
        "{}: cannot write: the folder {} does not exist",
        p.display(),
        folder.display()
    );
    assert_eq!(e.to_string(), expected);
    assert!(std::error::Error::source(&e).is_none());
    assert_eq!(e.path(), p);
    // check_output_path says the same before any work is done.
    assert_eq!(check_output_path(&p).unwrap_err().to_string(), expected);
    // A folder is not a file; a good path is left as it was.
    let e = check_output_path(dir.path()).unwrap_err();
    assert!(matches!(e, WriteError::NotAFile { .. }), "{e}");
    let good = dir.path().join("out.json");
    check_output_path(&good).unwrap();
    assert!(!good.exists());
    assert_eq!(dir_entries(dir.path()), Vec::<String>::new());
    let e = write_atomic(&dir.path().join("no").join("x.html"), b"x").unwrap_err();
    assert!(!e.to_string().contains(".x.html."), "{e}");
}

/// The umask of this process, from /proc (Linux).
fn umask() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Umask:"))?;
    u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).ok()
}

/// Written files get the mode the umask gives a new file (0666 less the umask), as `File::create`
/// does, not the temporary file's 0600.
#[cfg(unix)]
#[test]
fn written_files_get_the_umask_mode() {
    use std::os::unix::fs::PermissionsExt;
    let Some(mask) = umask() else { return };
    let dir = tempfile::tempdir().unwrap();
    let expected = 0o666 & !mask;
    let reference = dir.path().join("reference");
    fs::File::create(&reference).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&reference), expected);
    let s = parse(SMALL);
    let files = [
        ("a.toml", write_atomic(&dir.path().join("a.toml"), b"x")),
        (
            "b.parquet",
            write_positions_parquet(&dir.path().join("b.parquet"), &s),
        ),
        ("c.csv", write_positions_csv(&dir.path().join("c.csv"), &s)),
    ];
    for (name, r) in files {
        r.unwrap();
        assert_eq!(
            mode(&dir.path().join(name)),
            expected,
            "{name} (umask {mask:o})"
        );
    }
}

/// A file written atomically gets the mode a plainly created file gets (0666 less the umask), not the
/// temporary file's 0600.
#[cfg(unix)]
#[test]
fn atomic_writes_get_the_umask_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let plain = dir.path().join("plain.json");
    std::fs::write(&plain, b"{}").unwrap_or_else(|e| panic!("{e}"));
    let atomic = dir.path().join("atomic.json");
    cascade_io::write::write_atomic(&atomic, b"{}").unwrap_or_else(|e| panic!("{e}"));
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&atomic), mode(&plain));
    assert_ne!(
        mode(&plain),
        0o600,
        "the test needs a umask that leaves more than 0600"
    );
}
