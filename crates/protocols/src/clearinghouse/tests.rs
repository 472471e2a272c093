//! Hand-worked margin, liquidation and loss-allocation cases (docs/clearinghouse.md#derivatives-clearinghouses). Every figure in a comment is
//! worked out from the formulas in `margin.rs`'s documentation, not read from the code.

use cascade_io::snapshot_from_str;
use cascade_io::Format;
use cascade_market::price::Market;
use cascade_model::{MarginMode, Snapshot};
use cascade_testkit::system::System;

use super::margin::{size_adjusted_ratio, Grid};
use super::*;
use crate::{LossOutcome, ProtocolBuyFill, ProtocolFill, ProtocolModel, ProtocolRound, RoundCtx};

/// USDC, ETH, BTC and stETH on deep curves, and the clearinghouse "perps" (USDC and stETH as
/// collateral, USDC as a liability; ETH-PERP and BTC-PERP; a ±10% options grid); accounts follow.
fn perps(loss_mode: &str, pnl_weight: f64, fund_usdc: f64) -> System {
    System::new()
        .name("ch")
        .adv(1e15)
        .impact(0.1)
        .usdc()
        .eth(2000.0)
        .asset("BTC", "native", "price = 30000.0")
        .steth()
        .clearinghouse(
            "perps",
            &format!(
                r#"
loss_mode = "{loss_mode}"
pnl_initial_weight = {pnl_weight}
pnl_maintenance_weight = {pnl_weight}
insurance_fund = {{ USDC = {fund_usdc} }}
collateral = [ {{ asset = "USDC", initial_weight = 1.0, maintenance_weight = 1.0 }},
               {{ asset = "stETH", initial_weight = 0.8, maintenance_weight = 0.9 }} ]
liabilities = [ {{ asset = "USDC", initial_weight = 1.1, maintenance_weight = 1.05 }} ]
"#
            ),
        )
        .market("ETH-PERP", "ETH", PERP)
        .market("BTC-PERP", "BTC", PERP)
        .toml(
            r#"
[protocol.options]
underlying_moves = 0.10
price_steps = 3
vol_shock = 0.0
floor = 0.01
smile = { ETH = { atm = 0.0001 } }
"#,
        )
}

/// The margin of both perpetual markets.
const PERP: &str = "imr = 0.10\nmmr = 0.05\nliquidation_fee = 0.01";

/// `perps = [ … ]`: one position of `size` in `market` from `entry`.
fn perp(market: &str, size: f64, entry: f64) -> String {
    format!("perps = [ {{ market = \"{market}\", size = {size:?}, entry_price = {entry:?} }} ]")
}

fn model(s: &Snapshot) -> Clearinghouse {
    let p = s.protocols[0].clearinghouse().cloned();
    Clearinghouse::new(s, 0, &p.expect("a clearinghouse"))
}

fn prices(s: &Snapshot) -> Vec<f64> {
    (0..s.assets.len()).map(|a| s.reference_price(a)).collect()
}

#[test]
fn cross_margin_health_by_hand() {
    // 10,000 USDC and 2 stETH (at 2000, maintenance weight 0.9, initial 0.8); long 5 ETH-PERP from 1800.
    // C_M = 10000 + 4000·0.9 = 13600, C_I = 10000 + 4000·0.8 = 13200; PnL = 5·(2000 − 1800) = 1000.
    // E_M = 14600, E_I = 14200; MM = 5·2000·0.05 = 500, IM = 1000.
    let trader = |pnl_weight: f64| {
        perps("socialise", pnl_weight, 0.0)
            .account_toml(
                "t",
                "perps",
                &[("USDC", 10000.0), ("stETH", 2.0)],
                &[],
                &perp("ETH-PERP", 5.0, 1800.0),
            )
            .build()
    };
    let s = trader(1.0);
    let ch = model(&s);
    let v = ch.valuation_at(&prices(&s));
    let h = health(&ch.book(0), ch.params(), ch.series(), &v);
    assert!((h.equity_maintenance - 14600.0).abs() < 1e-9, "{h:?}");
    assert!((h.equity_initial - 14200.0).abs() < 1e-9);
    assert!((h.mm - 500.0).abs() < 1e-9);
    assert!((h.im - 1000.0).abs() < 1e-9);
    assert!((h.maintenance() - 14100.0).abs() < 1e-9);
    // Unrealised profit at weight 0.5 (the Mango lesson): E_M = 13600 + 500 = 14100.
    let s = trader(0.5);
    let ch = model(&s);
    let h = health(
        &ch.book(0),
        ch.params(),
        ch.series(),
        &ch.valuation_at(&prices(&s)),
    );
    assert!((h.equity_maintenance - 14100.0).abs() < 1e-9, "{h:?}");
}

#[test]
fn size_premium_follows_drift() {
    // r = 0.05, imf = 0.001: 100 tokens → max(0.05, 0.04 + 0.001·10) = 0.05; 400 → 0.04 + 0.02 = 0.06.
    assert!((size_adjusted_ratio(0.05, 0.001, 100.0) - 0.05).abs() < 1e-15);
    assert!((size_adjusted_ratio(0.05, 0.001, -400.0) - 0.06).abs() < 1e-15);
    assert_eq!(size_adjusted_ratio(0.05, 0.0, 1e12), 0.05);
    assert_eq!(size_adjusted_ratio(0.5, 1.0, 1e6), 1.0);
}

#[test]
fn grid_points() {
    let g = Grid::new(0.15, 7, 0.3);
    assert_eq!(g.len(), 21);
    let moves: Vec<f64> = g
        .moves
        .iter()
        .map(|m| (m * 1000.0).round() / 1000.0)
        .collect();
    assert_eq!(moves, vec![-0.15, -0.1, -0.05, 0.0, 0.05, 0.1, 0.15]);
    assert_eq!(g.vol_factors, vec![0.7, 1.0, 1.3]);
    assert_eq!(g.point(4), (-0.1, 1.0));
    assert_eq!(g.point(5), (-0.1, 1.3));
}

#[test]
fn portfolio_margin_of_a_two_leg_book_by_hand() {
    // Written: 10 puts K = 1900 on ETH (S = 2000), 1 day, σ = 1% (the smile's floor): worth 0 at
    // 2000 and 2200, intrinsic 100 each at 1800. Backing: 10 stETH (maintenance weight 0.9) and 5000
    // USDC. Grid ±10% in 3 steps.
    // At −10%: the puts lose 10·100 = 1000, the stETH 10·2000·0.9·0.1 = 1800 → 2800; at +10% both gain.
    // Portfolio MM = max(2800, floor 0.01 · 10·2000 = 200) = 2800, IM = 1.25·2800 = 3500.
    // Cross margin sees only the puts' own worst loss: MM = max(1000, 200) = 1000.
    let writer = |margin_mode: &str| {
        perps("socialise", 1.0, 0.0)
            .account_toml(
                "pm",
                "perps",
                &[("USDC", 5000.0), ("stETH", 10.0)],
                &[],
                &format!("margin_mode = \"{margin_mode}\"\noptions = [ {{ underlying = \"ETH\", kind = \"put\", strike = 1900.0, expiry_days = 1.0, size = -10.0 }} ]"),
            )
            .build()
    };
    let s = writer("portfolio");
    assert_eq!(s.accounts.margin_mode[0], MarginMode::Portfolio);
    let ch = model(&s);
    let v = ch.valuation_at(&prices(&s));
    let h = health(&ch.book(0), ch.params(), ch.series(), &v);
    assert!((h.mm - 2800.0).abs() < 1e-6, "{h:?}");
    assert!((h.im - 3500.0).abs() < 1e-6);
    let (u, m, vf) = h.binding.expect("a binding scenario");
    assert_eq!((u, vf), (1, 1.0));
    assert!((m + 0.1).abs() < 1e-12);
    // E_M = 5000 + 18000 + 0 (the puts are worth ~0) → health 23000 − 2800.
    assert!((h.maintenance() - 20200.0).abs() < 1e-6);
    let cross = writer("cross");
    let ch = model(&cross);
    let h = health(
        &ch.book(0),
        ch.params(),
        ch.series(),
        &ch.valuation_at(&prices(&cross)),
    );
    assert!((h.mm - 1000.0).abs() < 1e-6, "{h:?}");
}

/// Liquidates at `prices` with the market given, settles every trade exactly at the round's prices
/// (as on an infinitely deep curve), and absorbs the loss.
fn one_round(
    ch: &mut Clearinghouse,
    s: &Snapshot,
    px: &[f64],
) -> (ProtocolRound, f64, LossOutcome) {
    let market = Market::new(s);
    let before = prices(s);
    let ctx = RoundCtx {
        round: 1,
        prices: px,
        market: &market,
        prev_prices: &before,
        breakers: true,
    };
    let mut out = ch.liquidate(&ctx);
    let mut fills: Vec<ProtocolFill> = Vec::new();
    for o in &out.sales {
        match fills.iter_mut().find(|f| f.asset == o.asset) {
            Some(f) => {
                f.quantity += o.quantity;
                f.proceeds_usd += o.quantity * px[o.asset];
            }
            None => fills.push(ProtocolFill {
                asset: o.asset,
                quantity: o.quantity,
                proceeds_usd: o.quantity * px[o.asset],
            }),
        }
    }
    let buys: Vec<ProtocolBuyFill> = out
        .buys
        .iter()
        .map(|b| ProtocolBuyFill {
            asset: b.asset,
            quantity: b.quantity,
            cost_usd: b.quantity * px[b.asset],
        })
        .collect();
    let st = ch.settle(&fills, &buys, px);
    let bad = st.bad_debt.iter().map(|b| b.usd).sum();
    out.bad_debt = st.bad_debt;
    let loss = ch.absorb_losses(&out, px);
    (out, bad, loss)
}

/// A bankrupt long and two profitable shorts on ETH-PERP; ETH falls from 2000 to 1600.
fn loser_and_winners(loss_mode: &str) -> Snapshot {
    perps(loss_mode, 1.0, 0.0)
        .account_toml(
            "loser",
            "perps",
            &[("USDC", 1000.0)],
            &[],
            &perp("ETH-PERP", 10.0, 2000.0),
        )
        .account_toml(
            "a",
            "perps",
            &[("USDC", 1000.0)],
            &[],
            &perp("ETH-PERP", -5.0, 2400.0),
        )
        .account_toml(
            "b",
            "perps",
            &[("USDC", 100.0)],
            &[],
            &perp("ETH-PERP", -20.0, 1700.0),
        )
        .build()
}

fn crashed(s: &Snapshot) -> Vec<f64> {
    let mut px = prices(s);
    px[1] = 1600.0;
    px[3] = 1600.0;
    px
}

#[test]
fn liquidation_to_bad_debt_by_hand() {
    // Loser at 1600: equity 1000 + 10·(1600 − 2000) = −3000 < 0. Fee 0.01·10·1600 = 160 (half, 80, to
    // the fund); the perp sells at 1600 (−4000); the missing 4160 sells all 1000 USDC →
    // cash = −160 − 4000 + 1000 = −3160. The account is bankrupt: its fee is waived (and the fund's
    // 80 taken back), leaving bad debt 3000, which the empty fund cannot pay.
    let s = loser_and_winners("socialise");
    let mut ch = model(&s);
    let (out, bad, loss) = one_round(&mut ch, &s, &crashed(&s));
    assert_eq!(out.accounts_liquidated, 1);
    assert_eq!(out.sales.len(), 2, "the perp (ETH) and the USDC collateral");
    assert!((bad - 3000.0).abs() < 1e-9, "{bad}");
    assert_eq!(loss.insurance_used_usd, 0.0);
    // Socialised: the winners' profits are a = 5·800 = 4000 and b = 20·100 = 2000, pool 6000; the
    // 3000 is x = 3000/6000 = one half of each profit.
    assert!(loss.uncovered_usd.abs() < 1e-9);
    let x = 0.5;
    let a = ch.book(1).perps[0];
    let b = ch.book(2).perps[0];
    assert!((a.entry_price - (2400.0 - x * 800.0)).abs() < 1e-9);
    assert!((b.entry_price - (1700.0 - x * 100.0)).abs() < 1e-9);
    assert_eq!((a.size, b.size), (-5.0, -20.0));
    assert!((ch.winners_paid_usd - 3000.0).abs() < 1e-9);
}

#[test]
fn auto_deleveraging_by_hand() {
    // The same 3000, ADL: rank by profit / maintenance equity:
    // a: 4000 / (1000 + 4000) = 0.8; b: 2000 / (100 + 2000) = 0.952 → b first.
    // b gives up all of its 2000 (closed in full); a gives the remaining 1000 = 0.25 of its profit:
    // 25% of its 5 short is closed, −3.75 stays open at its entry.
    let s = loser_and_winners("adl");
    let mut ch = model(&s);
    let (_, bad, loss) = one_round(&mut ch, &s, &crashed(&s));
    assert!((bad - 3000.0).abs() < 1e-9);
    assert!(loss.uncovered_usd.abs() < 1e-9);
    let a = ch.book(1).perps[0];
    let b = ch.book(2).perps[0];
    assert_eq!(b.size, 0.0);
    assert!((a.size + 3.75).abs() < 1e-12, "{a:?}");
    assert_eq!(a.entry_price, 2400.0);
}

#[test]
fn winners_cannot_cover_more_than_their_profit() {
    // Only b wins (2000); a loss of 3000 leaves 1000 uncovered.
    let s = loser_and_winners("socialise");
    let mut ch = model(&s);
    ch.perps[1].size = 0.0; // a has closed its short
    let (_, _, loss) = one_round(&mut ch, &s, &crashed(&s));
    assert!((loss.uncovered_usd - 1000.0).abs() < 1e-9, "{loss:?}");
}

#[test]
fn isolated_failure_touches_nothing_else_cross_nets() {
    // One trader: long 10 ETH-PERP from 2000 and short 1 BTC-PERP from 30000; both fall 20%.
    // Cross, one account with 5000 USDC: equity 5000 − 4000 + 6000 = 7000 ≥ MM 800 + 1200: safe.
    // Isolated, 2500 USDC each: the ETH account is at 2500 − 4000 < 0 and is liquidated
    // (bad debt 4000 − 2500 = 1500, its fee waived, paid by the fund); the BTC account is untouched.
    let both = perps("socialise", 1.0, 10000.0).account_toml(
        "x",
        "perps",
        &[("USDC", 5000.0)],
        &[],
        "perps = [ { market = \"ETH-PERP\", size = 10.0, entry_price = 2000.0 }, { market = \"BTC-PERP\", size = -1.0, entry_price = 30000.0 } ]",
    );
    let isolated = |size: f64, entry: f64, market: &str| {
        format!("margin_mode = \"isolated\"\n{}", perp(market, size, entry))
    };
    let split = perps("socialise", 1.0, 10000.0)
        .account_toml(
            "eth",
            "perps",
            &[("USDC", 2500.0)],
            &[],
            &isolated(10.0, 2000.0, "ETH-PERP"),
        )
        .account_toml(
            "btc",
            "perps",
            &[("USDC", 2500.0)],
            &[],
            &isolated(-1.0, 30000.0, "BTC-PERP"),
        );
    let mut px = {
        let s = both.build();
        prices(&s)
    };
    px[1] = 1600.0;
    px[2] = 24000.0;
    px[3] = 1600.0;
    let s = both.build();
    let mut ch = model(&s);
    let (out, bad, _) = one_round(&mut ch, &s, &px);
    assert_eq!((out.accounts_liquidated, bad), (0, 0.0));
    let s = split.build();
    let mut ch = model(&s);
    let (out, bad, loss) = one_round(&mut ch, &s, &px);
    assert_eq!(out.accounts_liquidated, 1);
    assert!((bad - 1500.0).abs() < 1e-9, "{bad}");
    assert!((loss.insurance_used_usd - 1500.0).abs() < 1e-9);
    let btc = ch.book(1);
    assert_eq!(
        (btc.perps[0].size, btc.perps[0].entry_price),
        (-1.0, 30000.0)
    );
    assert_eq!(btc.collateral, &[(0, 2500.0)]);
}

#[test]
fn an_isolated_account_holds_one_position() {
    let text = perps("socialise", 1.0, 0.0).account_toml(
        "x",
        "perps",
        &[("USDC", 5000.0)],
        &[],
        "margin_mode = \"isolated\"\nperps = [ { market = \"ETH-PERP\", size = 10.0, entry_price = 2000.0 }, { market = \"BTC-PERP\", size = -1.0, entry_price = 30000.0 } ]",
    );
    let err = snapshot_from_str(text.text(), Format::Toml, "t.toml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("isolated account holds one position"), "{err}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// With trades filled at the oracle prices, a liquidation creates and destroys no value: the
        /// bad debt is exactly what the account's net value at the marks lacks (fees waived), and the
        /// loss is split without remainder: insurance + winners + uncovered = bad debt, each ≥ 0, the
        /// winners never giving more than their profit.
        #[test]
        fn liquidation_conserves_value(
            usdc in 0.0f64..20_000.0,
            steth in 0.0f64..10.0,
            size in -20.0f64..20.0,
            entry in 1000.0f64..3000.0,
            winner in 0.0f64..20.0,
            fund in 0.0f64..5000.0,
            crash in 0.3f64..1.5,
            adl in any::<bool>(),
        ) {
            let s = perps(if adl { "adl" } else { "socialise" }, 1.0, fund)
                .account_toml("x", "perps", &[("USDC", usdc), ("stETH", steth)], &[], &perp("ETH-PERP", size, entry))
                .account_toml("w", "perps", &[("USDC", 1000000.0)], &[], &perp("ETH-PERP", -winner * size.signum(), 2000.0))
                .build();
            let mut ch = model(&s);
            let mut px = prices(&s);
            px[1] = 2000.0 * crash;
            px[3] = 2000.0 * crash;
            let v = ch.valuation_at(&px);
            let before = health(&ch.book(0), ch.params(), ch.series(), &v);
            let winner_pnl = {
                let w = ch.book(1).perps[0];
                (w.size * (px[1] - w.entry_price)).max(0.0)
            };
            let (out, bad, loss) = one_round(&mut ch, &s, &px);
            if before.maintenance() < 0.0 && size != 0.0 {
                prop_assert!(out.accounts_liquidated >= 1);
                prop_assert!((bad - (-before.net_value).max(0.0)).abs() < 1e-6 * (1.0 + before.net_value.abs()));
            } else {
                prop_assert_eq!(bad, 0.0);
            }
            let split = loss.insurance_used_usd + loss.winners_paid_usd + loss.uncovered_usd;
            prop_assert!((split - bad).abs() < 1e-6 * (1.0 + bad));
            prop_assert!(loss.insurance_used_usd >= 0.0 && loss.winners_paid_usd >= 0.0 && loss.uncovered_usd >= 0.0);
            prop_assert!(loss.insurance_used_usd <= fund + 1e-6 + 0.5 * 0.01 * size.abs() * px[1]);
            prop_assert!(loss.winners_paid_usd <= winner_pnl + 1e-6);
        }
    }
}
