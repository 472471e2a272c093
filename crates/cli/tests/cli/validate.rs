//! `cascade validate`: what it says on stderr when the input is bad.

use crate::common::{cascade, json, stderr};

/// A snapshot whose one asset has a negative price: one error.
fn bad_snapshot(dir: &tempfile::TempDir) -> String {
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\n[[asset]]\nid = \"ETH\"\nkind = \"native\"\nprice = -1.0\nliquidity = { curve = \"power_law\", adv_usd = 1.0, k = 1.0, alpha = 0.5 }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    bad.to_string_lossy().into_owned()
}

#[test]
fn validate_json_on_bad_input_says_where_the_details_are() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = bad_snapshot(&dir);
    let o = cascade(&["validate", "--snapshot", &path, "--json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: 1 error(s) found; the details are in the JSON on stdout\n"
    );
    assert_eq!(json(&o)["findings"].as_array().map(Vec::len), Some(1));
    // Without --json: the finding, then the count, and no blank line.
    let o = cascade(&["validate", "--snapshot", &path]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.ends_with("expected a number ≥ 0\n1 error(s)\n"),
        "{err:?}"
    );
}
