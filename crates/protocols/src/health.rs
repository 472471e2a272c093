//! A columnar health-factor scan (docs/lending.md#health-factor) over every account of one or more lending pools: the
//! read-only kernel behind monitoring and the benchmark's "health scan of 1M accounts".
//!
//! Layout (struct of arrays): per entry, `asset` (u32) and `weighted_tokens` (f64): `c_i·LT_i` for a
//! collateral entry (0 when the entry is not collateral) and `−d_j` for a debt entry. Accounts (rows)
//! are grouped by their number of entries — all accounts with one entry, then two, … — each group
//! stored contiguously, so a row's entries need no offset column, and the scan of a group runs a
//! loop of known length with no data-dependent branch (a loop whose length changed from account to
//! account mispredicted once per account and cost more than the memory traffic). `account[row]` is
//! the row's snapshot account index.
//!
//! The effective thresholds (e-mode, isolation mode) are the lending pool's own, resolved once when
//! the pool was built ([`crate::lending::LendingPool`]), so the scan computes exactly docs/lending.md#health-factor's
//! `HF = Σ_i c_i·p_i·LT_i / Σ_j d_j·p_j` (∞ without debt). Folding `LT_i` into the amount reorders one
//! multiplication, `(c_i·LT_i)·p_i` instead of `(c_i·p_i)·LT_i`: results agree with
//! [`crate::lending::health_factor`] to a few units in the last place, not bit for bit.
//!
//! Within a group, rows sit in blocks of [`LANES`] = 8 numbered from row 0 of the whole table (rows
//! `8b..8b + 8` make block `b`), and a block stores its entries entry by entry, lane by lane:
//! entry `i` of row `r` is at `first_entry + (r/8 − first_block)·8c + 8i + r mod 8`. A group that
//! starts or ends inside a block pads the lanes it does not own (asset 0, weight 0; their results
//! are never written). So a block is eight rows side by side, which the AVX-512 kernel
//! (`health::simd`) takes as one vector per entry (AVX2 as two), and block `b`'s results are output slots `8b..8b + 8`:
//! on an output that starts on a cache line, every whole block is one aligned line.
//!
//! A scan reads `12` bytes per stored entry (padding included, at most 7 rows' worth per group)
//! and writes `8·n` ([`HealthColumns::bytes_touched`]); prices are a few cache lines. It runs in
//! parallel over fixed runs of [`SCAN_CHUNK`] rows of a group, and every row's result depends on
//! its own entries only, so the output is the same whatever the thread count, and the same
//! bit for bit from the vector and scalar kernels (the same operations in the same order: one
//! product per entry, `max(v, 0)` and `min(v, 0)` summed in entry order, one division; no fused
//! multiply–add). A large output (at least [`STREAM_MIN_ROWS`] rows) is written past the caches
//! (non-temporal stores), which saves the memory read that a plain store of a line not in the
//! cache costs: the results of a scan that large are not in the cache for the next read anyway.

use std::ops::Range;

use rayon::prelude::*;

use cascade_model::{Side, Snapshot};

use crate::lending::LendingPool;
use crate::options::Kernel;

/// Rows per parallel work unit of a scan (a multiple of [`LANES`]).
pub const SCAN_CHUNK: usize = 16_384;

/// Rows per block: the lanes of one AVX-512 vector of `f64`.
pub const LANES: usize = 8;

/// Outputs of at least this many rows (4 MiB of health factors) are written with non-temporal
/// stores where the CPU has them.
pub const STREAM_MIN_ROWS: usize = 1 << 19;

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
/// from `first_entry` on, in blocks of [`LANES`] rows from block `first_row / LANES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Group {
    entries_per_row: usize,
    first_row: usize,
    rows: usize,
    first_entry: usize,
}

impl Group {
    /// The group's first block (absolute).
    fn first_block(&self) -> usize {
        self.first_row / LANES
    }

    /// One past the group's last block (absolute).
    fn end_block(&self) -> usize {
        (self.first_row + self.rows).div_ceil(LANES)
    }

    /// Where entry `i` of row `row` (a row of the group) is stored.
    fn entry_at(&self, row: usize, i: usize) -> usize {
        self.first_entry
            + (row / LANES - self.first_block()) * LANES * self.entries_per_row
            + i * LANES
            + row % LANES
    }
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
    /// Entries held by rows (padding not counted).
    entries: usize,
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
                    let row = out.account.len();
                    out.account.push(pool.account[k]);
                    g.rows += 1;
                    if c == 0 {
                        continue;
                    }
                    // A new block: room for its eight rows, padding until they are filled.
                    let need = g.first_entry + (g.end_block() - g.first_block()) * LANES * c;
                    out.asset.resize(need, 0);
                    out.weighted_tokens.resize(need, 0.0);
                    for (i, e) in es.iter().enumerate() {
                        let at = g.entry_at(row, i);
                        out.asset[at] = e.asset;
                        out.weighted_tokens[at] = match e.side {
                            Side::Collateral => e.amount * e.lt,
                            Side::Debt => -e.amount,
                        };
                        out.assets_needed = out.assets_needed.max(e.asset as usize + 1);
                    }
                    out.entries += c;
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
        let index = crate::pool_rows::SnapshotRows::new(s);
        let pools: Vec<LendingPool> = s
            .protocols
            .iter()
            .enumerate()
            .filter(|(_, p)| p.lending().is_some())
            .map(|(i, _)| LendingPool::with_rows(s, i, &index))
            .collect();
        Self::from_pools(&pools)
    }

    /// Number of accounts (rows).
    pub fn accounts(&self) -> usize {
        self.account.len()
    }

    /// Number of entries (positions; the blocks' padding not counted).
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Bytes one scan reads and writes: `(4 + 8)` per stored entry (asset index and weighted
    /// amount, the padding of partly filled blocks included) read, `8·n` health factors written
    /// (prices, a few cache lines, not counted).
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
        let (assets, weights): (Vec<u32>, Vec<f64>) = (0..g.entries_per_row)
            .map(|i| {
                let at = g.entry_at(row, i);
                (self.asset[at], self.weighted_tokens[at])
            })
            .unzip();
        hf_of(&assets, &weights, prices)
    }

    /// Writes every row's `HF = Σ c_i·LT_i·p_i / Σ d_j·p_j` (∞ without debt) into `out` (one slot
    /// per row, in row order) and returns how many are below 1 (liquidatable, docs/lending.md#liquidation-threshold).
    pub fn scan_into(&self, prices: &[f64], out: &mut [f64]) -> Result<usize, HealthError> {
        self.scan_on(Kernel::detect(), prices, out)
    }

    /// [`Self::scan_into`] on the given kernel (one this CPU does not run falls back to the
    /// scalar kernel): the same results bit for bit.
    pub fn scan_on(
        &self,
        kernel: Kernel,
        prices: &[f64],
        out: &mut [f64],
    ) -> Result<usize, HealthError> {
        self.scan_with(kernel, prices, out, out.len() >= STREAM_MIN_ROWS)
    }

    /// [`Self::scan_on`], with non-temporal stores or without.
    fn scan_with(
        &self,
        kernel: Kernel,
        prices: &[f64],
        out: &mut [f64],
        stream: bool,
    ) -> Result<usize, HealthError> {
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
        let mut tasks: Vec<Task> = Vec::new();
        let mut rest: &mut [f64] = out;
        let mut taken = 0;
        for g in &self.groups {
            let c = g.entries_per_row;
            let end = g.first_row + g.rows;
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(g.first_row - taken);
            let (mut slots, tail) = tail.split_at_mut(g.rows);
            rest = tail;
            taken = end;
            if c == 0 {
                // No entries, no debt: HF = ∞.
                slots.fill(f64::INFINITY);
                continue;
            }
            // Chunks of whole blocks, the first from the group's first block.
            let per_chunk = SCAN_CHUNK / LANES;
            let mut b = g.first_block();
            while b < g.end_block() {
                let b_end = (b + per_chunk).min(g.end_block());
                let lo = (b * LANES).max(g.first_row);
                let hi = (b_end * LANES).min(end);
                let (mine, later) = std::mem::take(&mut slots).split_at_mut(hi - lo);
                slots = later;
                let e0 = g.first_entry + (b - g.first_block()) * LANES * c;
                let e1 = e0 + (b_end - b) * LANES * c;
                tasks.push(Task {
                    c,
                    lead: lo - b * LANES,
                    out: mine,
                    assets: &self.asset[e0..e1],
                    weights: &self.weighted_tokens[e0..e1],
                });
                b = b_end;
            }
        }
        // The kernels read no price past the largest asset index.
        let prices = &prices[..self.assets_needed];
        let below = tasks
            .into_par_iter()
            .map(|mut t| simd::scan_blocks(kernel, &mut t, prices, stream))
            .sum::<usize>();
        Ok(below)
    }
}

/// A run of whole blocks of one group: entries per row, how many lanes of its first block belong
/// to the group before it (`lead < LANES`), the output slots of the rows it holds (block `k`'s
/// lane `l` is `out[k·LANES + l − lead]`), and the blocks' assets and weights.
struct Task<'a> {
    c: usize,
    lead: usize,
    out: &'a mut [f64],
    assets: &'a [u32],
    weights: &'a [f64],
}

impl<'a> Task<'a> {
    /// How many blocks the task holds.
    #[inline]
    fn block_count(&self) -> usize {
        self.assets.len() / (LANES * self.c)
    }

    /// Each block, numbered from 0: its `LANES·c` assets and weights (entry by entry, lane by lane).
    #[inline]
    fn blocks(&self) -> impl Iterator<Item = (usize, (&'a [u32], &'a [f64]))> + use<'a> {
        let (assets, weights, len) = (self.assets, self.weights, LANES * self.c);
        assets
            .chunks_exact(len)
            .zip(weights.chunks_exact(len))
            .enumerate()
    }

    /// The lanes `first..last` of block `k` (of `blocks`) that are rows of the task: all eight
    /// but in the first and last blocks.
    #[inline]
    fn lanes(&self, k: usize, blocks: usize) -> (usize, usize) {
        if k == 0 || k + 1 == blocks {
            (
                self.lead.saturating_sub(k * LANES),
                (self.out.len() + self.lead - k * LANES).min(LANES),
            )
        } else {
            (0, LANES)
        }
    }

    /// Writes the results `hf` of block `k`'s lanes `lanes` into their output slots.
    #[inline]
    fn write_lanes(&mut self, k: usize, lanes: Range<usize>, hf: &[f64; LANES]) {
        let at = k * LANES + lanes.start - self.lead;
        self.out[at..at + lanes.len()].copy_from_slice(&hf[lanes]);
    }
}

/// The scalar kernel: the blocks of `t`, eight rows side by side as the vector kernel takes them
/// and with the same operations; returns the rows below 1.
fn scan_scalar(t: &mut Task, prices: &[f64]) -> usize {
    // Rows of up to five entries get loops of known length (the usual accounts).
    match t.c {
        1 => scalar_rows(t, prices, 1),
        2 => scalar_rows(t, prices, 2),
        3 => scalar_rows(t, prices, 3),
        4 => scalar_rows(t, prices, 4),
        5 => scalar_rows(t, prices, 5),
        c => scalar_rows(t, prices, c),
    }
}

/// [`scan_scalar`] on rows of `c` entries.
#[inline(always)]
fn scalar_rows(t: &mut Task, prices: &[f64], c: usize) -> usize {
    let blocks = t.block_count();
    let mut below = 0;
    for (k, (a, w)) in t.blocks() {
        let mut hf = [0.0; LANES];
        for (l, hf) in hf.iter_mut().enumerate() {
            let mut coll = 0.0;
            let mut debt = 0.0;
            for i in 0..c {
                let v = w[i * LANES + l] * prices[a[i * LANES + l] as usize];
                coll += v.max(0.0);
                debt -= v.min(0.0);
            }
            *hf = ratio(coll, debt);
        }
        let (first, last) = t.lanes(k, blocks);
        below += hf[first..last].iter().filter(|&&hf| hf < 1.0).count();
        t.write_lanes(k, first..last, &hf);
    }
    below
}

/// `coll / debt`, ∞ when `debt` is not above 0.
#[inline]
fn ratio(coll: f64, debt: f64) -> f64 {
    if debt > 0.0 {
        coll / debt
    } else {
        f64::INFINITY
    }
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
    ratio(coll, debt)
}

// Calls into the vector kernel, compiled for CPU features detected at run time.
#[allow(unsafe_code)]
mod simd;

#[cfg(test)]
mod tests;
