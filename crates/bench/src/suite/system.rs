//! Whole-system workloads: loading a generated snapshot, one cascade on it, and the Monte Carlo.

use serde_json::json;

use super::{check, load, unreachable_big, Measurement, Runner};
use crate::timing::measure;
use crate::BenchError;
use cascade_model::units::fmt_count;

impl Runner<'_> {
    pub(super) fn snapshot_load(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.settings.runs;
        let judged = self.settings.judged;
        let big = self.big(true)?;
        let dir = big.dir.clone().ok_or_else(unreachable_big)?;
        let path = dir.join("snapshot.toml");
        let expected_accounts = big.snapshot.accounts.len();
        let expected_positions = big.snapshot.positions.len();
        let parquet_bytes = std::fs::metadata(dir.join("positions.parquet"))
            .map(|m| m.len())
            .unwrap_or(0);
        let (timing, loaded) = measure(runs, || load(&path));
        let (s, _) = loaded?;
        check(
            "snapshot_load",
            s.accounts.len() == expected_accounts,
            || {
                format!(
                    "loaded {} accounts, expected {expected_accounts}",
                    s.accounts.len()
                )
            },
        )?;
        check(
            "snapshot_load",
            s.positions.len() == expected_positions,
            || {
                format!(
                    "loaded {} positions, expected {expected_positions}",
                    s.positions.len()
                )
            },
        )?;
        let n = s.accounts.len();
        // A million accounts' strings go back to the allocator outside the timing.
        drop(s);
        Ok(Measurement {
            target: Some("≤ 1.5 s at 1M accounts".into()),
            target_met: judged.then_some(timing.median_s <= 1.5),
            checks: vec!["account and position counts equal the generated system's".into()],
            details: json!({"parquet_bytes": parquet_bytes}),
            ..Measurement::new(
                "snapshot_load",
                "snapshot load (TOML + Parquet)",
                format!(
                    "{} accounts, {} positions, {:.1} MB Parquet",
                    fmt_count(n),
                    fmt_count(expected_positions),
                    parquet_bytes as f64 / 1e6
                ),
                n as f64,
                "accounts",
                timing,
            )
        })
    }

    pub(super) fn cascade(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.settings.runs;
        let judged = self.settings.judged;
        let scenario = self.inputs.scenario;
        let big = self.big(false)?;
        let s = &big.snapshot;
        let options = cascade_engine::Options {
            breakers: true,
            detail: true,
            ..Default::default()
        };
        let (timing, r) = measure(runs, || cascade_engine::run_with(s, scenario, &options));
        let sys = &r.system;
        check("cascade", sys.rounds >= 1, || "no round ran".into())?;
        check(
            "cascade",
            sys.accounts_liquidated > 0 && (sys.accounts_liquidated as usize) <= s.accounts.len(),
            || {
                format!(
                    "{} accounts liquidated of {}",
                    sys.accounts_liquidated,
                    s.accounts.len()
                )
            },
        )?;
        check(
            "cascade",
            sys.bad_debt_usd.is_finite() && sys.bad_debt_usd >= 0.0,
            || format!("bad debt {}", sys.bad_debt_usd),
        )?;
        let n = s.accounts.len();
        Ok(Measurement {
            target: Some("≤ 1 s at 1M accounts".into()),
            target_met: judged.then_some(timing.median_s <= 1.0),
            checks: vec![
                "at least one round; some accounts liquidated, no more than exist; bad debt finite and ≥ 0".into(),
            ],
            details: json!({
                "rounds": sys.rounds,
                "accounts_liquidated": sys.accounts_liquidated,
                "bad_debt_usd": sys.bad_debt_usd,
                "liquidated_debt_usd": sys.liquidated_debt_usd,
            }),
            ..Measurement::new(
                "cascade",
                format!("one cascade ({}), prepared state included", scenario.name),
                format!("{} accounts", fmt_count(n)),
                n as f64,
                "accounts",
                timing,
            )
        })
    }

    pub(super) fn monte_carlo(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.settings.runs.min(3);
        let judged = self.settings.judged;
        let n = self.settings.sizes.mc_accounts;
        (self.progress)(&format!(
            "bench: generating {} accounts for the Monte Carlo",
            fmt_count(n)
        ));
        let s = cascade_gen::generate(self.inputs.base, n, self.settings.seed + 1);
        let spec = cascade_risk::simulate::SimulationSpec {
            paths: self.settings.sizes.mc_paths,
            horizon_days: 1.0,
            seed: self.settings.seed,
            dist: cascade_risk::paths::Dist::Normal,
            jumps: Vec::new(),
            antithetic: false,
            alphas: cascade_risk::simulate::SimulationSpec::DEFAULT_ALPHAS.to_vec(),
            breakers: true,
            max_rounds: 50,
        };
        let (timing, sim) = measure(runs, || cascade_risk::simulate::simulate(&s, &spec, &|| {}));
        let sim = sim.map_err(|e| BenchError::Check {
            workload: "monte_carlo".into(),
            message: e.to_string(),
        })?;
        check("monte_carlo", sim.paths.len() == spec.paths, || {
            format!("{} paths, expected {}", sim.paths.len(), spec.paths)
        })?;
        check(
            "monte_carlo",
            sim.paths
                .iter()
                .all(|p| p.loss_usd.is_finite() && p.loss_usd >= 0.0 && p.rounds >= 1),
            || "a path with a negative or non-finite loss, or no round".into(),
        )?;
        let per_s = spec.paths as f64 / timing.median_s;
        let t10k = 10_000.0 / per_s;
        std::mem::forget(s);
        Ok(Measurement {
            target: Some("10,000 paths on 100k accounts ≤ 60 s".into()),
            target_met: judged.then_some(t10k <= 60.0),
            checks: vec!["every path ran ≥ 1 round with a finite loss ≥ 0".into()],
            details: json!({"seconds_per_10k_paths": t10k,
                "paths_with_loss": sim.paths.iter().filter(|p| p.loss_usd > 0.0).count()}),
            ..Measurement::new(
                "monte_carlo",
                "Monte Carlo, full cascade per path",
                format!("{} paths × {} accounts", spec.paths, fmt_count(n)),
                spec.paths as f64,
                "paths",
                timing,
            )
        })
    }
}
