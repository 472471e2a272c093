//! `cascade margin` and clearinghouse snapshots: the explanation, bad input.

use crate::common::{cascade, json, stderr, stdout};

#[test]
fn margin_explains_a_portfolio_margined_account() {
    let o = cascade(&["margin", "--account", "opt-writer-01", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["margin_mode"], "portfolio");
    assert_eq!(v["protocol"], "perp-dex");
    // The requirement is the binding scenario's loss (above the floor), and the legs' parts sum to it.
    let mm = v["maintenance_margin_usd"].as_f64().unwrap_or(f64::NAN);
    let grid = &v["grid"][0];
    let worst = grid["worst"]["loss_usd"].as_f64().unwrap_or(f64::NAN);
    assert!((mm - worst).abs() < 1e-6 * mm, "{mm} vs {worst}");
    let parts: f64 = grid["contributions"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["loss_usd"].as_f64()).sum())
        .unwrap_or(f64::NAN);
    assert!((parts - worst).abs() < 1e-6 * worst);
    assert_eq!(v["binding_scenario"]["underlying"], "ETH");
    assert!(
        v["binding_scenario"]["move"].as_f64().unwrap_or(0.0) < 0.0,
        "puts lose on a fall"
    );
    for k in ["delta", "gamma", "vega", "theta"] {
        assert!(v["options"][0][k].is_number(), "{k}");
        assert!(v["greeks"][0][k].is_number(), "{k}");
    }
    let h = v["maintenance_health_usd"].as_f64().unwrap_or(f64::NAN);
    let e = v["equity_maintenance_usd"].as_f64().unwrap_or(f64::NAN);
    assert!((h - (e - mm)).abs() < 1e-6);
    let o = cascade(&["margin", "--account", "opt-writer-01"]);
    assert!(
        stdout(&o).contains("binds the portfolio requirement"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn margin_of_an_unknown_account_exits_2() {
    let o = cascade(&["margin", "--account", "nobody"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no account \"nobody\""),
        "{}",
        stderr(&o)
    );
}

/// A clearinghouse snapshot with one bad field each time: every error names the field and exits 2.
#[test]
fn clearinghouse_bad_input_exits_2_naming_the_field() {
    let base = r#"name = "bad"
[[asset]]
id = "USDC"
kind = "stable"
price = 1.0
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.0, alpha = 0.5 }
[[asset]]
id = "ETH"
kind = "native"
price = 2000.0
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.04, alpha = 0.5 }
[[protocol]]
id = "perps"
kind = "clearinghouse"
collateral = [ { asset = "USDC", initial_weight = 1.0, maintenance_weight = 1.0 } ]
liabilities = [ { asset = "USDC", initial_weight = 1.1, maintenance_weight = 1.05 } ]
[[protocol.market]]
id = "ETH-PERP"
underlying = "ETH"
imr = 0.1
mmr = 0.05
[protocol.options]
smile = { ETH = { atm = 0.7 } }
[[account]]
id = "t"
protocol = "perps"
collateral = { USDC = 1000.0 }
options = [ { underlying = "ETH", kind = "put", strike = 1800.0, expiry_days = 30.0, size = -1.0 } ]
"#;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cases: [(&str, &str, &str); 8] = [
        (
            "atm = 0.7",
            "atm = -0.2",
            "smile.ETH.atm: = -0.2, expected an annualised volatility > 0",
        ),
        (
            "expiry_days = 30.0",
            "expiry_days = 0.0",
            "expiry_days: = 0, expected an expiry > 0 days",
        ),
        (
            "strike = 1800.0",
            "strike = -5.0",
            "strike: = -5, expected a strike > 0 USD",
        ),
        (
            "underlying = \"ETH\", kind",
            "underlying = \"BTC\", kind",
            "unknown underlying \"BTC\"",
        ),
        ("underlying = \"ETH\"\nimr", "imr", "underlying: missing"),
        (
            "initial_weight = 1.0, maintenance_weight = 1.0",
            "initial_weight = 1.2, maintenance_weight = 1.0",
            "initial_weight: = 1.2, expected a weight in [0, 1]",
        ),
        (
            "initial_weight = 1.1, maintenance_weight = 1.05",
            "initial_weight = 1.1, maintenance_weight = 0.9",
            "maintenance_weight: = 0.9, expected a liability weight ≥ 1",
        ),
        (
            "mmr = 0.05",
            "mmr = 0.05\noracle = { kind = \"thin_venue\" }",
            "oracle.curve: missing; a thin-venue oracle needs its venue's curve",
        ),
    ];
    for (i, (from, to, expected)) in cases.iter().enumerate() {
        assert!(base.contains(from), "case {i}: {from}");
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, base.replacen(from, to, 1)).unwrap_or_else(|e| panic!("{e}"));
        let o = cascade(&["validate", "--snapshot", &path.to_string_lossy()]);
        assert_eq!(o.status.code(), Some(2), "case {i}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(expected),
            "case {i}: expected {expected:?} in {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "case {i}");
    }
    let path = dir.path().join("good.toml");
    std::fs::write(&path, base).unwrap_or_else(|e| panic!("{e}"));
    let o = cascade(&["validate", "--snapshot", &path.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
