//! The accounts a round can skip: those that cannot have fallen below HF 1 since they were last
//! found healthy (docs/lending.md#accounts-a-round-skips). Only under the exact health-factor rule.
//!
//! Between two evaluations every price moves by a ratio `r_a = p_now / p_before`. An account whose
//! positions did not change, holding collateral in the assets `C` and debt in `D`, has
//! `W_now ≥ min_{a∈C} r_a · W_before` and `D_now ≤ max_{a∈D} r_a · D_before`, so
//! `HF_now ≥ HF_before · min_C r / max_D r`. Accounts with the same (`C`, `D`) share a
//! *signature*; the pool keeps, per signature, the product `G` of that factor over its rounds. An
//! account found at `HF = h` when its signature's product was `G₀` stays at HF ≥ 1 while
//! `G ≥ G₀ / h`, and is skipped while `G ≥ (G₀ / h) · (1 + 1e-9)`, a margin far above the rounding
//! of its sums and of the products. A skipped account is one the round would have found healthy and
//! left alone, so results are the same bit for bit.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{Slot, Term};
use crate::par_vec::ParVec;
use cascade_model::Side;

/// The relative margin a bound must clear before an account is skipped.
pub(super) const SKIP_MARGIN: f64 = 1e-9;

/// Which assets a signature's accounts hold on each side: bit `a` for asset `a`, or every asset
/// (pools of snapshots with more than 64 assets use that one signature for every account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AssetSets {
    Bits { collateral: u64, debt: u64 },
    All,
}

/// Each account's signature and the signatures' asset sets; built once per pool, shared by the
/// copies a run makes.
#[derive(Debug, Clone, Default)]
pub(super) struct Signatures {
    of_account: Arc<[u32]>,
    sets: Arc<[AssetSets]>,
}

impl Signatures {
    /// The signatures of the accounts whose slots start at `starts` (`starts[k]..starts[k+1]`).
    pub fn new(slots: &[Slot], terms: &[Term], starts: &[usize], n_assets: usize) -> Signatures {
        let n = starts.len().saturating_sub(1);
        if n_assets > 64 {
            return Signatures {
                of_account: vec![0; n].into(),
                sets: vec![AssetSets::All].into(),
            };
        }
        let mut index: FxHashMap<AssetSets, u32> = FxHashMap::default();
        let mut sets = Vec::new();
        let of_account: Vec<u32> = (0..n)
            .map(|k| {
                let (mut c, mut d) = (0u64, 0u64);
                for s in &slots[starts[k]..starts[k + 1]] {
                    let bit = 1u64 << s.asset;
                    match terms[s.term as usize].side {
                        Side::Collateral => c |= bit,
                        Side::Debt => d |= bit,
                    }
                }
                let key = AssetSets::Bits {
                    collateral: c,
                    debt: d,
                };
                *index.entry(key).or_insert_with(|| {
                    sets.push(key);
                    (sets.len() - 1) as u32
                })
            })
            .collect();
        Signatures {
            of_account: of_account.into(),
            sets: sets.into(),
        }
    }

    /// Account `k`'s signature.
    #[inline]
    pub fn of(&self, k: usize) -> usize {
        self.of_account[k] as usize
    }

    /// The signatures' factors `min_C r / max_D r` for the ratios `r`; 0 where a ratio on either
    /// side is not a finite positive number.
    fn factors(&self, r: &[f64]) -> Vec<f64> {
        let side = |bits: u64, pick: fn(f64, f64) -> f64, start: f64| -> f64 {
            let mut x = start;
            let mut b = bits;
            while b != 0 {
                let a = b.trailing_zeros() as usize;
                let v = r.get(a).copied().unwrap_or(f64::NAN);
                if !(v.is_finite() && v > 0.0) {
                    return f64::NAN;
                }
                x = pick(x, v);
                b &= b - 1;
            }
            x
        };
        self.sets
            .iter()
            .map(|s| {
                let (c, d) = match *s {
                    AssetSets::Bits { collateral, debt } => (collateral, debt),
                    AssetSets::All => {
                        let ok = !r.is_empty() && r.iter().all(|v| v.is_finite() && *v > 0.0);
                        let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = r.iter().copied().fold(0.0, f64::max);
                        return if ok { lo / hi } else { 0.0 };
                    }
                };
                // No collateral: HF 0, never skipped; no debt: HF ∞, the factor does not matter.
                let lo = side(c, f64::min, f64::INFINITY);
                let hi = side(d, f64::max, 0.0);
                let f = if d == 0 { lo.min(1.0) } else { lo / hi };
                if f.is_finite() && f > 0.0 {
                    f
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Per signature the product of the rounds' factors, and per account its key.
#[derive(Debug, Clone, Default)]
pub(super) struct HealthyBound {
    /// Prices of the last evaluation (empty before the first).
    last: Vec<f64>,
    /// `G` per signature; 0 for good once a factor was 0.
    pub factor: Vec<f64>,
    /// Per account: `G₀ / h` from its last evaluation, rounded up to `f32` (∞: evaluate it).
    pub key: ParVec<f32>,
}

impl HealthyBound {
    /// Starts from an evaluation of every account at `prices`: `G = 1` for every signature, the
    /// keys to be filled by the caller.
    pub fn start(&mut self, prices: &[f64], signatures: &Signatures, n: usize) {
        self.last = prices.to_vec();
        self.factor = vec![1.0; signatures.sets.len()];
        self.key = vec![f32::INFINITY; n].into();
    }

    /// Moves to a round at `prices` for a pool of `n` accounts.
    pub fn advance(&mut self, prices: &[f64], signatures: &Signatures, n: usize) {
        match self.factor_at(prices, signatures, n) {
            Some(f) => {
                self.factor = f;
                self.last.clear();
                self.last.extend_from_slice(prices);
            }
            None => self.start(prices, signatures, n),
        }
    }
}

impl HealthyBound {
    /// The products per signature at `prices`, after the last evaluation (without moving there);
    /// `None` before any evaluation.
    pub fn factor_at(&self, prices: &[f64], signatures: &Signatures, n: usize) -> Option<Vec<f64>> {
        if self.key.len() != n || self.last.len() != prices.len() {
            return None;
        }
        let r: Vec<f64> = self
            .last
            .iter()
            .zip(prices)
            .map(|(&before, &now)| if before == now { 1.0 } else { now / before })
            .collect();
        let f = signatures.factors(&r);
        Some(self.factor.iter().zip(f).map(|(g, f)| g * f).collect())
    }
}

/// Whether an account with `key` is certainly at HF ≥ 1 when its signature's product is `factor`.
#[inline]
pub(super) fn skippable(key: f32, factor: f64) -> bool {
    factor > 0.0 && f64::from(key) * (1.0 + SKIP_MARGIN) <= factor
}

/// The key of an account found at HF `hf` when its signature's product was `factor`:
/// `factor / hf` rounded up (so never skipped too early); ∞ unless `hf > 0` and `factor > 0`.
pub(super) fn key_of(factor: f64, hf: f64) -> f32 {
    if !(hf > 0.0 && factor > 0.0) {
        return f32::INFINITY;
    }
    let k = factor / hf;
    let k32 = k as f32;
    if f64::from(k32) < k {
        k32.next_up()
    } else {
        k32
    }
}

#[cfg(test)]
mod tests;
