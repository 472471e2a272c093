//! The liquidation ladder (docs/serve-live.md#the-liquidation-ladder): per asset `Y` and drop `d`,
//! the accounts healthy now (exact rule) that a drop of `Y`'s family by `d`, all other prices
//! held, makes liquidatable, and their debt at the dropped prices.
//!
//! **Two coordinates.** An account whose health depends on two coordinates `y`, `o` only is
//! liquidatable iff `x_y / x_o < ρ` ([`super::coords::liquidation_ratio`]): a number that no price
//! changes. Such accounts sit in a list per (`y`, `o`, protocol) sorted by `ρ`, with prefix sums of
//! their debt in either coordinate (`δ_y`, `δ_o`, in coordinate units), so that a drop is two binary
//! searches: healthy now is `ρ ≤ t`, liquidatable after is `ρ > t·(1 − d)`, `t = x_y / x_o`, and
//! the debt then is `x_o·Σδ_o + (1 − d)·x_y·Σδ_y`. Lists change only with positions: re-keyed
//! entries go to an unsorted buffer, removed ones are remembered, both merged in when they grow.
//!
//! **More coordinates**: the rows of the asset that its tolerances ([`super::tol`]) cannot place out
//! of the ladder; **assets that are not roots**: a pass over the holders. Each account is keyed as
//! `p*_Y = p_Y·(1 − (W − D)/K)` with its family exposure `K = C_Y − D_Y`, in fixed-size chunks merged
//! in chunk order.

use rayon::prelude::*;

use cascade_model::Side;

use super::book::{Book, Sums};
use super::coords::{Coef, Family};
use super::rows::{Rows, LADDER_OUT};

/// One account of a list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LiqEntry {
    pub rho: f64,
    pub k: u32,
    pub gen: u32,
    /// Debt in the dropping coordinate and in the other, coordinate units.
    pub dy: f64,
    pub dor: f64,
}

/// The order of a list: by `ρ`, then by account.
fn order(a: &LiqEntry, b: &LiqEntry) -> std::cmp::Ordering {
    a.rho.total_cmp(&b.rho).then(a.k.cmp(&b.k))
}

/// The accounts of one (`y`, `o`, protocol), by `ρ`.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiqList {
    pub main: Vec<LiqEntry>,
    cum_dy: Vec<f64>,
    cum_do: Vec<f64>,
    /// Positions in `main` of removed entries.
    pub dead: Vec<u32>,
    pub buf: Vec<LiqEntry>,
}

const MIN_MERGE: usize = 1024;
const MERGE_SHARE: usize = 16;

impl LiqList {
    pub fn due(&self) -> bool {
        self.buf.len() + self.dead.len() > MIN_MERGE.max(self.main.len() / MERGE_SHARE)
    }

    /// Rebuilds the sorted entries with the buffer's live ones and without the removed; `live`
    /// tells a buffered entry's liveness, `placed(k, pos)` records where each entry went.
    pub fn merge(&mut self, live: impl Fn(&LiqEntry) -> bool, mut placed: impl FnMut(u32, u32)) {
        let mut gone = vec![false; self.main.len()];
        for &p in &self.dead {
            gone[p as usize] = true;
        }
        // `main` is sorted already: sort the buffer alone and merge the two in one pass.
        let mut buf: Vec<LiqEntry> = self.buf.iter().filter(|e| live(e)).copied().collect();
        buf.sort_unstable_by(order);
        let mut v =
            Vec::with_capacity(self.main.len() - self.dead.len().min(self.main.len()) + buf.len());
        let mut rest = buf.iter().peekable();
        for (e, _) in self.main.iter().zip(&gone).filter(|(_, &g)| !g) {
            while let Some(b) = rest.next_if(|b| order(b, e).is_lt()) {
                v.push(*b);
            }
            v.push(*e);
        }
        v.extend(rest);
        self.cum_dy.clear();
        self.cum_do.clear();
        let (mut a, mut b) = (0.0, 0.0);
        self.cum_dy.push(0.0);
        self.cum_do.push(0.0);
        for (i, e) in v.iter().enumerate() {
            a += e.dy;
            b += e.dor;
            self.cum_dy.push(a);
            self.cum_do.push(b);
            placed(e.k, i as u32);
        }
        self.main = v;
        // New vectors, not cleared ones: a merge after a rebuild would keep the build's room.
        self.dead = Vec::new();
        self.buf = Vec::new();
        self.cum_dy.shrink_to_fit();
        self.cum_do.shrink_to_fit();
    }

    /// Adds to `g` (drops ascending) this list's accounts, `t = x_y / x_o`; `live` as in `merge`.
    pub fn add_to(&self, g: &mut Grid, t: f64, xy: f64, xo: f64, live: impl Fn(&LiqEntry) -> bool) {
        let hi = self.main.partition_point(|e| e.rho <= t);
        for j in 0..g.drops.len() {
            let th = t * (1.0 - g.drops[j]);
            let lo = self.main.partition_point(|e| e.rho <= th).min(hi);
            g.n[j] += (hi - lo) as i64;
            g.other[j] += (self.cum_do[hi] - self.cum_do[lo]) * xo;
            g.fam[j] += (self.cum_dy[hi] - self.cum_dy[lo]) * xy;
        }
        let bucket = |g: &mut Grid, e: &LiqEntry, sign: f64| {
            if e.rho <= t {
                let j0 = g.drops.partition_point(|&d| t * (1.0 - d) >= e.rho);
                g.bucket(j0, sign, e.dor * xo, e.dy * xy);
            }
        };
        for &p in &self.dead {
            bucket(g, &self.main[p as usize], -1.0);
        }
        for e in &self.buf {
            if live(e) {
                bucket(g, e, 1.0);
            }
        }
    }
}

/// Accounts and debt newly liquidatable per drop (ascending), for one protocol: direct totals per
/// drop plus per-drop increments that apply from that drop on.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    pub drops: Vec<f64>,
    /// `drops[j] = (j + 1) / 100`.
    percent_grid: bool,
    pub n: Vec<i64>,
    /// Debt outside the family, USD.
    pub other: Vec<f64>,
    /// Debt in the family at the current prices, USD (times `1 − d` at the drop).
    pub fam: Vec<f64>,
    inc_n: Vec<i64>,
    inc_other: Vec<f64>,
    inc_fam: Vec<f64>,
}

impl Grid {
    pub fn new(drops: &[f64]) -> Grid {
        let z = drops.len();
        Grid {
            drops: drops.to_vec(),
            percent_grid: drops
                .iter()
                .enumerate()
                .all(|(j, &d)| d == (j as f64 + 1.0) / 100.0),
            n: vec![0; z],
            other: vec![0.0; z],
            fam: vec![0.0; z],
            inc_n: vec![0; z + 1],
            inc_other: vec![0.0; z + 1],
            inc_fam: vec![0.0; z + 1],
        }
    }

    #[inline]
    fn bucket(&mut self, j0: usize, sign: f64, other: f64, fam: f64) {
        self.inc_n[j0] += sign as i64;
        self.inc_other[j0] += sign * other;
        self.inc_fam[j0] += sign * fam;
    }

    pub fn absorb(&mut self, o: &Grid) {
        for j in 0..=self.drops.len() {
            self.inc_n[j] += o.inc_n[j];
            self.inc_other[j] += o.inc_other[j];
            self.inc_fam[j] += o.inc_fam[j];
        }
    }

    /// Per drop: accounts and debt (USD at the dropped prices).
    pub fn finish(&self) -> Vec<(u64, f64)> {
        let (mut n, mut o, mut f) = (0i64, 0.0, 0.0);
        (0..self.drops.len())
            .map(|j| {
                n += self.inc_n[j];
                o += self.inc_other[j];
                f += self.inc_fam[j];
                let count = (self.n[j] + n).max(0) as u64;
                let debt = self.other[j] + o + (1.0 - self.drops[j]) * (self.fam[j] + f);
                (count, if count == 0 { 0.0 } else { debt })
            })
            .collect()
    }
}

/// What a pass over accounts reads.
pub(crate) struct ScanCtx<'a> {
    pub book: &'a Book,
    pub prices: &'a [f64],
    pub protocol_of: &'a [u32],
    pub tracked: &'a [bool],
    pub family: &'a Family,
}

/// Accounts per chunk of a pass (fixed, so that sums do not depend on the threads).
pub(crate) const CHUNK: usize = 4096;

impl ScanCtx<'_> {
    /// Adds the accounts `ks` (each once) to the per-protocol grids `out` for asset `y`'s drops.
    pub fn scan(&self, y: usize, ks: &[u32], out: &mut [Grid]) {
        let drops = out.first().map(|g| g.drops.clone()).unwrap_or_default();
        let parts: Vec<Vec<Grid>> = ks
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut g: Vec<Grid> = (0..out.len()).map(|_| Grid::new(&drops)).collect();
                for &k in chunk {
                    let s = self.book.sums(k as usize, self.prices);
                    self.entry(y, k as usize, &s, &mut g);
                }
                g
            })
            .collect();
        for part in &parts {
            for (o, p) in out.iter_mut().zip(part) {
                o.absorb(p);
            }
        }
    }

    /// Account `k`'s contribution (module doc), if it has one; `s` its sums now.
    pub fn entry(&self, y: usize, k: usize, s: &Sums, out: &mut [Grid]) {
        let p = self.protocol_of[k] as usize;
        if !self.tracked.get(p).copied().unwrap_or(false) {
            return;
        }
        let b = self.book;
        let debt = s.debt;
        if debt.is_nan() || debt <= 0.0 {
            return;
        }
        let (mut exposure, mut family_debt) = (0.0, 0.0);
        for i in b.slots(k) {
            let a = b.price_ix[i] as usize;
            if !self.family.contains(y, a) {
                continue;
            }
            let v = b.amount[i] * self.prices[a];
            match b.side[i] {
                Side::Collateral => exposure += v * b.weight[i],
                Side::Debt => {
                    exposure -= v;
                    family_debt += v;
                }
            }
        }
        bucket_account(
            &mut out[p],
            self.prices[y],
            s.weighted,
            debt,
            exposure,
            family_debt,
        );
    }
}

/// Adds an account to its protocol's grid `g` by its liquidation price `p_Y·(1 − (W − D)/K)`
/// (module doc): `exposure` is `K`, `family_debt` its debt in the family, USD.
#[inline]
pub(crate) fn bucket_account(
    g: &mut Grid,
    py: f64,
    weighted: f64,
    debt: f64,
    exposure: f64,
    family_debt: f64,
) {
    if !(debt > 0.0 && exposure > 0.0 && py > 0.0) || weighted < debt {
        return;
    }
    // Beyond the last drop by more than any rounding: no point of the grid reaches it.
    if let Some(&last) = g.drops.last() {
        if weighted - debt > (last + 1e-6) * exposure {
            return;
        }
    }
    let margin = (weighted - debt) / exposure;
    let key = py * (1.0 - margin);
    if !key.is_finite() || key <= 0.0 || key > py {
        return;
    }
    let n = g.drops.len();
    // The first drop whose price is below the key: found from the margin's percent on a grid of
    // whole percents, then settled by the comparison itself.
    let above = |j: usize| py * (1.0 - g.drops[j]) >= key;
    let mut j0 = if g.percent_grid {
        // margin ≥ 0 here: truncation is the floor.
        ((margin * 100.0) as usize).min(n)
    } else {
        g.drops.partition_point(|&d| py * (1.0 - d) >= key)
    };
    while j0 > 0 && !above(j0 - 1) {
        j0 -= 1;
    }
    while j0 < n && above(j0) {
        j0 += 1;
    }
    if j0 < n {
        g.bucket(j0, 1.0, debt - family_debt, family_debt);
    }
}

/// A two-coordinate account's list entry from its liquidation ratio.
pub(crate) fn entry_of(y: Coef, o: Coef, rho: f64, k: u32, gen: u32) -> LiqEntry {
    LiqEntry {
        rho,
        k,
        gen,
        dy: y.d,
        dor: o.d,
    }
}

/// Row `r`'s contribution to the grids of coordinate `y` (`x`: coordinate prices).
#[inline]
pub(crate) fn rows_entry(rows: &Rows, r: usize, y: usize, x: &[f64], g: &mut [Grid]) {
    if !rows.live(r) {
        return;
    }
    let (s, wy, dy) = rows.sums_with(r, x, y as u32);
    let xy = x[y];
    let p = rows.proto(r) as usize;
    bucket_account(&mut g[p], xy, s.weighted, s.debt, (wy - dy) * xy, dy * xy);
}

/// The ladder's drops: every 1% up to [`super::LADDER_CURVE_MAX_PERCENT`] (the headline points are
/// among them).
pub(crate) fn standard_drops() -> Vec<f64> {
    (1..=super::LADDER_CURVE_MAX_PERCENT)
        .map(|pc| f64::from(pc) / 100.0)
        .collect()
}

impl super::Live {
    pub(crate) fn scan_ctx(&self) -> ScanCtx<'_> {
        ScanCtx {
            book: &self.book,
            prices: &self.pricing.prices,
            protocol_of: &self.accounts.protocol,
            tracked: &self.tracked,
            family: &self.family,
        }
    }

    /// Per protocol, the grid of asset `y`'s drops `drops` (ascending): the lists of its
    /// two-coordinate accounts and a pass over the others if `y` is a root and the bands hold,
    /// else a pass over every holder of its family.
    pub(crate) fn ladder_grids(&self, y: usize, drops: &[f64]) -> Vec<Grid> {
        let np = self.rules.len();
        let mut out: Vec<Grid> = (0..np).map(|_| Grid::new(drops)).collect();
        let ctx = self.scan_ctx();
        let root = self.coords.of.get(y).is_some_and(|&c| c as usize == y);
        if root && !self.degenerate {
            let c = self.coords.count();
            let xy = self.coords.price(&self.pricing.prices, y);
            let keys = &self.keys;
            for o in 0..c {
                if o == y {
                    continue;
                }
                let xo = self.coords.price(&self.pricing.prices, o);
                for (p, g) in out.iter_mut().enumerate() {
                    let list = &keys.lists[(y * c + o) * np + p];
                    if list.main.is_empty() && list.buf.is_empty() {
                        continue;
                    }
                    list.add_to(g, xy / xo, xy, xo, |e| keys.liq_gen[e.k as usize] == e.gen);
                }
            }
            if let Some((_, grids)) = self
                .many_ladder
                .as_ref()
                .filter(|(x, g)| *x == y && g.first().is_some_and(|g| g.drops == drops))
            {
                // Computed by the last batch's pass, at these prices.
                for (o, g) in out.iter_mut().zip(grids) {
                    o.absorb(g);
                }
                return out;
            }
            let x = self.coords.prices(&self.pricing.prices);
            let rows = &keys.rows;
            let new_grids = || (0..np).map(|_| Grid::new(drops)).collect::<Vec<Grid>>();
            // Up to the last standard drop, only the rows the tolerance index cannot place out of
            // the ladder; beyond it, all of them.
            let parts: Vec<Vec<Grid>> = if drops.last().is_none_or(|&d| d + 1e-6 <= LADDER_OUT) {
                self.pass_rows(
                    &[y],
                    (&x, y as u32),
                    new_grids,
                    |g, _, _, p, s, (wy, dy), _| {
                        let xy = x[y];
                        let (w, d) = (s.weighted, s.debt);
                        bucket_account(&mut g[p], xy, w, d, (wy - dy) * xy, dy * xy);
                    },
                )
            } else {
                rows.by_coord[y]
                    .par_chunks(CHUNK)
                    .map(|part| {
                        let mut g = new_grids();
                        for &r in part {
                            rows_entry(rows, r as usize, y, &x, &mut g);
                        }
                        g
                    })
                    .collect()
            };
            for part in &parts {
                for (o, p) in out.iter_mut().zip(part) {
                    o.absorb(p);
                }
            }
        } else {
            let mut seen = vec![0u64; self.book.accounts().div_ceil(64)];
            for &a in &self.family.members[y] {
                for &k in self
                    .holders
                    .lists
                    .get(a as usize)
                    .map_or(&[][..], |v| &v[..])
                {
                    super::set_bit(&mut seen, k as usize);
                }
            }
            ctx.scan(y, &ascending(&seen), &mut out);
        }
        out
    }
}

/// The set bits of `bits`, ascending (so that a pass's sums do not depend on how it was gathered).
pub(crate) fn ascending(bits: &[u64]) -> Vec<u32> {
    let mut out = Vec::new();
    for (w, &b) in bits.iter().enumerate() {
        let mut b = b;
        while b != 0 {
            out.push((w * 64 + b.trailing_zeros() as usize) as u32);
            b &= b - 1;
        }
    }
    out
}
