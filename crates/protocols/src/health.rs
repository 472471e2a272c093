//! A columnar health-factor scan (docs/lending.md#health-factor) over every account of one or more lending pools: the
//! read-only kernel behind monitoring and the benchmark's "health scan of 1M accounts".
//!
//! Layout (struct of arrays): per entry, `asset` (u32) and `weighted_tokens` (f64): `c_i·LT_i` for a
//! collateral entry (0 when the entry is not collateral) and `−d_j` for a debt entry. Accounts (rows)
//! are grouped by their number of entries — all accounts with one entry, then two, … — each group
//! stored contiguously, so a row's entries sit at `first_entry + (row − first_row)·c` and need no
//! offset column, and the scan of a group runs a loop of known length with no data-dependent branch
//! (a loop whose length changed from account to account mispredicted once per account and cost
//! more than the memory traffic). `account[row]` is the row's snapshot account index.
//!
//! The effective thresholds (e-mode, isolation mode) are the lending pool's own, resolved once when
//! the pool was built ([`crate::lending::LendingPool`]), so the scan computes exactly docs/lending.md#health-factor's
//! `HF = Σ_i c_i·p_i·LT_i / Σ_j d_j·p_j` (∞ without debt). Folding `LT_i` into the amount reorders one
//! multiplication, `(c_i·LT_i)·p_i` instead of `(c_i·p_i)·LT_i`: results agree with
//! [`crate::lending::health_factor`] to a few units in the last place, not bit for bit.
//!
//! A scan reads `12·entries` bytes and writes `8·n` ([`HealthColumns::bytes_touched`]); prices are a
//! few cache lines. It runs in parallel over fixed chunks of [`SCAN_CHUNK`] rows of a group, and
//! every row's result depends on its own entries only, so the output is the same whatever the
//! thread count.

use rayon::prelude::*;

use cascade_model::{Side, Snapshot};

use crate::lending::LendingPool;

/// Rows per parallel work unit of a scan.
pub const SCAN_CHUNK: usize = 16_384;

/// An error of [`HealthColumns::scan_into`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// The price vector is shorter than the largest asset index + 1.
    #[error("prices: found {found} assets, expected at least {expected}")]
    Prices { found: usize, expected: usize },
    /// The output slice does not have one slot per account.
    #[error("output: found {found} slots, expected one per account ({expected})")]
    Output { found: usize, expected: usize },
}

/// The rows with `entries_per_row` entries each: rows `first_row..first_row + rows`, their entries
/// from `first_entry` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Group {
    entries_per_row: usize,
    first_row: usize,
    rows: usize,
    first_entry: usize,
}

/// Flat columns of the accounts of lending pools, ready for repeated health-factor scans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthColumns {
    /// Snapshot index of each row's account (not read by the scan).
    pub account: Vec<u32>,
    groups: Vec<Group>,
    asset: Vec<u32>,
    weighted_tokens: Vec<f64>,
    /// Largest asset index + 1 (the scan's minimum price-vector length).
    assets_needed: usize,
}

impl HealthColumns {
    /// Columns of the accounts of `pools`: rows grouped by entry count, and within a group in pool
    /// order then each pool's account order.
    ///
    /// Each entry becomes `c·LT` (collateral, with the pool's effective LT: e-mode and isolation
    /// resolved) or `−d` (debt).
    pub fn from_pools<'a>(pools: impl IntoIterator<Item = &'a LendingPool>) -> Self {
        let pools: Vec<&LendingPool> = pools.into_iter().collect();
        let max_len = pools
            .iter()
            .flat_map(|p| (0..p.accounts()).map(|k| p.entries_of(k).len()))
            .max()
            .unwrap_or(0);
        let mut out = HealthColumns::default();
        for c in 0..=max_len {
            let mut g = Group {
                entries_per_row: c,
                first_row: out.account.len(),
                rows: 0,
                first_entry: out.asset.len(),
            };
            for pool in &pools {
                for k in 0..pool.accounts() {
                    let es = pool.entries_of(k);
                    if es.len() != c {
                        continue;
                    }
                    out.account.push(pool.account[k]);
                    for e in es {
                        out.asset.push(e.asset);
                        out.weighted_tokens.push(match e.side {
                            Side::Collateral => e.amount * e.lt,
                            Side::Debt => -e.amount,
                        });
                        out.assets_needed = out.assets_needed.max(e.asset as usize + 1);
                    }
                    g.rows += 1;
                }
            }
            if g.rows > 0 {
                out.groups.push(g);
            }
        }
        out
    }

    /// Columns of every lending pool of `s` (each built as the engine builds it).
    pub fn from_snapshot(s: &Snapshot) -> Self {
        let pools: Vec<LendingPool> = s
            .protocols
            .iter()
            .enumerate()
            .filter(|(_, p)| p.lending().is_some())
            .map(|(i, _)| LendingPool::new(s, i))
            .collect();
        Self::from_pools(&pools)
    }

    /// Number of accounts (rows).
    pub fn accounts(&self) -> usize {
        self.account.len()
    }

    /// Number of entries (positions).
    pub fn entries(&self) -> usize {
        self.asset.len()
    }

    /// Bytes one scan reads and writes: `(4 + 8)·entries` asset indices and weighted amounts read,
    /// `8·n` health factors written (prices, a few cache lines, not counted).
    pub fn bytes_touched(&self) -> usize {
        12 * self.asset.len() + 8 * self.accounts()
    }

    /// Health factor of row `row` at `prices` (`row < accounts()`, prices long enough; for tests
    /// and single look-ups).
    pub fn health_factor(&self, row: usize, prices: &[f64]) -> f64 {
        let Some(g) = self
            .groups
            .iter()
            .find(|g| (g.first_row..g.first_row + g.rows).contains(&row))
        else {
            return f64::NAN;
        };
        let a = g.first_entry + (row - g.first_row) * g.entries_per_row;
        let b = a + g.entries_per_row;
        hf_of(&self.asset[a..b], &self.weighted_tokens[a..b], prices)
    }

    /// Writes every row's `HF = Σ c_i·LT_i·p_i / Σ d_j·p_j` (∞ without debt) into `out` (one slot
    /// per row, in row order) and returns how many are below 1 (liquidatable, docs/lending.md#liquidation-threshold).
    pub fn scan_into(&self, prices: &[f64], out: &mut [f64]) -> Result<usize, HealthError> {
        if prices.len() < self.assets_needed {
            return Err(HealthError::Prices {
                found: prices.len(),
                expected: self.assets_needed,
            });
        }
        let n = self.accounts();
        if out.len() != n {
            return Err(HealthError::Output {
                found: out.len(),
                expected: n,
            });
        }
        // One parallel pass over every group's chunks (a join per group cost a barrier each).
        let mut tasks: Vec<ScanTask> = Vec::new();
        let mut rest: &mut [f64] = out;
        let mut taken = 0;
        for g in &self.groups {
            let c = g.entries_per_row;
            let skip = g.first_row - taken;
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(skip);
            let (slots, tail) = tail.split_at_mut(g.rows);
            rest = tail;
            taken = g.first_row + g.rows;
            if c == 0 {
                // No entries, no debt: HF = ∞.
                slots.fill(f64::INFINITY);
                continue;
            }
            let assets = &self.asset[g.first_entry..g.first_entry + g.rows * c];
            let weights = &self.weighted_tokens[g.first_entry..g.first_entry + g.rows * c];
            for ((o, a), w) in slots
                .chunks_mut(SCAN_CHUNK)
                .zip(assets.chunks(SCAN_CHUNK * c))
                .zip(weights.chunks(SCAN_CHUNK * c))
            {
                tasks.push((c, o, a, w));
            }
        }
        let below = tasks
            .into_par_iter()
            .map(|(c, o, a, w)| match c {
                1 => scan_fixed::<1>(a, w, prices, o),
                2 => scan_fixed::<2>(a, w, prices, o),
                3 => scan_fixed::<3>(a, w, prices, o),
                4 => scan_fixed::<4>(a, w, prices, o),
                5 => scan_fixed::<5>(a, w, prices, o),
                _ => scan_any(c, a, w, prices, o),
            })
            .sum::<usize>();
        Ok(below)
    }
}

/// A chunk of one group's scan: entries per row, the chunk's output slots, assets and weights.
type ScanTask<'a> = (usize, &'a mut [f64], &'a [u32], &'a [f64]);

/// The scan of rows of exactly `C` entries: a loop of known length, unrolled, no branch on the
/// data; returns the rows below 1.
#[inline]
fn scan_fixed<const C: usize>(
    assets: &[u32],
    weights: &[f64],
    prices: &[f64],
    out: &mut [f64],
) -> usize {
    let mut below = 0;
    for ((a, w), slot) in assets
        .chunks_exact(C)
        .zip(weights.chunks_exact(C))
        .zip(out.iter_mut())
    {
        let mut coll = 0.0;
        let mut debt = 0.0;
        for i in 0..C {
            let v = w[i] * prices[a[i] as usize];
            coll += v.max(0.0);
            debt -= v.min(0.0);
        }
        let hf = if debt > 0.0 {
            coll / debt
        } else {
            f64::INFINITY
        };
        below += usize::from(hf < 1.0);
        *slot = hf;
    }
    below
}

/// [`scan_fixed`] for any row length.
fn scan_any(c: usize, assets: &[u32], weights: &[f64], prices: &[f64], out: &mut [f64]) -> usize {
    let mut below = 0;
    for ((a, w), slot) in assets
        .chunks_exact(c)
        .zip(weights.chunks_exact(c))
        .zip(out.iter_mut())
    {
        let hf = hf_of(a, w, prices);
        below += usize::from(hf < 1.0);
        *slot = hf;
    }
    below
}

/// `Σ max(w·p, 0) / Σ max(−w·p, 0)`, ∞ when the denominator is 0.
#[inline]
fn hf_of(assets: &[u32], weights: &[f64], prices: &[f64]) -> f64 {
    let mut coll = 0.0;
    let mut debt = 0.0;
    for (&a, &w) in assets.iter().zip(weights) {
        let v = w * prices[a as usize];
        coll += v.max(0.0);
        debt -= v.min(0.0);
    }
    if debt > 0.0 {
        coll / debt
    } else {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests;
