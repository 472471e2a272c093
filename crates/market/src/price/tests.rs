use super::*;
use cascade_testkit::system::System;

/// CRV at 0.5 on x·y = k with 1e6 CRV and 5e5 USD, no fee.
fn market() -> Market {
    let s = System::new()
        .name("t")
        .asset(
            "CRV",
            "governance",
            "price = 0.5\nliquidity = { curve = \"constant_product\", base = 1.0e6, quote = 5.0e5, fee = 0.0 }",
        )
        .build();
    Market::new(&s)
}

#[test]
fn buys_and_sales_cross_then_the_net_buys_through_the_curve() {
    let mut m = market();
    let p = m.prices();
    assert_eq!(p, vec![0.5]);
    // Sell 4e4, buy 1e5: 4e4 cross at 0.5 (2e4 USD each way); the net 6e4 is bought on the curve:
    // cost 5e5·6e4/(1e6 − 6e4) = 31_914.893…, price after (5e5 + cost)/9.4e5.
    let sales = [SaleOrder {
        asset: 0,
        quantity: 4e4,
        wanted: None,
    }];
    let buys = [BuyOrder {
        asset: 0,
        quantity: 1e5,
    }];
    let (s, b) = m.execute_orders(&sales, &buys, &p);
    let curve_cost = 5e5 * 6e4 / 9.4e5;
    assert_eq!(s.len(), 1);
    assert!((s[0].proceeds_usd - 2e4).abs() < 1e-9);
    assert_eq!(s[0].slippage_usd, 0.0);
    assert!((b[0].quantity - 1e5).abs() < 1e-9);
    assert!((b[0].cost_usd - (2e4 + curve_cost)).abs() < 1e-6);
    assert!((b[0].slippage_usd - (2e4 + curve_cost - 5e4)).abs() < 1e-6);
    let after = (5e5 + curve_cost) / 9.4e5;
    assert!((b[0].price_after - after).abs() < 1e-12);
    assert!((m.prices()[0] - after).abs() < 1e-12);
    // Buy slippage quoted at the new state: cost of 1e4 minus 1e4 at the marginal price.
    let (base, quote) = (9.4e5, 5e5 + curve_cost);
    let want = quote * 1e4 / (base - 1e4) - 1e4 * quote / base;
    assert!((m.buy_slippage_usd(0, 1e4, &m.prices()) - want).abs() < 1e-6);
}

#[test]
fn net_sale_pays_buyers_the_pre_trade_price_and_recovery_works_from_above() {
    let mut m = market();
    let p = m.prices();
    // Sell 1e5, buy 2.5e4: buyers pay 2.5e4·0.5; 7.5e4 sold on the curve for 5e5·7.5e4/1.075e6.
    let (s, b) = m.execute_orders(
        &[SaleOrder {
            asset: 0,
            quantity: 1e5,
            wanted: None,
        }],
        &[BuyOrder {
            asset: 0,
            quantity: 2.5e4,
        }],
        &p,
    );
    assert!((b[0].cost_usd - 12_500.0).abs() < 1e-9);
    assert_eq!(b[0].slippage_usd, 0.0);
    let out = 5e5 * 7.5e4 / 1.075e6;
    assert!((s[0].proceeds_usd - (12_500.0 + out)).abs() < 1e-6);
    // A pure buy lifts the price; recovering half the gap moves it half-way back to 0.5.
    let mut m = market();
    m.execute_orders(
        &[],
        &[BuyOrder {
            asset: 0,
            quantity: 1e5,
        }],
        &p,
    );
    let up = m.prices()[0];
    assert!((up - 5e5 / 9e5 / 0.9).abs() < 1e-12, "{up}"); // quote 5e5/0.9, base 9e5
    m.recover(0.5);
    assert!((m.prices()[0] - (up + 0.5 * (0.5 - up))).abs() < 1e-12);
}
