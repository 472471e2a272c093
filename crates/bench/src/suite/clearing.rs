//! The clearing workloads: Eisenberg–Noe on dense and sparse seeded networks, and the contagion
//! coefficients of the built-in system.

use serde_json::json;

use cascade_contagion::clearing::{clear_matrix, Clearing, ClearingOptions};

use super::{check, io_err, Measurement, Runner};
use crate::networks::{self, ClearingInput};
use crate::npy::write_npy;
use crate::timing::measure;
use crate::BenchError;
use cascade_model::units::fmt_count;

impl Runner<'_> {
    fn clearing(
        &mut self,
        name: &str,
        net: &ClearingInput,
        size: String,
        target_s: f64,
    ) -> Result<(Measurement, Clearing), BenchError> {
        let runs = self.settings.runs;
        let judged = self.settings.judged;
        let opts = ClearingOptions::default();
        let (timing, c) = measure(runs, || {
            clear_matrix(
                &net.liabilities,
                &net.external_assets,
                &net.external_liabilities,
                &opts,
            )
        });
        let c = c.map_err(|e| BenchError::Check {
            workload: name.into(),
            message: e.to_string(),
        })?;
        let worst = fixed_point_residual(net, &c);
        check(name, worst <= 1e-9, || {
            format!("clearing vector is off the fixed point by {worst:e} (relative to p̄)")
        })?;
        let defaults = c.default_round.iter().filter(|r| r.is_some()).count();
        check(name, defaults > 0 && c.rounds >= 1, || {
            "no default: the network tests nothing".into()
        })?;
        Ok((
            Measurement {
                target: Some(format!("≤ {target_s} s")),
                target_met: judged.then_some(timing.median_s <= target_s),
                checks: vec![
                    "p = min(p̄, max(0, e + Πᵀp)) to 1e-9·p̄ for every node; 0 ≤ p ≤ p̄".into(),
                ],
                details: json!({"rounds": c.rounds, "sweeps": c.sweeps, "defaults": defaults,
                    "max_fixed_point_residual": worst}),
                ..Measurement::new(
                    name,
                    "Eisenberg–Noe clearing (fictitious default)",
                    size,
                    1.0,
                    "clearings",
                    timing,
                )
            },
            c,
        ))
    }

    pub(super) fn en_dense(&mut self) -> Result<Measurement, BenchError> {
        let n = self.settings.sizes.en_dense_nodes;
        let net = networks::dense(n, self.settings.seed + 6)?;
        let size = format!(
            "n = {}, {} liabilities",
            fmt_count(n),
            fmt_count(net.liabilities.nnz())
        );
        let (mut m, c) = self.clearing("en_dense", &net, size, 1.0)?;
        m.target = Some("≤ 1 s (the ≥ 20× numpy target is judged with the peers)".into());
        if let Some(dir) = &self.settings.emit {
            let dense: Vec<f64> = net.liabilities.to_dense().into_iter().flatten().collect();
            for (file, v, shape) in [
                ("en_dense_liabilities.npy", &dense, vec![n, n]),
                (
                    "en_dense_external_assets.npy",
                    &net.external_assets,
                    vec![n],
                ),
                (
                    "en_dense_external_liabilities.npy",
                    &net.external_liabilities,
                    vec![n],
                ),
                ("en_dense_payments.npy", &c.payments, vec![n]),
            ] {
                let p = dir.join(file);
                write_npy(&p, v, &shape).map_err(io_err(&p))?;
            }
        }
        Ok(m)
    }

    pub(super) fn en_sparse(&mut self) -> Result<Measurement, BenchError> {
        let (n, e) = (
            self.settings.sizes.en_sparse_nodes,
            self.settings.sizes.en_sparse_edges,
        );
        let net = networks::sparse(n, e, self.settings.seed + 10)?;
        let size = format!(
            "n = {}, {} liabilities",
            fmt_count(n),
            fmt_count(net.liabilities.nnz())
        );
        let (m, c) = self.clearing("en_sparse", &net, size, 2.0)?;
        // The clearing vector, so runs (one thread against two, before against after) can be
        // compared byte for byte.
        if let Some(dir) = &self.settings.emit {
            let p = dir.join("en_sparse_payments.npy");
            write_npy(&p, &c.payments, &[c.payments.len()]).map_err(io_err(&p))?;
        }
        Ok(m)
    }

    pub(super) fn coefficients(&mut self) -> Result<Measurement, BenchError> {
        let runs = self.settings.runs;
        let judged = self.settings.judged;
        let s = self.inputs.base;
        let prepared = cascade_engine::Prepared::new(s);
        let (timing, coef) = measure(runs, || {
            cascade_contagion::snapshot::contagion_coefficients(s, &prepared)
        });
        check("contagion_coefficients", !coef.is_empty(), || {
            "an empty matrix".into()
        })?;
        check(
            "contagion_coefficients",
            coef.iter()
                .filter_map(|c| c.threshold_drop)
                .all(|d| (0.0..=1.0).contains(&d)),
            || "a threshold drop outside [0, 1]".into(),
        )?;
        let found = coef.iter().filter(|c| c.threshold_drop.is_some()).count();
        check("contagion_coefficients", found > 0, || {
            "no protocol realises bad debt at any drop".into()
        })?;
        Ok(Measurement {
            target: Some("≤ 5 s on the built-in system".into()),
            target_met: judged.then_some(timing.median_s <= 5.0),
            checks: vec!["non-empty; thresholds in [0, 1]; some protocol realises bad debt".into()],
            details: json!({"with_threshold": found}),
            ..Measurement::new(
                "contagion_coefficients",
                "contagion-coefficient matrix (bisection over the cascade)",
                format!("{} asset × protocol pairs, {} system", coef.len(), s.name),
                coef.len() as f64,
                "coefficients",
                timing,
            )
        })
    }
}

/// `max_i |p_i − min(p̄_i, max(0, e_i + Σ_j Π_ji·p_j))| / p̄_i`, and `p` within `[0, p̄]`.
pub(super) fn fixed_point_residual(net: &ClearingInput, c: &Clearing) -> f64 {
    let n = c.payments.len();
    let mut inflow = vec![0.0; n];
    for (j, &pbar_j) in c.obligations.iter().enumerate() {
        if pbar_j <= 0.0 {
            continue;
        }
        let (cols, vals) = net.liabilities.row(j);
        for (&i, &l) in cols.iter().zip(vals) {
            inflow[i] += l / pbar_j * c.payments[j];
        }
    }
    (0..n)
        .map(|i| {
            let pbar = c.obligations[i];
            let want = pbar.min((net.external_assets[i] + inflow[i]).max(0.0));
            let p = c.payments[i];
            if !(0.0..=pbar * (1.0 + 1e-15)).contains(&p) {
                return f64::INFINITY;
            }
            (p - want).abs() / pbar.max(f64::MIN_POSITIVE)
        })
        .fold(0.0, f64::max)
}
