//! The built-in example system (examples/builtin) and the synthetic-system generator.
//!
//! Health factors here are worked out independently of the generator, from docs/lending.md#health-factor:
//! `HF = Σ_i c_i·p_i·LT_i / Σ_j d_j·p_j` at snapshot prices, an lst at `p_U·rate·discount`, a
//! receipt at `p_U·rate`, and in e-mode the category's LT for the assets in the category.

use cascade_gen::{generate, generate_detailed, MIN_HEALTH_FACTOR};
use cascade_io::Format;
use cascade_io::{parse_scenario, snapshot_from_str};
use cascade_model::{AssetKind, PoolDepth, Side, Snapshot};

const SYSTEM: &str = include_str!("../../../examples/builtin/system.toml");
const ETH_CRASH: &str = include_str!("../../../examples/builtin/eth-crash.toml");
const STETH_DEPEG: &str = include_str!("../../../examples/builtin/steth-depeg.toml");
const USDC_DEPEG: &str = include_str!("../../../examples/builtin/usdc-depeg.toml");

fn builtin() -> Snapshot {
    match snapshot_from_str(SYSTEM, Format::Toml, "system.toml") {
        Ok((s, diags)) => {
            // One finding by design: the looper "spark-ausdc-04" holds ETH as collateral and as debt.
            let unexpected: Vec<_> = diags
                .items
                .iter()
                .filter(|d| !d.message().contains("same asset as collateral and as debt"))
                .collect();
            assert!(
                unexpected.is_empty() && diags.items.len() == 1,
                "system.toml: unexpected findings:\n{diags}"
            );
            s
        }
        Err(e) => panic!("system.toml does not load:\n{e}"),
    }
}

/// USD price of asset `i` at snapshot time (docs/assets.md#snapshot-reference-prices, no shock).
fn price(s: &Snapshot, i: usize) -> f64 {
    let a = &s.assets[i];
    match a.kind {
        AssetKind::Lst => price(s, a.underlying.unwrap()) * a.rate * a.discount,
        AssetKind::Receipt => price(s, a.underlying.unwrap()) * a.rate,
        AssetKind::Bridged => price(s, a.underlying.unwrap()) * (1.0 - a.bridge_loss),
        // A CDP's stable holds its peg while its backing is at least 1 (docs/cdp.md#stablecoin-price), as at snapshot.
        AssetKind::CdpStable => 1.0,
        // An LP token is worth 1 USD at the snapshot when its pool names no lp_supply (docs/amm.md#lp-token-price with
        // the default supply): the built-in 3CRV.
        AssetKind::Lp => 1.0,
        _ => a.price.expect("exogenous asset has a price"),
    }
}

/// The liquidation threshold that weighs `asset` in `account`'s health factor.
fn liquidation_threshold(s: &Snapshot, account: usize, asset: usize) -> f64 {
    let p = s.accounts.protocol[account] as usize;
    let l = s.protocols[p].lending().expect("lending protocol");
    if let Some(c) = s.accounts.emode[account] {
        let cat = &l.emode[c as usize];
        if cat.assets.contains(&asset) {
            return cat.liquidation_threshold;
        }
    }
    let r = l.reserve_of(asset).expect("reserve");
    if r.collateral_enabled {
        r.liquidation_threshold
    } else {
        0.0
    }
}

/// Every lending account's health factor at snapshot prices (∞ without debt; CDP vaults and
/// clearinghouse accounts are left out, at ∞: see [`vault_ratios`]).
fn health_factors(s: &Snapshot) -> Vec<f64> {
    let prices: Vec<f64> = (0..s.assets.len()).map(|i| price(s, i)).collect();
    let mut weighted = vec![0.0; s.accounts.len()];
    let mut debt = vec![0.0; s.accounts.len()];
    let pos = &s.positions;
    for r in 0..pos.len() {
        let (acc, asset) = (pos.account[r] as usize, pos.asset[r] as usize);
        if s.protocols[s.accounts.protocol[acc] as usize]
            .lending()
            .is_none()
        {
            continue;
        }
        let usd = pos.amount[r] * prices[asset];
        match pos.side[r] {
            Side::Collateral => weighted[acc] += usd * liquidation_threshold(s, acc, asset),
            Side::Debt => debt[acc] += usd,
        }
    }
    weighted
        .iter()
        .zip(&debt)
        .map(|(&w, &d)| if d > 0.0 { w / d } else { f64::INFINITY })
        .collect()
}

/// Every CDP vault's (collateral ratio `c·p/d` at snapshot prices, its type's liquidation ratio).
fn vault_ratios(s: &Snapshot) -> Vec<(String, f64, f64)> {
    let mut coll = vec![0.0; s.accounts.len()];
    let mut debt = vec![0.0; s.accounts.len()];
    let pos = &s.positions;
    for r in 0..pos.len() {
        let (acc, asset) = (pos.account[r] as usize, pos.asset[r] as usize);
        let usd = pos.amount[r] * price(s, asset);
        match pos.side[r] {
            Side::Collateral => coll[acc] += usd,
            Side::Debt => debt[acc] += usd,
        }
    }
    (0..s.accounts.len())
        .filter_map(|acc| {
            let c = s.protocols[s.accounts.protocol[acc] as usize].cdp()?;
            let vt = &c.vault_types[s.accounts.vault_type[acc]? as usize];
            Some((
                s.accounts.id[acc].to_string(),
                coll[acc] / debt[acc],
                vt.liquidation_ratio,
            ))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Part A: the built-in example system.

#[test]
fn builtin_system_loads_without_findings() {
    let s = builtin();
    assert_eq!(s.name, "builtin");
    // The six below, and the clearinghouse when the built-in has one.
    assert!(
        (6..=7).contains(&s.protocols.len()),
        "{} protocols",
        s.protocols.len()
    );
    for id in [
        "wormhole",
        "curve-3pool",
        "aave-v3",
        "compound-v3",
        "spark",
        "maker",
    ] {
        assert!(s.protocol_idx(id).is_some(), "protocol {id}");
    }
    for id in [
        "ETH", "WBTC", "stETH", "USDC", "USDT", "DAI", "AAVE", "aUSDC", "whETH", "TBILL",
    ] {
        assert!(s.asset_idx(id).is_some(), "asset {id}");
    }
    assert!(
        (30..=80).contains(&s.accounts.len()),
        "{} accounts",
        s.accounts.len()
    );
    // Spark takes aUSDC as collateral, and someone posts it there.
    let spark = s.protocol_idx("spark").unwrap();
    let ausdc = s.asset_idx("aUSDC").unwrap();
    assert!(s.total(spark, ausdc, Side::Collateral) > 0.0);
    assert_eq!(
        s.assets[ausdc].issuer,
        Some(s.protocol_idx("aave-v3").unwrap())
    );
}

#[test]
fn builtin_accounts_are_healthy_at_snapshot_prices() {
    let s = builtin();
    let hf = health_factors(&s);
    for (i, h) in hf.iter().enumerate() {
        assert!(
            *h >= 1.0,
            "account {} has HF {h} < 1 at snapshot prices",
            &s.accounts.id[i]
        );
    }
    // Some accounts sit just above 1, and every lending account borrows something.
    assert!(hf.iter().any(|&h| h < 1.05));
    let lending = |i: &usize| {
        s.protocols[s.accounts.protocol[*i] as usize]
            .lending()
            .is_some()
    };
    assert!((0..hf.len()).filter(lending).all(|i| hf[i].is_finite()));
    // Every vault at or above its liquidation ratio, and some vaults exist.
    let vaults = vault_ratios(&s);
    assert!(vaults.len() >= 4);
    for (id, cr, lr) in &vaults {
        assert!(cr >= lr, "vault {id} has CR {cr} < {lr} at snapshot prices");
    }
    // DAI is the CDP's stable and collateral somewhere it is enabled.
    let dai = s.asset_idx("DAI").unwrap();
    assert_eq!(s.assets[dai].kind, AssetKind::CdpStable);
    let aave = s.protocol_idx("aave-v3").unwrap();
    assert!(s.total(aave, dai, Side::Collateral) > 1.0e6);
}

#[test]
fn builtin_bad_debt_account_is_insolvent_after_the_crash() {
    // After ETH −40% its collateral is worth less than its debt plus the bonus: bad debt.
    let s = builtin();
    let acc = s
        .accounts
        .find(s.protocol_idx("aave-v3").unwrap(), "aave-bad-debt");
    let acc = acc.expect("aave-bad-debt exists");
    let eth = s.asset_idx("ETH").unwrap();
    let (mut coll, mut debt) = (0.0, 0.0);
    for r in 0..s.positions.len() {
        if s.positions.account[r] == acc {
            let a = s.positions.asset[r] as usize;
            let p = if a == eth {
                0.6 * price(&s, a)
            } else {
                price(&s, a)
            };
            match s.positions.side[r] {
                Side::Collateral => coll += s.positions.amount[r] * p,
                Side::Debt => debt += s.positions.amount[r] * p,
            }
        }
    }
    assert!(coll < debt, "collateral {coll} vs debt {debt}");
}

#[test]
fn builtin_scenarios_parse_without_findings() {
    let s = builtin();
    for (file, text, name) in [
        ("eth-crash.toml", ETH_CRASH, "eth-crash"),
        ("steth-depeg.toml", STETH_DEPEG, "steth-depeg"),
        ("usdc-depeg.toml", USDC_DEPEG, "usdc-depeg"),
    ] {
        match parse_scenario(text, Format::Toml, file, &s) {
            Ok((sc, diags)) => {
                assert!(diags.is_empty(), "{file}: unexpected findings:\n{diags}");
                assert_eq!(sc.name, name);
                assert_eq!(sc.max_rounds, 50);
            }
            Err(e) => panic!("{file} does not parse:\n{e}"),
        }
    }
    let (crash, _) = parse_scenario(ETH_CRASH, Format::Toml, "eth-crash.toml", &s).unwrap();
    let eth = s.asset_idx("ETH");
    let steth = s.asset_idx("stETH");
    assert!(crash
        .shocks
        .iter()
        .any(|k| k.asset == eth && k.price_change == Some(-0.40)));
    assert!(crash
        .shocks
        .iter()
        .any(|k| k.asset == steth && k.discount == Some(0.95)));
    assert!(crash
        .shocks
        .iter()
        .any(|k| k.asset.is_none() && k.liquidity_multiplier == Some(0.5)));
    let (depeg, _) = parse_scenario(STETH_DEPEG, Format::Toml, "steth-depeg.toml", &s).unwrap();
    assert!(depeg
        .shocks
        .iter()
        .any(|k| k.asset == steth && k.discount == Some(0.93)));
}

// ---------------------------------------------------------------------------------------------
// Part B: the generator.

#[test]
fn same_seed_same_system_different_seed_different_system() {
    let base = builtin();
    let a = generate(&base, 5_000, 42);
    let b = generate(&base, 5_000, 42);
    assert_eq!(a, b);
    let c = generate(&base, 5_000, 43);
    assert_ne!(a.positions, c.positions);
    assert_eq!(a.name, "synthetic-5000");
    assert_eq!(a.accounts.len(), 5_000);
    assert_eq!(&a.accounts.id[0], "acc-0000001");
    assert_eq!(&a.accounts.id[4_999], "acc-0005000");
    // Assets are the base's but for their curves' depth (scaled to the book; see below).
    let mut same = a.assets.clone();
    for (x, y) in same.iter_mut().zip(&base.assets) {
        x.liquidity = y.liquidity.clone();
    }
    assert_eq!(same, base.assets);
    assert_eq!(a.correlations, base.correlations);
    // A prefix of a larger draw is the smaller draw: accounts are drawn in order from one stream.
    let big = generate(&base, 6_000, 42);
    let prefix: Vec<&str> = big.accounts.id.iter().take(5_000).collect();
    assert_eq!(prefix, a.accounts.id.iter().collect::<Vec<_>>());
}

#[test]
fn generated_health_factors_match_their_draws() {
    let base = builtin();
    let g = generate_detailed(&base, 20_000, 7);
    let hf = health_factors(&g.snapshot);
    assert_eq!(hf.len(), g.target_health_factor.len());
    for (i, (&h, &t)) in hf.iter().zip(&g.target_health_factor).enumerate() {
        assert!(h >= MIN_HEALTH_FACTOR - 1e-12, "account {i}: HF {h}");
        assert!(((h - t) / t).abs() < 1e-9, "account {i}: HF {h}, drawn {t}");
    }
    // HF − 1 is log-normal with median 0.45.
    let mut excess: Vec<f64> = g.target_health_factor.iter().map(|h| h - 1.0).collect();
    excess.sort_by(f64::total_cmp);
    let median = excess[excess.len() / 2];
    assert!((0.42..0.48).contains(&median), "median HF − 1 = {median}");
}

#[test]
fn generated_positions_are_valid_and_realistic() {
    let base = builtin();
    let s = generate(&base, 20_000, 11);
    let prices: Vec<f64> = (0..s.assets.len()).map(|i| price(&s, i)).collect();
    let n = s.accounts.len();
    let mut size = vec![0.0; n];
    let mut n_coll = vec![0usize; n];
    let mut n_debt = vec![0usize; n];
    let mut holds_ausdc = vec![false; n];
    let ausdc = s.asset_idx("aUSDC").unwrap();
    for r in 0..s.positions.len() {
        let (acc, asset) = (
            s.positions.account[r] as usize,
            s.positions.asset[r] as usize,
        );
        let side = s.positions.side[r];
        let p = s.accounts.protocol[acc] as usize;
        assert_eq!(
            s.check_position(p, asset, side),
            Ok(None),
            "position {r}: {} {} in {}",
            side.name(),
            s.assets[asset].id,
            s.protocols[p].id
        );
        let amount = s.positions.amount[r];
        assert!(amount.is_finite() && amount > 0.0, "position {r}: {amount}");
        match side {
            Side::Collateral => {
                size[acc] += amount * prices[asset];
                n_coll[acc] += 1;
                holds_ausdc[acc] |= asset == ausdc;
            }
            Side::Debt => n_debt[acc] += 1,
        }
    }
    assert!(n_coll.iter().all(|&k| (1..=3).contains(&k)));
    assert!(n_debt.iter().all(|&k| k == 1));
    // Every lending pool is used, roughly in proportion to its size.
    for p in (0..s.protocols.len()).filter(|&p| s.protocols[p].lending().is_some()) {
        let count = s
            .accounts
            .protocol
            .iter()
            .filter(|&&x| x as usize == p)
            .count();
        assert!(
            count > n / 20,
            "protocol {}: {count} accounts",
            s.protocols[p].id
        );
    }
    // aUSDC is reused as collateral (in Spark, the only pool that takes it).
    let ausdc_share = holds_ausdc.iter().filter(|&&h| h).count() as f64 / n as f64;
    assert!(ausdc_share > 0.0, "no account holds aUSDC");
    // E-mode loops exist, all lst collateral against the underlying.
    let loops = s.accounts.emode.iter().filter(|e| e.is_some()).count();
    assert!(loops > n / 50, "{loops} e-mode accounts");
    // Sizes: median ≈ $20k, heavy right tail.
    let mut sorted = size.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[n / 2];
    assert!(
        (17_000.0..23_000.0).contains(&median),
        "median size {median}"
    );
    assert!(sorted[n - 1] > 50.0 * median, "largest {}", sorted[n - 1]);
}

#[test]
fn generated_system_of_a_bare_base_is_empty_but_well_formed() {
    let mut base = builtin();
    base.protocols.clear();
    base.accounts = Default::default();
    base.positions = Default::default();
    let s = generate(&base, 100, 1);
    assert_eq!(s.accounts.len(), 0);
    assert_eq!(s.positions.len(), 0);
}

/// Run with `cargo test --release -p cascade-io --test gen -- --ignored`.
#[test]
#[ignore = "timing; meaningful in release only"]
fn a_million_accounts_in_well_under_two_seconds() {
    let base = builtin();
    let t = std::time::Instant::now();
    let s = generate(&base, 1_000_000, 3);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(s.accounts.len(), 1_000_000);
    eprintln!(
        "generated 1,000,000 accounts, {} positions, in {secs:.3} s",
        s.positions.len()
    );
    assert!(secs < 2.0, "{secs} s");
}

#[test]
fn market_depth_scales_with_each_assets_collateral() {
    use cascade_model::CurveSpec;
    let base = builtin();
    let g = generate(&base, 20_000, 3);
    let prices = cascade_gen::snapshot_prices(&base);
    let coll = |s: &cascade_model::Snapshot, a: usize| -> f64 {
        (0..s.positions.len())
            .filter(|&i| {
                s.positions.asset[i] as usize == a && s.positions.side[i] == Side::Collateral
            })
            .map(|i| s.positions.amount[i] * prices[a])
            .sum()
    };
    let eth = base.asset_idx("ETH").unwrap_or(0);
    let ratio = coll(&g, eth) / coll(&base, eth);
    match (
        &base.assets[eth].liquidity.curve,
        &g.assets[eth].liquidity.curve,
    ) {
        (
            CurveSpec::PowerLaw {
                adv_usd: a, k: k0, ..
            },
            CurveSpec::PowerLaw {
                adv_usd: b, k: k1, ..
            },
        ) => {
            assert!(
                (b / a - ratio).abs() < 1e-9 * ratio,
                "adv scaled by {} for a collateral ratio of {ratio}",
                b / a
            );
            assert_eq!(k0, k1);
        }
        other => panic!("ETH curves changed kind: {other:?}"),
    }
    let steth = base.asset_idx("stETH").unwrap_or(0);
    let ratio = coll(&g, steth) / coll(&base, steth);
    match (
        &base.assets[steth].liquidity.curve,
        &g.assets[steth].liquidity.curve,
    ) {
        (
            CurveSpec::StableSwap {
                amplification: a0,
                depth: PoolDepth { base: x0, .. },
            },
            CurveSpec::StableSwap {
                amplification: a1,
                depth: PoolDepth { base: x1, .. },
            },
        ) => {
            assert!((x1 / x0 - ratio).abs() < 1e-9 * ratio);
            assert_eq!(a0, a1);
        }
        other => panic!("stETH curves changed kind: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Derivatives: the clearinghouse book

mod derivatives {
    use cascade_gen::{
        clearinghouse_book, generate_detailed, generate_with, listed_strikes, GenOptions,
    };
    use cascade_io::write::snapshot_to_toml;
    use cascade_model::{MarginMode, OptionType, Side};

    use super::builtin;
    use cascade_testkit::{normalized, parse};

    #[test]
    fn listed_strikes_round_to_the_tick() {
        // Spot 2000: 0.60·2000 = 1200 … 1.55·2000 = 3100 in steps of 0.05·2000 = 100 (tick 50).
        let want: Vec<f64> = (0..20).map(|i| 1200.0 + 100.0 * f64::from(i)).collect();
        assert_eq!(listed_strikes(2000.0), want);
        // Spot 0.8: tick 5·10^(−1−2) = 0.005; 0.6·0.8 = 0.48, 0.65·0.8 = 0.52, 1.55·0.8 = 1.24.
        let small = listed_strikes(0.8);
        assert!((small[0] - 0.48).abs() < 1e-12);
        assert!((small[1] - 0.52).abs() < 1e-12);
        assert!((small[19] - 1.24).abs() < 1e-12);
    }

    #[test]
    fn clearinghouse_book_has_the_drawn_shape() {
        let s = clearinghouse_book(2000, 10, 3);
        assert_eq!(s.name, "clearinghouse-book-2000");
        assert_eq!(s.accounts.len(), 2000);
        assert!(s
            .accounts
            .margin_mode
            .iter()
            .all(|m| *m == MarginMode::Portfolio));
        assert_eq!(s.options.len(), 20_000);
        let c = s.protocols[0].clearinghouse().unwrap();
        assert_eq!(c.markets[0].id, "ETH-PERP");
        assert_eq!(c.options.smile[0].atm, 0.8);
        // Collateral per account, USD (USDC at 1, stETH at 2000·1·1).
        let mut coll = vec![0.0f64; 2000];
        for i in 0..s.positions.len() {
            assert_eq!(s.positions.side[i], Side::Collateral);
            let usd = if s.positions.asset[i] == 0 {
                1.0
            } else {
                2000.0
            };
            coll[s.positions.account[i] as usize] += s.positions.amount[i] * usd;
        }
        assert!(coll.iter().all(|&c| c >= 500.0 - 1e-9));
        let mut sorted = coll.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[1000];
        assert!((22_000.0..28_000.0).contains(&median), "median {median}");
        // Perps: 60% of accounts, leverage ≤ 0.8/imr = 8, entry within ±10% of 2000.
        let share = s.perps.len() as f64 / 2000.0;
        assert!((0.56..0.64).contains(&share), "perp share {share}");
        for i in 0..s.perps.len() {
            let lev = s.perps.size[i].abs() * 2000.0 / coll[s.perps.account[i] as usize];
            assert!(lev <= 8.0 + 1e-9, "leverage {lev}");
            assert!((1800.0..=2200.0).contains(&s.perps.entry_price[i]));
        }
        // Options: on the 5 × 20 × 2 listed series, every one drawn, notional 5–30% of collateral,
        // 40% written.
        let strikes = listed_strikes(2000.0);
        let mut seen = std::collections::HashSet::new();
        let mut short = 0;
        for i in 0..s.options.len() {
            let k = strikes
                .iter()
                .position(|&x| x == s.options.strike[i])
                .unwrap();
            let e = [7.0, 14.0, 30.0, 60.0, 90.0]
                .iter()
                .position(|&x| x == s.options.expiry_days[i])
                .unwrap();
            seen.insert((k, e, s.options.kind[i] == OptionType::Call));
            let share = s.options.size[i].abs() * 2000.0 / coll[s.options.account[i] as usize];
            assert!(
                (0.05 - 1e-12..=0.3 + 1e-12).contains(&share),
                "share {share}"
            );
            short += usize::from(s.options.size[i] < 0.0);
        }
        assert_eq!(seen.len(), 200);
        let short = short as f64 / 20_000.0;
        assert!((0.38..0.42).contains(&short), "short share {short}");
        // Insurance fund: 1% of the collateral, in USDC.
        let total: f64 = coll.iter().sum();
        let fund = s.protocols[0].insurance_fund[0];
        assert_eq!(fund.0, 0);
        assert!((fund.1 - 0.01 * total).abs() < 1e-6 * total);
        assert_eq!(s, clearinghouse_book(2000, 10, 3));
        assert_ne!(s, clearinghouse_book(2000, 10, 4));
    }

    #[test]
    fn clearinghouse_book_round_trips_through_toml() {
        let s = clearinghouse_book(40, 3, 9);
        let text = snapshot_to_toml(&s, &[], true);
        assert_eq!(normalized(parse(&text)), normalized(s));
    }

    #[test]
    fn generate_with_adds_a_clearinghouse_and_keeps_the_lending_book() {
        let base = builtin();
        let plain = generate_detailed(&base, 500, 5);
        let opts = GenOptions {
            derivative_accounts: 300,
            options_per_account: 4,
        };
        let g = generate_with(&base, 500, 5, &opts);
        let (a, b) = (&plain.snapshot, &g.snapshot);
        assert_eq!(g.target_health_factor, plain.target_health_factor);
        assert_eq!(b.protocols.len(), a.protocols.len() + 1);
        assert_eq!(&b.protocols[..a.protocols.len()], &a.protocols[..]);
        let prefix: Vec<&str> = b.accounts.id.iter().take(500).collect();
        assert_eq!(prefix, a.accounts.id.iter().collect::<Vec<_>>());
        assert_eq!(b.accounts.len(), 800);
        assert_eq!(
            &b.positions.amount[..a.positions.len()],
            &a.positions.amount[..]
        );
        let p = b.protocols.last().unwrap();
        assert_eq!(p.id, "perpdex");
        let c = p.clearinghouse().unwrap();
        // The builtin's first priced stable is USDC, its first native ETH, whose lst is stETH.
        let ids: Vec<&str> = c
            .collateral
            .iter()
            .map(|w| b.assets[w.asset].id.as_str())
            .collect();
        assert_eq!(ids, ["USDC", "stETH"]);
        assert_eq!(c.markets[0].id, "ETH-PERP");
        assert_eq!(b.options.len(), 1200);
        // It loads back: the TOML of the whole system reads to the same snapshot.
        let text = snapshot_to_toml(b, &[], true);
        assert_eq!(normalized(parse(&text)), normalized(b.clone()));
    }
}
