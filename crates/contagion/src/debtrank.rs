//! DebtRank (docs/contagion.md#debtrank): distress propagation on an exposure network, in the original variant of
//! Battiston et al. (2012) and the differential variant of Bardoscia et al. (2015).
//!
//! Impact of node `i` on node `j`: `W_ij = min(1, A_ji / E_j)`, where `A_ji` is the exposure of
//! `j` to `i` and `E_j` the equity of `j` (a node with zero equity is fully hit by any positive
//! exposure: `W_ij = 1`; self-exposures are ignored). Stress `h_j ∈ [0, 1]` is the fraction of
//! `j`'s equity lost; `h(0)` is the initial shock.
//!
//! **Original** (Battiston et al. 2012). States: undistressed (`h = 0`), distressed, inactive. A
//! node distressed at round `t − 1` propagates once, at round `t`, and is inactive afterwards:
//!
//! ```text
//! h_j(t) = min(1, h_j(t−1) + Σ_{i distressed at t−1} W_ij h_i(t−1))
//! ```
//!
//! Nodes with `h(0) > 0` are distressed at round 0; a node first reaching `h > 0` at round `t` is
//! distressed at `t`. The run stops when no node is distressed (at most `n` rounds).
//!
//! **Differential** (Bardoscia et al. 2015; the default of R's NetworkRiskMeasures
//! `contagion(method = "debtrank")`). Increments of stress propagate every round:
//!
//! ```text
//! h_j(t) = min(1, h_j(t−1) + Σ_i W_ij (h_i(t−1) − h_i(t−2))),    h(−1) = 0
//! ```
//!
//! Summed over rounds this is `h(t) = min(1, h(0) + Wᵀ h(t−1))`, so the run converges to the least
//! fixed point of that map above `h(0)`. Three rules bound the work:
//! - an increment no larger than `tolerance` (1e−12) is not propagated, and the run stops when
//!   nothing is left to propagate (or after `max_rounds`, flagged by `converged = false`);
//! - a node at `h = 1` takes nothing more (its edges are skipped);
//! - a loop of full impacts (`W = 1` both ways round it, e.g. two nodes each exposed to the other
//!   beyond its equity) ends fully distressed as soon as one of its nodes is distressed: the stress
//!   circling it is never damped, so the rounds alone would add one increment a round until every
//!   node reached 1 — about 1/increment rounds (10,000 rounds were not enough on a 9-edge network).
//!   The fixed point is the same.
//!
//! NetworkRiskMeasures stops at a Euclidean change below `ε^0.2 ≈ 7e−4`, so its figures can be
//! slightly lower than ours on networks with cycles.
//!
//! Metrics, with weights `v_j` (economic value; default the equity) and `V = Σ_j v_j`:
//! - `original_stress = Σ_j v_j h_j(0) / V` — the initial shock's own value.
//! - `additional_stress = Σ_j v_j (h_j(T) − h_j(0)) / V` — value lost beyond the initial shock
//!   (Battiston's `R = Σ_j h_j(T) v_j − Σ_j h_j(1) v_j` in relative weights; NetworkRiskMeasures'
//!   `additional_stress`).
//! - `debtrank = Σ_{j : h_j(0) = 0} v_j h_j(T) / V` — the relative value lost by the others, the
//!   nodes not initially shocked. Equal to `additional_stress` when every shocked node is shocked
//!   fully (`h_j(0) ∈ {0, 1}`), e.g. the DebtRank of a single node's default.
//!
//! All three are in [0, 1]; they are 0 when `V = 0`.
//!
//! # Examples
//! A hit on `0` spreads to `1` (which holds 5 of `0`'s debt against equity 10):
//! ```
//! use cascade_contagion::{debtrank::{debtrank, DebtRankOptions}, network::Network};
//! let net = Network::from_dense_exposures(
//!     &[vec![0.0, 0.0], vec![5.0, 0.0]], &[10.0, 10.0], None).unwrap();
//! let r = debtrank(&net, &[1.0, 0.0], &DebtRankOptions::default()).unwrap();
//! assert_eq!(r.stress, [1.0, 0.5]);
//! assert_eq!(r.debtrank, 0.25);
//! ```

use crate::network::{Csr, Network};

/// Default stopping tolerance of the differential variant (largest increment of `h`).
pub const DEFAULT_TOLERANCE: f64 = 1e-12;
/// Default cap on rounds of the differential variant.
pub const DEFAULT_MAX_ROUNDS: usize = 10_000;

/// Which DebtRank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// Battiston et al. (2012): each node propagates once, when it first becomes distressed.
    Original,
    /// Bardoscia et al. (2015): increments of stress propagate every round.
    #[default]
    Differential,
}

impl Variant {
    /// `"original"` or `"differential"`.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Original => "original",
            Variant::Differential => "differential",
        }
    }
}

/// Parameters of a DebtRank run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DebtRankOptions {
    /// The variant (default: differential).
    pub variant: Variant,
    /// Differential variant: stop once no increment exceeds this; ≥ 0 and finite.
    pub tolerance: f64,
    /// Differential variant: cap on rounds; ≥ 1. (The original variant ends within `n` rounds.)
    pub max_rounds: usize,
    /// Keep the stress of every round in [`DebtRank::history`] (default off: it holds nodes ×
    /// rounds numbers).
    pub keep_history: bool,
}

impl Default for DebtRankOptions {
    fn default() -> Self {
        DebtRankOptions {
            variant: Variant::default(),
            tolerance: DEFAULT_TOLERANCE,
            max_rounds: DEFAULT_MAX_ROUNDS,
            keep_history: false,
        }
    }
}

impl DebtRankOptions {
    /// Default options for `variant`.
    pub fn new(variant: Variant) -> Self {
        DebtRankOptions {
            variant,
            ..Self::default()
        }
    }
}

/// An error of DebtRank.
pub use crate::error::ContagionError as DebtRankError;

/// The result of a DebtRank run; vectors have one entry per node.
#[derive(Debug, Clone, PartialEq)]
pub struct DebtRank {
    /// Final stress `h_j(T)` ∈ [0, 1].
    pub stress: Vec<f64>,
    /// `history[t]` = `h(t)`; `history[0]` is the initial shock (only `[h(0), h(T)]` when
    /// `keep_history` is off).
    pub history: Vec<Vec<f64>>,
    /// The round in which a node first had `h > 0` (0: initially shocked); in the original
    /// variant it propagates in the next round, once.
    pub distressed_round: Vec<Option<usize>>,
    /// Number of propagation rounds.
    pub rounds: usize,
    /// Relative value lost by the nodes not initially shocked (see the module doc).
    pub debtrank: f64,
    /// Relative value lost beyond the initial shock (see the module doc).
    pub additional_stress: f64,
    /// Relative value of the initial shock.
    pub original_stress: f64,
    /// False if the differential variant stopped at `max_rounds` with increments still above the
    /// tolerance.
    pub converged: bool,
}

/// The impact matrix `W` (row `i` = source of distress, column `j` = node hit):
/// `W_ij = min(1, A_ji / E_j)`, 1 when `E_j = 0`; self-exposures dropped.
pub fn impact_matrix(network: &Network) -> Result<Csr, DebtRankError> {
    let n = network.len();
    let a = &network.exposures;
    if a.n_rows() != n || a.n_cols() != n {
        return Err(DebtRankError::Dimension {
            what: "exposures matrix size",
            found: a.n_rows().max(a.n_cols()),
            expected: n,
        });
    }
    check_vector(network, "equity", &network.equity)?;
    let equity = &network.equity;
    let w = a.transpose_map(|j, i, x| {
        if i == j {
            0.0
        } else if equity[j] > 0.0 {
            (x / equity[j]).min(1.0)
        } else {
            1.0
        }
    });
    // Drop the zeroed diagonal.
    let triplets: Vec<(usize, usize, f64)> = (0..n)
        .flat_map(|i| {
            let (c, v) = w.row(i);
            c.iter()
                .zip(v)
                .filter(|(_, &x)| x > 0.0)
                .map(move |(&j, &x)| (i, j, x))
        })
        .collect();
    Csr::from_triplets(n, n, &triplets).map_err(|_| DebtRankError::Dimension {
        what: "impact matrix",
        found: n,
        expected: n,
    })
}

fn check_vector(network: &Network, what: &'static str, v: &[f64]) -> Result<(), DebtRankError> {
    if v.len() != network.len() {
        return Err(DebtRankError::Dimension {
            what,
            found: v.len(),
            expected: network.len(),
        });
    }
    match v.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
        Some(i) => Err(DebtRankError::Value {
            what,
            node: network.names[i].clone(),
            found: v[i],
            expected: "a finite number ≥ 0",
        }),
        None => Ok(()),
    }
}

/// The initial stress vector from `(node name, fraction)` shocks (fractions in [0, 1]).
///
/// # Examples
/// ```
/// use cascade_contagion::{debtrank::shock_vector, network::Network};
/// let net = Network::from_dense_exposures(&[vec![0.0; 2], vec![0.0; 2]], &[1.0, 1.0], None)
///     .unwrap();
/// assert_eq!(shock_vector(&net, &[("1", 0.5)]).unwrap(), [0.0, 0.5]);
/// ```
pub fn shock_vector(network: &Network, shocks: &[(&str, f64)]) -> Result<Vec<f64>, DebtRankError> {
    let mut h = vec![0.0; network.len()];
    let mut seen = vec![false; network.len()];
    for &(name, fraction) in shocks {
        let i = network
            .index_of(name)
            .ok_or_else(|| DebtRankError::UnknownNode(name.to_string()))?;
        if seen[i] {
            return Err(DebtRankError::DuplicateShock(name.to_string()));
        }
        if !(0.0..=1.0).contains(&fraction) {
            return Err(DebtRankError::Value {
                what: "shock",
                node: name.to_string(),
                found: fraction,
                expected: "a fraction in [0, 1]",
            });
        }
        seen[i] = true;
        h[i] = fraction;
    }
    Ok(h)
}

/// DebtRank on `network` (exposures, equity, weight) from the initial stress `initial`.
pub fn debtrank(
    network: &Network,
    initial: &[f64],
    options: &DebtRankOptions,
) -> Result<DebtRank, DebtRankError> {
    let impact = impact_matrix(network)?;
    check_vector(network, "weight", &network.weight)?;
    check_vector(network, "initial stress", initial)?;
    if let Some(i) = initial.iter().position(|&h| h > 1.0) {
        return Err(DebtRankError::Value {
            what: "initial stress",
            node: network.names[i].clone(),
            found: initial[i],
            expected: "a fraction in [0, 1]",
        });
    }
    debtrank_with_impact(&impact, &network.weight, initial, options)
}

/// Every node's DebtRank when it alone is fully distressed (`h(0)` = 1 at that node, 0 elsewhere),
/// in node order. The impact matrix is built once and the runs share it (in parallel).
pub fn each_node_alone(
    network: &Network,
    options: &DebtRankOptions,
) -> Result<Vec<DebtRank>, DebtRankError> {
    use rayon::prelude::*;
    let impact = impact_matrix(network)?;
    check_vector(network, "weight", &network.weight)?;
    let n = network.len();
    check_options(options)?;
    let groups = FullImpactGroups::for_variant(&impact, options.variant);
    (0..n)
        .into_par_iter()
        .map(|i| {
            let mut h0 = vec![0.0; n];
            h0[i] = 1.0;
            run(&impact, &network.weight, &h0, options, &groups)
        })
        .collect()
}

/// DebtRank from an impact matrix `W` (as from [`impact_matrix`]), weights and initial stress.
pub fn debtrank_with_impact(
    impact: &Csr,
    weight: &[f64],
    initial: &[f64],
    options: &DebtRankOptions,
) -> Result<DebtRank, DebtRankError> {
    let n = impact.n_rows();
    for (what, found) in [
        ("impact columns", impact.n_cols()),
        ("weight length", weight.len()),
        ("initial stress length", initial.len()),
    ] {
        if found != n {
            return Err(DebtRankError::Dimension {
                what,
                found,
                expected: n,
            });
        }
    }
    check_options(options)?;
    if let Some(i) = initial.iter().position(|h| !(0.0..=1.0).contains(h)) {
        return Err(DebtRankError::Value {
            what: "initial stress",
            node: i.to_string(),
            found: initial[i],
            expected: "a fraction in [0, 1]",
        });
    }
    if let Some(i) = weight.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(DebtRankError::Value {
            what: "weight",
            node: i.to_string(),
            found: weight[i],
            expected: "a finite number ≥ 0",
        });
    }

    let groups = FullImpactGroups::for_variant(impact, options.variant);
    run(impact, weight, initial, options, &groups)
}

/// Checks the tolerance and the round cap.
fn check_options(options: &DebtRankOptions) -> Result<(), DebtRankError> {
    if !(options.tolerance >= 0.0 && options.tolerance.is_finite()) {
        return Err(DebtRankError::Parameter {
            name: "tolerance",
            found: options.tolerance,
            expected: "a finite number ≥ 0",
        });
    }
    if options.max_rounds == 0 {
        return Err(DebtRankError::Parameter {
            name: "max_rounds",
            found: 0.0,
            expected: "≥ 1",
        });
    }
    Ok(())
}

/// The propagation itself, inputs checked, with the full-impact groups of `impact`.
fn run(
    impact: &Csr,
    weight: &[f64],
    initial: &[f64],
    options: &DebtRankOptions,
    groups: &FullImpactGroups,
) -> Result<DebtRank, DebtRankError> {
    let n = impact.n_rows();
    let mut h = initial.to_vec();
    let mut distressed_round: Vec<Option<usize>> =
        h.iter().map(|&x| (x > 0.0).then_some(0)).collect();
    let mut history = vec![h.clone()];
    let mut rounds = 0;
    let mut converged = true;
    // The nodes that propagate next, with the amount they propagate.
    let mut sources: Vec<(usize, f64)> = (0..n)
        .filter(|&i| h[i] > 0.0 && !impact.row(i).0.is_empty())
        .map(|i| (i, h[i]))
        .collect();
    let mut touched: Vec<usize> = Vec::new();
    let mut is_touched = vec![false; n];
    let mut before = vec![0.0; n];
    // Scratch for ordering many sources: each node's amount to propagate, −1 for none.
    let mut pending = vec![-1.0; n];
    let mut group_saturated = vec![false; groups.members.len()];
    // Groups with a node shocked at round 0 saturate in round 1.
    let mut shocked_groups: Vec<usize> = (0..n)
        .filter(|&i| h[i] > 0.0)
        .filter_map(|i| groups.of_node(i))
        .collect();
    while !sources.is_empty() {
        if options.variant == Variant::Differential && rounds >= options.max_rounds {
            converged = false;
            break;
        }
        rounds += 1;
        for &(i, amount) in &sources {
            let (cols, vals) = impact.row(i);
            for (&j, &w) in cols.iter().zip(vals) {
                // A fully distressed node takes nothing more.
                if h[j] >= 1.0 {
                    continue;
                }
                if !is_touched[j] {
                    is_touched[j] = true;
                    before[j] = h[j];
                    touched.push(j);
                }
                h[j] += w * amount;
            }
        }
        sources.clear();
        // A full-impact group with a distressed node ends fully distressed (see FullImpactGroups):
        // all its nodes are set to 1 at once, instead of after as many rounds as it takes the
        // stress circling in it to reach 1.
        let mut k = 0;
        while k < touched.len() || !shocked_groups.is_empty() {
            let g = if let Some(g) = shocked_groups.pop() {
                Some(g)
            } else {
                let j = touched[k];
                k += 1;
                h[j] = h[j].min(1.0);
                groups.of_node(j).filter(|_| h[j] > 0.0)
            };
            let Some(g) = g.filter(|&g| !group_saturated[g]) else {
                continue;
            };
            group_saturated[g] = true;
            for &m in &groups.members[g] {
                if !is_touched[m] {
                    is_touched[m] = true;
                    before[m] = h[m];
                    touched.push(m);
                }
                h[m] = 1.0;
            }
        }
        for &j in &touched {
            is_touched[j] = false;
            // A node without out-edges has nothing to propagate.
            let spreads = !impact.row(j).0.is_empty();
            match options.variant {
                Variant::Original => {
                    if spreads && distressed_round[j].is_none() && h[j] > 0.0 {
                        sources.push((j, h[j]));
                    }
                }
                Variant::Differential => {
                    let increment = h[j] - before[j];
                    if spreads && increment > options.tolerance {
                        sources.push((j, increment));
                    }
                }
            }
            if distressed_round[j].is_none() && h[j] > 0.0 {
                distressed_round[j] = Some(rounds);
            }
        }
        touched.clear();
        // Deterministic propagation order, by node (sums are then reproducible): a sort for a few
        // sources, a scan of every node for many.
        if sources.len() * 16 >= n {
            for &(i, amount) in &sources {
                pending[i] = amount;
            }
            sources.clear();
            for (i, p) in pending.iter_mut().enumerate() {
                if *p >= 0.0 {
                    sources.push((i, *p));
                    *p = -1.0;
                }
            }
        } else {
            sources.sort_unstable_by_key(|&(i, _)| i);
        }
        if options.keep_history {
            history.push(h.clone());
        }
    }
    if !options.keep_history && rounds > 0 {
        history.push(h.clone());
    }

    let total: f64 = weight.iter().sum();
    let (mut original, mut additional, mut others) = (0.0, 0.0, 0.0);
    for j in 0..n {
        original += weight[j] * initial[j];
        additional += weight[j] * (h[j] - initial[j]);
        if initial[j] == 0.0 {
            others += weight[j] * h[j];
        }
    }
    let relative = |x: f64| {
        if total > 0.0 {
            (x / total).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    Ok(DebtRank {
        stress: h,
        history,
        distressed_round,
        rounds,
        debtrank: relative(others),
        additional_stress: relative(additional),
        original_stress: relative(original),
        converged,
    })
}

/// Groups of two or more nodes that distress one another fully: the strongly connected components
/// (Tarjan) of the impact edges with `W_ij = 1`. In the differential variant, once any node of such
/// a group is distressed, every node of the group ends fully distressed (`h = 1`): the stress that
/// circles a loop of full impacts is never damped, so it grows until the nodes saturate — by one
/// increment per round, so slowly (about 1/increment rounds) that the iteration alone can take
/// millions of rounds. The limit is exact: were no node of the loop at 1, each would hold at least
/// its predecessor's stress plus a positive inflow, which no finite stress around the loop satisfies.
#[derive(Debug, Clone, Default)]
struct FullImpactGroups {
    /// Each node's group, `usize::MAX` for none.
    group: Vec<usize>,
    members: Vec<Vec<usize>>,
}

impl FullImpactGroups {
    /// The groups the variant uses: none in the original variant (each node propagates once).
    fn for_variant(impact: &Csr, variant: Variant) -> Self {
        match variant {
            Variant::Differential => Self::of(impact),
            Variant::Original => Self::default(),
        }
    }

    fn of(impact: &Csr) -> Self {
        const UNSEEN: usize = usize::MAX;
        let n = impact.n_rows();
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<usize> = Vec::new();
        let mut next = 0;
        let mut groups = FullImpactGroups {
            group: vec![UNSEEN; n],
            members: Vec::new(),
        };
        // Depth-first search without recursion: (node, next edge to look at).
        let mut call: Vec<(usize, usize)> = Vec::new();
        for root in 0..n {
            if index[root] != UNSEEN {
                continue;
            }
            index[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            call.push((root, 0));
            while let Some(&(v, pos)) = call.last() {
                let (cols, vals) = impact.row(v);
                if pos < cols.len() {
                    if let Some(top) = call.last_mut() {
                        top.1 += 1;
                    }
                    let (u, w) = (cols[pos], vals[pos]);
                    if w < 1.0 {
                        continue;
                    }
                    if index[u] == UNSEEN {
                        index[u] = next;
                        low[u] = next;
                        next += 1;
                        stack.push(u);
                        on_stack[u] = true;
                        call.push((u, 0));
                    } else if on_stack[u] {
                        low[v] = low[v].min(index[u]);
                    }
                    continue;
                }
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut component = Vec::new();
                    while let Some(u) = stack.pop() {
                        on_stack[u] = false;
                        component.push(u);
                        if u == v {
                            break;
                        }
                    }
                    if component.len() >= 2 {
                        component.sort_unstable();
                        for &u in &component {
                            groups.group[u] = groups.members.len();
                        }
                        groups.members.push(component);
                    }
                }
            }
        }
        groups
    }

    /// The group of node `i`, if any.
    fn of_node(&self, i: usize) -> Option<usize> {
        self.group.get(i).copied().filter(|&g| g != usize::MAX)
    }
}
