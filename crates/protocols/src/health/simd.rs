//! The health scan's kernel over blocks of eight rows ([`LANES`](super::LANES)): with AVX-512F,
//! one vector per entry of a block (the block's eight asset indices, their eight prices, the
//! eight weighted amounts); with AVX2, two vectors of four; detected at run time; elsewhere the
//! scalar kernel
//! ([`scan_scalar`](super::scan_scalar)), which does the same operations in the same order, so
//! both give the same bits.

use super::{scan_scalar, Task, LANES};
use crate::options::Kernel;

/// The rows of `t` at `prices` (every asset index of `t` below `prices.len()`; the fewer prices,
/// the faster the AVX-512 kernel picks them) on `kernel`, with
/// non-temporal stores of whole aligned blocks when `stream`; returns the rows below 1.
pub(super) fn scan_blocks(kernel: Kernel, t: &mut Task, prices: &[f64], stream: bool) -> usize {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if kernel.available() => {
            // SAFETY: `available` has just detected AVX-512F (and DQ) on this CPU, the target
            // feature `avx512::scan` is compiled for.
            unsafe { avx512::scan(t, prices, stream) }
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 if kernel.available() => {
            // SAFETY: `available` has just detected AVX2 (and FMA) on this CPU, the target
            // feature `avx2::scan` is compiled for.
            unsafe { avx2::scan(t, prices, stream) }
        }
        _ => scan_scalar(t, prices),
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Task, LANES};

    /// [`super::scan_blocks`] with AVX-512F: the prices held in registers when there are at
    /// most 16 or 32 of them (a permutation picks each lane's price), gathered from memory beyond.
    #[target_feature(enable = "avx512f")]
    pub(super) fn scan(t: &mut Task, prices: &[f64], stream: bool) -> usize {
        if prices.len() <= 16 {
            let table = Table::<2>::new(prices);
            blocks(t, stream, |idx| table.pick(idx))
        } else if prices.len() <= 32 {
            let table = Table::<4>::new(prices);
            blocks(t, stream, |idx| table.pick(idx))
        } else {
            blocks(t, stream, |idx| {
                // SAFETY: every asset index of the task is below `prices.len()` (the caller's
                // contract: `scan_on` checked the largest against it), so the gather reads
                // inside `prices`.
                unsafe { _mm512_i32gather_pd::<8>(idx, prices.as_ptr().cast()) }
            })
        }
    }

    /// The first `8·N` prices in `N` registers (zeros past the end of `prices`).
    struct Table<const N: usize>([__m512d; N]);

    impl<const N: usize> Table<N> {
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn new(prices: &[f64]) -> Self {
            let mut padded = [0.0; 32];
            let n = prices.len().min(8 * N);
            padded[..n].copy_from_slice(&prices[..n]);
            // SAFETY: `padded` holds 32 ≥ 8·N f64, so each load of 8 from `8r` (r < N) is
            // inside it.
            Table(std::array::from_fn(|r| unsafe {
                _mm512_loadu_pd(padded.as_ptr().add(8 * r))
            }))
        }

        /// The prices of eight asset indices, each below `8·N`.
        #[inline]
        #[target_feature(enable = "avx512f")]
        fn pick(&self, idx: __m256i) -> __m512d {
            let idx = _mm512_cvtepu32_epi64(idx);
            let low = _mm512_permutex2var_pd(self.0[0], idx, self.0[1]);
            if N == 2 {
                return low;
            }
            let high = _mm512_permutex2var_pd(self.0[2 % N], idx, self.0[3 % N]);
            let sixteen = _mm512_set1_epi64(16);
            _mm512_mask_blend_pd(_mm512_test_epi64_mask(idx, sixteen), low, high)
        }
    }

    /// The blocks of `t`, `price` giving the eight prices of eight asset indices.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn blocks(t: &mut Task, stream: bool, price: impl Fn(__m256i) -> __m512d) -> usize {
        let c = t.c;
        let lead = t.lead;
        let blocks = t.block_count();
        let zero = _mm512_setzero_pd();
        let one = _mm512_set1_pd(1.0);
        let inf = _mm512_set1_pd(f64::INFINITY);
        let ones = _mm512_set1_epi64(1);
        // Per lane, the rows below 1 (summed at the end: no mask moved out per block).
        let mut below = _mm512_setzero_si512();
        let mut streamed = false;
        for (k, (a, w)) in t.blocks() {
            let mut coll = zero;
            let mut debt = zero;
            for i in 0..c {
                // SAFETY: `a` and `w` hold `LANES·c` items, so items `LANES·i..LANES·(i + 1)`
                // (i < c) are in bounds: eight u32 (32 bytes, an unaligned load) and eight f64.
                let (idx, wi) = unsafe {
                    (
                        _mm256_loadu_si256(a.as_ptr().add(LANES * i).cast()),
                        _mm512_loadu_pd(w.as_ptr().add(LANES * i)),
                    )
                };
                let v = _mm512_mul_pd(wi, price(idx));
                // MAXPD/MINPD return the second operand when the first is NaN, as `f64::max`
                // and `f64::min` return the number.
                coll = _mm512_add_pd(coll, _mm512_max_pd(v, zero));
                debt = _mm512_sub_pd(debt, _mm512_min_pd(v, zero));
            }
            let has_debt = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(debt, zero);
            let hf = _mm512_mask_div_pd(inf, has_debt, coll, debt);
            // Lanes of this block that are rows of the task (output slots `k·LANES + l − lead`):
            // all eight but in the first and last blocks.
            let (first, last) = t.lanes(k, blocks);
            let lanes = ((1u16 << last) - (1u16 << first)) as __mmask8;
            let low = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(hf, one) & lanes;
            below = _mm512_mask_add_epi64(below, low, below, ones);
            if lanes == 0xff {
                let at = k * LANES - lead;
                let dst = t.out[at..at + LANES].as_mut_ptr();
                if stream && dst.align_offset(64) == 0 {
                    // SAFETY: `dst` is eight f64 slots of the output we hold exclusively, on a
                    // 64-byte line, as the aligned non-temporal store requires.
                    unsafe { _mm512_stream_pd(dst, hf) };
                    streamed = true;
                } else {
                    // SAFETY: `dst` is eight f64 slots of the output we hold exclusively.
                    unsafe { _mm512_storeu_pd(dst, hf) };
                }
            } else {
                let mut eight = [0.0; LANES];
                // SAFETY: `eight` is eight f64 of our own.
                unsafe { _mm512_storeu_pd(eight.as_mut_ptr(), hf) };
                t.write_lanes(k, first..last, &eight);
            }
        }
        if streamed {
            // The non-temporal stores are ordered before whatever this thread stores next (the
            // results are read by other threads after rayon's join, which synchronises).
            _mm_sfence();
        }
        _mm512_reduce_add_epi64(below) as usize
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Task, LANES};

    /// [`super::scan_blocks`] with AVX2: each block as two halves of four lanes, the prices
    /// gathered.
    #[target_feature(enable = "avx2")]
    pub(super) fn scan(t: &mut Task, prices: &[f64], stream: bool) -> usize {
        let c = t.c;
        let lead = t.lead;
        let blocks = t.block_count();
        let zero = _mm256_setzero_pd();
        let one = _mm256_set1_pd(1.0);
        let inf = _mm256_set1_pd(f64::INFINITY);
        let mut below = 0;
        let mut streamed = false;
        for (k, (a, w)) in t.blocks() {
            let mut hf = [zero; 2];
            let mut low_bits = 0;
            for (h, hf) in hf.iter_mut().enumerate() {
                let mut coll = zero;
                let mut debt = zero;
                for i in 0..c {
                    let at = LANES * i + 4 * h;
                    // SAFETY: `a` and `w` hold `LANES·c` items, so items `at..at + 4` (i < c,
                    // h < 2) are in bounds: four u32 (16 bytes, an unaligned load) and four
                    // f64. Every asset index of the task is below `prices.len()` (the caller's
                    // contract: `scan_on` checked the largest against it), so the gather reads
                    // inside `prices`.
                    let (p, wi) = unsafe {
                        let idx = _mm_loadu_si128(a.as_ptr().add(at).cast());
                        (
                            _mm256_i32gather_pd::<8>(prices.as_ptr(), idx),
                            _mm256_loadu_pd(w.as_ptr().add(at)),
                        )
                    };
                    let v = _mm256_mul_pd(wi, p);
                    // MAXPD/MINPD return the second operand when the first is NaN, as
                    // `f64::max` and `f64::min` return the number.
                    coll = _mm256_add_pd(coll, _mm256_max_pd(v, zero));
                    debt = _mm256_sub_pd(debt, _mm256_min_pd(v, zero));
                }
                let has_debt = _mm256_cmp_pd::<_CMP_GT_OQ>(debt, zero);
                *hf = _mm256_blendv_pd(inf, _mm256_div_pd(coll, debt), has_debt);
                low_bits |= _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_LT_OQ>(*hf, one)) << (4 * h);
            }
            let (first, last) = t.lanes(k, blocks);
            let lanes = (1 << last) - (1 << first);
            below += (low_bits & lanes).count_ones() as usize;
            if lanes == 0xff {
                let at = k * LANES - lead;
                let dst = t.out[at..at + LANES].as_mut_ptr();
                if stream && dst.align_offset(64) == 0 {
                    // SAFETY: `dst` is eight f64 slots of the output we hold exclusively, on a
                    // 64-byte line, so both halves are on 32 bytes as the aligned non-temporal
                    // store requires.
                    unsafe {
                        _mm256_stream_pd(dst, hf[0]);
                        _mm256_stream_pd(dst.add(4), hf[1]);
                    }
                    streamed = true;
                } else {
                    // SAFETY: `dst` is eight f64 slots of the output we hold exclusively.
                    unsafe {
                        _mm256_storeu_pd(dst, hf[0]);
                        _mm256_storeu_pd(dst.add(4), hf[1]);
                    }
                }
            } else {
                let mut eight = [0.0; LANES];
                // SAFETY: `eight` is eight f64 of our own.
                unsafe {
                    _mm256_storeu_pd(eight.as_mut_ptr(), hf[0]);
                    _mm256_storeu_pd(eight.as_mut_ptr().add(4), hf[1]);
                }
                t.write_lanes(k, first..last, &eight);
            }
        }
        if streamed {
            // As in the AVX-512 kernel.
            _mm_sfence();
        }
        below
    }
}
