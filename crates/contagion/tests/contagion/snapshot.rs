//! Contagion analytics of snapshots, worked by hand (docs/contagion.md#contagion-analytics).

use cascade_contagion::snapshot::{
    concentration, contagion_coefficients, exposure_graph, loops, to_dot,
};
use cascade_engine::Prepared;
use cascade_model::{Scenario, Snapshot};
use cascade_testkit::system::{System, ETH_RESERVE, STETH_RESERVE, USDC_RESERVE};

/// Pool "lend" (ETH, stETH, USDC) issues aUSDC; pool "other" accepts it. "a" and "looper" borrow in
/// lend, "b" in other against ETH and aUSDC.
fn base() -> Snapshot {
    System::new()
        .name("c")
        .eth(2000.0)
        .steth()
        .usdc()
        .asset(
            "aUSDC",
            "receipt",
            "underlying = \"USDC\"\nissuer = \"lend\"",
        )
        .lending("lend", &[ETH_RESERVE, STETH_RESERVE, USDC_RESERVE])
        .lending(
            "other",
            &[("aUSDC", 0.75, 0.80, 0.05), ETH_RESERVE, USDC_RESERVE],
        )
        .account("a", "lend", &[("ETH", 10.0)], &[("USDC", 15000.0)])
        .account(
            "b",
            "other",
            &[("ETH", 30.0), ("aUSDC", 10000.0)],
            &[("USDC", 8000.0)],
        )
        .account("looper", "lend", &[("stETH", 100.0)], &[("ETH", 70.0)])
        .build()
}

#[test]
fn exposure_graph_by_hand() {
    // "other" accepts aUSDC, a claim on "lend": 10,000 × 1 = $10,000. Shared ETH collateral: lend holds
    // 10 ETH ($20k), other 30 ETH ($60k): overlap min = $20k.
    let s = base();
    let g = exposure_graph(&s, &Prepared::new(&s));
    let receipt = g
        .iter()
        .find(|e| e.kind == "receipt")
        .unwrap_or_else(|| panic!("{g:#?}"));
    assert_eq!(
        (
            receipt.from.as_str(),
            receipt.to.as_str(),
            receipt.asset.as_str()
        ),
        ("other", "lend", "aUSDC")
    );
    assert!((receipt.usd - 10_000.0).abs() < 1e-9);
    let shared = g
        .iter()
        .find(|e| e.kind == "shared_collateral" && e.asset == "ETH")
        .unwrap_or_else(|| panic!("{g:#?}"));
    assert!((shared.usd - 20_000.0).abs() < 1e-9);
    let dot = to_dot(&s, &g);
    assert!(
        dot.starts_with("digraph") && dot.contains("\"other\" -> \"lend\""),
        "{dot}"
    );
}

#[test]
fn contagion_coefficient_by_hand() {
    // Account a (10 ETH, 15,000 USDC; LT 0.825, bonus 5%) on a curve without impact: bad debt appears
    // when seizing all 10 ETH no longer repays the debt, 10·p/1.05 < 15,000 ⇔ p < 1,575: a drop of
    // 1 − 1575/2000 = 21.25%. Beyond it the bad debt is 15,000 − 10·2000·(1 − d)/1.05, rising by
    // 20,000/1.05/100 = $190.476 per percentage point; realised in round 1.
    let s = base();
    let c = contagion_coefficients(&s, &Prepared::new(&s));
    let eth_lend = c
        .iter()
        .find(|x| x.asset == "ETH" && x.protocol == "lend")
        .unwrap_or_else(|| panic!("{c:#?}"));
    let d = eth_lend.threshold_drop.unwrap_or(f64::NAN);
    assert!((d - 0.2125).abs() < 1e-4, "{d}");
    let slope = eth_lend.slope_usd_per_pct.unwrap_or(f64::NAN);
    assert!((slope - 20_000.0 / 1.05 / 100.0).abs() < 0.5, "{slope}");
    assert_eq!(eth_lend.rounds_to_insolvency, Some(1));
    // USDC's own drop never makes "lend" insolvent (USDC is only owed there): no threshold.
    let usdc_lend = c
        .iter()
        .find(|x| x.asset == "USDC" && x.protocol == "lend")
        .unwrap_or_else(|| panic!("{c:#?}"));
    assert_eq!(usdc_lend.threshold_drop, None);
}

#[test]
fn concentration_by_hand() {
    // ETH collateral: a holds 10 ($20k), b 30 ($60k): shares 0.25/0.75, HHI = 0.0625 + 0.5625 = 0.625,
    // top-10 share 1. The curve has no impact, so all of it is sellable within 2%: coefficient > 1.
    let s = base();
    let c = concentration(&s, &Prepared::new(&s));
    let eth = c
        .iter()
        .find(|x| x.asset == "ETH")
        .unwrap_or_else(|| panic!("{c:#?}"));
    assert_eq!(eth.holders, 2);
    assert!((eth.hhi - 0.625).abs() < 1e-12);
    assert!((eth.top10_share - 1.0).abs() < 1e-12);
    assert!(eth.liquidity_coefficient > 1.0);
}

#[test]
fn loops_by_hand() {
    // looper: 100 stETH ($200k) against 70 ETH ($140k): same family (stETH's underlying is ETH);
    // leverage = 200,000 / 60,000 = 3.333. b posts aUSDC (issued by "lend") in "other" and borrows USDC:
    // a loop across protocols.
    let s = base();
    let l = loops(&s, &Prepared::new(&s), &Scenario::baseline());
    let st = l
        .pairs
        .iter()
        .find(|p| p.collateral == "stETH" && p.debt == "ETH")
        .unwrap_or_else(|| panic!("{l:#?}"));
    assert!((st.max_leverage - 200_000.0 / 60_000.0).abs() < 1e-9);
    assert!(!st.cross_protocol);
    let cross = l
        .pairs
        .iter()
        .find(|p| p.collateral == "aUSDC")
        .unwrap_or_else(|| panic!("{l:#?}"));
    assert!(cross.cross_protocol && cross.debt == "USDC");
    assert_eq!(l.looped_accounts, 2);
    assert_eq!(l.accounts[0].account, "looper");
    assert!((l.accounts[0].leverage - 200_000.0 / 60_000.0).abs() < 1e-9);
    assert_eq!(l.looped_bad_debt_share, None);
}

#[test]
fn snapshot_debtrank_by_hand() {
    // Only claim: "other" holds $10,000 of aUSDC on "lend"; neither has a buffer (equity 0), so the
    // impact of lend on other is min(1, 10,000/0) = 1. Weights are TVLs: lend 10 ETH + 100 stETH =
    // $220,000, other 30 ETH + 10,000 aUSDC = $70,000. Lend fully distressed: other's stress 1, so
    // DebtRank(lend) = 70,000 / 290,000 = 0.241379; other distressed alone hurts nobody: 0.
    let s = base();
    let d = cascade_contagion::snapshot::snapshot_debtrank(
        &s,
        &Prepared::new(&s),
        cascade_contagion::debtrank::Variant::Original,
    );
    let get = |id: &str| d.iter().find(|(n, _)| n == id).map_or(f64::NAN, |x| x.1);
    assert!((get("lend") - 70_000.0 / 290_000.0).abs() < 1e-9, "{d:?}");
    assert_eq!(get("other"), 0.0);
}
