//! Buys through the curves (docs/liquidity.md#a-rounds-trades extended): liquidators that must buy the debt they repay
//! (`liquidators_buy_debt`), worked by hand, and the CRV-on-Aave-v2 replay of examples/replays.

use super::*;

/// CRV (price 1, x·y = k with 1e6 CRV and 1e6 USD, no fee) borrowed against USDC (LT 0.88, LB 0.05)
/// by one account; `buy_debt` sets `liquidators_buy_debt`. Liquidators have no fixed cost (the hand
/// derivation below balances the bonus against slippage alone).
fn crv_pool(buy_debt: bool, usdc: f64, crv_debt: f64) -> Snapshot {
    System::new()
        .name("crv-hand")
        .asset(
            "CRV",
            "governance",
            "price = 1.0\nliquidity = { curve = \"constant_product\", base = 1.0e6, quote = 1.0e6, fee = 0.0 }",
        )
        .usdc()
        .lending_with(
            "lend",
            &format!("liquidators_buy_debt = {buy_debt}\nliquidator_cost_usd = 0.0"),
            &[("USDC", 0.80, 0.88, 0.05), ("CRV", 0.50, 0.55, 0.08)],
        )
        .account("shorter", "lend", &[("USDC", usdc)], &[("CRV", crv_debt)])
        .build()
}

const CRV_UP_25: &str = "name = \"crv+25\"\n[[shock]]\nasset = \"CRV\"\nprice_change = 0.25\n";

/// One account: 1e5 CRV borrowed against 137,500 USDC; CRV +25% to 1.25, so the collateral is
/// 1.1× the debt's value and HF = 0.88·1.1 = 0.968.
///
/// Without buys: one call repays 50% (HF ≥ 0.95) = 5e4 CRV and seizes 5e4·1.25·1.05 = 65,625 USDC;
/// HF = 0.88·71,875/(5e4·1.25) = 1.012: healthy, no bad debt.
///
/// With buys: the curve, anchored at 1.25, holds B₁ = 1e6/√1.25 CRV. Buying q of it costs
/// `quote·q/(B−q)`, so its slippage is `p·q²/(B−q)` and the bonus `0.05·q·p` beats it while
/// `q < q* = 0.05·B/1.05`. The 5e4 call exceeds q₁* = 42,591.8, so the liquidator repays q₁*
/// and the account waits; the buy leaves B₂ = B₁/1.05 and p₂ = p₁·1.05² (quote·B/(B−q)², B−q =
/// B/1.05). Round 2: HF < 0.95, the full call is capped by the collateral and still exceeds q₂*,
/// so q₂* again. Round 3: the capped call `C₃/(1.05·p₃)` is below q₃*: all collateral goes and
/// `D₃ − C₃/(1.05·p₃)` CRV is bad debt.
#[test]
fn liquidators_buying_the_debt_squeeze_it_into_bad_debt() {
    let (usdc, debt) = (137_500.0, 1.0e5);
    let sc = |s: &Snapshot| scenario(s, CRV_UP_25);
    // Without buys.
    let s = crv_pool(false, usdc, debt);
    let r = run(&s, &sc(&s));
    assert_eq!(lend(&r).bad_debt_usd, 0.0);
    assert_close!(r.rounds[1].liquidations[0].repaid_tokens, 5.0e4);
    assert_close!(r.rounds[1].liquidations[0].seized_tokens, 65_625.0);
    assert!(r.rounds[1].buys.is_empty());
    assert_close!(r.final_prices["CRV"], 1.25);

    // With buys: the recursion above, by hand.
    let s = crv_pool(true, usdc, debt);
    let r = run(&s, &sc(&s));
    let lb = 0.05;
    let b1 = 1.0e6 / 1.25f64.sqrt();
    let (mut c, mut d, mut p, mut b) = (usdc, debt, 1.25, b1);
    for round in 1..=2 {
        let q = lb * b / (1.0 + lb);
        let rr = &r.rounds[round];
        assert_close!(rr.prices["CRV"], p, 1e-9);
        assert_close!(rr.liquidations[0].repaid_tokens, q, 1e-9);
        assert_close!(rr.liquidations[0].seized_tokens, q * p * (1.0 + lb), 1e-9);
        // The buy: cost p·B·q/(B−q) (quote = p·B), price after p·(B/(B−q))² = p·1.05².
        assert_close!(rr.buys[0].fill.quantity, q, 1e-9);
        assert_close!(rr.buys[0].fill.cost_usd, p * b * q / (b - q), 1e-9);
        assert_close!(rr.buys[0].fill.price_after, p * 1.05 * 1.05, 1e-9);
        assert!(rr.bad_debt.is_empty());
        c -= q * p * (1.0 + lb);
        d -= q;
        b -= q;
        p *= 1.05 * 1.05;
    }
    // Round 3 at p₃ = 1.25·1.05⁴ = 1.519383: the capped call repays C₃/(1.05·p₃) (below q₃*).
    let rr = &r.rounds[3];
    assert_close!(rr.prices["CRV"], 1.25 * 1.05f64.powi(4), 1e-12);
    let repaid = c / ((1.0 + lb) * p);
    assert!(repaid < lb * b / (1.0 + lb));
    assert_close!(rr.liquidations[0].repaid_tokens, repaid, 1e-9);
    assert_close!(rr.liquidations[0].seized_tokens, c, 1e-9);
    let bad_tokens = d - repaid;
    // ≈ 2,490 CRV: 1e5 − 42,591.8 − 40,563.6 − 14,355.0.
    assert!((bad_tokens - 2_489.7).abs() < 1.0, "{bad_tokens}");
    assert_close!(rr.bad_debt[0].tokens, bad_tokens, 1e-9);
    assert_close!(lend(&r).bad_debt_usd, bad_tokens * p, 1e-9);
    // The trace tells the buys.
    assert!(
        r.trace.iter().any(|l| l.starts_with("round 1: buying")),
        "{:#?}",
        r.trace
    );
}

fn replay(snapshot: &str) -> StressResult {
    let s = match snapshot_from_str(snapshot, Format::Toml, "snapshot.toml") {
        Ok((s, _)) => s,
        Err(e) => panic!("{e}"),
    };
    let sc = scenario(
        &s,
        include_str!("../../../../examples/replays/crv-aave-v2/scenario.toml"),
    );
    run(&s, &sc)
}

/// The public outcome: 2,656,335 CRV of excess debt on Aave v2 (Llama's ARFC, 8 Dec 2022; ≈ 2.64M
/// per Blockworks).
const CRV_BAD_DEBT_TOKENS: f64 = 2_656_335.0;

/// Aave v2, 22 Nov 2022: the liquidators' own CRV buys squeeze the price until the USDC runs out
/// with CRV debt left. The band is 0.5×–2× of the public bad debt in CRV (the model's curve is a
/// calibration, see examples/replays/README.md). A 7.7M CRV borrow cap (Aave v3 Ethereum) removes
/// more than 80% of the loss.
#[test]
fn crv_aave_v2_replay_lands_in_the_band_and_a_borrow_cap_removes_it() {
    let r = replay(include_str!(
        "../../../../examples/replays/crv-aave-v2/snapshot.toml"
    ));
    let bad_tokens: f64 = r
        .rounds
        .iter()
        .flat_map(|x| x.bad_debt.iter())
        .filter(|b| b.asset == "CRV")
        .map(|b| b.tokens)
        .sum();
    assert!(
        (0.5 * CRV_BAD_DEBT_TOKENS..=2.0 * CRV_BAD_DEBT_TOKENS).contains(&bad_tokens),
        "{bad_tokens}"
    );
    // The bad debt comes from the buys: the same run without them repays everything at $0.62
    // (the collateral, 1.115× the debt's value, covers the 4.5% bonus).
    let no_buys = replay(
        &include_str!("../../../../examples/replays/crv-aave-v2/snapshot.toml").replace(
            "liquidators_buy_debt = true",
            "liquidators_buy_debt = false",
        ),
    );
    assert_eq!(no_buys.system.bad_debt_usd, 0.0);
    assert!(r.rounds.iter().any(|x| !x.buys.is_empty()));
    assert!(
        r.final_prices["CRV"] > 0.62 * 1.05,
        "{}",
        r.final_prices["CRV"]
    );

    let capped = replay(include_str!(
        "../../../../examples/replays/crv-aave-v2/snapshot-borrow-cap.toml"
    ));
    assert!(
        capped.system.bad_debt_usd < 0.2 * r.system.bad_debt_usd,
        "{} vs {}",
        capped.system.bad_debt_usd,
        r.system.bad_debt_usd
    );
}
