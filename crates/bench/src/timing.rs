//! Median-of-N wall-clock timing.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Wall-clock times of repeated runs of one workload, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Number of timed runs.
    pub runs: usize,
    /// The median run: the middle one of the sorted times (the mean of the two middle ones for an
    /// even count).
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
}

impl Timing {
    /// Timing of the given run times (`times` non-empty; an empty slice gives all zeros).
    ///
    /// # Examples
    /// ```
    /// let t = cascade_bench::timing::Timing::of(&[3.0, 1.0, 2.0, 10.0]);
    /// assert_eq!((t.median_s, t.min_s, t.max_s, t.runs), (2.5, 1.0, 10.0, 4));
    /// ```
    pub fn of(times: &[f64]) -> Timing {
        let mut t = times.to_vec();
        t.sort_by(f64::total_cmp);
        let n = t.len();
        let median_s = match n {
            0 => 0.0,
            _ if n % 2 == 1 => t[n / 2],
            _ => 0.5 * (t[n / 2 - 1] + t[n / 2]),
        };
        Timing {
            runs: n,
            median_s,
            min_s: t.first().copied().unwrap_or(0.0),
            max_s: t.last().copied().unwrap_or(0.0),
        }
    }
}

/// Runs `f` `runs` times (at least once), timing each run, and returns the timing and the last
/// run's output (for the sanity checks). Whatever `f` returns is dropped outside the timed region.
pub fn measure<T>(runs: usize, mut f: impl FnMut() -> T) -> (Timing, T) {
    let mut times = Vec::with_capacity(runs.max(1));
    let t0 = Instant::now();
    let mut out = std::hint::black_box(f());
    times.push(t0.elapsed().as_secs_f64());
    for _ in 1..runs {
        let t0 = Instant::now();
        let next = std::hint::black_box(f());
        times.push(t0.elapsed().as_secs_f64());
        // The previous output is dropped here, outside the timed region.
        out = next;
    }
    (Timing::of(&times), out)
}

/// [`measure`] with `before` run untimed before every timed run (e.g. evicting the caches, so a
/// kernel whose data would otherwise stay in the last-level cache is measured from memory).
pub fn measure_after<T>(
    runs: usize,
    mut before: impl FnMut(),
    mut f: impl FnMut() -> T,
) -> (Timing, T) {
    let mut times = Vec::with_capacity(runs.max(1));
    before();
    let t0 = Instant::now();
    let mut out = std::hint::black_box(f());
    times.push(t0.elapsed().as_secs_f64());
    for _ in 1..runs {
        before();
        let t0 = Instant::now();
        let next = std::hint::black_box(f());
        times.push(t0.elapsed().as_secs_f64());
        out = next;
    }
    (Timing::of(&times), out)
}
