//! GMRES on the defaulters' dense block, for dense networks ([`super::Method::Krylov`]).
//!
//! `Π` is stored once, row-major by debtor. In a round with defaulters `D` the unknowns are the
//! defaulters' recovery rates `z_k = p_{D_k} / p̄_{D_k}`, and the round's system is
//!
//! ```text
//! z − Ãᵀz = b,   Ã_kl = β·Π_{D_k D_l}·p̄_{D_k} / p̄_{D_l},   b_l = (α·e_{D_l} + β·s_{D_l}) / p̄_{D_l}
//! s_i = Σ_{j ∉ D} Π_ji·p̄_j                                      (what the solvent nodes pay i)
//! ```
//!
//! It is solved by restarted GMRES from the previous round's payments (the new defaulters at
//! `z = 1`). On the dense networks of `cascade bench` the block is close to rank one plus noise,
//! so GMRES reaches 10⁻¹⁴ in about 8 products `Ãᵀv` where Gauss–Seidel needs about 20 sweeps.
//! Convergence is checked on the clearing map itself, with an explicit product:
//!
//! ```text
//! G(z)_l = min(1, max(0, b_l + (Ãᵀz)_l)),   stop when max_l |G(z)_l − z_l| ≤ tolerance
//! ```
//!
//! and the payments returned are `p̄·G(z)`. GMRES iterates are not upper bounds, so every round
//! is solved to `tolerance` (no loose intermediate rounds). When some defaulter cannot reach a
//! node that pays out of `D` or externally (`β = 1`), the system is singular and GMRES could land
//! on any solution: that round, like one where GMRES stalls, is solved by Jacobi sweeps from
//! `z = 1`, which decrease to the greatest solution.
//!
//! Every product `Ãᵀv` (and `Πᵀp`) is split over rows run in parallel; each entry is one
//! sequential dot product, so the result does not depend on the number of threads. The
//! Gram–Schmidt dot products are sequential.

use cascade_model::huge::Huge;
use rayon::prelude::*;

use super::{ClearingError, Problem, RoundSolver};

/// Rows per parallel task of a product, and creditor rows per task when `Πᵀ` is built.
const ROWS: usize = 32;
/// Bands of creditor rows built in parallel when `Πᵀ` is stored.
const BANDS: usize = 4;
/// Krylov vectors kept before GMRES restarts.
const RESTART: usize = 30;
/// Restarts without halving the change after which a round falls back to Jacobi sweeps.
const STALLS: usize = 3;
/// Not a defaulter, in [`Krylov::local`].
const NONE: usize = usize::MAX;

/// `out[r] = dot(row r of m, v)` for every row of the row-major `m` (`out.len()` rows of
/// `v.len()` columns), rows in parallel: each is one sequential [`dot`], so the result does not
/// depend on the number of threads.
fn product(m: &[f64], v: &[f64], out: &mut [f64]) {
    let cols = v.len().max(1);
    out.par_iter_mut()
        .with_min_len(ROWS)
        .zip(m.par_chunks(cols))
        .for_each(|(o, row)| *o = dot(row, v));
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    super::dot(a, b)
}

/// The state of the GMRES solver.
pub(crate) struct Krylov<'a> {
    p: &'a Problem<'a>,
    n: usize,
    /// `Πᵀ` row-major by creditor: `pit[i·n + j] = Π_ji` (on huge pages: written in full once).
    pit: Huge<f64>,
    /// The defaulters of the last round solved, and each node's position among them.
    defaulters: Vec<usize>,
    local: Vec<usize>,
    /// `s_i` of each defaulter, in the order of `defaulters`.
    solvent: Vec<f64>,
    /// `Ãᵀ` (row-major, `|D| × |D|`: row `l` holds `Ã_kl` for every `k`, the first `|D|²` of
    /// room for `n²`, on huge pages) and `b`.
    block: Huge<f64>,
    rhs: Vec<f64>,
}

impl<'a> Krylov<'a> {
    /// Stores `Πᵀ` dense (callers ensure the network is stored dense, so `n²` is bounded).
    pub(crate) fn new(p: &'a Problem<'a>) -> Self {
        let l = p.liabilities;
        let n = l.n_rows();
        let mut pit = Huge::zeroed(n * n);
        // Each task fills a band of creditor rows, ROWS at a time: from every debtor's row (its
        // columns are sorted) it takes the entries up to the end of the ROWS, keeping one
        // cursor per debtor, so both the reads and the writes stay within a few pages.
        let band = n.div_ceil(BANDS).max(1);
        let (ptr, cols, vals) = (l.row_ptr(), l.cols(), l.vals());
        pit.par_chunks_mut(band * n)
            .enumerate()
            .for_each(|(t, rows)| {
                let (i0, i1) = (t * band, (t * band + band).min(n));
                let mut at: Vec<usize> = (0..n)
                    .map(|j| ptr[j] + cols[ptr[j]..ptr[j + 1]].partition_point(|&i| i < i0))
                    .collect();
                for end in (i0..i1).step_by(ROWS).map(|r| (r + ROWS).min(i1)) {
                    for (j, k) in at.iter_mut().enumerate() {
                        let o = p.obligations[j];
                        while *k < ptr[j + 1] && cols[*k] < end {
                            rows[(cols[*k] - i0) * n + j] = vals[*k] / o;
                            *k += 1;
                        }
                    }
                }
            });
        Krylov {
            p,
            n,
            pit,
            defaulters: Vec::new(),
            local: vec![NONE; n],
            solvent: Vec::new(),
            // Made at the largest size once: the pages are touched once, not every round.
            block: Huge::zeroed(n * n),
            rhs: Vec::new(),
        }
    }

    /// Moves the new defaulters out of the solvent inflow and builds `Ã` and `b`.
    fn build(&mut self, defaulters: &[usize]) {
        let (n, p) = (self.n, self.p);
        for (k, &d) in defaulters.iter().enumerate().skip(self.defaulters.len()) {
            self.local[d] = k;
        }
        self.defaulters.clear();
        self.defaulters.extend_from_slice(defaulters);
        // s_i: the new defaulters' rows in full, the others by taking out what the new
        // defaulters paid them (no more than the rounding of s_i itself is lost).
        let paid: Vec<f64> = (0..n)
            .map(|j| {
                if self.local[j] == NONE {
                    p.obligations[j]
                } else {
                    0.0
                }
            })
            .collect();
        let (old, pit): (usize, &[f64]) = (self.solvent.len(), &self.pit);
        let new = &defaulters[old..];
        self.solvent.resize(defaulters.len(), 0.0);
        let (kept, added) = self.solvent.split_at_mut(old);
        kept.par_iter_mut()
            .with_min_len(ROWS)
            .zip(&defaulters[..old])
            .for_each(|(s, &i)| {
                let row = &pit[i * n..(i + 1) * n];
                let lost: f64 = new.iter().map(|&j| row[j] * p.obligations[j]).sum();
                *s = (*s - lost).max(0.0);
            });
        added
            .par_iter_mut()
            .with_min_len(ROWS)
            .zip(new)
            .for_each(|(s, &i)| *s = dot(&pit[i * n..(i + 1) * n], &paid));
        let m = defaulters.len();
        let solvent = &self.solvent;
        let (alpha, beta) = (p.options.alpha, p.options.beta);
        let owed: Vec<f64> = defaulters.iter().map(|&j| p.obligations[j]).collect();
        // Every entry of the |D|² is written.
        self.block[..m * m]
            .par_chunks_mut(m.max(1))
            .zip(defaulters)
            .for_each(|(row, &i)| {
                let scale = beta / p.obligations[i];
                let src = &pit[i * n..(i + 1) * n];
                for ((a, &j), &o) in row.iter_mut().zip(defaulters).zip(&owed) {
                    *a = scale * (src[j] * o);
                }
            });
        self.rhs.clear();
        self.rhs.extend(
            defaulters
                .iter()
                .zip(solvent)
                .map(|(&i, &s)| (alpha * p.assets[i] + beta * s) / p.obligations[i]),
        );
    }

    /// `out = Ãᵀv`.
    fn product(&self, v: &[f64], out: &mut [f64]) {
        product(&self.block[..v.len() * v.len()], v, out);
    }

    /// Whether every defaulter reaches, along what it owes inside `D`, one that pays out of the
    /// block (`β < 1`, external liabilities, or a solvent creditor): then `ρ(Ã) < 1`.
    pub(super) fn leaks(&self) -> bool {
        let p = self.p;
        let m = self.defaulters.len();
        let mut reached: Vec<bool> = self
            .defaulters
            .iter()
            .map(|&j| {
                p.options.beta < 1.0
                    || p.external_liabilities[j] > 0.0
                    || p.liabilities
                        .row(j)
                        .0
                        .iter()
                        .any(|&i| self.local[i] == NONE)
            })
            .collect();
        if reached.iter().all(|&r| r) {
            return true;
        }
        // Backwards from the leaking defaulters: whoever owes a reached node reaches a leak.
        let mut stack: Vec<usize> = (0..m).filter(|&k| reached[k]).collect();
        while let Some(l) = stack.pop() {
            let row = &self.block[l * m..(l + 1) * m];
            for (k, (r, &a)) in reached.iter_mut().zip(row).enumerate() {
                if !*r && a > 0.0 {
                    *r = true;
                    stack.push(k);
                }
            }
        }
        reached.iter().all(|&r| r)
    }

    /// Restarted GMRES from `z`; `Err(change)` when it stalls or hits `max_passes`.
    fn gmres(
        &self,
        z: &mut [f64],
        tolerance: f64,
        passes: &mut usize,
        max_passes: usize,
    ) -> Result<(), f64> {
        let (m, b) = (z.len(), &self.rhs);
        let mut av = vec![0.0; m];
        let mut basis: Vec<Vec<f64>> = Vec::with_capacity(RESTART + 1);
        let mut h = vec![0.0; (RESTART + 1) * RESTART];
        let (mut cs, mut sn, mut g) = (
            vec![0.0; RESTART],
            vec![0.0; RESTART],
            vec![0.0; RESTART + 1],
        );
        let (mut best, mut stalls) = (f64::INFINITY, 0);
        loop {
            self.product(z, &mut av);
            *passes += 1;
            let mut change = 0.0f64;
            let mut r = vec![0.0; m];
            for l in 0..m {
                let gz = b[l] + av[l];
                r[l] = gz - z[l];
                change = change.max((gz.clamp(0.0, 1.0) - z[l]).abs());
            }
            if change <= tolerance {
                for l in 0..m {
                    z[l] = (b[l] + av[l]).clamp(0.0, 1.0);
                }
                return Ok(());
            }
            if change > 0.5 * best {
                stalls += 1;
            }
            best = best.min(change);
            let norm = dot(&r, &r).sqrt();
            if stalls >= STALLS || *passes >= max_passes || !(norm > 0.0 && norm.is_finite()) {
                return Err(change);
            }
            basis.clear();
            basis.push(r.iter().map(|x| x / norm).collect());
            g.fill(0.0);
            g[0] = norm;
            let mut used = 0;
            for j in 0..RESTART {
                self.product(&basis[j], &mut av);
                *passes += 1;
                let mut w: Vec<f64> = basis[j].iter().zip(&av).map(|(v, a)| v - a).collect();
                for (i, v) in basis.iter().enumerate() {
                    let hij = dot(&w, v);
                    h[i * RESTART + j] = hij;
                    for (x, &y) in w.iter_mut().zip(v) {
                        *x -= hij * y;
                    }
                }
                let hn = dot(&w, &w).sqrt();
                for i in 0..j {
                    let (a, c) = (h[i * RESTART + j], h[(i + 1) * RESTART + j]);
                    h[i * RESTART + j] = cs[i] * a + sn[i] * c;
                    h[(i + 1) * RESTART + j] = -sn[i] * a + cs[i] * c;
                }
                let d = h[j * RESTART + j].hypot(hn);
                if d == 0.0 {
                    break;
                }
                cs[j] = h[j * RESTART + j] / d;
                sn[j] = hn / d;
                h[j * RESTART + j] = d;
                g[j + 1] = -sn[j] * g[j];
                g[j] *= cs[j];
                used = j + 1;
                // ‖r‖₂ ≥ max |r_l| ≥ max |G(z)_l − z_l|: stop at half the tolerance.
                if hn == 0.0 || g[j + 1].abs() <= 0.5 * tolerance || *passes >= max_passes {
                    break;
                }
                basis.push(w.iter().map(|x| x / hn).collect());
            }
            // z += V·y with H y = g (upper triangular).
            let mut y = vec![0.0; used];
            for i in (0..used).rev() {
                let mut s = g[i];
                for q in i + 1..used {
                    s -= h[i * RESTART + q] * y[q];
                }
                y[i] = s / h[i * RESTART + i];
            }
            for (v, &yi) in basis.iter().zip(&y) {
                for (x, &vi) in z.iter_mut().zip(v) {
                    *x += yi * vi;
                }
            }
        }
    }

    /// Jacobi sweeps `z ← G(z)` from `z = 1`: they decrease to the greatest solution.
    pub(super) fn jacobi(
        &self,
        z: &mut [f64],
        tolerance: f64,
        passes: &mut usize,
        round: usize,
    ) -> Result<(), ClearingError> {
        let m = z.len();
        z.fill(1.0);
        let mut av = vec![0.0; m];
        let mut sweeps = 0;
        loop {
            self.product(z, &mut av);
            *passes += 1;
            sweeps += 1;
            let mut change = 0.0f64;
            for l in 0..m {
                let v = (self.rhs[l] + av[l]).clamp(0.0, 1.0);
                change = change.max((v - z[l]).abs());
                z[l] = v;
            }
            if change <= tolerance {
                return Ok(());
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

impl RoundSolver for Krylov<'_> {
    fn monotone(&self) -> bool {
        false
    }

    fn values(&mut self, p: &[f64], nodes: &[usize], out: &mut Vec<f64>) {
        let (n, pit, assets): (usize, &[f64], &[f64]) = (self.n, &self.pit, self.p.assets);
        out.clear();
        out.resize(nodes.len(), 0.0);
        out.par_iter_mut()
            .with_min_len(ROWS)
            .zip(nodes)
            .for_each(|(o, &i)| *o = assets[i] + dot(&pit[i * n..(i + 1) * n], p));
    }

    fn solve(
        &mut self,
        defaulters: &[usize],
        payments: &mut [f64],
        tolerance: f64,
        round: usize,
    ) -> Result<usize, ClearingError> {
        if defaulters.len() != self.defaulters.len() {
            self.build(defaulters);
        }
        let obligations = self.p.obligations;
        let mut z: Vec<f64> = defaulters
            .iter()
            .map(|&i| payments[i] / obligations[i])
            .collect();
        let mut passes = 0;
        let max_passes = self.p.options.max_sweeps;
        if !self.leaks()
            || self
                .gmres(&mut z, tolerance, &mut passes, max_passes)
                .is_err()
        {
            self.jacobi(&mut z, tolerance, &mut passes, round)?;
        }
        for (&i, &v) in defaulters.iter().zip(&z) {
            payments[i] = v * obligations[i];
        }
        Ok(passes)
    }
}
