//! A learned quantile model (docs/volatility.md#quantile-regression): linear quantile regression of
//! the next horizon's log return on realised volatility and drawdown.
//!
//! At a time `s` (after `s` returns, price `P_s`) the features are
//!
//! ```text
//! x_s = (1, RV_s, DD_s),   RV_s = √((1/k)·Σ_{i=s−k..s−1} r_i²),   DD_s = 1 − P_s / max_{s−k ≤ j ≤ s} P_j
//! ```
//!
//! over the last `k` periods (`feature_window`), and the target is `y_s = r_s + … + r_{s+H−1}`. The
//! `τ`-quantile coefficients minimise the pinball (check) loss
//!
//! ```text
//! L(b) = Σ_s ρ_τ(y_s − x_s·b),   ρ_τ(e) = e·(τ − 1{e < 0}) = τ·e if e ≥ 0, (τ − 1)·e if e < 0
//! ```
//!
//! solved by iteratively reweighted least squares ([`fit`]).

use crate::ModelError;

/// IRLS iterations at most.
pub const IRLS_ITERATIONS: usize = 200;
/// IRLS stops early when no coefficient moves by more than this (relative to 1 + |b|).
pub const IRLS_TOLERANCE: f64 = 1e-12;
/// Default feature window `k`, periods.
pub const DEFAULT_FEATURE_WINDOW: usize = 24;

/// The pinball loss `ρ_τ(e) = e·(τ − 1{e < 0})`.
///
/// # Examples
/// ```
/// use cascade_volatility::quantile::pinball;
/// assert_eq!(pinball(0.1, 2.0), 0.2);
/// assert_eq!(pinball(0.1, -2.0), 1.8);
/// ```
pub fn pinball(tau: f64, e: f64) -> f64 {
    if e < 0.0 {
        (tau - 1.0) * e
    } else {
        tau * e
    }
}

/// The features `(1, RV_s, DD_s)` at time `s` from the prices `prices[0..=s]` and the returns
/// `returns[i] = ln(prices[i+1]/prices[i])`, with a window of `k ≥ 1` periods; `None` when `s < k`.
/// `RV` is per period (log-return units), `DD` a share of the peak price.
///
/// # Examples
/// ```
/// use cascade_volatility::quantile::features;
/// use cascade_volatility::series::log_returns;
/// // prices 100, 110, 99, 99, k = 2 at s = 3: RV = √((ln²0.9 + 0)/2), DD = 1 − 99/110 = 0.1
/// let p = [100.0, 110.0, 99.0, 99.0];
/// let x = features(&p, &log_returns(&p), 3, 2).unwrap();
/// assert!((x[1] - 0.0745011).abs() < 1e-7 && (x[2] - 0.1).abs() < 1e-12);
/// ```
pub fn features(prices: &[f64], returns: &[f64], s: usize, k: usize) -> Option<[f64; 3]> {
    if s < k || k == 0 || s >= prices.len() || s > returns.len() {
        return None;
    }
    let rv = (returns[s - k..s].iter().map(|r| r * r).sum::<f64>() / k as f64).sqrt();
    let peak = prices[s - k..=s].iter().copied().fold(f64::MIN, f64::max);
    Some([1.0, rv, 1.0 - prices[s] / peak])
}

/// Linear `τ`-quantile regression of `y` on the rows of `x` (each row the same length `p`, with its
/// own intercept column if one is wanted): the `b` minimising `Σ ρ_τ(y_i − x_i·b)`.
///
/// Method: iteratively reweighted least squares. Starting from least squares, each iteration solves
/// the weighted normal equations `(Xᵀ W X) b = Xᵀ W y` with
/// `w_i = c_i / max(|e_i|, δ)`, `c_i = τ` if `e_i ≥ 0` else `1 − τ`, `e_i` the residuals of the last
/// `b`, so that `w_i·e_i² = ρ_τ(e_i)` — the weighted squares equal the pinball loss at the last
/// point (Schlossmacher 1973's scheme for L1, made asymmetric). `δ = 10⁻⁶·mean|y|` keeps weights
/// finite at zero residuals. At most [`IRLS_ITERATIONS`] iterations; deterministic. IRLS approaches
/// the solution only to about `δ`; since a solution of the linear programme interpolates `p` of the
/// points, the result is then *polished*: the `p` rows with the smallest absolute residuals are
/// solved exactly (`x_i·b = y_i`) and that `b` is kept if its pinball loss is not larger. A ridge of
/// `10⁻¹²·trace/p` on the diagonal keeps a flat feature (a constant price) from making the system
/// singular.
///
/// # Examples
/// ```
/// use cascade_volatility::quantile::fit;
/// // intercept only: the 0.3-quantile of {5, 1, 4, 2, 3} is the 2nd smallest (n·τ = 1.5 → 2), 2
/// let x = vec![vec![1.0]; 5];
/// let b = fit(&x, &[5.0, 1.0, 4.0, 2.0, 3.0], 0.3).unwrap();
/// assert!((b[0] - 2.0).abs() < 1e-6);
/// ```
pub fn fit(x: &[Vec<f64>], y: &[f64], tau: f64) -> Result<Vec<f64>, ModelError> {
    if !(tau > 0.0 && tau < 1.0) {
        return Err(ModelError::Parameter {
            name: "tau",
            value: tau,
            expected: "a quantile level in (0, 1)",
        });
    }
    let p = x.first().map_or(0, Vec::len);
    if x.len() != y.len() || x.len() < p || p == 0 || x.iter().any(|r| r.len() != p) {
        return Err(ModelError::TooFewReturns {
            what: "quantile regression (rows of equal length, at least as many as coefficients)"
                .into(),
            found: x.len().min(y.len()),
            needed: p.max(1),
        });
    }
    let delta = 1e-6 * y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64 + f64::MIN_POSITIVE;
    let mut w = vec![1.0; y.len()];
    let mut b = weighted_least_squares(x, y, &w)?;
    for _ in 0..IRLS_ITERATIONS {
        for ((wi, xi), yi) in w.iter_mut().zip(x).zip(y) {
            let e = yi - dot(xi, &b);
            let c = if e >= 0.0 { tau } else { 1.0 - tau };
            *wi = c / e.abs().max(delta);
        }
        let next = weighted_least_squares(x, y, &w)?;
        let moved = next
            .iter()
            .zip(&b)
            .any(|(n, o)| (n - o).abs() > IRLS_TOLERANCE * (1.0 + o.abs()));
        b = next;
        if !moved {
            break;
        }
    }
    Ok(polish(x, y, b, tau))
}

/// The polishing step of [`fit`]: the exact fit through the `p` rows closest to `b`, if it is at
/// least as good.
fn polish(x: &[Vec<f64>], y: &[f64], b: Vec<f64>, tau: f64) -> Vec<f64> {
    let p = b.len();
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.sort_by(|&i, &j| {
        let ei = (y[i] - dot(&x[i], &b)).abs();
        let ej = (y[j] - dot(&x[j], &b)).abs();
        ei.total_cmp(&ej).then(i.cmp(&j))
    });
    let rows: Vec<Vec<f64>> = order[..p].iter().map(|&i| x[i].clone()).collect();
    let ys: Vec<f64> = order[..p].iter().map(|&i| y[i]).collect();
    match solve_exact(&rows, &ys) {
        Some(exact) if total_pinball(x, y, &exact, tau) <= total_pinball(x, y, &b, tau) => exact,
        _ => b,
    }
}

/// Solves the square system `rows·b = ys` (no ridge); `None` when singular.
fn solve_exact(rows: &[Vec<f64>], ys: &[f64]) -> Option<Vec<f64>> {
    let p = rows.len();
    let mut a: Vec<Vec<f64>> = rows
        .iter()
        .zip(ys)
        .map(|(r, y)| r.iter().copied().chain([*y]).collect())
        .collect();
    eliminate(&mut a).ok()?;
    let b = back_substitute(&a, p);
    b.iter().all(|v| v.is_finite()).then_some(b)
}

/// The pinball loss `Σ ρ_τ(y_i − x_i·b)` of coefficients `b`.
pub fn total_pinball(x: &[Vec<f64>], y: &[f64], b: &[f64], tau: f64) -> f64 {
    x.iter()
        .zip(y)
        .map(|(xi, yi)| pinball(tau, yi - dot(xi, b)))
        .sum()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `(Xᵀ W X + εI) b = Xᵀ W y` by Gaussian elimination with partial pivoting.
fn weighted_least_squares(x: &[Vec<f64>], y: &[f64], w: &[f64]) -> Result<Vec<f64>, ModelError> {
    let p = x[0].len();
    let mut a = vec![vec![0.0; p + 1]; p];
    for ((xi, yi), wi) in x.iter().zip(y).zip(w) {
        for r in 0..p {
            for c in 0..p {
                a[r][c] += wi * xi[r] * xi[c];
            }
            a[r][p] += wi * xi[r] * yi;
        }
    }
    let ridge = 1e-12 * (0..p).map(|i| a[i][i]).sum::<f64>() / p as f64;
    for (i, row) in a.iter_mut().enumerate() {
        row[i] += ridge;
    }
    eliminate(&mut a)?;
    Ok(back_substitute(&a, p))
}

/// Gaussian elimination with partial pivoting of the augmented `p × (p+1)` matrix `a`, in place,
/// to upper-triangular form.
fn eliminate(a: &mut [Vec<f64>]) -> Result<(), ModelError> {
    let p = a.len();
    for col in 0..p {
        let pivot = (col..p)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        let d = a[col][col];
        if !(d.abs() > 0.0 && d.is_finite()) {
            return Err(ModelError::Singular(format!(
                "normal equations singular at column {col} (a feature constant or collinear over the window)"
            )));
        }
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for row in rest.iter_mut() {
            let f = row[col] / d;
            for (x, y) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * y;
            }
        }
    }
    Ok(())
}

/// Back substitution on an upper-triangular augmented matrix.
fn back_substitute(a: &[Vec<f64>], p: usize) -> Vec<f64> {
    let mut b = vec![0.0; p];
    for r in (0..p).rev() {
        let s: f64 = (r + 1..p).map(|c| a[r][c] * b[c]).sum();
        b[r] = (a[r][p] - s) / a[r][r];
    }
    b
}

#[cfg(test)]
mod tests;
