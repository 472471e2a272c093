//! Output files: written whole or not at all; self-contained HTML reports.

use crate::common::{cascade, stderr};

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
