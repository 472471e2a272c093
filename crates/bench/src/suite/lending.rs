//! The lending workloads: the columnar health-factor scan and the first liquidation round, with
//! the reference files the Python peers read.

use std::path::Path;

use rayon::prelude::*;
use serde_json::{json, Value};

use cascade_model::{AssetKind, Snapshot};
use cascade_protocols::health::HealthColumns;
use cascade_protocols::lending::{next_step, LendingPool, LiquidationRules, Step};

use super::{check, io_err, Measurement, Runner};
use crate::npy::write_npy;
use crate::stream::Bandwidth;
use crate::timing::{measure, measure_after};
use crate::BenchError;
use cascade_model::units::fmt_count;

/// Bytes read before each timed health scan to evict its data from the caches (four times
/// the 32 MiB last-level cache of the project's machine).
pub const EVICT_BYTES: usize = 128 << 20;

/// Timed runs of the health scan at least, in a full run (a scan takes milliseconds).
pub const HEALTH_MIN_RUNS: usize = 21;

/// The price shock of the scanning workloads: every asset that is not a stable, a CDP stable, a
/// tokenised bill, a receipt or an LP token falls 30%.
pub const SCAN_SHOCK: f64 = 0.7;

fn shocked_prices(s: &Snapshot, prices: &[f64]) -> Vec<f64> {
    prices
        .iter()
        .zip(&s.assets)
        .map(|(p, a)| match a.kind {
            AssetKind::Stable
            | AssetKind::CdpStable
            | AssetKind::Rwa
            | AssetKind::Receipt
            | AssetKind::Lp => *p,
            _ => p * SCAN_SHOCK,
        })
        .collect()
}

impl Runner<'_> {
    pub(super) fn health_scan(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.settings.runs;
        let judged = self.settings.judged;
        let triad = self.bandwidth.as_ref().map(Bandwidth::triad_peak_gb_s);
        let emit = self.settings.emit.clone();
        let big = self.big(false)?;
        let s = &big.snapshot;
        let cols = HealthColumns::from_snapshot(s);
        let n = cols.accounts();
        // Check 1: at snapshot prices every account has the health factor the generator drew for it.
        let p0 = cascade_gen::snapshot_prices(s);
        let mut out = vec![0.0; n];
        cols.scan_into(&p0, &mut out)?;
        check(
            "health_scan",
            big.target_hf.len() == s.accounts.len(),
            || "generator targets missing".into(),
        )?;
        for (k, hf) in out.iter().enumerate() {
            let acc = cols.account[k] as usize;
            let want = big.target_hf[acc];
            check("health_scan", (hf - want).abs() <= 1e-9 * want, || {
                format!("account {acc}: HF {hf} at snapshot prices, generator drew {want}")
            })?;
        }
        // The timed scan, at shocked prices.
        let prices = shocked_prices(s, &p0);
        // A scan takes milliseconds: more runs, so the median resists a busy machine.
        let runs = if judged {
            runs.max(HEALTH_MIN_RUNS)
        } else {
            runs
        };
        // Every run starts from memory, not from the last-level cache: a buffer of EVICT_BYTES is
        // read (untimed) before each. Read, not written: dirty lines left in the cache would be
        // written back during the timed scan and steal its bandwidth.
        let evict: Vec<u64> = (0..EVICT_BYTES / 8)
            .into_par_iter()
            .map(|i| i as u64)
            .collect();
        let (timing, below) = measure_after(
            runs,
            || {
                std::hint::black_box(evict.par_iter().copied().reduce(|| 0, u64::wrapping_add));
            },
            || cols.scan_into(&prices, &mut out),
        );
        drop(evict);
        let below = below?;
        // Check 2: the engine's own HF on a sample of accounts (rows are grouped by entry count:
        // find each account's row).
        let mut row_of = vec![usize::MAX; s.accounts.len()];
        for (row, &a) in cols.account.iter().enumerate() {
            row_of[a as usize] = row;
        }
        for pool in &lending_pools(s) {
            let step = (pool.accounts() / 1000).max(1);
            for k in (0..pool.accounts()).step_by(step) {
                let engine =
                    cascade_protocols::lending::health_factor(&pool.entries_of(k), &prices);
                let got = out[row_of[pool.account[k] as usize]];
                check(
                    "health_scan",
                    (got - engine).abs() <= 1e-12 * engine.abs()
                        || (got.is_infinite() && engine.is_infinite()),
                    || {
                        format!(
                            "account {k} of {}: scan {got}, engine {engine}",
                            pool.accounts()
                        )
                    },
                )?;
            }
        }
        check("health_scan", below > 0 && below < n, || {
            format!("{below} of {n} accounts below HF 1 after a 30% shock")
        })?;
        if let Some(dir) = &emit {
            let idx: Vec<f64> = cols.account.iter().map(|&a| f64::from(a)).collect();
            let p = dir.join("health_account_index.npy");
            write_npy(&p, &idx, &[n]).map_err(io_err(&p))?;
            let p = dir.join("health_hf.npy");
            write_npy(&p, &out, &[n]).map_err(io_err(&p))?;
            write_lending_json(dir, s, &prices)?;
        }
        let bytes = cols.bytes_touched() as f64;
        let gb_s = bytes / timing.median_s / 1e9;
        let share = triad.map(|t| gb_s / t);
        Ok(Measurement {
            bytes_per_run: Some(bytes),
            bandwidth_share: share,
            target: Some("≥ 50% of the measured triad bandwidth".into()),
            target_met: if judged {
                share.map(|x| x >= 0.5)
            } else {
                None
            },
            checks: vec![
                "at snapshot prices every account's HF equals the generator's drawn HF (1e-9)"
                    .into(),
                "equals the lending engine's HF on a sample of accounts (1e-12)".into(),
            ],
            details: json!({"gb_per_s": gb_s, "accounts_below_1": below, "price_shock": SCAN_SHOCK,
                "evicted_bytes_before_each_run": EVICT_BYTES}),
            ..Measurement::new(
                "health_scan",
                "health-factor scan (columnar, from memory)",
                format!(
                    "{} accounts, {} entries",
                    fmt_count(n),
                    fmt_count(cols.entries())
                ),
                n as f64,
                "accounts",
                timing,
            )
        })
    }

    pub(super) fn liquidation_round(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.settings.runs;
        let emit = self.settings.emit.clone();
        let big = self.big(false)?;
        let s = &big.snapshot;
        let p0 = cascade_gen::snapshot_prices(s);
        let prices = shocked_prices(s, &p0);
        let pools = lending_pools(s);
        let rules: Vec<LiquidationRules> = s
            .protocols
            .iter()
            .filter_map(|p| p.lending().map(LiquidationRules::of))
            .collect();
        let n: usize = pools.iter().map(LendingPool::accounts).sum();
        let (timing, (repay, seize)) = measure(runs, || first_calls(&pools, &rules, &prices));
        // Checks: an account is liquidated iff its HF < 1 and it has seizable collateral; the
        // liquidator never seizes less than it repays (bonus ≥ 0).
        let mut k0 = 0;
        let mut liquidated = 0usize;
        for pool in &pools {
            for k in 0..pool.accounts() {
                let hf = cascade_protocols::lending::health_factor(&pool.entries_of(k), &prices);
                let (r, z) = (repay[k0 + k], seize[k0 + k]);
                if r > 0.0 {
                    liquidated += 1;
                    check(
                        "liquidation_round",
                        hf < 1.0 && z >= r * (1.0 - 1e-12),
                        || format!("account {k}: HF {hf}, repay {r}, seize {z}"),
                    )?;
                } else {
                    check("liquidation_round", z == 0.0, || {
                        format!("account {k}: seize {z} without repay")
                    })?;
                }
            }
            k0 += pool.accounts();
        }
        check("liquidation_round", liquidated > 0, || {
            "nobody liquidatable".into()
        })?;
        if let Some(dir) = &emit {
            let idx: Vec<f64> = pools
                .iter()
                .flat_map(|p| p.account.iter().map(|&a| f64::from(a)))
                .collect();
            let p = dir.join("liquidation_account_index.npy");
            write_npy(&p, &idx, &[n]).map_err(io_err(&p))?;
            let p = dir.join("liquidation_repay_usd.npy");
            write_npy(&p, &repay, &[n]).map_err(io_err(&p))?;
            let p = dir.join("liquidation_seize_usd.npy");
            write_npy(&p, &seize, &[n]).map_err(io_err(&p))?;
        }
        Ok(Measurement {
            checks: vec!["liquidated iff HF < 1 with seizable collateral; seized ≥ repaid".into()],
            details: json!({"accounts_liquidated": liquidated,
                "repaid_usd": repay.iter().sum::<f64>(), "seized_usd": seize.iter().sum::<f64>()}),
            ..Measurement::new(
                "liquidation_round",
                "one-round liquidation decision (first call per account)",
                format!("{} accounts", fmt_count(n)),
                n as f64,
                "accounts",
                timing,
            )
        })
    }
}

fn lending_pools(s: &Snapshot) -> Vec<LendingPool> {
    s.protocols
        .iter()
        .enumerate()
        .filter(|(_, p)| p.lending().is_some())
        .map(|(i, _)| LendingPool::new(s, i))
        .collect()
}

/// The first liquidation call of round 1 for every account of `pools` (docs/lending.md#liquidation-call via
/// [`next_step`]): repaid and seized USD at `prices`, 0 for a healthy account or bad debt.
/// Liquidator profitability is not checked (it needs the curves).
pub fn first_calls(
    pools: &[LendingPool],
    rules: &[LiquidationRules],
    prices: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let mut repay = Vec::new();
    let mut seize = Vec::new();
    for (pool, rules) in pools.iter().zip(rules) {
        let out: Vec<(f64, f64)> = (0..pool.accounts())
            .into_par_iter()
            .with_min_len(4096)
            .map(|k| {
                let es = pool.entries_of(k);
                match next_step(&es, rules, prices) {
                    Step::Liquidate {
                        collateral,
                        debt,
                        repay,
                        seize,
                        ..
                    } => (
                        repay * prices[es.slots[debt].asset as usize],
                        seize * prices[es.slots[collateral].asset as usize],
                    ),
                    Step::Healthy | Step::BadDebt => (0.0, 0.0),
                }
            })
            .collect();
        repay.extend(out.iter().map(|x| x.0));
        seize.extend(out.iter().map(|x| x.1));
    }
    (repay, seize)
}

/// Writes `lending.json`: the prices of the scan and every lending pool's parameters, for the
/// Python peers' health scan and liquidation round.
fn write_lending_json(dir: &Path, s: &Snapshot, prices: &[f64]) -> Result<(), BenchError> {
    let protocols: Vec<Value> = s
        .protocols
        .iter()
        .filter_map(|p| p.lending().map(|l| (p, l)))
        .map(|(p, l)| {
            let reserves: serde_json::Map<String, Value> = l
                .reserves
                .iter()
                .map(|r| {
                    (
                        s.assets[r.asset].id.clone(),
                        json!({
                            "lt": if r.collateral_enabled { r.liquidation_threshold } else { 0.0 },
                            "lb": r.liquidation_bonus,
                            "isolated": r.debt_ceiling_usd.is_some(),
                        }),
                    )
                })
                .collect();
            let emode: serde_json::Map<String, Value> = l
                .emode
                .iter()
                .map(|c| {
                    (
                        c.id.clone(),
                        json!({"lt": c.liquidation_threshold, "lb": c.liquidation_bonus,
                        "assets": c.assets.iter().map(|&a| s.assets[a].id.clone()).collect::<Vec<_>>()}),
                    )
                })
                .collect();
            json!({"id": p.id, "close_factor": l.close_factor,
                "full_below_hf": l.close_factor_full_below_hf, "full_close_factor": l.full_close_factor,
                "reserves": reserves, "emode": emode})
        })
        .collect();
    let price_map: serde_json::Map<String, Value> = s
        .assets
        .iter()
        .zip(prices)
        .map(|(a, p)| (a.id.clone(), json!(p)))
        .collect();
    let v = json!({"accounts": s.accounts.len(), "prices": price_map, "protocols": protocols});
    let path = dir.join("lending.json");
    let text = serde_json::to_string_pretty(&v).map_err(|e| BenchError::Config(e.to_string()))?;
    std::fs::write(&path, text).map_err(io_err(&path))
}
