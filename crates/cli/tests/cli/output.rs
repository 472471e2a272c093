//! Output: JSON (pretty, no -0.0, `--output`), output paths checked before the run, files written
//! whole or not at all, self-contained HTML reports.

use crate::common::{cascade, json, stderr, stdout};

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
    // Writing into a folder that does not exist is a usage error, exit 2, found before the run.
    let o = cascade(&["stress", "--output", "/nonexistent-dir/x.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
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
fn breakers_both_report_is_one_document() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("both.html");
    let o = cascade(&[
        "stress",
        "--breakers",
        "both",
        "--report",
        path.to_str().unwrap_or(""),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(html.matches("<html").count(), 1, "one document");
    assert_eq!(html.matches("</html>").count(), 1);
    assert!(html.contains("— breakers on</h3>") && html.contains("— breakers off</h3>"));
    // The built-in eth-crash: perp-dex's winners are drawn as winners, not as uncovered.
    assert!(html.contains("paid by winners (socialised / ADL)"));
}

/// No `-0.0` anywhere in a JSON value.
fn assert_no_negative_zero(v: &serde_json::Value, at: &str) {
    match v {
        serde_json::Value::Number(n) => {
            let x = n.as_f64().unwrap_or(1.0);
            assert!(!(x == 0.0 && x.is_sign_negative()), "-0.0 at {at}");
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                assert_no_negative_zero(x, &format!("{at}[{i}]"));
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                assert_no_negative_zero(x, &format!("{at}.{k}"));
            }
        }
        _ => {}
    }
}

#[test]
fn json_is_pretty_and_has_no_negative_zero() {
    // The built-in eth-crash and a margined account both had -0.0 before.
    for args in [
        vec!["stress", "--json"],
        vec!["stress", "--breakers", "both", "--json"],
        vec!["margin", "--account", "perp-long-01", "--json"],
        vec![
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
            "--json",
        ],
    ] {
        let o = cascade(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(
            !text.contains("-0.0,") && !text.contains("-0.0\n"),
            "{args:?}"
        );
        assert_no_negative_zero(&json(&o), "$");
        assert!(
            text.starts_with("{\n  \""),
            "{args:?}: not pretty: {}",
            &text[..text.len().min(60)]
        );
    }
    // greeks --json alone: pretty, the five keys in order.
    let o = cascade(&[
        "greeks",
        "--spot",
        "42",
        "--strike",
        "40",
        "--rate",
        "0.1",
        "--vol",
        "0.2",
        "--expiry-years",
        "0.5",
        "--kind",
        "call",
        "--json",
    ]);
    let text = stdout(&o);
    let keys: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"')?.split('"').next())
        .collect();
    assert_eq!(keys, ["price", "delta", "gamma", "vega", "theta"], "{text}");
}

#[test]
fn output_writes_the_json_of_every_command_that_has_one() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (name, args) in [
        ("calibrate", vec!["calibrate", "--paths", "0"]),
        ("contagion", vec!["contagion"]),
        ("margin", vec!["margin", "--account", "opt-writer-01"]),
        (
            "greeks",
            vec![
                "greeks",
                "--spot",
                "1",
                "--strike",
                "1",
                "--vol",
                "0.5",
                "--expiry-years",
                "1",
                "--kind",
                "put",
            ],
        ),
    ] {
        let path = dir.path().join(format!("{name}.json"));
        let p = path.to_string_lossy().into_owned();
        let o = cascade(&[&args[..], &["--output", &p]].concat());
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let with_json = cascade(&[&args[..], &["--json"]].concat());
        assert_eq!(
            std::fs::read(&path).unwrap_or_default(),
            with_json.stdout,
            "{name}: --output and --json differ"
        );
        // Without --json, stdout has the table, not the JSON.
        assert!(!stdout(&o).starts_with('{'), "{name}");
    }
}

#[test]
fn bad_output_paths_are_usage_errors_found_before_the_run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let folder = dir.path().to_string_lossy().into_owned();
    // The missing snapshot would fail the run: the path is checked first, so the message is about
    // the path.
    for (args, flag, path, why) in [
        (
            vec!["stress", "--snapshot", "/nonexistent/s.toml"],
            "--output",
            "/nonexistent-cascade/x.json",
            "cannot write: the folder /nonexistent-cascade does not exist",
        ),
        (
            vec!["stress", "--snapshot", "/nonexistent/s.toml"],
            "--report",
            "/nonexistent-cascade/x.html",
            "cannot write: the folder /nonexistent-cascade does not exist",
        ),
        (
            vec!["simulate", "--snapshot", "/nonexistent/s.toml"],
            "--per-path",
            "/nonexistent-cascade/p.parquet",
            "cannot write: the folder /nonexistent-cascade does not exist",
        ),
        (
            vec!["simulate", "--snapshot", "/nonexistent/s.toml"],
            "--report",
            &folder,
            "cannot write: it is a folder; expected a file name",
        ),
        (
            vec!["contagion", "--snapshot", "/nonexistent/s.toml"],
            "--dot",
            "/nonexistent-cascade/g.dot",
            "cannot write: the folder /nonexistent-cascade does not exist",
        ),
        (
            vec!["contagion", "--snapshot", "/nonexistent/s.toml"],
            "--edges",
            "/nonexistent-cascade/g.csv",
            "cannot write: the folder /nonexistent-cascade does not exist",
        ),
        (
            vec!["calibrate", "--snapshot", "/nonexistent/s.toml"],
            "--output",
            "/nonexistent-cascade/c.json",
            "cannot write: the folder /nonexistent-cascade does not exist",
        ),
    ] {
        let o = cascade(&[&args[..], &[flag, path]].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?} {flag}");
        assert_eq!(
            stderr(&o),
            format!("error: {flag} {path}: {why}\n"),
            "{args:?}"
        );
    }
    // An output folder that cannot be created.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap_or_else(|e| panic!("{e}"));
    let inside = file.join("sub");
    let o = cascade(&[
        "gen",
        "--accounts",
        "10",
        "--out-dir",
        &inside.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!(
            "error: --out-dir {}: cannot create the folder",
            inside.display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1);
}
