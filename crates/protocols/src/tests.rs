use super::LiquidationRecord;

fn call(collateral: usize, debt: usize, repaid: f64, seized: f64) -> LiquidationRecord {
    // Debt at $1, collateral at $2.
    LiquidationRecord {
        collateral,
        debt,
        repaid_tokens: repaid,
        seized_tokens: seized,
        repaid_usd: repaid,
        seized_usd: 2.0 * seized,
        calls: 1,
        ..LiquidationRecord::default()
    }
}

#[test]
fn liquidation_calls_sum_per_pair_in_first_appearance_order() {
    let mut records = Vec::new();
    call(1, 2, 10.0, 5.5).add_to(&mut records);
    call(3, 2, 1.0, 0.5).add_to(&mut records);
    call(1, 2, 4.0, 2.25).add_to(&mut records);
    // (1, 2): repaid 10 + 4 = 14 ($14), seized 5.5 + 2.25 = 7.75 ($15.50), 2 calls.
    assert_eq!(
        records,
        vec![
            LiquidationRecord {
                collateral: 1,
                debt: 2,
                repaid_tokens: 14.0,
                seized_tokens: 7.75,
                repaid_usd: 14.0,
                seized_usd: 15.5,
                calls: 2,
                ..LiquidationRecord::default()
            },
            call(3, 2, 1.0, 0.5),
        ]
    );
}
