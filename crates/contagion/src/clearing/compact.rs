//! Gauss–Seidel sweeps over the defaulters' compacted system, for sparse networks
//! ([`super::Method::Compact`]).
//!
//! `Πᵀ` is stored once by creditor with `u32` debtor indices. The rows of the defaulters `D` are
//! split into what the solvent nodes pay, a constant, and a block over `D` alone, numbered by
//! position in `D`:
//!
//! ```text
//! s_i  = Σ_{j ∉ D} Π_ji·p̄_j                          (solvent inflow, fixed in the round)
//! p_i ← min(p̄_i, max(0, α·e_i + β·(s_i + Σ_{j ∈ D} Π_ji·p_j)))      i ∈ D, in the order of D
//! ```
//!
//! so a sweep reads only the block (the payments it gathers sit in one contiguous vector of `|D|`
//! entries). The rows are kept from round to round: each holds the defaulter's full row, its
//! block entries first; a round appends its new defaulters' rows and, in one pass over the
//! older rows' solvent parts, moves the new defaulters into the block and sums `s_i` again where
//! one moved (rebuilding every row every round cost more than the sweeps of the late rounds,
//! which add a few hundred defaulters or one).
//!
//! The sweeps, their starting point and their stopping rule are those of
//! [`super::Method::GaussSeidel`]: from the previous payments, an upper bound, until no payment
//! moves by more than `tolerance × p̄_i`. The defaulters are numbered round by round in index
//! order, a round's new defaulters are updated once before its sweeps (any order of updates
//! from an upper bound stays an upper bound), and each update adds the block to the solvent
//! part, so payments agree with Gauss–Seidel's to rounding.

use std::ops::Range;

use cascade_model::huge::Huge;
use rayon::prelude::*;

use super::{ClearingError, Problem, RoundSolver};

/// Most bands of creditors whose rows of `Πᵀ` are filled in parallel.
const MAX_TRANSPOSE_BANDS: usize = 16;

/// Nodes per parallel task of [`RoundSolver::values`].
const VALUES_MIN: usize = 4096;

/// Not a defaulter, in [`Compact::local`].
const NONE: u32 = u32::MAX;

/// The state of the compacted Gauss–Seidel solver.
pub(crate) struct Compact<'a> {
    p: &'a Problem<'a>,
    /// `Πᵀ` by creditor: row `i` lists the debtors `j` of `i` (ascending) with `Π_ji`.
    row_ptr: Vec<usize>,
    cols: Huge<u32>,
    vals: Huge<f64>,
    /// Position of each node in the defaulters' list, [`NONE`] if solvent.
    local: Vec<u32>,
    /// How many defaulters the rows below were built for.
    built: usize,
    /// Row `k` holds the full row of `Πᵀ` of defaulter `D[k]` in `row_cols`/`row_vals`, from
    /// `heads[k].start`, `heads[k].len` entries: its first `heads[k].inside` are the block
    /// (debtors in `D`, numbered by position in `D`), the others the solvent debtors (global
    /// indices). Rows follow each other in the order of `D`.
    row_cols: Huge<u32>,
    row_vals: Huge<f64>,
    /// How much of `row_cols`/`row_vals` the rows fill.
    filled: usize,
    /// What a sweep reads of row `k`, in one place.
    heads: Vec<Head>,
    /// The payment of defaulter `D[k]` while solving.
    y: Vec<f64>,
    /// The rows added by the last [`Compact::build`], not yet updated.
    fresh: Option<Range<usize>>,
}

/// Row `k`'s block entries and constants, as a sweep reads them (one stream instead of five).
#[derive(Debug, Clone, Copy)]
struct Head {
    /// The row is `start..start + len` in `row_cols`/`row_vals`, its block the first `inside`.
    start: usize,
    inside: u32,
    len: u32,
    /// `α·e_i + β·s_i`, the update without the block's part.
    base: f64,
    /// `p̄_i` and `1/p̄_i` (defaulters owe something: their value fell short of `p̄_i > 0`).
    obligation: f64,
    inverse: f64,
}

impl<'a> Compact<'a> {
    /// Stores `Πᵀ` (callers ensure `n < u32::MAX`).
    pub(crate) fn new(p: &'a Problem<'a>) -> Self {
        let l = p.liabilities;
        let n = l.n_rows();
        let mut row_ptr = vec![0usize; n + 1];
        for &i in l.cols() {
            row_ptr[i + 1] += 1;
        }
        for i in 0..n {
            row_ptr[i + 1] += row_ptr[i];
        }
        // On huge pages, as the rows below: written once, each a few MB (docs/contagion.md).
        let mut cols = Huge::<u32>::zeroed(l.nnz());
        let mut vals = Huge::<f64>::zeroed(l.nnz());
        // Bands of creditors filled in parallel, one per thread, each from every debtor's
        // entries that fall in it (a debtor's columns are sorted: one binary search per debtor
        // and band). Debtors are visited in increasing order, so each creditor's row comes out
        // sorted, the same however many bands.
        let bands = rayon::current_num_threads().clamp(1, MAX_TRANSPOSE_BANDS);
        let band = n.div_ceil(bands).max(1);
        let mut tasks = Vec::with_capacity(bands);
        let (mut rest_c, mut rest_v): (&mut [u32], &mut [f64]) = (&mut cols, &mut vals);
        for i0 in (0..n).step_by(band) {
            let i1 = (i0 + band).min(n);
            let len = row_ptr[i1] - row_ptr[i0];
            let (c, tail_c) = std::mem::take(&mut rest_c).split_at_mut(len);
            let (v, tail_v) = std::mem::take(&mut rest_v).split_at_mut(len);
            (rest_c, rest_v) = (tail_c, tail_v);
            tasks.push((i0..i1, c, v));
        }
        let (ptr, lcols, lvals) = (l.row_ptr(), l.cols(), l.vals());
        tasks.into_par_iter().for_each(|(band, c, v)| {
            let base = row_ptr[band.start];
            let mut next: Vec<usize> = row_ptr[band.clone()].iter().map(|&k| k - base).collect();
            // The first band starts, and the last ends, with every row: no search there.
            let (first, last) = (band.start == 0, band.end == n);
            for j in 0..n {
                let row = &lcols[ptr[j]..ptr[j + 1]];
                let from = if first {
                    ptr[j]
                } else {
                    ptr[j] + row.partition_point(|&i| i < band.start)
                };
                let to = if last {
                    ptr[j + 1]
                } else {
                    ptr[j] + row.partition_point(|&i| i < band.end)
                };
                let o = p.obligations[j];
                for (&i, &w) in lcols[from..to].iter().zip(&lvals[from..to]) {
                    let k = &mut next[i - band.start];
                    c[*k] = j as u32;
                    v[*k] = w / o;
                    *k += 1;
                }
            }
        });
        Compact {
            p,
            row_ptr,
            cols,
            vals,
            local: vec![NONE; n],
            built: 0,
            // Room for every row (pages touched as rows are added), so rows are never moved.
            row_cols: Huge::zeroed(l.nnz()),
            row_vals: Huge::zeroed(l.nnz()),
            filled: 0,
            heads: Vec::with_capacity(n),
            y: Vec::new(),
            fresh: None,
        }
    }

    /// `Σ_j Π_ji·p_j` over the full row of `i` (summed in the order of
    /// [`super::Method::GaussSeidel`], so solvency is tested on the same values); `cols` and
    /// `vals` are `self.cols` and `self.vals`, taken out of their buffers once by the caller.
    fn inflow(&self, cols: &[u32], vals: &[f64], p: &[f64], i: usize) -> f64 {
        let r = self.row_ptr[i]..self.row_ptr[i + 1];
        cols[r.clone()]
            .iter()
            .zip(&vals[r])
            .map(|(&j, &w)| w * p[j as usize])
            .sum()
    }

    /// Brings the rows up to `defaulters` (the previous ones, then this round's new ones): the
    /// new defaulters move from the solvent part into the block of their creditors' rows, and the
    /// new defaulters' rows are appended. Only the rows a new defaulter touches are read.
    fn build(&mut self, defaulters: &[usize]) {
        let old = self.built;
        for (k, &d) in defaulters.iter().enumerate().skip(old) {
            self.local[d] = k as u32;
        }
        let (obligations, assets, alpha, beta) = (
            self.p.obligations,
            self.p.assets,
            self.p.options.alpha,
            self.p.options.beta,
        );
        let local = &self.local;
        // The new defaulters move into the block of the rows already there: one pass over those
        // rows' solvent parts, in order (a pass by the new defaulters' creditors would reach the
        // same entries in random order, several times dearer at 20,000 new defaulters). The
        // partition swaps every entry and advances on the new ones, without a branch on them
        // (about 40% of the entries in the second round: a branch mispredicted often).
        if old > 0 && defaulters.len() > old {
            let (cols, vals) = (&mut self.row_cols[..], &mut self.row_vals[..]);
            for (h, &i) in self.heads.iter_mut().zip(&defaulters[..old]) {
                let before = h.start + h.inside as usize;
                let end = h.start + h.len as usize;
                let mut first = before;
                for e in before..end {
                    let (c, w) = (cols[e], vals[e]);
                    let k = local[c as usize];
                    let new = k != NONE;
                    cols[e] = cols[first];
                    vals[e] = vals[first];
                    cols[first] = if new { k } else { c };
                    vals[first] = w;
                    first += usize::from(new);
                }
                if first != before {
                    h.inside = (first - h.start) as u32;
                    let s: f64 = cols[first..end]
                        .iter()
                        .zip(&vals[first..end])
                        .map(|(&j, &w)| w * obligations[j as usize])
                        .sum();
                    h.base = alpha * assets[i] + beta * s;
                }
            }
        }
        // The new defaulters' rows: block entries from the front, solvent ones from the back,
        // without a branch on which.
        let (all_c, all_v): (&[u32], &[f64]) = (&self.cols, &self.vals);
        for &i in &defaulters[old..] {
            let r = self.row_ptr[i]..self.row_ptr[i + 1];
            let (pc, pv) = (&all_c[r.clone()], &all_v[r]);
            let start = self.filled;
            self.filled += pc.len();
            let (cols, vals) = (
                &mut self.row_cols[start..self.filled],
                &mut self.row_vals[start..self.filled],
            );
            let (mut front, mut back) = (0, pc.len());
            for (&j, &w) in pc.iter().zip(pv) {
                let k = local[j as usize];
                let inside = k != NONE;
                back -= usize::from(!inside);
                let at = if inside { front } else { back };
                cols[at] = if inside { k } else { j };
                vals[at] = w;
                front += usize::from(inside);
            }
            let s: f64 = cols[front..]
                .iter()
                .zip(&vals[front..])
                .map(|(&j, &w)| w * obligations[j as usize])
                .sum();
            self.heads.push(Head {
                start,
                inside: front as u32,
                len: pc.len() as u32,
                base: alpha * assets[i] + beta * s,
                obligation: obligations[i],
                inverse: 1.0 / obligations[i],
            });
        }
        self.fresh = Some(old..defaulters.len());
        self.built = defaulters.len();
    }
}

impl Compact<'_> {
    /// One Gauss–Seidel pass over `rows`, in order; returns the largest move `|Δp_i| / p̄_i`.
    fn sweep(&self, y: &mut [f64], rows: Range<usize>, beta: f64) -> f64 {
        let mut change = 0.0f64;
        let (all_c, all_v): (&[u32], &[f64]) = (&self.row_cols, &self.row_vals);
        for (k, h) in rows.clone().zip(&self.heads[rows]) {
            let r = h.start..h.start + h.inside as usize;
            let (cols, vals) = (&all_c[r.clone()], &all_v[r]);
            // Two partial sums: a row's additions are the latency chain of a sweep.
            let (mut a, mut b) = (0.0, 0.0);
            let (pairs, tail) = (cols.chunks_exact(2), cols.len() % 2);
            for (c, w) in pairs.zip(vals.chunks_exact(2)) {
                a += w[0] * y[c[0] as usize];
                b += w[1] * y[c[1] as usize];
            }
            if tail == 1 {
                a += vals[vals.len() - 1] * y[cols[cols.len() - 1] as usize];
            }
            // min(p̄, max(0, ·)) by comparisons: no NaN can arise, and none is handled.
            let x = h.base + beta * (a + b);
            let v = if x < h.obligation { x } else { h.obligation };
            let v = if v > 0.0 { v } else { 0.0 };
            // By 1/p̄ rather than a division a row (the hottest instruction of the sweep).
            let moved = (y[k] - v).abs() * h.inverse;
            change = if moved > change { moved } else { change };
            y[k] = v;
        }
        change
    }
}

impl RoundSolver for Compact<'_> {
    fn monotone(&self) -> bool {
        true
    }

    fn in_index_order(&self) -> bool {
        true
    }

    fn values(&mut self, p: &[f64], nodes: &[usize], out: &mut Vec<f64>) {
        // Each node's value is its own row's sum: in parallel, the same whatever the threads.
        let (cols, vals): (&[u32], &[f64]) = (&self.cols, &self.vals);
        out.clear();
        out.par_extend(
            nodes
                .par_iter()
                .with_min_len(VALUES_MIN)
                .map(|&i| self.p.assets[i] + self.inflow(cols, vals, p, i)),
        );
    }

    fn solve(
        &mut self,
        defaulters: &[usize],
        payments: &mut [f64],
        tolerance: f64,
        round: usize,
    ) -> Result<usize, ClearingError> {
        if self.built != defaulters.len() {
            self.build(defaulters);
        }
        let beta = self.p.options.beta;
        let mut y = std::mem::take(&mut self.y);
        y.clear();
        y.extend(defaulters.iter().map(|&i| payments[i]));
        let mut sweeps = 0;
        // A round's new defaulters are updated once before the sweeps (a partial pass, not
        // counted): their drop from `p̄` then reaches their creditors in the first sweep rather
        // than the second. Any order of updates from an upper bound keeps an upper bound.
        if let Some(new) = self.fresh.take() {
            if new.start > 0 {
                self.sweep(&mut y, new, beta);
            }
        }
        let result = loop {
            let change = self.sweep(&mut y, 0..defaulters.len(), beta);
            sweeps += 1;
            if change <= tolerance {
                break Ok(sweeps);
            }
            if sweeps >= self.p.options.max_sweeps {
                break Err(ClearingError::NotConverged {
                    round,
                    sweeps,
                    change,
                });
            }
        };
        for (&i, &v) in defaulters.iter().zip(&y) {
            payments[i] = v;
        }
        self.y = y;
        result
    }
}
