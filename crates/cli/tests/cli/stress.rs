//! `cascade stress`: the built-in scenarios, the JSON keys, bad input.

use std::path::Path;

use crate::common::{cascade, json, stderr, stdout};

#[test]
fn stress_with_no_arguments_runs_the_builtin_eth_crash() {
    let o = cascade(&["stress"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("scenario \"eth-crash\""), "{out}");
    assert!(out.contains("contagion trace:"));
    assert!(
        out.contains("round 0: scenario \"eth-crash\": ETH −40.0%"),
        "{out}"
    );
}

#[test]
fn stress_json_has_the_design_keys() {
    let o = cascade(&["stress", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    for k in [
        "bad_debt_usd",
        "uncovered_usd",
        "shortfall_usd",
        "liquidated_debt_usd",
        "seized_collateral_usd",
        "accounts_liquidated",
        "rounds",
    ] {
        assert!(v["system"].get(k).is_some(), "system.{k} missing");
    }
    let p = &v["protocols"][0];
    for k in [
        "id",
        "bad_debt_usd",
        "shortfall_usd",
        "liquidated_debt_usd",
        "accounts_liquidated",
        "insurance_used_usd",
    ] {
        assert!(p.get(k).is_some(), "protocols[].{k} missing");
    }
    assert!(v["final_prices"]["ETH"]
        .as_f64()
        .is_some_and(|x| x < 1200.0));
    let r = &v["rounds"][1];
    for k in ["round", "prices", "sales", "liquidations", "bad_debt_usd"] {
        assert!(r.get(k).is_some(), "rounds[].{k} missing");
    }
    assert!(v["trace"].as_array().is_some_and(|t| !t.is_empty()));
    // The eth-crash liquidates something in every lending pool of the built-in system.
    let liq = v["system"]["accounts_liquidated"].as_u64().unwrap_or(0);
    assert!(liq > 0);
}

#[test]
fn builtin_scenarios_and_worked_example() {
    let o = cascade(&["stress", "--scenario", "steth-depeg", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["scenario"], "steth-depeg");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/worked");
    let snap = root.join("snapshot.toml");
    let sc = root.join("scenario.toml");
    let o = cascade(&[
        "stress",
        "--snapshot",
        snap.to_str().unwrap_or(""),
        "--scenario",
        sc.to_str().unwrap_or(""),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    // README's worked example: 17,000 + 7,750 liquidated; ETH ends at 1802.475.
    assert!((v["system"]["liquidated_debt_usd"].as_f64().unwrap_or(0.0) - 24750.0).abs() < 1e-6);
    assert!((v["final_prices"]["ETH"].as_f64().unwrap_or(0.0) - 1802.47525693917).abs() < 1e-6);
}

#[test]
fn bad_input_exits_2_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\n[[asset]]\nid = \"ETH\"\nkind = \"native\"\nprice = -1.0\nliquidity = { curve = \"power_law\", adv_usd = 1.0, k = 1.0, alpha = 0.5 }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = bad.to_str().unwrap_or("");
    for cmd in ["validate", "stress"] {
        let o = cascade(&[cmd, "--snapshot", path]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "{path}:5: asset \"ETH\".price: = -1, expected a number > 0"
            )),
            "{err}"
        );
        assert!(stdout(&o).is_empty() || cmd == "validate");
    }
    let o = cascade(&["validate", "--snapshot", path, "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert_eq!(v["ok"], false);
    assert_eq!(v["findings"][0]["line"], 5);
    // A missing file, an unknown scenario, a usage error.
    assert_eq!(
        cascade(&["stress", "--snapshot", "/nonexistent/s.toml"])
            .status
            .code(),
        Some(2)
    );
    let o = cascade(&["stress", "--scenario", "no-such-scenario"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("built-in: eth-crash, steth-depeg"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        cascade(&["stress", "--no-such-flag"]).status.code(),
        Some(2)
    );
    assert_eq!(
        cascade(&["gen", "--accounts", "0", "--out-dir", "x"])
            .status
            .code(),
        Some(2)
    );
}
