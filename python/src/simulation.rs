//! Monte Carlo from Python: the same simulation as `cascade simulate` (its `--json` document and
//! its per-path table), and the same simulation in shards — any partition of the paths run
//! anywhere, each path on its own random stream, merged back bit for bit (for Ray, docs/python.md).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, UInt32Array, UInt64Array};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use cascade_risk::paths::{Dist, Jump};
use cascade_risk::simulate::{simulate_range, PathOutcome, Simulation, SimulationSpec};

use crate::{frames, input_error, Snapshot};

/// The simulation's settings as Python passes them (the CLI's flags and defaults).
#[derive(FromPyObject)]
pub struct SpecArgs {
    paths: usize,
    horizon_days: f64,
    seed: u64,
    dist: String,
    dof: f64,
    antithetic: bool,
    confidence: Vec<f64>,
    breakers: bool,
    max_rounds: u32,
    /// `(asset, probability, size)`.
    jumps: Vec<(String, f64, f64)>,
}

/// The spec, checked as `cascade simulate` checks its flags.
fn spec_of(s: &cascade_model::Snapshot, a: &SpecArgs) -> PyResult<SimulationSpec> {
    if a.paths == 0 {
        return Err(input_error("paths: must be at least 1"));
    }
    if !(a.horizon_days > 0.0 && a.horizon_days.is_finite()) {
        return Err(input_error(format!(
            "horizon_days = {}, expected a number of days > 0",
            a.horizon_days
        )));
    }
    if let Some(x) = a.confidence.iter().find(|x| !(**x > 0.0 && **x < 1.0)) {
        return Err(input_error(format!(
            "confidence: {x} is not a confidence level in (0, 1)"
        )));
    }
    if a.max_rounds == 0 {
        return Err(input_error("max_rounds: must be at least 1"));
    }
    let dist = match a.dist.as_str() {
        "normal" => Dist::Normal,
        "t" if a.dof > 2.0 && a.dof.is_finite() => Dist::StudentT { dof: a.dof },
        "t" => {
            return Err(input_error(format!(
                "dof = {}, expected more than 2 (unit variance)",
                a.dof
            )))
        }
        other => {
            return Err(input_error(format!(
                "dist: \"{other}\", expected \"normal\" or \"t\""
            )))
        }
    };
    let mut jumps = Vec::new();
    for (asset, probability, size) in &a.jumps {
        let Some(idx) = s.asset_idx(asset) else {
            return Err(input_error(format!("jumps: unknown asset \"{asset}\"")));
        };
        if !((0.0..=1.0).contains(probability) && *size > -1.0 && size.is_finite()) {
            return Err(input_error(format!(
                "jumps[{asset}]: expected a probability in [0, 1] and a size above −1"
            )));
        }
        jumps.push(Jump {
            asset: idx,
            probability: *probability,
            size: *size,
        });
    }
    Ok(SimulationSpec {
        paths: a.paths,
        horizon_days: a.horizon_days,
        seed: a.seed,
        dist,
        jumps,
        antithetic: a.antithetic,
        alphas: a.confidence.clone(),
        breakers: a.breakers,
        max_rounds: a.max_rounds,
    })
}

/// A finished simulation: its `--json` document and its paths.
#[pyclass(module = "cascade._native", frozen)]
pub struct SimulationRun {
    sim: Simulation,
}

#[pymethods]
impl SimulationRun {
    /// The document `cascade simulate --json` prints: spec, system and per-protocol VaR, ES, LaR
    /// with their intervals, tail drivers.
    fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.sim.to_json()).unwrap_or_default()
    }

    /// Every path's results as an Arrow IPC stream: `path`, `loss_usd`, `bad_debt_usd`,
    /// `liquidated_debt_usd`, `rounds`, then `loss_usd.PROTOCOL` and `log_return.ASSET`.
    fn paths<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let p = &self.sim.paths;
        let f = |g: &dyn Fn(&PathOutcome) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from(p.iter().map(g).collect::<Vec<_>>()))
        };
        let mut cols: Vec<(String, ArrayRef)> = vec![
            (
                "path".into(),
                Arc::new(UInt64Array::from(
                    p.iter().map(|x| x.path).collect::<Vec<_>>(),
                )),
            ),
            ("loss_usd".into(), f(&|x| x.loss_usd)),
            ("bad_debt_usd".into(), f(&|x| x.bad_debt_usd)),
            ("liquidated_debt_usd".into(), f(&|x| x.liquidated_debt_usd)),
            (
                "rounds".into(),
                Arc::new(UInt32Array::from(
                    p.iter().map(|x| x.rounds).collect::<Vec<_>>(),
                )),
            ),
        ];
        for (k, id) in self.sim.protocols.iter().enumerate() {
            cols.push((format!("loss_usd.{id}"), f(&|x| x.protocol_loss_usd[k])));
        }
        for (k, id) in self.sim.assets.iter().enumerate() {
            cols.push((format!("log_return.{id}"), f(&|x| x.log_returns[k])));
        }
        let bytes = frames::columns_ipc(cols).map_err(input_error)?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// `PathOutcome`s as bytes (little-endian), for shards: per path its index, loss, bad debt,
/// liquidated debt, rounds, then its per-protocol and per-asset numbers.
fn encode(paths: &[PathOutcome]) -> Vec<u8> {
    let mut o = Vec::new();
    o.extend_from_slice(&(paths.len() as u64).to_le_bytes());
    for p in paths {
        o.extend_from_slice(&p.path.to_le_bytes());
        for x in [p.loss_usd, p.bad_debt_usd, p.liquidated_debt_usd] {
            o.extend_from_slice(&x.to_le_bytes());
        }
        o.extend_from_slice(&p.rounds.to_le_bytes());
        o.extend_from_slice(&(p.protocol_loss_usd.len() as u32).to_le_bytes());
        o.extend_from_slice(&(p.log_returns.len() as u32).to_le_bytes());
        for v in [
            &p.protocol_loss_usd,
            &p.protocol_bad_debt_usd,
            &p.protocol_liquidated_usd,
            &p.log_returns,
        ] {
            for x in v {
                o.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    o
}

/// Reads what [`encode`] wrote; `None` for bytes it did not write.
fn decode(b: &[u8]) -> Option<Vec<PathOutcome>> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = b.get(at..at.checked_add(n)?)?;
        at += n;
        Some(s)
    };
    let u64_ = |s: &[u8]| u64::from_le_bytes(s.try_into().unwrap_or([0; 8]));
    let n = u64_(take(8)?);
    let mut out = Vec::new();
    for _ in 0..n {
        let path = u64_(take(8)?);
        let mut f = [0.0; 3];
        for x in &mut f {
            *x = f64::from_bits(u64_(take(8)?));
        }
        let u32_ = |s: &[u8]| u32::from_le_bytes(s.try_into().unwrap_or([0; 4]));
        let rounds = u32_(take(4)?);
        let np = u32_(take(4)?) as usize;
        let na = u32_(take(4)?) as usize;
        let mut vecs: Vec<Vec<f64>> = Vec::with_capacity(4);
        for len in [np, np, np, na] {
            let mut v = Vec::with_capacity(len);
            for _ in 0..len {
                v.push(f64::from_bits(u64_(take(8)?)));
            }
            vecs.push(v);
        }
        let log_returns = vecs.pop()?;
        let protocol_liquidated_usd = vecs.pop()?;
        let protocol_bad_debt_usd = vecs.pop()?;
        let protocol_loss_usd = vecs.pop()?;
        out.push(PathOutcome {
            path,
            loss_usd: f[0],
            bad_debt_usd: f[1],
            liquidated_debt_usd: f[2],
            rounds,
            protocol_loss_usd,
            protocol_bad_debt_usd,
            protocol_liquidated_usd,
            log_returns,
        });
    }
    (at == b.len()).then_some(out)
}

impl Snapshot {
    /// Monte Carlo through the full cascade, as `cascade simulate` (same defaults, same figures
    /// bit for bit for the same seed). Releases the GIL while it runs.
    pub(crate) fn run_simulation(&self, py: Python<'_>, spec: SpecArgs) -> PyResult<SimulationRun> {
        let spec = spec_of(&self.inner, &spec)?;
        let s = Arc::clone(&self.inner);
        let sim = py
            .detach(move || cascade_risk::simulate::simulate(&s, &spec, &|| {}))
            .map_err(input_error)?;
        Ok(SimulationRun { sim })
    }

    /// The paths `start..stop` of the simulation `spec` (a shard), as bytes for
    /// [`Snapshot::merge_shards`]. Releases the GIL while it runs.
    pub(crate) fn run_shard<'py>(
        &self,
        py: Python<'py>,
        spec: SpecArgs,
        start: u64,
        stop: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let spec = spec_of(&self.inner, &spec)?;
        if !(start <= stop && stop <= spec.paths as u64) {
            return Err(input_error(format!(
                "shard {start}..{stop}: expected 0 ≤ start ≤ stop ≤ paths = {}",
                spec.paths
            )));
        }
        let s = Arc::clone(&self.inner);
        let sim = py
            .detach(move || simulate_range(&s, &spec, start..stop, &|| {}))
            .map_err(input_error)?;
        Ok(PyBytes::new(py, &encode(&sim.paths)))
    }

    /// The simulation `spec` from its shards (any order): the same as [`Snapshot::simulate`] bit
    /// for bit. Refuses shards that miss or repeat a path.
    pub(crate) fn merge_shards(
        &self,
        spec: SpecArgs,
        shards: Vec<Vec<u8>>,
    ) -> PyResult<SimulationRun> {
        let spec = spec_of(&self.inner, &spec)?;
        let parts = shards
            .iter()
            .map(|b| decode(b))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| input_error("shards: not the bytes of simulate_shard"))?;
        // The modelled assets and warnings are the model's, whatever the paths: a shard of none.
        let empty = simulate_range(&self.inner, &spec, 0..0, &|| {}).map_err(input_error)?;
        let sim = Simulation::merge(&spec, empty.protocols, empty.assets, empty.warnings, parts)
            .ok_or_else(|| {
                input_error(format!(
                    "shards: they must hold each path of 0..{} exactly once",
                    spec.paths
                ))
            })?;
        Ok(SimulationRun { sim })
    }
}

/// Why a calibration with a Python `run` stopped: the path model, or the Python callable.
enum CalibrationError {
    Path(cascade_risk::paths::PathError),
    Python(PyErr),
}

impl From<cascade_risk::paths::PathError> for CalibrationError {
    fn from(e: cascade_risk::paths::PathError) -> Self {
        CalibrationError::Path(e)
    }
}

impl CalibrationError {
    fn into_py(self) -> PyErr {
        match self {
            CalibrationError::Path(e) => input_error(e),
            CalibrationError::Python(e) => e,
        }
    }
}

impl Snapshot {
    /// The Monte Carlo calibration of reserve (`protocol`, `asset`), as `cascade calibrate`:
    /// the largest liquidation threshold and supply whose `ES_alpha` of the protocol's loss stays
    /// within `budget_share` of its supplied value. With `run`, every simulation of the bisection is
    /// made by `run(snapshot)` — a Python callable returning the shards of `spec`'s paths on that
    /// snapshot (`simulate_shard` bytes, e.g. from Ray tasks) — and merged here: the result is the
    /// same. JSON of the result, or `None` for a reserve that is not collateral.
    pub(crate) fn run_calibration(
        &self,
        py: Python<'_>,
        (protocol, asset): (&str, &str),
        spec: SpecArgs,
        (alpha, budget_share, max_supply_factor): (f64, f64, f64),
        run: Option<Py<PyAny>>,
    ) -> PyResult<Option<String>> {
        let s = &self.inner;
        let p = s
            .protocol_idx(protocol)
            .ok_or_else(|| input_error(format!("protocol: no \"{protocol}\" in the snapshot")))?;
        let a = s
            .asset_idx(asset)
            .ok_or_else(|| input_error(format!("asset: no \"{asset}\" in the snapshot")))?;
        if !(alpha > 0.5 && alpha < 1.0) {
            return Err(input_error(format!(
                "confidence = {alpha}, expected a confidence level in (0.5, 1)"
            )));
        }
        if !(budget_share >= 0.0 && max_supply_factor >= 1.0) {
            return Err(input_error("budget must be ≥ 0 and max_supply_factor ≥ 1"));
        }
        let mut spec = spec_of(s, &spec)?;
        spec.alphas = vec![alpha];
        let result = match run {
            None => {
                let s = Arc::clone(s);
                py.detach(move || {
                    cascade_risk::bisect::calibrate_reserve(
                        &s,
                        &spec,
                        p,
                        a,
                        alpha,
                        budget_share,
                        max_supply_factor,
                    )
                })
                .map_err(input_error)?
            }
            Some(run) => {
                let builtin = self.builtin;
                let mut remote = |t: &cascade_model::Snapshot,
                                  sp: &SimulationSpec|
                 -> Result<Simulation, CalibrationError> {
                    let snap = Snapshot {
                        inner: Arc::new(t.clone()),
                        warnings: Vec::new(),
                        builtin,
                    };
                    let parts: Vec<Vec<u8>> = run
                        .call1(py, (snap,))
                        .and_then(|v| v.extract(py))
                        .map_err(CalibrationError::Python)?;
                    let parts = parts
                        .iter()
                        .map(|b| decode(b))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| {
                            CalibrationError::Python(input_error(
                                "run: did not return simulate_shard bytes",
                            ))
                        })?;
                    let empty = simulate_range(t, sp, 0..0, &|| {})?;
                    Simulation::merge(sp, empty.protocols, empty.assets, empty.warnings, parts)
                        .ok_or_else(|| {
                            CalibrationError::Python(input_error(format!(
                                "run: the shards must hold each path of 0..{} exactly once",
                                sp.paths
                            )))
                        })
                };
                cascade_risk::bisect::calibrate_reserve_with(
                    s,
                    &spec,
                    (p, a),
                    (alpha, budget_share, max_supply_factor),
                    &mut remote,
                )
                .map_err(CalibrationError::into_py)?
            }
        };
        result
            .map(|r| serde_json::to_string_pretty(&r).map_err(input_error))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_bit_for_bit() {
        let p = PathOutcome {
            path: 7,
            loss_usd: 0.1 + 0.2,
            bad_debt_usd: -0.0,
            liquidated_debt_usd: f64::MIN_POSITIVE,
            rounds: 3,
            protocol_loss_usd: vec![1.0, 2.5],
            protocol_bad_debt_usd: vec![0.0, 1e-300],
            protocol_liquidated_usd: vec![3.0, f64::MAX],
            log_returns: vec![-0.01],
        };
        let b = encode(&[p.clone(), p.clone()]);
        let back = decode(&b).unwrap_or_default();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].loss_usd.to_bits(), p.loss_usd.to_bits());
        assert_eq!(back[0].bad_debt_usd.to_bits(), (-0.0f64).to_bits());
        assert_eq!(back[1], p);
        assert!(decode(&b[..b.len() - 1]).is_none());
        assert!(decode(&[b.as_slice(), &[0]].concat()).is_none());
    }
}
