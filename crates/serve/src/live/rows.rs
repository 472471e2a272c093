//! The accounts whose health depends on more than two price coordinates, as compact rows of their
//! coefficients ([`super::coords`]): a price move goes through the rows of the moved coordinate in
//! order, reading only `W_f`, `C_f`, `D_f` per coordinate instead of the account's slots, and
//! computes each account's health factor and, for the ladder of the moved asset, its liquidation
//! price. A health factor within [`NEAR_EDGE`] of a bin edge (or, under the aave-v3 rule, an
//! average threshold that near a whole basis point) is recomputed from the account's positions, so
//! that the bin is always the one the positions give.

use cascade_model::HealthFactorRule;

use super::agg::{bin_of, HF_BIN_EDGES};
use super::coords::Coef;

/// Relative distance to a bin edge below which the positions decide.
pub const NEAR_EDGE: f64 = 1e-9;
const NONE: u32 = u32::MAX;

/// Rows of coefficients; rows of removed accounts are dead until the next compaction.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rows {
    /// Per row: its account (`NONE`: dead).
    pub acct: Vec<u32>,
    pub proto: Vec<u32>,
    /// Per row: the account's bin (kept equal to the book's).
    pub bin: Vec<u8>,
    /// Per row: its coefficients `at[r]..at[r + 1]`… as a start and a count.
    at: Vec<u32>,
    n: Vec<u8>,
    coord: Vec<u32>,
    w: Vec<f64>,
    c: Vec<f64>,
    d: Vec<f64>,
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

    /// Adds account `k` of protocol `p` with coefficients `coefs`; its row.
    pub fn add(&mut self, k: u32, p: u32, bin: u8, coefs: &[Coef]) -> u32 {
        let r = self.acct.len() as u32;
        self.acct.push(k);
        self.proto.push(p);
        self.bin.push(bin);
        self.at.push(self.coord.len() as u32);
        self.n.push(coefs.len().min(u8::MAX as usize) as u8);
        for e in coefs.iter().take(u8::MAX as usize) {
            self.coord.push(e.coord);
            self.w.push(e.w);
            self.c.push(e.c);
            self.d.push(e.d);
            if let Some(l) = self.by_coord.get_mut(e.coord as usize) {
                l.push(r);
            }
        }
        r
    }

    /// Marks row `r` dead.
    pub fn remove(&mut self, r: u32) {
        if let Some(a) = self.acct.get_mut(r as usize) {
            if *a != NONE {
                *a = NONE;
                self.dead += 1;
            }
        }
    }

    /// Whether dead rows are many enough to rebuild.
    pub fn due(&self) -> bool {
        self.dead > 4096 && 2 * self.dead > self.acct.len()
    }

    /// Row `r`'s sums at coordinate prices `x` (`x[coord]`).
    #[inline]
    pub fn sums(&self, r: usize, x: &[f64]) -> RowSums {
        let (a, n) = (self.at[r] as usize, self.n[r] as usize);
        let mut s = RowSums {
            weighted: 0.0,
            collateral_weighted: 0.0,
            debt: 0.0,
        };
        for i in a..a + n {
            let p = x[self.coord[i] as usize];
            s.weighted += self.w[i] * p;
            s.collateral_weighted += self.c[i] * p;
            s.debt += self.d[i] * p;
        }
        s
    }

    /// Row `r`'s sums at coordinate prices `x`, and its weighted collateral and debt in coordinate
    /// `y` (coordinate units; zeros if it has none), in one pass.
    #[inline]
    pub fn sums_with(&self, r: usize, x: &[f64], y: u32) -> (RowSums, f64, f64) {
        let (a, n) = (self.at[r] as usize, self.n[r] as usize);
        let mut s = RowSums {
            weighted: 0.0,
            collateral_weighted: 0.0,
            debt: 0.0,
        };
        let (mut wy, mut dy) = (0.0, 0.0);
        for i in a..a + n {
            let c = self.coord[i];
            let p = x[c as usize];
            s.weighted += self.w[i] * p;
            s.collateral_weighted += self.c[i] * p;
            s.debt += self.d[i] * p;
            if c == y {
                wy = self.w[i];
                dy = self.d[i];
            }
        }
        (s, wy, dy)
    }

    /// Whether row `r` has a coordinate `x` with `moved[x]`.
    #[inline]
    pub fn has_any(&self, r: usize, moved: &[bool]) -> bool {
        let (a, n) = (self.at[r] as usize, self.n[r] as usize);
        self.coord[a..a + n]
            .iter()
            .any(|&c| moved.get(c as usize).copied().unwrap_or(false))
    }

    /// Row `r`'s weighted collateral and debt in coordinate `y` (coordinate units).
    #[inline]
    pub fn in_coord(&self, r: usize, y: u32) -> (f64, f64) {
        let (a, n) = (self.at[r] as usize, self.n[r] as usize);
        (a..a + n)
            .find(|&i| self.coord[i] == y)
            .map_or((0.0, 0.0), |i| (self.w[i], self.d[i]))
    }
}

/// The bin of a health factor computed from a row, or `None` if the positions must decide (too
/// near an edge, or under the aave-v3 rule too near a whole basis point of average threshold).
#[inline]
pub(crate) fn bin_from_row(hf: f64, s: &RowSums, rule: Option<HealthFactorRule>) -> Option<u8> {
    if !hf.is_finite() {
        return None;
    }
    if HF_BIN_EDGES
        .iter()
        .any(|&e| (hf - e).abs() <= NEAR_EDGE * e)
    {
        return None;
    }
    if rule == Some(HealthFactorRule::AaveV3) && s.collateral_weighted > 0.0 {
        let bps = 10_000.0 * s.weighted / s.collateral_weighted + 1e-9;
        let frac = bps - bps.floor();
        if !(1e-6..=1.0 - 1e-6).contains(&frac) {
            return None;
        }
    }
    Some(bin_of(hf))
}
