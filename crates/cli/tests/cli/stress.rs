//! `cascade stress`: the built-in scenarios, the JSON keys, bad input.

use std::path::Path;

use crate::common::{cascade, example_path, json, stderr, stdout};

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
                "{path}:5: asset \"ETH\".price: = -1, expected a number ≥ 0"
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

#[test]
fn accounts_file_has_one_row_per_account_worked_by_hand() {
    // The worked example: alice (10 ETH, 17,000 USDC) HF = 10·2000·0.825/17000 = 0.970588…, repaid in
    // full in round 1 at ETH 1900: seize 17000·1.05/1900 = 9.394736842 ETH, left with no debt (HF ∞).
    // bob (10 ETH, 15,500 USDC) HF 16500/15500 = 1.064516…, half repaid in round 2: 7,750 USDC.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let csv = dir.path().join("accounts.csv");
    let o = cascade(&[
        "stress",
        "--snapshot",
        &example_path("worked/snapshot.toml"),
        "--scenario",
        &example_path("worked/scenario.toml"),
        "--accounts",
        &csv.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap_or_else(|e| panic!("{e}"));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("protocol,account,health_before,health_after,liquidated_debt_usd,seized_collateral_usd,protocol_fee_usd,bad_debt_usd,first_liquidation_round,unprofitable_rounds,first_collateral,first_debt,first_repaid_tokens,first_seized_tokens,first_protocol_fee_tokens")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2);
    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
    let alice = &rows[0];
    assert_eq!((alice[0], alice[1]), ("lend", "alice"));
    assert!((num(alice[2]) - 16500.0 / 17000.0).abs() < 1e-12);
    assert_eq!(alice[3], "inf");
    assert_eq!(num(alice[4]), 17000.0);
    assert!((num(alice[5]) - 17850.0).abs() < 1e-9);
    assert_eq!((alice[8], alice[10], alice[11]), ("1", "ETH", "USDC"));
    assert!((num(alice[13]) - 17000.0 * 1.05 / 1900.0).abs() < 1e-12);
    let bob = &rows[1];
    assert!((num(bob[2]) - 16500.0 / 15500.0).abs() < 1e-12);
    assert_eq!((bob[8], num(bob[4])), ("2", 7750.0));
    // Parquet by the extension; anything else is refused before the run.
    let pq = dir.path().join("accounts.parquet");
    let o = cascade(&[
        "stress",
        "--snapshot",
        &example_path("worked/snapshot.toml"),
        "--scenario",
        &example_path("worked/scenario.toml"),
        "--accounts",
        &pq.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::metadata(&pq).map(|m| m.len() > 0).unwrap_or(false));
    let o = cascade(&[
        "stress",
        "--accounts",
        &dir.path().join("a.json").to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("expected a file ending in .parquet or .csv"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_zero_price_loads_with_a_warning_and_every_run_stays_finite() {
    // A drained market: ETH at 0. Its collateral counts for nothing and cannot be seized, so both
    // worked-example accounts end in bad debt; no figure may be NaN (serialised as null) or infinite.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(example_path("worked/snapshot.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("price = 2000.0", "price = 0.0");
    assert!(text.contains("price = 0.0"));
    let snap = dir.path().join("zero.toml");
    std::fs::write(&snap, text).unwrap_or_else(|e| panic!("{e}"));
    let s = snap.to_string_lossy().into_owned();
    let sc = example_path("worked/scenario.toml");
    let o = cascade(&["validate", "--snapshot", &s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("price: = 0: the asset is worthless"),
        "{}",
        stderr(&o)
    );
    for args in [
        vec!["stress", "--snapshot", &s, "--scenario", &sc, "--json"],
        vec!["contagion", "--snapshot", &s, "--scenario", &sc, "--json"],
        vec!["simulate", "--snapshot", &s, "--paths", "20", "--json"],
    ] {
        let o = cascade(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(
            !out.contains("null") && !out.contains("NaN"),
            "{args:?}: {out}"
        );
    }
    let o = cascade(&["stress", "--snapshot", &s, "--scenario", &sc, "--json"]);
    let v = json(&o);
    assert_eq!(
        v["system"]["bad_debt_usd"].as_f64(),
        Some(17000.0 + 15500.0)
    );
}

#[test]
fn clearinghouse_accounts_carry_their_margin_ratio_and_add_up_to_the_protocol() {
    // perp-long-02 of the built-in system: 1,500 ETH collateral (maintenance weight 0.92) behind a
    // 4,000 ETH long entered at 2,000, ETH at 2,000 before the shocks: equity 1500·2000·0.92 =
    // 2,760,000, maintenance margin 0.03·4000·2000 = 240,000, margin ratio 11.5.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let csv = dir.path().join("accounts.csv");
    let o = cascade(&["stress", "--json", "--accounts", &csv.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let text = std::fs::read_to_string(&csv).unwrap_or_else(|e| panic!("{e}"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .filter(|r: &Vec<String>| r[0] == "perp-dex")
        .collect();
    assert_eq!(rows.len(), 7, "{text}");
    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
    let long02 = rows
        .iter()
        .find(|r| r[1] == "perp-long-02")
        .unwrap_or_else(|| panic!("{text}"));
    assert!((num(&long02[col("health_before")]) - 11.5).abs() < 1e-12);
    // The rows add up to the protocol's own figures: bad debt, collateral seized, accounts closed.
    let sum = |c: &str| rows.iter().map(|r| num(&r[col(c)])).sum::<f64>();
    let rounds = v["rounds"].as_array().cloned().unwrap_or_default();
    let of_protocol = |list: &str, field: &str| {
        rounds
            .iter()
            .flat_map(|r| r[list].as_array().cloned().unwrap_or_default())
            .filter(|x| x["protocol"] == "perp-dex")
            .map(|x| x[field].as_f64().unwrap_or(f64::NAN))
            .sum::<f64>()
    };
    let bad = of_protocol("bad_debt", "usd");
    assert!(bad > 0.0);
    assert!((sum("bad_debt_usd") - bad).abs() <= 1e-9 * bad);
    let seized = of_protocol("liquidations", "seized_usd");
    assert!((sum("seized_collateral_usd") - seized).abs() <= 1e-9 * seized);
    let closed = rows
        .iter()
        .filter(|r| r[col("first_liquidation_round")] != "0")
        .count();
    let protocol = v["protocols"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == "perp-dex").cloned())
        .unwrap_or_default();
    assert_eq!(
        Some(closed as u64),
        protocol["accounts_liquidated"].as_u64()
    );
    // Every account closed was below maintenance when it was closed; none is left open below it.
    for r in &rows {
        let after = num(&r[col("health_after")]);
        assert!(after >= 1.0 || after.is_nan(), "{r:?}");
    }
}

#[test]
fn per_account_bad_debt_adds_up_to_each_protocols_in_every_kind() {
    // Lending accounts, CDP vaults (each vault's own auction shortfall; Black Thursday's zero bids)
    // and clearinghouse accounts: the rows of a protocol sum to its bad debt in rounds[].
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let csv = dir.path().join("accounts.csv");
    let csv_s = csv.to_string_lossy().into_owned();
    let bt_snap = example_path("replays/black-thursday/snapshot.toml");
    let bt_scen = example_path("replays/black-thursday/scenario.toml");
    for args in [
        vec!["stress", "--json", "--accounts", &csv_s],
        vec![
            "stress",
            "--json",
            "--accounts",
            &csv_s,
            "--snapshot",
            &bt_snap,
            "--scenario",
            &bt_scen,
        ],
    ] {
        let o = cascade(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        let text = std::fs::read_to_string(&csv).unwrap_or_else(|e| panic!("{e}"));
        let mut per_account: std::collections::BTreeMap<String, f64> = Default::default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            *per_account.entry(f[0].to_string()).or_default() +=
                f[7].parse::<f64>().unwrap_or(f64::NAN);
        }
        let mut with_bad_debt = 0;
        for (protocol, rows) in &per_account {
            let total: f64 = v["rounds"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| r["bad_debt"].as_array().cloned().unwrap_or_default())
                .filter(|b| b["protocol"] == protocol.as_str())
                .map(|b| b["usd"].as_f64().unwrap_or(f64::NAN))
                .sum();
            assert!(
                (rows - total).abs() <= 1e-9 * total.max(1.0),
                "{args:?} {protocol}: rows {rows} vs rounds {total}"
            );
            with_bad_debt += usize::from(total > 0.0);
        }
        assert!(with_bad_debt >= 1, "{args:?}: {per_account:?}");
    }
}
