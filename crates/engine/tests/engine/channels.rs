//! Systemic channels (docs/losses.md#the-credit-channel): insurance funds, the credit channel through receipt tokens,
//! bridges, protocol defaults and circuit breakers. Values worked by hand beside each assertion.

use super::*;
use cascade_engine::{run_with, Options};

/// Pool "lend" (ETH, USDC; 100,000 USDC supplied in all; insurance fund `fund`) issues aUSDC; pool
/// "other" accepts aUSDC (LT 0.80, LB 0.05) and lends ETH. "deadbeat" in lend: 10 ETH against 19,000
/// USDC. "x" in other: 10,000 aUSDC against 4.2 ETH.
fn two_pools(fund: &str) -> Snapshot {
    fixture(fund)
        .account("deadbeat", "lend", &[("ETH", 10.0)], &[("USDC", 19000.0)])
        .account("x", "other", &[("aUSDC", 10000.0)], &[("ETH", 4.2)])
        .build()
}

/// The two pools without accounts.
fn fixture(fund: &str) -> System {
    System::new()
        .name("credit-channel")
        .adv(1.0e7)
        .eth(2000.0)
        .usdc()
        .asset("GOV", "governance", "price = 100.0")
        .asset(
            "aUSDC",
            "receipt",
            "underlying = \"USDC\"\nissuer = \"lend\"",
        )
        .lending_with("lend", &format!("insurance_fund = {fund}"), &[ETH_RESERVE])
        .reserve(USDC_RESERVE, "supplied = 100000.0")
        .lending("other", &[("aUSDC", 0.75, 0.80, 0.05), ETH_RESERVE])
}

#[test]
fn credit_channel_across_two_pools_with_a_fund_in_a_falling_token() {
    // ETH −5% (1900), GOV −60% (40). Round 1: deadbeat's seizure is capped (HF 0.825): 10 ETH for
    // 18,095.24 USDC, bad debt 904.7619047619. lend's fund, 10 GOV, is worth 10·40 = 400 at the stressed
    // price (it was 1,000): it pays 400; 504.7619047619 is socialised: aUSDC recovery
    // = 1 − 504.7619/100,000 = 0.9949523809523809.
    // x in "other": HF = 10,000·0.8/(4.2·1900) = 1.0025 in round 1; with aUSDC at 0.99495 it is 0.99745
    // in round 2 → 50%: repay 2.1 ETH, seize 2.1·1900·1.05/0.99495238 = 4210.754283526371 aUSDC.
    let s = two_pools("{ GOV = 10.0 }");
    let sc = scenario(&s, "[[shock]]\nasset = \"ETH\"\nprice_change = -0.05\n[[shock]]\nasset = \"GOV\"\nprice_change = -0.60\n");
    let r = run(&s, &sc);
    let lend = &r.protocols[0];
    assert_close!(lend.bad_debt_usd, 904.7619047619046);
    assert_close!(lend.insurance_used_usd, 400.0);
    assert_close!(lend.uncovered_usd, 504.7619047619046);
    assert_close!(lend.insurance_coverage, 400.0 / 904.7619047619046);
    assert_close!(lend.insurance_fund_initial_usd, 1000.0);
    assert!(lend.insurance_fund_final_usd.abs() < 1e-9);
    assert_close!(r.rounds[1].losses[0].insurance_used_usd, 400.0);
    assert_close!(r.rounds[2].prices["aUSDC"], 0.9949523809523809);
    assert!(r.rounds[1]
        .liquidations
        .iter()
        .all(|l| l.protocol == "lend"));
    let l = &r.rounds[2].liquidations[0];
    assert_eq!(
        (l.protocol.as_str(), l.collateral.as_str()),
        ("other", "aUSDC")
    );
    assert_close!(l.repaid_tokens, 2.1);
    assert_close!(l.seized_tokens, 4210.754283526371);
    assert_close!(r.system.uncovered_usd, 504.7619047619046);
    assert!(
        r.trace
            .iter()
            .any(|t| t.contains("insurance fund pays $400.00, $504.76 socialised")),
        "{:#?}",
        r.trace
    );
}

#[test]
fn a_fund_large_enough_stops_the_channel() {
    // A 1,000 USDC fund covers the 904.76 in full: aUSDC keeps recovery 1 and x is never liquidated.
    let s = two_pools("{ USDC = 1000.0 }");
    let r = run(&s, &scenario(&s, ETH_MINUS_5));
    assert_close!(r.protocols[0].insurance_used_usd, 904.7619047619046);
    assert_eq!(r.protocols[0].uncovered_usd, 0.0);
    assert_close!(r.final_prices["aUSDC"], 1.0);
    assert_eq!(r.protocols[1].accounts_liquidated, 0);
    assert_close!(
        r.protocols[0].insurance_fund_final_usd,
        1000.0 - 904.7619047619046
    );
}

#[test]
fn protocol_default_cuts_receipt_recovery() {
    // lend defaults on half of what it owes: aUSDC = 0.5 from round 0. x: HF = 5000·0.8/8400 = 0.476
    // → repay all 4.2 ETH, seize 4.2·2000·1.05/0.5 = 17,640 > 10,000 → capped: all 10,000 aUSDC for
    // 10,000·0.5/(2000·1.05) = 2.380952380952381 ETH; 1.819047619 ETH of bad debt in "other".
    let s = two_pools("{}");
    let r = run(
        &s,
        &scenario(&s, "[[shock]]\nprotocol = \"lend\"\ndefault = 0.5\n"),
    );
    assert_close!(r.rounds[0].prices["aUSDC"], 0.5);
    let l = r.rounds[1]
        .liquidations
        .iter()
        .find(|l| l.protocol == "other")
        .unwrap_or_else(|| panic!("other not liquidated"));
    assert_close!(l.seized_tokens, 10000.0);
    assert_close!(l.repaid_tokens, 2.380952380952381);
    assert_close!(
        r.protocols[1].bad_debt_usd,
        (4.2 - 2.380952380952381) * 2000.0
    );
}

#[test]
fn bridge_hack_reprices_the_bridged_asset_for_every_holder() {
    // whETH bridged from ETH through "wormhole"; the exploit takes 30%: whETH = 0.7·2000 = 1400.
    // 10 whETH against 15,000 USDC: HF 11,200/15,000 = 0.7467 → seizure capped at 10 whETH for
    // 10·1400/1.05 = 13,333.33 USDC; 1,666.67 of bad debt.
    let s = System::new()
        .name("bridge")
        .adv(1.0e7)
        .eth(2000.0)
        .asset("whETH", "bridged", "underlying = \"ETH\"")
        .adv(1.0e9)
        .usdc()
        .protocol(
            "wormhole",
            "bridge",
            "bridged = \"whETH\"\nunderlying = \"ETH\"\nlocked = 1000.0",
        )
        .lending("lend", &[("whETH", 0.75, 0.80, 0.05), USDC_RESERVE])
        .account("h", "lend", &[("whETH", 10.0)], &[("USDC", 15000.0)])
        .build();
    let r = run(
        &s,
        &scenario(&s, "[[shock]]\nbridge = \"wormhole\"\nloss = 0.3\n"),
    );
    assert_close!(r.rounds[0].prices["whETH"], 1400.0);
    assert_close!(
        r.rounds[1].liquidations[0].repaid_tokens,
        13333.333333333332
    );
    assert_close!(r.protocols[1].bad_debt_usd, 1666.6666666666679, 1e-9);
    // The bridge's TVL is what is still locked: 1000·0.7·2000 before... measured before the shock.
    assert_close!(r.protocols[0].tvl_usd, 2.0e6);
}

#[test]
fn a_breaker_defers_liquidations_which_execute_later() {
    // Pause when an asset falls > 10% in one round. ETH −20% at round 0 (2000 → 1600) trips it for
    // round 1: the account (10 ETH, 13,500 USDC; HF 13,200/13,500 = 0.9778) is deferred. Round 2 sees
    // no further fall: 50% close factor, repay 6,750, seize 6750·1.05/1600 = 4.4296875 ETH.
    let mut s = system(NO_IMPACT, 0.0, &account("a", 10.0, 13500.0));
    s.protocols[0].breakers.pause_liquidations_on_drop = Some(0.10);
    let sc = scenario(&s, "[[shock]]\nasset = \"ETH\"\nprice_change = -0.20\n");
    let on = run_with(
        &s,
        &sc,
        &Options {
            breakers: true,
            ..Default::default()
        },
    );
    assert!(on.rounds[1].liquidations.is_empty());
    assert_eq!(on.rounds[1].paused[0].deferred_accounts, 1);
    assert_close!(on.rounds[2].liquidations[0].repaid_tokens, 6750.0);
    assert_close!(on.rounds[2].liquidations[0].seized_tokens, 4.4296875);
    assert_eq!(on.protocols[0].paused_rounds, 1);
    assert_eq!(on.system.rounds, 3);
    assert!(on
        .trace
        .iter()
        .any(|t| t.contains("paused by a circuit breaker (1 liquidatable account deferred)")));
    // Off: the same liquidation in round 1.
    let off = run_with(
        &s,
        &sc,
        &Options {
            breakers: false,
            ..Default::default()
        },
    );
    assert_close!(off.rounds[1].liquidations[0].repaid_tokens, 6750.0);
    assert_eq!(off.protocols[0].paused_rounds, 0);
    assert!(!off.breakers && on.breakers);
    // A freeze-borrowing breaker at 15% trips on the same move: reported, and no figure changes.
    s.protocols[0].breakers.freeze_borrowing_on_deviation = Some(0.15);
    let frozen = run_with(
        &s,
        &sc,
        &Options {
            breakers: true,
            ..Default::default()
        },
    );
    assert_eq!(frozen.rounds[1].borrowing_frozen, vec!["lend".to_string()]);
    assert!(frozen.rounds[2].borrowing_frozen.is_empty());
    assert_eq!(frozen.protocols[0].borrowing_frozen_rounds, 1);
    assert_eq!(
        frozen.system.liquidated_debt_usd,
        on.system.liquidated_debt_usd
    );
    assert!(
        frozen.trace.iter().any(
            |t| t == "round 1: lend freezes new borrowing (an oracle moved beyond its breaker)"
        ),
        "{:#?}",
        frozen.trace
    );
}

mod conservation {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Socialisation conserves value: a round's bad debt is exactly what the fund paid plus what
        /// suppliers lost, and what suppliers lost is exactly the value the receipt token shed
        /// (supplied × fall in recovery, USDC at 1); the fund ends at max(0, fund − bad debt).
        #[test]
        fn bad_debt_is_paid_by_the_fund_or_lost_by_suppliers(
            debts in prop::collection::vec(17_000.0f64..40_000.0, 1..6),
            fund in 0.0f64..60_000.0,
        ) {
            // `debts.len()` capped, insolvent accounts (10 ETH each) in "lend", nothing in "other".
            let s = debts
                .iter()
                .enumerate()
                .fold(fixture(&format!("{{ USDC = {fund:?} }}")), |s, (k, d)| {
                    s.account(&format!("d{k}"), "lend", &[("ETH", 10.0)], &[("USDC", *d)])
                })
                .build();
            let r = run(&s, &scenario(&s, ETH_MINUS_5));
            let lend = &r.protocols[0];
            prop_assert!((lend.bad_debt_usd - lend.insurance_used_usd - lend.uncovered_usd).abs() <= 1e-9 * lend.bad_debt_usd.max(1.0));
            let lost_by_suppliers = (1.0 - r.final_prices["aUSDC"]) * 100_000.0;
            prop_assert!((lost_by_suppliers - lend.uncovered_usd).abs() <= 1e-6 * lend.uncovered_usd.max(1.0),
                "receipt shed {} but {} was socialised", lost_by_suppliers, lend.uncovered_usd);
            prop_assert!((lend.insurance_fund_final_usd - (fund - lend.bad_debt_usd).max(0.0)).abs() <= 1e-6 * fund.max(1.0));
        }
    }
}
