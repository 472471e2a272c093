//! The accounts whose health depends on more than two price coordinates, as compact rows of their
//! coefficients ([`super::coords`]): a price move goes through the rows of the moved coordinate
//! that its tolerances ([`super::tol`]) cannot rule out, reading only `W_f`, `C_f`, `D_f` per
//! coordinate instead of the account's slots (or a [`Packed`] copy of them), and computes each
//! account's health factor and, for the ladder of the moved asset, its liquidation price. A health factor within [`NEAR_EDGE`] of a bin edge (or, under the aave-v3 rule, an
//! average threshold that near a whole basis point) is recomputed from the account's positions, so
//! that the bin is always the one the positions give.

use cascade_model::HealthFactorRule;

use super::agg::{bin_of, HF_BIN_EDGES};
use super::coords::{Coef, EDGE_MARGIN};

/// Relative distance to a bin edge below which the positions decide.
pub const NEAR_EDGE: f64 = 1e-9;
const NONE: u32 = u32::MAX;
/// Relative margin kept by a tolerance out of a ladder (rounding of the sums).
const RATIO_MARGIN: f64 = 1e-9;
/// Beyond this drop an account is out of every ladder ([`super::ladder::bucket_account`]).
pub const LADDER_OUT: f64 = super::LADDER_CURVE_MAX_PERCENT as f64 / 100.0 + 1e-6;

/// A row's header: its account (`NONE`: dead), protocol and coefficients `at..at + n`.
#[derive(Debug, Clone, Copy)]
struct Head {
    acct: u32,
    proto: u32,
    at: u32,
    n: u32,
}

/// The bin of a dead row.
const DEAD: u8 = u8::MAX - 1;

/// One coefficient of a row (module doc), side by side so that a pass reads one stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Term {
    coord: u32,
    w: f64,
    c: f64,
    d: f64,
}

/// Rows of coefficients; rows of removed accounts are dead until the next compaction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rows {
    head: Vec<Head>,
    /// Per row: its bin (kept equal to the book's; [`DEAD`] for a dead row), apart from the
    /// headers so that a pass over copies of the rows ([`Packed`]) reads it from a small column.
    bins: Vec<u8>,
    terms: Vec<Term>,
    /// Per coordinate: its rows, ascending.
    pub by_coord: Vec<Vec<u32>>,
    dead: usize,
}

/// What a row gives at given prices.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowSums {
    pub weighted: f64,
    pub collateral_weighted: f64,
    pub debt: f64,
}

impl Rows {
    pub fn new(coords: usize) -> Rows {
        Rows {
            by_coord: vec![Vec::new(); coords],
            ..Default::default()
        }
    }

    /// Number of rows, dead ones included.
    pub fn len(&self) -> usize {
        self.head.len()
    }

    /// Row `r`'s account (`u32::MAX`: dead), protocol and bin.
    #[inline]
    pub fn acct(&self, r: usize) -> u32 {
        self.head[r].acct
    }
    #[inline]
    pub fn proto(&self, r: usize) -> u32 {
        self.head[r].proto
    }
    #[inline]
    pub fn bin(&self, r: usize) -> u8 {
        self.bins[r]
    }
    /// Whether row `r` is live.
    #[inline]
    pub fn live(&self, r: usize) -> bool {
        self.bins[r] != DEAD
    }
    pub fn set_bin(&mut self, r: usize, bin: u8) {
        self.bins[r] = bin;
    }

    /// Adds account `k` of protocol `p` in bin `bin` with coefficients `coefs`; its row.
    pub fn add(&mut self, k: u32, p: u32, bin: u8, coefs: &[Coef]) -> u32 {
        let r = self.head.len() as u32;
        let n = coefs.len();
        self.head.push(Head {
            acct: k,
            proto: p,
            at: self.terms.len() as u32,
            n: n as u32,
        });
        self.bins.push(bin);
        for e in &coefs[..n] {
            self.terms.push(Term {
                coord: e.coord,
                w: e.w,
                c: e.c,
                d: e.d,
            });
            if let Some(l) = self.by_coord.get_mut(e.coord as usize) {
                l.push(r);
            }
        }
        r
    }

    /// Gives back the room the vectors grew beyond their rows.
    pub fn shrink(&mut self) {
        self.head.shrink_to_fit();
        self.bins.shrink_to_fit();
        self.terms.shrink_to_fit();
        self.by_coord.iter_mut().for_each(Vec::shrink_to_fit);
    }

    /// Marks row `r` dead.
    pub fn remove(&mut self, r: u32) {
        if let Some(h) = self.head.get_mut(r as usize) {
            if h.acct != NONE {
                h.acct = NONE;
                self.bins[r as usize] = DEAD;
                self.dead += 1;
            }
        }
    }

    /// Whether dead rows are many enough to rebuild.
    pub fn due(&self) -> bool {
        self.dead > 4096 && 2 * self.dead > self.head.len()
    }

    /// Row `r`'s sums at coordinate prices `x` (`x[coord]`), and its weighted collateral and debt
    /// in coordinate `y` (coordinate units; zeros if it has none), in one pass.
    #[inline]
    pub fn sums_with(&self, r: usize, x: &[f64], y: u32) -> (RowSums, f64, f64) {
        let h = self.head[r];
        sums_of(
            &self.terms[h.at as usize..h.at as usize + h.n as usize],
            x,
            y,
        )
    }

    /// Row `r`'s tolerances ([`super::tol`]) at coordinate prices `x`, where its sums are `s` and
    /// its bin `bin`; `eta` its rule's slack, `assets` the number of assets (coordinates below it
    /// have a ladder). Calls `out(coordinate, ρ)` per coordinate: the factor by which its health
    /// factor and, for an asset, its ratios out of that asset's ladder may move without changing its
    /// bin or its place in or out of the ladder (≤ 1: none). Returns the tolerance of its bin alone.
    pub fn tolerances(
        &self,
        r: usize,
        x: &[f64],
        s: &RowSums,
        (bin, eta): (u8, f64),
        assets: usize,
        mut out: impl FnMut(u32, f64),
    ) -> f64 {
        let (w, d) = (s.weighted, s.debt);
        let hf = w / d;
        let b = bin as usize;
        let rho_bin = if b > HF_BIN_EDGES.len() {
            0.0
        } else {
            let lower = match b {
                0 => f64::INFINITY,
                _ => hf / (HF_BIN_EDGES[b - 1] * (1.0 + EDGE_MARGIN) / (1.0 - eta)),
            };
            let upper = match HF_BIN_EDGES.get(b) {
                Some(&e) => e * (1.0 - EDGE_MARGIN) / hf,
                None => f64::INFINITY,
            };
            lower.min(upper)
        };
        let h = self.head[r];
        for t in &self.terms[h.at as usize..h.at as usize + h.n as usize] {
            let c = t.coord as usize;
            let rho_ladder = if c >= assets || t.w <= t.d {
                // No exposure: never in this coordinate's ladder.
                f64::INFINITY
            } else if w < d {
                (d / w) * (1.0 - RATIO_MARGIN)
            } else {
                let g = (w - LADDER_OUT * t.w * x[c]) / (d - LADDER_OUT * t.d * x[c]);
                if g > 1.0 {
                    g * (1.0 - RATIO_MARGIN)
                } else {
                    0.0
                }
            };
            out(t.coord, rho_bin.min(rho_ladder));
        }
        rho_bin
    }
}

/// The sums of coefficients `terms` at coordinate prices `x`, and their weighted collateral and
/// debt in coordinate `y` (zeros if none).
#[inline]
fn sums_of(terms: &[Term], x: &[f64], y: u32) -> (RowSums, f64, f64) {
    let mut s = RowSums {
        weighted: 0.0,
        collateral_weighted: 0.0,
        debt: 0.0,
    };
    let (mut wy, mut dy) = (0.0, 0.0);
    for t in terms {
        let p = x[t.coord as usize];
        s.weighted += t.w * p;
        s.collateral_weighted += t.c * p;
        s.debt += t.d * p;
        if t.coord == y {
            wy = t.w;
            dy = t.d;
        }
    }
    (s, wy, dy)
}

/// One row of a [`Packed`] copy: the row, its account and protocol, its coefficients.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PackedHead {
    pub row: u32,
    pub acct: u32,
    pub proto: u32,
    at: u32,
    n: u32,
    /// The tolerance class of its bin at its slice's reference ([`super::tol`]).
    pub bin_class: u8,
}

/// A copy of some rows, side by side in the order they were pushed, so that a pass over them
/// reads two streams instead of the rows' scattered places. Rows only change by dying (a copy is
/// rebuilt at its slice's next reference; [`Rows::live`] tells the dead).
#[derive(Debug, Clone, Default)]
pub(crate) struct Packed {
    pub head: Vec<PackedHead>,
    terms: Vec<Term>,
}

impl Packed {
    pub fn clear(&mut self) {
        self.head.clear();
        self.terms.clear();
    }

    /// Appends a copy of row `r` of `rows`, whose bin's tolerance class is `bin_class`.
    pub fn push(&mut self, rows: &Rows, r: usize, bin_class: u8) {
        let h = rows.head[r];
        self.head.push(PackedHead {
            row: r as u32,
            acct: h.acct,
            proto: h.proto,
            at: self.terms.len() as u32,
            n: h.n,
            bin_class,
        });
        self.terms
            .extend_from_slice(&rows.terms[h.at as usize..h.at as usize + h.n as usize]);
    }

    /// As [`Rows::sums_with`], for the copy of `h`.
    #[inline]
    pub fn sums_with(&self, h: &PackedHead, x: &[f64], y: u32) -> (RowSums, f64, f64) {
        sums_of(
            &self.terms[h.at as usize..h.at as usize + h.n as usize],
            x,
            y,
        )
    }
}

/// The bin of a health factor computed from a row, or `None` if the positions must decide (too
/// near an edge, or under the aave-v3 rule too near a whole basis point of average threshold).
#[inline]
pub(crate) fn bin_from_row(hf: f64, s: &RowSums, rule: Option<HealthFactorRule>) -> Option<u8> {
    if !hf.is_finite() {
        return None;
    }
    // The nearest edges are the bin's own two.
    let bin = bin_of(hf);
    let b = bin as usize;
    let near = |e: f64| (hf - e).abs() <= NEAR_EDGE * e;
    if (b > 0 && near(HF_BIN_EDGES[b - 1])) || HF_BIN_EDGES.get(b).is_some_and(|&e| near(e)) {
        return None;
    }
    if rule == Some(HealthFactorRule::AaveV3) && s.collateral_weighted > 0.0 {
        let bps = 10_000.0 * s.weighted / s.collateral_weighted + 1e-9;
        let frac = bps - bps.floor();
        if !(1e-6..=1.0 - 1e-6).contains(&frac) {
            return None;
        }
    }
    Some(bin)
}
