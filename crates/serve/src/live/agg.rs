//! Aggregates kept current as accounts change: per protocol the health-factor histogram (accounts
//! and tokens per bin), open accounts and token totals per asset and side.

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
    /// Tokens per price slot: `[collateral, debt]`.
    pub tokens: Vec<[Neumaier; 2]>,
    /// Tokens per histogram bin and price slot (`bin · slots + slot`): `[collateral, debt]`, so that
    /// a bin's debt (and the collateral and debt of the accounts below 1) is `Σ tokens · price`.
    pub bin_tokens: Vec<[Neumaier; 2]>,
}

impl ProtocolAgg {
    pub fn new(slots: usize) -> Self {
        ProtocolAgg {
            open: 0,
            hist_accounts: [0; HF_BINS],
            tokens: vec![[Neumaier::default(); 2]; slots],
            bin_tokens: vec![[Neumaier::default(); 2]; slots * HF_BINS],
        }
    }

    fn slots(&self) -> usize {
        self.tokens.len()
    }

    /// Adds (`sign` 1) or removes (−1) an account of bin `bin` with positions `(slot, side, tokens)`.
    #[inline]
    pub fn count(
        &mut self,
        bin: u8,
        sign: f64,
        positions: impl Iterator<Item = (u32, usize, f64)>,
    ) {
        let b = bin as usize;
        if b >= HF_BINS {
            return;
        }
        if sign > 0.0 {
            self.hist_accounts[b] += 1;
        } else {
            self.hist_accounts[b] -= 1;
        }
        let n = self.slots();
        for (slot, side, tokens) in positions {
            self.bin_tokens[b * n + slot as usize][side].add(sign * tokens);
        }
    }

    /// The value of bin `bin`'s tokens at `prices`: (collateral, debt), USD.
    pub fn bin_value(&self, bin: usize, prices: &[f64]) -> (f64, f64) {
        let n = self.slots();
        let (mut c, mut d) = (0.0, 0.0);
        for (slot, t) in self.bin_tokens[bin * n..(bin + 1) * n].iter().enumerate() {
            c += t[0].value() * prices[slot];
            d += t[1].value() * prices[slot];
        }
        (c, d)
    }
}
