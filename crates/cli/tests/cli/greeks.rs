//! `cascade greeks`: published values, a CSV of options, bad input.

use crate::common::{cascade, json, stderr, stdout};

/// `cascade greeks` reproduces the Black–Scholes/Black-76 values (S=42, K=40, r=10%,
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
            "invalid value 'straddle' for '--kind <KIND>'\n  [possible values: call, put]",
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

#[test]
fn greeks_file_reports_every_bad_row() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("book.csv");
    std::fs::write(
        &path,
        "spot,strike,rate,vol,expiry_years,kind\n42,40,0.1,0.2,0.5,call\n42,40,0.1,-0.2,0.5,call\n\
         42,0,0.1,0.2,0.5,put\n42,40,0.1,0.2,0.5,straddle\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let f = path.to_string_lossy().into_owned();
    let o = cascade(&["greeks", "--file", &f]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    for says in [
        ":3: vol: found -0.2, expected ≥ 0",
        ":4: strike: found 0, expected > 0",
        ":5: kind: found \"straddle\", expected call or put",
    ] {
        assert!(err.contains(&format!("{f}{says}")), "{says}: {err}");
    }
    assert_eq!(stdout(&o), "", "nothing valued when a row is bad");
}
