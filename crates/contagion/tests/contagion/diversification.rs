//! Diversification of lending collateral and the diversification cap's counterfactual
//! (docs/contagion.md#diversification), worked by hand.

use cascade_contagion::diversification::{cap_counterfactual, diversification, with_cap};
use cascade_engine::Prepared;
use cascade_model::{Scenario, Side, Snapshot};
use cascade_testkit::system::{System, ETH_RESERVE, USDC_RESERVE};

/// Pool "lend" (ETH LT 0.825, USDC LT 0.85; no liquidator cost): "mix" holds 1 ETH ($2,000) and
/// 1,000 USDC against 2,000 USDC; "solo" holds 1 ETH against 1,000 USDC.
fn book(fields: &str) -> Snapshot {
    System::new()
        .eth(2000.0)
        .usdc()
        .lending_with("lend", fields, &[ETH_RESERVE, USDC_RESERVE])
        .account(
            "mix",
            "lend",
            &[("ETH", 1.0), ("USDC", 1000.0)],
            &[("USDC", 2000.0)],
        )
        .account("solo", "lend", &[("ETH", 1.0)], &[("USDC", 1000.0)])
        .build()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn effective_number_of_collateral_assets_by_hand() {
    // mix: v = (2000, 1000), N = 3000² / (2000² + 1000²) = 1.8; solo: N = 1.
    // Value-weighted: (3000·1.8 + 2000·1) / 5000 = 1.48; single-asset share 2000 / 5000 = 0.4.
    let s = book("liquidator_cost_usd = 0.0");
    let d = diversification(&s, &Prepared::new(&s));
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].protocol.as_str(), d[0].accounts), ("lend", 2));
    assert!(close(d[0].effective_assets, 1.48), "{d:?}");
    assert!(close(d[0].single_asset_share, 0.4), "{d:?}");
    assert_eq!(d[0].diversification_cap, None);
}

#[test]
fn borrowers_relever_to_their_health_factor() {
    // Cap 0.6. mix: b = (2000·0.825, 1000·0.85) = (1650, 850), B = 2500, ETH's share 0.66;
    // capped B = 850 / (1 − 0.6) = 2125 ≥ 850/0.6, so its debt becomes 2000 · 2125/2500 = 1700
    // (HF 1.25 before and after). solo: one asset, B = 0, debt 0.
    let s = book("liquidator_cost_usd = 0.0");
    let prepared = Prepared::new(&s);
    let (t, relevered) = with_cap(&s, &prepared, 0.6);
    assert_eq!(relevered, vec![true, true]);
    let debt: Vec<f64> = (0..t.positions.len())
        .filter(|&i| t.positions.side[i] == Side::Debt)
        .map(|i| t.positions.amount[i])
        .collect();
    assert!(close(debt[0], 1700.0) && debt[1] == 0.0, "{debt:?}");
    let c = cap_counterfactual(&s, &prepared, &Scenario::baseline(), 0.6);
    assert!(close(c.protocols[0].debt_usd, 3000.0));
    assert!(close(c.protocols[0].debt_with_cap_usd, 1700.0));
    assert_eq!(c.protocols[0].accounts_relevered, 2);
}

#[test]
fn a_cap_of_one_changes_nothing() {
    let s = book("liquidator_cost_usd = 0.0");
    let prepared = Prepared::new(&s);
    let (t, relevered) = with_cap(&s, &prepared, 1.0);
    assert_eq!(t.positions.amount, s.positions.amount);
    assert!(relevered.iter().all(|r| !r));
    let text = "name = \"eth-60\"\n[[shock]]\nasset = \"ETH\"\nprice_change = -0.6\n";
    let (eth_crash, _) = cascade_io::parse_scenario(text, cascade_io::Format::Toml, "s.toml", &s)
        .unwrap_or_else(|e| panic!("{e}"));
    let c = cap_counterfactual(&s, &prepared, &eth_crash, 1.0);
    // solo at ETH $800: collateral $800 < debt $1000, so the crash leaves bad debt.
    assert!(c.system_bad_debt_usd > 0.0);
    assert_eq!(c.system_bad_debt_usd, c.system_bad_debt_with_cap_usd);
    assert_eq!(c.protocols[0].debt_usd, c.protocols[0].debt_with_cap_usd);
}

#[test]
fn a_capped_pool_liquidates_a_single_asset_account() {
    // With the cap in the snapshot itself, solo's borrowing power is 0: HF 0 ≤ 0.95, so the whole
    // 1,000 USDC is repaid in round 1 against 1000·1.05/2000 = 0.525 ETH. mix: B = 2125 against 2000,
    // healthy. Without the cap nobody is liquidated.
    let capped = book("liquidator_cost_usd = 0.0\ndiversification_cap = 0.6");
    let r = cascade_engine::run(&capped, &Scenario::baseline());
    assert!(
        close(r.system.liquidated_debt_usd, 1000.0),
        "{:?}",
        r.system
    );
    assert_eq!(r.system.accounts_liquidated, 1);
    assert!(close(r.system.seized_collateral_usd, 0.525 * 2000.0));
    let free = book("liquidator_cost_usd = 0.0");
    let r = cascade_engine::run(&free, &Scenario::baseline());
    assert_eq!(r.system.accounts_liquidated, 0);
}
