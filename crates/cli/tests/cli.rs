//! End-to-end tests of the `cascade` binary: exit codes, JSON keys, errors, atomic output, threads.

use std::path::Path;
use std::process::{Command, Output};

fn cascade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running cascade: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

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
        cascade(&["gen", "--accounts", "0", "--out", "x"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn no_output_file_on_failure_and_whole_file_on_success() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("result.json");
    let out_s = out.to_str().unwrap_or("");
    let o = cascade(&[
        "stress",
        "--scenario",
        "no-such-scenario",
        "--output",
        out_s,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());
    let o = cascade(&["stress", "--output", out_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["scenario"], "eth-crash");
    // Only the result file is in the folder: no temporary left behind.
    assert_eq!(
        std::fs::read_dir(dir.path())
            .map(|d| d.count())
            .unwrap_or(0),
        1
    );
    // Writing into a folder that does not exist is a runtime failure, exit 1.
    let o = cascade(&["stress", "--output", "/nonexistent-dir/x.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn generated_system_gives_identical_json_with_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().to_str().unwrap_or("");
    let o = cascade(&["gen", "--accounts", "20000", "--seed", "7", "--out", d]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let snap = dir.path().join("snapshot.toml");
    let snap = snap.to_str().unwrap_or("");
    let v = cascade(&["validate", "--snapshot", snap]);
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    let one = cascade(&["--threads", "1", "stress", "--snapshot", snap, "--json"]);
    let two = cascade(&["--threads", "2", "stress", "--snapshot", snap, "--json"]);
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    assert!(
        json(&one)["system"]["accounts_liquidated"]
            .as_u64()
            .unwrap_or(0)
            > 100
    );
    assert_eq!(one.stdout, two.stdout);
    // The same seed gives the same files.
    let dir2 = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = cascade(&[
        "gen",
        "--accounts",
        "20000",
        "--seed",
        "7",
        "--out",
        dir2.path().to_str().unwrap_or(""),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let read = |p: &Path| std::fs::read(p).unwrap_or_default();
    assert_eq!(
        read(&dir.path().join("snapshot.toml")),
        read(&dir2.path().join("snapshot.toml"))
    );
    assert_eq!(
        read(&dir.path().join("positions.parquet")),
        read(&dir2.path().join("positions.parquet"))
    );
}

#[test]
fn simulate_json_keys_threads_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("paths.parquet");
    let args = [
        "simulate",
        "--paths",
        "300",
        "--horizon-days",
        "7",
        "--seed",
        "5",
        "--dist",
        "t",
        "--dof",
        "4",
        "--json",
    ];
    let one = cascade(
        &[
            &["--threads", "1"],
            &args[..],
            &["--out", out.to_str().unwrap_or("")],
        ]
        .concat(),
    );
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    let two = cascade(&[&["--threads", "2"], &args[..]].concat());
    assert_eq!(one.stdout, two.stdout);
    let v = json(&one);
    for k in [
        "var_95_usd",
        "var_99_usd",
        "es_95_usd",
        "es_99_usd",
        "lar_95_usd",
        "p_bad_debt",
        "var_99_usd_ci",
        "es_99_usd_ci",
    ] {
        assert!(v["system"].get(k).is_some(), "system.{k}");
        assert!(v["protocols"][0].get(k).is_some(), "protocols[0].{k}");
    }
    assert_eq!(v["paths"], 300);
    assert!(std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) > 0);
    // Bad arguments: exit 2, nothing written.
    let bad = dir.path().join("bad.parquet");
    for a in [
        vec!["simulate", "--paths", "0"],
        vec!["simulate", "--dist", "t", "--dof", "2"],
        vec!["simulate", "--jump", "NOPE=0.1:-0.2"],
        vec!["simulate", "--jump", "stETH=1.5:-0.2"],
        vec!["simulate", "--alphas", "0.95,1.2"],
    ] {
        let o = cascade(&[&a[..], &["--out", bad.to_str().unwrap_or("")]].concat());
        assert_eq!(o.status.code(), Some(2), "{a:?}: {}", stderr(&o));
    }
    assert!(!bad.exists());
}

#[test]
fn reports_are_self_contained_html() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let stress = dir.path().join("stress.html");
    let sim = dir.path().join("sim.html");
    let o = cascade(&["stress", "--report", stress.to_str().unwrap_or("")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cascade(&[
        "simulate",
        "--paths",
        "200",
        "--horizon-days",
        "7",
        "--report",
        sim.to_str().unwrap_or(""),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in [&stress, &sim] {
        let html = std::fs::read_to_string(f).unwrap_or_default();
        assert!(
            html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
            "{}",
            &html[..html.len().min(80)]
        );
        assert!(html.contains("<svg"));
        assert!(
            !html.contains("<script") && !html.contains("http"),
            "external resource or script in {}",
            f.display()
        );
    }
    assert!(std::fs::read_to_string(&sim)
        .unwrap_or_default()
        .contains("VaR 99%"));
}

#[test]
fn contagion_json_and_graph_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (dot, edges) = (dir.path().join("g.dot"), dir.path().join("g.csv"));
    let o = cascade(&[
        "contagion",
        "--json",
        "--dot",
        dot.to_str().unwrap_or(""),
        "--edges",
        edges.to_str().unwrap_or(""),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    for k in [
        "exposure_graph",
        "contagion_coefficients",
        "loops",
        "concentration",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    // spark accepts aave-v3's aUSDC: a receipt claim.
    assert!(v["exposure_graph"].as_array().is_some_and(|e| e
        .iter()
        .any(|x| x["from"] == "spark" && x["to"] == "aave-v3" && x["kind"] == "receipt")));
    // An ETH crash makes aave-v3 insolvent at some drop below 99%.
    assert!(v["contagion_coefficients"]
        .as_array()
        .is_some_and(|c| c.iter().any(|x| x["asset"] == "ETH"
            && x["protocol"] == "aave-v3"
            && x["threshold_drop"]
                .as_f64()
                .is_some_and(|d| d > 0.0 && d < 0.99))));
    assert!(std::fs::read_to_string(&dot)
        .unwrap_or_default()
        .starts_with("digraph"));
    assert!(std::fs::read_to_string(&edges)
        .unwrap_or_default()
        .starts_with("from,to,kind,asset,usd\n"));
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/networks")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn clearing_reproduces_the_published_values() {
    // Three banks, external assets −10%: payments [20, 21, 10]; −20%: [18, 19.4285714286, 10].
    let (l, e) = (
        example("three-banks-liabilities.csv"),
        example("three-banks-external.csv"),
    );
    for (shock, want) in [
        ("0.1", [20.0, 21.0, 10.0]),
        ("0.2", [18.0, 19.4285714286, 10.0]),
    ] {
        let o = cascade(&[
            "clearing",
            "--liabilities",
            &l,
            "--external-assets",
            &e,
            "--shock",
            shock,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        for (node, w) in ["A", "B", "C"].iter().zip(want) {
            assert!(
                (v["payments"][node].as_f64().unwrap_or(f64::NAN) - w).abs() < 1e-9,
                "{shock} {node}: {}",
                v["payments"]
            );
        }
        assert!(v["recovery"].get("A").is_some() && v["default_round"].get("C").is_some());
    }
    // Rogers–Veraart, α = β = 0.5: [2, 2.2].
    let o = cascade(&[
        "clearing",
        "--liabilities",
        &example("rv-liabilities.csv"),
        "--external-assets",
        &example("rv-external.csv"),
        "--alpha",
        "0.5",
        "--beta",
        "0.5",
        "--json",
    ]);
    let v = json(&o);
    assert!(
        (v["payments"]["X"].as_f64().unwrap_or(0.0) - 2.0).abs() < 1e-12
            && (v["payments"]["Y"].as_f64().unwrap_or(0.0) - 2.2).abs() < 1e-12
    );
    // Bad input: exit 2 naming the file.
    let o = cascade(&["clearing", "--liabilities", &e, "--external-assets", &e]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("three-banks-external.csv"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn debtrank_both_variants() {
    // examples/networks/README.md: shock A by 0.5 — original: stress [0.65, 0.2, 0.25], DebtRank 0.1125;
    // differential: [1, 0.4, 0.5], DebtRank 0.225.
    let (x, q) = (
        example("debtrank-exposures.csv"),
        example("debtrank-equity.csv"),
    );
    for (variant, want, dr) in [
        ("original", [0.65, 0.2, 0.25], 0.1125),
        ("differential", [1.0, 0.4, 0.5], 0.225),
    ] {
        let o = cascade(&[
            "debtrank",
            "--exposures",
            &x,
            "--equity",
            &q,
            "--shock",
            "A=0.5",
            "--variant",
            variant,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        for (node, w) in ["A", "B", "C"].iter().zip(want) {
            assert!(
                (v["stress"][node].as_f64().unwrap_or(f64::NAN) - w).abs() < 1e-9,
                "{variant} {node}: {}",
                v["stress"]
            );
        }
        assert!((v["debtrank"].as_f64().unwrap_or(f64::NAN) - dr).abs() < 1e-9);
        assert!(v.get("additional_stress").is_some() && v.get("rounds").is_some());
    }
    assert_eq!(
        cascade(&[
            "debtrank",
            "--exposures",
            &x,
            "--equity",
            &q,
            "--shock",
            "Z=0.5"
        ])
        .status
        .code(),
        Some(2)
    );
}

/// `cascade greeks` reproduces the issue's Black–Scholes/Black-76 values (S=42, K=40, r=10%,
/// σ=20%, T=½; S=49, K=50, r=5%, σ=20%, T=20/52) with exactly the five JSON keys.
#[test]
fn greeks_reproduces_the_published_values() {
    let one = |kind: &str, args: &[&str]| {
        let mut a = vec!["greeks", "--kind", kind, "--json"];
        a.extend_from_slice(args);
        let o = cascade(&a);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        json(&o)
    };
    let hull = [
        "--spot",
        "42",
        "--strike",
        "40",
        "--rate",
        "0.10",
        "--vol",
        "0.20",
        "--expiry-years",
        "0.5",
    ];
    let c = one("call", &hull);
    let keys: Vec<&str> = c
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["delta", "gamma", "price", "theta", "vega"]);
    let near = |v: &serde_json::Value, k: &str, want: f64, tol: f64| {
        let got = v[k].as_f64().unwrap_or(f64::NAN);
        assert!((got - want).abs() <= tol, "{k}: got {got}, want {want}");
    };
    near(&c, "price", 4.759_422_392_9, 5e-11);
    near(&c, "delta", 0.779_131_290_9, 5e-11);
    near(&c, "gamma", 0.049_962_670_4, 5e-11);
    near(&c, "vega", 8.8134, 5e-5);
    near(&c, "theta", -4.5591, 5e-5);
    let p = one("put", &hull);
    near(&p, "price", 0.808_599_372_9, 5e-11);
    let c2 = one(
        "call",
        &[
            "--spot",
            "49",
            "--strike",
            "50",
            "--rate",
            "0.05",
            "--vol",
            "0.2",
            "--expiry-years",
            &(20.0f64 / 52.0).to_string(),
        ],
    );
    near(&c2, "price", 2.400_527_323_3, 5e-11);
    // --rate defaults to 0: with r = 0 and K = S the call equals the put (parity).
    let atm = [
        "--spot",
        "100",
        "--strike",
        "100",
        "--vol",
        "0.5",
        "--expiry-years",
        "1",
    ];
    let (c0, p0) = (one("call", &atm), one("put", &atm));
    near(
        &c0,
        "price",
        p0["price"].as_f64().unwrap_or(f64::NAN),
        1e-12,
    );
    // The table names every Greek.
    let o = cascade(&[&["greeks", "--kind", "call"][..], &hull[..]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for w in ["price", "delta", "gamma", "vega", "theta", "4.7594223929"] {
        assert!(stdout(&o).contains(w), "{w}: {}", stdout(&o));
    }
}

/// `--file`: two rows, columns in another order, `rate` missing in one of them.
#[test]
fn greeks_values_a_csv_of_options() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("book.csv");
    std::fs::write(
        &path,
        "kind,expiry_years,vol,strike,spot,rate\nput,0.5,0.2,40,42,0.1\n\ncall,0.3846153846153846,0.2,50,49,0.05\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let f = path.to_string_lossy().into_owned();
    let o = cascade(&["greeks", "--file", &f, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let rows = v.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{v}");
    let price = |i: usize| rows[i]["price"].as_f64().unwrap_or(f64::NAN);
    assert!((price(0) - 0.808_599_372_9).abs() < 5e-11, "{}", rows[0]);
    assert!((price(1) - 2.400_527_323_3).abs() < 1e-9, "{}", rows[1]);
    assert_eq!(rows[0]["kind"], "put");
    assert_eq!(rows[1]["spot"].as_f64(), Some(49.0));
    for k in [
        "delta",
        "gamma",
        "vega",
        "theta",
        "strike",
        "rate",
        "vol",
        "expiry_years",
    ] {
        assert!(rows[1].get(k).is_some(), "{k} missing: {}", rows[1]);
    }
    let o = cascade(&["greeks", "--file", &f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("0.8085993729"), "{}", stdout(&o));
    // rate is optional: without the column every rate is 0.
    std::fs::write(
        &path,
        "spot,strike,vol,expiry_years,kind\n100,100,0.5,1,call\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = cascade(&["greeks", "--file", &f, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)[0]["rate"].as_f64(), Some(0.0));
}

/// Every bad input exits 2 with the flag, or the file, line and column, named; never a panic.
#[test]
fn greeks_bad_input_exits_2_naming_the_field() {
    let base = |flag: &str, value: &str| {
        let mut a: Vec<String> = [
            "greeks",
            "--spot",
            "42",
            "--strike",
            "40",
            "--vol",
            "0.2",
            "--expiry-years",
            "0.5",
            "--kind",
            "call",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(i) = a.iter().position(|x| x == flag) {
            a[i + 1] = value.to_string();
        }
        a
    };
    for (flag, value, says) in [
        ("--vol", "-0.2", "--vol = -0.2, expected ≥ 0"),
        ("--expiry-years", "0", "--expiry-years = 0, expected > 0"),
        ("--expiry-years", "-1", "--expiry-years = -1, expected > 0"),
        ("--strike", "0", "--strike = 0, expected > 0"),
        ("--spot", "-5", "--spot = -5, expected > 0"),
        (
            "--kind",
            "straddle",
            "--kind = \"straddle\", expected call or put",
        ),
        ("--vol", "nan", "--vol = NaN, expected a finite number"),
        ("--vol", "abc", "--vol"),
    ] {
        let a = base(flag, value);
        let args: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = cascade(&args);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{flag} {value}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("bad.csv");
    let f = path.to_string_lossy().into_owned();
    let header = "spot,strike,rate,vol,expiry_years,kind\n";
    for (body, says) in [
        (
            "42,40,0.1,-0.2,0.5,call\n",
            ":2: vol: found -0.2, expected ≥ 0",
        ),
        (
            "42,40,0.1,0.2,0.5,call\n42,40,0.1,0.2,0,put\n",
            ":3: expiry_years: found 0, expected > 0",
        ),
        (
            "42,0,0.1,0.2,0.5,call\n",
            ":2: strike: found 0, expected > 0",
        ),
        (
            "-1,40,0.1,0.2,0.5,call\n",
            ":2: spot: found -1, expected > 0",
        ),
        (
            "42,40,0.1,0.2,0.5,straddle\n",
            ":2: kind: found \"straddle\", expected call or put",
        ),
        (
            "42,40,0.1,x,0.5,call\n",
            ":2: vol: found \"x\", expected a number",
        ),
        ("42,40,0.1,0.2,call\n", ":2: found 5 fields, expected 6"),
    ] {
        std::fs::write(&path, format!("{header}{body}")).unwrap_or_else(|e| panic!("{e}"));
        let o = cascade(&["greeks", "--file", &f]);
        assert_eq!(o.status.code(), Some(2), "{body}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("{f}{says}")),
            "{body}: {}",
            stderr(&o)
        );
    }
    std::fs::write(
        &path,
        "spot,strike,volatility,expiry_years,kind\n42,40,0.2,0.5,call\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = cascade(&["greeks", "--file", &f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(":1: header: found column \"volatility\""),
        "{}",
        stderr(&o)
    );
    let o = cascade(&[
        "greeks",
        "--file",
        &dir.path().join("none.csv").to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("none.csv: cannot read"),
        "{}",
        stderr(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// cascade bench (issue 7): keys, workload selection, the peers' reference files, Markdown ratios.
// Quick mode with one run and a few workloads: these check outputs, they do not time anything.
// ---------------------------------------------------------------------------------------------

#[test]
fn bench_quick_json_has_the_report_keys() {
    let o = cascade(&[
        "bench",
        "--quick",
        "--json",
        "--runs",
        "1",
        "--workloads",
        "stream,health_scan,en_dense,portfolio_margin",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["mode"], "quick");
    for k in ["cpu_model", "cores", "threads", "memory_gib"] {
        assert!(!v["machine"][k].is_null(), "machine.{k}: {v}");
    }
    let b = &v["bandwidth"];
    for k in [
        "copy_1t_gb_s",
        "triad_1t_gb_s",
        "copy_all_gb_s",
        "triad_all_gb_s",
    ] {
        assert!(b[k].as_f64().is_some_and(|x| x > 0.0), "bandwidth.{k}: {b}");
    }
    let w = v["workloads"].as_array().expect("workloads");
    let names: Vec<&str> = w.iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, ["health_scan", "portfolio_margin", "en_dense"]);
    for m in w {
        for k in ["median_s", "min_s", "max_s", "throughput_per_s", "items"] {
            assert!(m[k].as_f64().is_some_and(|x| x > 0.0), "{k}: {m}");
        }
        assert_eq!(m["runs"], 1);
        assert!(
            m["target_met"].is_null(),
            "quick mode judges no target: {m}"
        );
        assert!(!m["checks"].as_array().expect("checks").is_empty());
    }
    // bytes touched / median / triad bandwidth
    let h = &w[0];
    let share = h["bytes_per_run"].as_f64().unwrap_or(0.0)
        / h["median_s"].as_f64().unwrap_or(1.0)
        / 1e9
        / b["triad_all_gb_s"]
            .as_f64()
            .unwrap_or(1.0)
            .max(b["triad_1t_gb_s"].as_f64().unwrap_or(1.0));
    assert!((h["bandwidth_share"].as_f64().unwrap_or(0.0) - share).abs() <= 1e-9 * share);
    assert_eq!(h["items"], 5000.0);
    assert_eq!(
        w[1]["items"], 2000.0,
        "the quick portfolio-margin book: {}",
        w[1]
    );
    assert_eq!(w[2]["size"], "n = 150, 22,350 liabilities");
    assert!(
        v["skipped"].as_array().is_none_or(|s| s.is_empty()),
        "{}",
        v["skipped"]
    );
}

#[test]
fn bench_refuses_an_unknown_workload() {
    let o = cascade(&["bench", "--quick", "--workloads", "health_scan,warp"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown workload \"warp\", expected one of: stream,"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bench_emit_writes_npy_references_and_render_puts_peer_ratios() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().to_string_lossy().to_string();
    let o = cascade(&[
        "bench",
        "--quick",
        "--json",
        "--runs",
        "1",
        "--workloads",
        "en_dense",
        "--emit",
        &d,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // .npy: 10 bytes of magic, version and header length, the header, then 8 bytes per value.
    for (file, values) in [
        ("en_dense_payments.npy", 150),
        ("en_dense_liabilities.npy", 150 * 150),
    ] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!(bytes.len(), 10 + header + 8 * values, "{file}");
    }
    let report = dir.path().join("cascade.json");
    std::fs::write(&report, &o.stdout).unwrap_or_else(|e| panic!("{e}"));
    let v = json(&o);
    let cascade_per_s = v["workloads"][0]["throughput_per_s"]
        .as_f64()
        .unwrap_or(0.0);
    // A peer doing one clearing in 0.25 s: 4 clearings/s; and one that disagrees.
    let peers = serde_json::json!({"environment": "test", "peers": [
        {"name": "slow peer", "workload": "en_dense", "items": 1.0, "unit": "clearings", "runs": 1,
         "median_s": 0.25, "max_diff": 1e-12, "tolerance": 1e-9, "check": "p", "agrees": true,
         "target_ratio": 20.0},
        {"name": "wrong peer", "workload": "en_dense", "items": 1.0, "unit": "clearings", "runs": 1,
         "median_s": 0.001, "max_diff": 0.5, "tolerance": 1e-9, "check": "p", "agrees": false}
    ]});
    let peers_path = dir.path().join("peers.json");
    std::fs::write(&peers_path, peers.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let o = cascade(&[
        "bench",
        "--render",
        &report.to_string_lossy(),
        "--peers",
        &peers_path.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.starts_with("# Benchmarks"), "{md}");
    assert!(md.contains("bench/run.sh"));
    let ratio = format!("**{:.1}×**", cascade_per_s / 4.0);
    assert!(md.contains(&ratio), "expected {ratio} in:\n{md}");
    assert!(md.contains("| wrong peer | `en_dense` |"), "{md}");
    assert!(md.contains("not counted"), "{md}");
}

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

#[test]
fn gen_adds_a_derivatives_book_that_loads_back() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("g");
    let out_s = out.to_string_lossy().into_owned();
    let o = cascade(&[
        "gen",
        "--accounts",
        "300",
        "--derivative-accounts",
        "40",
        "--options-per-account",
        "3",
        "--format",
        "csv",
        "--out",
        &out_s,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("120 options"), "{}", stderr(&o));
    let snap = out.join("snapshot.toml");
    let o = cascade(&["validate", "--snapshot", &snap.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        said.contains("340 accounts") && said.contains("120 options"),
        "{said}"
    );
}

#[path = "cli/corrupt_parquet.rs"]
mod corrupt_parquet;
#[path = "cli/golden.rs"]
mod golden;
