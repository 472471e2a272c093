//! The liquidation mechanisms of docs/mechanisms.md on a one-account pool, every figure worked by
//! hand: ETH at $2,000 and USDC at $1 with no price impact, an ETH reserve at LT 0.8 (LB 5%).

use cascade_engine::{run_with_figures, MechanismFigures, Options, StressResult};

use super::*;

/// One pool under `mechanism` (with `fields`, TOML lines) and one account: `eth` ETH against
/// `usdc` USDC.
fn one_account(mechanism: &str, fields: &str, eth: f64, usdc: f64) -> Snapshot {
    System::new()
        .name("mechanism")
        .eth(2000.0)
        .usdc()
        .lending_with(
            "lend",
            &format!("liquidation_mechanism = \"{mechanism}\"\n{fields}"),
            &[("ETH", 0.75, 0.8, 0.05), ("USDC", 0.75, 0.8, 0.05)],
        )
        .account("a", "lend", &[("ETH", eth)], &[("USDC", usdc)])
        .build()
}

fn eth_shock(s: &Snapshot, change: f64) -> Scenario {
    scenario(
        s,
        &format!("name = \"eth\"\n[[shock]]\nasset = \"ETH\"\nprice_change = {change:?}\n"),
    )
}

fn figures(s: &Snapshot, sc: &Scenario) -> (StressResult, MechanismFigures) {
    let (r, f) = run_with_figures(s, sc, &Options::default());
    match f.into_iter().next().flatten() {
        Some(f) => (r, f),
        None => panic!("a lending pool reports its figures"),
    }
}

/// Absorb at ETH $1,500 (−25%), `liquidationFactor` 0.95, `storeFrontPriceFactor` 0.5, a $10 fund:
/// V = 1,500, D = 1,500, credited K = 0.95·1,500 = 1,425 (nothing kept: K < D). The storefront
/// price is 1,500·(1 − 0.5·0.05) = 1,462.5: the protocol erased 1,500 against collateral worth
/// 1,462.5 there, a loss of 37.5, of which the fund pays 10 and 27.5 is uncovered. A buyer pays
/// 1,462.5 for the ETH and sells it for 1,500 (no impact, no cost): a profit of 37.5. The borrower
/// gave 1,500 of ETH for 1,500 of debt: no loss.
#[test]
fn absorb_books_the_loss_against_the_storefront_value() {
    let s = one_account(
        "absorb",
        "liquidator_cost_usd = 0.0\ninsurance_fund = { USDC = 10.0 }",
        1.0,
        1500.0,
    );
    let (r, f) = figures(&s, &eth_shock(&s, -0.25));
    assert_close!(lend(&r).bad_debt_usd, 37.5);
    assert_close!(lend(&r).insurance_used_usd, 10.0);
    assert_close!(lend(&r).uncovered_usd, 27.5);
    assert_close!(f.tally.liquidated_usd, 1500.0);
    assert_close!(f.tally.paid_usd, 1462.5);
    assert_close!(f.liquidator_profit_usd(), 37.5);
    assert_eq!(f.tally.borrower_loss_usd, 0.0);
    assert_eq!(f.inventory_usd, 0.0);
}

/// Absorb with collateral above the debt: 1 ETH against 1,000 USDC at ETH $1,200 (−40%, HF
/// 960/1,000 = 0.96). K = 0.95·1,200 = 1,140 > D: the borrower keeps 140, loses 1,200 − 1,140 = 60.
/// The protocol paid max(D, K) = 1,140 for collateral worth 1,200·0.975 = 1,170 at the storefront:
/// no loss. The buyer makes 1,200 − 1,170 = 30.
#[test]
fn absorb_credits_the_borrower_above_the_debt() {
    let s = one_account("absorb", "liquidator_cost_usd = 0.0", 1.0, 1000.0);
    let (r, f) = figures(&s, &eth_shock(&s, -0.4));
    assert_eq!(lend(&r).bad_debt_usd, 0.0);
    assert_close!(f.tally.returned_usd, 140.0);
    assert_close!(f.tally.borrower_loss_usd, 60.0);
    assert_close!(f.liquidator_profit_usd(), 30.0);
}

/// Dutch auction, Maker ETH-A defaults (buf 1.2, cut 0.99 per 90 s, chop 1.13), 300 s rounds:
/// 2 ETH against 1,500 USDC at ETH $900 (−55%, HF 1,440/1,500 = 0.96). Kicked in round 1 at
/// top = 1.2·900 = 1,080; the tab is 1,500 + 0.13·1,500 = 1,695. In round r the price is
/// 1,080·0.99^⌊300·(r − 1)/90⌋: round 6 (t = 1,500 s, 16 steps) 1,080·0.99^16 = 919.57 > 900, round
/// 7 (t = 1,800 s, 20 steps) 1,080·0.99^20 = 883.34 < 900: a bidder takes 1,695/883.34 = 1.91885
/// ETH (the tab's worth), paying the debt and the 195 penalty; 0.08115 ETH go back. The borrower
/// gave 1,800 of ETH, got 0.08115·900 = 73.04 back and 1,500 of debt off: a loss of 226.96 (the
/// penalty and the bidder's discount, 1.91885·(900 − 883.34) = 31.96).
#[test]
fn dutch_auction_lot_taken_in_round_seven() {
    let s = one_account("dutch-auction", "liquidator_cost_usd = 0.0", 2.0, 1500.0);
    let (r, f) = figures(&s, &eth_shock(&s, -0.55));
    let price = 1080.0 * 0.99f64.powi(20);
    let taken = 1695.0 / price;
    let returned = (2.0 - taken) * 900.0;
    let takes: Vec<u32> = r
        .rounds
        .iter()
        .filter(|x| !x.liquidations.is_empty())
        .map(|x| x.round)
        .collect();
    assert_eq!(takes, vec![7]);
    assert_close!(r.rounds[7].liquidations[0].seized_tokens, taken);
    assert_close!(f.tally.paid_usd, 1695.0);
    assert_close!(f.tally.protocol_revenue_usd, 195.0, 1e-6);
    assert_close!(f.tally.returned_usd, returned);
    assert_close!(f.tally.borrower_loss_usd, 1800.0 - returned - 1500.0);
    assert_close!(f.liquidator_profit_usd(), taken * (900.0 - price));
    assert_eq!(lend(&r).bad_debt_usd, 0.0);
    assert_eq!(f.open_debt_usd, 0.0);
}

/// Dutch auction whose lot cannot pay the tab: 1 ETH against 1,500 USDC at ETH $1,500 (−25%).
/// top = 1,800, taken in round 7 at 1,800·0.99^20 = 1,472.23: the debt left, 1,500 − 1,472.23 =
/// 27.77, is bad debt (the penalty is never paid); the bidder's profit is the same 27.77.
#[test]
fn dutch_auction_leaves_bad_debt_when_the_lot_runs_out() {
    let s = one_account("dutch-auction", "liquidator_cost_usd = 0.0", 1.0, 1500.0);
    let (r, f) = figures(&s, &eth_shock(&s, -0.25));
    let price = 1800.0 * 0.99f64.powi(20);
    assert_close!(lend(&r).bad_debt_usd, 1500.0 - price);
    assert_close!(f.liquidator_profit_usd(), 1500.0 - price);
    assert_eq!(f.tally.protocol_revenue_usd, 0.0);
    assert_eq!(f.tally.borrower_loss_usd, 0.0);
}

/// The AMM's oracle is the market price, and a $1 cost per conversion.
const NO_SMOOTHING: &str = "liquidator_cost_usd = 1.0\nmechanism = { oracle_ema_seconds = 0.0 }";

/// Soft bands (A = 100, N = 10), the oracle the market price, a $1 cost per conversion: 1 ETH against 1,200 USDC has its
/// liquidation price at 1,200/0.8 = 1,500 before the shock, so its bands run from
/// top = 1,500/0.99^10 = 1,658.59 down to 1,500, 0.1 ETH each. The shock takes ETH to exactly
/// p = top·0.99^3 = 1,609.32 (−19.53%): bands 0–2 are crossed, 0.3 ETH. The AMM sells band b at
/// p³/(hi·lo) = p³/(top²·0.99^(2b+1)) = p·0.99^(5 − 2b): 0.1·p·(0.99^5 + 0.99^3 + 0.99) =
/// 0.2911289·p, which repays debt; the borrower loses 0.3·p − 0.2911289·p = 0.0088711·p = 14.28,
/// the arbitrageur that less its $1. The health 0.7·p·0.94 = 1,058.9 against
/// 1,200 − 468.52 = 731.5 stays positive: no hard liquidation.
#[test]
fn soft_bands_convert_the_crossed_bands() {
    let s = one_account("soft-bands", NO_SMOOTHING, 1.0, 1200.0);
    let top = 1500.0 / 0.99f64.powi(10);
    let p = top * 0.99f64.powi(3);
    let (r, f) = figures(&s, &eth_shock(&s, p / 2000.0 - 1.0));
    let value = 0.1 * p * (0.99f64.powi(5) + 0.99f64.powi(3) + 0.99);
    assert_close!(r.rounds[1].liquidations[0].seized_tokens, 0.3);
    assert_close!(f.tally.liquidated_usd, value);
    assert_close!(f.tally.borrower_loss_usd, 0.3 * p - value, 1e-6);
    assert_close!(f.liquidator_profit_usd(), 0.3 * p - value - 1.0, 1e-6);
    assert_close!(f.tally.costs_usd, 1.0);
    assert_eq!(r.rounds.len(), 3, "round 2 converts nothing more");
    assert_eq!(lend(&r).bad_debt_usd, 0.0);
}

/// Soft bands under a gap: ETH straight to $1,200 (−40%) crosses all ten bands at once, and the
/// AMM sells each far under the oracle: band b at 1,200³/(top²·0.99^(2b+1)), 0.1 ETH each, in all
/// 0.1·1,200³/top²·Σ 0.99^−(2b+1) ≈ 695.5, which repays debt; the debt left has no collateral
/// behind it: bad debt. An instant gap through an unsmoothed oracle is soft bands' worst case.
#[test]
fn soft_bands_gap_leaves_bad_debt() {
    let s = one_account("soft-bands", NO_SMOOTHING, 1.0, 1200.0);
    let (r, f) = figures(&s, &eth_shock(&s, -0.4));
    let top = 1500.0 / 0.99f64.powi(10);
    let value: f64 = (0..10)
        .map(|b| 0.1 * 1200f64.powi(3) / (top * top * 0.99f64.powi(2 * b + 1)))
        .sum();
    assert!((value - 695.5).abs() < 0.5, "{value}");
    assert_close!(f.tally.liquidated_usd, value);
    assert_close!(lend(&r).bad_debt_usd, 1200.0 - value, 1e-9);
    assert_close!(f.tally.borrower_loss_usd, 1200.0 - value, 1e-9);
    assert_close!(f.liquidator_profit_usd(), 1200.0 - value - 1.0, 1e-9);
}

/// The same gap with crvUSD's smoothed oracle (866 s, 300 s rounds: each round closes
/// w = 1 − e^(−300/866) = 0.29278 of the gap to $1,200; no cost). The oracle goes 2,000 → 1,765.8
/// (above every band) → 1,600.1 (bands 0–3 crossed, but band 0 would sell at
/// 1,600.1³/(1,658.59·1,642.0) = 1,504 > 1,200: no arbitrage) → 1,483.0 (all crossed; band 0 sells
/// at 1,483.0³/(top²·0.99) = 1,197.6 < 1,200, band 1 at 1,221.9: only band 0 goes) → 1,400.1
/// (bands 1–8 at 997.7/0.99^(2b+1), 1,028 to 1,183; band 9 at 1,207 waits) → 1,341.5 (band 9 at
/// 1,061.8). The health at the oracle after round 4, 0.1·1,400.1·0.94 = 131.6 < 196.7 of debt,
/// calls for a hard liquidation no liquidator profits from (0.1 ETH is worth 120); band 9's sale
/// in round 5 leaves 1,200 − Σ of debt without collateral: bad debt, ~90.6 instead of 504.5.
#[test]
fn soft_bands_with_a_smoothed_oracle_convert_as_it_falls() {
    let s = one_account("soft-bands", "liquidator_cost_usd = 0.0", 1.0, 1200.0);
    let (r, f) = figures(&s, &eth_shock(&s, -0.4));
    let w = 1.0 - (-300.0f64 / 866.0).exp();
    let top = 1500.0 / 0.99f64.powi(10);
    let oracle = |round: i32| 1200.0 + 800.0 * (1.0 - w).powi(round);
    let sells = |o: f64, b: i32| o.powi(3) / (top * top * 0.99f64.powi(2 * b + 1));
    assert!(sells(oracle(2), 0) > 1200.0 && sells(oracle(3), 0) < 1200.0);
    assert!(sells(oracle(3), 1) > 1200.0 && sells(oracle(4), 8) < 1200.0);
    assert!(sells(oracle(4), 9) > 1200.0 && sells(oracle(5), 9) < 1200.0);
    let value = 0.1 * sells(oracle(3), 0)
        + (1..=8).map(|b| 0.1 * sells(oracle(4), b)).sum::<f64>()
        + 0.1 * sells(oracle(5), 9);
    let converted: Vec<(u32, f64)> = r
        .rounds
        .iter()
        .filter_map(|x| x.liquidations.first().map(|l| (x.round, l.seized_tokens)))
        .collect();
    assert_eq!(converted.len(), 3, "{converted:?}");
    for ((round, tokens), (want_round, want)) in
        converted.iter().zip([(3, 0.1), (4, 0.8), (5, 0.1)])
    {
        assert_eq!(*round, want_round);
        assert_close!(*tokens, want);
    }
    assert_close!(f.tally.liquidated_usd, value);
    assert_close!(lend(&r).bad_debt_usd, 1200.0 - value, 1e-9);
    assert!((lend(&r).bad_debt_usd - 90.6).abs() < 0.5);
    assert_close!(f.tally.borrower_loss_usd, 1200.0 - value, 1e-9);
}

/// Fixed bonus (today's model) through the same figures: 1 ETH against 1,500 USDC at $1,500,
/// HF 0.8 < 0.95, so the whole debt may be repaid: 1,500 repaid, 1,500·1.05/1,500 = 1.05 ETH > 1
/// → capped at 1 ETH, repaying 1,500/1.05 = 1,428.57; 71.43 is bad debt. The liquidator paid
/// 1,428.57 for 1 ETH sold at 1,500; the borrower lost 1,500 − 1,428.57 = 71.43 beyond the debt.
#[test]
fn fixed_bonus_figures() {
    let s = one_account("fixed-bonus", "liquidator_cost_usd = 0.0", 1.0, 1500.0);
    let (r, f) = figures(&s, &eth_shock(&s, -0.25));
    let repaid = 1500.0 / 1.05;
    assert_close!(lend(&r).bad_debt_usd, 1500.0 - repaid);
    assert_close!(f.tally.liquidated_usd, repaid);
    assert_close!(f.liquidator_profit_usd(), 1500.0 - repaid);
    assert_close!(f.tally.borrower_loss_usd, 1500.0 - repaid);
}

/// Per-account results record a mechanism's calls: the absorb above, with accounts reported, shows
/// the account's 1,500 of debt taken off in round 1 against its 1 ETH; the auction's take shows in
/// round 7.
#[test]
fn account_results_record_the_mechanisms_calls() {
    let options = Options {
        accounts: true,
        ..Options::default()
    };
    let s = one_account("absorb", "liquidator_cost_usd = 0.0", 1.0, 1500.0);
    let (r, _) = run_with_figures(&s, &eth_shock(&s, -0.25), &options);
    let a = &r.accounts[0];
    assert_close!(a.liquidated_debt_usd, 1500.0);
    assert_close!(a.seized_collateral_usd, 1500.0);
    assert_eq!(a.first_liquidation_round, Some(1));
    let s = one_account("dutch-auction", "liquidator_cost_usd = 0.0", 1.0, 1500.0);
    let (r, _) = run_with_figures(&s, &eth_shock(&s, -0.25), &options);
    let a = &r.accounts[0];
    assert_eq!(a.first_liquidation_round, Some(7));
    let price = 1800.0 * 0.99f64.powi(20);
    assert_close!(a.liquidated_debt_usd, price);
    assert_close!(a.bad_debt_usd, 1500.0 - price);
}
