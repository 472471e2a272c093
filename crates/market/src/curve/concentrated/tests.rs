use super::*;
use proptest::prelude::*;

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

fn curve(sqrt_price: f64, fee: f64, bounds: &[f64], liquidity: &[f64]) -> Concentrated {
    Concentrated::new(sqrt_price, fee, bounds, liquidity).unwrap()
}

/// L = 100 on sqrt prices [1, 2], 50 on [2, 3].
fn two_ranges(sqrt_price: f64, fee: f64) -> Concentrated {
    curve(sqrt_price, fee, &[1.0, 2.0, 3.0], &[100.0, 50.0])
}

#[test]
fn one_wide_range_is_the_constant_product() {
    // L = 1000 at s = 2 (price 4): base = L/s = 500, quote = L·s = 2000, fee 0.3%. The range
    // [1e-6, 1e6] in sqrt price is never reached by these trades.
    let (l, s, fee) = (1000.0, 2.0, 0.003);
    let c = curve(s, fee, &[1e-6, 1e6], &[l]);
    let (base, quote) = (l / s, l * s);
    for q in [1e-9, 1e-3, 1.0, 37.5, 499.0, 1e4] {
        let q_in = q * (1.0 - fee);
        let out = quote * q_in / (base + q_in);
        assert!(
            rel_err(c.proceeds(q), out) < 1e-12,
            "{q}: {} vs {out}",
            c.proceeds(q)
        );
        let mut sold = c.clone();
        sold.sell(q);
        let price = (quote - out) / (base + q_in); // the fee does not join the balances
        assert!(rel_err(sold.spot_price(), price) < 1e-12, "{q}");
        if q < base {
            let cost = quote * q / ((base - q) * (1.0 - fee));
            assert!(rel_err(c.buy_cost(q), cost) < 1e-12, "{q}");
            let u = cost * (1.0 - fee);
            assert!(rel_err(c.tokens_for_budget(cost), base * u / (quote + u)) < 1e-12);
        }
    }
}

#[test]
fn two_range_sale_by_hand() {
    // L = 100 on [1, 2], 50 on [2, 3]; s = 2.5 (price 6.25), no fee; sell 10.
    //   upper range from 2.5 down to 2: base in 50·(1/2 − 1/2.5) = 50·0.1 = 5,
    //                                    quote out 50·(2.5 − 2) = 25;
    //   lower range, 10 − 5 = 5 left:    1/s' = 1/2 + 5/100 = 0.55, s' = 1/0.55 = 20/11,
    //                                    quote out 100·(2 − 20/11) = 200/11;
    //   total 25 + 200/11 = 475/11 ≈ 43.18; price after (20/11)² = 400/121.
    let mut c = two_ranges(2.5, 0.0);
    assert!(rel_err(c.proceeds(10.0), 475.0 / 11.0) < 1e-12);
    assert!(rel_err(c.sell(10.0), 475.0 / 11.0) < 1e-12);
    assert!(rel_err(c.spot_price(), 400.0 / 121.0) < 1e-12);
    // The same with a 20% fee on 12.5: 12.5·0.8 = 10 goes in.
    let mut c = two_ranges(2.5, 0.2);
    assert!(rel_err(c.sell(12.5), 475.0 / 11.0) < 1e-12);
    assert!(rel_err(c.sqrt_price(), 20.0 / 11.0) < 1e-12);
}

#[test]
fn two_range_buy_by_hand() {
    // L = 100 on [1, 2], 50 on [2, 3]; s = 1.5, buy 20.
    //   lower range from 1.5 up to 2: base out 100·(1/1.5 − 1/2) = 100/6 = 50/3,
    //                                 quote in 100·(2 − 1.5) = 50;
    //   upper range, 20 − 50/3 = 10/3 left: 1/s' = 1/2 − (10/3)/50 = 1/2 − 1/15 = 13/30,
    //                                 s' = 30/13, quote in 50·(30/13 − 2) = 200/13;
    //   net 50 + 200/13 = 850/13 ≈ 65.38; with a 25% fee the buyer pays (850/13)/0.75.
    let mut c = two_ranges(1.5, 0.0);
    assert!(rel_err(c.buy_cost(20.0), 850.0 / 13.0) < 1e-12);
    assert!(rel_err(c.buy(20.0), 850.0 / 13.0) < 1e-12);
    assert!(rel_err(c.sqrt_price(), 30.0 / 13.0) < 1e-12);
    let c = two_ranges(1.5, 0.25);
    assert!(rel_err(c.buy_cost(20.0), 850.0 / 13.0 / 0.75) < 1e-12);
}

#[test]
fn empty_ranges_are_crossed_at_no_output() {
    // L = 100 on [1, 2], 0 on [2, 3], 50 on [3, 4]; s = 3.5, no fee; sell 10.
    //   top range from 3.5 to 3: base 50·(1/3 − 1/3.5) = 50/21, quote 50·(3.5 − 3) = 25;
    //   the empty range [2, 3]: the price jumps from 3 to 2, nothing paid;
    //   bottom range, 10 − 50/21 = 160/21 left: 1/s' = 1/2 + (160/21)/100 = 121/210,
    //                 s' = 210/121, quote 100·(2 − 210/121) = 3200/121;
    //   total 25 + 3200/121 = 6225/121.
    let c = curve(3.5, 0.0, &[1.0, 2.0, 3.0, 4.0], &[100.0, 0.0, 50.0]);
    let mut sold = c.clone();
    assert!(rel_err(sold.sell(10.0), 6225.0 / 121.0) < 1e-12);
    assert!(rel_err(sold.sqrt_price(), 210.0 / 121.0) < 1e-12);
    // Buying back: up the bottom range to 2, through the gap for free, then 50/21 on the top range.
    assert!(rel_err(sold.buy(10.0), 6225.0 / 121.0) < 1e-12);
    assert!(rel_err(sold.sqrt_price(), 3.5) < 1e-12);
    // From inside the gap a sale first falls to 2: selling 100·(1/1.6 − 1/2) = 12.5 pays
    // 100·(2 − 1.6) = 40.
    let gap = curve(2.5, 0.0, &[1.0, 2.0, 3.0, 4.0], &[100.0, 0.0, 50.0]);
    assert!(rel_err(gap.proceeds(12.5), 40.0) < 1e-12);
    // And a buy first rises to 3: buying 50·(1/3 − 1/3.5) = 50/21 costs 25.
    assert!(rel_err(gap.buy_cost(50.0 / 21.0), 25.0) < 1e-12);
}

#[test]
fn outside_the_ranges() {
    // Above the top boundary a sale falls to it for free; a buy is impossible.
    // From s = 5, 5 base: the price falls to 3, then on L = 50: 1/s' = 1/3 + 5/50 = 13/30,
    // s' = 30/13, out 50·(3 − 30/13) = 450/13.
    let mut above = two_ranges(5.0, 0.0);
    assert!(rel_err(above.sell(5.0), 450.0 / 13.0) < 1e-12);
    assert!(rel_err(above.sqrt_price(), 30.0 / 13.0) < 1e-12);
    let above = two_ranges(5.0, 0.0);
    assert_eq!(above.buy_cost(1e-9), f64::INFINITY);
    assert_eq!(above.max_buy_tokens(), 0.0);
    assert_eq!(above.tokens_for_budget(100.0), 0.0);
    // Below the bottom boundary nothing can be sold; a buy rises to it for free.
    let below = two_ranges(0.5, 0.0);
    assert_eq!(below.proceeds(10.0), 0.0);
    assert_eq!(below.max_sell_tokens(), 0.0);
    // 100·(1 − 1/2) = 50 tokens on [1, 2] cost 100·(2 − 1) = 100.
    assert!(rel_err(below.buy_cost(50.0), 100.0) < 1e-12);
}

#[test]
fn selling_past_all_liquidity() {
    // From s = 2.5: the quote below is 50·(2.5 − 2) + 100·(2 − 1) = 125, the base it takes
    // 50·(1/2 − 1/2.5) + 100·(1 − 1/2) = 5 + 50 = 55.
    let mut c = two_ranges(2.5, 0.0);
    assert!(rel_err(c.max_sell_tokens(), 55.0) < 1e-12);
    assert!(rel_err(c.proceeds(55.0), 125.0) < 1e-12);
    for q in [56.0, 1e6, 1e300, f64::MAX] {
        let out = c.proceeds(q);
        assert!(
            out <= 125.0 * (1.0 + 1e-12) && rel_err(out, 125.0) < 1e-12,
            "{q}: {out}"
        );
    }
    assert!(rel_err(c.sell(1e9), 125.0) < 1e-12);
    assert_eq!(c.sqrt_price(), 1.0); // at the end of the lowest range
    assert_eq!(c.sell(1.0), 0.0);
    assert_eq!(c.sqrt_price(), 1.0);
    // With empty ranges below the liquidity the price stops where the liquidity ends.
    let mut c = curve(
        3.5,
        0.0,
        &[0.5, 1.0, 2.0, 3.0, 4.0],
        &[0.0, 100.0, 0.0, 50.0],
    );
    c.sell(1e9);
    assert_eq!(c.sqrt_price(), 1.0);
}

#[test]
fn buying_past_all_liquidity() {
    // From s = 2.5 the ranges above hold 50·(1/2.5 − 1/3) = 10/3 tokens, for 50·(3 − 2.5) = 25.
    let mut c = two_ranges(2.5, 0.0);
    assert!(rel_err(c.max_buy_tokens(), 10.0 / 3.0) < 1e-12);
    assert!(rel_err(c.buy_cost(c.max_buy_tokens()), 25.0) < 1e-12);
    for q in [3.34, 1e6, f64::MAX] {
        assert_eq!(c.buy_cost(q), f64::INFINITY);
        assert_eq!(c.buy(q), f64::INFINITY);
        assert_eq!(c.sqrt_price(), 2.5);
    }
    // A budget beyond the 25 buys everything above.
    assert!(rel_err(c.tokens_for_budget(1e9), 10.0 / 3.0) < 1e-12);
    assert!(rel_err(c.spend(1e9), 10.0 / 3.0) < 1e-12);
    assert_eq!(c.sqrt_price(), 3.0);
    assert_eq!(c.buy_cost(1e-9), f64::INFINITY);
}

#[test]
fn budget_inverts_the_buy_by_hand() {
    // The buy of two_range_buy_by_hand: 850/13 of quote buy 20 tokens; with a 25% fee it takes
    // (850/13)/0.75.
    let c = two_ranges(1.5, 0.0);
    assert!(rel_err(c.tokens_for_budget(850.0 / 13.0), 20.0) < 1e-12);
    let c = two_ranges(1.5, 0.25);
    assert!(rel_err(c.tokens_for_budget(850.0 / 13.0 / 0.75), 20.0) < 1e-12);
    let mut spent = c.clone();
    assert!(rel_err(spent.spend(850.0 / 13.0 / 0.75), 20.0) < 1e-12);
    assert!(rel_err(spent.sqrt_price(), 30.0 / 13.0) < 1e-12);
}

#[test]
fn round_trips() {
    for fee in [0.0, 0.003, 0.3] {
        for q in [1e-6, 1.0, 10.0, 20.0] {
            // Buy then sell: never more back than paid.
            let mut c = two_ranges(1.5, fee);
            let paid = c.buy(q);
            let back = c.sell(q);
            assert!(back <= paid * (1.0 + 1e-12), "{fee} {q}: {back} > {paid}");
            if fee == 0.0 {
                assert!(rel_err(back, paid) < 1e-12);
                assert!(rel_err(c.sqrt_price(), 1.5) < 1e-12);
            }
            // Sell then buy.
            let mut c = two_ranges(2.7, fee);
            let got = c.sell(q);
            let cost = c.buy(q);
            assert!(cost >= got * (1.0 - 1e-12), "{fee} {q}: {cost} < {got}");
            if fee == 0.0 {
                assert!(rel_err(c.sqrt_price(), 2.7) < 1e-12, "{q}");
            }
        }
    }
}

#[test]
fn totality() {
    let c = two_ranges(2.5, 0.01);
    for q in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut m = c.clone();
        assert_eq!(m.proceeds(q), 0.0);
        assert_eq!(m.buy_cost(q), 0.0);
        assert_eq!(m.tokens_for_budget(q), 0.0);
        assert_eq!(m.sell(q), 0.0);
        assert_eq!(m.buy(q), 0.0);
        assert_eq!(m.spend(q), 0.0);
        assert_eq!(m, c);
        m.anchor(q);
        m.move_to_price(q);
        m.scale_depth(q);
        assert_eq!(m, c);
    }
    // Tiny and huge quantities stay finite.
    for q in [f64::MIN_POSITIVE, 5e-324, 1e-300, 1e300, f64::MAX] {
        let out = c.proceeds(q);
        assert!(out.is_finite() && out >= 0.0, "{q}: {out}");
        let cost = c.buy_cost(q);
        assert!(cost >= 0.0, "{q}: {cost}");
        let tokens = c.tokens_for_budget(q);
        assert!(tokens.is_finite() && tokens >= 0.0, "{q}: {tokens}");
    }
    // A depth multiplier that would overflow the virtual balances changes nothing.
    let mut m = c.clone();
    m.scale_depth(1e307);
    assert_eq!(m, c);
    // A curve with no liquidity at all sells nothing and buys nothing.
    let empty = curve(2.0, 0.0, &[1.0, 4.0], &[0.0]);
    assert_eq!(empty.proceeds(1.0), 0.0);
    assert_eq!(empty.buy_cost(1.0), f64::INFINITY);
    assert_eq!(empty.tokens_for_budget(1.0), 0.0);
}

#[test]
fn anchor_keeps_the_profile_in_price_space() {
    let mut c = two_ranges(2.5, 0.0);
    c.anchor(2.25); // s = 1.5
    assert_eq!(c.sqrt_price(), 1.5);
    assert_eq!(c.bounds(), &[1.0, 2.0, 3.0]);
    assert!(rel_err(c.buy_cost(20.0), 850.0 / 13.0) < 1e-12);
    c.move_to_price(6.25);
    assert_eq!(c.sqrt_price(), 2.5);
    assert!(rel_err(c.proceeds(10.0), 475.0 / 11.0) < 1e-12);
}

#[test]
fn scale_depth_multiplies_every_liquidity() {
    // Twice the liquidity: the same price moves need twice the base and pay twice the quote.
    let mut c = two_ranges(2.5, 0.0);
    c.scale_depth(2.0);
    assert_eq!(c.liquidity(), &[200.0, 100.0]);
    assert!(rel_err(c.proceeds(20.0), 2.0 * 475.0 / 11.0) < 1e-12);
}

#[test]
fn constructor_errors() {
    use ConcentratedError as E;
    let ok = |b: &[f64], l: &[f64]| Concentrated::new(1.0, 0.0, b, l);
    assert_eq!(
        Concentrated::new(0.0, 0.0, &[1.0, 2.0], &[1.0]),
        Err(E::SqrtPrice(0.0))
    );
    assert_eq!(
        Concentrated::new(1e200, 0.0, &[1.0, 2.0], &[1.0]),
        Err(E::SqrtPrice(1e200))
    );
    assert!(matches!(
        Concentrated::new(f64::NAN, 0.0, &[1.0, 2.0], &[1.0]),
        Err(E::SqrtPrice(_))
    ));
    assert_eq!(
        Concentrated::new(1.0, 1.0, &[1.0, 2.0], &[1.0]),
        Err(E::Fee(1.0))
    );
    assert_eq!(
        Concentrated::new(1.0, -0.1, &[1.0, 2.0], &[1.0]),
        Err(E::Fee(-0.1))
    );
    assert_eq!(
        ok(&[1.0], &[]),
        Err(E::Shape {
            bounds: 1,
            ranges: 0
        })
    );
    assert_eq!(
        ok(&[1.0, 2.0], &[1.0, 1.0]),
        Err(E::Shape {
            bounds: 2,
            ranges: 2
        })
    );
    assert_eq!(
        ok(&[0.0, 2.0], &[1.0]),
        Err(E::Boundary {
            index: 0,
            value: 0.0,
            previous: 0.0
        })
    );
    assert_eq!(
        ok(&[1.0, 1.0], &[1.0]),
        Err(E::Boundary {
            index: 1,
            value: 1.0,
            previous: 1.0
        })
    );
    assert!(matches!(
        ok(&[1.0, f64::INFINITY], &[1.0]),
        Err(E::Boundary { index: 1, .. })
    ));
    assert_eq!(
        ok(&[1.0, 2.0], &[-1.0]),
        Err(E::Liquidity {
            index: 0,
            value: -1.0
        })
    );
    assert!(matches!(
        ok(&[1.0, 2.0], &[f64::NAN]),
        Err(E::Liquidity { index: 0, .. })
    ));
    assert_eq!(ok(&[1e-300, 2.0], &[1e300]), Err(E::Overflow));
    assert_eq!(
        Concentrated::from_positions(1.0, 0.0, &[]),
        Err(E::NoPositions)
    );
    assert_eq!(
        Concentrated::from_positions(1.0, 0.0, &[(1.0, 2.0, 1.0), (3.0, 2.0, 1.0)]),
        Err(E::Position {
            index: 1,
            lower: 3.0,
            upper: 2.0,
            liquidity: 1.0
        })
    );
    // The messages say what was found and what was expected.
    let msg = ok(&[1.0, 2.0], &[-1.0]).unwrap_err().to_string();
    assert_eq!(msg, "liquidity 0 = -1, expected a finite number >= 0");
}

#[test]
fn positions_sum_where_they_overlap() {
    // 10 on [1, 3], 5 on [2, 4], 7 on [5, 6] (a gap [4, 5]), 0 on [1, 6], and 2 on [1, 3] again.
    let c = Concentrated::from_positions(
        2.5,
        0.0,
        &[
            (1.0, 3.0, 10.0),
            (2.0, 4.0, 5.0),
            (5.0, 6.0, 7.0),
            (1.0, 6.0, 0.0),
            (1.0, 3.0, 2.0),
        ],
    )
    .unwrap();
    assert_eq!(c.bounds(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(c.liquidity(), &[12.0, 17.0, 5.0, 0.0, 7.0]);
    // Rounding in the running sum never leaves a residue on an uncovered range.
    let c = Concentrated::from_positions(
        1.0,
        0.0,
        &[(1.0, 2.0, 0.1), (1.0, 2.0, 0.2), (3.0, 4.0, 0.7)],
    )
    .unwrap();
    assert_eq!(c.liquidity()[1], 0.0);
}

mod uniswap {
    use super::*;

    /// The raw sqrt price at tick `t`, as the v3 whitepaper defines it.
    fn sqrt_at(t: i32) -> f64 {
        1.0001f64.powf(f64::from(t) / 2.0)
    }

    /// token0 = USDC (6 decimals), token1 = WETH (18 decimals), WETH at 2000 USDC, fee 0.05%.
    /// Raw price of token0 in token1 = (1/2000)·10^(18 − 6) = 5e8, and
    /// ln(5e8)/ln(1.0001) = 200311.2…, so the current tick is 200311. One position of
    /// L = 2e18 raw on ticks [tick − 6000, tick + 6000].
    const TICK: i32 = 200_311;
    const L_RAW: u128 = 2_000_000_000_000_000_000;
    const TICKS: [(i32, i128); 2] = [
        (TICK + 6000, -(L_RAW as i128)),
        (TICK - 6000, L_RAW as i128),
    ];

    fn usdc_weth(base: PoolToken) -> UniswapV3Pool<'static> {
        UniswapV3Pool {
            sqrt_price_x96: 5e8f64.sqrt() * 2f64.powi(96),
            tick: TICK,
            liquidity: L_RAW,
            ticks: &TICKS,
            decimals0: 6,
            decimals1: 18,
            fee_pips: 500,
            base,
        }
    }

    #[test]
    fn token1_as_base_sells_as_the_pool_does() {
        let weth = Concentrated::from_uniswap_v3(&usdc_weth(PoolToken::Token1)).unwrap();
        let usdc = Concentrated::from_uniswap_v3(&usdc_weth(PoolToken::Token0)).unwrap();
        assert!(rel_err(weth.spot_price(), 2000.0) < 1e-12);
        assert!(rel_err(usdc.spot_price(), 1.0 / 2000.0) < 1e-12);
        assert!(rel_err(weth.spot_price() * usdc.spot_price(), 1.0) < 1e-12);
        // L in human units: 2e18 / 10^((6 + 18)/2) = 2e6, in both orientations.
        assert!(rel_err(weth.liquidity()[0], 2e6) < 1e-15);
        assert!(rel_err(usdc.liquidity()[0], 2e6) < 1e-15);
        // WETH's sqrt price range is the reciprocal of USDC's, reversed.
        assert!(rel_err(weth.bounds()[0], 1.0 / usdc.bounds()[1]) < 1e-15);
        assert!(rel_err(weth.bounds()[1], 1.0 / usdc.bounds()[0]) < 1e-15);

        // Selling 1000 WETH, in raw units as the pool's SwapMath does (one for zero: token1 in,
        // the raw sqrt price rises by amount/L; token0 out is L·(1/√P − 1/√P')), then USDC's
        // 6 decimals.
        let sqrt_p = 5e8f64.sqrt();
        let l = L_RAW as f64;
        let amount_in = 1000.0 * 1e18 * (1.0 - 0.0005);
        let sqrt_after = sqrt_p + amount_in / l;
        let usdc_out = l * (1.0 / sqrt_p - 1.0 / sqrt_after) / 1e6;
        assert!(sqrt_after < sqrt_at(TICK + 6000)); // within the position
        assert!(rel_err(weth.proceeds(1000.0), usdc_out) < 1e-10);
        let mut sold = weth.clone();
        sold.sell(1000.0);
        // WETH's price after: the reciprocal of the raw price, decimals applied.
        let price_after = 1.0 / (sqrt_after * sqrt_after * 1e-12);
        assert!(rel_err(sold.spot_price(), price_after) < 1e-10);

        // Selling 1e6 USDC (zero for one: 1/√P rises by amount/L; token1 out is L·(√P − √P')).
        let amount_in = 1e6 * 1e6 * (1.0 - 0.0005);
        let sqrt_after = 1.0 / (1.0 / sqrt_p + amount_in / l);
        let weth_out = l * (sqrt_p - sqrt_after) / 1e18;
        assert!(sqrt_after > sqrt_at(TICK - 6000));
        assert!(rel_err(usdc.proceeds(1e6), weth_out) < 1e-10);
    }

    #[test]
    fn liquidity_net_is_crossed_in_both_orientations() {
        // Two 18-decimal tokens, current tick 100. Position A: ticks [-1200, 600], L = 3e20 raw;
        // position B: [-600, 1200], 1e20. Active at tick 100: both, 4e20. liquidityNet: +3e20 at
        // -1200, +1e20 at -600, -3e20 at 600, -1e20 at 1200. In human units (/1e18):
        //   token0 base: sqrt bounds 1.0001^(t/2) at t = -1200, -600, 600, 1200; L 300, 400, 100;
        //   token1 base: 1.0001^(-t/2), reversed: t/2 = -600, -300, 300, 600; L 100, 400, 300.
        let ticks = [
            (600, -300_000_000_000_000_000_000),
            (-1200, 300_000_000_000_000_000_000),
            (1200, -100_000_000_000_000_000_000),
            (-600, 100_000_000_000_000_000_000),
        ];
        let pool = |base| UniswapV3Pool {
            sqrt_price_x96: sqrt_at(100) * 2f64.powi(96),
            tick: 100,
            liquidity: 400_000_000_000_000_000_000,
            ticks: &ticks,
            decimals0: 18,
            decimals1: 18,
            fee_pips: 3000,
            base,
        };
        let t0 = Concentrated::from_uniswap_v3(&pool(PoolToken::Token0)).unwrap();
        let t1 = Concentrated::from_uniswap_v3(&pool(PoolToken::Token1)).unwrap();
        let root = |e: f64| 1.0001f64.powf(e);
        for (b, e) in t0.bounds().iter().zip([-600.0, -300.0, 300.0, 600.0]) {
            assert!(rel_err(*b, root(e)) < 1e-13);
        }
        for (b, e) in t1.bounds().iter().zip([-600.0, -300.0, 300.0, 600.0]) {
            assert!(rel_err(*b, root(e)) < 1e-13);
        }
        assert_eq!(t0.liquidity(), &[300.0, 400.0, 100.0]);
        assert_eq!(t1.liquidity(), &[100.0, 400.0, 300.0]);
        assert!(rel_err(t0.spot_price(), root(100.0)) < 1e-13);
        assert!(rel_err(t1.spot_price(), root(-100.0)) < 1e-13);
        assert_eq!(t1.fee(), 0.003);
        // A window of ticks around the current one (-600 and 600 only) keeps the depth inside it:
        // 4e20 raw; the 3e20 below -600 and the 1e20 above 600 are left out.
        let window = Concentrated::from_uniswap_v3(&UniswapV3Pool {
            ticks: &[ticks[0], ticks[3]],
            ..pool(PoolToken::Token0)
        })
        .unwrap();
        assert_eq!(window.liquidity(), &[400.0]);
    }

    #[test]
    fn uniswap_errors() {
        use ConcentratedError as E;
        let pool = usdc_weth(PoolToken::Token1);
        let with = |f: &dyn Fn(&mut UniswapV3Pool<'static>)| {
            let mut p = pool;
            f(&mut p);
            Concentrated::from_uniswap_v3(&p)
        };
        assert_eq!(
            with(&|p| p.fee_pips = 1_000_000),
            Err(E::FeePips(1_000_000))
        );
        assert_eq!(with(&|p| p.sqrt_price_x96 = 0.0), Err(E::SqrtPriceX96(0.0)));
        assert!(matches!(
            with(&|p| p.tick = TICK + 1),
            Err(E::TickMismatch { tick, .. }) if tick == TICK + 1
        ));
        assert_eq!(with(&|p| p.tick = 900_000), Err(E::TickOutOfRange(900_000)));
        assert_eq!(with(&|p| p.ticks = &[(0, 0)]), Err(E::TooFewTicks(1)));
        assert_eq!(
            with(&|p| p.ticks = &[(0, 5), (0, -5)]),
            Err(E::DuplicateTick(0))
        );
        assert_eq!(
            with(&|p| p.ticks = &[(-887_273, 5), (0, -5)]),
            Err(E::TickOutOfRange(-887_273))
        );
        // The current tick above every initialized tick, with active liquidity.
        assert_eq!(
            with(&|p| p.ticks = &[(0, 5), (100, -5)]),
            Err(E::ActiveOutside {
                tick: TICK,
                first: 0,
                last: 100,
                liquidity: L_RAW
            })
        );
        // liquidityNet that takes the range above below zero: L_RAW − 3·L_RAW.
        const OVERDRAWN: [(i32, i128); 2] = [(TICK - 10, 0), (TICK + 10, -3 * L_RAW as i128)];
        assert_eq!(
            with(&|p| p.ticks = &OVERDRAWN),
            Err(E::NegativeLiquidity {
                lower: TICK + 10,
                upper: MAX_TICK,
                liquidity: -2 * L_RAW as i128
            })
        );
        assert_eq!(
            with(&|p| p.liquidity = u128::MAX),
            Err(E::LiquidityOverflow)
        );
        // No active liquidity with the tick outside the initialized ones is an ordinary pool.
        let outside = with(&|p| {
            p.liquidity = 0;
            p.ticks = &[(0, 5), (100, -5)];
        })
        .unwrap();
        // Ticks 0..100 put the range near 1e12 USDC per WETH, far above 2000: nothing below to
        // sell into.
        assert_eq!(outside.proceeds(1.0), 0.0);
    }

    #[test]
    fn sqrt_price_x96_text() {
        assert_eq!(
            parse_sqrt_price_x96("79228162514264337593543950336"),
            Ok(2f64.powi(96))
        );
        // A uint160 of the size a USDC/WETH pool has near 2000 USDC per WETH (√5e8·2^96).
        let x = parse_sqrt_price_x96(" 1771595571142957102961017161607260 ").unwrap();
        assert!(rel_err(x, 1.771_595_571_142_957e33) < 1e-15);
        for bad in ["", "-1", "1e30", "0x10", "12a", "NaN", "inf"] {
            assert_eq!(
                parse_sqrt_price_x96(bad),
                Err(ConcentratedError::NotAnInteger(bad.to_string()))
            );
        }
    }
}

/// Where a random curve's sqrt price is.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// Anywhere from half the bottom boundary to twice the top one (log-uniform).
    Anywhere,
    /// Strictly inside a range with liquidity.
    InLiquidity,
}

/// A random profile: 1 to 5 ranges, each 0.1% to 3× wide in sqrt price, a quarter of them empty
/// (but at least one not), the others with L from 1 to 1e6; the sqrt price placed as `start` says;
/// fee 0 or up to 1%.
fn any_concentrated(start: Start) -> impl Strategy<Value = Concentrated> {
    (1usize..6)
        .prop_flat_map(|n| {
            (
                0.1..10.0f64,
                prop::collection::vec(1.001..3.0f64, n),
                prop::collection::vec(
                    prop_oneof![1 => Just(0.0), 3 => (0.0..6.0f64).prop_map(|e| 10f64.powf(e))],
                    n,
                ),
                0.0..1.0f64,
                0..n,
                prop_oneof![Just(0.0), 0.0..0.01f64],
            )
        })
        .prop_map(move |(b0, widths, mut liquidity, at, pick, fee)| {
            let mut bounds = vec![b0];
            for w in widths {
                bounds.push(bounds[bounds.len() - 1] * w);
            }
            if liquidity.iter().all(|&l| l == 0.0) {
                liquidity[pick] = 1.0;
            }
            let (lo, hi) = match start {
                Start::Anywhere => (0.5 * b0, 2.0 * bounds[bounds.len() - 1]),
                Start::InLiquidity => {
                    let full: Vec<usize> = (0..liquidity.len())
                        .filter(|&i| liquidity[i] > 0.0)
                        .collect();
                    let i = full[pick % full.len()];
                    (bounds[i], bounds[i + 1])
                }
            };
            let at = 0.001 + 0.998 * at; // strictly inside
            let s = (lo.ln() + at * (hi.ln() - lo.ln())).exp();
            curve(s, fee, &bounds, &liquidity)
        })
}

/// The quote in the ranges below `s`: `Σ L·(min(s, b_{i+1}) − b_i)` over the ranges with `b_i < s`,
/// the most any sale can pay.
fn quote_below(c: &Concentrated) -> f64 {
    let (b, l, s) = (c.bounds(), c.liquidity(), c.sqrt_price());
    (0..l.len())
        .filter(|&i| b[i] < s)
        .map(|i| l[i] * (s.min(b[i + 1]) - b[i]))
        .sum()
}

/// The virtual balances of all ranges, `(Σ L_i/b_i, Σ L_i·b_{i+1})` in base and quote.
///
/// The state is `s` alone, good to an ulp, so the base a range holds between `s` and a boundary is
/// known to about an ulp of its virtual balance `L/s`, and its quote to an ulp of `L·s`. Sales and
/// buys that end near a boundary of a deep range and are then undone inherit that error: these are
/// the scales of the rounding slack in the round-trip properties below.
fn virtual_balances(c: &Concentrated) -> (f64, f64) {
    let (b, l) = (c.bounds(), c.liquidity());
    let base = (0..l.len()).map(|i| l[i] / b[i]).sum();
    let quote = (0..l.len()).map(|i| l[i] * b[i + 1]).sum();
    (base, quote)
}

/// A rounding slack of a few ulps of `scale`.
fn ulps(scale: f64) -> f64 {
    16.0 * f64::EPSILON * scale
}

/// A sale size between 1e-6 and 10 times the tokens that take the price to the bottom of the
/// liquidity (or 1 when nothing can be sold).
fn sale_size(c: &Concentrated, u: f64) -> f64 {
    let depth = c.max_sell_tokens();
    let depth = if depth > 0.0 { depth } else { 1.0 };
    depth * 10f64.powf(u)
}

proptest! {
    #[test]
    fn sales_are_monotone_and_bounded(
        c in any_concentrated(Start::Anywhere), u in -6.0..1.0f64, f in 1e-6..10.0f64,
    ) {
        let (q1, spot) = (sale_size(&c, u), c.spot_price());
        let q2 = q1 * (1.0 + f);
        let (mut a, mut b) = (c.clone(), c.clone());
        let (p1, p2) = (a.sell(q1), b.sell(q2));
        prop_assert!(p1 >= 0.0 && p1.is_finite(), "{p1}");
        prop_assert!(p2 >= p1 * (1.0 - 1e-12), "{p1} > {p2}");
        prop_assert!(b.spot_price() <= a.spot_price(), "{} > {}", b.spot_price(), a.spot_price());
        prop_assert!(a.spot_price() <= spot);
        prop_assert!(p1 <= q1 * spot * (1.0 + 1e-12), "{p1} > {q1}·{spot}");
        let cap = quote_below(&c);
        prop_assert!(p2 <= cap * (1.0 + 1e-12), "{p2} > {cap}");
    }

    #[test]
    fn buys_cost_at_least_spot_value_and_round_trips_lose(
        c in any_concentrated(Start::Anywhere), u in -6.0..0.5f64,
    ) {
        // Up to 3 times what can be bought (or 1 token when nothing can).
        let depth = c.max_buy_tokens();
        let q = if depth > 0.0 { depth } else { 1.0 } * 10f64.powf(u);
        let spot = c.spot_price();
        let mut m = c.clone();
        let cost = m.buy(q);
        if cost.is_finite() {
            prop_assert!(cost >= q * spot * (1.0 - 1e-12), "{cost} < {q}·{spot}");
            prop_assert!(m.spot_price() >= spot);
            let top = m.spot_price();
            let back = m.sell(q);
            let (base, quote) = virtual_balances(&c);
            let slack = ulps(quote) + ulps(base) * top;
            prop_assert!(back <= cost * (1.0 + 1e-12) + slack, "{back} > {cost} + {slack}");
        } else {
            prop_assert!(q > depth * (1.0 - 1e-9), "{q} ≤ {depth} but {cost}");
            prop_assert_eq!(m, c);
        }
    }

    #[test]
    fn budget_inverts_the_buy(c in any_concentrated(Start::InLiquidity), u in -6.0..0.0f64) {
        let depth = c.max_buy_tokens();
        let q = depth * 10f64.powf(u);
        let cost = c.buy_cost(q);
        prop_assert!(cost.is_finite(), "{q} of {depth}: {cost}");
        let tokens = c.tokens_for_budget(cost);
        prop_assert!(rel_err(tokens, q) < 1e-9, "{tokens} vs {q}");
        let (mut spent, mut bought) = (c.clone(), c.clone());
        prop_assert!(rel_err(spent.spend(cost), q) < 1e-9);
        bought.buy(q);
        // Both end where the same tokens are left above (compared in tokens: see virtual_balances).
        let (left_spent, left_bought) = (spent.max_buy_tokens(), bought.max_buy_tokens());
        let slack = 1e-9 * q + ulps(virtual_balances(&c).0);
        prop_assert!(
            (left_spent - left_bought).abs() <= slack,
            "{left_spent} vs {left_bought} (slack {slack})",
        );
    }

    #[test]
    fn sell_then_buy_without_fee_restores_the_price(
        c in any_concentrated(Start::InLiquidity), u in -6.0..0.0f64,
    ) {
        // From inside a range with liquidity (from an empty range a sale jumps, and the buy back
        // stops where the liquidity ends), and no further than the liquidity below reaches.
        let (b, l, s) = (c.bounds(), c.liquidity(), c.sqrt_price());
        let here = (0..l.len()).find(|&i| b[i] < s && s < b[i + 1]).unwrap();
        let nofee = curve(s, 0.0, b, l);
        let q = nofee.max_sell_tokens() * 0.99 * 10f64.powf(u);
        let mut m = nofee.clone();
        let got = m.sell(q);
        let paid = m.buy(q);
        // What is left of q when the buy back reaches the starting range carries an error of a
        // few ulps of the deeper ranges' virtual base; there it moves s by (that error)·s/L, which
        // is large when a thin range sits above deep ones.
        let tolerance = 1e-12 + ulps(virtual_balances(&c).0) * s / l[here];
        prop_assert!(
            rel_err(m.sqrt_price(), s) < tolerance,
            "{} vs {s} (tolerance {tolerance})", m.sqrt_price(),
        );
        // Tokens wrong by that error, bought back at up to the starting price s².
        let (base, quote) = virtual_balances(&c);
        let slack = 1e-9 * got + ulps(quote) + ulps(base) * s * s;
        prop_assert!((paid - got).abs() <= slack, "{paid} vs {got} (slack {slack})");
    }
}
