//! Four lanes of `f64` in a `__m256d` (AVX2 and FMA); masks as all-ones or all-zeros lanes.

use super::*;
use std::arch::x86_64::*;

type V = __m256d;
type M = __m256d;
const L: usize = 4;

#[inline]
#[target_feature(enable = "avx2,fma")]
fn splat(x: f64) -> V {
    _mm256_set1_pd(x)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn add(a: V, b: V) -> V {
    _mm256_add_pd(a, b)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sub(a: V, b: V) -> V {
    _mm256_sub_pd(a, b)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn mul(a: V, b: V) -> V {
    _mm256_mul_pd(a, b)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn div(a: V, b: V) -> V {
    _mm256_div_pd(a, b)
}
/// `a·b + c`, one rounding.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn fma(a: V, b: V, c: V) -> V {
    _mm256_fmadd_pd(a, b, c)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sqrt(a: V) -> V {
    _mm256_sqrt_pd(a)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn abs(a: V) -> V {
    and_bits(a, !(1u64 << 63))
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn lt(a: V, b: V) -> M {
    _mm256_cmp_pd::<_CMP_LT_OQ>(a, b)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn le(a: V, b: V) -> M {
    _mm256_cmp_pd::<_CMP_LE_OQ>(a, b)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn gt(a: V, b: V) -> M {
    _mm256_cmp_pd::<_CMP_GT_OQ>(a, b)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn ge(a: V, b: V) -> M {
    _mm256_cmp_pd::<_CMP_GE_OQ>(a, b)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn and_m(a: M, b: M) -> M {
    _mm256_and_pd(a, b)
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn any(m: M) -> bool {
    _mm256_movemask_pd(m) != 0
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn bits(m: M) -> u32 {
    _mm256_movemask_pd(m) as u32
}
/// `m ? a : b`, lane by lane.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn select(m: M, a: V, b: V) -> V {
    _mm256_blendv_pd(b, a, m)
}
/// The bits of `a` plus `k`, as 64-bit integers.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn add_bits(a: V, k: u64) -> V {
    _mm256_castsi256_pd(_mm256_add_epi64(
        _mm256_castpd_si256(a),
        _mm256_set1_epi64x(k as i64),
    ))
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn and_bits(a: V, k: u64) -> V {
    _mm256_castsi256_pd(_mm256_and_si256(
        _mm256_castpd_si256(a),
        _mm256_set1_epi64x(k as i64),
    ))
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn or_bits(a: V, k: u64) -> V {
    _mm256_castsi256_pd(_mm256_or_si256(
        _mm256_castpd_si256(a),
        _mm256_set1_epi64x(k as i64),
    ))
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn shr52(a: V) -> V {
    _mm256_castsi256_pd(_mm256_srli_epi64::<52>(_mm256_castpd_si256(a)))
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn shl52(a: V) -> V {
    _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_castpd_si256(a)))
}
/// The first `L` numbers of `a` (at least `L` long).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load_at(a: &[f64]) -> V {
    let a = &a[..L];
    _mm256_setr_pd(a[0], a[1], a[2], a[3])
}
/// The mask whose lane `j` is bit `j` of `bits`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn mask_of(bits: u32) -> M {
    let lanes = _mm256_setr_epi64x(1, 2, 4, 8);
    let set = _mm256_and_si256(_mm256_set1_epi64x(i64::from(bits)), lanes);
    _mm256_castsi256_pd(_mm256_cmpeq_epi64(set, lanes))
}
/// Never: this kernel writes through the caches.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn can_stream(_out: &[Greeks]) -> bool {
    false
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn store_fence() {}
/// `g` = (price, delta, gamma, vega, theta) of `out.len() = L` options into `out`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn write_block(out: &mut [Greeks], g: [V; 5], _stream: bool) {
    let mut res = [[0.0f64; L]; 5];
    for (r, v) in res.iter_mut().zip(g) {
        store(r, v);
    }
    for (j, o) in out.iter_mut().enumerate().take(L) {
        *o = Greeks {
            price: res[0][j],
            delta: res[1][j],
            gamma: res[2][j],
            vega: res[3][j],
            theta: res[4][j],
        };
    }
}
#[inline]
#[target_feature(enable = "avx2,fma")]
fn store(a: &mut [f64; L], v: V) {
    // SAFETY: `a` is L = 4 f64s we may write, exactly what the unaligned store writes.
    unsafe { _mm256_storeu_pd(a.as_mut_ptr(), v) }
}

lanes_kernel!("avx2,fma");
