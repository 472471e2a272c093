//! Sixteen lanes of `f64` as two `__m512d` side by side (AVX-512F and AVX-512DQ); masks in a
//! `u16`, lane `j` in bit `j`. Every operation runs on both halves, one after the other, so two
//! independent chains of the kernel's long dependencies (exp, Cody's Horner steps, divisions) are
//! in flight at once.

use super::*;
use std::arch::x86_64::*;

type Z = __m512d;
type V = [Z; 2];
type M = u16;
const L: usize = 16;

/// The half of mask `m` for half `h` of a vector.
#[inline]
fn half(m: M, h: usize) -> __mmask8 {
    (m >> (8 * h)) as __mmask8
}

macro_rules! unary {
    ($name:ident, $op:ident) => {
        #[inline]
        #[target_feature(enable = "avx512f,avx512dq")]
        fn $name(a: V) -> V {
            [$op(a[0]), $op(a[1])]
        }
    };
}
macro_rules! binary {
    ($name:ident, $op:ident) => {
        #[inline]
        #[target_feature(enable = "avx512f,avx512dq")]
        fn $name(a: V, b: V) -> V {
            [$op(a[0], b[0]), $op(a[1], b[1])]
        }
    };
}
macro_rules! compare {
    ($name:ident, $pred:ident) => {
        #[inline]
        #[target_feature(enable = "avx512f,avx512dq")]
        fn $name(a: V, b: V) -> M {
            M::from(_mm512_cmp_pd_mask::<$pred>(a[0], b[0]))
                | M::from(_mm512_cmp_pd_mask::<$pred>(a[1], b[1])) << 8
        }
    };
}
macro_rules! bitwise {
    ($name:ident, $op:ident) => {
        /// `$op` of the bits of `a` and `k`, as 64-bit integers.
        #[inline]
        #[target_feature(enable = "avx512f,avx512dq")]
        fn $name(a: V, k: u64) -> V {
            let k = _mm512_set1_epi64(k as i64);
            a.map(|x| _mm512_castsi512_pd($op(_mm512_castpd_si512(x), k)))
        }
    };
}

#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn splat(x: f64) -> V {
    [_mm512_set1_pd(x); 2]
}
binary!(add, _mm512_add_pd);
binary!(sub, _mm512_sub_pd);
binary!(mul, _mm512_mul_pd);
binary!(div, _mm512_div_pd);
unary!(sqrt, _mm512_sqrt_pd);
unary!(abs, _mm512_abs_pd);
/// `a·b + c`, one rounding.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn fma(a: V, b: V, c: V) -> V {
    [
        _mm512_fmadd_pd(a[0], b[0], c[0]),
        _mm512_fmadd_pd(a[1], b[1], c[1]),
    ]
}
compare!(lt, _CMP_LT_OQ);
compare!(le, _CMP_LE_OQ);
compare!(gt, _CMP_GT_OQ);
compare!(ge, _CMP_GE_OQ);
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn and_m(a: M, b: M) -> M {
    a & b
}
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn any(m: M) -> bool {
    m != 0
}
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn bits(m: M) -> u32 {
    u32::from(m)
}
/// The mask whose lane `j` is bit `j` of `bits`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn mask_of(bits: u32) -> M {
    bits as M
}
/// `m ? a : b`, lane by lane.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn select(m: M, a: V, b: V) -> V {
    [
        _mm512_mask_blend_pd(half(m, 0), b[0], a[0]),
        _mm512_mask_blend_pd(half(m, 1), b[1], a[1]),
    ]
}
bitwise!(add_bits, _mm512_add_epi64);
bitwise!(and_bits, _mm512_and_si512);
bitwise!(or_bits, _mm512_or_si512);
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn shr52(a: V) -> V {
    a.map(|x| _mm512_castsi512_pd(_mm512_srli_epi64::<52>(_mm512_castpd_si512(x))))
}
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn shl52(a: V) -> V {
    a.map(|x| _mm512_castsi512_pd(_mm512_slli_epi64::<52>(_mm512_castpd_si512(x))))
}
/// Eight numbers of `a` from `lo` (at least `lo + 8` long).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn load8(a: &[f64], lo: usize) -> Z {
    let a = &a[lo..lo + 8];
    _mm512_setr_pd(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
}
/// The first `L` numbers of `a` (at least `L` long).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn load_at(a: &[f64]) -> V {
    [load8(a, 0), load8(a, 8)]
}
#[cfg(test)]
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn store(a: &mut [f64; L], v: V) {
    let (lo, hi) = a.split_at_mut(8);
    for (h, half) in [lo, hi].into_iter().enumerate() {
        // SAFETY: `half` is 8 f64s we may write, exactly what the unaligned store writes.
        unsafe { _mm512_storeu_pd(half.as_mut_ptr(), v[h]) }
    }
}

/// Where each of the 40 numbers of 8 options' [`Greeks`] (`#[repr(C)]`: price, delta, gamma,
/// vega, theta, option after option) comes from: output vector `k`, lane `q` is number
/// `m = 8k + q`, field `m % 5` of option `m / 5`. `pair01`/`pair23` index the 16 lanes of
/// (price, delta) and (gamma, vega), `lane` the 8 of theta; `from23` and `from4` mark the lanes
/// taken from the second pair and from theta.
struct Plan {
    pair01: [[i64; 8]; 5],
    pair23: [[i64; 8]; 5],
    lane: [[i64; 8]; 5],
    from23: [__mmask8; 5],
    from4: [__mmask8; 5],
}

const PLAN: Plan = {
    let mut p = Plan {
        pair01: [[0; 8]; 5],
        pair23: [[0; 8]; 5],
        lane: [[0; 8]; 5],
        from23: [0; 5],
        from4: [0; 5],
    };
    let mut k = 0;
    while k < 5 {
        let mut q = 0;
        while q < 8 {
            let m = 8 * k + q;
            let (j, f) = ((m / 5) as i64, m % 5);
            p.lane[k][q] = j;
            p.pair01[k][q] = if f == 1 { j + 8 } else { j };
            p.pair23[k][q] = if f == 3 { j + 8 } else { j };
            if f == 2 || f == 3 {
                p.from23[k] |= 1 << q;
            }
            if f == 4 {
                p.from4[k] |= 1 << q;
            }
            q += 1;
        }
        k += 1;
    }
    p
};

/// The index vector of `a`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn index(a: &[i64; 8]) -> __m512i {
    _mm512_setr_epi64(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
}

/// Whether [`write_block`] may stream into `out`: it starts on a cache line (64 bytes), and so
/// does every block of `L` options after it (`L·40 = 640` bytes).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn can_stream(out: &[Greeks]) -> bool {
    out.as_ptr().align_offset(64) == 0
}

/// Orders the non-temporal stores before every later store.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn store_fence() {
    _mm_sfence();
}

/// `g` = (price, delta, gamma, vega, theta) of `out.len() = L` options into `out`, eight options
/// at a time transposed in registers and written as five vectors — non-temporal with `stream`,
/// which requires `out` to start on a cache line ([`can_stream`]).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn write_block(out: &mut [Greeks], g: [V; 5], stream: bool) {
    let Plan {
        pair01,
        pair23,
        lane,
        from23,
        from4,
    } = PLAN;
    for (h, eight) in out[..L].chunks_exact_mut(8).enumerate() {
        let dst = eight.as_mut_ptr().cast::<f64>();
        for k in 0..5 {
            let a = _mm512_permutex2var_pd(g[0][h], index(&pair01[k]), g[1][h]);
            let b = _mm512_permutex2var_pd(g[2][h], index(&pair23[k]), g[3][h]);
            let c = _mm512_permutexvar_pd(index(&lane[k]), g[4][h]);
            let v = _mm512_mask_blend_pd(from4[k], _mm512_mask_blend_pd(from23[k], a, b), c);
            if stream {
                // SAFETY: as below; and `dst` is on a 64-byte line (`can_stream` on the chunk,
                // which advances by 8·40 = 320 = 5·64 bytes per eight options), so is each
                // `dst + 8k` f64s, as the aligned non-temporal store requires.
                unsafe { _mm512_stream_pd(dst.add(8 * k), v) }
            } else {
                // SAFETY: `Greeks` is `#[repr(C)]` with five `f64` fields and no padding, so
                // `eight`, 8 options we hold exclusively, is 40 contiguous `f64`s; this writes
                // numbers 8k..8k+8 of them (k < 5), unaligned.
                unsafe { _mm512_storeu_pd(dst.add(8 * k), v) }
            }
        }
    }
}

lanes_kernel!("avx512f,avx512dq");
