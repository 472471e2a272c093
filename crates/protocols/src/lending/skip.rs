//! The accounts a round can skip: those that cannot have fallen below HF 1 since a round found them
//! healthy (docs/lending.md#accounts-a-round-skips). Only under the exact health-factor rule.
//!
//! Between two rounds every price moves by a ratio `r_a = p_now / p_before`. With
//! `dn = min(1, min_a r_a)` and `up = max(1, max_a r_a)`, an account whose positions did not change
//! has `W_now ≥ dn · W_before` and `D_now ≤ up · D_before`, so `HF_now ≥ HF_before · dn / up`.
//! The pool keeps the product `G` of `dn / up` over its rounds; an account found at `HF = h` when
//! the product was `G₀` stays at HF ≥ 1 while `G ≥ G₀ / h`. It is skipped while
//! `G ≥ (G₀ / h) · (1 + 1e-9)`, a margin far above the rounding of its sums and of the product. A
//! skipped account is one the round would have found healthy and left alone, so results are the
//! same bit for bit.

/// The relative margin a bound must clear before an account is skipped.
pub(super) const SKIP_MARGIN: f64 = 1e-9;

/// The product of the rounds' price factors and each account's key.
#[derive(Debug, Clone, Default)]
pub(super) struct HealthyBound {
    /// Prices of the previous round (empty before the first).
    last: Vec<f64>,
    /// `G`: the product of `dn / up` since the first round; 0 for good once a price ratio was not
    /// a finite positive number.
    factor: f64,
    /// Per account: `G₀ / h` from its last evaluation, rounded up to `f32` (∞: evaluate it).
    pub key: Vec<f32>,
}

impl HealthyBound {
    /// Moves to a round at `prices` for a pool of `n` accounts; returns `G`.
    pub fn advance(&mut self, prices: &[f64], n: usize) -> f64 {
        if self.key.len() != n {
            self.key = vec![f32::INFINITY; n];
            self.factor = 1.0;
        } else if self.last.len() == prices.len() {
            let (mut dn, mut up) = (1.0f64, 1.0f64);
            let mut finite = true;
            for (&before, &now) in self.last.iter().zip(prices) {
                if before == now {
                    continue;
                }
                let r = now / before;
                if !(r.is_finite() && r > 0.0) {
                    finite = false;
                    break;
                }
                dn = dn.min(r);
                up = up.max(r);
            }
            self.factor = if finite { self.factor * dn / up } else { 0.0 };
        } else {
            self.factor = 0.0;
        }
        self.last.clear();
        self.last.extend_from_slice(prices);
        self.factor
    }
}

#[cfg(test)]
impl HealthyBound {
    /// `G` as of the last round.
    pub fn factor_now(&self) -> f64 {
        self.factor
    }
}

/// Whether an account with `key` is certainly at HF ≥ 1 when the product is `factor`.
#[inline]
pub(super) fn skippable(key: f32, factor: f64) -> bool {
    factor > 0.0 && f64::from(key) * (1.0 + SKIP_MARGIN) <= factor
}

/// The key of an account found at HF `hf` when the product was `factor`: `factor / hf` rounded
/// up (so never skipped too early); ∞ unless `hf > 0` and `factor > 0`.
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
mod tests {
    use super::*;

    #[test]
    fn the_factor_is_the_product_of_each_round_s_worst_moves() {
        let mut b = HealthyBound::default();
        assert_eq!(b.advance(&[100.0, 1.0, 5.0], 3), 1.0);
        // ETH −20%, the stable +1%: 0.8 / 1.01.
        let g = b.advance(&[80.0, 1.01, 5.0], 3);
        assert!((g - 0.8 / 1.01).abs() < 1e-15);
        // Everything up: dn = 1, up = 1.5.
        let g2 = b.advance(&[120.0, 1.01, 5.0], 3);
        assert!((g2 - g / 1.5).abs() < 1e-15);
        // A price at zero ends skipping for the run.
        assert_eq!(b.advance(&[120.0, 0.0, 5.0], 3), 0.0);
        assert_eq!(b.advance(&[120.0, 1.0, 5.0], 3), 0.0);
    }

    #[test]
    fn an_account_is_skipped_only_while_its_bound_clears_one() {
        // Found at HF 1.25 with G = 1: skipped while G ≥ 0.8 (plus the margin), not at 0.8 exactly.
        let key = key_of(1.0, 1.25);
        assert!(f64::from(key) >= 0.8);
        assert!(skippable(key, 0.81));
        assert!(!skippable(key, 0.8));
        // Below 1, no debt (HF ∞), or a dead factor.
        assert!(!skippable(key_of(1.0, 0.99), 1.0));
        assert!(skippable(key_of(0.5, f64::INFINITY), 1e-300));
        assert_eq!(key_of(0.0, 2.0), f32::INFINITY);
        assert_eq!(key_of(1.0, f64::NAN), f32::INFINITY);
        assert!(!skippable(0.0, 0.0));
    }
}
