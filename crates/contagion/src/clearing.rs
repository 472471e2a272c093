//! Eisenberg–Noe clearing with Rogers–Veraart default costs, by the fictitious default algorithm
//! (docs/contagion.md#eisenberg-noe-clearing).
//!
//! Notation: `L_ij` is what node `i` owes node `j`, `e_i` its external assets (after an optional
//! shock), `x_i` its external liabilities. The total obligation is `p̄_i = Σ_j L_ij + x_i` and the
//! relative liabilities `Π_ij = L_ij / p̄_i`. Given payments `p`, node `i` is solvent when
//! `e_i + Σ_j Π_ji p_j ≥ p̄_i` and then pays `p̄_i`; otherwise it defaults and pays
//!
//! ```text
//! p_i = α·e_i + β·Σ_j Π_ji p_j        (0 < α, β ≤ 1; α = β = 1: Eisenberg–Noe, no default costs)
//! ```
//!
//! The clearing vector returned is the greatest one, found by the fictitious default algorithm
//! (Eisenberg & Noe 2001; Rogers & Veraart 2013, Algorithm 3.6): start with everybody paying in
//! full; in round `k` every node not yet in default whose value falls short of its obligation joins
//! the default set, and the defaulters' payments are solved from the linear system above with the
//! others paying in full. Each round adds at least one defaulter, so there are at most `n` rounds.
//! Each round's linear system is solved by one of three solvers (`Method`, chosen by the network's
//! size and shape):
//!
//! - **Gauss–Seidel** over the full rows of `Πᵀ` (networks under 256 nodes):
//!   sweeps over the default set, starting from the previous payments (an upper bound, so the
//!   sweeps decrease monotonically to the greatest solution), until no payment moves by more than
//!   `tolerance × p̄_i`. Intermediate rounds stop at a looser 10⁻⁸: their payments are still upper
//!   bounds, so every default they reveal is genuine; when no new default appears the system is
//!   re-solved to `tolerance` and checked again, so the result is the same as solving every round
//!   exactly. Cost per sweep: O(entries in the defaulters' incoming columns).
//! - **Compact Gauss–Seidel** (larger sparse networks, `clearing/compact.rs`): the same sweeps
//!   from the same upper bound to the same stopping rule, over the defaulters' block (`u32`
//!   indices, the solvent nodes' payments folded into a constant), its rows kept from round to
//!   round; each round's new defaulters are updated once before its sweeps.
//! - **GMRES** (larger dense networks, `clearing/krylov.rs`): restarted GMRES on `(I − β·Π_DDᵀ)·p_D = rhs`, every
//!   round solved until `max_i |G(p)_i − p_i| / p̄_i ≤ tolerance` for the round's clearing map `G`
//!   (checked with an explicit product), about 8 products a round instead of about 20 sweeps.
//!
//! The fast solvers find the same defaults in the same rounds and agree with Gauss–Seidel to
//! rounding (about 10⁻¹⁵·p̄); they are deterministic whatever the number of threads.
//!
//! A node is declared in default when its value is below `p̄_i·(1 − 10⁻¹²)`, so rounding noise does
//! not create defaults at exact equality.
//!
//! # Examples
//! Two nodes with default costs α = β = 0.5 where nobody defaults:
//! ```
//! use cascade_contagion::{clearing::{clear, ClearingOptions}, network::Network};
//! let net = Network::from_dense_liabilities(
//!     &[vec![0.0, 2.0], vec![2.2, 0.0]], &[1.0, 1.0], &[0.0, 0.0]).unwrap();
//! let c = clear(&net, &ClearingOptions::with_costs(0.5, 0.5).unwrap()).unwrap();
//! assert_eq!(c.payments, [2.0, 2.2]);
//! assert_eq!(c.rounds, 0);
//! ```

use crate::network::{Csr, Network};

/// Default convergence tolerance of each round's solve, relative to each `p̄_i`.
pub const DEFAULT_TOLERANCE: f64 = 1e-14;
/// Default cap on the sweeps (or GMRES products) of one round.
pub const DEFAULT_MAX_SWEEPS: usize = 1_000_000;
/// A node defaults when its value is below `p̄_i·(1 − DEFAULT_THRESHOLD)`.
pub const DEFAULT_THRESHOLD: f64 = 1e-12;
/// Tolerance of the intermediate rounds; the last round is always solved to `tolerance`.
const LOOSE_TOLERANCE: f64 = 1e-8;

/// Parameters of a clearing run; build with [`ClearingOptions::with_costs`] or `default()`
/// (no default costs, no shock) and check with [`ClearingOptions::validate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClearingOptions {
    /// Fraction of external assets a defaulting node realises, in (0, 1].
    pub alpha: f64,
    /// Fraction of interbank receipts a defaulting node realises, in (0, 1].
    pub beta: f64,
    /// Fractional drop of every node's external assets before clearing, in [0, 1]
    /// (0.1 = external assets shocked −10%).
    pub asset_shock: f64,
    /// Stopping tolerance of each round's solve, relative to `p̄_i`; > 0.
    pub tolerance: f64,
    /// Cap on sweeps (or GMRES products) per round; ≥ 1.
    pub max_sweeps: usize,
}

impl Default for ClearingOptions {
    fn default() -> Self {
        ClearingOptions {
            alpha: 1.0,
            beta: 1.0,
            asset_shock: 0.0,
            tolerance: DEFAULT_TOLERANCE,
            max_sweeps: DEFAULT_MAX_SWEEPS,
        }
    }
}

impl ClearingOptions {
    /// Rogers–Veraart default costs `α`, `β` ∈ (0, 1].
    pub fn with_costs(alpha: f64, beta: f64) -> Result<Self, ClearingError> {
        let o = ClearingOptions {
            alpha,
            beta,
            ..Self::default()
        };
        o.validate()?;
        Ok(o)
    }

    /// The same options with external assets shocked by `drop` ∈ [0, 1] (0.2 = −20%).
    pub fn with_asset_shock(self, drop: f64) -> Result<Self, ClearingError> {
        let o = ClearingOptions {
            asset_shock: drop,
            ..self
        };
        o.validate()?;
        Ok(o)
    }

    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), ClearingError> {
        let in_unit = |v: f64| v > 0.0 && v <= 1.0;
        if !in_unit(self.alpha) {
            return Err(ClearingError::parameter("alpha", self.alpha, "in (0, 1]"));
        }
        if !in_unit(self.beta) {
            return Err(ClearingError::parameter("beta", self.beta, "in (0, 1]"));
        }
        if !(0.0..=1.0).contains(&self.asset_shock) {
            return Err(ClearingError::parameter(
                "asset_shock",
                self.asset_shock,
                "in [0, 1]",
            ));
        }
        if !(self.tolerance > 0.0 && self.tolerance.is_finite()) {
            return Err(ClearingError::parameter(
                "tolerance",
                self.tolerance,
                "a finite number > 0",
            ));
        }
        if self.max_sweeps == 0 {
            return Err(ClearingError::parameter("max_sweeps", 0.0, "≥ 1"));
        }
        Ok(())
    }
}

/// An error of [`clear`].
pub use crate::error::ContagionError as ClearingError;

/// The result of [`clear`]; one entry per node.
#[derive(Debug, Clone, PartialEq)]
pub struct Clearing {
    /// The clearing vector `p*` (total paid by each node, to network and outside creditors).
    pub payments: Vec<f64>,
    /// The total obligation `p̄_i = Σ_j L_ij + x_i`.
    pub obligations: Vec<f64>,
    /// `p*_i / p̄_i`; 1 for a node with no obligation.
    pub recovery: Vec<f64>,
    /// The round (1-based) in which a node defaulted; `None` if it pays in full.
    pub default_round: Vec<Option<usize>>,
    /// Number of default rounds (0 if nobody defaults; ≤ n).
    pub rounds: usize,
    /// Total passes over the defaulters' systems, all rounds: Gauss–Seidel sweeps or GMRES
    /// products (a cost diagnostic).
    pub sweeps: usize,
}

/// Clears `network` (its liabilities, external assets and external liabilities).
pub fn clear(network: &Network, options: &ClearingOptions) -> Result<Clearing, ClearingError> {
    let n = network.len();
    if network.liabilities.n_rows() != n || network.liabilities.n_cols() != n {
        return Err(ClearingError::Dimension {
            what: "liabilities matrix size",
            found: network
                .liabilities
                .n_rows()
                .max(network.liabilities.n_cols()),
            expected: n,
        });
    }
    clear_matrix(
        &network.liabilities,
        &network.external_assets,
        &network.external_liabilities,
        options,
    )
}

/// A network is stored dense for the sweeps when at least this share of its entries are nonzero.
const DENSE_SHARE: f64 = 0.5;
/// ... and its `n²` fits in this many f64s (256 MiB).
const DENSE_MAX_ENTRIES: usize = 1 << 25;

/// The inflow weights `Π_ji = L_ji / p̄_j` by creditor `i`: the transpose of `Π` as CSR, or, for a
/// dense network, row-major `n × n` — half the bytes of CSR's (index, value) pairs and no gather, so a
/// Gauss–Seidel sweep streams the matrix once (the profile of `cascade bench`'s dense n = 2,000 case
/// had the CSR sweeps at 64% of the time and the transpose at 10%).
enum Weights {
    Sparse(Csr),
    Dense { n: usize, w: Vec<f64> },
}

/// Whether `liabilities` is stored dense: at least [`DENSE_SHARE`] of its entries nonzero and
/// `n² ≤` [`DENSE_MAX_ENTRIES`].
fn is_dense(liabilities: &Csr) -> bool {
    let n = liabilities.n_rows();
    n > 0
        && n.saturating_mul(n) <= DENSE_MAX_ENTRIES
        && liabilities.nnz() as f64 >= DENSE_SHARE * (n * n) as f64
}

impl Weights {
    fn new(liabilities: &Csr, obligations: &[f64]) -> Weights {
        let n = liabilities.n_rows();
        if !is_dense(liabilities) {
            // Row i lists the debtors j of i with Π_ji.
            return Weights::Sparse(liabilities.transpose_map(|j, _, l| l / obligations[j]));
        }
        let mut w = vec![0.0; n * n];
        for (j, &o) in obligations.iter().enumerate() {
            let (cols, vals) = liabilities.row(j);
            for (&i, &l) in cols.iter().zip(vals) {
                w[i * n + j] = l / o;
            }
        }
        Weights::Dense { n, w }
    }

    /// `Σ_j Π_ji·p_j`, the payments node `i` receives.
    fn inflow(&self, p: &[f64], i: usize) -> f64 {
        match self {
            Weights::Sparse(pi_t) => {
                let (cols, vals) = pi_t.row(i);
                cols.iter().zip(vals).map(|(&j, &w)| w * p[j]).sum()
            }
            Weights::Dense { n, w } => dot(&w[i * n..(i + 1) * n], p),
        }
    }
}

/// `Σ a_k·b_k` with four independent partial sums (the compiler vectorises it; the order is fixed,
/// so the result does not depend on the machine's thread count).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Clears the network given by its liabilities matrix `L` (`n × n`), external assets and
/// external liabilities (length `n` each).
pub fn clear_matrix(
    liabilities: &Csr,
    external_assets: &[f64],
    external_liabilities: &[f64],
    options: &ClearingOptions,
) -> Result<Clearing, ClearingError> {
    clear_matrix_with(
        Method::choose(liabilities),
        liabilities,
        external_assets,
        external_liabilities,
        options,
    )
}

/// [`clear_matrix`] with the round solver chosen by the caller (tests compare them).
pub(crate) fn clear_matrix_with(
    method: Method,
    liabilities: &Csr,
    external_assets: &[f64],
    external_liabilities: &[f64],
    options: &ClearingOptions,
) -> Result<Clearing, ClearingError> {
    options.validate()?;
    let n = liabilities.n_rows();
    for (what, found) in [
        ("liabilities columns", liabilities.n_cols()),
        ("external_assets length", external_assets.len()),
        ("external_liabilities length", external_liabilities.len()),
    ] {
        if found != n {
            return Err(ClearingError::Dimension {
                what,
                found,
                expected: n,
            });
        }
    }
    for (what, v) in [
        ("external assets", external_assets),
        ("external liabilities", external_liabilities),
    ] {
        if let Some((node, &found)) = v
            .iter()
            .enumerate()
            .find(|(_, x)| !(x.is_finite() && **x >= 0.0))
        {
            return Err(ClearingError::Value {
                what,
                node: node.to_string(),
                found,
                expected: "a finite number ≥ 0",
            });
        }
    }

    let obligations: Vec<f64> = liabilities
        .row_sums()
        .iter()
        .zip(external_liabilities)
        .map(|(l, x)| l + x)
        .collect();
    let factor = 1.0 - options.asset_shock;
    let assets: Vec<f64> = external_assets.iter().map(|a| a * factor).collect();
    let problem = Problem {
        liabilities,
        external_liabilities,
        obligations: &obligations,
        assets: &assets,
        options,
    };
    let (payments, default_round, rounds, sweeps) = match method {
        Method::GaussSeidel => {
            let mut s = GaussSeidel {
                weights: Weights::new(liabilities, &obligations),
                p: &problem,
            };
            fictitious_default(&problem, &mut s)?
        }
        Method::Krylov => fictitious_default(&problem, &mut krylov::Krylov::new(&problem))?,
        Method::Compact => fictitious_default(&problem, &mut compact::Compact::new(&problem))?,
    };

    let recovery = payments
        .iter()
        .zip(&obligations)
        .map(|(&p, &o)| if o > 0.0 { p / o } else { 1.0 })
        .collect();
    Ok(Clearing {
        payments,
        obligations,
        recovery,
        default_round,
        rounds,
        sweeps,
    })
}

/// A clearing problem, checked: liabilities, obligations `p̄`, shocked external assets `e`.
pub(crate) struct Problem<'a> {
    pub liabilities: &'a Csr,
    pub external_liabilities: &'a [f64],
    pub obligations: &'a [f64],
    pub assets: &'a [f64],
    pub options: &'a ClearingOptions,
}

/// How the defaulters' linear system of each round is solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Gauss–Seidel sweeps over the full rows of `Πᵀ` (networks under [`FAST_MIN_NODES`] nodes).
    GaussSeidel,
    /// GMRES on the defaulters' dense block ([`krylov`]; dense networks).
    Krylov,
    /// Gauss–Seidel sweeps over the defaulters' compacted block ([`compact`]; sparse networks).
    Compact,
}

/// Networks with fewer nodes are cleared by [`Method::GaussSeidel`]: a sweep costs little, and
/// their results (the golden outputs among them) stay those of the original method to the bit.
pub(crate) const FAST_MIN_NODES: usize = 256;

impl Method {
    pub(crate) fn choose(liabilities: &Csr) -> Method {
        let n = liabilities.n_rows();
        if n < FAST_MIN_NODES {
            Method::GaussSeidel
        } else if is_dense(liabilities) {
            Method::Krylov
        } else if n < u32::MAX as usize {
            Method::Compact
        } else {
            Method::GaussSeidel
        }
    }
}

/// The solver of one round's system, used by [`fictitious_default`].
pub(crate) trait RoundSolver {
    /// Whether the iterates of [`RoundSolver::solve`] decrease from an upper bound of the
    /// round's solution (Gauss–Seidel from the previous payments): then intermediate rounds may
    /// stop at [`LOOSE_TOLERANCE`], every default they reveal being genuine. Otherwise every
    /// round is solved to `tolerance`.
    fn monotone(&self) -> bool;
    /// Whether the nodes to test (and so each round's new defaulters) are listed in index order
    /// rather than in order of first appearance among the defaulters' creditors: a sparse
    /// solver then reads their rows front to back.
    fn in_index_order(&self) -> bool {
        false
    }
    /// `out[k] = e_i + Σ_j Π_ji·p_j` for `i = nodes[k]`: the value a node's solvency is tested on.
    fn values(&mut self, p: &[f64], nodes: &[usize], out: &mut Vec<f64>);
    /// Solves the round's system for `defaulters` (this round's new ones last, the others paying
    /// `p̄`) from `p` until it meets `tolerance`; returns the passes made over the system.
    fn solve(
        &mut self,
        defaulters: &[usize],
        p: &mut [f64],
        tolerance: f64,
        round: usize,
    ) -> Result<usize, ClearingError>;
}

/// The fictitious default algorithm (module docs): returns the payments, each node's default
/// round, the rounds and the passes made over the defaulters' systems.
#[allow(clippy::type_complexity)]
fn fictitious_default<S: RoundSolver>(
    problem: &Problem<'_>,
    solver: &mut S,
) -> Result<(Vec<f64>, Vec<Option<usize>>, usize, usize), ClearingError> {
    let (obligations, options) = (problem.obligations, problem.options);
    let n = obligations.len();
    let mut payments = obligations.to_vec();
    let mut default_round: Vec<Option<usize>> = vec![None; n];
    let mut defaulters: Vec<usize> = Vec::new();
    let mut candidates: Vec<usize> = (0..n).collect();
    let (mut creditors, mut is_creditor, mut listed) = (Vec::new(), vec![false; n], 0);
    // Whether every node not in default is tested (below).
    let mut everyone = false;
    let mut values = Vec::with_capacity(n);
    let mut rounds = 0;
    let mut total_sweeps = 0;
    // Whether `payments` solve the current round's system to `options.tolerance` (everybody
    // paying in full is exact).
    let mut precise = true;
    let loose = if solver.monotone() {
        options.tolerance.max(LOOSE_TOLERANCE)
    } else {
        options.tolerance
    };
    loop {
        solver.values(&payments, &candidates, &mut values);
        let new: Vec<usize> = candidates
            .iter()
            .zip(&values)
            .filter(|&(&i, &v)| {
                default_round[i].is_none() && v < obligations[i] * (1.0 - DEFAULT_THRESHOLD)
            })
            .map(|(&i, _)| i)
            .collect();
        let tolerance = if new.is_empty() {
            if precise {
                break;
            }
            precise = true;
            options.tolerance
        } else {
            rounds += 1;
            for &i in &new {
                default_round[i] = Some(rounds);
            }
            defaulters.extend_from_slice(&new);
            precise = loose <= options.tolerance;
            loose
        };
        total_sweeps += solver.solve(&defaulters, &mut payments, tolerance, rounds)?;

        // Only creditors of defaulters can have lost value. They are listed in the order of
        // their first appearance going through the defaulters' rows in order; the defaulters
        // only grow at the end, so only the new ones' rows are gone through.
        // In index order, once half the nodes are listed every node not in default is tested
        // instead (a node owed nothing by a defaulter keeps the value it passed with), so the
        // defaulters' rows are no longer gone through; so too, from the start, when the new
        // defaulters' rows hold as many entries as there are nodes (going through them would
        // cost more than testing everyone, and list most nodes).
        if solver.in_index_order() && !everyone {
            let entries: usize = defaulters[listed..]
                .iter()
                .map(|&d| problem.liabilities.row(d).0.len())
                .sum();
            everyone = 2 * creditors.len() >= n || entries >= n;
        }
        if !everyone {
            for &d in &defaulters[listed..] {
                for &j in problem.liabilities.row(d).0 {
                    if !is_creditor[j] {
                        is_creditor[j] = true;
                        creditors.push(j);
                    }
                }
            }
        }
        listed = defaulters.len();
        candidates.clear();
        if everyone {
            candidates.extend((0..n).filter(|&j| default_round[j].is_none()));
        } else if solver.in_index_order() {
            candidates.extend((0..n).filter(|&j| is_creditor[j] && default_round[j].is_none()));
        } else {
            candidates.extend(
                creditors
                    .iter()
                    .copied()
                    .filter(|&j| default_round[j].is_none()),
            );
        }
    }
    Ok((payments, default_round, rounds, total_sweeps))
}

/// Gauss–Seidel sweeps over the full rows of `Πᵀ`, from the previous payments.
struct GaussSeidel<'a> {
    weights: Weights,
    p: &'a Problem<'a>,
}

impl RoundSolver for GaussSeidel<'_> {
    fn monotone(&self) -> bool {
        true
    }

    fn values(&mut self, p: &[f64], nodes: &[usize], out: &mut Vec<f64>) {
        out.clear();
        out.extend(
            nodes
                .iter()
                .map(|&i| self.p.assets[i] + self.weights.inflow(p, i)),
        );
    }

    fn solve(
        &mut self,
        defaulters: &[usize],
        payments: &mut [f64],
        tolerance: f64,
        round: usize,
    ) -> Result<usize, ClearingError> {
        let (assets, obligations) = (self.p.assets, self.p.obligations);
        let (alpha, beta) = (self.p.options.alpha, self.p.options.beta);
        let mut sweeps = 0;
        loop {
            let mut change = 0.0f64;
            for &i in defaulters {
                let v = (alpha * assets[i] + beta * self.weights.inflow(payments, i))
                    .min(obligations[i])
                    .max(0.0);
                change = change.max((payments[i] - v).abs() / obligations[i]);
                payments[i] = v;
            }
            sweeps += 1;
            if change <= tolerance {
                return Ok(sweeps);
            }
            if sweeps >= self.p.options.max_sweeps {
                return Err(ClearingError::NotConverged {
                    round,
                    sweeps,
                    change,
                });
            }
        }
    }
}

mod compact;
mod krylov;
#[cfg(test)]
mod tests;
