//! The results of `cascade contagion`, `clearing` and `debtrank` as serde types: the command line
//! serialises these (keys sorted, as `serde_json::Value` writes them), it does not assemble them.
//! Field meanings: docs/contagion.md.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clearing::{Clearing, ClearingOptions};
use crate::debtrank::{DebtRank, Variant};
use crate::diversification::{CapCounterfactual, ProtocolDiversification};
use crate::network::Network;
use crate::snapshot::{Coefficient, Concentration, Edge, Loops};

/// What `debtrank_note` says of a snapshot's DebtRank.
pub const SNAPSHOT_DEBTRANK_NOTE: &str = "differential DebtRank of each protocol alone fully distressed; exposures = the graph's claims, equity = first-loss buffer, weight = TVL";

/// One protocol's DebtRank when it alone is fully distressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtocolDebtRank {
    pub protocol: String,
    pub debtrank: f64,
}

/// The contagion analysis of a snapshot (`cascade contagion --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContagionReport {
    /// The snapshot's name.
    pub snapshot: String,
    pub exposure_graph: Vec<Edge>,
    pub contagion_coefficients: Vec<Coefficient>,
    pub loops: Loops,
    /// The scenario whose bad debt `loops` attributes.
    pub loops_scenario: String,
    pub concentration: Vec<Concentration>,
    /// Per lending protocol, its accounts' effective number of collateral assets.
    pub diversification: Vec<ProtocolDiversification>,
    /// With `--diversification-cap`: the scenario's bad debt with and without the cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diversification_cap: Option<CapCounterfactual>,
    pub debtrank: Vec<ProtocolDebtRank>,
    /// How `debtrank` was computed ([`SNAPSHOT_DEBTRANK_NOTE`]).
    pub debtrank_note: String,
}

/// A clearing of a network (`cascade clearing --json`); maps are keyed by node name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClearingReport {
    pub payments: BTreeMap<String, f64>,
    pub obligations: BTreeMap<String, f64>,
    pub recovery: BTreeMap<String, f64>,
    /// The round in which a node defaulted; `null` if it pays in full.
    pub default_round: BTreeMap<String, Option<usize>>,
    pub rounds: usize,
    /// Rogers–Veraart: share of external assets a defaulting node realises.
    pub alpha: f64,
    /// Rogers–Veraart: share of interbank receipts a defaulting node realises.
    pub beta: f64,
    /// Share by which every node's external assets were shocked.
    pub shock: f64,
}

impl ClearingReport {
    /// The report of clearing `c` of `network` under `options`.
    pub fn new(network: &Network, c: &Clearing, options: &ClearingOptions) -> Self {
        ClearingReport {
            payments: by_name(network, &c.payments),
            obligations: by_name(network, &c.obligations),
            recovery: by_name(network, &c.recovery),
            default_round: by_name(network, &c.default_round),
            rounds: c.rounds,
            alpha: options.alpha,
            beta: options.beta,
            shock: options.asset_shock,
        }
    }
}

/// One node's DebtRank when it alone is fully distressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeDebtRank {
    pub node: String,
    pub debtrank: f64,
    pub rounds: usize,
}

/// Every node's DebtRank alone (`cascade debtrank --json` without a shock).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DebtRankByNode {
    pub variant: &'static str,
    /// Highest DebtRank first; ties by name.
    pub by_node: Vec<NodeDebtRank>,
}

impl DebtRankByNode {
    /// The report of `runs`, one per node of `network` in its order (each node alone fully
    /// distressed): highest DebtRank first, ties by name.
    pub fn new(network: &Network, variant: Variant, runs: &[DebtRank]) -> Self {
        let mut by_node: Vec<NodeDebtRank> = network
            .names
            .iter()
            .zip(runs)
            .map(|(n, r)| NodeDebtRank {
                node: n.clone(),
                debtrank: r.debtrank,
                rounds: r.rounds,
            })
            .collect();
        by_node.sort_by(|x, y| y.debtrank.total_cmp(&x.debtrank).then(x.node.cmp(&y.node)));
        DebtRankByNode {
            variant: variant.name(),
            by_node,
        }
    }
}

/// A DebtRank run from a given shock (`cascade debtrank --shock … --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DebtRankReport {
    pub variant: &'static str,
    /// Final stress of each node, by name.
    pub stress: BTreeMap<String, f64>,
    pub debtrank: f64,
    pub additional_stress: f64,
    pub rounds: usize,
    pub converged: bool,
    /// Every node's stress after each round (round 0 = the shock); only when asked for, as it
    /// holds nodes × rounds numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stress_by_round: Option<Vec<BTreeMap<String, f64>>>,
}

impl DebtRankReport {
    /// The report of run `r` on `network`; `by_round` keeps `r.history` (which must then hold every
    /// round).
    pub fn new(network: &Network, variant: Variant, r: &DebtRank, by_round: bool) -> Self {
        DebtRankReport {
            variant: variant.name(),
            stress: by_name(network, &r.stress),
            debtrank: r.debtrank,
            additional_stress: r.additional_stress,
            rounds: r.rounds,
            converged: r.converged,
            stress_by_round: by_round
                .then(|| r.history.iter().map(|h| by_name(network, h)).collect()),
        }
    }
}

/// `values` keyed by node name.
fn by_name<T: Clone>(network: &Network, values: &[T]) -> BTreeMap<String, T> {
    network
        .names
        .iter()
        .cloned()
        .zip(values.iter().cloned())
        .collect()
}
