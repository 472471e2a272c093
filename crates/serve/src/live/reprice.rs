//! Keeping every account's histogram bin current (docs/serve-live.md#what-a-price-update-recomputes):
//! an account is *attached* with its bin counted in its protocol's aggregates and *keyed* where a
//! price move will find it ([`super::bands`]); a position change detaches it first and attaches it
//! again at the end of the batch. A price batch brings every pair of coordinates to its new angle,
//! collecting the accounts whose band it leaves and those checked at every move of a moved
//! coordinate, and recomputes exactly those: in fixed-size chunks on the thread pool, their bins and
//! keys, then applied in account order; then the rows of more coordinates that the tolerances
//! ([`super::tol`]) cannot rule out, and the next slice of rows is re-referenced.

use rayon::prelude::*;

use super::agg::{bin_of, NO_BIN};
use super::bands::{BruteList, PairBands};
use super::book::Book;
use super::coords::{coefs, keying, liquidation_ratio, shape, Coords, Keying, Shape, NO_COORD};
use super::ladder::{ascending, entry_of, Grid, LiqList, CHUNK};
use super::rows::{bin_from_row, RowSums, Rows};
use super::tol::Tol;
use super::{set_bit, side_ix, Live, Rules};
use cascade_model::HealthFactorRule;

const NONE: u32 = u32::MAX;
/// Accounts per chunk when recomputing banded accounts (fewer and costlier than rows).
const BANDED_CHUNK: usize = 256;

/// How each account is keyed, and the structures that key them.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyState {
    /// Per account: generation of its keys (entries of older generations are dead).
    pub gen: Vec<u32>,
    /// Per account: counted in the aggregates and keyed.
    pub attached: Vec<bool>,
    /// Per account: more than two coordinates (its ladder entries are computed by a pass).
    pub many: Vec<bool>,
    /// Per account: how it is keyed (`Keying` without its band).
    mode: Vec<Mode>,
    /// Per account: its ladder list and place in the list's sorted entries (`NONE`: buffered).
    pub liq_at: Vec<(u32, u32)>,
    /// Per account: generation of its ladder entry.
    pub liq_gen: Vec<u32>,
    /// Per pair of coordinates `r·C + s`, `r < s`.
    pub pairs: Vec<PairBands>,
    /// Per coordinate.
    pub brute: Vec<BruteList>,
    /// Per (dropping coordinate `y`, other `o`, protocol): `(y·C + o)·P + p`.
    pub lists: Vec<LiqList>,
    /// The accounts with more than two coordinates that are checked at every move, as rows.
    pub rows: Rows,
    /// Which rows a move of a coordinate may reclassify.
    pub tol: Tol,
    /// Per account: its row (`NONE`: none).
    pub row_of: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Static,
    Band(u32),
    Brute,
}

impl KeyState {
    pub fn new(coords: usize, protocols: usize) -> KeyState {
        KeyState {
            pairs: vec![PairBands::default(); coords * coords],
            brute: vec![BruteList::default(); coords],
            lists: vec![LiqList::default(); coords * coords * protocols],
            rows: Rows::new(coords),
            tol: Tol::new(coords),
            ..Default::default()
        }
    }

    pub fn grow_to(&mut self, n: usize) {
        self.gen.resize(n, 0);
        self.attached.resize(n, false);
        self.many.resize(n, false);
        self.mode.resize(n, Mode::Static);
        self.liq_at.resize(n, (NONE, NONE));
        self.liq_gen.resize(n, 0);
        self.row_of.resize(n, NONE);
    }
}

/// An account's coordinates (those its health depends on), each once.
fn coords_of(book: &Book, coords: &Coords, k: usize) -> Vec<u32> {
    let mut v = Vec::with_capacity(4);
    for i in book.slots(k) {
        let c = coords.of[book.price_ix[i] as usize];
        let counts = match book.side[i] {
            cascade_model::Side::Collateral => book.weight[i] > 0.0,
            cascade_model::Side::Debt => true,
        };
        if c != NO_COORD && counts && !v.contains(&c) {
            v.push(c);
        }
    }
    v
}

/// What a chunk of rows gives: `(row, account, new bin)` of the rows whose bin changed, and the
/// chunk's ladder grids.
type RowsPart = (Vec<(u32, u32, u8)>, Vec<Grid>);

/// What a recomputation of one account gives.
struct Fresh {
    bin: u8,
    keying: Keying,
}

impl Live {
    /// Account `k`'s bin at the current prices (`NO_BIN`: untracked or without positions).
    pub(crate) fn bin_now(&self, k: usize) -> u8 {
        let p = self.accounts.protocol[k] as usize;
        let rules = &self.rules[p];
        if self.book.len[k] == 0 || !rules.tracked() {
            return NO_BIN;
        }
        let s = self.book.sums(k, &self.pricing.prices);
        bin_of(rules.health(s.weighted, s.collateral_weighted, s.debt))
    }

    fn fresh(&self, k: usize, shape: Shape) -> Fresh {
        let bin = self.bin_now(k);
        let keying = if self.degenerate {
            Keying::Static
        } else {
            let eta = self.eta[self.accounts.protocol[k] as usize];
            keying(shape, bin, eta, |r, s| {
                self.coords
                    .angle(&self.pricing.prices, r as usize, s as usize)
            })
        };
        Fresh { bin, keying }
    }

    fn positions(book: &Book, k: usize) -> impl Iterator<Item = (u32, usize, f64)> + '_ {
        book.slots(k)
            .map(|i| (book.price_ix[i], side_ix(book.side[i]), book.amount[i]))
    }

    /// Removes account `k`'s keys (its generation moves on).
    fn retire(&mut self, k: usize) {
        let c = self.coords.count();
        match self.keys.mode[k] {
            Mode::Static => {}
            Mode::Band(pair) => {
                let pb = &mut self.keys.pairs[pair as usize];
                pb.lo.died();
                pb.hi.died();
            }
            Mode::Brute if self.keys.row_of[k] != NONE => {
                self.keys.rows.remove(self.keys.row_of[k]);
                self.keys.row_of[k] = NONE;
            }
            Mode::Brute => {
                for x in coords_of(&self.book, &self.coords, k) {
                    if (x as usize) < c {
                        self.keys.brute[x as usize].died();
                    }
                }
            }
        }
        self.keys.mode[k] = Mode::Static;
        self.keys.gen[k] = self.keys.gen[k].wrapping_add(1);
    }

    /// Keys account `k` as `keying` says (its old keys retired first).
    fn key(&mut self, k: usize, keying: Keying) {
        if self.keys.mode[k] == Mode::Brute && keying == Keying::Brute {
            return;
        }
        self.retire(k);
        let gen = self.keys.gen[k];
        let c = self.coords.count();
        match keying {
            Keying::Static => {}
            Keying::Band { r, s, lo, hi } => {
                let pair = r as usize * c + s as usize;
                let pb = &mut self.keys.pairs[pair];
                if lo.is_finite() {
                    pb.lo.push(lo, k as u32, gen);
                }
                if hi.is_finite() {
                    pb.hi.push(hi, k as u32, gen);
                }
                self.keys.mode[k] = Mode::Band(pair as u32);
            }
            Keying::Brute if self.keys.many[k] => {
                let p = self.accounts.protocol[k];
                let cs = coefs(&self.book, &self.coords, k);
                let row = self.keys.rows.add(k as u32, p, self.book.bin[k], &cs);
                self.keys.tol.added(row, cs.iter().map(|e| e.coord));
                self.keys.row_of[k] = row;
                self.keys.mode[k] = Mode::Brute;
            }
            Keying::Brute => {
                for x in coords_of(&self.book, &self.coords, k) {
                    if (x as usize) < c {
                        self.keys.brute[x as usize].push(k as u32, gen);
                    }
                }
                self.keys.mode[k] = Mode::Brute;
            }
        }
    }

    /// Counts account `k` at its bin now, keys it, and enters it in its ladder list.
    pub(crate) fn attach(&mut self, k: usize) {
        self.restate(k);
        let sh = shape(&self.book, &self.coords, k);
        let f = self.fresh(k, sh);
        self.attach_with(k, sh, f);
    }

    fn attach_with(&mut self, k: usize, sh: Shape, f: Fresh) {
        let p = self.accounts.protocol[k] as usize;
        self.agg[p].count(f.bin, 1.0, Self::positions(&self.book, k));
        self.book.bin[k] = f.bin;
        self.keys.many[k] = sh == Shape::Many;
        self.key(k, f.keying);
        if f.bin != NO_BIN && !self.degenerate {
            if let Some((y, o, rho)) = liquidation_ratio(sh) {
                let c = self.coords.count();
                let list = (y.coord as usize * c + o.coord as usize) * self.rules.len() + p;
                let e = entry_of(y, o, rho, k as u32, self.keys.liq_gen[k]);
                self.keys.lists[list].buf.push(e);
                self.keys.liq_at[k] = (list as u32, NONE);
            }
        }
        self.keys.attached[k] = true;
    }

    /// Uncounts account `k` and removes its keys and ladder entry (before its positions change).
    pub(crate) fn detach(&mut self, k: usize) {
        if !self.keys.attached[k] {
            return;
        }
        let p = self.accounts.protocol[k] as usize;
        let bin = self.book.bin[k];
        self.agg[p].count(bin, -1.0, Self::positions(&self.book, k));
        self.book.bin[k] = NO_BIN;
        self.retire(k);
        let (list, pos) = self.keys.liq_at[k];
        if list != NONE {
            if pos != NONE {
                self.keys.lists[list as usize].dead.push(pos);
            }
            self.keys.liq_gen[k] = self.keys.liq_gen[k].wrapping_add(1);
            self.keys.liq_at[k] = (NONE, NONE);
        }
        self.keys.attached[k] = false;
    }

    /// Every account recomputed and keyed from scratch (at build, and when the bands' premises
    /// fail: a coordinate's price at 0, or a multiplier that moved).
    pub(crate) fn rebuild(&mut self) {
        let n_acc = self.book.accounts();
        let usable = self.coords.usable(&self.pricing.prices);
        self.degenerate = !usable;
        if usable {
            self.coords.set_multipliers(&self.pricing.prices);
        }
        for k in 0..n_acc {
            self.restate(k);
        }
        let (c, np) = (self.coords.count(), self.rules.len());
        let agg_slots = self.pricing.assets() + 2;
        self.keys = KeyState::new(c, np);
        self.keys.grow_to(n_acc);
        for a in self.agg.iter_mut() {
            let fresh = super::agg::ProtocolAgg::new(agg_slots);
            a.hist_accounts = fresh.hist_accounts;
            a.bin_tokens = fresh.bin_tokens;
        }
        for (y, pb) in self.keys.pairs.iter_mut().enumerate() {
            let (r, s) = (y / c, y % c);
            pb.theta = self.coords.angle(&self.pricing.prices, r, s.min(c - 1));
        }
        let ks: Vec<u32> = (0..n_acc as u32).collect();
        for chunk in ks.chunks(CHUNK * 16) {
            let fresh: Vec<(Shape, Fresh)> = chunk
                .par_chunks(CHUNK)
                .flat_map_iter(|part| {
                    part.iter().map(|&k| {
                        let sh = shape(&self.book, &self.coords, k as usize);
                        (sh, self.fresh(k as usize, sh))
                    })
                })
                .collect();
            for (&k, (sh, f)) in chunk.iter().zip(fresh) {
                self.attach_with(k as usize, sh, f);
            }
        }
        self.merge_all(true);
        self.reference_all();
        self.keys.rows.shrink();
        for b in self.keys.brute.iter_mut() {
            b.list.shrink_to_fit();
        }
    }

    /// Merges every due buffer (all of them if `force`).
    pub(crate) fn merge_all(&mut self, force: bool) {
        if self.keys.rows.due() {
            let old = std::mem::replace(&mut self.keys.rows, Rows::new(self.coords.count()));
            for r in 0..old.len() {
                let k = old.acct(r);
                if k != NONE {
                    let cs = coefs(&self.book, &self.coords, k as usize);
                    let row = self.keys.rows.add(k, old.proto(r), old.bin(r), &cs);
                    self.keys.row_of[k as usize] = row;
                }
            }
            self.keys.rows.shrink();
            self.reference_all();
        }
        let KeyState {
            gen,
            pairs,
            brute,
            lists,
            liq_gen,
            liq_at,
            ..
        } = &mut self.keys;
        let live = |k: u32, g: u32| gen[k as usize] == g;
        for pb in pairs.iter_mut() {
            pb.lo.merge(live, force);
            pb.hi.merge(live, force);
        }
        for b in brute.iter_mut() {
            b.compact(live);
        }
        for (id, l) in lists.iter_mut().enumerate() {
            if force || l.due() {
                l.merge(
                    |e| liq_gen[e.k as usize] == e.gen,
                    |k, pos| liq_at[k as usize] = (id as u32, pos),
                );
            }
        }
    }

    /// The price pass of a batch: `old` the prices before it (module doc).
    pub(crate) fn reprice(&mut self, old: &[f64]) {
        let c = self.coords.count();
        let prices = &self.pricing.prices;
        let moved: Vec<bool> = (0..c)
            .map(|x| {
                let root = x == c - 1 || self.coords.of[x] as usize == x;
                root && self.coords.price(prices, x).to_bits()
                    != self.coords.price(old, x).to_bits()
            })
            .collect();
        let mut cand = std::mem::take(&mut self.scratch);
        cand.iter_mut().for_each(|w| *w = 0);
        cand.resize(self.book.accounts().div_ceil(64), 0);
        let KeyState {
            gen, pairs, brute, ..
        } = &mut self.keys;
        let gen: &[u32] = gen;
        let mut add = |k: u32, g: u32| {
            if gen[k as usize] == g {
                set_bit(&mut cand, k as usize);
            }
        };
        for r in 0..c {
            for s in r + 1..c {
                if !(moved[r] || moved[s]) {
                    continue;
                }
                let pb = &mut pairs[r * c + s];
                let t0 = pb.theta;
                let t1 = self.coords.angle(prices, r, s);
                if t1 > t0 {
                    pb.hi.range(t0, t1, true, &mut add);
                } else if t1 < t0 {
                    pb.lo.range(t1, t0, false, &mut add);
                }
                pb.theta = t1;
            }
        }
        for x in 0..c {
            if moved[x] {
                for &(k, g) in &brute[x].list {
                    add(k, g);
                }
            }
        }
        let banded = ascending(&cand);
        self.scratch = cand;
        self.touch_columns(&banded);
        let fresh: Vec<Fresh> = banded
            .par_chunks(BANDED_CHUNK)
            .flat_map_iter(|part| {
                part.iter().map(|&k| {
                    let sh = shape(&self.book, &self.coords, k as usize);
                    self.fresh(k as usize, sh)
                })
            })
            .collect();
        self.settle(&banded, fresh);
        self.reprice_rows(&moved);
    }

    /// The rows' part of a price pass: the rows of the moved coordinates that the move may
    /// reclassify ([`super::tol`]), their bins, and with one moved coordinate its ladder's grid for
    /// these accounts, in fixed-size chunks merged in order; then the next slice of the tolerance
    /// index is re-referenced.
    fn reprice_rows(&mut self, moved: &[bool]) {
        let x = self.coords.prices(&self.pricing.prices);
        self.keys.tol.observe(&x, &self.coords.roots());
        let rows = &self.keys.rows;
        let with_rows: Vec<usize> = (0..moved.len())
            .filter(|&c| moved[c] && !rows.by_coord[c].is_empty())
            .collect();
        let single = (with_rows.len() == 1).then(|| with_rows[0]);
        let ladder_y = single.filter(|&y| y < self.pricing.assets());
        let drops = super::ladder::standard_drops();
        let np = self.rules.len();
        let rule = self.row_rules();
        let y = ladder_y.map_or(u32::MAX, |y| y as u32);
        let parts: Vec<RowsPart> = self.pass_rows(
            &with_rows,
            (&x, y),
            || {
                let grids = match ladder_y {
                    Some(_) => (0..np).map(|_| Grid::new(&drops)).collect(),
                    None => Vec::new(),
                };
                (Vec::new(), grids)
            },
            |(bins, grids), r, k, p, s, (wy, dy), may| {
                if may {
                    let bin = self.row_bin(rule[p], p, k, s);
                    if bin != rows.bin(r as usize) {
                        bins.push((r, k, bin));
                    }
                }
                if let Some(y) = ladder_y {
                    let xy = x[y];
                    let (w, d) = (s.weighted, s.debt);
                    super::ladder::bucket_account(&mut grids[p], xy, w, d, (wy - dy) * xy, dy * xy);
                }
            },
        );
        let changed: Vec<u32> = parts
            .iter()
            .flat_map(|(b, _)| b.iter().map(|e| e.1))
            .collect();
        self.touch_columns(&changed);
        let mut grids: Vec<Grid> = (0..np).map(|_| Grid::new(&drops)).collect();
        for (bins, g) in parts {
            for (r, k, bin) in bins {
                self.set_row_bin(r, k, bin);
            }
            for (o, p) in grids.iter_mut().zip(&g) {
                o.absorb(p);
            }
        }
        self.many_ladder = ladder_y.map(|y| (y, grids));
        let s = self.keys.tol.take_next();
        self.reference(s, &x);
    }

    /// Per protocol, the health-factor rule of a lending pool (`None`: a vault).
    pub(crate) fn row_rules(&self) -> Vec<Option<HealthFactorRule>> {
        self.rules
            .iter()
            .map(|r| match r {
                Rules::Lending { rule, .. } => Some(*rule),
                _ => None,
            })
            .collect()
    }

    /// The bin of account `k` of protocol `p` (`rule` its rule) from its row's sums `s`; from its
    /// positions if the row cannot decide ([`bin_from_row`]).
    #[inline]
    pub(crate) fn row_bin(
        &self,
        rule: Option<HealthFactorRule>,
        p: usize,
        k: u32,
        s: &RowSums,
    ) -> u8 {
        let hf = match rule {
            Some(HealthFactorRule::AaveV3) => {
                self.rules[p].health(s.weighted, s.collateral_weighted, s.debt)
            }
            _ if s.debt > 0.0 => s.weighted / s.debt,
            _ => f64::INFINITY,
        };
        bin_from_row(hf, s, rule).unwrap_or_else(|| self.bin_now(k as usize))
    }

    /// Moves row `r` (account `k`) to bin `bin`, in the aggregates too.
    pub(crate) fn set_row_bin(&mut self, r: u32, k: u32, bin: u8) {
        let k = k as usize;
        self.keys.rows.set_bin(r as usize, bin);
        let old_bin = self.book.bin[k];
        if bin != old_bin {
            let p = self.accounts.protocol[k] as usize;
            let agg = &mut self.agg[p];
            agg.count(old_bin, -1.0, Self::positions(&self.book, k));
            agg.count(bin, 1.0, Self::positions(&self.book, k));
            self.book.bin[k] = bin;
        }
    }

    /// Reads the columns that recomputing accounts `ks` reads, in one loop whose iterations do not
    /// depend on each other, so that their cache misses overlap instead of following one another
    /// in the recomputation (a few scattered lines per account).
    fn touch_columns(&self, ks: &[u32]) {
        let b = &self.book;
        let mut acc = 0u64;
        for &k in ks {
            let k = k as usize;
            let i = b.start[k];
            let j = i + (b.len[k] as usize).saturating_sub(1);
            acc = acc.wrapping_add(
                u64::from(b.price_ix[i])
                    ^ u64::from(b.price_ix[j])
                    ^ b.amount[i].to_bits()
                    ^ b.amount[j].to_bits()
                    ^ b.weight[i].to_bits()
                    ^ u64::from(b.bin[k])
                    ^ u64::from(self.accounts.protocol[k])
                    ^ u64::from(self.keys.gen[k]),
            );
        }
        std::hint::black_box(acc);
    }

    /// Applies recomputed bins and keys, in the order given.
    fn settle(&mut self, ks: &[u32], fresh: Vec<Fresh>) {
        for (&k, f) in ks.iter().zip(fresh) {
            let k = k as usize;
            let old_bin = self.book.bin[k];
            if f.bin != old_bin {
                let p = self.accounts.protocol[k] as usize;
                let agg = &mut self.agg[p];
                agg.count(old_bin, -1.0, Self::positions(&self.book, k));
                agg.count(f.bin, 1.0, Self::positions(&self.book, k));
                self.book.bin[k] = f.bin;
            }
            self.key(k, f.keying);
        }
    }

    /// Whether a price batch can go through the bands (else: [`Live::rebuild`]).
    pub(crate) fn bands_hold(&self) -> bool {
        !self.degenerate
            && self.coords.usable(&self.pricing.prices)
            && self.coords.multipliers_hold(&self.pricing.prices)
    }
}

/// The rule's slack below the exact health factor per protocol: the aave-v3 rule rounds the
/// average threshold down to a whole basis point, at most `1 / (10⁴ · min positive weight)`
/// relative; 0 for the exact rule and vaults.
pub(crate) fn slack(rules: &Rules) -> f64 {
    match rules {
        Rules::Lending {
            rule: cascade_model::HealthFactorRule::AaveV3,
            lt,
            emode,
            ..
        } => {
            let min = lt
                .iter()
                .copied()
                .chain(emode.iter().map(|e| e.0))
                .filter(|&w| w > 0.0)
                .fold(f64::INFINITY, f64::min);
            if min.is_finite() {
                (1.0 / (1e4 * min) + 1e-9).min(1.0)
            } else {
                0.0
            }
        }
        _ => 0.0,
    }
}
