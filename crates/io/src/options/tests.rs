use super::*;

/// Reads `text`, judging rows by `vol ≥ 0`; the rendered errors on failure.
fn read(text: &str) -> Result<Vec<OptionRow>, Vec<String>> {
    read_options_from("book.csv", text, |r| {
        if r.vol >= 0.0 {
            Ok(*r)
        } else {
            Err(FieldProblem {
                field: "vol".into(),
                problem: found(r.vol.to_string(), "≥ 0"),
            })
        }
    })
    .map_err(|e| e.diagnostics.items.iter().map(|d| d.to_string()).collect())
}

#[test]
fn columns_in_any_order_rate_optional_quotes_and_blank_lines() {
    let rows = read("\u{feff}kind,expiry_years,vol,strike,spot\n\n\"Call\",0.5,0.2,40,42\nput, 1 ,0.3,\"35\",42\n")
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0],
        OptionRow {
            line: 3,
            kind: OptionType::Call,
            spot: 42.0,
            strike: 40.0,
            rate: 0.0,
            vol: 0.2,
            expiry_years: 0.5
        }
    );
    assert_eq!(
        (rows[1].kind, rows[1].strike, rows[1].line),
        (OptionType::Put, 35.0, 4)
    );
}

#[test]
fn every_bad_row_is_reported() {
    let e = read("spot,strike,rate,vol,expiry_years,kind\n42,40,0.1,0.2,0.5,call\n42,x,0.1,0.2,0.5,call\n42,40,0.1,-0.2,0.5,call\n42,40,0.1,0.2,0.5,straddle\n42,40\n42,,0.1,0.2,0.5,put\n")
        .unwrap_err();
    assert_eq!(
        e,
        [
            "error: book.csv:3: strike: found \"x\", expected a number",
            "error: book.csv:4: vol: found -0.2, expected ≥ 0",
            "error: book.csv:5: kind: found \"straddle\", expected call or put",
            "error: book.csv:6: found 2 fields, expected 6 (one per header column)",
            "error: book.csv:7: strike: empty; expected a number",
        ]
    );
}

#[test]
fn header_problems() {
    assert_eq!(
        read("spot,strike,vol,expiry_years,kind,colour\n1,1,0,1,call,red\n").unwrap_err(),
        ["error: book.csv:1: header: found column \"colour\", expected one of spot, strike, rate, vol, expiry_years, kind"]
    );
    assert_eq!(
        read("spot,strike,vol,kind\n1,1,0,call\n").unwrap_err(),
        ["error: book.csv:1: expiry_years: missing column; expected the columns spot, strike, vol, expiry_years and kind (rate optional)"]
    );
    assert_eq!(
        read("spot,spot,strike,vol,expiry_years,kind\n").unwrap_err(),
        ["error: book.csv:1: spot: duplicate column"]
    );
    assert_eq!(
        read("spot,strike,vol,expiry_years,kind\n").unwrap_err(),
        ["error: book.csv: no data rows; expected at least one option row after the header"]
    );
    assert_eq!(
        read("\n \n").unwrap_err(),
        ["error: book.csv: empty file; expected a header (spot,strike,rate,vol,expiry_years,kind) and one option per row"]
    );
}
