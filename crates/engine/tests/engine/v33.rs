//! Aave v3.3's liquidation rules through the engine (docs/lending.md#aave-v33-liquidations): a
//! snapshot written as TOML, an ETH shock, every figure worked by hand.

use super::*;

/// ETH at $2,000, USDC and DAI at $1 (no price impact), one pool under `rules` with no liquidator
/// cost; ETH, USDC and DAI reserves at LT 0.8 and LB 5%. Two accounts:
/// - "small": 1 ETH against 1,100 USDC and 400 DAI;
/// - "large": 5 ETH against 4,500 USDC and 1,750 DAI.
fn pool(rules: &str) -> Snapshot {
    System::new()
        .name("v33")
        .eth(2000.0)
        .usdc()
        .asset("DAI", "stable", "price = 1.0")
        .lending_with(
            "lend",
            &format!("liquidation_rules = \"{rules}\"\nliquidator_cost_usd = 0.0"),
            &[
                ("ETH", 0.75, 0.8, 0.05),
                ("USDC", 0.75, 0.8, 0.05),
                ("DAI", 0.75, 0.8, 0.05),
            ],
        )
        .account(
            "small",
            "lend",
            &[("ETH", 1.0)],
            &[("USDC", 1100.0), ("DAI", 400.0)],
        )
        .account(
            "large",
            "lend",
            &[("ETH", 5.0)],
            &[("USDC", 4500.0), ("DAI", 1750.0)],
        )
        .build()
}

const ETH_MINUS_25: &str = "name = \"eth-25\"\n[[shock]]\nasset = \"ETH\"\nprice_change = -0.25\n";

/// At ETH $1,500:
///
/// "small" ($1,500 of ETH, $1,500 of debt, HF 0.8): the whole USDC debt, 1,100, seizing
/// 1,100·1.05/1,500 = 0.77 ETH; then DAI: 400·1.05/1,500 = 0.28 ETH is more than the 0.23 ETH
/// left, so the call takes all of it and repays 0.23·1,500/1.05 = 328.5714 DAI. The account has no
/// collateral left: its last 71.4286 DAI go to the DAI reserve's deficit, reported as bad debt.
///
/// "large" ($7,500 of ETH against $6,250, HF = 6,000/6,250 = 0.96): v3.3 repays 50% of the total
/// debt, 3,125 USDC (v3: 50% of the USDC debt, 2,250), seizing 3,125·1.05/1,500 = 2.1875 ETH
/// (v3: 1.575). Left: 1,375 USDC (over $1,000) and 2.8125 ETH; HF = 3,375/3,125 = 1.08. Under
/// v3, HF = 4,110/4,000 = 1.0275. Neither is liquidated again.
#[test]
fn aave_v33_end_to_end() {
    let dai_repaid = 0.23 * 1500.0 / 1.05;
    let deficit = 400.0 - dai_repaid;
    for (rules, large_repaid) in [("aave-v3.3", 3125.0), ("aave-v3", 2250.0)] {
        let s = pool(rules);
        let r = run(&s, &scenario(&s, ETH_MINUS_25));
        let l = lend(&r);
        assert_close!(l.liquidated_debt_usd, 1100.0 + dai_repaid + large_repaid);
        assert_close!(
            l.seized_collateral_usd,
            (1100.0 + dai_repaid + large_repaid) * 1.05
        );
        // The deficit is the bad debt, in DAI, of one account, under both rule sets.
        assert_close!(l.bad_debt_usd, deficit);
        assert_eq!(l.accounts_bad_debt, 1);
        assert_eq!(l.accounts_liquidated, 2);
        assert_eq!(l.accounts_underwater, 0);
        let bad: Vec<_> = r.rounds.iter().flat_map(|x| &x.bad_debt).collect();
        assert_eq!(bad.len(), 1, "{rules}");
        assert_eq!(bad[0].asset, "DAI");
        assert_close!(bad[0].tokens, deficit);
        // Without an insurance fund, all of it is uncovered (socialised to DAI's suppliers).
        assert_close!(l.uncovered_usd, deficit);
    }
}
