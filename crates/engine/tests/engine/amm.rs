//! AMM pools (docs/amm.md#amm-pools): arbitrage to the external price ratio along the pool's invariant, the LP
//! token priced from the arbitraged reserves, and LP tokens as lending collateral. Values worked by
//! hand (the stableswap balances with an independent high-precision solver) beside each assertion.

use super::*;
use cascade_protocols::amm::Amm;
use cascade_protocols::ProtocolModel;

/// A system of ETH (2000), USDC and USDT (1), and the AMM pool `pool` (a `[[protocol]]` table body,
/// id "pool", LP token "LP"). Every curve has no impact.
fn pool_system(pool: &str) -> Snapshot {
    pools(pool).build()
}

/// The system of [`pool_system`] before it is built, for more protocols and accounts.
fn pools(pool: &str) -> System {
    System::new()
        .name("amm")
        .adv(1.0e7)
        .eth(2000.0)
        .usdc()
        .asset("USDT", "stable", "price = 1.0")
        .asset("LP", "lp", "")
        .amm("pool", "LP", pool)
}

/// 100 ETH / 200,000 USDC, x·y = k = 2e7, fee 0.3%: worth 400,000 USD at the snapshot.
const ETH_USDC: &str =
    "invariant = \"constant_product\"\nfee = 0.003\nreserves = { ETH = 100.0, USDC = 200000.0 }\n";

/// A USDC/USDT stableswap of amplification `a` with `r` of each.
fn usdc_usdt(a: f64, r: f64) -> String {
    format!(
        "invariant = \"stableswap\"\namplification = {a:?}\nfee = 0.0004\nreserves = {{ USDC = {r:?}, USDT = {r:?} }}\n"
    )
}

const ETH_MINUS_25: &str = "[[shock]]\nasset = \"ETH\"\nprice_change = -0.25\n";
const USDC_TO_087: &str = "[[shock]]\nasset = \"USDC\"\nprice_change = -0.13\n";

/// The pool of snapshot `s` (its protocol 0) and a price vector with `set` applied.
fn amm_of(s: &Snapshot) -> Amm {
    Amm::new(s, 0, s.protocols[0].amm().expect("protocol 0 is the pool"))
}

fn prices(s: &Snapshot, set: &[(&str, f64)]) -> Vec<f64> {
    let mut p: Vec<f64> = s.assets.iter().map(|a| a.price.unwrap_or(0.0)).collect();
    for (id, usd) in set {
        p[s.asset_idx(id).unwrap()] = *usd;
    }
    p
}

fn lp_price(m: &Amm, p: &[f64]) -> f64 {
    match m.price_inputs(p)[..] {
        [cascade_protocols::PriceInput::Price { usd, .. }] => usd,
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn constant_product_lp_after_eth_falls() {
    // Snapshot: 100·2000 + 200,000 = 400,000 USD → lp_supply defaults to 400,000 (LP = 1 USD).
    // ETH 2000 → 1500: arbitrage keeps k = 100·200,000 = 2e7 and moves to y/x = 1500:
    //   x = √(k/1500) = √13,333.33 = 115.47005383792515 ETH (arbitrageurs sold 15.47 ETH in),
    //   y = √(k·1500) = √3e10 = 173,205.08075688773 USDC,
    //   value = x·1500 + y = 2√(k·1500) = 346,410.16151377546 USD,
    // against 100·1500 + 200,000 = 350,000 had the LP held the tokens: an impermanent loss of
    // 3,589.84 USD (1.0257%). LP = 346,410.16/400,000 = 0.8660254037844386 (= √0.75: an x·y = k share
    // moves with the square root of the price ratio).
    let s = pool_system(ETH_USDC);
    let mut m = amm_of(&s);
    m.on_prices(&prices(&s, &[]));
    assert_eq!(m.lp_supply(), Some(400_000.0));
    let p = prices(&s, &[("ETH", 1500.0)]);
    m.on_prices(&p);
    let [(_, x), (_, y)] = m.reserves();
    assert_close!(x, 115.47005383792515, 1e-12);
    assert_close!(y, 173_205.08075688773, 1e-12);
    assert_close!(m.tvl_usd(&p), 346_410.16151377546, 1e-12);
    assert_close!(350_000.0 - m.tvl_usd(&p), 3_589.838486224541, 1e-9);
    assert_close!(lp_price(&m, &p), 0.8660254037844386, 1e-12);

    // The same through the engine: LP at 1 before the shock, √0.75 after; the pool's TVL is 400,000.
    let r = run(&s, &scenario(&s, ETH_MINUS_25));
    assert_close!(r.initial_prices["LP"], 1.0, 1e-15);
    assert_close!(r.rounds[0].prices["LP"], 0.8660254037844386, 1e-12);
    assert_close!(r.final_prices["LP"], 0.8660254037844386, 1e-12);
    assert_close!(r.protocols[0].tvl_usd, 400_000.0, 1e-15);
    assert_eq!(r.protocols[0].kind, "amm");
    assert_eq!(r.system.accounts_liquidated, 0);
    assert!(r.system.fixed_point);
}

#[test]
fn stableswap_pool_drains_usdt_when_usdc_depegs() {
    // A = 100, 1e6 USDC + 1e6 USDT. Balanced, the invariant Ann·(x+y) + D = Ann·D + D³/(4xy)
    // (Ann = 4A = 400) is solved by D = x + y = 2e6; lp_supply defaults to 2e6 USD.
    // USDC → 0.87: arbitrageurs sell USDC into the pool for USDT until −dy/dx =
    // (Ann + D³/(4x²y)) / (Ann + D³/(4xy²)) = 0.87 with D kept. Solved independently (Python, mpmath
    // at 50 digits: Curve's Newton iteration for y given x and D, bisection on x for the price):
    //   x = 1,887,869.1617930484 USDC, y = 127,846.92924205374 USDT — 93.7% USDC;
    //   both sides of the invariant = 808,286,436.41404086;
    //   value = 0.87·x + y = 1,770,293.1000020059 USD → LP = 0.885_146_550_001_003.
    // The LP loses less than USDC (−11.5% against −13%): a tenth of the pool is still USDT.
    let s = pool_system(&usdc_usdt(100.0, 1e6));
    let mut m = amm_of(&s);
    m.on_prices(&prices(&s, &[]));
    assert_eq!(m.lp_supply(), Some(2e6));
    let p = prices(&s, &[("USDC", 0.87)]);
    m.on_prices(&p);
    let [(_, x), (_, y)] = m.reserves();
    assert_close!(x, 1_887_869.1617930484, 1e-9);
    assert_close!(y, 127_846.92924205374, 1e-8);
    let (ann, d) = (400.0, 2e6);
    assert_close!(ann * (x + y) + d, 808_286_436.414_040_9, 1e-10);
    assert_close!(
        ann * d + d * d * d / (4.0 * x * y),
        808_286_436.414_040_9,
        1e-9
    );
    let spot = (ann + d.powi(3) / (4.0 * x * x * y)) / (ann + d.powi(3) / (4.0 * x * y * y));
    assert_close!(spot, 0.87, 1e-9);
    assert_close!(lp_price(&m, &p), 0.885_146_550_001_003, 1e-9);

    // A 3pool-sized pool, A = 2000, 4e8 of each (D = 8e8), through the engine. Same solver:
    //   x = 790,111,100.90090925, y = 11,543,205.302761413 (98.6% USDC),
    //   LP = (0.87·x + y)/8e8 = 0.8736748288581906.
    let s = pool_system(&usdc_usdt(2000.0, 4e8));
    let r = run(&s, &scenario(&s, USDC_TO_087));
    assert_close!(r.initial_prices["LP"], 1.0, 1e-15);
    assert_close!(r.final_prices["LP"], 0.8736748288581906, 1e-9);
    assert_close!(r.final_prices["USDC"], 0.87, 1e-15);
    assert_close!(r.protocols[0].tvl_usd, 8e8, 1e-15);
}

#[test]
fn lp_collateral_is_liquidated_when_the_lp_value_falls() {
    // "lend" accepts LP (LTV 0.75, LT 0.80, bonus 5%) and lends USDC. "lp-holder": 10,000 LP
    // (10,000 USD at the snapshot) against 7,000 USDC: HF = 10,000·0.80/7,000 = 1.142857.
    // ETH −25% → LP = √0.75 = 0.8660254037844386 (the constant-product test above):
    //   HF = 10,000·0.8660254·0.80/7,000 = 6,928.2032/7,000 = 0.98974 < 1, ≥ 0.95 → close factor 50%:
    //   repay 3,500 USDC, seize 3,500·1.05/0.8660254037844386 = 4,243.5244785437494 LP (3,675 USD);
    //   left 5,756.4755214562506 LP: HF = 5,756.4755·0.8660254·0.80/3,500 = 1.1394866 ≥ 1, one call.
    // The LP curve has no impact, so round 2 is quiet: a fixed point after 2 rounds, no bad debt.
    let s = pools(ETH_USDC)
        .lending("lend", &[])
        .reserve(("LP", 0.75, 0.80, 0.05), "borrowable = false")
        .reserve(USDC_RESERVE, "")
        .account("lp-holder", "lend", &[("LP", 10000.0)], &[("USDC", 7000.0)])
        .build();
    // Before the shock nothing happens: LP = 1, HF 1.142857.
    let calm = run(&s, &scenario(&s, "name = \"calm\"\n"));
    assert_eq!(calm.system.accounts_liquidated, 0);
    assert_close!(calm.final_prices["LP"], 1.0, 1e-15);

    let r = run(&s, &scenario(&s, ETH_MINUS_25));
    assert_close!(r.rounds[1].prices["LP"], 0.8660254037844386, 1e-12);
    let l = &r.rounds[1].liquidations;
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].protocol.as_str(), l[0].collateral.as_str()),
        ("lend", "LP")
    );
    assert_close!(l[0].repaid_tokens, 3500.0);
    assert_close!(l[0].seized_tokens, 4_243.524_478_543_749, 1e-12);
    assert_close!(l[0].seized_usd, 3675.0, 1e-12);
    // The LP's own curve has no impact and is anchored at the post-shock LP price, so the sale yields
    // its value: 4,243.52 LP × 0.8660254 = 3,675 USD (it once yielded 4,243.52 USD when the curve was
    // still anchored at the pre-shock price of 1).
    assert_eq!(r.rounds[1].sales[0].asset, "LP");
    assert_close!(r.rounds[1].sales[0].fill.proceeds_usd, 3675.0, 1e-9);
    assert_eq!(l[0].calls, 1);
    assert_eq!(r.system.accounts_liquidated, 1);
    assert_eq!(r.system.bad_debt_usd, 0.0);
    assert_eq!(r.system.accounts_underwater, 0);
    assert_eq!(r.system.rounds, 2);
    assert!(r.system.fixed_point);
}

#[test]
fn on_prices_is_idempotent_and_path_independent() {
    // Arbitrage recomputes the reserves from the snapshot invariant, so the same prices give the same
    // reserves bit for bit however often and by whatever path they are reached, and the default
    // lp_supply stays the value at the first prices (400,000 and 2e6).
    let cases = [
        (pool_system(ETH_USDC), "ETH", [1500.0, 900.0, 2600.0]),
        (
            pool_system(&usdc_usdt(100.0, 1e6)),
            "USDC",
            [0.87, 0.5, 1.02],
        ),
    ];
    for (s, moved, path) in &cases {
        let p0 = prices(s, &[]);
        let p1 = prices(s, &[(moved, path[0])]);
        let mut direct = amm_of(s);
        direct.on_prices(&p0);
        let supply = direct.lp_supply();
        direct.on_prices(&p1);
        let once = (direct.reserves(), lp_price(&direct, &p1));
        for _ in 0..3 {
            direct.on_prices(&p1);
            assert_eq!((direct.reserves(), lp_price(&direct, &p1)), once);
        }
        let mut roundabout = amm_of(s);
        roundabout.on_prices(&p0);
        for x in &path[1..] {
            roundabout.on_prices(&prices(s, &[(moved, *x)]));
        }
        roundabout.on_prices(&p1);
        assert_eq!(roundabout.reserves(), once.0);
        assert_eq!(roundabout.lp_supply(), supply);
        // Back at the snapshot prices the pool is back at its snapshot reserves.
        roundabout.on_prices(&p0);
        let back = roundabout.reserves();
        let snap = &s.protocols[0].amm().unwrap().reserves;
        assert_close!(back[0].1, snap[0].1, 1e-9);
        assert_close!(back[1].1, snap[1].1, 1e-9);
    }
}

#[test]
fn explicit_lp_supply_and_a_pool_exploit() {
    // lp_supply = 200,000: LP = 400,000/200,000 = 2 USD at the snapshot. A protocol default of 30%
    // (an exploit draining 30% of both reserves) leaves 280,000 USD: LP = 1.4. With ETH −25% as well,
    // 0.7·346,410.16151377546/200,000 = 1.2124355652982141.
    let pool = format!("{ETH_USDC}lp_supply = 200000.0\n");
    let s = pool_system(&pool);
    let exploit = "[[shock]]\nprotocol = \"pool\"\ndefault = 0.3\n";
    let r = run(&s, &scenario(&s, exploit));
    assert_close!(r.initial_prices["LP"], 2.0, 1e-15);
    assert_close!(r.final_prices["LP"], 1.4, 1e-12);
    let r = run(&s, &scenario(&s, &format!("{exploit}{ETH_MINUS_25}")));
    assert_close!(r.final_prices["LP"], 1.2124355652982141, 1e-12);
}

#[test]
fn a_worthless_side_drains_the_pool() {
    // USDT at 0 (a bridge-hacked or defaulted asset can reach it): arbitrageurs take every USDC out
    // for worthless USDT, so the pool is worth 0 and so is the LP token.
    let s = pool_system(&usdc_usdt(100.0, 1e6));
    let mut m = amm_of(&s);
    m.on_prices(&prices(&s, &[]));
    let p = prices(&s, &[("USDT", 0.0)]);
    m.on_prices(&p);
    assert_eq!(m.reserves()[0].1, 0.0);
    assert_eq!(m.tvl_usd(&p), 0.0);
    assert_eq!(lp_price(&m, &p), 0.0);
}

#[test]
fn an_amm_pool_is_the_liquidity_venue_of_an_asset() {
    // X sells into the constant-product X/USDC pool "xpool" (10M of each, no fee):
    // `liquidity = { curve = "amm", pool = "xpool" }`. X −20% (0.8): the venue is moved along k = 1e14
    // to 0.8 — base = √(k/0.8) = 11,180,339.887, quote = √(k·0.8) = 8,944,271.910.
    // "h" (100,000 X, LT 0.8, bonus 5%; 70,000 USDC): HF = 64,000/70,000 = 0.914 → repay all,
    // seize 70,000·1.05/0.8 = 91,875 X (bonus 3,500 > slippage 599.07: a liquidator acts).
    // Sold into the pool: out = quote·q/(base + q) = 72,900.93295174057 USDC; X's price becomes the
    // pool's marginal price (quote − out)/(base + q) = 0.7870122301239926 (Python, 50-digit decimals).
    let s = System::new()
        .name("venue")
        .asset(
            "X",
            "governance",
            "price = 1.0\nliquidity = { curve = \"amm\", pool = \"xpool\" }",
        )
        .adv(1.0e12)
        .usdc()
        .adv(1.0e9)
        .asset("XLP", "lp", "")
        .amm(
            "xpool",
            "XLP",
            "invariant = \"constant_product\"\nreserves = { X = 1.0e7, USDC = 1.0e7 }",
        )
        .lending("lend", &[("X", 0.75, 0.80, 0.05), USDC_RESERVE])
        .account("h", "lend", &[("X", 100000.0)], &[("USDC", 70000.0)])
        .build();
    let x = s.asset_idx("X").unwrap_or(0);
    assert_eq!(s.assets[x].liquidity.pool, Some(0));
    assert_eq!(s.assets[x].liquidity.quote_asset, s.asset_idx("USDC"));
    let r = run(
        &s,
        &scenario(&s, "[[shock]]\nasset = \"X\"\nprice_change = -0.20\n"),
    );
    let l = &r.rounds[1].liquidations[0];
    assert_close!(l.seized_tokens, 91875.0);
    assert_close!(
        r.rounds[1].sales[0].fill.proceeds_usd,
        72900.93295174057,
        1e-9
    );
    assert_close!(r.final_prices["X"], 0.7870122301239926, 1e-9);
    // The serialised snapshot keeps the pool reference.
    let toml = cascade_io::write::snapshot_to_toml(&s, &[], true);
    assert!(
        toml.contains(r#"liquidity = { curve = "amm", pool = "xpool" }"#),
        "{toml}"
    );
}
