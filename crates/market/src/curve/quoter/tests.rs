use super::super::{Curve, PoolDepth};
use super::Quoter;

#[test]
fn quoter_matches_the_curve() {
    let curves = [
        Curve::StableSwap {
            amplification: 200.0,
            depth: PoolDepth {
                base: 1.7e5,
                quote: 3.0e4,
                fee: 0.0004,
            },
        },
        Curve::ConstantProduct(PoolDepth {
            base: 1000.0,
            quote: 2.0e6,
            fee: 0.003,
        }),
        Curve::PowerLaw {
            adv: 1e7,
            k: 0.5,
            alpha: 0.5,
            p_ref: 1900.0,
            sold: 12345.0,
        },
    ];
    for c in curves {
        let q = Quoter::new(&c);
        assert_eq!(q.spot_price(), c.spot_price());
        for x in [0.0, 1e-6, 1.0, 1e3, 1e5, 1e9] {
            assert_eq!(q.proceeds(x), c.proceeds(x), "{c:?} q = {x}");
            assert_eq!(q.slippage(x), c.slippage(x), "{c:?} q = {x}");
        }
    }
}

#[test]
fn quoter_buys_match_the_curve() {
    let curves = [
        Curve::StableSwap {
            amplification: 200.0,
            depth: PoolDepth {
                base: 1.7e5,
                quote: 3.0e4,
                fee: 0.0004,
            },
        },
        Curve::ConstantProduct(PoolDepth {
            base: 1000.0,
            quote: 2.0e6,
            fee: 0.003,
        }),
        Curve::PowerLaw {
            adv: 1e7,
            k: 0.5,
            alpha: 0.5,
            p_ref: 1900.0,
            sold: -12345.0,
        },
    ];
    for c in curves {
        let q = Quoter::new(&c);
        for x in [0.0, 1e-6, 1.0, 1e2, 999.0] {
            assert_eq!(q.buy_cost(x), c.buy_cost(x), "{c:?} q = {x}");
            assert_eq!(q.buy_slippage(x), c.buy_slippage(x), "{c:?} q = {x}");
        }
    }
}
