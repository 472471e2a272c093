//! Aggregates kept current as accounts are recomputed: per protocol the health-factor histogram
//! (accounts and debt per bin), open accounts and token totals per asset and side; system-wide the
//! set of accounts with `HF < 1`.

/// Health-factor bin edges: bins are `HF < 1`, `[1, 1.05)`, `[1.05, 1.1)`, `[1.1, 1.25)`,
/// `[1.25, 1.5)`, `[1.5, 2)`, `[2, 5)`, `≥ 5`, then accounts without debt (`HF = ∞`).
pub const HF_BIN_EDGES: [f64; 7] = [1.0, 1.05, 1.1, 1.25, 1.5, 2.0, 5.0];
/// Number of histogram bins, the no-debt bin included.
pub const HF_BINS: usize = HF_BIN_EDGES.len() + 2;
/// The bin of accounts without debt.
pub const NO_DEBT_BIN: u8 = (HF_BINS - 1) as u8;
/// Not counted: an account without positions, or of a protocol without incremental health.
pub const NO_BIN: u8 = u8::MAX;

/// The bin of a health factor (∞ → the no-debt bin; NaN → the last finite bin).
#[inline]
pub fn bin_of(hf: f64) -> u8 {
    if hf == f64::INFINITY {
        return NO_DEBT_BIN;
    }
    let mut b = 0u8;
    for e in HF_BIN_EDGES {
        if hf < e {
            return b;
        }
        b += 1;
    }
    b
}

/// A running sum with Neumaier's compensation, so that millions of incremental updates do not
/// drift: the error stays of the order of one rounding of the total.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Neumaier {
    sum: f64,
    comp: f64,
}

impl Neumaier {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }
    #[inline]
    pub fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// One protocol's aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolAgg {
    /// Accounts with at least one position.
    pub open: u64,
    pub hist_accounts: [u64; HF_BINS],
    pub hist_debt: [Neumaier; HF_BINS],
    /// Tokens per price slot: `[collateral, debt]`.
    pub tokens: Vec<[Neumaier; 2]>,
}

impl ProtocolAgg {
    pub fn new(slots: usize) -> Self {
        ProtocolAgg {
            open: 0,
            hist_accounts: [0; HF_BINS],
            hist_debt: [Neumaier::default(); HF_BINS],
            tokens: vec![[Neumaier::default(); 2]; slots],
        }
    }

    /// Moves an account from (`old_bin`, `old_debt`) to (`new_bin`, `new_debt`).
    #[inline]
    pub fn rebin(&mut self, old_bin: u8, old_debt: f64, new_bin: u8, new_debt: f64) {
        if old_bin == new_bin && old_debt == new_debt {
            return;
        }
        if let Some(c) = self.hist_accounts.get_mut(old_bin as usize) {
            *c -= 1;
            self.hist_debt[old_bin as usize].add(-old_debt);
        }
        if let Some(c) = self.hist_accounts.get_mut(new_bin as usize) {
            *c += 1;
            self.hist_debt[new_bin as usize].add(new_debt);
        }
    }
}

/// The accounts with `HF < 1` (under their pool's rule), in no order, with each account's place.
#[derive(Debug, Clone, Default)]
pub struct BelowSet {
    pub members: Vec<u32>,
    /// Place in `members` of each account, `u32::MAX` if absent.
    place: Vec<u32>,
}

impl BelowSet {
    pub fn grow_to(&mut self, accounts: usize) {
        self.place.resize(accounts, u32::MAX);
    }

    #[inline]
    pub fn set(&mut self, k: usize, below: bool) {
        let at = self.place[k];
        match (at != u32::MAX, below) {
            (false, true) => {
                self.place[k] = self.members.len() as u32;
                self.members.push(k as u32);
            }
            (true, false) => {
                let last = self.members.len() - 1;
                self.members.swap(at as usize, last);
                let moved = self.members[at as usize] as usize;
                self.place[moved] = at;
                self.members.pop();
                self.place[k] = u32::MAX;
            }
            _ => {}
        }
    }
}
