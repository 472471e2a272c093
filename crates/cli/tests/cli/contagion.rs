//! `cascade contagion`: the JSON and the graph files.

use crate::common::{cascade, json, stderr};

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
