//! Clearinghouses in the cascade (docs/clearinghouse.md#derivatives-clearinghouses): closing a short buys through the curve, worked by
//! hand; the Mango Markets replay of examples/replays/mango and its mitigation.

use super::*;

/// USDC as the only collateral, at full weight.
const USDC_MARGIN: &str =
    "collateral = [ { asset = \"USDC\", initial_weight = 1.0, maintenance_weight = 1.0 } ]";

#[test]
fn closing_a_short_buys_through_the_curve_by_hand() {
    // ETH on x·y = k with 1000 ETH and 2,000,000 USD (no fee). A short of 10 ETH-PERP from 1500 with
    // 5000 USDC; ETH +20% → 2400: equity 5000 − 10·900 = −4000 < 0, liquidated in round 1.
    // The curve is anchored at 2400 along its invariant: x = √(k/2400), y = √(k·2400), k = 2e9.
    // Buying back 10 ETH costs y·10/(x − 10); the short realises −10·(cost/10 − 1500); the 5000 USDC is
    // sold (at 1: a flat curve); the 240 fee (1% of 10·2400) is waived for a bankrupt account:
    // bad debt = 10·(cost/10 − 1500) − 5000. After the buy the price is (y + cost)/(x − 10).
    let s = System::new()
        .name("short")
        .usdc()
        .asset(
            "ETH",
            "native",
            "price = 2000.0\nliquidity = { curve = \"constant_product\", base = 1000.0, quote = 2.0e6, fee = 0.0 }",
        )
        .clearinghouse("perps", USDC_MARGIN)
        .market(
            "ETH-PERP",
            "ETH",
            "imr = 0.1\nmmr = 0.05\nliquidation_fee = 0.01",
        )
        .account_toml(
            "short",
            "perps",
            &[("USDC", 5000.0)],
            &[],
            "perps = [ { market = \"ETH-PERP\", size = -10.0, entry_price = 1500.0 } ]",
        )
        .build();
    let sc = scenario(&s, "[[shock]]\nasset = \"ETH\"\nprice_change = 0.2\n");
    let r = run(&s, &sc);
    let k: f64 = 2.0e9;
    let (x, y) = ((k / 2400.0).sqrt(), (k * 2400.0).sqrt());
    let cost = y * 10.0 / (x - 10.0);
    let bad = (cost - 15000.0) - 5000.0;
    assert!(
        (r.system.bad_debt_usd - bad).abs() < 1e-6,
        "{} vs {bad}",
        r.system.bad_debt_usd
    );
    let after = (y + cost) / (x - 10.0);
    assert!((r.final_prices["ETH"] - after).abs() < 1e-6 * after);
    assert_eq!(r.system.accounts_liquidated, 1);
}

fn mango(file: &str) -> (Snapshot, Scenario) {
    let text = match file {
        "base" => include_str!("../../../../examples/replays/mango/snapshot.toml"),
        _ => include_str!("../../../../examples/replays/mango/snapshot-pnl-weight.toml"),
    };
    let s = match snapshot_from_str(text, Format::Toml, "mango.toml") {
        Ok((s, _)) => s,
        Err(e) => panic!("{e}"),
    };
    let sc = match parse_scenario(
        include_str!("../../../../examples/replays/mango/scenario.toml"),
        Format::Toml,
        "scenario.toml",
        &s,
    ) {
        Ok((sc, _)) => sc,
        Err(e) => panic!("{e}"),
    };
    (s, sc)
}

/// Mango Markets, 11 October 2022: ≈ $116M taken. Band: 0.5×–2× of it, and at least $100M borrowed
/// against the pumped profit (the "≈ $100M+").
#[test]
fn mango_replay_lands_in_band() {
    let (s, sc) = mango("base");
    let r = run(&s, &sc);
    let bad = r.system.bad_debt_usd;
    assert!((1.0e8..=2.32e8).contains(&bad), "bad debt {bad}");
    assert!(
        r.trace
            .iter()
            .any(|l| l.contains("×9.9") || l.contains("×10.0")),
        "{:#?}",
        r.trace
    );
    assert!(
        r.system.uncovered_usd > 0.9 * bad,
        "no fund to speak of: it falls on depositors"
    );
}

/// The mitigation: unrealised profit at weight 0 in initial health cannot back a borrow; the same
/// pump leaves no bad debt (> 80% of the loss removed).
#[test]
fn mango_pnl_weight_zero_removes_the_loss() {
    let (s, sc) = mango("base");
    let base = run(&s, &sc).system.bad_debt_usd;
    let (s, sc) = mango("mitigated");
    let mitigated = run(&s, &sc).system.bad_debt_usd;
    assert!(mitigated < 0.2 * base, "{mitigated} vs {base}");
}

/// One long of 10 ETH-PERP from 2000 on 2000 USDC, ETH on a deep curve; `oracle` is the market's
/// oracle table.
fn lagged_long(oracle: &str) -> Snapshot {
    System::new()
        .name("lag")
        .adv(1.0e15)
        .usdc()
        .eth(2000.0)
        .clearinghouse("perps", USDC_MARGIN)
        .market(
            "ETH-PERP",
            "ETH",
            &format!("imr = 0.1\nmmr = 0.05\noracle = {oracle}"),
        )
        .account_toml(
            "long",
            "perps",
            &[("USDC", 2000.0)],
            &[],
            "perps = [ { market = \"ETH-PERP\", size = 10.0, entry_price = 2000.0 } ]",
        )
        .build()
}

#[test]
fn a_lagged_oracle_delays_the_liquidation() {
    // ETH −50% at round 0. Spot oracle: round 1 sees 1000, equity 2000 − 10000 < 0, closed at 1000:
    // bad debt 8000 (fee waived). Oracle 2 rounds late: rounds 1 and 2 still read 2000 (the account
    // is deferred, so the run goes on), round 3 reads 1000 and closes it — the same 8000 here, since
    // the price did not move in between, but two rounds later.
    let crash = "[[shock]]\nasset = \"ETH\"\nprice_change = -0.5\n";
    let s = lagged_long("{ kind = \"spot\" }");
    let r = run(&s, &scenario(&s, crash));
    assert!((r.system.bad_debt_usd - 8000.0).abs() < 1e-6);
    assert_eq!(r.rounds[1].bad_debt_usd, r.system.bad_debt_usd);
    let s = lagged_long("{ kind = \"lagged\", delay_rounds = 2 }");
    let r = run(&s, &scenario(&s, crash));
    assert!((r.system.bad_debt_usd - 8000.0).abs() < 1e-6);
    assert_eq!(r.rounds[1].bad_debt_usd, 0.0);
    assert_eq!(r.rounds[2].bad_debt_usd, 0.0);
    assert!((r.rounds[3].bad_debt_usd - 8000.0).abs() < 1e-6);
    // The scenario's oracle_delay_rounds does the same to a spot oracle.
    let s = lagged_long("{ kind = \"spot\" }");
    let delayed = format!("{crash}[[shock]]\nprotocol = \"perps\"\noracle_delay_rounds = 2\n");
    let r = run(&s, &scenario(&s, &delayed));
    assert_eq!(r.rounds[2].bad_debt_usd, 0.0);
    assert!((r.rounds[3].bad_debt_usd - 8000.0).abs() < 1e-6);
}

const BUILTIN: &str = include_str!("../../../../examples/builtin/system.toml");

fn builtin(with_derivatives: bool) -> Snapshot {
    let text = if with_derivatives {
        BUILTIN.to_string()
    } else {
        // Every perp-dex account is in the block that starts with this comment, at the end.
        let cut = BUILTIN.find("# --- perp-dex").unwrap_or(BUILTIN.len());
        BUILTIN[..cut].to_string()
    };
    match snapshot_from_str(&text, Format::Toml, "system.toml") {
        Ok((s, _)) => s,
        Err(e) => panic!("{e}"),
    }
}

fn protocol<'a>(r: &'a StressResult, id: &str) -> &'a cascade_engine::ProtocolSummary {
    match r.protocols.iter().find(|p| p.id == id) {
        Some(p) => p,
        None => panic!("no protocol {id}"),
    }
}

/// Derivatives → lending: in the built-in eth-crash, perp-dex's liquidations sell ETH and stETH on the
/// curves Aave's liquidators use, so stETH ends lower and Aave's shortfall is larger than in the same
/// system without perp-dex's accounts.
#[test]
fn builtin_derivative_liquidations_reach_the_lending_pools() {
    let crash = include_str!("../../../../examples/builtin/eth-crash.toml");
    let with = builtin(true);
    let without = builtin(false);
    let a = run(&with, &scenario(&with, crash));
    let b = run(&without, &scenario(&without, crash));
    assert!(protocol(&a, "perp-dex").accounts_liquidated > 0);
    assert!(a.final_prices["stETH"] < b.final_prices["stETH"] - 1.0);
    let aave = |r: &StressResult| {
        protocol(r, "aave-v3").shortfall_usd + protocol(r, "aave-v3").bad_debt_usd
    };
    assert!(aave(&a) > aave(&b) + 1e5, "{} vs {}", aave(&a), aave(&b));
}

/// Lending → derivatives: a loss in Aave's USDC reserve lowers aUSDC's recovery, and perp-dex's
/// trader backing a 5,000 ETH long with $2M of aUSDC is liquidated — which ETH −12% alone does not
/// do: equity 2M·0.98 − 5000·240 = 760k ≥ MM 5000·1760·0.03 = 264k; with aUSDC at 0.6 the equity is
/// 1.2M·0.98 − 1.2M < 0.
#[test]
fn builtin_lending_losses_reach_the_clearinghouse() {
    let s = builtin(true);
    let eth = "[[shock]]\nasset = \"ETH\"\nprice_change = -0.12\n";
    let alone = run(&s, &scenario(&s, eth));
    let with_default = format!("{eth}[[shock]]\nprotocol = \"aave-v3\"\ndefault = 0.4\n");
    let both = run(&s, &scenario(&s, &with_default));
    assert_eq!(protocol(&alone, "perp-dex").accounts_liquidated, 0);
    assert!(
        both.final_prices["aUSDC"] < 0.61,
        "{}",
        both.final_prices["aUSDC"]
    );
    assert!(protocol(&both, "perp-dex").accounts_liquidated >= 1);
}
