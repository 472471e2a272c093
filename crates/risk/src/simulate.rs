//! Monte Carlo through the full cascade (docs/monte-carlo.md#monte-carlo): every path's returns become a scenario that runs
//! through every protocol, round by round, from one prepared copy of the snapshot.
//!
//! The loss of a path is its **insolvent debt**: bad debt realised (gross of insurance) plus the
//! shortfall of accounts still open with HF < 1 at the end — the debt no collateral covers, realised or
//! not (Gauntlet's "insolvent debt"). Liquidations at risk (LaR) is the same quantile of liquidated debt.
//! Paths run in parallel (rayon); each has its own random stream and the results are collected in path
//! order, so figures are the same bit for bit whatever the thread count.

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};

use cascade_engine::{run_prepared, Options, Prepared};
use cascade_model::Snapshot;

use crate::metrics::{es_estimate, probability, var_estimate, Estimate};
use crate::paths::{Dist, Jump, PathError, PathModel};

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationSpec {
    pub paths: usize,
    pub horizon_days: f64,
    pub seed: u64,
    pub dist: Dist,
    pub jumps: Vec<Jump>,
    /// Odd paths mirror the even path's shocks.
    pub antithetic: bool,
    /// Confidence levels of VaR and ES (0.95, 0.99, 0.999 by default).
    pub alphas: Vec<f64>,
    pub breakers: bool,
    pub max_rounds: u32,
}

impl SimulationSpec {
    pub const DEFAULT_ALPHAS: [f64; 3] = [0.95, 0.99, 0.999];
}

/// One path's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathOutcome {
    pub path: u64,
    /// Insolvent debt: bad debt + final shortfall, USD.
    pub loss_usd: f64,
    pub bad_debt_usd: f64,
    pub liquidated_debt_usd: f64,
    pub rounds: u32,
    /// Per protocol, in snapshot order.
    pub protocol_loss_usd: Vec<f64>,
    pub protocol_bad_debt_usd: Vec<f64>,
    pub protocol_liquidated_usd: Vec<f64>,
    /// Log returns of the modelled assets.
    pub log_returns: Vec<f64>,
}

/// A finished simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub spec: SimulationSpec,
    pub protocols: Vec<String>,
    /// Ids of the modelled assets (the order of `PathOutcome::log_returns`).
    pub assets: Vec<String>,
    pub paths: Vec<PathOutcome>,
    pub warnings: Vec<String>,
}

/// Runs `spec.paths` paths; `progress` is called once per finished path (from any thread).
pub fn simulate(
    s: &Snapshot,
    spec: &SimulationSpec,
    progress: &(dyn Fn() + Sync),
) -> Result<Simulation, PathError> {
    simulate_range(s, spec, 0..spec.paths as u64, progress)
}

/// Runs the paths `range` of the simulation `spec` (path `i` on its own random stream, as in
/// [`simulate`]): a shard of it. The shards of a partition of `0..spec.paths`, put together with
/// [`Simulation::merge`], are the whole simulation bit for bit, wherever each ran.
pub fn simulate_range(
    s: &Snapshot,
    spec: &SimulationSpec,
    range: std::ops::Range<u64>,
    progress: &(dyn Fn() + Sync),
) -> Result<Simulation, PathError> {
    let model = PathModel::new(s, spec.horizon_days, spec.dist, spec.jumps.clone())?;
    let prepared = Prepared::new(s);
    let options = Options {
        breakers: spec.breakers,
        detail: false,
        ..Options::default()
    };
    let paths: Vec<PathOutcome> = range
        .into_par_iter()
        .map(|i| {
            let draw = model.draw(spec.seed, i, spec.antithetic);
            let sc = model.scenario(&draw, format!("path {i}"), spec.max_rounds);
            let r = run_prepared(&prepared, s, &sc, &options);
            progress();
            PathOutcome {
                path: i,
                loss_usd: r.system.bad_debt_usd + r.system.shortfall_usd,
                bad_debt_usd: r.system.bad_debt_usd,
                liquidated_debt_usd: r.system.liquidated_debt_usd,
                rounds: r.system.rounds,
                protocol_loss_usd: r
                    .protocols
                    .iter()
                    .map(|p| p.bad_debt_usd + p.shortfall_usd)
                    .collect(),
                protocol_bad_debt_usd: r.protocols.iter().map(|p| p.bad_debt_usd).collect(),
                protocol_liquidated_usd: r
                    .protocols
                    .iter()
                    .map(|p| p.liquidated_debt_usd)
                    .collect(),
                log_returns: draw.log_returns,
            }
        })
        .collect();
    Ok(Simulation {
        spec: spec.clone(),
        protocols: s.protocols.iter().map(|p| p.id.clone()).collect(),
        assets: model
            .assets
            .iter()
            .map(|&a| s.assets[a].id.clone())
            .collect(),
        paths,
        warnings: model.warnings,
    })
}

/// Risk figures of one loss sample and its liquidations.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub var: Vec<(f64, Estimate)>,
    pub es: Vec<(f64, Estimate)>,
    /// 95% quantile of liquidated debt.
    pub lar_95: Estimate,
    /// Expected shortfall (99%) of liquidated debt.
    pub les_99: Estimate,
    /// Share of paths with any loss.
    pub p_bad_debt: Estimate,
    pub mean_loss_usd: f64,
}

/// The key of a confidence level in JSON: the digits after `0.`, padded to two — `0.9` → `"90"`,
/// `0.95` → `"95"`, `0.975` → `"975"`, `0.999` → `"999"` (so `var_90_usd`, never `var_9_usd`).
pub fn alpha_key(alpha: f64) -> String {
    let s = format!("{alpha}");
    let digits = s.strip_prefix("0.").unwrap_or(&s);
    format!("{digits:0<2}")
}

impl Figures {
    pub fn of(losses: &[f64], liquidated: &[f64], alphas: &[f64], seed: u64) -> Figures {
        let mut l = losses.to_vec();
        l.sort_by(f64::total_cmp);
        let mut q = liquidated.to_vec();
        q.sort_by(f64::total_cmp);
        let n = l.len();
        Figures {
            var: alphas.iter().map(|&a| (a, var_estimate(&l, a))).collect(),
            es: alphas
                .iter()
                .enumerate()
                .map(|(k, &a)| (a, es_estimate(&l, a, seed ^ (k as u64 + 1))))
                .collect(),
            lar_95: var_estimate(&q, 0.95),
            les_99: es_estimate(&q, 0.99, seed ^ 0x1a5),
            p_bad_debt: probability(l.iter().filter(|&&x| x > 0.0).count(), n),
            mean_loss_usd: if n > 0 {
                l.iter().sum::<f64>() / n as f64
            } else {
                0.0
            },
        }
    }

    /// `var_95_usd`, `var_95_usd_ci`, … `es_99_usd`, `lar_95_usd`, `p_bad_debt` (keys: [`alpha_key`]).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for (a, e) in &self.var {
            m.insert(format!("var_{}_usd", alpha_key(*a)), json!(e.value));
            m.insert(format!("var_{}_usd_ci", alpha_key(*a)), json!(e.ci));
        }
        for (a, e) in &self.es {
            m.insert(format!("es_{}_usd", alpha_key(*a)), json!(e.value));
            m.insert(format!("es_{}_usd_ci", alpha_key(*a)), json!(e.ci));
        }
        m.insert("lar_95_usd".into(), json!(self.lar_95.value));
        m.insert("lar_95_usd_ci".into(), json!(self.lar_95.ci));
        m.insert("liquidations_es_99_usd".into(), json!(self.les_99.value));
        m.insert("liquidations_es_99_usd_ci".into(), json!(self.les_99.ci));
        m.insert("p_bad_debt".into(), json!(self.p_bad_debt.value));
        m.insert("p_bad_debt_ci".into(), json!(self.p_bad_debt.ci));
        m.insert("mean_loss_usd".into(), json!(self.mean_loss_usd));
        m
    }
}

impl Simulation {
    /// The simulation of `spec` on a snapshot with these `protocols` and modelled `assets` (ids),
    /// from its paths run in shards ([`simulate_range`]), in any order: the paths sorted by index.
    /// `None` unless the shards hold each path of `0..spec.paths` exactly once.
    pub fn merge(
        spec: &SimulationSpec,
        protocols: Vec<String>,
        assets: Vec<String>,
        warnings: Vec<String>,
        shards: Vec<Vec<PathOutcome>>,
    ) -> Option<Simulation> {
        let mut paths: Vec<PathOutcome> = shards.into_iter().flatten().collect();
        paths.sort_by_key(|p| p.path);
        let complete =
            paths.len() == spec.paths && paths.iter().enumerate().all(|(i, p)| p.path == i as u64);
        complete.then(|| Simulation {
            spec: spec.clone(),
            protocols,
            assets,
            paths,
            warnings,
        })
    }

    /// System figures.
    pub fn system(&self) -> Figures {
        let losses: Vec<f64> = self.paths.iter().map(|p| p.loss_usd).collect();
        let liq: Vec<f64> = self.paths.iter().map(|p| p.liquidated_debt_usd).collect();
        Figures::of(&losses, &liq, &self.spec.alphas, self.spec.seed)
    }

    /// Figures of protocol `k`.
    pub fn protocol(&self, k: usize) -> Figures {
        let losses: Vec<f64> = self.paths.iter().map(|p| p.protocol_loss_usd[k]).collect();
        let liq: Vec<f64> = self
            .paths
            .iter()
            .map(|p| p.protocol_liquidated_usd[k])
            .collect();
        Figures::of(
            &losses,
            &liq,
            &self.spec.alphas,
            self.spec.seed.wrapping_add(k as u64 + 1),
        )
    }

    /// Each modelled asset's mean log return over all paths and over the tail paths (system loss at or
    /// beyond `VaR_α`): which assets' moves drive the tail (a tail-conditional view of each asset's
    /// contribution to system ES).
    pub fn tail_drivers(&self, alpha: f64) -> Vec<(String, f64, f64)> {
        let mut losses: Vec<f64> = self.paths.iter().map(|p| p.loss_usd).collect();
        losses.sort_by(f64::total_cmp);
        let v = crate::metrics::var(&losses, alpha);
        let tail: Vec<&PathOutcome> = self
            .paths
            .iter()
            .filter(|p| p.loss_usd >= v && p.loss_usd > 0.0)
            .collect();
        let n = self.paths.len().max(1) as f64;
        self.assets
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let all = self.paths.iter().map(|p| p.log_returns[i]).sum::<f64>() / n;
                let t = if tail.is_empty() {
                    0.0
                } else {
                    tail.iter().map(|p| p.log_returns[i]).sum::<f64>() / tail.len() as f64
                };
                (a.clone(), all, t)
            })
            .collect()
    }

    /// The `--json` document: the spec, `system` and `protocols[]` with their figures, tail drivers.
    pub fn to_json(&self) -> Value {
        let mut system = self.system().to_json();
        system.insert("paths".into(), json!(self.paths.len()));
        let protocols: Vec<Value> = self
            .protocols
            .iter()
            .enumerate()
            .map(|(k, id)| {
                let mut m = self.protocol(k).to_json();
                m.insert("id".into(), json!(id));
                Value::Object(m)
            })
            .collect();
        let drivers: Vec<Value> = self
            .tail_drivers(0.99)
            .into_iter()
            .map(|(a, all, tail)| json!({"asset": a, "mean_log_return": all, "mean_log_return_in_tail_99": tail}))
            .collect();
        let dist = match self.spec.dist {
            Dist::Normal => json!({"kind": "normal"}),
            Dist::StudentT { dof } => json!({"kind": "t", "dof": dof}),
        };
        json!({
            "paths": self.paths.len(),
            "horizon_days": self.spec.horizon_days,
            "seed": self.spec.seed,
            "distribution": dist,
            "antithetic": self.spec.antithetic,
            "loss": "insolvent debt: bad debt + final shortfall, USD",
            "system": Value::Object(system),
            "protocols": protocols,
            "tail_drivers": drivers,
            "warnings": self.warnings,
        })
    }
}

/// Each modelled asset's marginal contribution to system `ES_alpha`: the change in system ES when the
/// asset's volatility is raised by `bump` (relative; 0.01 = +1%), re-running the same paths (common
/// random numbers), per `bump` — `∂ES/∂σ_i · σ_i · bump`, in USD. The sum over assets is the change of
/// ES for a 1% rise of every volatility (to first order). One extra simulation per asset.
pub fn es_contributions(
    s: &Snapshot,
    spec: &SimulationSpec,
    alpha: f64,
    bump: f64,
    base: &Simulation,
) -> Result<Vec<(String, f64)>, PathError> {
    let mut spec = spec.clone();
    if !spec.alphas.iter().any(|x| (x - alpha).abs() < 1e-12) {
        spec.alphas.push(alpha);
    }
    let es_of = |sim: &Simulation| {
        let mut l: Vec<f64> = sim.paths.iter().map(|p| p.loss_usd).collect();
        l.sort_by(f64::total_cmp);
        crate::metrics::es(&l, alpha)
    };
    let es0 = es_of(base);
    let mut out = Vec::new();
    for a in 0..s.assets.len() {
        if !base.assets.iter().any(|id| *id == s.assets[a].id) {
            continue;
        }
        let mut t = s.clone();
        t.assets[a].volatility *= 1.0 + bump;
        let sim = simulate(&t, &spec, &|| {})?;
        out.push((s.assets[a].id.clone(), es_of(&sim) - es0));
    }
    Ok(out)
}
