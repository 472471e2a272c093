//! `cascade adjust` (docs/adjuster.md): a path worked by hand, the snapshot in force written back,
//! the errors on bad input, and the CRV replay on the real series when it is present.

use crate::common::{cascade, example_path, json, stderr, stdout};

/// An hourly generic price file of CRV whose log returns are `returns`, from price 100.
fn write_prices(dir: &std::path::Path, returns: &[f64]) -> String {
    let mut text = String::from("timestamp,CRV\n");
    let mut logp = 100f64.ln();
    for i in 0..=returns.len() {
        if i > 0 {
            logp += returns[i - 1];
        }
        text += &format!("{},{}\n", i * 3600, logp.exp());
    }
    let path = dir.join("p.csv");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// One lending protocol with a CRV collateral reserve (LT 0.80, LTV 0.75, bonus 0.05) and no
/// price impact (k = 0).
const SNAPSHOT: &str = r#"name = "adj"
[[asset]]
id = "CRV"
kind = "governance"
price = 0.5
volatility = 1.0
liquidity = { curve = "power_law", adv_usd = 1.0e8, k = 0.0, alpha = 0.5 }
[[asset]]
id = "USDC"
kind = "stable"
price = 1.0
volatility = 0.01
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.0, alpha = 0.5 }
[[protocol]]
id = "lend"
kind = "lending"
[[protocol.reserve]]
asset = "USDC"
ltv = 0.80
liquidation_threshold = 0.85
liquidation_bonus = 0.05
[[protocol.reserve]]
asset = "CRV"
ltv = 0.75
liquidation_threshold = 0.80
liquidation_bonus = 0.05
[[account]]
id = "a"
protocol = "lend"
collateral = { CRV = 1000.0 }
debt = { USDC = 100.0 }
"#;

fn alternating(n: usize, a: f64) -> Vec<f64> {
    (0..n).map(|i| if i % 2 == 0 { a } else { -a }).collect()
}

/// 50 hourly returns of ±0.01 then 50 of ±0.02, W = 50, a rebalance every 50 hours (t = 50, 100):
/// EWMA σ² per hour is exactly 1e-4 then 4e-4 (every window is all ±a, whose mean square is a²).
///   t = 50:  σ = √(8760e-4) = 0.9359487; x = z_99·σ·√(1/365) = 0.1139673; h = 1 − e^−x = 0.1077129
///            LT* = (1 − h)/1.05 = 0.8497972; LTV* = LT* − (0.80 − 0.75) = 0.7997972
///            applied (max step 0.03) from 0.80/0.75: 0.83, 0.78
///   t = 100: σ = √(8760·4e-4) = 1.8718974; x = 0.2279346; h = 0.2038237
///            LT* = 0.7961763/1.05 = 0.7582631; LTV* = 0.7082631; applied 0.80, 0.75
/// At 2 h after the last rebalance the LT in force is 0.80, the LTV 0.75 (written back).
#[test]
fn adjust_matches_a_path_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = alternating(50, 0.01);
    r.extend(alternating(50, 0.02));
    let prices = write_prices(dir.path(), &r);
    let snap = dir.path().join("s.toml");
    std::fs::write(&snap, SNAPSHOT).unwrap();
    let csv = dir.path().join("path.csv");
    let out = dir.path().join("in-force.toml");
    let (snap_s, csv_s, out_s) = (
        snap.to_string_lossy(),
        csv.to_string_lossy(),
        out.to_string_lossy(),
    );
    let o = cascade(&[
        "adjust",
        "--prices",
        &prices,
        "--snapshot",
        &snap_s,
        "--every",
        "50",
        "--window",
        "50",
        "--max-step",
        "0.03",
        "--output",
        &csv_s,
        "--at",
        "367200",
        "--write-snapshot",
        &out_s,
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    assert_eq!(
        (f(&rows[0], "timestamp_s"), f(&rows[1], "timestamp_s")),
        (180_000.0, 360_000.0)
    );
    assert!(
        close(f(&rows[0], "sigma_annual"), 0.935_948_7),
        "{}",
        rows[0]
    );
    assert!(close(f(&rows[0], "haircut"), 0.107_712_9), "{}", rows[0]);
    assert!(close(f(&rows[0], "lt_target"), 0.849_797_3), "{}", rows[0]);
    assert!(close(f(&rows[0], "ltv_target"), 0.799_797_3), "{}", rows[0]);
    assert!(close(f(&rows[0], "lt_applied"), 0.83) && close(f(&rows[0], "ltv_applied"), 0.78));
    assert!(
        close(f(&rows[1], "sigma_annual"), 1.871_897_4),
        "{}",
        rows[1]
    );
    assert!(close(f(&rows[1], "lt_target"), 0.758_263_2), "{}", rows[1]);
    assert!(close(f(&rows[1], "lt_applied"), 0.80) && close(f(&rows[1], "ltv_applied"), 0.75));
    assert!(rows[0]["mmr_target"].is_null());
    // the CSV: a header and the same two rows
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text
        .lines()
        .nth(2)
        .unwrap()
        .starts_with("360000.0,lend,CRV,collateral,1.87189"));
    // any other name: the --json document
    let doc = dir.path().join("result.json");
    let o = cascade(&[
        "adjust",
        "--prices",
        &prices,
        "--snapshot",
        &snap_s,
        "--every",
        "50",
        "--window",
        "50",
        "--output",
        &doc.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&doc).unwrap()).unwrap();
    assert_eq!(doc["rows"].as_array().map(Vec::len), Some(2));
    // the snapshot in force at t = 367,200 s (102 h): the t = 100 values
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("ltv = 0.75"), "{written}");
    let o = cascade(&["validate", "--snapshot", &out_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lt: Vec<f64> = written
        .lines()
        .filter_map(|l| l.strip_prefix("liquidation_threshold = "))
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(lt.len(), 2);
    assert!((lt[1] - 0.80).abs() < 1e-12 && lt[0] == 0.85, "{lt:?}");
}

#[test]
fn adjust_summary_names_the_policy_and_each_lever() {
    let dir = tempfile::tempdir().unwrap();
    let prices = write_prices(dir.path(), &alternating(120, 0.01));
    let o = cascade(&[
        "adjust", "--prices", &prices, "--window", "50", "--every", "24",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(
        s.contains("ewma(lambda=0.94), window 50, rebalance every 24 periods, max step 0.02"),
        "{s}"
    );
    // no snapshot: a bare collateral lever, bonus 0.05; t = 50, 74, 98 (3 steps), σ constant
    // 0.9359487, LT* = 0.8922871/1.05 = 0.8497972 from the first rebalance on
    assert!(
        s.contains("-              CRV      collateral           3"),
        "{s}"
    );
    assert!(
        s.contains("0.936   0.936   0.936   0.8498  0.8498  0.8498"),
        "{s}"
    );
}

#[test]
fn adjust_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let prices = write_prices(dir.path(), &alternating(60, 0.01));
    let run = |extra: &[&str]| {
        let mut args = vec!["adjust", "--prices", prices.as_str(), "--window", "50"];
        args.extend_from_slice(extra);
        cascade(&args)
    };
    let cases: [(&[&str], &str); 7] = [
        (
            &["--every", "0"],
            "--every: every = 0, expected at least 1 period",
        ),
        (&["--max-step", "-0.1"], "--max-step: max_step = -0.1"),
        (&["--confidence", "1.5"], "--confidence: alpha = 1.5"),
        (&["--days", "0"], "--days: horizon_days = 0"),
        (
            &["--from", "2022-13-01"],
            "--from \"2022-13-01\": expected Unix seconds",
        ),
        (&["--from", "1e9"], "no rebalance"),
        (
            &["--at", "0", "--write-snapshot", "x.toml"],
            "--write-snapshot needs --snapshot",
        ),
    ];
    for (extra, message) in cases {
        let o = run(extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{extra:?}: {}", stderr(&o));
    }
    let o = cascade(&["adjust", "--prices", &prices, "--window", "100"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no rebalance"), "{}", stderr(&o));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "timestamp,CRV\n0,1\n3600,x\n").unwrap();
    let o = cascade(&["adjust", "--prices", &bad.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.csv:3: column 2 (\"CRV\"): found \"x\", expected a price > 0"),
        "{}",
        stderr(&o)
    );
    let o = cascade(&[
        "adjust",
        "--prices",
        &prices,
        "--snapshot",
        &example_path("worked/snapshot.toml"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no price column matches"),
        "{}",
        stderr(&o)
    );
    // --at before the first rebalance (t = 50 h = 180,000 s): nothing is in force yet
    let snap = dir.path().join("s.toml");
    std::fs::write(&snap, SNAPSHOT).unwrap();
    let out = dir.path().join("out.toml");
    let o = cascade(&[
        "adjust",
        "--prices",
        &prices,
        "--window",
        "50",
        "--snapshot",
        &snap.to_string_lossy(),
        "--at",
        "3600",
        "--write-snapshot",
        &out.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--at 3600: before the first rebalance (1970-01-03 02:00)"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

/// The replay of docs/adjuster.md on the real CRV series (skipped without it): 52 daily rebalances
/// from 2022-10-01 to the morning of 22 Nov 2022. The borrow cap is worked by hand: on the square-
/// root law (k = 0.4, adv = $150M) a buy of value B costs k/1.5·√(B/adv) of it; at USDC's 4.5%
/// bonus B = adv·(0.045·1.5/0.4)² = 1.5e8·0.0284766 = $4.2715M, 10.6787M CRV at $0.40. The
/// debt's buy-back impact (92M CRV = $36.8M): 0.4/1.5·√(36.8/150) = 0.132083.
#[test]
fn adjust_replays_crv_before_22_november_2022() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/real/bhemen_aave_CRV_usd_hourly.csv");
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return;
    }
    let o = cascade(&[
        "adjust",
        "--prices",
        &path.to_string_lossy(),
        "--snapshot",
        &example_path("replays/crv-aave-v2/snapshot.toml"),
        "--from",
        "2022-10-01",
        "--to",
        "2022-11-22T06:00",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let levers = v["levers"].as_array().unwrap();
    assert_eq!(levers.len(), 2, "{v}");
    assert_eq!(levers[0]["rebalances"], 52);
    let rows = v["rows"].as_array().unwrap();
    let debt = rows.iter().rev().find(|r| r["lever"] == "debt").unwrap();
    let f = |k: &str| debt[k].as_f64().unwrap();
    assert!(
        (f("borrow_cap_tokens") / 10.678_7e6 - 1.0).abs() < 1e-4,
        "{debt}"
    );
    assert!((f("impact") - 0.132_083).abs() < 1e-5, "{debt}");
    // BF* = e^−x − impact with x = z_99·σ·√(1/365)
    let x = 2.326_347_874 * f("sigma_annual") * (1.0f64 / 365.0).sqrt();
    assert!(
        (f("borrow_factor_target") - ((-x).exp() - 0.132_083)).abs() < 1e-5,
        "{debt}"
    );
}
