//! Seeded random liability networks for the Eisenberg–Noe workloads (docs/contagion.md#eisenberg-noe-clearing).
//!
//! Node `i` owes `L_ij ~ U(0, 1)` to each creditor `j ≠ i` (dense), or to `edges` random creditors
//! (sparse, duplicates adding up); its external liabilities are 20% of what it owes in the network
//! and its external assets `U(0, 0.4)` times that — so a large share of the nodes default, the hard
//! case for clearing.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use cascade_contagion::network::{Csr, NetworkError};

/// A clearing problem: liabilities, external assets and external liabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct ClearingInput {
    pub liabilities: Csr,
    pub external_assets: Vec<f64>,
    pub external_liabilities: Vec<f64>,
}

/// External liabilities as a share of interbank debt.
pub const EXTERNAL_LIABILITY_SHARE: f64 = 0.2;
/// External assets are `U(0, EXTERNAL_ASSET_MAX_SHARE)` × interbank debt.
pub const EXTERNAL_ASSET_MAX_SHARE: f64 = 0.4;

fn finish(
    n: usize,
    triplets: &[(usize, usize, f64)],
    rng: &mut ChaCha8Rng,
) -> Result<ClearingInput, NetworkError> {
    let liabilities = Csr::from_triplets(n, n, triplets)?;
    let debt = liabilities.row_sums();
    Ok(ClearingInput {
        external_liabilities: debt.iter().map(|d| EXTERNAL_LIABILITY_SHARE * d).collect(),
        external_assets: debt
            .iter()
            .map(|d| EXTERNAL_ASSET_MAX_SHARE * rng.random::<f64>() * d)
            .collect(),
        liabilities,
    })
}

/// A dense network of `n` nodes: every ordered pair `i ≠ j` has a liability `U(0, 1)`.
pub fn dense(n: usize, seed: u64) -> Result<ClearingInput, NetworkError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = Vec::with_capacity(n * n.saturating_sub(1));
    for i in 0..n {
        for j in 0..n {
            if i != j {
                t.push((i, j, rng.random::<f64>()));
            }
        }
    }
    finish(n, &t, &mut rng)
}

/// A sparse network of `n` nodes and `edges` random liabilities `U(0, 1)` between distinct nodes.
pub fn sparse(n: usize, edges: usize, seed: u64) -> Result<ClearingInput, NetworkError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = Vec::with_capacity(edges);
    while t.len() < edges && n > 1 {
        let i = rng.random_range(0..n);
        let j = rng.random_range(0..n);
        if i != j {
            t.push((i, j, rng.random::<f64>()));
        }
    }
    finish(n, &t, &mut rng)
}

#[cfg(test)]
mod tests;
