use super::*;

fn parse(text: &str) -> Result<PriceSeries, SeriesError> {
    parse_prices(text.as_bytes(), "prices.csv")
}

#[test]
fn generic_layout_reads_every_asset_column() {
    let s = parse("timestamp,ETH,WBTC\n0,100,200\n3600,110,190\n7200,99,209\n").unwrap();
    assert_eq!(s.format, SeriesFormat::Generic);
    assert_eq!(s.assets, ["ETH", "WBTC"]);
    assert_eq!(s.timestamps_s, [0.0, 3600.0, 7200.0]);
    assert_eq!(s.prices[1], [200.0, 190.0, 209.0]);
    assert_eq!(s.period_s(), 3600.0);
    assert_eq!(s.periods_per_year(), 8760.0);
    let r = s.log_returns(0);
    assert!((r[0] - 1.1f64.ln()).abs() < 1e-15 && (r[1] - 0.9f64.ln()).abs() < 1e-15);
    assert_eq!(s.asset_index("wbtc"), Some(1));
}

#[test]
fn symbol_layout_takes_milliseconds_and_the_symbol() {
    let s = parse("symbol,timestamp,USD_price\nCRV,1609459491156,0.62\nCRV,1609463118646,0.64\n")
        .unwrap();
    assert_eq!(s.format, SeriesFormat::SymbolUsdPrice);
    assert_eq!(s.assets, ["CRV"]);
    assert!((s.timestamps_s[0] - 1_609_459_491.156).abs() < 1e-6);
    assert_eq!(s.prices[0], [0.62, 0.64]);
}

#[test]
fn bid_ask_layout_takes_the_mid_and_names_the_pair() {
    let s = parse(
        "timestamp_x,ask_price,bid_price,binance-futures_ethusdt_liquidation_long,binance-futures_ethusdt_liquidation_short\n\
         1609460068912307.2,731,730,51.95,4.234\n1609460127950823.8,733,731,0,0\n",
    )
    .unwrap();
    assert_eq!(s.format, SeriesFormat::BidAsk);
    assert_eq!(s.assets, ["ETH"]);
    assert_eq!(s.prices[0], [730.5, 732.0]);
    assert!((s.timestamps_s[1] - 1_609_460_127.950_823_8).abs() < 1e-5);
}

#[test]
fn a_bad_cell_names_file_line_and_column() {
    let e = parse("timestamp,ETH,WBTC\n0,100,200\n3600,110,abc\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "prices.csv:3: column 3 (\"WBTC\"): found \"abc\", expected a price > 0"
    );
    let e = parse("timestamp,ETH\n0,100\n3600,-1\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "prices.csv:3: column 2 (\"ETH\"): found \"-1\", expected a price > 0"
    );
}

#[test]
fn timestamps_must_increase() {
    let e = parse("timestamp,ETH\n0,100\n3600,101\n3600,102\n").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("prices.csv:4: timestamp 3600 is not after"),
        "{e}"
    );
}

#[test]
fn other_problems_are_typed_errors() {
    assert!(matches!(
        parse("time,ETH\n0,1\n1,2\n"),
        Err(SeriesError::Format { .. })
    ));
    assert!(matches!(
        parse("timestamp,ETH\n0,1\n"),
        Err(SeriesError::Format { .. })
    ));
    assert!(matches!(
        parse("timestamp,ETH\n0,1\n1,2,3\n"),
        Err(SeriesError::Csv { line: 3, .. })
    ));
    let e = parse("symbol,timestamp,USD_price\nCRV,1,0.5\nETH,2,0.6\n").unwrap_err();
    assert!(e.to_string().contains("one asset per file"), "{e}");
    let e = read_prices(Path::new("/nonexistent/prices.csv")).unwrap_err();
    assert!(
        e.to_string().starts_with("/nonexistent/prices.csv: "),
        "{e}"
    );
}

/// The real files of ../shared/data/real (docs: that folder's README): row counts and sampling
/// periods as documented there. Skipped when the folder is absent.
#[test]
fn real_files_read_as_documented() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real");
    if !dir.exists() {
        eprintln!("skipped: {} not found", dir.display());
        return;
    }
    let crv = read_prices(&dir.join("bhemen_aave_CRV_usd_hourly.csv")).unwrap();
    // 18,862 data rows (the folder's README says 18,861; `wc -l` counts 18,862 lines because the
    // last row has no newline, and the header is one of them — there are 18,862 rows of data).
    assert_eq!(
        (crv.assets[0].as_str(), crv.timestamps_s.len()),
        ("CRV", 18_862)
    );
    assert!((crv.period_s() - 3600.0).abs() < 60.0, "{}", crv.period_s());
    let eth = read_prices(&dir.join("riskdao_ethusdt_1m_2021-01.csv")).unwrap();
    assert_eq!(
        (eth.assets[0].as_str(), eth.timestamps_s.len()),
        ("ETH", 43_173)
    );
    assert!((eth.period_s() - 60.0).abs() < 2.0, "{}", eth.period_s());
    // README: ETH 730 → 1378 over the month.
    assert!((eth.prices[0][0] - 730.82).abs() < 0.1);
}
