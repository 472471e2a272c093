//! The machine's memory bandwidth, measured STREAM-style (McCalpin's copy and triad kernels) on
//! buffers far larger than any cache, on one thread and on all of rayon's threads.
//!
//! Bytes counted per element as STREAM counts them: copy `c[i] = a[i]` moves 16 (one read, one
//! write), triad `a[i] = b[i] + s·c[i]` moves 24 (two reads, one write); the write-allocate reads a
//! cache may add are not counted, so the figures are comparable with published STREAM results.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::timing::{measure, Timing};

/// Elements per parallel chunk (1 MiB of f64).
const STREAM_CHUNK: usize = 1 << 17;
/// The triad's scalar.
pub const TRIAD_SCALAR: f64 = 3.0;

/// Measured bandwidths, GB/s (10⁹ bytes per second), from the median run of each kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bandwidth {
    /// Elements per array (three f64 arrays).
    pub elements: usize,
    /// Size of one array, MiB.
    pub array_mib: f64,
    pub threads: usize,
    pub copy_1t_gb_s: f64,
    pub triad_1t_gb_s: f64,
    pub copy_all_gb_s: f64,
    pub triad_all_gb_s: f64,
    pub copy_1t: Timing,
    pub triad_1t: Timing,
    pub copy_all: Timing,
    pub triad_all: Timing,
}

impl Bandwidth {
    /// The machine's triad bandwidth: the better of the one-thread and all-threads medians (on a
    /// shared machine the all-threads run can come out lower, when others load the cores).
    pub fn triad_peak_gb_s(&self) -> f64 {
        self.triad_1t_gb_s.max(self.triad_all_gb_s)
    }
}

/// A sanity failure of the kernels.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("STREAM check: element {index}: found {found}, expected {expected}")]
pub struct StreamCheckError {
    pub index: usize,
    pub found: f64,
    pub expected: f64,
}

fn copy_serial(src: &[f64], dst: &mut [f64]) {
    dst.copy_from_slice(src);
}

fn triad_serial(a: &mut [f64], b: &[f64], c: &[f64]) {
    for ((x, &y), &z) in a.iter_mut().zip(b).zip(c) {
        *x = y + TRIAD_SCALAR * z;
    }
}

fn copy_parallel(src: &[f64], dst: &mut [f64]) {
    dst.par_chunks_mut(STREAM_CHUNK)
        .zip(src.par_chunks(STREAM_CHUNK))
        .for_each(|(d, s)| d.copy_from_slice(s));
}

fn triad_parallel(a: &mut [f64], b: &[f64], c: &[f64]) {
    a.par_chunks_mut(STREAM_CHUNK)
        .zip(b.par_chunks(STREAM_CHUNK).zip(c.par_chunks(STREAM_CHUNK)))
        .for_each(|(x, (y, z))| triad_serial(x, y, z));
}

/// Measures copy and triad on three arrays of `elements` f64 each, `runs` times per kernel, single
/// threaded and on all of rayon's threads, and checks the arrays afterwards.
///
/// The arrays are first touched in parallel, so their pages are mapped before any timed run.
pub fn measure_bandwidth(elements: usize, runs: usize) -> Result<Bandwidth, StreamCheckError> {
    let n = elements.max(STREAM_CHUNK);
    let mut a = vec![0.0f64; n];
    let mut b = vec![0.0f64; n];
    let mut c = vec![0.0f64; n];
    a.par_iter_mut().for_each(|x| *x = 1.0);
    b.par_iter_mut().for_each(|x| *x = 2.0);
    c.par_iter_mut().for_each(|x| *x = 0.5);
    let gb = |bytes_per_elem: usize, t: &Timing| {
        (bytes_per_elem * n) as f64 / t.median_s.max(f64::MIN_POSITIVE) / 1e9
    };
    // copy: c = a; triad: a = b + s·c. After any number of rounds of each, with a = 1, b = 2,
    // c = 0.5 at the start: c = a's value before the triads, a = 2 + 3·c.
    let (copy_1t, ()) = measure(runs, || copy_serial(&a, &mut c));
    let (triad_1t, ()) = measure(runs, || triad_serial(&mut a, &b, &c));
    let (copy_all, ()) = measure(runs, || copy_parallel(&a, &mut c));
    let (triad_all, ()) = measure(runs, || triad_parallel(&mut a, &b, &c));
    // c = 2 + 3·1 = 5 (copied after the first triads), a = 2 + 3·5 = 17.
    for index in [0, n / 3, n / 2, n - 1] {
        for (found, expected) in [(c[index], 5.0), (a[index], 17.0)] {
            if found != expected {
                return Err(StreamCheckError {
                    index,
                    found,
                    expected,
                });
            }
        }
    }
    Ok(Bandwidth {
        elements: n,
        array_mib: (8 * n) as f64 / (1024.0 * 1024.0),
        threads: rayon::current_num_threads(),
        copy_1t_gb_s: gb(16, &copy_1t),
        triad_1t_gb_s: gb(24, &triad_1t),
        copy_all_gb_s: gb(16, &copy_all),
        triad_all_gb_s: gb(24, &triad_all),
        copy_1t,
        triad_1t,
        copy_all,
        triad_all,
    })
}

#[cfg(test)]
mod tests;
