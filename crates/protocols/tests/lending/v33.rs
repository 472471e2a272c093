//! Aave v3.3's liquidation rules (docs/lending.md#aave-v33-liquidations), worked by hand at each
//! boundary: the $2,000 full-close-factor threshold on either reserve, the close factor on the
//! account's total debt, the $1,000 dust rule and the unchanged HF 0.95 boundary.

use super::*;
use cascade_protocols::lending::{v33_dust_room, MIN_BASE_MAX_CLOSE_FACTOR_USD, MIN_LEFTOVER_USD};

const V33: LiquidationRules = LiquidationRules {
    rule_set: LiquidationRuleSet::AaveV33,
    ..RULES
};

/// `(repay, seize)` of the next call, which must be a liquidation.
fn call(e: &[Entry], rules: &LiquidationRules, p: &[f64]) -> (f64, f64) {
    match next_step(e, rules, p) {
        Step::Liquidate { repay, seize, .. } => (repay, seize),
        other => panic!("expected a liquidation, got {other:?}"),
    }
}

fn assert_close(a: f64, b: f64) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{a}, expected {b}"
    );
}

/// One collateral (LT 0.8, LB 5%) worth 1.2× one debt, prices 1: HF = 0.96, above 0.95.
fn one_pair(debt: f64) -> [Entry; 2] {
    [
        entry(0, Side::Collateral, 0.8, 0.05, 1.2 * debt),
        entry(1, Side::Debt, 0.0, 0.0, debt),
    ]
}

#[test]
fn the_constants_are_the_contracts() {
    assert_eq!(MIN_BASE_MAX_CLOSE_FACTOR_USD, 2_000.0);
    assert_eq!(MIN_LEFTOVER_USD, 1_000.0);
    assert_eq!(LiquidationRuleSet::default(), LiquidationRuleSet::AaveV3);
}

#[test]
fn a_debt_reserve_under_2000_usd_is_repaid_whole() {
    let p = [1.0, 1.0];
    // $2,001 of debt, HF 0.96: 50% of the total debt, 1,000.5, seizing 1,050.525; leftovers
    // $1,000.5 of debt and $1,350.675 of collateral pass the dust rule.
    let (r, s) = call(&one_pair(2001.0), &V33, &p);
    assert_close(r, 1000.5);
    assert_close(s, 1050.525);
    // Exactly $2,000 is not below the threshold (the contract's `>=`): 50%.
    let (r, _) = call(&one_pair(2000.0), &V33, &p);
    assert_close(r, 1000.0);
    // $1,999: the whole reserve debt, seizing 1,999·1.05 = 2,098.95 of 2,398.8.
    let (r, s) = call(&one_pair(1999.0), &V33, &p);
    assert_close(r, 1999.0);
    assert_close(s, 2098.95);
    // Aave v3 repays 50% whatever the size.
    assert_close(call(&one_pair(1999.0), &RULES, &p).0, 999.5);
}

#[test]
fn a_collateral_reserve_under_2000_usd_allows_a_full_call() {
    let p = [1.0, 1.0, 1.0];
    let account = |a: f64| {
        [
            entry(0, Side::Collateral, 0.8, 0.05, a),
            entry(2, Side::Collateral, 0.8, 0.05, 1000.0),
            entry(1, Side::Debt, 0.0, 0.0, 2500.0),
        ]
    };
    // $1,999 + $1,000 against $2,500: HF = 2,999·0.8/2,500 = 0.95968. The largest collateral is
    // under $2,000: the whole $2,500 may be repaid, so the call is capped by the $1,999 held:
    // seize 1,999, repay 1,999/1.05 = 1,903.8095.
    match next_step(&account(1999.0), &V33, &p) {
        Step::Liquidate {
            collateral,
            repay,
            seize,
            capped,
            ..
        } => {
            assert_eq!(collateral, 0);
            assert!(capped);
            assert_close(seize, 1999.0);
            assert_close(repay, 1999.0 / 1.05);
        }
        other => panic!("{other:?}"),
    }
    // $2,001: 50% of $2,500 = 1,250 would seize 1,312.5 and leave $688.5 of it (dust). The
    // liquidator repays what leaves exactly $1,000: seize 1,001, repay 1,001/1.05 = 953.3333.
    let (r, s) = call(&account(2001.0), &V33, &p);
    assert_close(s, 1001.0);
    assert_close(r, 1001.0 / 1.05);
}

#[test]
fn the_close_factor_applies_to_the_total_debt() {
    // 5 ETH at $2,000 (LT 0.8, LB 5%) against 3,000 X at $2 ($6,000) and 2,400 DAI at $1:
    // total debt $8,400, HF = 8,000/8,400 = 0.95238. The largest debt is X; 50% of the total is
    // $4,200 = 2,100 X (Aave v3: 50% of the X debt, 1,500 X). Seize 2,100·2·1.05/2,000 = 2.205 ETH;
    // leftovers 900 X ($1,800) and 2.795 ETH pass the dust rule.
    let p = [2000.0, 2.0, 1.0];
    let e = [
        entry(0, Side::Collateral, 0.8, 0.05, 5.0),
        entry(1, Side::Debt, 0.0, 0.0, 3000.0),
        entry(2, Side::Debt, 0.0, 0.0, 2400.0),
    ];
    let (r, s) = call(&e, &V33, &p);
    assert_close(r, 2100.0);
    assert_close(s, 2.205);
    assert_close(call(&e, &RULES, &p).0, 1500.0);

    // Three debts of $3,000 (1,500 X, 3,000 DAI, 3,000 Y) against 5.4 ETH: HF = 8,640/9,000 =
    // 0.96. 50% of the total, $4,500, exceeds the X debt: all 1,500 X (the first of the equal
    // largest debts) may be repaid, seizing 1,500·2·1.05/2,000 = 1.575 ETH.
    let p = [2000.0, 2.0, 1.0, 1.0];
    let e = [
        entry(0, Side::Collateral, 0.8, 0.05, 5.4),
        entry(1, Side::Debt, 0.0, 0.0, 1500.0),
        entry(2, Side::Debt, 0.0, 0.0, 3000.0),
        entry(3, Side::Debt, 0.0, 0.0, 3000.0),
    ];
    let (r, s) = call(&e, &V33, &p);
    assert_close(r, 1500.0);
    assert_close(s, 1.575);
}

#[test]
fn a_call_must_not_leave_less_than_1000_usd_of_debt() {
    // $7,200 of collateral (LT 0.8, LB 5%) against $4,000 and `other` of debt, prices 1.
    let p = [1.0, 1.0, 1.0];
    let account = |other: f64| {
        [
            entry(0, Side::Collateral, 0.8, 0.05, 7200.0),
            entry(1, Side::Debt, 0.0, 0.0, 4000.0),
            entry(2, Side::Debt, 0.0, 0.0, other),
        ]
    };
    // other = $2,002: HF = 5,760/6,002 = 0.9597; 50% of the total is 3,001, which would leave
    // $999 of the $4,000 debt. The liquidator repays 3,000 instead (leaving $1,000), seizing 3,150.
    let (r, s) = call(&account(2002.0), &V33, &p);
    assert_close(r, 3000.0);
    assert_close(s, 3150.0);
    // other = $1,998: HF = 0.9603; 50% of the total is 2,999, leaving $1,001: allowed as is.
    let (r, s) = call(&account(1998.0), &V33, &p);
    assert_close(r, 2999.0);
    assert_close(s, 2999.0 * 1.05);
}

#[test]
fn dust_room_by_hand() {
    // Leaves $1,001 and $5,000: the whole call.
    assert_eq!(v33_dust_room(1001.0, 5000.0, 2999.0, 3148.95), 1.0);
    // Leaves exactly $1,000 of debt: allowed (the contract's `>=`).
    assert_eq!(v33_dust_room(1000.0, 5000.0, 3000.0, 3150.0), 1.0);
    // Would leave $999 of a $4,000 debt after repaying $3,001: 3,000/3,001 of the call.
    assert_close(
        v33_dust_room(999.0, 5000.0, 3001.0, 3151.05),
        3000.0 / 3001.0,
    );
    // Both sides short: the tighter one. Debt: (500 + 1,500 − 1,000)/1,500 = 2/3; collateral:
    // (800 + 1,575 − 1,000)/1,575 = 0.8730.
    assert_close(v33_dust_room(500.0, 800.0, 1500.0, 1575.0), 2.0 / 3.0);
}

#[test]
fn the_hf_095_boundary_is_unchanged() {
    // 12,800 collateral at LT 0.475 against 6,400 of debt (the hand case of
    // close_factor_boundary_as_the_contracts_compare_it scaled by 64): HF = 0.95 exactly, both
    // positions above $2,000: the whole debt, 6,400, seizing 6,720.
    let p = [1.0, 1.0];
    let at = [
        entry(0, Side::Collateral, 0.475, 0.05, 12_800.0),
        entry(1, Side::Debt, 0.0, 0.0, 6_400.0),
    ];
    let (r, s) = call(&at, &V33, &p);
    assert_close(r, 6400.0);
    assert_close(s, 6720.0);
    // One more unit of collateral: HF = 0.950074 > 0.95: 50% of the total, 3,200.
    let mut above = at;
    above[0].amount = 12_801.0;
    assert_close(call(&above, &V33, &p).0, 3200.0);
}

proptest! {
    /// A v3.3 call never creates value (seized ≤ repaid × (1 + bonus) at the round's prices),
    /// repays at most what the contract allows, and either clears one of its reserves or leaves
    /// at least $1,000 of each.
    #[test]
    fn a_v33_call_creates_no_value_and_leaves_no_dust((e, p) in arb_account()) {
        let (w, d_total) = cascade_protocols::lending::weighted_collateral_and_debt(&e, &p);
        if let Step::Liquidate { collateral, debt, repay, seize, health_factor, .. } = next_step(&e, &V33, &p) {
            prop_assert!(health_factor < 1.0 && w < d_total);
            let (c, d) = (e[collateral], e[debt]);
            let (p_i, p_j) = (p[c.asset as usize], p[d.asset as usize]);
            prop_assert!(repay > 0.0 && repay <= d.amount * (1.0 + 1e-12));
            prop_assert!(seize <= c.amount);
            prop_assert!(seize * p_i <= repay * p_j * (1.0 + c.lb) * (1.0 + 1e-12));
            let partial = c.amount * p_i >= 2000.0 && d.amount * p_j >= 2000.0 && health_factor > 0.95;
            if partial {
                prop_assert!(repay * p_j <= 0.5 * d_total * (1.0 + 1e-12) || repay == d.amount);
            }
            let cleared = repay >= d.amount || seize >= c.amount;
            if !cleared {
                prop_assert!((d.amount - repay) * p_j >= 1000.0 * (1.0 - 1e-9), "debt left {}", (d.amount - repay) * p_j);
                prop_assert!((c.amount - seize) * p_i >= 1000.0 * (1.0 - 1e-9), "collateral left {}", (c.amount - seize) * p_i);
            }
        }
    }

    /// Aave v3.3 changes the amounts only: the same accounts get a call, the same pair, and bad
    /// debt is declared in the same cases as under Aave v3.
    #[test]
    fn v33_decides_the_same_accounts_and_pairs((e, p) in arb_account()) {
        match (next_step(&e, &RULES, &p), next_step(&e, &V33, &p)) {
            (Step::Healthy, Step::Healthy) | (Step::BadDebt, Step::BadDebt) => {}
            (
                Step::Liquidate { collateral: a, debt: b, .. },
                Step::Liquidate { collateral: x, debt: y, .. },
            ) => prop_assert_eq!((a, b), (x, y)),
            (u, v) => prop_assert!(false, "{u:?} vs {v:?}"),
        }
    }
}
