//! The positions of every account in flat columns (struct of arrays), one slab of adjacent slots per
//! account, and each account's histogram bin. Sums are computed when asked for ([`Book::sums`]).
//!
//! A slot is one position: its asset, the price slot it is valued at (the asset's own, or "par" for
//! a CDP's debt, or "zero"), its side, its effective weight (a lending collateral's effective
//! liquidation threshold, `1/liquidation_ratio` for a vault's collateral, 0 otherwise) and its
//! tokens. An account's slots keep the order its positions were listed or opened in (isolation
//! mode's "first isolated collateral" depends on it). A slab that must grow moves to the end of the
//! columns with twice the room; the columns are compacted when abandoned slots outnumber live ones.

use cascade_model::Side;

/// Per account: `Σ v·w` over collateral (`v = tokens · price`), `Σ v` over collateral with `w > 0`,
/// `Σ v` over all collateral, `Σ v` over debt — USD.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Sums {
    pub weighted: f64,
    pub collateral_weighted: f64,
    pub collateral: f64,
    pub debt: f64,
}

/// What [`Book::set`] changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SetOutcome {
    /// Tokens the account held at (asset, side) before (duplicates summed).
    pub old_tokens: f64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Book {
    /// First slot of each account's slab.
    pub start: Vec<usize>,
    /// Positions of each account.
    pub len: Vec<u32>,
    /// Slots reserved for each account.
    cap: Vec<u32>,
    pub asset: Vec<u32>,
    pub price_ix: Vec<u32>,
    pub side: Vec<Side>,
    pub weight: Vec<f64>,
    pub amount: Vec<f64>,
    /// Slots of abandoned slabs.
    holes: usize,
    /// Histogram bin of the health factor (`NO_BIN`: not counted).
    pub bin: Vec<u8>,
}

impl Book {
    /// The slabs of `accounts` accounts from the snapshot's position rows, each account's rows in
    /// their order (a counting sort by account); weights and price slots are filled in later.
    pub fn new(
        accounts: usize,
        account: &[u32],
        asset: &[u32],
        side: &[Side],
        amount: &[f64],
    ) -> Book {
        let mut start = vec![0usize; accounts + 1];
        for &a in account {
            start[a as usize + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let total = start[accounts];
        let len: Vec<u32> = (0..accounts)
            .map(|k| (start[k + 1] - start[k]) as u32)
            .collect();
        let mut fill = start.clone();
        let mut b = Book {
            asset: vec![0; total],
            price_ix: vec![0; total],
            side: vec![Side::Collateral; total],
            weight: vec![0.0; total],
            amount: vec![0.0; total],
            ..Default::default()
        };
        for r in 0..account.len() {
            let k = &mut fill[account[r] as usize];
            b.asset[*k] = asset[r];
            b.price_ix[*k] = asset[r];
            b.side[*k] = side[r];
            b.amount[*k] = amount[r];
            *k += 1;
        }
        start.pop();
        b.cap = len.clone();
        b.len = len;
        b.start = start;
        b.bin = vec![super::agg::NO_BIN; accounts];
        b
    }

    pub fn accounts(&self) -> usize {
        self.start.len()
    }

    /// An account with no positions, at the end.
    pub fn push_account(&mut self) {
        self.start.push(self.asset.len());
        self.len.push(0);
        self.cap.push(0);
        self.bin.push(super::agg::NO_BIN);
    }

    /// The slots of account `k`.
    #[inline]
    pub fn slots(&self, k: usize) -> std::ops::Range<usize> {
        let s = self.start[k];
        s..s + self.len[k] as usize
    }

    /// Sets account `k`'s position at (`asset`, `side`) to `tokens` valued at price slot
    /// `price_ix`: the first matching slot takes the amount and any duplicate is removed; 0
    /// removes them all; a new position is appended. Weights are the caller's to refresh.
    pub fn set(
        &mut self,
        k: usize,
        asset: u32,
        side: Side,
        tokens: f64,
        price_ix: u32,
    ) -> SetOutcome {
        let mut old = 0.0;
        let kept = tokens > 0.0;
        let mut i = self.start[k];
        let mut end = i + self.len[k] as usize;
        let mut found = false;
        while i < end {
            if self.asset[i] == asset && self.side[i] == side {
                old += self.amount[i];
                if kept && !found {
                    self.amount[i] = tokens;
                    self.price_ix[i] = price_ix;
                    found = true;
                    i += 1;
                } else {
                    self.remove_slot(k, i);
                    end -= 1;
                }
            } else {
                i += 1;
            }
        }
        if kept && !found {
            self.append(k, asset, side, tokens, price_ix);
        }
        SetOutcome { old_tokens: old }
    }

    /// Removes every position of account `k`.
    pub fn clear(&mut self, k: usize) {
        self.len[k] = 0;
    }

    fn remove_slot(&mut self, k: usize, i: usize) {
        let end = self.start[k] + self.len[k] as usize;
        for j in i..end - 1 {
            self.asset[j] = self.asset[j + 1];
            self.price_ix[j] = self.price_ix[j + 1];
            self.side[j] = self.side[j + 1];
            self.weight[j] = self.weight[j + 1];
            self.amount[j] = self.amount[j + 1];
        }
        self.len[k] -= 1;
    }

    fn append(&mut self, k: usize, asset: u32, side: Side, tokens: f64, price_ix: u32) {
        if self.len[k] == self.cap[k] {
            self.grow(k);
        }
        let i = self.start[k] + self.len[k] as usize;
        self.asset[i] = asset;
        self.price_ix[i] = price_ix;
        self.side[i] = side;
        self.weight[i] = 0.0;
        self.amount[i] = tokens;
        self.len[k] += 1;
    }

    /// Moves account `k`'s slab to the end with twice the room (at least 4 slots).
    fn grow(&mut self, k: usize) {
        let live = self.asset.len() - self.holes;
        if self.holes > live && self.holes > 4096 {
            self.compact();
        }
        let (s, n, cap) = (self.start[k], self.len[k] as usize, self.cap[k] as usize);
        let new_cap = (2 * cap).max(4);
        let at = self.asset.len();
        self.asset.extend_from_within(s..s + n);
        self.price_ix.extend_from_within(s..s + n);
        self.side.extend_from_within(s..s + n);
        self.weight.extend_from_within(s..s + n);
        self.amount.extend_from_within(s..s + n);
        self.asset.resize(at + new_cap, 0);
        self.price_ix.resize(at + new_cap, 0);
        self.side.resize(at + new_cap, Side::Collateral);
        self.weight.resize(at + new_cap, 0.0);
        self.amount.resize(at + new_cap, 0.0);
        self.holes += cap;
        self.start[k] = at;
        self.cap[k] = new_cap as u32;
    }

    /// Rewrites the columns without abandoned slots (each slab keeps its room).
    fn compact(&mut self) {
        let total: usize = self.cap.iter().map(|&c| c as usize).sum();
        let mut asset = Vec::with_capacity(total);
        let mut price_ix = Vec::with_capacity(total);
        let mut side = Vec::with_capacity(total);
        let mut weight = Vec::with_capacity(total);
        let mut amount = Vec::with_capacity(total);
        for k in 0..self.start.len() {
            let (s, c) = (self.start[k], self.cap[k] as usize);
            self.start[k] = asset.len();
            asset.extend_from_slice(&self.asset[s..s + c]);
            price_ix.extend_from_slice(&self.price_ix[s..s + c]);
            side.extend_from_slice(&self.side[s..s + c]);
            weight.extend_from_slice(&self.weight[s..s + c]);
            amount.extend_from_slice(&self.amount[s..s + c]);
        }
        self.asset = asset;
        self.price_ix = price_ix;
        self.side = side;
        self.weight = weight;
        self.amount = amount;
        self.holes = 0;
    }

    /// Account `k`'s sums at `prices` (indexed by price slot), collateral and debt each added in
    /// slot order: `v = tokens · price`; collateral adds `v·w` to the weighted sum (and `v` to the
    /// weighted collateral when `w > 0`), as `cascade_protocols::lending::health_factor_with` does.
    #[inline]
    pub fn sums(&self, k: usize, prices: &[f64]) -> Sums {
        let mut s = Sums::default();
        for i in self.slots(k) {
            let v = self.amount[i] * prices[self.price_ix[i] as usize];
            match self.side[i] {
                Side::Collateral => {
                    s.collateral += v;
                    let w = self.weight[i];
                    if w > 0.0 {
                        s.weighted += v * w;
                        s.collateral_weighted += v;
                    }
                }
                Side::Debt => s.debt += v,
            }
        }
        s
    }

    /// Whether account `k` has a slot valued at price slot `p`.
    pub fn holds(&self, k: usize, p: u32) -> bool {
        self.slots(k).any(|i| self.price_ix[i] == p)
    }
}
