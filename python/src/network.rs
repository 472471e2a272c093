//! Contagion from Python: a snapshot's contagion analysis (`cascade contagion --json`), and
//! Eisenberg–Noe clearing and DebtRank on any network given as matrices (`cascade clearing --json`,
//! `cascade debtrank --json`). The Python layer turns numpy arrays and DataFrames into rows.

use cascade_contagion::clearing::{clear, ClearingOptions};
use cascade_contagion::debtrank::{
    debtrank, each_node_alone, shock_vector, DebtRankOptions, Variant,
};
use cascade_contagion::network::Network;
use cascade_contagion::output::{
    ClearingReport, ContagionReport, DebtRankByNode, DebtRankReport, ProtocolDebtRank,
    SNAPSHOT_DEBTRANK_NOTE,
};
use pyo3::prelude::*;

use crate::input_error;

/// Node names: the given ones, or `"0"`, `"1"`, … when none are given; as many as nodes.
fn named(mut net: Network, names: Vec<String>) -> PyResult<Network> {
    if !names.is_empty() {
        if names.len() != net.len() {
            return Err(input_error(format!(
                "names: {} names for {} nodes",
                names.len(),
                net.len()
            )));
        }
        let mut sorted = names.clone();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(input_error(format!("names: \"{}\" twice", w[0])));
        }
        net.names = names;
    }
    Ok(net)
}

fn json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string_pretty(v).map_err(input_error)
}

/// Eisenberg–Noe clearing (`costs`: the Rogers–Veraart recoveries `alpha` of external assets and
/// `beta` of interbank receipts, and the `shock` to every node's external assets): the JSON of
/// `cascade clearing --json`.
#[pyfunction]
pub fn clearing(
    py: Python<'_>,
    liabilities: Vec<Vec<f64>>,
    external_assets: Vec<f64>,
    external_liabilities: Vec<f64>,
    names: Vec<String>,
    costs: (f64, f64, f64),
) -> PyResult<String> {
    let (alpha, beta, shock) = costs;
    let options = ClearingOptions::with_costs(alpha, beta)
        .and_then(|o| o.with_asset_shock(shock))
        .map_err(input_error)?;
    let net =
        Network::from_dense_liabilities(&liabilities, &external_assets, &external_liabilities)
            .map_err(input_error)?;
    let net = named(net, names)?;
    let c = py.detach(|| clear(&net, &options)).map_err(input_error)?;
    json(&ClearingReport::new(&net, &c, &options))
}

/// DebtRank on a network of exposures (`exposures[j][i]`: exposure of `j` to `i`): from the
/// `shocks` (node, fraction) if any, else each node alone fully distressed — the JSON of
/// `cascade debtrank --json`.
#[pyfunction]
#[pyo3(signature = (exposures, equity, weight, names, shocks, variant))]
pub fn debtrank_json(
    py: Python<'_>,
    exposures: Vec<Vec<f64>>,
    equity: Vec<f64>,
    weight: Option<Vec<f64>>,
    names: Vec<String>,
    shocks: Vec<(String, f64)>,
    variant: &str,
) -> PyResult<String> {
    let variant = match variant {
        "differential" => Variant::Differential,
        "original" => Variant::Original,
        other => {
            return Err(input_error(format!(
                "variant: \"{other}\", expected \"differential\" or \"original\""
            )))
        }
    };
    let net = Network::from_dense_exposures(&exposures, &equity, weight.as_deref())
        .map_err(input_error)?;
    let net = named(net, names)?;
    let options = DebtRankOptions::new(variant);
    if shocks.is_empty() {
        let runs = py
            .detach(|| each_node_alone(&net, &options))
            .map_err(input_error)?;
        return json(&DebtRankByNode::new(&net, variant, &runs));
    }
    let refs: Vec<(&str, f64)> = shocks.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    let h0 = shock_vector(&net, &refs).map_err(input_error)?;
    let r = py
        .detach(|| debtrank(&net, &h0, &options))
        .map_err(input_error)?;
    json(&DebtRankReport::new(&net, variant, &r, false))
}

/// A snapshot's contagion analysis with the loops of `scenario`: the JSON of
/// `cascade contagion --json`.
pub fn contagion_report(
    s: &cascade_model::Snapshot,
    scenario: &cascade_model::Scenario,
) -> ContagionReport {
    use cascade_contagion::snapshot as cs;
    let prepared = cascade_engine::Prepared::new(s);
    let debtrank = cs::snapshot_debtrank(s, &prepared, Variant::Differential);
    ContagionReport {
        snapshot: s.name.clone(),
        exposure_graph: cs::exposure_graph(s, &prepared),
        contagion_coefficients: cs::contagion_coefficients(s, &prepared),
        loops: cs::loops(s, &prepared, scenario),
        loops_scenario: scenario.name.clone(),
        concentration: cs::concentration(s, &prepared),
        diversification: cascade_contagion::diversification::diversification(s, &prepared),
        diversification_cap: None,
        debtrank: debtrank
            .into_iter()
            .map(|(protocol, debtrank)| ProtocolDebtRank { protocol, debtrank })
            .collect(),
        debtrank_note: SNAPSHOT_DEBTRANK_NOTE.into(),
    }
}
