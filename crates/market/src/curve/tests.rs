use super::*;
use proptest::prelude::*;

fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}

fn cp(base: f64, quote: f64, fee: f64) -> Curve {
    Curve::ConstantProduct(PoolDepth { base, quote, fee })
}

fn ss(amplification: f64, base: f64, quote: f64, fee: f64) -> Curve {
    Curve::StableSwap {
        amplification,
        depth: PoolDepth { base, quote, fee },
    }
}

fn pl(adv: f64, k: f64, alpha: f64, p_ref: f64, sold: f64) -> Curve {
    Curve::PowerLaw {
        adv,
        k,
        alpha,
        p_ref,
        sold,
    }
}

/// `D` of a stableswap curve in real units.
fn ss_d(c: &Curve) -> f64 {
    match *c {
        Curve::StableSwap {
            amplification,
            depth: PoolDepth { base, quote, .. },
        } => {
            let p = Pool::new(amplification, base, quote).unwrap();
            p.d * p.scale
        }
        _ => unreachable!(),
    }
}

/// The invariant's two sides, `Ann·(x+y) + D` and `Ann·D + D³/(4xy)`.
fn ss_sides(a: f64, x: f64, y: f64, d: f64) -> (f64, f64) {
    let ann = 4.0 * a;
    (ann * (x + y) + d, ann * d + d * d * d / (4.0 * x * y))
}

#[test]
fn from_spec_copies_parameters() {
    let c = Curve::from_spec(&CurveSpec::ConstantProduct(PoolDepth {
        base: 1.0,
        quote: 2.0,
        fee: 0.003,
    }));
    assert_eq!(c, cp(1.0, 2.0, 0.003));
    let c = Curve::from_spec(&CurveSpec::StableSwap {
        amplification: 50.0,
        depth: PoolDepth {
            base: 3.0,
            quote: 4.0,
            fee: 0.0004,
        },
    });
    assert_eq!(c, ss(50.0, 3.0, 4.0, 0.0004));
    let c = Curve::from_spec(&CurveSpec::PowerLaw {
        adv_usd: 1e8,
        k: 1.0,
        alpha: 0.5,
    });
    assert_eq!(c, pl(1e8, 1.0, 0.5, 1.0, 0.0));
}

#[test]
fn constant_product_sale_by_hand() {
    // base 1000, quote 2e6, fee 0.3%, sell 10:
    //   q(1−fee) = 10·0.997 = 9.97
    //   out = 2e6·9.97/(1000 + 9.97) = 19_940_000/1009.97
    //   1009.97·19_743 = 20_199_400 − 1009.97·257 = 20_199_400 − 259_562.29 = 19_939_837.71
    //   remainder 162.29/1009.97 = 0.160688… → out = 19_743.160688…
    //   base' = 1010, quote' = 2e6 − 19_743.160688 = 1_980_256.839312
    //   spot' = 1_980_256.839312/1010 = 1960.650336…
    let mut c = cp(1000.0, 2e6, 0.003);
    assert_eq!(c.spot_price(), 2000.0);
    assert!((c.proceeds(10.0) - 19_743.160_688).abs() < 1e-5);
    assert!((c.slippage(10.0) - (20_000.0 - 19_743.160_688)).abs() < 1e-5);
    let out = c.sell(10.0);
    assert!((out - 19_743.160_688).abs() < 1e-5);
    let Curve::ConstantProduct(PoolDepth { base, quote, .. }) = c else {
        unreachable!()
    };
    assert_eq!(base, 1010.0);
    assert!((quote - 1_980_256.839_312).abs() < 1e-5);
    assert!((c.spot_price() - 1_960.650_336).abs() < 1e-6);
    assert!(rel_err(c.spot_price(), quote / base) < 1e-15);
}

#[test]
fn power_law_two_round_fire_sale_by_hand() {
    // adv 1e6, k 1, alpha 0.5, anchored at p_ref 100.
    let mut c = Curve::from_spec(&CurveSpec::PowerLaw {
        adv_usd: 1e6,
        k: 1.0,
        alpha: 0.5,
    });
    c.anchor(100.0);
    assert_eq!(c.spot_price(), 100.0);

    // Round 1: 1000 tokens, a = 0, b = 1000·100 = 1e5.
    //   0.1^1.5 = 0.1·sqrt(0.1) = 0.1·0.316227766017 = 0.0316227766017
    //   (1e6/1.5)·0.0316227766017 = 666_666.666667·0.0316227766017 = 21_081.851067789
    //   proceeds = 1e5 − 21_081.851068 = 78_918.148932
    //   spot = 100·(1 − 0.1^0.5) = 100·0.683772233983 = 68.3772233983
    let r1 = c.sell(1000.0);
    assert!((r1 - 78_918.148_932).abs() < 1e-5, "{r1}");
    assert!((c.spot_price() - 68.377_223_398_3).abs() < 1e-9);

    // Round 2: 1000 more, a = 1e5, b = 2e5.
    //   0.2^1.5 = 0.2·sqrt(0.2) = 0.2·0.447213595500 = 0.0894427191000
    //   0.0894427191000 − 0.0316227766017 = 0.0578199424983
    //   (1e6/1.5)·0.0578199424983 = 38_546.628332
    //   proceeds = 1e5 − 38_546.628332 = 61_453.371668
    //   spot = 100·(1 − 0.2^0.5) = 100·0.552786404500 = 55.2786404500
    let r2 = c.sell(1000.0);
    assert!((r2 - 61_453.371_668).abs() < 1e-5, "{r2}");
    assert!((c.spot_price() - 55.278_640_450_0).abs() < 1e-9);

    // Round 3 crosses the floor: v* = adv·(0.99/k)^(1/alpha) = 1e6·0.99² = 980_100.
    // Sell 10_000 tokens: a = 2e5, b = 2e5 + 1e6 = 1.2e6 > v*.
    //   (v*/adv)^1.5 = 0.9801^1.5 = 0.9801·0.99 = 0.970299
    //   above the floor: (980_100 − 200_000) − (1e6/1.5)·(0.970299 − 0.0894427191000)
    //                  = 780_100 − 666_666.666667·0.8808562809 = 780_100 − 587_237.520600
    //                  = 192_862.479400
    //   at the floor:   0.01·(1_200_000 − 980_100) = 2_199
    //   proceeds = 195_061.479400, and the price sits at the floor, 100·0.01 = 1.
    let r3 = c.sell(10_000.0);
    assert!((r3 - 195_061.479_400).abs() < 1e-5, "{r3}");
    assert_eq!(c.spot_price(), 1.0);
    // Past the floor every token pays 0.01·p_ref = 1.
    assert!((c.proceeds(500.0) - 500.0).abs() < 1e-9);
}

#[test]
fn power_law_without_impact_and_recovery() {
    // k = 0: no impact at all, 1234 tokens at 50 pay 61_700.
    let mut c = pl(1e6, 0.0, 0.5, 50.0, 0.0);
    assert_eq!(c.sell(1234.0), 61_700.0);
    assert_eq!(c.spot_price(), 50.0);

    // Recovery: p = 90 at p_ref 100 ⇔ 1 − (V/1e6)^0.5 = 0.9 ⇔ V = 1e6·0.1² = 1e4.
    let mut c = pl(1e6, 1.0, 0.5, 100.0, 2e5);
    c.move_to_price(90.0);
    assert!(rel_err(c.spot_price(), 90.0) < 1e-12);
    assert!(matches!(c, Curve::PowerLaw { sold, .. } if (sold - 1e4).abs() < 1e-6));
    // Above p_ref the state goes onto the buy side: 1 + (|V|/1e6)^0.5 = 1.5 ⇔ V = −2.5e5;
    // below the floor it clamps to v* = 980_100.
    c.move_to_price(150.0);
    assert!(rel_err(c.spot_price(), 150.0) < 1e-12);
    assert!(matches!(c, Curve::PowerLaw { sold, .. } if (sold + 2.5e5).abs() < 1e-6));
    c.move_to_price(0.1);
    assert_eq!(c.spot_price(), 1.0);
    assert!(matches!(c, Curve::PowerLaw { sold, .. } if (sold - 980_100.0).abs() < 1e-6));
}

#[test]
fn stableswap_balanced_sale_and_fee() {
    let mut c = ss(100.0, 1e6, 1e6, 0.0);
    assert_eq!(c.spot_price(), 1.0);
    // At x = y the invariant is solved by D = x + y: Ann·2e6 + 2e6 = Ann·2e6 + 8e18/(4e12).
    let d0 = ss_d(&c);
    assert!(rel_err(d0, 2e6) < 1e-14);

    let fee_free = c.proceeds(1e5);
    let out = c.sell(1e5);
    assert_eq!(out, fee_free);
    // Better than x·y = k on the same balances (1e6·1e5/1.1e6 = 90_909.09), worse than par.
    assert!(out > 90_909.1 && out < 1e5, "{out}");
    let Curve::StableSwap {
        depth: PoolDepth { base, quote, .. },
        ..
    } = c
    else {
        unreachable!()
    };
    assert_eq!(base, 1.1e6);
    assert_eq!(quote, 1e6 - out);
    // Without a fee the sale stays on the invariant: same D, both sides equal.
    assert!(rel_err(ss_d(&c), d0) < 1e-10);
    let (lhs, rhs) = ss_sides(100.0, base, quote, d0);
    assert!(rel_err(lhs, rhs) < 1e-10);
    assert!(c.spot_price() < 1.0);

    // With a fee the seller gets exactly (1 − fee) of the fee-free dy; the fee stays, D grows.
    let mut with_fee = ss(100.0, 1e6, 1e6, 0.0004);
    let out_fee = with_fee.sell(1e5);
    assert!(rel_err(out_fee, fee_free * (1.0 - 0.0004)) < 1e-15);
    assert!(ss_d(&with_fee) > d0);
}

#[test]
fn stableswap_anchor_keeps_d() {
    let mut c = ss(100.0, 1e6, 1e6, 0.0);
    let d0 = ss_d(&c);
    c.anchor(0.95);
    assert!((c.spot_price() - 0.95).abs() < 1e-9, "{}", c.spot_price());
    assert!(rel_err(ss_d(&c), d0) < 1e-10);
    let Curve::StableSwap {
        depth: PoolDepth { base, quote, .. },
        ..
    } = c
    else {
        unreachable!()
    };
    assert!(base > quote);
    // Back above par, and a far depeg.
    for p in [1.02, 0.3, 1.0] {
        c.move_to_price(p);
        assert!(rel_err(c.spot_price(), p) < 1e-9, "{p}: {}", c.spot_price());
        assert!(rel_err(ss_d(&c), d0) < 1e-10);
    }
}

#[test]
fn constant_product_anchor_keeps_k() {
    // k = 1000·2e6 = 2e9; at price 1800: base = sqrt(2e9/1800) = sqrt(1_111_111.1) = 1054.0926,
    // quote = sqrt(2e9·1800) = sqrt(3.6e12) = 1_897_366.596.
    let mut c = cp(1000.0, 2e6, 0.003);
    c.anchor(1800.0);
    let Curve::ConstantProduct(PoolDepth { base, quote, .. }) = c else {
        unreachable!()
    };
    assert!((base - 1_054.092_553).abs() < 1e-6);
    assert!((quote - 1_897_366.596).abs() < 1e-3);
    assert!(rel_err(base * quote, 2e9) < 1e-12);
    assert!(rel_err(c.spot_price(), 1800.0) < 1e-12);
    c.move_to_price(2500.0);
    let Curve::ConstantProduct(PoolDepth { base, quote, .. }) = c else {
        unreachable!()
    };
    assert!(rel_err(base * quote, 2e9) < 1e-12);
    assert!(rel_err(c.spot_price(), 2500.0) < 1e-12);
}

#[test]
fn degenerate_quantities_and_huge_sales() {
    let curves = [
        cp(1000.0, 2e6, 0.003),
        ss(100.0, 1e6, 1e6, 0.0004),
        pl(1e6, 1.0, 0.5, 100.0, 0.0),
    ];
    for c in &curves {
        for q in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(c.proceeds(q), 0.0);
            assert_eq!(c.slippage(q), 0.0);
            let mut m = c.clone();
            assert_eq!(m.sell(q), 0.0);
            assert_eq!(&m, c);
        }
        for q in [1e-300, 1e-9, 1e30, 1e300, f64::MAX] {
            let p = c.proceeds(q);
            assert!(p.is_finite() && p >= 0.0, "{c:?} {q}: {p}");
            let mut m = c.clone();
            assert_eq!(m.sell(q), p);
            let s = m.spot_price();
            assert!(!s.is_nan() && s >= 0.0, "{c:?} {q}: spot {s}");
            for q2 in [1.0, 1e300] {
                let p2 = m.proceeds(q2);
                assert!(p2.is_finite() && p2 >= 0.0, "{c:?} {q} then {q2}: {p2}");
            }
        }
    }
    // Huge sales drain the quote side asymptotically.
    assert!(rel_err(cp(1000.0, 2e6, 0.003).proceeds(1e300), 2e6) < 1e-12);
    assert!(rel_err(ss(100.0, 1e6, 1e6, 0.0).proceeds(1e300), 1e6) < 1e-12);
    assert!(rel_err(ss(100.0, 1e6, 1e6, 0.0).proceeds(f64::MAX), 1e6) < 1e-12);
    // Power law past the floor: 0.01·p_ref per token.
    let p = pl(1e6, 1.0, 0.5, 100.0, 0.0).proceeds(1e300);
    assert!(rel_err(p, 1e300) < 1e-12);
    // Non-positive anchors and depth multipliers change nothing.
    for c in &curves {
        for x in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut m = c.clone();
            m.anchor(x);
            m.scale_depth(x);
            assert_eq!(&m, c);
        }
    }
}

// ---- properties ----

fn any_curve() -> impl Strategy<Value = Curve> {
    prop_oneof![
        (1e-3..1e9f64, 1e-3..1e12f64, 0.0..0.05f64).prop_map(|(b, q, f)| cp(b, q, f)),
        (0.01..5000.0f64, 1.0..1e10f64, 0.05..20.0f64, 0.0..0.05f64).prop_map(|(a, b, r, f)| ss(
            a,
            b,
            b * r,
            f
        )),
        (
            1.0..1e10f64,
            0.0..3.0f64,
            0.1..2.0f64,
            1e-3..1e5f64,
            0.0..3.0f64
        )
            .prop_map(|(adv, k, alpha, p_ref, used)| pl(adv, k, alpha, p_ref, adv * used)),
    ]
}

/// A sale size between 1e-6 and 1e3 times the curve's depth (in tokens).
fn sale(c: &Curve, u: f64) -> f64 {
    let depth = match *c {
        Curve::ConstantProduct(PoolDepth { base, .. })
        | Curve::StableSwap {
            depth: PoolDepth { base, .. },
            ..
        } => base,
        Curve::PowerLaw { adv, p_ref, .. } => adv / p_ref,
        Curve::Concentrated(ref c) => c.max_sell_tokens(),
    };
    depth * 10f64.powf(u)
}

proptest! {
    #[test]
    fn proceeds_increase_and_stay_below_spot_value(
        c in any_curve(), u in -6.0..3.0f64, f in 1e-6..10.0f64,
    ) {
        let q1 = sale(&c, u);
        let q2 = q1 * (1.0 + f);
        let (p1, p2) = (c.proceeds(q1), c.proceeds(q2));
        prop_assert!(p1 > 0.0 && p1.is_finite(), "{p1}");
        prop_assert!(p2 >= p1 * (1.0 - 1e-12), "{p1} > {p2}");
        let spot = c.spot_price();
        prop_assert!(p1 <= q1 * spot * (1.0 + 1e-12), "{p1} > {q1}·{spot}");
        prop_assert!(c.slippage(q1) >= 0.0);
    }

    #[test]
    fn split_sales_add_up(c in any_curve(), u in -6.0..3.0f64, w in 0.01..0.99f64) {
        let q = sale(&c, u);
        let (qa, qb) = (q * w, q * (1.0 - w));
        let mut split = c.clone();
        let total = split.sell(qa) + split.sell(qb);
        let once = c.proceeds(q);
        match c {
            Curve::ConstantProduct(PoolDepth { fee, .. }) if fee > 0.0 => {
                // The first sale's fee stays in base, so the second sale meets a cheaper base:
                // splitting pays slightly less, never more.
                prop_assert!(total <= once * (1.0 + 1e-9), "{total} > {once}");
            }
            Curve::StableSwap { depth: PoolDepth { fee, .. }, .. } if fee > 0.0 => {
                // The first sale's fee stays in quote, so the second sale meets a dearer base:
                // splitting pays slightly more, but never more than the fee-free sale.
                let fee_free = once / (1.0 - fee);
                prop_assert!(total >= once * (1.0 - 1e-9), "{total} < {once}");
                prop_assert!(total <= fee_free * (1.0 + 1e-9), "{total} > {fee_free}");
            }
            _ => prop_assert!(rel_err(total, once) < 1e-9, "{total} vs {once}"),
        }
    }

    #[test]
    fn more_depth_never_pays_less(c in any_curve(), u in -6.0..3.0f64, m in 1.0..100.0f64) {
        let q = sale(&c, u);
        let mut deeper = c.clone();
        deeper.scale_depth(m);
        prop_assert!(deeper.proceeds(q) >= c.proceeds(q) * (1.0 - 1e-12));
    }

    #[test]
    fn stableswap_anchor_hits_price_and_keeps_d(
        a in 0.01..5000.0f64, b in 1.0..1e10f64, r in 0.05..20.0f64, p in 0.05..20.0f64,
    ) {
        let mut c = ss(a, b, b * r, 0.0);
        let d0 = ss_d(&c);
        c.anchor(p);
        prop_assert!(rel_err(c.spot_price(), p) < 1e-9, "{} vs {p}", c.spot_price());
        prop_assert!(rel_err(ss_d(&c), d0) < 1e-10);
    }
}

/// Buys: the mirror of the sale.
mod buy {
    use super::super::*;
    use proptest::prelude::*;

    fn rel_err(a: f64, b: f64) -> f64 {
        (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
    }

    #[test]
    fn constant_product_buy_by_hand() {
        // base 1000, quote 2000 (price 2), fee 0.3%: buying 100 needs net 2000·100/900 = 222.2…,
        // gross 222.2…/0.997; the pool keeps the fee.
        let mut c = Curve::ConstantProduct(PoolDepth {
            base: 1000.0,
            quote: 2000.0,
            fee: 0.003,
        });
        let cost = c.buy(100.0);
        let want = 2000.0 * 100.0 / 900.0 / 0.997;
        assert!((cost - want).abs() < 1e-9, "{cost} vs {want}");
        assert_eq!(
            c,
            Curve::ConstantProduct(PoolDepth {
                base: 900.0,
                quote: 2000.0 + want,
                fee: 0.003
            })
        );
        // A budget buys the inverse: 222.84… of quote buys 100 tokens back on the old state.
        let c0 = Curve::ConstantProduct(PoolDepth {
            base: 1000.0,
            quote: 2000.0,
            fee: 0.003,
        });
        assert!((c0.tokens_for_budget(want) - 100.0).abs() < 1e-9);
        assert_eq!(c0.buy_cost(1000.0), f64::INFINITY);
        assert_eq!(c0.max_buy_tokens(), 1000.0);
        // Slippage: cost − 100·2.
        assert!((c0.buy_slippage(100.0) - (want - 200.0)).abs() < 1e-9);
    }

    #[test]
    fn stableswap_buy_matches_the_invariant() {
        // Balanced pool A = 100, x = y = 1e6, no fee: buying 1e5 base moves y to y' on the same D;
        // cost = y' − y, computed here from the invariant's quadratic directly.
        let c = Curve::StableSwap {
            amplification: 100.0,
            depth: PoolDepth {
                base: 1e6,
                quote: 1e6,
                fee: 0.0,
            },
        };
        // D = 2e6 at balance. y' solves Ann·y² + β·y − e = 0 at x' = 9e5 (normalised by 1e6).
        let (ann, d, x1) = (400.0_f64, 2.0_f64, 0.9_f64);
        let e = d * d * d / (4.0 * x1);
        let beta = ann * (x1 - d) + d;
        let y1 = (-beta + (beta * beta + 4.0 * ann * e).sqrt()) / (2.0 * ann);
        let want = (y1 - 1.0) * 1e6;
        let cost = c.buy_cost(1e5);
        assert!(rel_err(cost, want) < 1e-9, "{cost} vs {want}");
        assert!(cost > 1e5 && cost < 1.01e5, "{cost}");
        // With a 0.04% fee on the input the cost is want/(1 − 0.0004).
        let f = Curve::StableSwap {
            amplification: 100.0,
            depth: PoolDepth {
                base: 1e6,
                quote: 1e6,
                fee: 0.0004,
            },
        };
        assert!(rel_err(f.buy_cost(1e5), want / 0.9996) < 1e-9);
        assert!(rel_err(f.tokens_for_budget(want / 0.9996), 1e5) < 1e-9);
    }

    #[test]
    fn power_law_buy_mirrors_the_sale_by_hand() {
        // Square-root law, adv 1e6, k 1, p_ref 100, from V = 0: buying 1000 tokens moves V to −1e5;
        // cost = 1e5 + (1e6/1.5)·0.1^1.5, price after = 100·(1 + 0.1^0.5).
        let mut c = Curve::PowerLaw {
            adv: 1e6,
            k: 1.0,
            alpha: 0.5,
            p_ref: 100.0,
            sold: 0.0,
        };
        let cost = c.buy(1000.0);
        let want = 1e5 + 1e6 / 1.5 * 0.1f64.powf(1.5);
        assert!((cost - want).abs() < 1e-6, "{cost} vs {want}");
        assert!((c.spot_price() - 100.0 * (1.0 + 0.1f64.sqrt())).abs() < 1e-9);
        // Selling the same 1000 back from V = −1e5 returns exactly the cost, and V is 0 again.
        let back = c.sell(1000.0);
        assert!(rel_err(back, cost) < 1e-12, "{back} vs {cost}");
        assert!(c.spot_price() == 100.0, "{}", c.spot_price());
        // From V = 1e4 (after a sale, price 90) a buy of 200 tokens first retraces the sale side
        // (1e4 of value: 1e4 − (1e6/1.5)·0.01^1.5) and then 1e4 on the buy side.
        let c = Curve::PowerLaw {
            adv: 1e6,
            k: 1.0,
            alpha: 0.5,
            p_ref: 100.0,
            sold: 1e4,
        };
        let want = (1e4 - 1e6 / 1.5 * 0.01f64.powf(1.5)) + (1e4 + 1e6 / 1.5 * 0.01f64.powf(1.5));
        assert!((c.buy_cost(200.0) - want).abs() < 1e-6);
        // The recovery of a squeezed price moves back down the buy side.
        let mut c = Curve::PowerLaw {
            adv: 1e6,
            k: 1.0,
            alpha: 0.5,
            p_ref: 100.0,
            sold: -1e5,
        };
        c.move_to_price(105.0);
        assert!((c.spot_price() - 105.0).abs() < 1e-9);
        // A curve with no depth cannot be bought on.
        let none = Curve::PowerLaw {
            adv: 0.0,
            k: 1.0,
            alpha: 0.5,
            p_ref: 100.0,
            sold: 0.0,
        };
        assert_eq!(none.buy_cost(1.0), f64::INFINITY);
        assert_eq!(none.tokens_for_budget(100.0), 0.0);
    }

    #[test]
    fn degenerate_buys_cost_nothing_and_change_nothing() {
        let c0 = Curve::ConstantProduct(PoolDepth {
            base: 10.0,
            quote: 10.0,
            fee: 0.0,
        });
        let mut c = c0.clone();
        for q in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(c.buy(q), 0.0);
            assert_eq!(c.spend(q), 0.0);
        }
        assert_eq!(c.buy(10.0), f64::INFINITY);
        assert_eq!(c, c0);
    }

    fn any_curve() -> impl Strategy<Value = Curve> {
        prop_oneof![
            (1e-3..1e9f64, 1e-3..1e12f64, 0.0..0.05f64).prop_map(|(base, quote, fee)| {
                Curve::ConstantProduct(PoolDepth { base, quote, fee })
            }),
            (0.01..5000.0f64, 1.0..1e10f64, 0.05..20.0f64, 0.0..0.05f64).prop_map(
                |(amplification, base, r, fee)| Curve::StableSwap {
                    amplification,
                    depth: PoolDepth {
                        base,
                        quote: base * r,
                        fee
                    }
                }
            ),
            (
                1.0..1e10f64,
                0.0..3.0f64,
                0.1..2.0f64,
                1e-3..1e5f64,
                -3.0..3.0f64
            )
                .prop_map(|(adv, k, alpha, p_ref, used)| Curve::PowerLaw {
                    adv,
                    k,
                    alpha,
                    p_ref,
                    sold: adv * used
                }),
        ]
    }

    /// A buy of `10^u` of the curve's depth in tokens (below 1 for pools, which cannot be emptied).
    fn size(c: &Curve, u: f64) -> f64 {
        match *c {
            Curve::ConstantProduct(PoolDepth { base, .. })
            | Curve::StableSwap {
                depth: PoolDepth { base, .. },
                ..
            } => base * 10f64.powf(u).min(0.9),
            Curve::PowerLaw { adv, p_ref, .. } => adv / p_ref * 10f64.powf(u),
            Curve::Concentrated(ref c) => c.max_buy_tokens() * 10f64.powf(u).min(0.9),
        }
    }

    proptest! {
        #[test]
        fn buy_then_sell_never_creates_value(c in any_curve(), u in -6.0..0.0f64) {
            let q = size(&c, u);
            let mut moved = c.clone();
            let cost = moved.buy(q);
            prop_assert!(cost.is_finite() && cost > 0.0, "{cost}");
            prop_assert!(cost >= q * c.spot_price() * (1.0 - 1e-12), "{cost} < {q}·spot");
            let back = moved.sell(q);
            prop_assert!(back <= cost * (1.0 + 1e-9), "{back} > {cost}");
        }

        #[test]
        fn budget_buys_what_it_costs(c in any_curve(), u in -6.0..0.0f64) {
            let q = size(&c, u);
            let cost = c.buy_cost(q);
            let got = c.tokens_for_budget(cost);
            prop_assert!(rel_err(got, q) < 1e-7, "{got} vs {q}");
            let mut spent = c.clone();
            let tokens = spent.spend(cost);
            prop_assert!(rel_err(tokens, q) < 1e-7);
            prop_assert!(spent.spot_price() >= c.spot_price() * (1.0 - 1e-12));
        }

        #[test]
        fn buy_cost_increases(c in any_curve(), u in -6.0..-0.1f64, f in 1e-6..0.2f64) {
            let q1 = size(&c, u);
            let q2 = q1 * (1.0 + f);
            prop_assert!(c.buy_cost(q2) >= c.buy_cost(q1) * (1.0 - 1e-12));
        }
    }
}
