//! Each mechanism's building blocks worked by hand, and a property: no mechanism creates or loses
//! tokens (docs/mechanisms.md).

use cascade_market::price::Market;
use cascade_model::{LiquidationMechanism, Snapshot};
use cascade_testkit::system::System;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::bands::{ema_weight, Bands};
use super::dutch::decay;
use super::storefront_factor;
use crate::lending::tests::run;
use crate::lending::LendingPool;

/// Band edges at A = 100: `r = 0.99`; 4 bands of 1 token from `top = 100`. At p_o = 99.5 band 0,
/// `[99, 100]`, is half crossed: φ = (100 − 99.5)/(100 − 99) = 0.5, so 0.5 token converts at the
/// AMM's price p_o³/(hi·lo) = 99.5³/9,900 = 99.5025 (above the oracle: no arbitrageur takes it
/// yet); the others are untouched. At p_o = 97 band 1 (`[98.01, 99]`) and band 2
/// (`[97.0299, 98.01]`, 97 < 97.0299) are crossed entirely, band 3 (`[96.059601, 97.0299]`) by
/// (97.0299 − 97)/(97.0299 − 96.059601) = 0.030816, band 0's other half too; band 3 sells at
/// 97³/(97.0299·96.059601) = 100.9471 (its price, 96.5436, times (97/96.5436)³).
#[test]
fn bands_convert_the_share_of_each_band_the_price_crossed() {
    let b = Bands::new(4.0, (100.0 * 0.99f64.powi(4), 100.0, 0), 100.0, 4);
    // Bands never start above the price they are placed at.
    assert_eq!(Bands::new(4.0, (100.0, 90.0, 0), 100.0, 4).top, 90.0);
    assert!((b.top - 100.0).abs() < 1e-9);
    let c = b.crossed(99.5);
    assert_eq!(c.len(), 1);
    let (band, q, conv) = c[0];
    assert_eq!(band, 0);
    assert!((q - 0.5).abs() < 1e-9, "{q}");
    assert!((conv - 99.5f64.powi(3) / 9900.0).abs() < 1e-9, "{conv}");
    let c = b.crossed(97.0);
    let phi3 = (97.0299 - 97.0) / (97.0299 - 96.059601);
    let bands: Vec<usize> = c.iter().map(|x| x.0).collect();
    assert_eq!(bands, [0, 1, 2, 3]);
    assert!((c[3].1 - phi3).abs() < 1e-9 && c[1].1 == 1.0);
    assert!((c[3].2 - 97f64.powi(3) / (97.0299 * 96.059601)).abs() < 1e-6);
}

/// The oracle's moving average: with 300 s rounds and crvUSD's 866 s, each round closes
/// 1 − e^(−300/866) = 29.28% of the gap; with 0 s, all of it.
#[test]
fn oracle_ema_weight() {
    assert!((ema_weight(300.0, 866.0) - 0.292_785).abs() < 1e-6);
    assert_eq!(ema_weight(300.0, 0.0), 1.0);
}

/// The stairstep: `cut^⌊t/step⌋`; at t = 1,799 s with 90 s steps, 19 cuts; at 1,800 s, 20.
#[test]
fn auction_price_decays_in_steps() {
    assert_eq!(decay(0.99, 90.0, 0.0), 1.0);
    assert_eq!(decay(0.99, 90.0, 89.9), 1.0);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-15 * b;
    assert!(close(decay(0.99, 90.0, 1799.0), 0.99f64.powi(19)));
    assert!(close(decay(0.99, 90.0, 1800.0), 0.99f64.powi(20)));
}

/// Comet's storefront price: `1 − SF·(1 − LF)`, 1 − 0.5·0.05 = 0.975 at mainnet USDC's WETH.
#[test]
fn storefront_price_factor() {
    assert!((storefront_factor(0.95, 0.5) - 0.975).abs() < 1e-15);
    assert_eq!(storefront_factor(0.95, 0.0), 1.0);
}

/// A pool under `mechanism` with ETH and WBTC collateral and USDC debt, and `accounts`
/// (ETH, WBTC, USDC debt), on curves with price impact.
fn pool(mechanism: LiquidationMechanism, accounts: &[(f64, f64, f64)]) -> Snapshot {
    let mut s = System::new()
        .impact(0.5)
        .adv(2.0e6)
        .eth(2000.0)
        .asset("WBTC", "native", "price = 60000.0")
        .usdc()
        .lending_with(
            "lend",
            &format!("liquidation_mechanism = \"{}\"", mechanism.name()),
            &[
                ("ETH", 0.75, 0.8, 0.05),
                ("WBTC", 0.7, 0.75, 0.08),
                ("USDC", 0.75, 0.8, 0.05),
            ],
        );
    for (i, &(eth, wbtc, usdc)) in accounts.iter().enumerate() {
        s = s.account(
            &format!("a{i}"),
            "lend",
            &[("ETH", eth), ("WBTC", wbtc)],
            &[("USDC", usdc)],
        );
    }
    s.build()
}

/// Per asset: tokens held as collateral, as debt.
fn held(pool: &LendingPool, n: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut c, mut d) = (vec![0.0; n], vec![0.0; n]);
    for e in pool.slots.iter() {
        match pool.terms[e.term as usize].side {
            cascade_model::Side::Collateral => c[e.asset as usize] += e.amount,
            cascade_model::Side::Debt => d[e.asset as usize] += e.amount,
        }
    }
    (c, d)
}

/// Runs `accounts` under every mechanism along a path falling by `falls` (one factor per round,
/// then 40 flat rounds) and checks that no token is created or lost (see the property below);
/// the liquidation records each mechanism made.
fn conserves(accounts: &[(f64, f64, f64)], falls: &[f64]) -> Result<Vec<usize>, TestCaseError> {
    let mut events = Vec::new();
    for mechanism in LiquidationMechanism::ALL.iter().copied() {
        let s = pool(mechanism, accounts);
        let market = Market::new(&s);
        let start = market.prices();
        let usdc = s.assets.iter().position(|a| a.id == "USDC").unwrap();
        let mut path = vec![start.clone()];
        let mut p = start.clone();
        for r in 0..40 {
            if let Some(f) = falls.get(r) {
                for (a, v) in p.iter_mut().enumerate() {
                    if a != usdc {
                        *v *= f;
                    }
                }
            }
            path.push(p.clone());
        }
        let mut lp = LendingPool::new(&s, 0);
        let n = s.assets.len();
        let (c0, d0) = held(&lp, n);
        let rounds = run(&mut lp, &market, &path);
        let (c1, d1) = held(&lp, n);
        let mut out = c1.clone();
        let mut repaid = 0.0;
        let mut written_off = 0.0;
        let mut made = 0;
        for r in &rounds {
            for x in &r.sales {
                out[x.asset] += x.quantity;
            }
            for l in &r.liquidations {
                out[l.collateral] += l.protocol_fee_tokens;
                repaid += l.repaid_tokens;
                made += 1;
            }
            for b in &r.bad_debt {
                written_off += b.tokens;
            }
        }
        for &(a, _, q) in &lp.mech.inventory {
            out[a] += q;
        }
        for l in lp.mech.auctions.iter().flatten().flat_map(|a| &a.lots) {
            out[l.asset] += l.tokens;
        }
        for a in 0..n {
            prop_assert!(
                (out[a] - c0[a]).abs() <= 1e-9 * c0[a].max(1e-12),
                "{mechanism}: asset {a}: {} at the start, {} accounted for",
                c0[a],
                out[a]
            );
        }
        // An absorb's bad debt is a loss booked against collateral, not debt erased again.
        let erased = if mechanism == LiquidationMechanism::Absorb {
            0.0
        } else {
            written_off
        };
        let accounted = d1[usdc] + repaid + erased;
        prop_assert!(
            (accounted - d0[usdc]).abs() <= 1e-9 * d0[usdc],
            "{mechanism}: debt {} at the start, {} accounted for",
            d0[usdc],
            accounted
        );
        events.push(made);
    }
    Ok(events)
}

/// The property's check on one fixed case where every mechanism liquidates: three accounts at 90%
/// of their borrowing power, ETH and WBTC down 25% then 20%.
#[test]
fn every_mechanism_liquidates_and_conserves_on_a_fixed_case() {
    let accounts = [
        (10.0, 0.0, 0.9 * 10.0 * 2000.0 * 0.8),
        (2.0, 0.3, 0.9 * (2.0 * 2000.0 * 0.8 + 0.3 * 60000.0 * 0.75)),
        (0.5, 0.1, 0.9 * (0.5 * 2000.0 * 0.8 + 0.1 * 60000.0 * 0.75)),
    ];
    match conserves(&accounts, &[0.75, 0.8]) {
        Ok(events) => assert!(events.iter().all(|&e| e > 0), "{events:?}"),
        Err(e) => panic!("{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// No mechanism creates or destroys tokens: per collateral asset, what the accounts held at the
    /// start is what they hold at the end plus what was sold, paid as a fee, and what still sits in
    /// an auction's lots or the absorbing protocol's inventory; and the USDC debt at the start is
    /// the debt left plus what was repaid, absorbed or written off. Within 1e-9, relative.
    #[test]
    fn no_mechanism_creates_value(
        accounts in prop::collection::vec((0.1f64..20.0, 0.0f64..0.5, 0.55f64..0.98), 1..8),
        falls in prop::collection::vec(0.75f64..1.0, 1..6),
    ) {
        // Debt as a share of the account's borrowing power at $2,000 and $60,000.
        let accounts: Vec<(f64, f64, f64)> = accounts
            .iter()
            .map(|&(eth, wbtc, x)| (eth, wbtc, x * (eth * 2000.0 * 0.8 + wbtc * 60000.0 * 0.75)))
            .collect();
        conserves(&accounts, &falls)?;
    }
}
