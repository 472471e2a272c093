//! Monte Carlo checks against closed forms (docs/monte-carlo.md#monte-carlo).

use cascade_risk::metrics::{es, var_estimate};
use cascade_risk::paths::{Dist, Jump, PathModel};
use cascade_risk::simulate::{simulate, simulate_range, Simulation, SimulationSpec};
use cascade_testkit::system::{System, ETH_RESERVE, USDC_RESERVE};

/// ETH (σ = 0.8) and BTC (σ = 0.6) with correlation `rho` and a lending pool; accounts follow.
fn two_assets(rho: f64) -> System {
    System::new()
        .name("mc")
        .asset(
            "ETH",
            "native",
            "price = 2000.0\nvolatility = 0.8\nliquidity = { curve = \"power_law\", adv_usd = 1.0e8, k = 0.039, alpha = 0.5 }",
        )
        .asset(
            "BTC",
            "native",
            "price = 60000.0\nvolatility = 0.6\nliquidity = { curve = \"power_law\", adv_usd = 1.0e8, k = 0.031, alpha = 0.5 }",
        )
        .adv(1.0e10)
        .usdc()
        .toml(&format!(
            "[[correlation]]\nassets = [\"ETH\", \"BTC\"]\nmatrix = [[1.0, {rho:?}], [{rho:?}, 1.0]]"
        ))
        .lending(
            "lend",
            &[ETH_RESERVE, ("BTC", 0.70, 0.75, 0.05), USDC_RESERVE],
        )
}

/// `n` accounts "a0", "a1", … of `eth` ETH each in "lend", the k-th with the debt `debt(k)` USDC.
fn with_accounts(s: System, n: usize, eth: f64, debt: impl Fn(usize) -> f64) -> System {
    (0..n).fold(s, |s, k| {
        s.account(
            &format!("a{k}"),
            "lend",
            &[("ETH", eth)],
            &[("USDC", debt(k))],
        )
    })
}

const N: u64 = 100_000;

#[test]
fn var_and_es_converge_to_the_normal_closed_forms() {
    // A linear position: the loss is −r of one asset (ETH, σ = 0.8) over 1 day. VaR_α = s·z_α and
    // ES_α = s·φ(z_α)/(1 − α) with s = 0.8·√(1/365) = 0.041874: 95%: 1.6448536270 / 2.0627128075,
    // 99%: 2.3263478740 / 2.6652142203 (× s). The closed form must lie in the stated 95% interval
    // (order-statistic for VaR; for ES the interval of a 2-sided ±1.96·sd of the tail mean).
    let s = two_assets(0.0).build();
    let m = PathModel::new(&s, 1.0, Dist::Normal, Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    let mut losses: Vec<f64> = (0..N)
        .map(|i| -m.draw(42, i, false).log_returns[0])
        .collect();
    losses.sort_by(f64::total_cmp);
    let sd = 0.8 * (1.0f64 / 365.0).sqrt();
    for (alpha, zf, ef) in [
        (0.95, 1.6448536270, 2.0627128075),
        (0.99, 2.3263478740, 2.6652142203),
    ] {
        let v = var_estimate(&losses, alpha);
        assert!(
            v.ci[0] <= sd * zf && sd * zf <= v.ci[1],
            "VaR {alpha}: {v:?} vs {}",
            sd * zf
        );
        let e = es(&losses, alpha);
        let tail = &losses[((alpha * N as f64).ceil() as usize - 1)..];
        let var_tail = tail.iter().map(|x| (x - e).powi(2)).sum::<f64>() / tail.len() as f64;
        let half = 1.96 * (var_tail / tail.len() as f64).sqrt() + (v.ci[1] - v.ci[0]) / 2.0;
        assert!(
            (e - sd * ef).abs() <= half,
            "ES {alpha}: {e} vs {} ± {half}",
            sd * ef
        );
    }
}

#[test]
fn student_t_is_rescaled_to_unit_variance() {
    // ν = 6: the rescaled t has variance 1 and kurtosis 3 + 6/(ν − 4) = 6, so the sample variance of
    // 100k draws has a standard error of √(5/100000) = 0.0071; 0.03 is over 4 standard errors.
    let s = two_assets(0.0).build();
    let m = PathModel::new(&s, 365.0, Dist::StudentT { dof: 6.0 }, Vec::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let z: Vec<f64> = (0..N)
        .map(|i| m.draw(7, i, false).log_returns[0] / 0.8)
        .collect();
    let mean = z.iter().sum::<f64>() / N as f64;
    let var = z.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (N - 1) as f64;
    assert!((var - 1.0).abs() < 0.03, "sample variance {var}");
    assert!(PathModel::new(&s, 1.0, Dist::StudentT { dof: 2.0 }, Vec::new()).is_err());
}

#[test]
fn path_correlation_matches_the_input() {
    // ρ = 0.7 between ETH and BTC: the sample correlation of 100k paths within 0.02 (its standard error
    // is (1 − ρ²)/√n = 0.0016).
    let s = two_assets(0.7).build();
    let m = PathModel::new(&s, 1.0, Dist::Normal, Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    let d: Vec<Vec<f64>> = (0..N).map(|i| m.draw(3, i, false).log_returns).collect();
    let mean = |k: usize| d.iter().map(|x| x[k]).sum::<f64>() / N as f64;
    let (ma, mb) = (mean(0), mean(1));
    let cov = d.iter().map(|x| (x[0] - ma) * (x[1] - mb)).sum::<f64>();
    let va = d.iter().map(|x| (x[0] - ma).powi(2)).sum::<f64>();
    let vb = d.iter().map(|x| (x[1] - mb).powi(2)).sum::<f64>();
    let rho = cov / (va * vb).sqrt();
    assert!((rho - 0.7).abs() <= 0.02, "sample correlation {rho}");
}

#[test]
fn antithetic_paths_mirror_and_streams_do_not_depend_on_order() {
    let s = two_assets(0.5).build();
    let m = PathModel::new(&s, 1.0, Dist::Normal, Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (m.draw(9, 10, true), m.draw(9, 11, true));
    assert_eq!(
        a.log_returns.iter().map(|x| -x).collect::<Vec<_>>(),
        b.log_returns
    );
    assert_eq!(m.draw(9, 5, false), m.draw(9, 5, false));
    assert_ne!(m.draw(9, 5, false), m.draw(9, 6, false));
}

#[test]
fn a_correlation_matrix_that_is_not_psd_is_repaired_with_a_warning() {
    // ETH–BTC 0.9, ETH–USDC 0.9, BTC–USDC −0.9 has a negative eigenvalue.
    let mut s = two_assets(0.9).build();
    let usdc = s.asset_idx("USDC").unwrap_or(0);
    s.assets[usdc].volatility = 0.01;
    s.correlations.push(cascade_model::Correlation {
        assets: vec![0, 2],
        matrix: vec![vec![1.0, 0.9], vec![0.9, 1.0]],
        line: 0,
    });
    s.correlations.push(cascade_model::Correlation {
        assets: vec![1, 2],
        matrix: vec![vec![1.0, -0.9], vec![-0.9, 1.0]],
        line: 0,
    });
    let m = PathModel::new(&s, 1.0, Dist::Normal, Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.warnings.len(), 1);
    assert!(
        m.warnings[0].contains("not positive semi-definite"),
        "{:?}",
        m.warnings
    );
    assert!(m
        .draw(1, 0, false)
        .log_returns
        .iter()
        .all(|x| x.is_finite()));
}

#[test]
fn jumps_happen_with_their_probability() {
    // A −10% ETH jump with probability 0.2: the share of paths with it is within 4 standard errors of
    // 0.2 (√(0.16/20000) = 0.0028).
    let s = two_assets(0.0).build();
    let jump = Jump {
        asset: 0,
        probability: 0.2,
        size: -0.1,
    };
    let m = PathModel::new(&s, 1.0, Dist::Normal, vec![jump]).unwrap_or_else(|e| panic!("{e}"));
    let hits = (0..20_000)
        .filter(|&i| m.draw(5, i, false).jumped[0])
        .count();
    assert!(((hits as f64 / 20_000.0) - 0.2).abs() < 0.0112, "{hits}");
    let sc = m.scenario(&m.draw(5, 0, false), "p".into(), 50);
    assert_eq!(
        sc.shocks.len(),
        2 + usize::from(m.draw(5, 0, false).jumped[0])
    );
}

#[test]
fn simulation_is_the_same_with_one_and_two_threads() {
    let s = with_accounts(two_assets(0.6), 200, 10.0, |k| {
        let hf = 1.02 + (k % 40) as f64 * 0.02;
        10.0 * 2000.0 * 0.825 / hf
    })
    .build();
    let spec = SimulationSpec {
        paths: 400,
        horizon_days: 7.0,
        seed: 11,
        dist: Dist::StudentT { dof: 4.0 },
        jumps: Vec::new(),
        antithetic: false,
        alphas: SimulationSpec::DEFAULT_ALPHAS.to_vec(),
        breakers: true,
        max_rounds: 50,
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        pool.install(|| {
            simulate(&s, &spec, &|| {})
                .map(|x| x.to_json().to_string())
                .unwrap_or_default()
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    let v: serde_json::Value = serde_json::from_str(&one).unwrap_or_default();
    for k in [
        "var_95_usd",
        "var_99_usd",
        "es_95_usd",
        "es_99_usd",
        "lar_95_usd",
        "p_bad_debt",
        "var_99_usd_ci",
    ] {
        assert!(v["system"].get(k).is_some(), "system.{k}");
        assert!(v["protocols"][0].get(k).is_some(), "protocols[0].{k}");
    }
    // A week at 80% volatility liquidates someone on some path, and ES ≥ VaR.
    assert!(v["system"]["lar_95_usd"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(v["system"]["es_99_usd"].as_f64() >= v["system"]["var_99_usd"].as_f64());
}

#[test]
fn shards_of_a_simulation_merge_into_the_whole_bit_for_bit() {
    let s = with_accounts(two_assets(0.6), 120, 10.0, |k| {
        let hf = 1.02 + (k % 30) as f64 * 0.02;
        10.0 * 2000.0 * 0.825 / hf
    })
    .build();
    let spec = SimulationSpec {
        paths: 301,
        horizon_days: 7.0,
        seed: 5,
        dist: Dist::StudentT { dof: 4.0 },
        jumps: Vec::new(),
        antithetic: true,
        alphas: SimulationSpec::DEFAULT_ALPHAS.to_vec(),
        breakers: true,
        max_rounds: 50,
    };
    let whole = simulate(&s, &spec, &|| {}).unwrap_or_else(|e| panic!("{e}"));
    // Uneven shards, an odd boundary (antithetic pairs split across shards), given out of order.
    let shard = |r: std::ops::Range<u64>| {
        simulate_range(&s, &spec, r, &|| {})
            .unwrap_or_else(|e| panic!("{e}"))
            .paths
    };
    let parts = vec![shard(200..301), shard(0..77), shard(77..200)];
    let merged = Simulation::merge(
        &spec,
        whole.protocols.clone(),
        whole.assets.clone(),
        whole.warnings.clone(),
        parts.clone(),
    )
    .unwrap_or_else(|| panic!("incomplete"));
    assert_eq!(merged.paths, whole.paths);
    assert_eq!(merged.to_json().to_string(), whole.to_json().to_string());
    // A missing or repeated path is refused.
    let mut gap = parts.clone();
    gap[0].pop();
    assert!(Simulation::merge(&spec, vec![], vec![], vec![], gap).is_none());
    let mut twice = parts;
    twice.push(shard(5..6));
    assert!(Simulation::merge(&spec, vec![], vec![], vec![], twice).is_none());
}

#[test]
fn relevering_to_a_new_threshold_keeps_health_factors() {
    // a0: 10 ETH (LT 0.825) + 1 BTC (LT 0.75) against D USDC. Raising ETH's LT to 0.9:
    // W_old = 20000·0.825 + 60000·0.75 = 61,500; W_new = 20000·0.9 + 45,000 = 63,000; the debt is scaled
    // by 63,000/61,500 = 1.024390…, so HF = W/D is unchanged.
    let s = two_assets(0.5)
        .account(
            "a0",
            "lend",
            &[("ETH", 10.0), ("BTC", 1.0)],
            &[("USDC", 50000.0)],
        )
        .build();
    let t = cascade_risk::bisect::with_lt(&s, 0, 0, 0.9);
    let debt = t.positions.amount[2];
    assert!((debt - 50000.0 * 63000.0 / 61500.0).abs() < 1e-6, "{debt}");
    assert_eq!(
        t.protocols[0]
            .lending()
            .map(|l| l.reserves[0].liquidation_threshold),
        Some(0.9)
    );
    let u = cascade_risk::bisect::with_supply_scaled(&s, 0, 1, 3.0);
    assert_eq!(u.positions.amount, vec![30.0, 3.0, 150000.0]);
}

#[test]
fn the_bisection_finds_the_largest_threshold_within_the_budget() {
    let s = with_accounts(two_assets(0.0), 60, 100.0, |k| {
        let hf = 1.05 + (k % 20) as f64 * 0.03;
        100.0 * 2000.0 * 0.825 / hf
    })
    .build();
    let spec = SimulationSpec {
        paths: 300,
        horizon_days: 7.0,
        seed: 2,
        dist: Dist::StudentT { dof: 3.0 },
        jumps: Vec::new(),
        antithetic: false,
        alphas: vec![0.99],
        breakers: true,
        max_rounds: 50,
    };
    let c = cascade_risk::bisect::calibrate_reserve(&s, &spec, 0, 0, 0.99, 0.002, 4.0)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("ETH is collateral"));
    // ES rises with the threshold (the sensitivity row is ordered).
    assert!(
        c.sensitivity[0].1 <= c.sensitivity[1].1 && c.sensitivity[1].1 <= c.sensitivity[2].1,
        "{:?}",
        c.sensitivity
    );
    assert!(c.max_lt.is_some_and(|lt| lt > 0.01 && lt < 0.95), "{c:?}");
    if let Some(lt) = c.max_lt {
        let es = |lt: f64| {
            let t = cascade_risk::bisect::with_lt(&s, 0, 0, lt);
            let sim = simulate(&t, &spec, &|| {}).unwrap_or_else(|e| panic!("{e}"));
            sim.protocol(0).es[0].1.value
        };
        assert!(
            es(lt) <= c.budget_usd,
            "ES at the found LT exceeds the budget"
        );
        if lt < 0.95 {
            assert!(
                es(lt + 0.01) > c.budget_usd * 0.999 || lt + 0.01 > 1.0 / 1.05,
                "the bisection stopped early at {lt}"
            );
        }
    }
}

#[test]
fn es_contributions_are_larger_for_the_asset_the_book_is_exposed_to() {
    // Borrowers hold ETH only: raising ETH's volatility raises ES; BTC's does not move it (common
    // random numbers: the same paths, BTC's returns touch no account).
    let s = with_accounts(two_assets(0.0), 50, 100.0, |k| {
        let hf = 1.05 + (k % 10) as f64 * 0.05;
        100.0 * 2000.0 * 0.825 / hf
    })
    .build();
    let spec = SimulationSpec {
        paths: 400,
        horizon_days: 7.0,
        seed: 4,
        dist: Dist::StudentT { dof: 3.0 },
        jumps: Vec::new(),
        antithetic: false,
        alphas: vec![0.99],
        breakers: true,
        max_rounds: 50,
    };
    let base = simulate(&s, &spec, &|| {}).unwrap_or_else(|e| panic!("{e}"));
    let c = cascade_risk::simulate::es_contributions(&s, &spec, 0.99, 0.10, &base)
        .unwrap_or_else(|e| panic!("{e}"));
    let get = |id: &str| c.iter().find(|(a, _)| a == id).map_or(f64::NAN, |x| x.1);
    assert!(get("ETH") > 0.0, "{c:?}");
    assert_eq!(get("BTC"), 0.0, "{c:?}");
}
