//! Loss-distribution figures with confidence intervals (docs/monte-carlo.md#confidence-intervals).
//!
//! `VaR_α` is the α-quantile of the losses — the order statistic of rank `⌈α·n⌉` — and `ES_α` the mean
//! of the losses at or beyond it. Confidence intervals (95%): for VaR, distribution-free from order
//! statistics (ranks `n·α ∓ 1.96·√(n·α·(1−α))`); for ES, a seeded percentile bootstrap; for a
//! probability, Wilson's score interval.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Bootstrap resamples for the ES interval.
pub const BOOTSTRAP_RESAMPLES: usize = 200;
/// The normal quantile of a two-sided 95% interval.
const Z_975: f64 = 1.959963984540054;

/// A figure and its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub value: f64,
    pub ci: [f64; 2],
}

/// Index of the α-quantile in a sorted sample of `n` (rank `⌈α·n⌉`, 0-based).
fn quantile_index(n: usize, alpha: f64) -> usize {
    ((alpha * n as f64).ceil() as usize)
        .saturating_sub(1)
        .min(n.saturating_sub(1))
}

/// `VaR_α` of an ascending-sorted sample.
pub fn var(sorted: &[f64], alpha: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[quantile_index(sorted.len(), alpha)]
}

/// `ES_α` of an ascending-sorted sample: the mean of the losses at or beyond `VaR_α` (so `ES ≥ VaR`).
pub fn es(sorted: &[f64], alpha: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let tail = &sorted[quantile_index(sorted.len(), alpha)..];
    tail.iter().sum::<f64>() / tail.len() as f64
}

/// `VaR_α` with its order-statistic interval.
pub fn var_estimate(sorted: &[f64], alpha: f64) -> Estimate {
    let n = sorted.len();
    if n == 0 {
        return Estimate {
            value: 0.0,
            ci: [0.0, 0.0],
        };
    }
    let k = alpha * n as f64;
    let d = Z_975 * (n as f64 * alpha * (1.0 - alpha)).sqrt();
    let lo = ((k - d).floor().max(1.0) as usize - 1).min(n - 1);
    let hi = ((k + d).ceil().max(1.0) as usize - 1).min(n - 1);
    Estimate {
        value: var(sorted, alpha),
        ci: [sorted[lo], sorted[hi]],
    }
}

/// `ES_α` with a percentile-bootstrap interval (`BOOTSTRAP_RESAMPLES` resamples, seeded).
pub fn es_estimate(sorted: &[f64], alpha: f64, seed: u64) -> Estimate {
    let n = sorted.len();
    if n == 0 {
        return Estimate {
            value: 0.0,
            ci: [0.0, 0.0],
        };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut stats = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let mut sample = vec![0.0; n];
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for x in sample.iter_mut() {
            *x = sorted[rng.random_range(0..n)];
        }
        sample.sort_by(f64::total_cmp);
        stats.push(es(&sample, alpha));
    }
    stats.sort_by(f64::total_cmp);
    let lo = stats[quantile_index(stats.len(), 0.025)];
    let hi = stats[quantile_index(stats.len(), 0.975)];
    Estimate {
        value: es(sorted, alpha),
        ci: [lo, hi],
    }
}

/// A probability `k/n` with Wilson's 95% score interval.
pub fn probability(k: usize, n: usize) -> Estimate {
    if n == 0 {
        return Estimate {
            value: 0.0,
            ci: [0.0, 1.0],
        };
    }
    let (p, nf, z2) = (k as f64 / n as f64, n as f64, Z_975 * Z_975);
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = Z_975 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / (1.0 + z2 / nf);
    Estimate {
        value: p,
        ci: [(centre - half).max(0.0), (centre + half).min(1.0)],
    }
}

#[cfg(test)]
mod tests;
