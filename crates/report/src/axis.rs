//! Axis ranges and ticks for the charts, computed here rather than by plotters so that they are
//! total: any `f64` input — finite, huge (`1.7e308`), tiny (`5e-324`), zero, negative, NaN or
//! infinite — gives a finite range and at most [`MAX_TICKS`] finite ticks, with no loop that depends
//! on the data's magnitude. (plotters' own tick search loops forever when a range's width overflows
//! to infinity, which is how a debt of `1.7e308` tokens hung `stress --report`.)

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// The most ticks an axis carries.
pub(crate) const MAX_TICKS: usize = 24;

/// The smallest tick step: far above the subnormals, where `x / step` would lose all precision.
const MIN_STEP: f64 = 1e-300;

/// A tick step is never below this share of the axis's magnitude, so every tick index
/// `k = x / step` is an integer below `1e12`, exact in an `f64`, and consecutive ticks differ.
const REL_STEP: f64 = 1e-12;

/// How many times the step may be enlarged to bring the tick count under [`MAX_TICKS`].
const MAX_WIDENINGS: usize = 16;

/// A chart axis: its range and the values where ticks (and grid lines) go.
///
/// Invariants of [`Axis::nice`], for any input: `lo < hi`, both finite; `ticks` sorted, strictly
/// increasing, finite, between 2 and [`MAX_TICKS`] of them, the first at `lo` and the last at `hi`.
/// For finite input the range covers the data: `lo ≤ min(data)` and `hi ≥ max(data)`.
/// [`Axis::within`] and [`Axis::padded`] keep the ticks inside the range, at most [`MAX_TICKS`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
}

impl Axis {
    /// Decimals a tick label needs so that neighbouring ticks read differently: enough for the
    /// step between ticks (0 for a step of 1 or more, at most 12).
    pub(crate) fn label_decimals(&self) -> usize {
        let step = match self.ticks.as_slice() {
            [a, b, ..] => (b - a).abs(),
            _ => return 2,
        };
        if !(step.is_finite() && step > 0.0) {
            return 2;
        }
        (-step.log10()).ceil().clamp(0.0, 12.0) as usize
    }

    /// An axis covering `[lo, hi]` (either order) with about `target` ticks at round values
    /// (1, 2 or 5 times a power of ten), the range widened to the ticks just outside the data.
    ///
    /// Non-finite bounds fall back: one finite bound is taken as a single value, none gives `[0, 1]`.
    /// A single value (`lo == hi`) is widened by half its magnitude on each side (±1 around zero).
    pub(crate) fn nice(lo: f64, hi: f64, target: usize) -> Axis {
        Axis::nice_with_min_step(lo, hi, target, 0.0)
    }

    /// [`Axis::nice`] with a step of at least `min_step` (e.g. `1.0` for counts and rounds); a
    /// non-finite or non-positive `min_step` is ignored.
    pub(crate) fn nice_with_min_step(lo: f64, hi: f64, target: usize, min_step: f64) -> Axis {
        let (lo, hi) = sanitize(lo, hi);
        // Aim for `target` ticks, leaving room for the two the rounding outwards may add.
        let target = target.clamp(3, MAX_TICKS - 2);
        // Half-widths do not overflow, whatever the signs.
        let half_span = hi / 2.0 - lo / 2.0;
        let magnitude = lo.abs().max(hi.abs());
        let mut raw = half_span / ((target - 1) as f64 / 2.0);
        raw = raw.max(magnitude * REL_STEP).max(MIN_STEP);
        if min_step.is_finite() && min_step > 0.0 {
            raw = raw.max(min_step);
        }
        let mut step = nice_step(raw);
        for _ in 0..MAX_WIDENINGS {
            let (k0, k1) = indices(lo, hi, step);
            if k1 - k0 < MAX_TICKS as f64 {
                return from_indices(k0, k1, step);
            }
            let wider = nice_step(step * 2.0);
            if !(wider.is_finite() && wider > step) {
                break;
            }
            step = wider;
        }
        // Not reached for finite steps (each widening at least doubles the step); kept so the
        // function is total by construction.
        Axis {
            lo,
            hi,
            ticks: vec![lo, hi],
        }
    }
}

impl Axis {
    /// The axis cut to `[lo, hi]` (when finite and increasing): that range, with the ticks inside it
    /// (e.g. rounds 0 to 7 without the tick at 8 a rounded-out range would have).
    pub(crate) fn within(mut self, lo: f64, hi: f64) -> Axis {
        if lo.is_finite() && hi.is_finite() && lo < hi {
            self.lo = lo;
            self.hi = hi;
            self.ticks.retain(|t| *t >= lo && *t <= hi);
        }
        self
    }

    /// The range widened by `pad` on each side (saturating), the ticks unchanged.
    pub(crate) fn padded(mut self, pad: f64) -> Axis {
        if pad.is_finite() && pad > 0.0 {
            self.lo = saturate(self.lo - pad);
            self.hi = saturate(self.hi + pad);
        }
        self
    }
}

/// The tick indices `k0 < k1` with `k0·step ≤ lo` and `k1·step ≥ hi` (checked after rounding).
fn indices(lo: f64, hi: f64, step: f64) -> (f64, f64) {
    let mut k0 = (lo / step).floor();
    if k0 * step > lo {
        k0 -= 1.0;
    }
    let mut k1 = (hi / step).ceil();
    if k1 * step < hi {
        k1 += 1.0;
    }
    (k0, k1.max(k0 + 1.0))
}

/// The axis as a plotters coordinate: its ticks are the key points (bold grid lines and labels; no
/// light lines), and values map to pixels by halves, so the width of `[−f64::MAX, f64::MAX]` does
/// not overflow either. Labels come from the chart's formatter.
impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = (value / 2.0 - self.lo / 2.0) / (self.hi / 2.0 - self.lo / 2.0);
        // Off-axis values land just outside it; NaN at its start.
        let f = if f.is_nan() { 0.0 } else { f.clamp(-1.0, 2.0) };
        let length = f64::from(limit.1) - f64::from(limit.0);
        limit.0 + (length * f + 1e-3).floor() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// A finite, increasing pair from any two `f64`.
fn sanitize(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = match (lo.is_finite(), hi.is_finite()) {
        (true, true) => (lo.min(hi), lo.max(hi)),
        (true, false) => (lo, lo),
        (false, true) => (hi, hi),
        (false, false) => (0.0, 1.0),
    };
    if hi > lo {
        return (lo, hi);
    }
    let d = (lo.abs() * 0.5).max(MIN_STEP);
    let d = if lo == 0.0 { 1.0 } else { d };
    (saturate(lo - d), saturate(hi + d))
}

/// `x`, or `±f64::MAX` when it overflowed.
fn saturate(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else if x > 0.0 {
        f64::MAX
    } else {
        -f64::MAX
    }
}

/// The smallest of 1, 2, 5 × 10^k at or above `raw` (a finite positive number); `raw` itself when
/// that would overflow.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return MIN_STEP;
    }
    let exp = raw.log10().floor() as i32;
    let mag = 10f64.powi(exp);
    // The 0.5 catches a `mag` rounded a hair above `raw`'s power of ten.
    [0.5, 1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| s.is_finite() && *s >= raw)
        .unwrap_or(raw)
}

/// Ticks `k0·step … k1·step` (`k1 − k0 < MAX_TICKS`, both integers below `1e12` in magnitude).
fn from_indices(k0: f64, k1: f64, step: f64) -> Axis {
    let n = (k1 - k0) as usize + 1;
    // `+ 0.0` turns a `-0.0` tick into `0.0`.
    let ticks: Vec<f64> = (0..n)
        .map(|i| saturate((k0 + i as f64) * step) + 0.0)
        .collect();
    let lo = ticks.first().copied().unwrap_or(0.0);
    let hi = ticks.last().copied().unwrap_or(1.0);
    Axis { lo, hi, ticks }
}

#[cfg(test)]
mod tests;
