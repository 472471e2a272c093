//! The scenario a command runs without `--scenario`, and `cascade scenarios`.

use crate::common::{cascade, json, stderr, stdout};

/// A small system: ETH (native, 10 × $2,000 = $20k of collateral), UNI (governance, 5,000 × $10 =
/// $50k) and USDC (stable, $100k, not volatile). The most-held volatile collateral is UNI.
const SMALL: &str = r#"name = "small"

[[asset]]
id = "ETH"
kind = "native"
price = 2000.0
volatility = 0.8
liquidity = { curve = "power_law", adv_usd = 1.0e7, k = 1.0, alpha = 0.5 }

[[asset]]
id = "UNI"
kind = "governance"
price = 10.0
volatility = 1.0
liquidity = { curve = "power_law", adv_usd = 1.0e6, k = 1.0, alpha = 0.5 }

[[asset]]
id = "USDC"
kind = "stable"
price = 1.0
liquidity = { curve = "stableswap", amplification = 2000.0, base = 5.0e8, quote = 5.0e8, fee = 0.0001 }

[[protocol]]
id = "lend"
kind = "lending"
close_factor = 0.5

[[protocol.reserve]]
asset = "ETH"
ltv = 0.80
liquidation_threshold = 0.825
liquidation_bonus = 0.05

[[protocol.reserve]]
asset = "UNI"
ltv = 0.5
liquidation_threshold = 0.6
liquidation_bonus = 0.1

[[protocol.reserve]]
asset = "USDC"
ltv = 0.80
liquidation_threshold = 0.85
liquidation_bonus = 0.05

[[account]]
id = "eth-holder"
protocol = "lend"
collateral = { ETH = 10.0 }
debt = { USDC = 10000.0 }

[[account]]
id = "uni-holder"
protocol = "lend"
collateral = { UNI = 5000.0 }
debt = { USDC = 25000.0 }

[[account]]
id = "saver"
protocol = "lend"
collateral = { USDC = 100000.0 }
"#;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path.to_string_lossy().into_owned()
}

#[test]
fn a_custom_snapshot_without_scenario_gets_the_generic_shock_of_its_most_held_volatile_asset() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let snap = write(&dir, "small.toml", SMALL);
    let o = cascade(&["stress", "--snapshot", &snap, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["scenario"], "generic-shock");
    // UNI −30%: $10 → $7 (then fire sales may push it lower, never higher); ETH untouched.
    let uni = v["final_prices"]["UNI"].as_f64().unwrap_or(f64::NAN);
    assert!(uni <= 7.0 + 1e-9, "UNI ends at {uni}");
    assert_eq!(v["final_prices"]["ETH"].as_f64(), Some(2000.0));
    assert!(
        stderr(&o).contains("the generic shock, UNI -30%"),
        "{}",
        stderr(&o)
    );
    let table = stdout(&cascade(&["stress", "--snapshot", &snap]));
    assert!(table.contains("UNI −30.0%"), "{table}");
    // contagion attributes the same shock's bad debt to loops.
    let o = cascade(&["contagion", "--snapshot", &snap, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["loops_scenario"], "generic-shock");
    // An explicit scenario still wins.
    let o = cascade(&[
        "stress",
        "--snapshot",
        &snap,
        "--scenario",
        "usdc-depeg",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["scenario"], "usdc-depeg");
}

#[test]
fn a_snapshot_without_volatile_collateral_says_in_one_line_which_scenarios_fit() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Only the saver: USDC collateral, nothing volatile held. Of the built-ins only usdc-depeg
    // names nothing but USDC.
    let only_stable = SMALL.split("[[account]]").next().unwrap_or("").to_string()
        + "[[account]]\nid = \"saver\"\nprotocol = \"lend\"\ncollateral = { USDC = 100000.0 }\n";
    let snap = write(&dir, "stable.toml", &only_stable);
    for cmd in ["stress", "contagion"] {
        let o = cascade(&[cmd, "--snapshot", &snap]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        // One error line (after the load's warning that ETH and UNI have no position).
        let err = stderr(&o);
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(errors.len(), 1, "{cmd}: {err}");
        assert!(
            errors[0].starts_with(&format!("error: --snapshot {snap}: no volatile collateral")),
            "{err}"
        );
        assert!(
            err.contains("built-in scenarios that fit: usdc-depeg"),
            "{err}"
        );
        assert!(
            !err.contains("eth-crash") && !err.contains("stETH"),
            "{err}"
        );
    }
    let o = cascade(&["scenarios", "--snapshot", &snap]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("usdc-depeg  "), "{out}");
    assert!(out.contains("none (no volatile collateral)"), "{out}");
}

#[test]
fn scenarios_lists_every_builtin_with_a_description() {
    let o = cascade(&["scenarios"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let names: Vec<&str> = out
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["eth-crash", "steth-depeg", "bridge-hack", "usdc-depeg"]
    );
    assert!(out.contains("eth-crash    ETH −40%"), "{out}");
    assert!(
        out.contains("Default: eth-crash on the built-in system"),
        "{out}"
    );
}
