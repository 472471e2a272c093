//! `cascade backtest` and `cascade calibrate --prices` (docs/volatility.md): results checked against
//! values worked by hand, and the errors on bad input.

use crate::common::{cascade, json, stderr};

/// A generic price file (hourly) whose log returns are `returns`, from price 100.
fn write_prices(dir: &std::path::Path, name: &str, columns: &[(&str, &[f64])]) -> String {
    let n = columns[0].1.len();
    let mut text = String::from("timestamp");
    for (c, _) in columns {
        text += &format!(",{c}");
    }
    text += "\n";
    let mut logp = vec![100f64.ln(); columns.len()];
    for i in 0..=n {
        text += &format!("{}", i * 3600);
        for (k, (_, r)) in columns.iter().enumerate() {
            if i > 0 {
                logp[k] += r[i - 1];
            }
            text += &format!(",{}", logp[k].exp());
        }
        text += "\n";
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Returns ±0.01 alternating for 60 periods, then −0.2. With --window 50 the EWMA variance of any
/// window of ±0.01 is exactly 1e-4 (seed and every update 1e-4), so q = Φ⁻¹(0.01)·0.01 = −0.0232635
/// at every one of the 11 forecast points t = 50…60; only the last return (−0.2) falls below it.
/// Kupiec, n = 11, x = 1, p = 0.01:
///   ln L(p) = 10·ln 0.99 + ln 0.01 = −4.7056735;  ln L(1/11) = 10·ln(10/11) + ln(1/11) = −3.3509971
///   LR_pof = 2.7093529, p = erfc(√(2.7093529/2)) = 0.0997614.
/// Christoffersen: n00 = 9, n01 = 1, no transition out of a hit: π₀₁ = π = 0.1, LR_ind = 0, p = 1.
#[test]
fn backtest_ewma_matches_hand_worked_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let mut r: Vec<f64> = (0..60)
        .map(|i| if i % 2 == 0 { 0.01 } else { -0.01 })
        .collect();
    r.push(-0.2);
    let file = write_prices(dir.path(), "p.csv", &[("ETH", &r)]);
    let o = cascade(&[
        "backtest", "--prices", &file, "--window", "50", "--models", "ewma", "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let m = &v["assets"][0]["models"][0];
    assert_eq!(v["assets"][0]["asset"], "ETH");
    assert_eq!(m["model"], "ewma");
    assert_eq!(m["forecasts"], 11);
    assert_eq!(m["exceedances"], 1);
    let f = |x: &serde_json::Value| x.as_f64().unwrap();
    assert!((f(&m["kupiec"]["lr"]) - 2.709_352_947).abs() < 1e-8, "{m}");
    assert!(
        (f(&m["kupiec"]["p_value"]) - 0.099_761_448).abs() < 1e-8,
        "{m}"
    );
    assert!(f(&m["christoffersen"]["lr"]).abs() < 1e-12, "{m}");
    assert_eq!(m["transitions"]["n01"], 1);
    assert!(
        (f(&m["mean_var_quantile"]) + 0.023_263_478_740).abs() < 1e-9,
        "{m}"
    );
}

#[test]
fn backtest_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "timestamp,ETH\n0,100\n3600,x\n").unwrap();
    let o = cascade(&["backtest", "--prices", &bad.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.csv:3: column 2 (\"ETH\"): found \"x\", expected a price > 0"),
        "{}",
        stderr(&o)
    );
    let r = vec![0.01; 80];
    let file = write_prices(dir.path(), "p.csv", &[("ETH", &r)]);
    let o = cascade(&["backtest", "--prices", &file, "--asset", "BTC"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--asset BTC: not in"), "{}", stderr(&o));
    let o = cascade(&["backtest", "--prices", &file, "--window", "10"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--window = 10"), "{}", stderr(&o));
    let o = cascade(&["backtest", "--prices", &file, "--window", "100"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("80 returns"), "{}", stderr(&o));
}

/// calibrate --prices on the built-in system: ETH's hourly returns 0.01, −0.02, 0.03 with λ = 0.9
/// give σ²_hour = 4.743e-4 (the EWMA recursion by hand in cascade-volatility's tests), so
/// σ_annual = √(4.743e-4 · 8760) = 2.0383523; WBTC has no series and keeps 0.60; the ETH haircut of
/// aave-v3 is 1 − exp(−z_99·2.0383523·√(1/365)) + impact.
#[test]
fn calibrate_fills_volatility_from_prices() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_prices(dir.path(), "eth.csv", &[("ETH", &[0.01, -0.02, 0.03])]);
    let o = cascade(&[
        "calibrate",
        "--paths",
        "0",
        "--prices",
        &file,
        "--lambda",
        "0.9",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let rows = v["volatility_sources"]["volatilities"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["asset"] == id).unwrap().clone();
    let eth = row("ETH");
    let want = (4.743e-4f64 * 8760.0).sqrt();
    assert!(
        (eth["volatility"].as_f64().unwrap() - want).abs() < 1e-9,
        "{eth}"
    );
    assert_eq!(eth["source"], "history");
    assert_eq!(eth["model"], "ewma(lambda=0.9)");
    assert_eq!(eth["hand_set"], 0.75);
    let wbtc = row("WBTC");
    assert_eq!(wbtc["source"], "hand-set (no series)");
    assert_eq!(wbtc["volatility"], 0.6);
    let c = v["closed_form"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["protocol"] == "aave-v3" && c["asset"] == "ETH")
        .unwrap()
        .clone();
    let z99 = 2.326_347_874_040_841;
    let h = 1.0 - (-z99 * want * (1.0f64 / 365.0).sqrt()).exp() + c["impact"].as_f64().unwrap();
    assert!((c["haircut"].as_f64().unwrap() - h).abs() < 1e-12, "{c}");
    // Without --prices the output has no volatility_sources (and stays as the golden files have it).
    let o = cascade(&["calibrate", "--paths", "0", "--json"]);
    assert!(json(&o).get("volatility_sources").is_none());
}

#[test]
fn calibrate_garch_on_too_short_a_series_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_prices(dir.path(), "eth.csv", &[("ETH", &[0.01, -0.02, 0.03])]);
    let o = cascade(&[
        "calibrate",
        "--paths",
        "0",
        "--prices",
        &file,
        "--vol-model",
        "garch",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("GARCH fit: 3 returns, expected at least 50"),
        "{}",
        stderr(&o)
    );
}
