//! Which rows a price move can reclassify (docs/serve-live.md#what-a-price-update-recomputes): a tolerance index
//! over the accounts with three or more coordinates ([`super::rows`]).
//!
//! Everything that classifies such an account is a ratio of two linear forms in the coordinate
//! prices with non-negative coefficients: its health factor `W / D` (its bin), and for each asset
//! `Y` it holds with a positive net exposure, whether it is out of `Y`'s ladder — below 1 now
//! (`D / W > 1`), or beyond the ladder's last drop (`g = (W − d'·W_Y·x_Y) / (D − d'·D_Y·x_Y) > 1`,
//! `d'` that drop). If every coordinate price is within a factor `[lo, hi]` of a reference vector,
//! each such ratio is within `[lo/hi, hi/lo]` of its reference value. So at a reference each row
//! gets, per coordinate it holds, the factor `ρ` by which its ratios may move without changing
//! anything that coordinate's move needs (the smallest of its bin's and its ladder's); a move needs
//! only the rows with `ρ ≤ hi/lo`, where `lo` and `hi` are the smallest and largest price ratios
//! seen since the reference (monotone: a row reclassified earlier stays among those recomputed).
//!
//! The rows are split into [`SLICES`] slices of [`BLOCK`]-row blocks, each with its own reference;
//! every price batch re-references one slice in turn (a pass over a slice's rows), so a reference
//! is at most [`SLICES`] batches old and no batch pays for a full pass. Per slice and coordinate the
//! rows are grouped by a class of `ρ` (a counting sort on geometric bounds); rows added since the
//! slice's reference are checked at every move of their coordinates.

use rayon::prelude::*;

use super::ladder::{ascending, CHUNK};
use super::rows::{Packed, RowSums, Rows};

/// Rows per block of a slice (few in tests, so that small systems have rows in every slice).
pub const BLOCK: usize = if cfg!(test) { 8 } else { 1024 };
/// Slices, each re-referenced once every this many price batches.
pub const SLICES: usize = 64;
/// Classes of tolerance: class 0 below [`FIRST`], then bounds growing by [`GROWTH`] in log space.
const CLASSES: usize = 48;
const FIRST: f64 = 2e-4;
const GROWTH: f64 = 1.25;
/// The rows whose tolerance is below this log-ratio are also kept as a packed copy, read by a move
/// as one stream; beyond it (larger moves since the reference) a move reads the rows in place.
const HOT: f64 = 0.03;

/// Rows of one (slice, coordinate), grouped by class.
#[derive(Debug, Clone, Default)]
struct ClassList {
    /// `rows[start[c]..start[c + 1]]` are the rows of class `c`.
    start: Vec<u32>,
    rows: Vec<u32>,
    /// A copy of the rows of the classes below the hot bound, in the same order.
    hot: Packed,
}

#[derive(Debug, Clone, Default)]
struct Slice {
    /// Coordinate prices at the reference (empty: never referenced).
    x_ref: Vec<f64>,
    /// Smallest and largest `x / x_ref` over the root coordinates since the reference.
    lo: f64,
    hi: f64,
    lists: Vec<ClassList>,
    /// Per coordinate: rows added since the reference.
    fresh: Vec<Vec<u32>>,
}

/// The tolerance index (module doc).
#[derive(Debug, Clone)]
pub(crate) struct Tol {
    slices: Vec<Slice>,
    /// `bounds[c]`: the smallest `ρ` of class `c` (`bounds[0] = 0`).
    bounds: Vec<f64>,
    /// The slice the next batch re-references.
    next: usize,
    /// Classes below this one are packed.
    hot: usize,
}

impl Default for Tol {
    fn default() -> Self {
        Tol::new(0)
    }
}

/// What a row's re-reference gives: its row, coordinate, class, and the class of its bin alone.
pub(crate) type Placed = (u32, u32, u8, u8);

/// What a block's re-reference gives: `(row, account, bin)` of the rows out of their bin (none, if
/// the moves kept them current), and its rows placed.
type BlockPart = (Vec<(u32, u32, u8)>, Vec<Placed>);

impl Tol {
    pub fn new(coords: usize) -> Tol {
        let mut bounds = vec![0.0];
        let mut b = FIRST;
        for _ in 1..CLASSES {
            bounds.push(b.exp());
            b *= GROWTH;
        }
        let slice = Slice {
            lists: vec![ClassList::default(); coords],
            fresh: vec![Vec::new(); coords],
            ..Default::default()
        };
        let hot = bounds.partition_point(|&b| b <= HOT.exp());
        Tol {
            slices: vec![slice; SLICES],
            bounds,
            next: 0,
            hot,
        }
    }

    /// The slice of row `r`.
    #[inline]
    pub fn slice_of(r: usize) -> usize {
        (r / BLOCK) % SLICES
    }

    /// The row ranges of slice `s` among `len` rows.
    pub fn blocks(s: usize, len: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
        (s * BLOCK..len)
            .step_by(BLOCK * SLICES)
            .map(move |a| a..(a + BLOCK).min(len))
    }

    /// The class of tolerance `rho` (NaN or below the first bound: 0).
    #[inline]
    pub fn class(&self, rho: f64) -> u8 {
        if rho.is_nan() || rho < self.bounds[1] {
            return 0;
        }
        (self.bounds.partition_point(|&b| b <= rho) - 1) as u8
    }

    /// Row `r` (coordinates `coords`) was added: checked at every move until its slice's next
    /// reference.
    pub fn added(&mut self, r: u32, coords: impl Iterator<Item = u32>) {
        let s = &mut self.slices[Tol::slice_of(r as usize)];
        for c in coords {
            if let Some(f) = s.fresh.get_mut(c as usize) {
                f.push(r);
            }
        }
    }

    /// Records prices `x` (coordinate prices; `root[c]`: coordinate `c` is a root or par) in every
    /// slice's range of ratios.
    pub fn observe(&mut self, x: &[f64], root: &[bool]) {
        for s in &mut self.slices {
            if s.x_ref.is_empty() {
                continue;
            }
            for c in 0..x.len().min(s.x_ref.len()) {
                if root[c] {
                    let q = x[c] / s.x_ref[c];
                    s.lo = s.lo.min(q);
                    s.hi = s.hi.max(q);
                }
            }
        }
    }

    /// Sets in `bits` every row that a move of coordinate `y` may reclassify: per slice, the rows
    /// whose tolerance is at most the slice's `hi / lo`, and the rows added since its reference.
    pub fn gather(&self, y: usize, bits: &mut [u64]) {
        for s in &self.slices {
            let (Some(list), Some(fresh)) = (s.lists.get(y), s.fresh.get(y)) else {
                continue;
            };
            let upto = if s.x_ref.is_empty() {
                list.rows.len()
            } else {
                let classes = self.class(s.hi / s.lo) as usize + 1;
                list.start
                    .get(classes)
                    .map_or(list.rows.len(), |&e| e as usize)
            };
            for &r in list.rows[..upto].iter().chain(fresh) {
                super::set_bit(bits, r as usize);
            }
        }
    }

    /// As [`Tol::gather`] for the move of one coordinate `y`, but the rows of each slice that are
    /// packed are not set: per slice, how many of its packed copy's first rows the move needs, and
    /// the number of classes it takes (a packed row whose bin's class is not below it keeps its bin).
    pub fn candidates(&self, y: usize, bits: &mut [u64]) -> Vec<(usize, usize, u8)> {
        let mut out = Vec::new();
        for (i, s) in self.slices.iter().enumerate() {
            let (Some(list), Some(fresh)) = (s.lists.get(y), s.fresh.get(y)) else {
                continue;
            };
            let classes = if s.x_ref.is_empty() {
                CLASSES
            } else {
                self.class(s.hi / s.lo) as usize + 1
            };
            let at = |c: usize| list.start.get(c).map_or(list.rows.len(), |&e| e as usize);
            let (upto, packed) = (
                at(classes),
                at(classes.min(self.hot)).min(list.hot.head.len()),
            );
            if packed > 0 {
                out.push((i, packed, classes.min(CLASSES) as u8));
            }
            for &r in list.rows[packed..upto.max(packed)].iter().chain(fresh) {
                super::set_bit(bits, r as usize);
            }
        }
        out
    }

    /// Slice `s`'s packed copy of coordinate `y`'s rows.
    pub fn packed(&self, s: usize, y: usize) -> &Packed {
        &self.slices[s].lists[y].hot
    }

    /// The slice the next batch re-references, and moves on.
    pub fn take_next(&mut self) -> usize {
        let s = self.next;
        self.next = (self.next + 1) % SLICES;
        s
    }

    /// Makes `x` slice `s`'s reference, its rows classed as `placed` (in row order).
    pub fn set_slice(&mut self, s: usize, x: &[f64], placed: &[Placed], rows: &Rows) {
        let hot = self.hot;
        let sl = &mut self.slices[s];
        let coords = sl.lists.len();
        let mut count = vec![vec![0u32; CLASSES + 1]; coords];
        for &(_, c, k, _) in placed {
            if let Some(n) = count.get_mut(c as usize) {
                n[k as usize + 1] += 1;
            }
        }
        for (c, n) in count.iter_mut().enumerate() {
            for k in 1..=CLASSES {
                n[k] += n[k - 1];
            }
            let l = &mut sl.lists[c];
            l.rows.clear();
            l.rows.resize(n[CLASSES] as usize, 0);
            l.start.clear();
            l.start.extend_from_slice(n);
        }
        // The class of each listed row's bin, for its packed copy.
        let mut bin_classes: Vec<Vec<u8>> =
            sl.lists.iter().map(|l| vec![0; l.rows.len()]).collect();
        for &(r, c, k, b) in placed {
            if let Some(n) = count.get_mut(c as usize) {
                let at = &mut n[k as usize];
                sl.lists[c as usize].rows[*at as usize] = r;
                bin_classes[c as usize][*at as usize] = b;
                *at += 1;
            }
        }
        sl.lists
            .par_iter_mut()
            .zip(&bin_classes)
            .for_each(|(l, bins)| {
                l.hot.clear();
                let n = l.start.get(hot).map_or(l.rows.len(), |&e| e as usize);
                for (&r, &b) in l.rows[..n].iter().zip(bins) {
                    l.hot.push(rows, r as usize, b);
                }
            });
        sl.x_ref = x.to_vec();
        sl.lo = 1.0;
        sl.hi = 1.0;
        sl.fresh.iter_mut().for_each(Vec::clear);
    }
}

impl super::Live {
    /// Makes the current prices every slice's reference (at build, and when the rows are
    /// rebuilt).
    pub(crate) fn reference_all(&mut self) {
        let x = self.coords.prices(&self.pricing.prices);
        for s in 0..SLICES {
            self.reference(s, &x);
        }
    }

    /// Makes coordinate prices `x` (the current ones) slice `s`'s reference: every live row of the
    /// slice is recomputed — its bin, which the moves since the last reference kept current, and
    /// its tolerances — in blocks on the thread pool, placed in block order.
    pub(crate) fn reference(&mut self, s: usize, x: &[f64]) {
        let rows = &self.keys.rows;
        let tol = &self.keys.tol;
        let rule = self.row_rules();
        let assets = self.pricing.assets();
        let blocks: Vec<std::ops::Range<usize>> = Tol::blocks(s, rows.len()).collect();
        let parts: Vec<BlockPart> = blocks
            .par_iter()
            .map(|range| {
                let (mut bins, mut placed) = (Vec::new(), Vec::with_capacity(4 * range.len()));
                for r in range.clone() {
                    if !rows.live(r) {
                        continue;
                    }
                    let k = rows.acct(r);
                    let p = rows.proto(r) as usize;
                    let (sums, _, _) = rows.sums_with(r, x, u32::MAX);
                    let bin = self.row_bin(rule[p], p, k, &sums);
                    if bin != rows.bin(r) {
                        bins.push((r as u32, k, bin));
                    }
                    let eta = self.eta[p];
                    let from = placed.len();
                    let rho_bin = rows.tolerances(r, x, &sums, (bin, eta), assets, |c, rho| {
                        // Par never moves: no list.
                        if (c as usize) < assets {
                            placed.push((r as u32, c, tol.class(rho), 0));
                        }
                    });
                    let b = tol.class(rho_bin);
                    placed[from..].iter_mut().for_each(|e| e.3 = b);
                }
                (bins, placed)
            })
            .collect();
        let mut all = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
        for (bins, placed) in parts {
            // The moves since the reference kept every bin current: a difference is a bug, which
            // this pass repairs in a release build.
            debug_assert!(bins.is_empty(), "rows out of their bin: {bins:?}");
            for (r, k, bin) in bins {
                self.set_row_bin(r, k, bin);
            }
            all.extend(placed);
        }
        let keys = &mut self.keys;
        keys.tol.set_slice(s, x, &all, &keys.rows);
    }
}

/// A piece of a pass over rows: a run of a packed copy, or rows read in place.
enum Piece<'a> {
    /// With the number of classes the move takes.
    Packed(&'a Packed, std::ops::Range<usize>, u8),
    Rows(&'a [u32]),
}

impl super::Live {
    /// The pass of a move of the coordinates `moved` over the rows it may reclassify: for each live
    /// one, `visit(acc, row, account, protocol, sums, W_y, D_y, bin may change)` with its sums at
    /// coordinate prices `x` and its coefficients in coordinate `y` (`u32::MAX`: none), in fixed
    /// pieces on the thread pool (a slice's packed rows, then the others ascending); the pieces'
    /// accumulators in order. A packed row's bin may change only if its bin's tolerance class is
    /// among those the move takes.
    pub(crate) fn pass_rows<T: Send>(
        &self,
        moved: &[usize],
        (x, y): (&[f64], u32),
        init: impl Fn() -> T + Sync,
        visit: impl Fn(&mut T, u32, u32, usize, &RowSums, (f64, f64), bool) + Sync,
    ) -> Vec<T> {
        let (tol, rows) = (&self.keys.tol, &self.keys.rows);
        let mut bits = vec![0u64; rows.len().div_ceil(64)];
        let mut packed = Vec::new();
        match moved {
            [c] => packed = tol.candidates(*c, &mut bits),
            _ => moved.iter().for_each(|&c| tol.gather(c, &mut bits)),
        }
        let scattered = ascending(&bits);
        let mut pieces = Vec::new();
        for (s, n, q) in packed {
            let p = tol.packed(s, moved[0]);
            for a in (0..n).step_by(CHUNK) {
                pieces.push(Piece::Packed(p, a..(a + CHUNK).min(n), q));
            }
        }
        pieces.extend(scattered.chunks(CHUNK).map(Piece::Rows));
        pieces
            .par_iter()
            .map(|piece| {
                let mut acc = init();
                match piece {
                    Piece::Packed(p, range, q) => {
                        for h in &p.head[range.clone()] {
                            if rows.live(h.row as usize) {
                                let (s, wy, dy) = p.sums_with(h, x, y);
                                let bin = h.bin_class < *q;
                                visit(&mut acc, h.row, h.acct, h.proto as usize, &s, (wy, dy), bin);
                            }
                        }
                    }
                    Piece::Rows(list) => {
                        for &r in *list {
                            let r = r as usize;
                            if rows.live(r) {
                                let (s, wy, dy) = rows.sums_with(r, x, y);
                                let (k, p) = (rows.acct(r), rows.proto(r) as usize);
                                visit(&mut acc, r as u32, k, p, &s, (wy, dy), true);
                            }
                        }
                    }
                }
                acc
            })
            .collect()
    }
}
