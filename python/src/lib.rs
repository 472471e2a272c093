//! `cascade._native`: the compiled part of the Python package (docs/python.md). Snapshots are loaded
//! and checked by the same code as the CLI, stress runs are the same runs as `cascade stress`, and
//! every long call releases the GIL. Input problems raise `cascade.InputError` (a `ValueError`) with
//! the CLI's message: file, line and field.

mod frames;
mod network;
mod simulation;

use std::sync::Arc;

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use cascade_engine::{run_with_baseline, Options, StressResult};
use cascade_io::builtin;
use cascade_model::OptionType;
use cascade_protocols::options::{black76_batch, Greeks, BATCH_CHUNK};

create_exception!(
    _native,
    InputError,
    PyValueError,
    "A problem with the input: a file, a line, a field, and what is wrong (the CLI's message)."
);

pub(crate) fn input_error(msg: impl std::fmt::Display) -> PyErr {
    InputError::new_err(msg.to_string().trim_end().to_string())
}

/// A system: assets, protocols, accounts and their positions.
#[pyclass(module = "cascade._native", frozen)]
pub(crate) struct Snapshot {
    inner: Arc<cascade_model::Snapshot>,
    /// Warnings found while loading it.
    warnings: Vec<String>,
    builtin: bool,
}

#[pymethods]
impl Snapshot {
    /// The snapshot's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// Where it was loaded from.
    #[getter]
    fn source(&self) -> String {
        self.inner.source.clone()
    }

    /// The asset ids, in the snapshot's order.
    #[getter]
    fn assets(&self) -> Vec<String> {
        self.inner.assets.iter().map(|a| a.id.clone()).collect()
    }

    /// The protocol ids, in the snapshot's order.
    #[getter]
    fn protocols(&self) -> Vec<String> {
        self.inner.protocols.iter().map(|p| p.id.clone()).collect()
    }

    /// The number of accounts.
    #[getter]
    fn accounts(&self) -> usize {
        self.inner.accounts.len()
    }

    /// The warnings found while loading it (lines as the CLI prints them).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<cascade.Snapshot {:?}: {} assets, {} protocols, {} accounts>",
            self.inner.name,
            self.inner.assets.len(),
            self.inner.protocols.len(),
            self.inner.accounts.len()
        )
    }

    /// Runs one stress scenario (a file, or a built-in name) through the full cascade, beside the
    /// same system with no shock (the baseline), as `cascade stress --json` does. `breakers`:
    /// circuit breakers as configured (True) or ignored (False); `accounts`: also report every
    /// account. Releases the GIL while it runs.
    #[pyo3(signature = (scenario=None, breakers=true, accounts=false))]
    fn stress(
        &self,
        py: Python<'_>,
        scenario: Option<String>,
        breakers: bool,
        accounts: bool,
    ) -> PyResult<StressRun> {
        let sc = self.scenario(scenario)?;
        let snap = Arc::clone(&self.inner);
        let result = py.detach(move || {
            run_with_baseline(
                &snap,
                &sc,
                &Options {
                    breakers,
                    accounts,
                    ..Default::default()
                },
            )
        });
        StressRun::new(result)
    }

    /// The snapshot as files, `[(name, bytes)]`: `snapshot.toml` (without accounts) and the
    /// `positions.parquet` it names, as `cascade gen` writes them; [`from_files`] reads them back to
    /// an equal snapshot. For pickling (a snapshot shipped to other processes). `builtin`: whether
    /// it is the built-in system.
    fn to_files(&self, py: Python<'_>) -> PyResult<(Files, bool)> {
        let s = Arc::clone(&self.inner);
        let files = py.detach(move || -> Result<Files, String> {
            let dir = scratch_dir().map_err(|e| e.to_string())?;
            let result = (|| {
                let parquet = dir.join("positions.parquet");
                cascade_io::write::write_positions_parquet(&parquet, &s)
                    .map_err(|e| e.to_string())?;
                let toml = cascade_io::write::snapshot_to_toml(&s, &["positions.parquet"], false);
                let bytes = std::fs::read(&parquet).map_err(|e| e.to_string())?;
                Ok(vec![
                    ("snapshot.toml".to_string(), toml.into_bytes()),
                    ("positions.parquet".to_string(), bytes),
                ])
            })();
            let _ = std::fs::remove_dir_all(&dir);
            result
        });
        Ok((files.map_err(input_error)?, self.builtin))
    }

    /// The contagion analysis (exposure graph, contagion coefficients, loops under `scenario`,
    /// concentration, DebtRank) as JSON: `cascade contagion --json`'s document. Releases the GIL.
    #[pyo3(signature = (scenario=None))]
    fn contagion(&self, py: Python<'_>, scenario: Option<String>) -> PyResult<String> {
        let sc = self.scenario(scenario)?;
        let s = Arc::clone(&self.inner);
        let report = py.detach(move || network::contagion_report(&s, &sc));
        serde_json::to_string_pretty(&report).map_err(input_error)
    }

    /// The Monte Carlo calibration of a reserve, as `cascade calibrate` (JSON, or None when the
    /// reserve is not collateral); with `run`, its simulations are made by `run(snapshot)` (shards).
    #[pyo3(signature = (protocol, asset, spec, levels, run=None))]
    fn calibrate(
        &self,
        py: Python<'_>,
        protocol: &str,
        asset: &str,
        spec: simulation::SpecArgs,
        levels: (f64, f64, f64),
        run: Option<Py<PyAny>>,
    ) -> PyResult<Option<String>> {
        self.run_calibration(py, (protocol, asset), spec, levels, run)
    }

    /// Monte Carlo through the full cascade, as `cascade simulate`: `spec` holds its settings
    /// (the Python layer fills the defaults).
    fn simulate(
        &self,
        py: Python<'_>,
        spec: simulation::SpecArgs,
    ) -> PyResult<simulation::SimulationRun> {
        self.run_simulation(py, spec)
    }

    /// The paths `start..stop` of the simulation `spec`, as bytes for `merge_simulation`.
    fn simulate_shard<'py>(
        &self,
        py: Python<'py>,
        spec: simulation::SpecArgs,
        start: u64,
        stop: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.run_shard(py, spec, start, stop)
    }

    /// The simulation `spec` from its shards (any order), bit for bit `simulate`'s.
    fn merge_simulation(
        &self,
        spec: simulation::SpecArgs,
        shards: Vec<Vec<u8>>,
    ) -> PyResult<simulation::SimulationRun> {
        self.merge_shards(spec, shards)
    }
}

impl Snapshot {
    /// The scenario named (a file or a built-in name), checked against this snapshot; `eth-crash`
    /// when none is named on the built-in system.
    fn scenario(&self, scenario: Option<String>) -> PyResult<cascade_model::Scenario> {
        let name = match scenario {
            Some(s) => s,
            None if self.builtin => builtin::SCENARIOS[0].name.to_string(),
            None => {
                return Err(input_error(format!(
                    "scenario: name one (a scenario file, or a built-in name: {})",
                    builtin::scenario_names().join(", ")
                )))
            }
        };
        builtin::scenario_file_or_builtin(&name, &self.inner)
            .map(|(sc, _)| sc)
            .map_err(input_error)
    }
}

/// The result of a stress run: the same figures as `cascade stress --json`.
#[pyclass(module = "cascade._native", frozen)]
struct StressRun {
    json: String,
    value: serde_json::Value,
}

impl StressRun {
    fn new(r: StressResult) -> PyResult<StressRun> {
        let value = serde_json::to_value(&r).map_err(input_error)?;
        let json = serde_json::to_string_pretty(&value).map_err(input_error)?;
        Ok(StressRun { json, value })
    }
}

#[pymethods]
impl StressRun {
    /// The whole result as JSON text (exactly `cascade stress --json`'s).
    fn to_json(&self) -> String {
        self.json.clone()
    }

    /// One of the result's tables as an Arrow IPC stream: `protocols` (one row per protocol),
    /// `rounds` (one row per round: bad debt, liquidations, sales and every price) or `accounts`
    /// (one row per account, when the run reported them).
    fn table<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
        let rows: Vec<serde_json::Value> = match name {
            "protocols" | "accounts" => self.value[name].as_array().cloned().unwrap_or_default(),
            "rounds" => self.value["rounds"]
                .as_array()
                .into_iter()
                .flatten()
                .map(round_row)
                .collect(),
            other => {
                return Err(input_error(format!(
                    "table: \"{other}\", expected protocols, rounds or accounts"
                )))
            }
        };
        let bytes = frames::ipc(&rows).map_err(input_error)?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// A round's row: its number, bad debt, liquidated debt and seized collateral (USD), how many
/// liquidations and sales, and each asset's price (`price.ASSET`).
fn round_row(r: &serde_json::Value) -> serde_json::Value {
    let sum = |list: &str, key: &str| -> f64 {
        r[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x[key].as_f64())
            .sum()
    };
    let count = |list: &str| r[list].as_array().map_or(0, Vec::len);
    serde_json::json!({
        "round": r["round"],
        "bad_debt_usd": r["bad_debt_usd"],
        "liquidated_debt_usd": sum("liquidations", "repaid_usd"),
        "seized_collateral_usd": sum("liquidations", "seized_usd"),
        "liquidations": count("liquidations"),
        "sales": count("sales"),
        "price": r["prices"],
    })
}

/// Loads a snapshot file (TOML or JSON, with the position files it names); every problem found
/// raises one `InputError` listing them.
#[pyfunction]
fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Snapshot> {
    let (s, d) = py
        .detach(|| cascade_io::load::load_snapshot(&path))
        .map_err(|e| input_error(e.diagnostics))?;
    Ok(Snapshot {
        inner: Arc::new(s),
        warnings: d.warnings().map(|w| w.to_string()).collect(),
        builtin: false,
    })
}

/// A stress result from its JSON text (as `to_json` wrote it), e.g. one run in another process.
#[pyfunction]
fn stress_run_from_json(text: &str) -> PyResult<StressRun> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(input_error)?;
    Ok(StressRun {
        json: text.to_string(),
        value,
    })
}

/// Named files' bytes.
type Files = Vec<(String, Vec<u8>)>;

/// A fresh folder in the system's temporary folder.
fn scratch_dir() -> std::io::Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cascade-py-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The snapshot that [`Snapshot::to_files`] wrote (`builtin` as it said).
#[pyfunction]
fn from_files(py: Python<'_>, files: Files, builtin: bool) -> PyResult<Snapshot> {
    let loaded = py.detach(
        move || -> Result<(cascade_model::Snapshot, Vec<String>), String> {
            let dir = scratch_dir().map_err(|e| e.to_string())?;
            let result = (|| {
                for (name, bytes) in &files {
                    if name.contains('/') || name.contains('\\') || name.starts_with('.') {
                        return Err(format!("{name}: not a file name"));
                    }
                    std::fs::write(dir.join(name), bytes).map_err(|e| e.to_string())?;
                }
                let (s, d) = cascade_io::load::load_snapshot(&dir.join("snapshot.toml"))
                    .map_err(|e| e.diagnostics.to_string())?;
                Ok((s, d.warnings().map(|w| w.to_string()).collect()))
            })();
            let _ = std::fs::remove_dir_all(&dir);
            result
        },
    );
    let (s, warnings) = loaded.map_err(input_error)?;
    Ok(Snapshot {
        inner: Arc::new(s),
        warnings,
        builtin,
    })
}

/// The built-in example system (the one `cascade stress` runs with no --snapshot).
#[pyfunction]
fn builtin_system() -> PyResult<Snapshot> {
    let (s, d) = builtin::system().map_err(|e| input_error(e.diagnostics))?;
    Ok(Snapshot {
        inner: Arc::new(s),
        warnings: d.warnings().map(|w| w.to_string()).collect(),
        builtin: true,
    })
}

type Column<'py> = Bound<'py, PyArray1<f64>>;

/// Black-76 value and Greeks of many options at once, on float64 arrays of equal length (read in
/// place) and `is_call` (True: call); the GIL released while they run. Raises `InputError` naming
/// the first option and input outside its domain (spot, strike > 0; vol ≥ 0; expiry > 0; all
/// finite).
#[pyfunction]
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
fn greeks<'py>(
    py: Python<'py>,
    spot: PyReadonlyArray1<'py, f64>,
    strike: PyReadonlyArray1<'py, f64>,
    rate: PyReadonlyArray1<'py, f64>,
    vol: PyReadonlyArray1<'py, f64>,
    expiry_years: PyReadonlyArray1<'py, f64>,
    is_call: PyReadonlyArray1<'py, bool>,
) -> PyResult<(
    Column<'py>,
    Column<'py>,
    Column<'py>,
    Column<'py>,
    Column<'py>,
)> {
    let cols = [&spot, &strike, &rate, &vol, &expiry_years];
    let slices: Vec<&[f64]> = cols
        .iter()
        .map(|c| c.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| input_error(format!("arrays must be contiguous: {e}")))?;
    let calls = is_call
        .as_slice()
        .map_err(|e| input_error(format!("arrays must be contiguous: {e}")))?;
    let n = calls.len();
    let names = ["spot", "strike", "rate", "vol", "expiry_years"];
    for (s, name) in slices.iter().zip(names) {
        if s.len() != n {
            return Err(input_error(format!(
                "{name}: {} values, expected {n} (as many as the other inputs)",
                s.len()
            )));
        }
    }
    let (s, k, r, v, t) = (slices[0], slices[1], slices[2], slices[3], slices[4]);
    let out = py.detach(|| -> Result<[Vec<f64>; 5], String> {
        for i in 0..n {
            for (x, name) in [s[i], k[i], r[i], v[i], t[i]].iter().zip(names) {
                if !x.is_finite() {
                    return Err(format!(
                        "option {i}: {name} = {x}, expected a finite number"
                    ));
                }
            }
            let bad = if s[i] <= 0.0 {
                Some(("spot", s[i], "> 0"))
            } else if k[i] <= 0.0 {
                Some(("strike", k[i], "> 0"))
            } else if v[i] < 0.0 {
                Some(("vol", v[i], "≥ 0"))
            } else if t[i] <= 0.0 {
                Some(("expiry_years", t[i], "> 0"))
            } else {
                None
            };
            if let Some((name, x, want)) = bad {
                return Err(format!("option {i}: {name} = {x}, expected {want}"));
            }
        }
        Ok(greeks_columns(calls, s, k, r, v, t))
    });
    let [price, delta, gamma, vega, theta] = out.map_err(input_error)?;
    Ok((
        price.into_pyarray(py),
        delta.into_pyarray(py),
        gamma.into_pyarray(py),
        vega.into_pyarray(py),
        theta.into_pyarray(py),
    ))
}

/// Black-76 of every option into five columns (price, delta, gamma, vega, theta), in parallel
/// chunks of [`BATCH_CHUNK`] options, each through `black76_batch`: the same numbers, without a
/// row of Greeks per option in between.
fn greeks_columns(
    calls: &[bool],
    s: &[f64],
    k: &[f64],
    r: &[f64],
    v: &[f64],
    t: &[f64],
) -> [Vec<f64>; 5] {
    use rayon::prelude::*;
    let n = calls.len();
    let mut cols: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; n]);
    let [p, d, g, ve, th] = &mut cols;
    p.par_chunks_mut(BATCH_CHUNK)
        .zip(d.par_chunks_mut(BATCH_CHUNK))
        .zip(g.par_chunks_mut(BATCH_CHUNK))
        .zip(ve.par_chunks_mut(BATCH_CHUNK))
        .zip(th.par_chunks_mut(BATCH_CHUNK))
        .enumerate()
        .for_each(|(c, ((((pc, dc), gc), vc), tc))| {
            let lo = c * BATCH_CHUNK;
            let hi = lo + pc.len();
            let kinds: Vec<OptionType> = calls[lo..hi]
                .iter()
                .map(|&c| if c { OptionType::Call } else { OptionType::Put })
                .collect();
            let mut buf = vec![Greeks::default(); hi - lo];
            black76_batch(
                &kinds,
                &s[lo..hi],
                &k[lo..hi],
                &r[lo..hi],
                &v[lo..hi],
                &t[lo..hi],
                &mut buf,
            );
            for (i, x) in buf.iter().enumerate() {
                pc[i] = x.price;
                dc[i] = x.delta;
                gc[i] = x.gamma;
                vc[i] = x.vega;
                tc[i] = x.theta;
            }
        });
    cols
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Snapshot>()?;
    m.add_class::<StressRun>()?;
    m.add_class::<simulation::SimulationRun>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_system, m)?)?;
    m.add_function(wrap_pyfunction!(from_files, m)?)?;
    m.add_function(wrap_pyfunction!(stress_run_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(network::clearing, m)?)?;
    m.add_function(wrap_pyfunction!(network::debtrank_json, m)?)?;
    m.add_function(wrap_pyfunction!(greeks, m)?)?;
    Ok(())
}
