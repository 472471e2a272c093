use super::*;
use crate::series::{parse_prices, PriceSeries, SeriesFormat};

/// An hourly series (timestamps `i·3600`) of one asset `CRV` from price 100 with these log returns.
fn hourly(returns: &[f64]) -> PriceSeries {
    let mut prices = vec![100.0f64];
    for r in returns {
        let last = prices[prices.len() - 1];
        prices.push(last * r.exp());
    }
    PriceSeries {
        source: "test.csv".into(),
        format: SeriesFormat::Generic,
        timestamps_s: (0..prices.len()).map(|i| i as f64 * 3600.0).collect(),
        assets: vec!["CRV".into()],
        prices: vec![prices],
    }
}

/// `n` returns alternating `+a, −a`.
fn alternating(n: usize, a: f64) -> Vec<f64> {
    (0..n).map(|i| if i % 2 == 0 { a } else { -a }).collect()
}

fn policy(every: usize, max_step: f64) -> Policy {
    Policy {
        every,
        max_step,
        alpha: 0.99,
        horizon_days: 1.0,
        window: 50,
        refit_every: 1,
        model: VolModel::Ewma { lambda: 0.94 },
    }
}

fn lever(kind: LeverKind, impact: f64) -> Lever {
    Lever {
        protocol: "aave".into(),
        asset: "CRV".into(),
        series: 0,
        column: 0,
        impact,
        kind,
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

/// 50 returns of ±0.01 then 50 of ±0.02, rebalanced every 50 hours from t = 50 (W = 50): the
/// window at t = 50 is all ±0.01, at t = 100 all ±0.02, so EWMA's seed and every update are
/// σ² = 1e-4, then 4e-4 per hour (the mean square of ±a is a²). Hourly: n = 8760.
///
/// t = 50:  σ = √(8760·1e-4) = 0.9359487;  x = z_99·σ·√(1/365) = 2.3263479·0.9359487·0.0523424 = 0.1139673
///          e^−x = 0.8922871, e^x = 1.1207155, e^(x√2) = e^0.1611741 = 1.1748895
///   collateral (impact 0.02, LB 0.05): h = 1 − 0.8922871 + 0.02 = 0.1277129
///          LT* = (1 − 0.1277129)/1.05 = 0.8307496; LTV* = LT* − (0.80 − 0.75) = 0.7807496
///          applied from 0.80/0.75 with steps ≤ 0.03: LT 0.83, LTV 0.78
///   debt (impact 0.03): h = 0.1377129, BF* = 0.8622871; applied from 1: 0.97
///   market (fee 0.01): MMR* = 0.1207155 + 0.01 = 0.1307155, IMR* = 0.1748895 + 0.01 = 0.1848895;
///          applied from 0.05/0.10: 0.08, 0.13
/// t = 100: σ = √(8760·4e-4) = 1.8718974; x = 0.2279346; e^−x = 0.7961763, e^x = 1.2560032,
///          e^(x√2) = e^0.3223482 = 1.3803654
///   collateral: h = 0.2238237, LT* = 0.7392155, LTV* = 0.6892155; applied 0.80, 0.75 (−0.03 each)
///   debt: BF* = 0.7661763; applied 0.94
///   market: MMR* = 0.2660032, IMR* = 0.3903654; applied 0.11, 0.16
#[test]
fn targets_and_steps_match_hand_worked_values() {
    let mut r = alternating(50, 0.01);
    r.extend(alternating(50, 0.02));
    let s = hourly(&r);
    let levers = [
        lever(
            LeverKind::Collateral {
                bonus: 0.05,
                lt: Some(0.80),
                ltv: Some(0.75),
                spread: Some(0.05),
            },
            0.02,
        ),
        lever(
            LeverKind::Debt {
                borrow_factor: 1.0,
                borrow_cap_tokens: 5.0,
            },
            0.03,
        ),
        lever(
            LeverKind::Market {
                id: "CRV-PERP".into(),
                fee: 0.01,
                mmr: 0.05,
                imr: 0.10,
            },
            0.0,
        ),
    ];
    let rows = run(&[s], &levers, &policy(50, 0.03), None, None).unwrap();
    assert_eq!(rows.len(), 6);
    let (c50, d50, m50, c100, d100, m100) =
        (&rows[0], &rows[1], &rows[2], &rows[3], &rows[4], &rows[5]);
    assert_eq!(
        (c50.timestamp_s, c100.timestamp_s),
        (50.0 * 3600.0, 100.0 * 3600.0)
    );
    assert_eq!(
        (c50.lever.as_str(), d50.lever.as_str()),
        ("collateral", "debt")
    );
    assert_eq!(m50.lever, "market:CRV-PERP");
    assert!(close(Some(c50.sigma_annual), 0.935_948_716_5), "{c50:?}");
    assert!(close(Some(c50.haircut), 0.127_712_871_4), "{c50:?}");
    assert!(close(c50.lt_target, 0.830_749_646_3), "{c50:?}");
    assert!(close(c50.ltv_target, 0.780_749_646_3), "{c50:?}");
    assert!(
        close(c50.lt_applied, 0.83) && close(c50.ltv_applied, 0.78),
        "{c50:?}"
    );
    assert!(close(d50.borrow_factor_target, 0.862_287_128_6), "{d50:?}");
    assert!(close(d50.borrow_factor_applied, 0.97), "{d50:?}");
    assert!(close(m50.mmr_target, 0.130_715_482_6), "{m50:?}");
    assert!(close(m50.imr_target, 0.184_889_509_3), "{m50:?}");
    assert!(
        close(m50.mmr_applied, 0.08) && close(m50.imr_applied, 0.13),
        "{m50:?}"
    );
    assert!(close(Some(c100.sigma_annual), 1.871_897_433_1), "{c100:?}");
    assert!(close(c100.lt_target, 0.739_215_542_8), "{c100:?}");
    assert!(close(c100.ltv_target, 0.689_215_542_8), "{c100:?}");
    assert!(
        close(c100.lt_applied, 0.80) && close(c100.ltv_applied, 0.75),
        "{c100:?}"
    );
    assert!(
        close(d100.borrow_factor_target, 0.766_176_319_9),
        "{d100:?}"
    );
    assert!(close(d100.borrow_factor_applied, 0.94), "{d100:?}");
    assert!(close(m100.mmr_target, 0.266_003_193_0), "{m100:?}");
    assert!(close(m100.imr_target, 0.390_365_359_1), "{m100:?}");
    assert!(
        close(m100.mmr_applied, 0.11) && close(m100.imr_applied, 0.16),
        "{m100:?}"
    );
    // Figures that do not apply are empty.
    assert_eq!((c50.borrow_factor_target, d50.lt_target), (None, None));
}

/// A constant forecast (±0.01 throughout) and an LT far below its target: the applied LT climbs by
/// exactly max_step = 0.03 per rebalance, 0.60 → 0.63 → … → 0.81, then lands on LT* = 0.8307496
/// (the 8th step, 0.0207496 < 0.03) and stays there. Rebalances every 10 hours from t = 50 to 200:
/// 16 of them.
#[test]
fn max_step_is_respected_and_the_target_reached() {
    let s = hourly(&alternating(200, 0.01));
    let l = lever(
        LeverKind::Collateral {
            bonus: 0.05,
            lt: Some(0.60),
            ltv: Some(0.55),
            spread: Some(0.05),
        },
        0.02,
    );
    let rows = run(&[s], &[l], &policy(10, 0.03), None, None).unwrap();
    assert_eq!(rows.len(), 16);
    let applied: Vec<f64> = rows.iter().map(|r| r.lt_applied.unwrap()).collect();
    for (k, a) in applied.iter().take(7).enumerate() {
        assert!(
            (a - (0.60 + 0.03 * (k + 1) as f64)).abs() < 1e-12,
            "{applied:?}"
        );
    }
    for a in &applied[7..] {
        assert!((a - 0.830_749_646_3).abs() < 1e-9, "{applied:?}");
    }
    let mut prev = 0.60;
    for r in &rows {
        let (lt, ltv) = (r.lt_applied.unwrap(), r.ltv_applied.unwrap());
        assert!((lt - prev).abs() <= 0.03 + 1e-12 && ltv <= lt, "{r:?}");
        prev = lt;
    }
}

/// No look-ahead: the forecasts (and so the recommendations) at t ≤ 120 are the same whether or
/// not the series goes on after t = 120 with a crash, for each model.
#[test]
fn forecasts_use_no_data_after_the_rebalance() {
    let mut r: Vec<f64> = (0..120)
        .map(|i| 0.01 * ((i * 7 % 11) as f64 - 5.0) / 5.0)
        .collect();
    let short = hourly(&r);
    r.extend([-0.5, 0.3, -0.4, 0.2]);
    r.extend(alternating(40, 0.05));
    let long = hourly(&r);
    let points = [60, 90, 120];
    for model in [
        VolModel::Ewma { lambda: 0.94 },
        VolModel::Garch,
        VolModel::Quantile {
            confidence: 0.99,
            feature_window: 5,
        },
    ] {
        let p = Policy {
            model,
            ..policy(1, 0.02)
        };
        let a = sigma_forecasts(&short.prices[0], 8760.0, 3600.0, &points, &p).unwrap();
        let b = sigma_forecasts(&long.prices[0], 8760.0, 3600.0, &points, &p).unwrap();
        assert_eq!(a, b, "{model:?}");
        // and the crash does change a later forecast (the test can fail)
        let c = sigma_forecasts(&long.prices[0], 8760.0, 3600.0, &[124], &p).unwrap();
        let d = sigma_forecasts(&short.prices[0], 8760.0, 3600.0, &[120], &p).unwrap();
        assert_ne!(c, d, "{model:?}");
    }
}

/// --from/--to select the rebalances; the model still sees the returns before --from.
#[test]
fn rebalances_start_at_from_and_stop_at_to() {
    let s = hourly(&alternating(200, 0.01));
    let p = policy(24, 0.02);
    assert_eq!(
        rebalance_points(&s, &p, None, None),
        [50, 74, 98, 122, 146, 170, 194]
    );
    let from = Some(100.0 * 3600.0);
    let to = Some(150.0 * 3600.0);
    assert_eq!(rebalance_points(&s, &p, from, to), [100, 124, 148]);
    assert!(rebalance_points(&s, &p, Some(1e12), None).is_empty());
}

#[test]
fn bad_policies_and_short_series_are_errors() {
    let s = hourly(&alternating(60, 0.01));
    let l = lever(
        LeverKind::Debt {
            borrow_factor: 1.0,
            borrow_cap_tokens: 5.0,
        },
        0.0,
    );
    for bad in [
        Policy {
            every: 0,
            ..policy(1, 0.02)
        },
        Policy {
            max_step: -0.1,
            ..policy(1, 0.02)
        },
        Policy {
            alpha: 0.4,
            ..policy(1, 0.02)
        },
        Policy {
            horizon_days: 0.0,
            ..policy(1, 0.02)
        },
        Policy {
            window: 10,
            ..policy(1, 0.02)
        },
        Policy {
            model: VolModel::Ewma { lambda: 1.0 },
            ..policy(1, 0.02)
        },
    ] {
        assert!(matches!(
            run(
                std::slice::from_ref(&s),
                std::slice::from_ref(&l),
                &bad,
                None,
                None
            ),
            Err(ModelError::Parameter { .. })
        ));
    }
    let e = sigma_forecasts(&s.prices[0], 8760.0, 3600.0, &[40], &policy(1, 0.02)).unwrap_err();
    assert!(
        matches!(e, ModelError::TooFewReturns { needed: 50, .. }),
        "{e}"
    );
}

/// The snapshot's levers: CRV collateral and debt on a lending protocol and a perp market; USDC has
/// no series and no lever; a column named like no asset is reported. The values in force at a time
/// are written back.
#[test]
fn levers_come_from_the_snapshot_and_go_back_into_it() {
    let toml = r#"
name = "t"
[[asset]]
id = "CRV"
kind = "governance"
price = 0.5
volatility = 1.0
liquidity = { curve = "power_law", adv_usd = 1.0e6, k = 0.3, alpha = 0.5 }
[[asset]]
id = "USDC"
kind = "stable"
price = 1.0
volatility = 0.01
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.0, alpha = 0.5 }
[[protocol]]
id = "lend"
kind = "lending"
[[protocol.reserve]]
asset = "USDC"
ltv = 0.80
liquidation_threshold = 0.85
liquidation_bonus = 0.05
[[protocol.reserve]]
asset = "CRV"
ltv = 0.55
liquidation_threshold = 0.61
liquidation_bonus = 0.08
[[account]]
id = "a"
protocol = "lend"
collateral = { USDC = 1000.0, CRV = 10.0 }
debt = { CRV = 100.0 }
"#;
    let (mut snap, _) =
        cascade_io::snapshot_from_str(toml, cascade_io::Format::Toml, "t.toml").unwrap();
    let series = parse_prices(b"timestamp,crv,ETH\n0,1,1\n3600,1.1,1\n", "p.csv").unwrap();
    let (levers, unmatched) = levers_of(Some(&snap), std::slice::from_ref(&series), 0.05);
    let kinds: Vec<(String, String)> = levers
        .iter()
        .map(|l| (l.asset.clone(), l.kind.name()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("CRV".into(), "collateral".into()),
            ("CRV".into(), "debt".into())
        ]
    );
    assert_eq!(unmatched, ["p.csv: ETH"]);
    // Power law, k = 0.3, α = 1/2, adv = 1e6: buying or selling a value B at once costs a share
    // k/(1 + α)·√(B/adv) = 0.2·√(B/1e6) of it (docs/liquidity.md#power-law).
    // Collateral: 10 CRV = $5, 0.2·√5e-6 = 4.472136e-4; debt: 100 CRV = $50, 0.2·√5e-5 = 1.4142136e-3.
    assert!(
        (levers[0].impact - 4.472_136e-4).abs() < 1e-9,
        "{:?}",
        levers[0]
    );
    assert!(
        (levers[1].impact - 1.414_213_6e-3).abs() < 1e-9,
        "{:?}",
        levers[1]
    );
    // Borrow cap: the smallest collateral bonus is USDC's 0.05; 0.2·√(B/1e6) = 0.05 at
    // B = 1e6·0.25² = $62,500, i.e. 125,000 CRV at $0.5.
    let LeverKind::Debt {
        borrow_cap_tokens, ..
    } = levers[1].kind
    else {
        panic!("{:?}", levers[1]);
    };
    assert!(
        (borrow_cap_tokens - 125_000.0).abs() < 1e-3,
        "{borrow_cap_tokens}"
    );
    let row = |t: f64, lt: f64| AdjustRow {
        timestamp_s: t,
        protocol: "lend".into(),
        asset: "CRV".into(),
        lever: "collateral".into(),
        sigma_annual: 1.0,
        impact: 0.0,
        haircut: 0.1,
        lt_target: Some(0.5),
        lt_applied: Some(lt),
        ltv_target: Some(0.44),
        ltv_applied: Some(lt - 0.06),
        borrow_factor_target: None,
        borrow_factor_applied: None,
        borrow_cap_tokens: None,
        mmr_target: None,
        mmr_applied: None,
        imr_target: None,
        imr_applied: None,
    };
    let rows = [row(0.0, 0.59), row(10.0, 0.57), row(20.0, 0.55)];
    let changes = apply_in_force(&mut snap, &rows, 15.0);
    let crv = snap.asset_idx("CRV").unwrap();
    let r = snap.protocols[0]
        .lending()
        .unwrap()
        .reserves
        .iter()
        .find(|r| r.asset == crv)
        .unwrap();
    assert!((r.liquidation_threshold - 0.57).abs() < 1e-12 && (r.ltv - 0.51).abs() < 1e-12);
    assert_eq!(changes.len(), 2);
    assert_eq!((changes[0].before, changes[0].since_s), (0.61, 10.0));
}

#[test]
fn csv_has_a_header_and_empty_cells_for_what_does_not_apply() {
    let s = hourly(&alternating(50, 0.01));
    let l = lever(
        LeverKind::Debt {
            borrow_factor: 1.0,
            borrow_cap_tokens: 5.0,
        },
        0.0,
    );
    let rows = run(&[s], &[l], &policy(1, 0.02), None, None).unwrap();
    let text = rows_to_csv(&rows).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("timestamp_s,protocol,asset,lever,sigma_annual,impact,haircut,lt_target,lt_applied,ltv_target,ltv_applied,borrow_factor_target,borrow_factor_applied,borrow_cap_tokens,mmr_target,mmr_applied,imr_target,imr_applied")
    );
    let row = lines.next().unwrap();
    assert!(row.starts_with("180000.0,aave,CRV,debt,0.9359487"), "{row}");
    // haircut 1 − e^−0.1139673 = 0.1077129, BF* = 0.8922871, applied 1 − 0.02 = 0.98; LT, LTV and
    // margins empty
    assert!(row.contains(",0.10771287136"), "{row}");
    assert!(row.contains(",,,,,0.89228712863"), "{row}");
    assert!(row.ends_with(",0.98,5.0,,,,"), "{row}");
}

/// A clearinghouse's perp market (examples/replays/mango: MNGO-PERP, mmr 0.1, imr 0.2, fee 0.025)
/// with ±0.01 hourly MNGO returns, one rebalance at t = 50, max step 0.03:
///   x = 0.1139673 (as above); MMR* = e^x − 1 + 0.025 = 0.1207155 + 0.025 = 0.1457155
///   IMR* = e^(x√2) − 1 + 0.025 = 0.1748895 + 0.025 = 0.1998895
///   in force: MMR 0.1 + 0.03 = 0.13; IMR 0.2 → 0.1998895 (a step of 0.0001105 ≤ 0.03)
#[test]
fn a_perp_markets_margins_are_adjusted_and_written_back() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/replays/mango/snapshot.toml");
    let (mut snap, _) = cascade_io::load_snapshot(&path).unwrap();
    let mut s = hourly(&alternating(50, 0.01));
    s.assets = vec!["MNGO".into()];
    let (levers, unmatched) = levers_of(Some(&snap), std::slice::from_ref(&s), 0.05);
    assert!(unmatched.is_empty());
    assert_eq!(levers.len(), 1, "{levers:?}");
    assert_eq!(levers[0].kind.name(), "market:MNGO-PERP");
    let rows = run(&[s], &levers, &policy(1, 0.03), None, None).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert!(
        close(r.mmr_target, 0.145_715_482_6) && close(r.imr_target, 0.199_889_509_3),
        "{r:?}"
    );
    assert!(
        close(r.mmr_applied, 0.13) && close(r.imr_applied, 0.199_889_509_3),
        "{r:?}"
    );
    let changes = apply_in_force(&mut snap, &rows, 1e12);
    let m = &snap.protocols[0].clearinghouse().unwrap().markets[0];
    assert!(
        (m.mmr - 0.13).abs() < 1e-12 && (m.imr - 0.199_889_509_3).abs() < 1e-9,
        "{m:?}"
    );
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["mmr", "imr"]);
}
