//! The liquidation-price index of one asset (docs/serve-live.md#the-liquidation-ladder): for every
//! account with a net long, liquidation-threshold-weighted exposure to the asset's family, the
//! price of the asset at which the account becomes liquidatable, all other prices held; sorted,
//! with prefix sums of debt, so that "debt liquidatable if the asset drops by d" is two binary
//! searches.
//!
//! **Family.** A ladder's drop moves asset `Y` and every asset whose price is `Y`'s times a
//! constant live (its lst, receipt and bridged derivatives, transitively): stETH and whETH fall with
//! ETH. Every other price is held, LP tokens and issued stables included.
//!
//! **Key.** For an account with (exact rule, USD at current prices) weighted collateral `W`, debt
//! `D`, and in `Y`'s family weighted collateral `C_Y = Σ c·p·w` and debt `D_Y`, the net exposure is
//! `K = C_Y − D_Y`. A drop `d` of the family gives `HF(d) = (W − d·C_Y) / (D − d·D_Y)`, below 1 iff
//! `d > (W − D)/K` when `K > 0` (a drop never hurts an account with `K ≤ 0`). The key is the
//! liquidation price
//!
//! ```text
//! p*_Y = p_Y · (1 − (W − D)/K)        liquidatable iff p_Y·(1 − d) < p*_Y
//! ```
//!
//! which does not depend on `p_Y` itself (`(W − D)/K` scales as `1/p_Y` when only `Y`'s family
//! moves): a price update of `Y` changes no key of `Y`'s index. Keys of accounts whose other prices or
//! positions changed are stale; they are marked and re-keyed on the next query (a merge of the
//! re-keyed entries into the sorted rest), or the index is rebuilt when most of it is stale.
//! Accounts with `p*_Y ≤ 0` (other collateral covers the debt even at a 100% drop) or without debt
//! are left out.
//!
//! **Debt.** Each entry keeps its debt outside the family `D_o` (USD) and in it `δ = D_Y/p_Y`
//! (tokens of `Y`-equivalent), so the debt at the dropped prices is `D_o + (1 − d)·p_Y·δ`, and a
//! range of entries sums as `ΣD_o + (1 − d)·p_Y·Σδ` from the prefix sums.

use super::book::Book;

/// A protocol's entries of one asset index, sorted by key (then account).
#[derive(Debug, Clone, Default)]
pub(crate) struct Sorted {
    key: Vec<f64>,
    acct: Vec<u32>,
    /// Family debt in `Y`-equivalent tokens.
    delta: Vec<f64>,
    /// Debt outside the family, USD.
    other: Vec<f64>,
    /// Prefix sums of `delta` and `other` (one more than entries).
    cum_delta: Vec<f64>,
    cum_other: Vec<f64>,
}

/// One entry before it is sorted in.
#[derive(Debug, Clone, Copy)]
struct Rec {
    key: f64,
    acct: u32,
    delta: f64,
    other: f64,
}

impl Sorted {
    fn from_sorted(recs: impl Iterator<Item = Rec>, n: usize) -> Sorted {
        let mut s = Sorted {
            key: Vec::with_capacity(n),
            acct: Vec::with_capacity(n),
            delta: Vec::with_capacity(n),
            other: Vec::with_capacity(n),
            cum_delta: Vec::with_capacity(n + 1),
            cum_other: Vec::with_capacity(n + 1),
        };
        let (mut cd, mut co) = (0.0, 0.0);
        s.cum_delta.push(0.0);
        s.cum_other.push(0.0);
        for r in recs {
            s.key.push(r.key);
            s.acct.push(r.acct);
            s.delta.push(r.delta);
            s.other.push(r.other);
            cd += r.delta;
            co += r.other;
            s.cum_delta.push(cd);
            s.cum_other.push(co);
        }
        s
    }

    fn len(&self) -> usize {
        self.key.len()
    }

    fn rec(&self, i: usize) -> Rec {
        Rec {
            key: self.key[i],
            acct: self.acct[i],
            delta: self.delta[i],
            other: self.other[i],
        }
    }

    /// Accounts and debt (USD at the dropped prices) of the entries with `t < key ≤ p`, where
    /// `t = p·(1 − d)`: healthy now, liquidatable after the drop.
    pub fn newly(&self, p: f64, d: f64) -> (u64, f64) {
        let t = p * (1.0 - d);
        let lo = self.key.partition_point(|&k| k <= t);
        let hi = self.key.partition_point(|&k| k <= p);
        if hi <= lo {
            return (0, 0.0);
        }
        let other = self.cum_other[hi] - self.cum_other[lo];
        let delta = self.cum_delta[hi] - self.cum_delta[lo];
        ((hi - lo) as u64, other + (1.0 - d) * p * delta)
    }
}

/// Which assets move together in a ladder's drop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Family {
    n: usize,
    /// `member[y·n + a]`: asset `a`'s price is asset `y`'s times a constant.
    member: Vec<bool>,
    /// Per asset `a`: the assets whose family holds `a` (`a` first, then its underlyings).
    pub ancestors: Vec<Vec<u32>>,
    /// Per asset `y`: the assets of its family.
    pub members: Vec<Vec<u32>>,
}

impl Family {
    /// Families from `follows(a)`: the underlying whose price `a`'s is a constant multiple of.
    pub fn new(n: usize, follows: impl Fn(usize) -> Option<usize>) -> Family {
        let mut f = Family {
            n,
            member: vec![false; n * n],
            ancestors: vec![Vec::new(); n],
            members: vec![Vec::new(); n],
        };
        for a in 0..n {
            let mut y = a;
            for _ in 0..=n {
                if f.member[y * n + a] {
                    break; // a cycle (which the loader rejects)
                }
                f.member[y * n + a] = true;
                f.ancestors[a].push(y as u32);
                f.members[y].push(a as u32);
                match follows(y) {
                    Some(u) if u < n => y = u,
                    _ => break,
                }
            }
        }
        f
    }

    /// Whether price slot `a` is in asset `y`'s family (the par and zero slots are in none).
    #[inline]
    pub fn contains(&self, y: usize, a: usize) -> bool {
        a < self.n && self.member[y * self.n + a]
    }
}

/// What an index reads to key an account.
pub(crate) struct IndexCtx<'a> {
    pub book: &'a Book,
    pub prices: &'a [f64],
    pub protocol_of: &'a [u32],
    /// Per protocol: whether its accounts have an incremental health.
    pub tracked: &'a [bool],
    pub family: &'a Family,
    /// Per asset: accounts that may hold it (a superset).
    pub holders: &'a [Vec<u32>],
}

impl IndexCtx<'_> {
    /// Account `k`'s entry in asset `y`'s index, if it has one (module doc).
    fn entry(&self, y: usize, k: usize) -> Option<Rec> {
        let p = *self.protocol_of.get(k)? as usize;
        if !self.tracked.get(p).copied().unwrap_or(false) {
            return None;
        }
        let b = self.book;
        let debt = b.debt[k];
        if debt.is_nan() || debt <= 0.0 {
            return None;
        }
        let (mut exposure, mut family_debt) = (0.0, 0.0);
        for i in b.slots(k) {
            let a = b.price_ix[i] as usize;
            if !self.family.contains(y, a) {
                continue;
            }
            let v = b.amount[i] * self.prices[a];
            match b.side[i] {
                cascade_model::Side::Collateral => exposure += v * b.weight[i],
                cascade_model::Side::Debt => {
                    exposure -= v;
                    family_debt += v;
                }
            }
        }
        let py = self.prices[y];
        if !(exposure > 0.0 && py > 0.0) {
            return None;
        }
        let key = py * (1.0 - (b.weighted[k] - debt) / exposure);
        if !key.is_finite() || key <= 0.0 {
            return None;
        }
        Some(Rec {
            key,
            acct: k as u32,
            delta: family_debt / py,
            other: debt - family_debt,
        })
    }
}

/// The liquidation-price index of one asset, one sorted list per protocol.
#[derive(Debug, Clone, Default)]
pub(crate) struct AssetIndex {
    asset: usize,
    /// False: rebuilt from scratch on the next query.
    built: bool,
    /// Accounts whose entry is stale (bit set) and their list.
    dirty_bits: Vec<u64>,
    dirty: Vec<u32>,
    /// Entries in all.
    entries: usize,
    per_protocol: Vec<Sorted>,
}

/// Above this share of stale entries a repair is a rebuild.
const REBUILD_SHARE: f64 = 0.5;
/// Stale entries always repaired by merging, however small the index.
const MIN_REPAIR: usize = 4096;

impl AssetIndex {
    pub fn new(asset: usize) -> Self {
        AssetIndex {
            asset,
            ..Default::default()
        }
    }

    /// Marks account `k`'s entry stale (a no-op before the first build).
    #[inline]
    pub fn mark(&mut self, k: u32) {
        if !self.built {
            return;
        }
        let (w, bit) = ((k / 64) as usize, 1u64 << (k % 64));
        if w >= self.dirty_bits.len() {
            self.dirty_bits.resize(w + 1, 0);
        }
        if self.dirty_bits[w] & bit != 0 {
            return;
        }
        self.dirty_bits[w] |= bit;
        self.dirty.push(k);
        if self.dirty.len() > MIN_REPAIR
            && self.dirty.len() as f64 > REBUILD_SHARE * self.entries as f64
        {
            self.invalidate();
        }
    }

    /// Drops the index: the next query rebuilds it.
    pub fn invalidate(&mut self) {
        for &k in &self.dirty {
            self.dirty_bits[(k / 64) as usize] = 0;
        }
        self.dirty.clear();
        self.built = false;
        self.per_protocol.clear();
        self.entries = 0;
    }

    /// Whether the index is built (false: the next query rebuilds it).
    #[cfg(test)]
    pub fn is_built(&self) -> bool {
        self.built
    }

    #[inline]
    fn is_dirty(&self, k: u32) -> bool {
        self.dirty_bits
            .get((k / 64) as usize)
            .is_some_and(|w| w & (1u64 << (k % 64)) != 0)
    }

    /// Brings the index up to date: a build, a repair of the stale entries, or nothing.
    pub fn refresh(&mut self, ctx: &IndexCtx) {
        if !self.built {
            self.build(ctx);
        } else if !self.dirty.is_empty() {
            self.repair(ctx);
        }
    }

    fn build(&mut self, ctx: &IndexCtx) {
        let y = self.asset;
        let n_acc = ctx.book.accounts();
        let mut seen = vec![0u64; n_acc.div_ceil(64)];
        let mut per: Vec<Vec<Rec>> = vec![Vec::new(); ctx.tracked.len()];
        for &a in &ctx.family.members[y] {
            for &k in ctx.holders.get(a as usize).map_or(&[][..], |v| &v[..]) {
                let (w, bit) = ((k / 64) as usize, 1u64 << (k % 64));
                if w >= seen.len() || seen[w] & bit != 0 {
                    continue;
                }
                seen[w] |= bit;
                if let Some(r) = ctx.entry(y, k as usize) {
                    per[ctx.protocol_of[k as usize] as usize].push(r);
                }
            }
        }
        self.entries = 0;
        self.per_protocol = per
            .into_iter()
            .map(|mut v| {
                sort_recs(&mut v);
                self.entries += v.len();
                let n = v.len();
                Sorted::from_sorted(v.into_iter(), n)
            })
            .collect();
        for &k in &self.dirty {
            self.dirty_bits[(k / 64) as usize] = 0;
        }
        self.dirty.clear();
        self.built = true;
    }

    /// Re-keys the stale entries and merges them into the sorted rest.
    fn repair(&mut self, ctx: &IndexCtx) {
        let y = self.asset;
        let mut fresh: Vec<Vec<Rec>> = vec![Vec::new(); self.per_protocol.len()];
        for &k in &self.dirty {
            if let Some(r) = ctx.entry(y, k as usize) {
                if let Some(v) = fresh.get_mut(ctx.protocol_of[k as usize] as usize) {
                    v.push(r);
                }
            }
        }
        let mut entries = 0;
        let old = std::mem::take(&mut self.per_protocol);
        let mut merged = Vec::with_capacity(old.len());
        for (s, mut f) in old.into_iter().zip(fresh) {
            sort_recs(&mut f);
            let kept = (0..s.len())
                .filter(|&i| !self.is_dirty(s.acct[i]))
                .map(|i| s.rec(i));
            let n = s.len() + f.len();
            let m = Sorted::from_sorted(MergeBy::new(kept, f.into_iter()), n);
            entries += m.len();
            merged.push(m);
        }
        self.per_protocol = merged;
        self.entries = entries;
        for &k in &self.dirty {
            self.dirty_bits[(k / 64) as usize] = 0;
        }
        self.dirty.clear();
    }

    /// Per protocol: accounts and debt newly liquidatable if the asset (price `p`) drops by `d`.
    /// The index must be fresh ([`AssetIndex::refresh`]).
    pub fn newly(&self, protocol: usize, p: f64, d: f64) -> (u64, f64) {
        self.per_protocol
            .get(protocol)
            .map_or((0, 0.0), |s| s.newly(p, d))
    }
}

fn sort_recs(v: &mut [Rec]) {
    v.sort_unstable_by(|a, b| a.key.total_cmp(&b.key).then(a.acct.cmp(&b.acct)));
}

/// Merges two iterators sorted by (key, account).
struct MergeBy<A: Iterator<Item = Rec>, B: Iterator<Item = Rec>> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A: Iterator<Item = Rec>, B: Iterator<Item = Rec>> MergeBy<A, B> {
    fn new(a: A, b: B) -> Self {
        MergeBy {
            a: a.peekable(),
            b: b.peekable(),
        }
    }
}

impl<A: Iterator<Item = Rec>, B: Iterator<Item = Rec>> Iterator for MergeBy<A, B> {
    type Item = Rec;
    fn next(&mut self) -> Option<Rec> {
        let take_a = match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) => x.key.total_cmp(&y.key).then(x.acct.cmp(&y.acct)).is_le(),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_a {
            self.a.next()
        } else {
            self.b.next()
        }
    }
}
