//! CDP stablecoins (docs/cdp.md#cdp-stablecoins): auctions, the surplus buffer, the PSM pass-through, zero bids,
//! and the incident replays of examples/replays. Values worked by hand beside each assertion.

use super::*;
use cascade_protocols::cdp::{auction_split, ZERO_BID_MIN_PROCEEDS_SHARE};

/// A CDP "maker" issuing DAI against ETH (vault type ETH-A: liquidation ratio 1.5, penalty
/// `penalty`), with USDC as a fiat stable; `psm` is a `psm = …` line or empty, `extra` adds
/// more (protocols, accounts) after the vaults.
struct Maker<'a> {
    eth_curve: &'a str,
    surplus: f64,
    efficiency: f64,
    zero_bid: bool,
    penalty: f64,
    psm: &'a str,
    extra: fn(System) -> System,
}

impl Default for Maker<'_> {
    fn default() -> Self {
        Maker {
            eth_curve: NO_IMPACT,
            surplus: 0.0,
            efficiency: 1.0,
            zero_bid: false,
            penalty: 0.13,
            psm: "",
            extra: |s| s,
        }
    }
}

impl Maker<'_> {
    fn snapshot(&self, vaults: &str) -> Snapshot {
        let Maker {
            eth_curve,
            surplus,
            efficiency,
            zero_bid,
            penalty,
            psm,
            extra,
        } = self;
        let maker = System::new()
            .name("cdp")
            .asset(
                "ETH",
                "native",
                &format!("price = 2000.0\nliquidity = {eth_curve}"),
            )
            .adv(1.0e7)
            .usdc()
            .asset("DAI", "cdp_stable", "")
            .cdp(
                "maker",
                "DAI",
                &format!(
                    "surplus_buffer_usd = {surplus:?}\nauction_efficiency = {efficiency:?}\nzero_bid_when_illiquid = {zero_bid}\n{psm}"
                ),
            )
            .vault_type("ETH-A", "ETH", 1.5, *penalty)
            .toml(vaults);
        extra(maker).build()
    }
}

fn vault(id: &str, eth: f64, dai: f64) -> String {
    format!("[[account]]\nid = \"{id}\"\nprotocol = \"maker\"\nvault_type = \"ETH-A\"\ncollateral = {{ ETH = {eth:?} }}\ndebt = {{ DAI = {dai:?} }}\n")
}

fn maker(r: &StressResult) -> &cascade_engine::ProtocolSummary {
    r.protocols
        .iter()
        .find(|p| p.id == "maker")
        .expect("maker in the result")
}

const ETH_MINUS_40: &str = "name = \"eth-40\"\n[[shock]]\nasset = \"ETH\"\nprice_change = -0.40\n";

#[test]
fn auction_with_penalty_refund_and_shortfall() {
    // ETH 2000 → 1200 (no price impact), efficiency 0.9, penalty 13%, no surplus at the start.
    // a: 10 ETH / 9,000 DAI: CR 2.22 → 1.333 < 1.5: auctioned. Proceeds 12,000; the protocol receives
    //    10,800, keeps 9,000·1.13 = 10,170 (penalty 1,170 to the surplus) and refunds 630.
    // b: 10 ETH / 13,000 DAI: CR 1.538 → 0.923: auctioned. Receives 10,800 < 13,000: kept 10,800,
    //    no penalty, no refund, shortfall 2,200.
    // c: 10 ETH / 5,000 DAI: CR 2.4 at 1200, stays open.
    // Step 4: bad debt 2,200; the surplus (1,170 of this round's penalty) pays 1,170; 1,030 uncovered.
    let vaults = vault("a", 10.0, 9000.0) + &vault("b", 10.0, 13000.0) + &vault("c", 10.0, 5000.0);
    let s = Maker {
        efficiency: 0.9,
        ..Default::default()
    }
    .snapshot(&vaults);
    let r = run(&s, &scenario(&s, ETH_MINUS_40));
    let l = &r.rounds[1].liquidations;
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].collateral.as_str(), l[0].debt.as_str()),
        ("ETH", "DAI")
    );
    assert_close!(l[0].seized_tokens, 20.0);
    assert_close!(l[0].repaid_tokens, 22000.0);
    assert_eq!(l[0].calls, 2);
    assert_close!(r.rounds[1].sales[0].fill.quantity, 20.0);
    assert_close!(r.rounds[1].sales[0].fill.proceeds_usd, 24000.0);
    let m = maker(&r);
    assert_close!(m.bad_debt_usd, 2200.0);
    assert_close!(m.insurance_used_usd, 1170.0);
    assert_close!(m.uncovered_usd, 1030.0);
    assert_eq!(m.accounts_liquidated, 2);
    assert!(m.insurance_fund_final_usd.abs() < 1e-9);
    assert_close!(r.rounds[1].losses[0].uncovered_usd, 1030.0);
    assert!(r.system.fixed_point);
    assert_eq!(r.system.rounds, 2);
    // Without peg_follows_backing the peg holds.
    assert_close!(r.final_prices["DAI"], 1.0);
    // The split of each auction, from the same numbers.
    let a = auction_split(12000.0, 0.9, 9000.0, 0.13);
    assert_close!(a.kept_usd, 10170.0);
    assert_close!(a.penalty_usd, 1170.0);
    assert_close!(a.refund_usd, 630.0);
    assert_close!(a.keeper_usd, 1200.0);
    assert_eq!(a.shortfall_usd, 0.0);
    let b = auction_split(12000.0, 0.9, 13000.0, 0.13);
    assert_close!(b.kept_usd, 10800.0);
    assert_eq!((b.penalty_usd, b.refund_usd), (0.0, 0.0));
    assert_close!(b.shortfall_usd, 2200.0);
}

#[test]
fn surplus_buffer_absorbs_part_of_a_deficit_and_backing_prices_dai() {
    // ETH 2000 → 800, surplus 500, efficiency 1, peg_follows_backing.
    // b: 30 ETH / 39,000 DAI (CR 1.538 → 0.615): proceeds 24,000 < 39,000: shortfall 15,000.
    // c: 40 ETH / 20,000 DAI (CR 4 → 1.6): open.
    // Round 0: backing = (V 56,000 + S 500) / supply 59,000 = 0.957627…: DAI = min(1, backing).
    // Round 1: surplus pays 500, 14,500 uncovered. Then backing = (32,000 + 0 − 14,500) / 20,000
    //   = 0.875: DAI trades at 0.875 from round 2.
    let vaults = vault("b", 30.0, 39000.0) + &vault("c", 40.0, 20000.0);
    let s = Maker {
        surplus: 500.0,
        ..Default::default()
    }
    .snapshot(&vaults);
    let sc = scenario(
        &s,
        "peg_follows_backing = true\n[[shock]]\nasset = \"ETH\"\nprice_change = -0.60\n",
    );
    let r = run(&s, &sc);
    assert_close!(r.initial_prices["DAI"], 1.0);
    assert_close!(r.rounds[0].prices["DAI"], 56500.0 / 59000.0);
    let m = maker(&r);
    assert_close!(m.bad_debt_usd, 15000.0);
    assert_close!(m.insurance_used_usd, 500.0);
    assert_close!(m.uncovered_usd, 14500.0);
    assert_close!(m.insurance_fund_initial_usd, 500.0);
    assert!(m.insurance_fund_final_usd.abs() < 1e-9);
    assert_close!(r.rounds[2].prices["DAI"], 0.875);
    assert_close!(r.final_prices["DAI"], 0.875);
    // The same run without peg_follows_backing keeps DAI at 1 (the deficit is still reported).
    let r = run(
        &s,
        &scenario(&s, "[[shock]]\nasset = \"ETH\"\nprice_change = -0.60\n"),
    );
    assert_close!(r.final_prices["DAI"], 1.0);
    assert_close!(maker(&r).uncovered_usd, 14500.0);
}

/// A lending pool "lend" that accepts DAI as collateral (LT 0.80, LB 0.05) and lends ETH; "x" holds
/// 10,000 DAI against 3.9 ETH.
fn dai_lender(s: System) -> System {
    s.lending("lend", &[("DAI", 0.75, 0.80, 0.05), ETH_RESERVE])
        .account("x", "lend", &[("DAI", 10000.0)], &[("ETH", 3.9)])
}

#[test]
fn psm_passes_a_usdc_depeg_through_to_dai_and_on_to_a_lender() {
    // PSM: 10,000 USDC; one vault of 10 ETH / 10,000 DAI (CR 2). USDC −13% (0.87), peg follows
    // backing. V = 20,000; backing = (20,000 + 10,000·0.87) / (10,000 + 10,000) = 1.435 ≥ 1;
    // PSM share of backing at par = 10,000 / (20,000 + 10,000) = 1/3;
    // pass-through = 1 − (1/3)·0.13 = 0.956666…: DAI = min(1, 1.435, 0.95667) = 0.9566666666666667.
    // "x" in lend: HF = 10,000·0.80 / (3.9·2000) = 1.0256 before; 9,566.67·0.8 / 7,800 = 0.98120
    // after (≥ 0.95 → 50%): repay 1.95 ETH, seize 1.95·2000·1.05 / 0.956667 = 4,280.487804878049 DAI.
    let s = Maker {
        psm: "psm = { asset = \"USDC\", amount = 10000.0 }",
        extra: dai_lender,
        ..Default::default()
    }
    .snapshot(&vault("c", 10.0, 10000.0));
    let depeg = "[[shock]]\nasset = \"USDC\"\nprice_change = -0.13\n";
    let r = run(
        &s,
        &scenario(&s, &format!("peg_follows_backing = true\n{depeg}")),
    );
    let dai = 1.0 - 0.13 / 3.0;
    assert_close!(r.rounds[0].prices["DAI"], dai);
    assert_close!(r.final_prices["DAI"], dai);
    assert_close!(maker(&r).tvl_usd, 30000.0);
    assert_eq!(maker(&r).accounts_liquidated, 0);
    let l = &r.rounds[1].liquidations[0];
    assert_eq!(
        (l.protocol.as_str(), l.collateral.as_str()),
        ("lend", "DAI")
    );
    assert_close!(l.repaid_tokens, 1.95);
    assert_close!(l.seized_tokens, 1.95 * 2000.0 * 1.05 / dai);
    assert_close!(l.seized_tokens, 4280.487804878049);
    // Without peg_follows_backing the peg holds and nothing reaches the lender.
    let r = run(&s, &scenario(&s, depeg));
    assert_close!(r.final_prices["DAI"], 1.0);
    assert_eq!(r.system.accounts_liquidated, 0);
}

/// Square-root law, shallow: `p(V) = p_ref·(1 − √(V/1e5))`.
const SHALLOW: &str = r#"{ curve = "power_law", adv_usd = 1.0e5, k = 1.0, alpha = 0.5 }"#;

#[test]
fn zero_bid_auction_after_what_the_curve_absorbs() {
    // ETH 2000 → 1200 on the shallow curve; zero bids on; surplus 1,000; efficiency 1.
    // In vault order: s: 1 ETH / 900 DAI (CR 2.22 → 1.333) and z: 10 ETH / 13,000 (1.538 → 0.923) are
    // auctioned; a: 10 ETH / 7,000 (2.857 → 1.714) is not.
    // Prefix {s}: V = 1,200, x = 0.012: quoted share = 1 − (2/3)·√0.012 = 0.92697 ≥ 0.9: absorbed.
    // Prefix {s, z}: x = 0.132: share = 1 − (2/3)·√0.132 = 0.7578 < 0.9: z gets a zero bid.
    // s sells 1 ETH for 1e5·(0.012 − (2/3)·0.012^1.5) = 1,112.3644; keeps 900·1.13 = 1,017 (penalty
    // 117), refunds 95.36. z: proceeds 0, shortfall 13,000. Surplus 1,000 + 117 pays 1,117; 11,883
    // uncovered. ETH → 1200·(1 − √0.012) = 1068.5458; a's CR = 10,685.46 / 7,000 = 1.5265 ≥ 1.5.
    let vaults = vault("s", 1.0, 900.0) + &vault("z", 10.0, 13000.0) + &vault("a", 10.0, 7000.0);
    let m = Maker {
        eth_curve: SHALLOW,
        surplus: 1000.0,
        zero_bid: true,
        ..Default::default()
    };
    let s = m.snapshot(&vaults);
    let r = run(&s, &scenario(&s, ETH_MINUS_40));
    let x: f64 = 0.012;
    assert!(1.0 - 2.0 / 3.0 * x.sqrt() >= ZERO_BID_MIN_PROCEEDS_SHARE);
    assert!(1.0 - 2.0 / 3.0 * 0.132f64.sqrt() < ZERO_BID_MIN_PROCEEDS_SHARE);
    assert_close!(r.rounds[1].liquidations[0].seized_tokens, 11.0);
    let sale = &r.rounds[1].sales[0];
    assert_close!(sale.fill.quantity, 1.0);
    assert_close!(sale.fill.proceeds_usd, 1e5 * (x - 2.0 / 3.0 * x.powf(1.5)));
    assert_close!(sale.fill.proceeds_usd, 1112.3644, 1e-7);
    let mk = maker(&r);
    assert_close!(mk.bad_debt_usd, 13000.0);
    assert_close!(mk.insurance_used_usd, 1117.0);
    assert_close!(mk.uncovered_usd, 11883.0);
    assert_eq!(mk.accounts_liquidated, 2);
    assert_close!(r.final_prices["ETH"], 1200.0 * (1.0 - x.sqrt()));
    assert!(r.system.fixed_point);
    // Without zero bids all 11 ETH are sold (x = 0.132): ETH falls to 1200·(1 − √0.132) = 764.0, and
    // z's share of the proceeds, (10/11)·1e5·(0.132 − (2/3)·0.132^1.5) = 9,093.45, leaves 3,906.55.
    let s = Maker {
        zero_bid: false,
        ..m
    }
    .snapshot(&vaults);
    let r = run(&s, &scenario(&s, ETH_MINUS_40));
    let x: f64 = 0.132;
    assert_close!(r.rounds[1].sales[0].fill.quantity, 11.0);
    let z = 10.0 / 11.0 * 1e5 * (x - 2.0 / 3.0 * x.powf(1.5));
    assert_close!(r.rounds[1].bad_debt_usd, 13000.0 - z);
    assert_close!(r.rounds[1].bad_debt_usd, 3906.55, 1e-5);
    assert_close!(r.rounds[1].prices["ETH"], 1200.0);
    assert_close!(r.rounds[2].prices["ETH"], 1200.0 * (1.0 - x.sqrt()));
}

// ---------------------------------------------------------------------------------------------
// Incident replays (examples/replays; sources and bands in its README).

const BLACK_THURSDAY: &str =
    include_str!("../../../../examples/replays/black-thursday/snapshot.toml");
const BLACK_THURSDAY_SCENARIO: &str =
    include_str!("../../../../examples/replays/black-thursday/scenario.toml");
const USDC_SVB: &str = include_str!("../../../../examples/replays/usdc-svb/snapshot.toml");
const USDC_SVB_SCENARIO: &str = include_str!("../../../../examples/replays/usdc-svb/scenario.toml");

fn replay(snapshot: &str, scenario_text: &str) -> StressResult {
    let (s, diags) =
        snapshot_from_str(snapshot, Format::Toml, "replay.toml").unwrap_or_else(|e| panic!("{e}"));
    assert!(diags.is_empty(), "{diags}");
    run(&s, &scenario(&s, scenario_text))
}

#[test]
fn black_thursday_replay_lands_in_the_public_band() {
    // Public: Maker's deficit 4.5–5.7M DAI, ≈ $8.3M of ETH auctioned for zero (README).
    let r = replay(BLACK_THURSDAY, BLACK_THURSDAY_SCENARIO);
    let m = maker(&r);
    assert!(
        (3.0e6..=7.0e6).contains(&m.bad_debt_usd),
        "deficit {}",
        m.bad_debt_usd
    );
    assert!(
        (3.0e6..=7.0e6).contains(&m.uncovered_usd),
        "uncovered {}",
        m.uncovered_usd
    );
    // Zero-bid collateral: seized but not sold, valued at the round's oracle price.
    let zero_bid_usd: f64 = r
        .rounds
        .iter()
        .map(|rd| {
            let seized: f64 = rd
                .liquidations
                .iter()
                .filter(|l| l.collateral == "ETH")
                .map(|l| l.seized_tokens)
                .sum();
            let sold: f64 = rd
                .sales
                .iter()
                .filter(|x| x.asset == "ETH")
                .map(|x| x.fill.quantity)
                .sum();
            (seized - sold).max(0.0) * rd.prices.get("ETH").copied().unwrap_or(0.0)
        })
        .sum();
    assert!(
        (6.0e6..=11.0e6).contains(&zero_bid_usd),
        "zero-bid ETH ${zero_bid_usd}"
    );
    // ETH ends between $85 and $111 (the oracle after the −43% shock, before fire sales).
    assert!((85.0..=111.0).contains(&r.final_prices["ETH"]));
}

#[test]
fn usdc_svb_replay_lands_in_the_public_band() {
    // Public: USDC ≈ 0.87, DAI ≈ 0.88–0.90 at the low; no Maker bad debt (README).
    let r = replay(USDC_SVB, USDC_SVB_SCENARIO);
    let dai = r.final_prices["DAI"];
    assert!((0.85..=0.95).contains(&dai), "DAI {dai}");
    assert_close!(r.final_prices["USDC"], 0.87);
    assert_eq!(maker(&r).bad_debt_usd, 0.0);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Value is conserved in an auction: the collateral's value at the round's price = proceeds +
        /// slippage; the protocol's part of the proceeds = kept + refund (the rest is the keepers'
        /// cut), kept ≤ d·(1 + penalty), and the reported bad debt is d − kept.
        #[test]
        fn an_auction_conserves_value(
            eth in 1.0f64..500.0,
            cr0 in 1.5f64..2.5,
            shock in 0.3f64..0.7,
            efficiency in 0.5f64..1.0,
            penalty in 0.0f64..0.2,
            adv in prop::sample::select(vec![1.0e5, 1.0e6, 1.0e8]),
        ) {
            let debt = eth * 2000.0 / cr0;
            let curve = format!("{{ curve = \"power_law\", adv_usd = {adv:?}, k = 1.0, alpha = 0.5 }}");
            let s = Maker {
                eth_curve: &curve,
                efficiency,
                penalty,
                ..Default::default()
            }
            .snapshot(&vault("v", eth, debt));
            let r = run(&s, &scenario(&s, &format!("[[shock]]\nasset = \"ETH\"\nprice_change = {:?}\n", -shock)));
            let p1 = 2000.0 * (1.0 - shock);
            // CR after the shock = cr0·(1 − shock) ≤ 2.5·0.7 = 1.75 may still be ≥ 1.5.
            if cr0 * (1.0 - shock) >= 1.5 {
                prop_assert_eq!(maker(&r).accounts_liquidated, 0);
                return Ok(());
            }
            let sale = &r.rounds[1].sales[0];
            prop_assert!(close(sale.fill.quantity, eth, 1e-12));
            prop_assert!(close(sale.fill.quantity * p1, sale.fill.proceeds_usd + sale.fill.slippage_usd, 1e-9));
            let split = auction_split(sale.fill.proceeds_usd, efficiency, debt, penalty);
            prop_assert!(close(split.kept_usd + split.refund_usd, sale.fill.proceeds_usd * efficiency, 1e-9));
            prop_assert!(close(split.keeper_usd + split.kept_usd + split.refund_usd, sale.fill.proceeds_usd, 1e-9));
            prop_assert!(split.kept_usd <= debt * (1.0 + penalty) * (1.0 + 1e-12));
            prop_assert!(split.refund_usd >= 0.0);
            let bad = maker(&r).bad_debt_usd;
            prop_assert!((bad - (debt - split.kept_usd).max(0.0)).abs() <= 1e-9 * debt, "bad {} split {:?}", bad, split);
        }
    }
}

#[test]
fn vaults_are_reported_per_account_with_health_as_collateral_ratio_over_liquidation_ratio() {
    // As above: a (10 ETH / 9,000 DAI) and b (10 ETH / 13,000 DAI) are auctioned in round 1 at ETH 1200;
    // c (10 ETH / 5,000 DAI) stays open. Health = CR / 1.5: a 20000/9000/1.5 = 1.4815 before; c
    // 12000/5000/1.5 = 1.6 after.
    let vaults = vault("a", 10.0, 9000.0) + &vault("b", 10.0, 13000.0) + &vault("c", 10.0, 5000.0);
    let s = Maker {
        efficiency: 0.9,
        ..Default::default()
    }
    .snapshot(&vaults);
    let r = cascade_engine::run_with(
        &s,
        &scenario(&s, ETH_MINUS_40),
        &cascade_engine::Options {
            accounts: true,
            ..Default::default()
        },
    );
    let row = |id: &str| {
        r.accounts
            .iter()
            .find(|a| a.account == id)
            .unwrap_or_else(|| panic!("no row for {id}"))
    };
    let a = row("a");
    assert_close!(a.health_before.unwrap_or(f64::NAN), 20000.0 / 9000.0 / 1.5);
    assert_eq!(a.health_after, None, "auctioned: closed");
    assert_eq!(a.first_liquidation_round, Some(1));
    assert_close!(a.liquidated_debt_usd, 9000.0);
    assert_close!(a.seized_collateral_usd, 12000.0);
    let call = a.first_call.as_ref().unwrap_or_else(|| panic!("no call"));
    assert_eq!(
        (call.collateral.as_str(), call.debt.as_str()),
        ("ETH", "DAI")
    );
    assert_close!(call.seized_tokens, 10.0);
    let c = row("c");
    assert_close!(c.health_after.unwrap_or(f64::NAN), 12000.0 / 5000.0 / 1.5);
    assert_eq!(c.first_liquidation_round, None);
}
