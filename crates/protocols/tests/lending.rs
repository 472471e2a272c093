//! Properties of one Aave-v3 liquidation call (docs/lending.md#liquidation-call).

use cascade_model::{HealthFactorRule, LiquidationRuleSet, Side};
use cascade_protocols::lending::{
    health_factor, health_factor_by, health_factor_with, next_step, protocol_fee_tokens, Entries,
    Entry, LiquidationRules, Step, TermTable,
};
use proptest::prelude::*;

const RULES: LiquidationRules = LiquidationRules {
    close_factor: 0.5,
    full_below_hf: 0.95,
    full_close_factor: 1.0,
    liquidator_cost_usd: 0.0,
    buy_debt: false,
    health_factor_rule: HealthFactorRule::Exact,
    rule_set: LiquidationRuleSet::AaveV3,
};

fn entry(asset: u32, side: Side, lt: f64, lb: f64, amount: f64) -> Entry {
    Entry {
        asset,
        side,
        lt,
        lb,
        amount,
        cap: 1.0,
    }
}

#[test]
fn health_factor_by_hand() {
    // 10 ETH at 2000 with LT 0.825 and 5000 USDC at 1 with LT 0.85 against 20000 USDC:
    // HF = (16500 + 4250) / 20000 = 1.0375.
    let e = [
        entry(0, Side::Collateral, 0.825, 0.05, 10.0),
        entry(1, Side::Collateral, 0.85, 0.05, 5000.0),
        entry(1, Side::Debt, 0.85, 0.05, 20000.0),
    ];
    assert!((health_factor(&e, &[2000.0, 1.0]) - 1.0375).abs() < 1e-12);
    assert_eq!(health_factor(&e[..2], &[2000.0, 1.0]), f64::INFINITY);
}

/// The debt one call repays on an account of 200 tokens of collateral (weight `lt`) against 100 of
/// debt, prices 1.
fn repaid_at(lt: f64) -> f64 {
    let e = [
        entry(0, Side::Collateral, lt, 0.05, 200.0),
        entry(1, Side::Debt, 0.0, 0.0, 100.0),
    ];
    match next_step(&e, &RULES, &[1.0, 1.0]) {
        Step::Liquidate { repay, .. } => repay,
        other => panic!("expected a liquidation, got {other:?}"),
    }
}

#[test]
fn aave_v3_keeps_the_average_threshold_in_whole_basis_points() {
    // $100 of collateral weighted to $82.507 (average LT 82.507%) against $82.5 of debt: exactly
    // HF 1.0000848…, on Aave the average is 8250 bp: HF = 100·0.825/82.5 = 1, not liquidatable.
    let exact = health_factor_by(HealthFactorRule::Exact, 82.507, 100.0, 82.5);
    assert!((exact - 82.507 / 82.5).abs() < 1e-15);
    let aave = health_factor_by(HealthFactorRule::AaveV3, 82.507, 100.0, 82.5);
    assert!((aave - 1.0).abs() < 1e-15, "{aave}");
    // One collateral: its own threshold, however the values round (0.1 + 0.2 of it at LT 82.5%).
    let c = 0.1 + 0.2;
    let one = health_factor_by(HealthFactorRule::AaveV3, c * 0.825, c, c);
    assert!((one - 0.825).abs() < 1e-15, "{one}");
    assert_eq!(
        health_factor_by(HealthFactorRule::AaveV3, 1.0, 2.0, 0.0),
        f64::INFINITY
    );
    assert_eq!(
        health_factor_by(HealthFactorRule::AaveV3, 0.0, 0.0, 5.0),
        0.0
    );
}

#[test]
fn close_factor_boundary_as_the_contracts_compare_it() {
    // HF = 200·0.475/100 = 0.95 exactly: at the threshold the whole debt may be repaid (Aave v3:
    // 50% only while HF > 0.95).
    assert_eq!(200.0 * 0.475 / 100.0, 0.95);
    assert_eq!(repaid_at(0.475), 100.0);
    // Just above: HF 0.9502 → 50%.
    assert_eq!(repaid_at(0.4751), 50.0);
    // Just below: 100%.
    assert_eq!(repaid_at(0.4749), 100.0);
}

#[test]
fn liquidation_protocol_fee_is_the_treasurys_share_of_the_bonus() {
    // 9.84375 tokens seized with a 5% bonus: the bonus part is 9.84375 − 9.84375/1.05 = 0.46875; a
    // 10% fee is 0.046875 of it.
    assert!((protocol_fee_tokens(9.84375, 0.05, 0.10) - 0.046875).abs() < 1e-15);
    assert_eq!(protocol_fee_tokens(9.84375, 0.05, 0.0), 0.0);
    // The whole bonus at a 100% fee.
    assert!((protocol_fee_tokens(105.0, 0.05, 1.0) - 5.0).abs() < 1e-12);
}

#[test]
fn largest_debt_and_largest_collateral_are_chosen() {
    // Debts: 3 ETH ($6000) and 5000 USDC → ETH first. Collateral: 2 WBTC ($120000·... ) vs ETH.
    let prices = [2000.0, 1.0, 60000.0];
    let e = [
        entry(0, Side::Collateral, 0.825, 0.05, 1.0),
        entry(2, Side::Collateral, 0.78, 0.05, 0.1),
        entry(0, Side::Debt, 0.0, 0.0, 3.0),
        entry(1, Side::Debt, 0.0, 0.0, 5000.0),
    ];
    // Collateral values: ETH 2000, WBTC 6000 → WBTC; debt values 6000 vs 5000 → ETH.
    // HF = (1650 + 4680) / 11000 = 0.5755 → 100%: repay 3 ETH, seize 3·2000·1.05/60000 = 0.105 WBTC > 0.1
    // → capped: seize 0.1 WBTC, repay 0.1·60000/(2000·1.05) = 2.857142857142857 ETH.
    match next_step(&e, &RULES, &prices) {
        Step::Liquidate {
            collateral,
            debt,
            repay,
            seize,
            capped,
            ..
        } => {
            assert_eq!((collateral, debt), (1, 2));
            assert!(capped);
            assert!((seize - 0.1).abs() < 1e-15);
            assert!((repay - 2.857142857142857).abs() < 1e-12);
        }
        s => panic!("expected a liquidation, got {s:?}"),
    }
}

fn arb_account() -> impl Strategy<Value = (Vec<Entry>, Vec<f64>)> {
    let coll = prop::collection::vec((0u32..3, 0.0f64..0.95, 0.0f64..0.15, 0.0f64..1e6), 0..4);
    let debt = prop::collection::vec((0u32..3, 0.0f64..1e6), 0..3);
    let prices = prop::collection::vec(1e-3f64..1e5, 3);
    (coll, debt, prices).prop_map(|(c, d, p)| {
        let mut e: Vec<Entry> = c
            .into_iter()
            .map(|(a, lt, lb, x)| entry(a, Side::Collateral, lt.min(1.0 / (1.0 + lb)), lb, x))
            .collect();
        e.extend(
            d.into_iter()
                .map(|(a, x)| entry(a, Side::Debt, 0.0, 0.0, x)),
        );
        (e, p)
    })
}

proptest! {
    /// A liquidation never creates value: the seized value is the repaid value × (1 + bonus) at the
    /// round's prices, or less when the seizure is capped at the collateral held.
    #[test]
    fn a_liquidation_never_creates_value((e, p) in arb_account()) {
        if let Step::Liquidate { collateral, debt, repay, seize, capped, health_factor } = next_step(&e, &RULES, &p) {
            prop_assert!(health_factor < 1.0);
            let (c, d) = (e[collateral], e[debt]);
            let seized_usd = seize * p[c.asset as usize];
            let owed_usd = repay * p[d.asset as usize] * (1.0 + c.lb);
            prop_assert!(repay > 0.0 && repay <= d.amount * (1.0 + 1e-12));
            prop_assert!(seize <= c.amount);
            if capped {
                prop_assert_eq!(seize, c.amount);
                prop_assert!(seized_usd <= owed_usd * (1.0 + 1e-12));
            } else {
                prop_assert!((seized_usd - owed_usd).abs() <= 1e-9 * owed_usd.max(1.0));
            }
        }
    }

    /// A pool's compact storage (16-byte slots and a table of distinct terms) reads back as the
    /// entries it was built from, so the health factor and the next call are the same, bit for bit.
    #[test]
    fn compact_slots_read_back_as_their_entries((e, p) in arb_account()) {
        let (slots, terms) = TermTable::compact(&e);
        let view = Entries { slots: &slots, terms: &terms };
        prop_assert_eq!(view.iter().collect::<Vec<Entry>>(), e.clone());
        for rule in [HealthFactorRule::Exact, HealthFactorRule::AaveV3] {
            let (a, b) = (health_factor_with(rule, &e, &p), health_factor_with(rule, &view, &p));
            prop_assert_eq!(a.to_bits(), b.to_bits());
        }
        prop_assert_eq!(next_step(&e, &RULES, &p), next_step(&view, &RULES, &p));
        // One term per distinct (side, LT, LB): every debt entry here shares (debt, 0, 0).
        let debts = e.iter().filter(|x| x.side == Side::Debt).count();
        prop_assert!(terms.len() <= e.len() - debts.saturating_sub(1));
    }

    /// A call is only proposed below HF 1, and the close factor follows the 0.95 boundary.
    #[test]
    fn close_factor_regimes((e, p) in arb_account()) {
        let hf = health_factor(&e, &p);
        match next_step(&e, &RULES, &p) {
            Step::Healthy => prop_assert!(hf >= 1.0 || e.iter().all(|x| x.side == Side::Collateral || x.amount == 0.0)),
            Step::BadDebt => prop_assert!(hf < 1.0),
            Step::Liquidate { debt, repay, capped, .. } => {
                prop_assert!(hf < 1.0);
                if !capped {
                    let cf = if hf >= 0.95 { 0.5 } else { 1.0 };
                    prop_assert!((repay - cf * e[debt].amount).abs() <= 1e-12 * e[debt].amount.max(1.0));
                }
            }
        }
    }
}

#[path = "lending/diversification.rs"]
mod diversification;
#[path = "lending/v33.rs"]
mod v33;
