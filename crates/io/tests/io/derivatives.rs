//! Derivatives in the file formats: clearinghouse protocols and accounts' margin modes, perps and
//! options through the TOML writer, and derivative rows of CSV/Parquet position files (the grammar of
//! `cascade_io::positions`), with every bad cell's row and column.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray};
use cascade_io::write::{snapshot_to_toml, write_positions_csv, write_positions_parquet};
use cascade_io::{load_positions, load_snapshot};
use cascade_io::{Diagnostic, Diagnostics, Location, Severity};
use cascade_model::{LossMode, MarginMode, OptionType, OracleSpec, Snapshot};

use crate::parquet::write_parquet;
use cascade_testkit::{normalized, parse};

/// Every clearinghouse feature the reader knows: collateral and liability weights, ADL, PnL weights,
/// the insurance fee share, a thin-venue oracle with `imf_factor`, a lagged oracle, a spot one, and a
/// non-default options block with two smiles. A lending pool and a BTC without smile for the errors.
const BASE: &str = r#"name = "derivs"

[[asset]]
id = "USDC"
kind = "stable"
price = 1.0
liquidity = { curve = "power_law", adv_usd = 5.0e9, k = 0.1, alpha = 0.5 }

[[asset]]
id = "ETH"
kind = "native"
price = 2000.0
volatility = 0.8
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 1.0, alpha = 0.5 }

[[asset]]
id = "stETH"
kind = "lst"
underlying = "ETH"
discount = 0.99
liquidity = { curve = "stableswap", amplification = 50.0, base = 100000.0, quote = 100000.0, fee = 0.0004, quote_asset = "ETH" }

[[asset]]
id = "BTC"
kind = "native"
price = 60000.0
volatility = 0.6
liquidity = { curve = "power_law", adv_usd = 2.0e9, k = 1.0, alpha = 0.5 }

[[protocol]]
id = "lend"
kind = "lending"
liquidators_buy_debt = true
[[protocol.reserve]]
asset = "ETH"
ltv = 0.8
liquidation_threshold = 0.825
liquidation_bonus = 0.05
[[protocol.reserve]]
asset = "USDC"
ltv = 0.8
liquidation_threshold = 0.85
liquidation_bonus = 0.05

[[protocol]]
id = "perpdex"
kind = "clearinghouse"
insurance_fund = { USDC = 2.0e7 }
collateral = [ { asset = "USDC", initial_weight = 1.0, maintenance_weight = 1.0 },
               { asset = "stETH", initial_weight = 0.8, maintenance_weight = 0.9 } ]
liabilities = [ { asset = "USDC", initial_weight = 1.1, maintenance_weight = 1.05 } ]
loss_mode = "adl"
pnl_initial_weight = 0.5
pnl_maintenance_weight = 0.9
insurance_fee_share = 0.3
[[protocol.market]]
id = "ETH-PERP"
underlying = "ETH"
imr = 0.1
mmr = 0.05
liquidation_fee = 0.01
imf_factor = 0.0005
oracle = { kind = "thin_venue", curve = { curve = "constant_product", base = 60000.0, quote = 1.2e8, fee = 0.003 } }
[[protocol.market]]
id = "BTC-PERP"
underlying = "BTC"
imr = 0.2
mmr = 0.1
oracle = { kind = "lagged", delay_rounds = 3 }
[[protocol.market]]
id = "ETH-SPOT"
underlying = "ETH"
imr = 0.05
mmr = 0.03
[protocol.options]
underlying_moves = 0.2
price_steps = 9
vol_shock = 0.25
floor = 0.02
initial_multiplier = 1.3
rate = 0.05
liquidation_fee = 0.02
smile = { ETH = { atm = 0.7, skew = -0.1, curvature = 0.2 }, stETH = { atm = 0.75 } }
"#;

/// A portfolio account (liabilities, two perps, two options), an isolated one, a cross one with one
/// option, a cross one with two perps, and a lending account.
const ACCOUNTS: &str = r#"
[[account]]
id = "alice"
protocol = "lend"
collateral = { ETH = 10.0 }
debt = { USDC = 12000.0 }

[[account]]
id = "trader-1"
protocol = "perpdex"
margin_mode = "portfolio"
collateral = { USDC = 50000.0, stETH = 10.0 }
debt = { USDC = 1000.0 }
perps = [ { market = "ETH-PERP", size = 5.0, entry_price = 1950.5 }, { market = "BTC-PERP", size = -0.25, entry_price = 61000.0 } ]
options = [ { underlying = "ETH", kind = "call", strike = 2200.0, expiry_days = 30.0, size = -10.0 }, { underlying = "stETH", kind = "put", strike = 1800.0, expiry_days = 7.5, size = 4.0 } ]

[[account]]
id = "trader-2"
protocol = "perpdex"
margin_mode = "isolated"
collateral = { USDC = 3000.0 }
perps = [ { market = "ETH-SPOT", size = -2.0, entry_price = 2010.0 } ]

[[account]]
id = "trader-3"
protocol = "perpdex"
collateral = { USDC = 800.0 }
options = [ { underlying = "ETH", kind = "put", strike = 1500.0, expiry_days = 90.0, size = 1.0 } ]

[[account]]
id = "trader-4"
protocol = "perpdex"
collateral = { USDC = 100.0 }
perps = [ { market = "ETH-PERP", size = 1.0, entry_price = 2000.0 }, { market = "ETH-PERP", size = -1.0, entry_price = 2100.0 } ]
"#;

const HEADER: &str =
    "protocol,account,asset,side,amount,instrument,size,entry_price,strike,expiry_days,option_kind,margin_mode\n";

/// `ACCOUNTS` as position-file rows, in the same order.
const ROWS: &str = "lend,alice,ETH,collateral,10,,,,,,,
lend,alice,USDC,debt,12000,,,,,,,
perpdex,trader-1,USDC,collateral,50000,,,,,,,portfolio
perpdex,trader-1,stETH,collateral,10,,,,,,,
perpdex,trader-1,USDC,debt,1000,,,,,,,
perpdex,trader-1,,,,ETH-PERP,5,1950.5,,,,portfolio
perpdex,trader-1,,,,BTC-PERP,-0.25,61000,,,,
perpdex,trader-1,ETH,,,option,-10,,2200,30,call,
perpdex,trader-1,stETH,,,option,4,,1800,7.5,put,
perpdex,trader-2,USDC,collateral,3000,,,,,,,isolated
perpdex,trader-2,,,,ETH-SPOT,-2,2010,,,,isolated
perpdex,trader-3,USDC,collateral,800,,,,,,,
perpdex,trader-3,ETH,,,option,1,,1500,90,put,
perpdex,trader-4,USDC,collateral,100,,,,,,,
perpdex,trader-4,,,,ETH-PERP,1,2000,,,,
perpdex,trader-4,,,,ETH-PERP,-1,2100,,,,
";

fn full() -> Snapshot {
    parse(&format!("{BASE}{ACCOUNTS}"))
}

/// Writes `snapshot` (naming `file`) and the position file `file` with `bytes`, and loads it.
fn load_pair(
    snapshot: &str,
    file: &str,
    write: impl FnOnce(&Path),
) -> Result<Snapshot, Diagnostics> {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("snap.toml"),
        format!("positions = [\"{file}\"]\n{snapshot}"),
    )
    .unwrap();
    write(&dir.path().join(file));
    load_snapshot(&dir.path().join("snap.toml"))
        .map(|(s, _)| s)
        .map_err(|e| e.diagnostics)
}

fn load_csv(snapshot: &str, csv: &str) -> Result<Snapshot, Diagnostics> {
    load_pair(snapshot, "pos.csv", |p| fs::write(p, csv).unwrap())
}

/// The CSV text as a Parquet file: number columns Float64, the rest Utf8, empty cells null.
fn csv_as_parquet(csv: &str, path: &Path) {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let numbers = ["amount", "size", "entry_price", "strike", "expiry_days"];
    let columns: Vec<(&str, ArrayRef)> = header
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let cells = rows.iter().map(|r| Some(r[k]).filter(|c| !c.is_empty()));
            let array: ArrayRef = if numbers.contains(name) {
                Arc::new(Float64Array::from(
                    cells
                        .map(|c| c.map(|x| x.parse::<f64>().unwrap()))
                        .collect::<Vec<_>>(),
                ))
            } else {
                Arc::new(StringArray::from(cells.collect::<Vec<_>>()))
            };
            (*name, array)
        })
        .collect();
    write_parquet(path, columns);
}

/// The one error of the position file at `row` in `column`.
fn error_at(items: &[Diagnostic], row: u64, column: &str) -> String {
    let found: Vec<&Diagnostic> = items
        .iter()
        .filter(|d| {
            d.severity == Severity::Error && d.location == Location::Row(row) && d.field == column
        })
        .collect();
    assert_eq!(found.len(), 1, "row {row} column {column}: {items:#?}");
    found[0].message().clone()
}

// ---------------------------------------------------------------------------------------------
// What the TOML path reads (the reference the files are compared with)

#[test]
fn toml_reference_reads_as_written() {
    let s = full();
    let ids: Vec<&str> = s.accounts.id.iter().collect();
    assert_eq!(
        ids,
        ["alice", "trader-1", "trader-2", "trader-3", "trader-4"]
    );
    use MarginMode::*;
    assert_eq!(
        s.accounts.margin_mode,
        [Cross, Portfolio, Isolated, Cross, Cross]
    );
    assert_eq!(s.perps.account, [1, 1, 2, 4, 4]);
    assert_eq!(s.perps.market, [0, 1, 2, 0, 0]);
    assert_eq!(s.perps.size, [5.0, -0.25, -2.0, 1.0, -1.0]);
    assert_eq!(
        s.perps.entry_price,
        [1950.5, 61000.0, 2010.0, 2000.0, 2100.0]
    );
    assert_eq!(s.options.account, [1, 1, 3]);
    assert_eq!(s.options.underlying, [1, 2, 1]);
    assert_eq!(
        s.options.kind,
        [OptionType::Call, OptionType::Put, OptionType::Put]
    );
    assert_eq!(s.options.strike, [2200.0, 1800.0, 1500.0]);
    assert_eq!(s.options.expiry_days, [30.0, 7.5, 90.0]);
    assert_eq!(s.options.size, [-10.0, 4.0, 1.0]);
}

// ---------------------------------------------------------------------------------------------
// TOML round trip

#[test]
fn toml_round_trip_with_every_clearinghouse_feature() {
    let s = full();
    let text = snapshot_to_toml(&s, &[], true);
    let back = parse(&text);
    assert_eq!(normalized(back.clone()), normalized(s.clone()), "{text}");
    assert_eq!(
        snapshot_to_toml(&back, &[], true),
        text,
        "not a fixed point"
    );
    let c = back.protocols[1].clearinghouse().unwrap();
    assert_eq!(c.loss_mode, LossMode::Adl);
    assert_eq!(c.liabilities[0].initial_weight, 1.1);
    assert_eq!(c.markets[0].imf_factor, 0.0005);
    assert!(matches!(c.markets[0].oracle, OracleSpec::ThinVenue { .. }));
    assert_eq!(c.markets[1].oracle, OracleSpec::Lagged { delay_rounds: 3 });
    assert_eq!(c.markets[2].oracle, OracleSpec::Spot);
    assert_eq!(c.options.price_steps, 9);
    assert_eq!(c.options.smile[1].atm, 0.75);
    // Defaults are not written: the spot oracle, stETH's zero skew and curvature, BTC-PERP's fees,
    // cross margin modes.
    assert!(
        text.contains("oracle = { kind = \"lagged\", delay_rounds = 3 }"),
        "{text}"
    );
    assert_eq!(text.matches("oracle = ").count(), 2, "{text}");
    assert!(text.contains("stETH = { atm = 0.75 }"), "{text}");
    assert_eq!(text.matches("imf_factor = ").count(), 1, "{text}");
    assert_eq!(text.matches("margin_mode = ").count(), 2, "{text}");
    assert!(text.contains("liquidators_buy_debt = true"), "{text}");
}

#[test]
fn toml_round_trip_of_a_default_clearinghouse_writes_no_options_table() {
    let text = BASE
        .split("[[protocol]]\nid = \"perpdex\"")
        .next()
        .unwrap()
        .to_string()
        + "[[protocol]]\nid = \"dex\"\nkind = \"clearinghouse\"\ncollateral = [ { asset = \"USDC\", initial_weight = 1.0, maintenance_weight = 1.0 } ]\n";
    let s = parse(&text);
    let out = snapshot_to_toml(&s, &[], true);
    assert!(!out.contains("[protocol.options]"), "{out}");
    assert!(!out.contains("loss_mode"), "{out}");
    assert!(!out.contains("insurance_fee_share"), "{out}");
    assert_eq!(normalized(parse(&out)), normalized(s));
}

// ---------------------------------------------------------------------------------------------
// Position files read to the same snapshot as the TOML

#[test]
fn csv_derivative_rows_load_as_the_toml_accounts() {
    let s = load_csv(BASE, &format!("{HEADER}{ROWS}")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(normalized(s), normalized(full()));
}

#[test]
fn parquet_derivative_rows_load_as_the_toml_accounts() {
    let s = load_pair(BASE, "pos.parquet", |p| {
        csv_as_parquet(&format!("{HEADER}{ROWS}"), p)
    })
    .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(normalized(s), normalized(full()));
}

#[test]
fn written_position_files_round_trip_derivatives() {
    let s = full();
    for (file, write) in [
        ("pos.csv", write_positions_csv as fn(&Path, &Snapshot) -> _),
        ("pos.parquet", write_positions_parquet),
    ] {
        let back = load_pair(BASE, file, |p| write(p, &s).unwrap())
            .unwrap_or_else(|d| panic!("{file}: {d}"));
        assert_eq!(normalized(back), normalized(s.clone()), "{file}");
    }
    // The snapshot written without accounts plus its position file, as `cascade gen` writes them.
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("snap.toml"),
        snapshot_to_toml(&s, &["pos.csv"], false),
    )
    .unwrap();
    write_positions_csv(&dir.path().join("pos.csv"), &s).unwrap();
    let csv = fs::read_to_string(dir.path().join("pos.csv")).unwrap();
    assert!(csv.starts_with(
        "protocol,account,asset,side,amount,emode,instrument,size,entry_price,strike,expiry_days,option_kind,margin_mode\n"
    ));
    assert!(
        csv.contains("perpdex,trader-1,stETH,,,,option,4.0,,1800.0,7.5,put,portfolio\n"),
        "{csv}"
    );
    let (back, _) = load_snapshot(&dir.path().join("snap.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(normalized(back), normalized(s));
}

#[test]
fn files_without_derivatives_keep_the_old_header() {
    let s = parse(&format!(
        "{BASE}\n[[account]]\nid = \"a\"\nprotocol = \"lend\"\ncollateral = {{ ETH = 1.0 }}\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    write_positions_csv(&dir.path().join("p.csv"), &s).unwrap();
    let csv = fs::read_to_string(dir.path().join("p.csv")).unwrap();
    assert_eq!(
        csv,
        "protocol,account,asset,side,amount,emode\nlend,a,ETH,collateral,1.0,\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Bad derivative cells: row and column

#[test]
fn bad_derivative_cells_name_row_and_column() {
    let rows = "perpdex,x1,,,,SOL-PERP,1,100,,,,
perpdex,x2,ETH,,,option,1,,0,30,call,
perpdex,x3,ETH,,,option,1,,2000,-1,call,
perpdex,x4,BTC,,,option,1,,60000,30,call,
lend,x5,,,,ETH-PERP,1,2000,,,,
lend,x6,ETH,collateral,1,,,,,,,portfolio
perpdex,x7,ETH,,,option,1,,2000,30,straddle,
perpdex,x8,,,,ETH-PERP,abc,,,,,
perpdex,x9,,collateral,5,ETH-PERP,1,2000,,,,
perpdex,x10,USDC,collateral,5,,3,,,,,
perpdex,x11,USDC,collateral,5,,,,,,,hedged
perpdex,iso,,,,ETH-PERP,1,2000,,,,isolated
perpdex,iso,ETH,,,option,1,,2000,30,call,
perpdex,mm,USDC,collateral,5,,,,,,,cross
perpdex,mm,USDC,collateral,5,,,,,,,portfolio
perpdex,trader-2,USDC,collateral,1,,,,,,,portfolio
perpdex,trader-2,,,,ETH-PERP,1,2000,,,,
perpdex,x18,,,,option,1,,2000,30,call,
perpdex,x19,,,,ETH-PERP,nan,2000,,,,
perpdex,trader-4,USDC,collateral,1,,,,,,,isolated
perpdex,trader-3,,,,BTC-PERP,1,60000,,,,isolated
";
    let d = load_csv(&format!("{BASE}{ACCOUNTS}"), &format!("{HEADER}{rows}"))
        .map(|_| ())
        .unwrap_err();
    let items = &d.items;
    assert_eq!(
        error_at(items, 1, "instrument"),
        "unknown market \"SOL-PERP\" in protocol \"perpdex\"; expected one of its markets: \"ETH-PERP\", \"BTC-PERP\", \"ETH-SPOT\""
    );
    assert_eq!(
        error_at(items, 2, "strike"),
        "= 0, expected a strike > 0 USD"
    );
    assert_eq!(
        error_at(items, 3, "expiry_days"),
        "= -1, expected an expiry > 0 days"
    );
    assert_eq!(
        error_at(items, 4, "asset"),
        "\"BTC\" has no volatility smile in protocol \"perpdex\"; expected an underlying with a smile: \"ETH\", \"stETH\""
    );
    assert_eq!(
        error_at(items, 5, "instrument"),
        "protocol \"lend\" is of kind \"lending\": only a clearinghouse's accounts hold derivatives"
    );
    assert!(error_at(items, 6, "margin_mode")
        .contains("only a clearinghouse's accounts have a margin mode"));
    assert_eq!(
        error_at(items, 7, "option_kind"),
        "= \"straddle\", expected \"call\" or \"put\""
    );
    assert_eq!(
        error_at(items, 8, "size"),
        "= \"abc\", expected a finite signed size"
    );
    assert_eq!(
        error_at(items, 8, "entry_price"),
        "empty; expected an entry price > 0 USD"
    );
    assert_eq!(
        error_at(items, 9, "side"),
        "= \"collateral\", expected an empty cell: a perp row (instrument = a market id) has no side"
    );
    assert_eq!(
        error_at(items, 9, "amount"),
        "= 5, expected an empty cell: a perp row (instrument = a market id) has no amount"
    );
    assert_eq!(
        error_at(items, 10, "size"),
        "= 3, expected an empty cell: a spot row (empty instrument) has no size"
    );
    assert_eq!(
        error_at(items, 11, "margin_mode"),
        "= \"hedged\", expected one of: cross, isolated, portfolio"
    );
    // The second position of an isolated account is the error, not the first.
    assert!(
        !items.iter().any(|x| x.location == Location::Row(12)),
        "{d}"
    );
    assert!(error_at(items, 13, "instrument")
        .starts_with("account \"iso\" is isolated and holds 2 derivative positions"));
    assert_eq!(
        error_at(items, 15, "margin_mode"),
        "= \"portfolio\", but row 14 gives account \"mm\" margin_mode \"cross\"; expected one margin mode per account"
    );
    assert_eq!(
        error_at(items, 16, "margin_mode"),
        "= \"portfolio\", but account \"trader-2\" is already in margin mode \"isolated\" (the snapshot or an earlier file); expected one margin mode per account"
    );
    // trader-2 is isolated with one perp in the snapshot: a second one from the file is refused.
    assert!(error_at(items, 17, "instrument")
        .starts_with("account \"trader-2\" is isolated and holds 2 derivative positions"));
    assert_eq!(error_at(items, 18, "asset"), "empty; expected an asset id");
    assert_eq!(
        error_at(items, 19, "size"),
        "= NaN, expected a finite signed size"
    );
    // trader-4 holds two perps from the snapshot: making it isolated is the error, at that cell.
    assert!(error_at(items, 20, "margin_mode")
        .starts_with("account \"trader-4\" is isolated and holds 2 derivative positions"));
    // trader-3 holds an option from the snapshot; the perp of the row that isolates it is its second.
    assert!(error_at(items, 21, "instrument")
        .starts_with("account \"trader-3\" is isolated and holds 2 derivative positions"));
    let rows_with_errors: std::collections::BTreeSet<u64> = items
        .iter()
        .filter_map(|x| match x.location {
            Location::Row(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(
        rows_with_errors.into_iter().collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 16, 17, 18, 19, 20, 21]
    );
}

#[test]
fn parquet_bad_derivative_cell_names_row_and_column() {
    let rows = "perpdex,p1,ETH,,,option,1,,2000,30,call,portfolio
perpdex,p2,ETH,,,option,1,,-5,30,put,
";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pos.parquet");
    csv_as_parquet(&format!("{HEADER}{rows}"), &path);
    let mut s = parse(BASE);
    let mut d = Diagnostics::new();
    load_positions(&path, &mut s, &mut d);
    assert_eq!(d.items.len(), 1, "{d}");
    assert_eq!(
        error_at(&d.items, 2, "strike"),
        "= -5, expected a strike > 0 USD"
    );
    // The valid row was added.
    assert_eq!(s.options.strike, [2000.0]);
    assert_eq!(s.accounts.margin_mode, [MarginMode::Portfolio]);
}

#[test]
fn parquet_derivative_number_column_stored_as_string_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pos.parquet");
    let s = |v: &[&str]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
    write_parquet(
        &path,
        vec![
            ("protocol", s(&["perpdex"])),
            ("account", s(&["a"])),
            ("asset", s(&["ETH"])),
            ("side", s(&[""])),
            ("amount", Arc::new(Float64Array::from(vec![None::<f64>]))),
            ("instrument", s(&["option"])),
            ("strike", s(&["2000"])),
        ],
    );
    let mut snap = parse(BASE);
    let mut d = Diagnostics::new();
    load_positions(&path, &mut snap, &mut d);
    let e = d
        .items
        .iter()
        .find(|x| x.severity == Severity::Error)
        .unwrap_or_else(|| panic!("{d}"));
    assert_eq!(e.field, "strike");
    assert!(e.message().contains("expected a number column"), "{d}");
}

#[test]
fn toml_round_trip_of_an_algorithmic_stablecoin() {
    let ust = include_str!("../../../../examples/replays/ust-luna/snapshot.toml");
    let s = parse(ust);
    let text = snapshot_to_toml(&s, &[], true);
    let back = parse(&text);
    assert_eq!(normalized(back.clone()), normalized(s.clone()), "{text}");
    let (a, b) = (
        s.protocols.iter().find_map(|p| p.algostable()),
        back.protocols.iter().find_map(|p| p.algostable()),
    );
    assert!(a.is_some());
    assert_eq!(a, b);
}

/// One validator judges `[[account]]` entries and position-file rows: the same bad position gives
/// the same message from both (the file only names a column where the TOML names a field).
#[test]
fn toml_and_position_files_judge_a_position_alike() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "perps = [ { market = \"SOL-PERP\", size = 1.0, entry_price = 2000.0 } ]",
            ",,,SOL-PERP,1,2000,,,,",
            "unknown market \"SOL-PERP\" in protocol \"perpdex\"; expected one of its markets: \"ETH-PERP\", \"BTC-PERP\", \"ETH-SPOT\"",
        ),
        (
            "perps = [ { market = \"ETH-PERP\", size = 1.0, entry_price = -3.0 } ]",
            ",,,ETH-PERP,1,-3,,,,",
            "= -3, expected an entry price > 0 USD",
        ),
        (
            "options = [ { underlying = \"BTC\", kind = \"put\", strike = 50000.0, expiry_days = 30.0, size = 1.0 } ]",
            "BTC,,,option,1,,50000,30,put,",
            "\"BTC\" has no volatility smile in protocol \"perpdex\"; expected an underlying with a smile: \"ETH\", \"stETH\"",
        ),
        (
            "options = [ { underlying = \"ETH\", kind = \"put\", strike = 0.0, expiry_days = 30.0, size = 1.0 } ]",
            "ETH,,,option,1,,0,30,put,",
            "= 0, expected a strike > 0 USD",
        ),
        (
            "collateral = { BTC = 1.0 }",
            "BTC,collateral,1,,,,,,,",
            "\"BTC\" is not accepted as collateral by \"perpdex\" (no collateral weight)",
        ),
        (
            "collateral = { stETH = 1.7e308 }",
            "stETH,collateral,1.7e308,,,,,,,",
            "= 1.7e308 tokens at 1980 USD each is not a finite USD value; expected an amount whose value in USD is finite",
        ),
    ];
    for (toml, row, expected) in cases {
        let text = format!("{BASE}\n[[account]]\nid = \"t\"\nprotocol = \"perpdex\"\n{toml}\n");
        let from_toml =
            match cascade_io::snapshot_from_str(&text, cascade_io::Format::Toml, "s.toml") {
                Ok(_) => panic!("{toml}: loaded"),
                Err(e) => e.diagnostics.items,
            };
        assert_eq!(from_toml.len(), 1, "{toml}: {from_toml:#?}");
        assert_eq!(from_toml[0].message(), expected, "{toml}");
        let items = load_csv(BASE, &format!("{HEADER}perpdex,t,{row}\n"))
            .map(|_| ())
            .unwrap_err()
            .items;
        assert_eq!(items.len(), 1, "{row}: {items:#?}");
        assert_eq!(items[0].message(), expected, "{row}");
    }
}
