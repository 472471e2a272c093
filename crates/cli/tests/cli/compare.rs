//! `cascade compare --mechanisms` (docs/mechanisms.md#comparing-mechanisms): JSON keys, the
//! fixed-bonus run against `cascade stress`, pools chosen, errors, the report.

use crate::common::{cascade, json, stderr, stdout};

const ALL: &str = "fixed-bonus,dutch-auction,soft-bands,absorb";

/// One run per mechanism, in the order asked, with every figure; the fixed-bonus run is today's
/// model: its bad debt and liquidated debt are `cascade stress`'s for the same pools.
#[test]
fn one_run_per_mechanism_and_fixed_bonus_is_the_stress_run() {
    let o = cascade(&["compare", "--mechanisms", ALL, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = json(&o);
    let runs = c["runs"].as_array().unwrap();
    let names: Vec<&str> = runs
        .iter()
        .map(|r| r["mechanism"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["fixed-bonus", "dutch-auction", "soft-bands", "absorb"]
    );
    assert_eq!(
        c["protocols"],
        serde_json::json!(["aave-v3", "compound-v3", "spark"])
    );
    for r in runs {
        for key in [
            "insolvent_usd",
            "bad_debt_usd",
            "shortfall_usd",
            "open_auction_debt_usd",
            "open_auction_lots_usd",
            "uncovered_usd",
            "liquidated_usd",
            "seized_usd",
            "slippage_usd",
            "liquidator_profit_usd",
            "borrower_loss_usd",
            "protocol_revenue_usd",
            "inventory_usd",
            "accounts_liquidated",
        ] {
            assert!(r["total"][key].is_number(), "{key}: {r}");
        }
        assert_eq!(r["by_protocol"].as_array().unwrap().len(), 3);
        assert!(r["price_impact"]["ETH"].is_number());
    }
    let s = json(&cascade(&["stress", "--json"]));
    let lending = |k: &str| -> f64 {
        s["protocols"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["kind"] == "lending")
            .map(|p| p[k].as_f64().unwrap())
            .sum()
    };
    let fixed = &runs[0]["total"];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert!(close(
        fixed["bad_debt_usd"].as_f64().unwrap(),
        lending("bad_debt_usd")
    ));
    // Without auctions, the shortfall is the stress's, and insolvent debt adds it to bad debt.
    assert!(close(
        fixed["shortfall_usd"].as_f64().unwrap(),
        lending("shortfall_usd")
    ));
    assert!(close(
        fixed["insolvent_usd"].as_f64().unwrap(),
        lending("bad_debt_usd") + lending("shortfall_usd")
    ));
    assert!(close(
        fixed["liquidated_usd"].as_f64().unwrap(),
        lending("liquidated_debt_usd")
    ));
    assert!(lending("liquidated_debt_usd") > 0.0);
    // The mechanisms differ: an absorb takes whole accounts, a close factor half of a debt.
    assert!(
        runs[3]["total"]["liquidated_usd"].as_f64().unwrap()
            > fixed["liquidated_usd"].as_f64().unwrap()
    );
}

/// `--protocol` switches only that pool (the others keep their mechanism and are not reported);
/// the table has one column per mechanism.
#[test]
fn protocol_chooses_the_pools_and_the_table_has_a_column_per_mechanism() {
    let o = cascade(&[
        "compare",
        "--mechanisms",
        "fixed-bonus,absorb",
        "--protocol",
        "compound-v3",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = json(&o);
    assert_eq!(c["protocols"], serde_json::json!(["compound-v3"]));
    assert_eq!(c["runs"][1]["by_protocol"][0]["protocol"], "compound-v3");
    let o = cascade(&[
        "compare",
        "--mechanisms",
        "fixed-bonus,absorb",
        "--protocol",
        "spark",
    ]);
    let t = stdout(&o);
    assert!(t.contains("liquidation mechanisms of spark"), "{t}");
    let head = t.lines().find(|l| l.starts_with("USD")).unwrap();
    assert_eq!(
        head.split_whitespace().collect::<Vec<_>>(),
        ["USD", "fixed-bonus", "absorb"]
    );
    for row in [
        "bad debt",
        "liquidated",
        "slippage",
        "liquidator profit",
        "borrower losses",
    ] {
        assert!(t.lines().any(|l| l.starts_with(row)), "{row}: {t}");
    }
}

/// Bad input is exit 2 with the reason: an unknown mechanism, a protocol that is not a lending
/// pool of the snapshot, no --mechanisms.
#[test]
fn bad_input_exits_2() {
    let o = cascade(&["compare", "--mechanisms", "fixed-bonus,english-auction"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("english-auction"), "{}", stderr(&o));
    let o = cascade(&[
        "compare",
        "--mechanisms",
        "absorb",
        "--protocol",
        "wormhole",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("--protocol wormhole: not a lending protocol of snapshot \"builtin\"")
            && e.contains("aave-v3, compound-v3, spark"),
        "{e}"
    );
    let o = cascade(&["compare"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `--report` writes one self-contained page with the grouped chart and the tables.
#[test]
fn report_has_the_chart() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("m.html");
    let p = path.to_string_lossy().into_owned();
    let o = cascade(&["compare", "--mechanisms", ALL, "--report", &p]);
    assert!(o.status.success(), "{}", stderr(&o));
    let h = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert!(h.contains("<svg") && !h.contains("<script"));
    for m in [
        "fixed-bonus",
        "dutch-auction",
        "soft-bands",
        "absorb",
        "Fire-sale price impact",
    ] {
        assert!(h.contains(m), "{m}");
    }
}
