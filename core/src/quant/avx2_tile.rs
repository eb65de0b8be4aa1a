//! AVX2 tile dots for prefill: [`TILE_ROWS`] weight rows against [`TILE_TOKENS`] activation
//! rows in one pass, so each weight block is unpacked once for several tokens and each
//! activation block is loaded once for several rows.
//!
//! Every output keeps its own accumulator and sees the same operations, in the same order, as
//! the one-row dot it stands for (`avx2.rs`, llama.cpp's per-row order; Q4_K, whose order is
//! llama.cpp's repacked gemm, has eight-row kernels instead: `avx2_rows8_q4_k`). Integer
//! partial sums are exact, so however they are gathered the floats that follow are the same:
//! a tile changes speed, never a bit.

use std::arch::x86_64::*;

use super::avx2::{dot_u8i8, with_pair_sums};
use super::avx2::{
    f16x, hsum_ps, load_i8x32, load_u8x32, q5_values_unsigned, q6_k_offsets, q6_k_scales16,
    q6_k_values, unpack_nibbles,
};
use super::blocks::{as_blocks, BlockQ4_1, BlockQ5_0, BlockQ6K, BlockQ8K, BlockQ8_0, BlockQ8_1};
use super::dispatch::{has_avx2, Tile, TILE_ROWS as R, TILE_TOKENS as T};

/// How `tile_32` meets a weight block's bytes `a` with the activation bytes `y`.
mod values {
    /// `a` are the values, unsigned (Q4_1).
    pub const UNSIGNED: u8 = 0;
    /// The values are `a - 16` (Q5_0, `a` < 32): `Σ a·y - 16·Σ y` per lane, whose second part
    /// is the activation's alone and so is computed once per token and block.
    pub const MINUS_16: u8 = 1;
    /// `a` are signed (Q8_0): `|a|` meets `y` with `a`'s signs moved onto it.
    pub const SIGNED: u8 = 2;
}

/// One weight block made ready for its tile: its scale broadcast, its min (Q4_1), its bytes
/// (`values`) and, for signed values, their magnitudes.
#[derive(Clone, Copy)]
struct PrepW {
    d: __m256,
    m: f32,
    a: __m256i,
    abs: __m256i,
}

/// `fold_blocks` of `avx2.rs` for a tile: output (t, r) gets `acc = fma(d_r·d_t, lanes, acc)`
/// block by block and ggml's horizontal sum, plus (`MIN`) the scalar `m·s` chain of Q4_1. The
/// integer lanes are exact whatever `V` and `P`, and `d_r·d_t` is the one product ggml rounds,
/// so every output has its one-row dot's bits.
#[inline(always)]
fn tile_32<W, X, const MIN: bool, const V: u8, const P: u8>(
    w: [&[W]; R],
    x: [&[X]; T],
    prep: impl Fn(&W) -> PrepW,
    act: impl Fn(&X) -> (f32, f32, &[i8; 32]),
) -> Tile {
    let nb = w[0].len();
    assert!(w.iter().all(|r| r.len() == nb) && x.iter().all(|t| t.len() == nb));
    // SAFETY: only called from the `with_pair_sums!` tile kernels below, compiled with avx2,
    // fma and f16c (at least) and run after the CPU check.
    unsafe {
        let ones = _mm256_set1_epi8(1);
        let mut acc = [[_mm256_setzero_ps(); R]; T];
        let mut summs = [[0.0f32; R]; T];
        for b in 0..nb {
            let pw: [PrepW; R] = std::array::from_fn(|r| prep(&w[r][b]));
            for t in 0..T {
                let (dx, sx, qx) = act(&x[t][b]);
                let (dx, qx) = (_mm256_set1_ps(dx), load_i8x32(qx));
                // -16·Σy per lane: the start of every row's sum (exact: |Σy| <= 4 · 128).
                let start = if V == values::MINUS_16 {
                    let sums = dot_u8i8::<P>(_mm256_setzero_si256(), ones, qx);
                    _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32::<4>(sums))
                } else {
                    _mm256_setzero_si256()
                };
                for r in 0..R {
                    if MIN {
                        summs[t][r] = pw[r].m.mul_add(sx, summs[t][r]);
                    }
                    let p = if V == values::SIGNED {
                        dot_u8i8::<P>(start, pw[r].abs, _mm256_sign_epi8(qx, pw[r].a))
                    } else {
                        dot_u8i8::<P>(start, pw[r].a, qx)
                    };
                    let d = _mm256_mul_ps(pw[r].d, dx);
                    acc[t][r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[t][r]);
                }
            }
        }
        std::array::from_fn(|t| {
            std::array::from_fn(|r| {
                let s = hsum_ps(acc[t][r]);
                if MIN {
                    s + summs[t][r]
                } else {
                    s
                }
            })
        })
    }
}

/// A weight block's prep: scale `d`, min `m` and bytes `a` (signed ones also get `|a|`).
#[inline(always)]
fn prep(d: f32, m: f32, a: __m256i) -> PrepW {
    // SAFETY: called only inside the avx2 tile kernels (see tile_32).
    unsafe {
        PrepW {
            d: _mm256_set1_ps(d),
            m,
            a,
            abs: _mm256_sign_epi8(a, a),
        }
    }
}

#[inline(always)]
fn act_q8_0(b: &BlockQ8_0) -> (f32, f32, &[i8; 32]) {
    (f16x(b.d), 0.0, &b.qs)
}

#[inline(always)]
fn tile_q4_1<const P: u8>(w: [&[BlockQ4_1]; R], x: [&[BlockQ8_1]; T]) -> Tile {
    // SAFETY: inlined only into the `with_pair_sums!` tile entry points, compiled with avx2,
    // fma and f16c and called after the run-time check.
    unsafe {
        tile_32::<_, _, true, { values::UNSIGNED }, P>(
            w,
            x,
            |b| prep(f16x(b.d), f16x(b.m), unpack_nibbles(&b.qs)),
            |b| (f16x(b.d), f16x(b.s), &b.qs),
        )
    }
}

#[inline(always)]
fn tile_q5_0<const P: u8>(w: [&[BlockQ5_0]; R], x: [&[BlockQ8_0]; T]) -> Tile {
    // SAFETY: inlined only into the `with_pair_sums!` tile entry points, compiled with avx2,
    // fma and f16c and called after the run-time check.
    unsafe {
        tile_32::<_, _, false, { values::MINUS_16 }, P>(
            w,
            x,
            |b| prep(f16x(b.d), 0.0, q5_values_unsigned(&b.qs, b.qh)),
            act_q8_0,
        )
    }
}

#[inline(always)]
fn tile_q8_0<const P: u8>(w: [&[BlockQ8_0]; R], x: [&[BlockQ8_0]; T]) -> Tile {
    // SAFETY: inlined only into the `with_pair_sums!` tile entry points, compiled with avx2,
    // fma and f16c and called after the run-time check.
    unsafe {
        tile_32::<_, _, false, { values::SIGNED }, P>(
            w,
            x,
            |b| prep(f16x(b.d), 0.0, load_i8x32(&b.qs)),
            act_q8_0,
        )
    }
}

/// Q6_K in `avx2::dot_q6_k_q8_k`'s order: per super-block the exact integer lanes (offset
/// first), then one FMA into the output's 8-lane accumulator.
#[target_feature(enable = "avx2,fma,f16c")]
fn tile_q6_k(w: [&[BlockQ6K]; R], x: [&[BlockQ8K]; T]) -> Tile {
    let nb = w[0].len();
    assert!(w.iter().all(|r| r.len() == nb) && x.iter().all(|t| t.len() == nb));
    let mut acc = [[_mm256_setzero_ps(); R]; T];
    for b in 0..nb {
        let bw: [&BlockQ6K; R] = std::array::from_fn(|r| &w[r][b]);
        let bx: [&BlockQ8K; T] = std::array::from_fn(|t| &x[t][b]);
        let scales16: [__m256i; R] = std::array::from_fn(|r| q6_k_scales16(bw[r]));
        let mut sumi: [[__m256i; R]; T] =
            std::array::from_fn(|t| std::array::from_fn(|r| q6_k_offsets(scales16[r], bx[t])));
        for half in 0..2 {
            for r in 0..R {
                let (ql, _) = bw[r].ql.as_chunks::<32>();
                let (ql0, ql1) = (load_u8x32(&ql[2 * half]), load_u8x32(&ql[2 * half + 1]));
                let qh = load_u8x32(&bw[r].qh.as_chunks::<32>().0[half]);
                let v = q6_k_values(ql0, ql1, qh);
                let sc = &bw[r].scales[8 * half..8 * half + 8];
                let scv: [__m256i; 4] = std::array::from_fn(|k| {
                    _mm256_set_m128i(
                        _mm_set1_epi16(sc[2 * k + 1] as i16),
                        _mm_set1_epi16(sc[2 * k] as i16),
                    )
                });
                for t in 0..T {
                    let (y, _) = bx[t].qs.as_chunks::<32>();
                    for k in 0..4 {
                        let yk = load_i8x32(&y[4 * half + k]);
                        let p = _mm256_maddubs_epi16(v[k], yk);
                        sumi[t][r] = _mm256_add_epi32(sumi[t][r], _mm256_madd_epi16(p, scv[k]));
                    }
                }
            }
        }
        for t in 0..T {
            for r in 0..R {
                let d = _mm256_set1_ps(f32::from_le_bytes(bx[t].d) * f16x(bw[r].d));
                acc[t][r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi[t][r]), acc[t][r]);
            }
        }
    }
    std::array::from_fn(|t| std::array::from_fn(|r| hsum_ps(acc[t][r])))
}

// ---------------------------------------------------------------------------------------------
// Safe entry points for the dispatch table: each falls back to the scalar one-row dots.

macro_rules! tile_entry {
    ($name:ident = $fast:ident, $scalar:path) => {
        pub(super) fn $name(n: usize, w: [&[u8]; R], x: [&[u8]; T]) -> Tile {
            if has_avx2() {
                let _ = n;
                // SAFETY: has_avx2() checked at run time that the CPU supports avx2, fma and
                // f16c, the features the callee is compiled with.
                unsafe { $fast(w.map(as_blocks), x.map(as_blocks)) }
            } else {
                super::dispatch::scalar_tile(n, w, x, $scalar)
            }
        }
    };
}

/// Entry points for the 32-value formats, whose pair sums take `vpdpbusd` where the CPU has it
/// (`with_pair_sums!`).
macro_rules! tile_entry_vnni {
    ($name:ident = $generic:ident, $w:ty, $x:ty, $scalar:path) => {
        pub(super) fn $name(n: usize, w_rows: [&[u8]; R], x_rows: [&[u8]; T]) -> Tile {
            let (w, x) = (w_rows.map(as_blocks), x_rows.map(as_blocks));
            with_pair_sums!(
                $generic(w: [&[$w]; R], x: [&[$x]; T]) -> Tile,
                super::dispatch::scalar_tile(n, w_rows, x_rows, $scalar)
            )
        }
    };
}

tile_entry_vnni!(
    tile_q4_1_q8_1 = tile_q4_1,
    BlockQ4_1,
    BlockQ8_1,
    super::q4_1::vec_dot_q4_1_q8_1
);
tile_entry_vnni!(
    tile_q5_0_q8_0 = tile_q5_0,
    BlockQ5_0,
    BlockQ8_0,
    super::q5_0::vec_dot_q5_0_q8_0
);
tile_entry_vnni!(
    tile_q8_0_q8_0 = tile_q8_0,
    BlockQ8_0,
    BlockQ8_0,
    super::q8_0::vec_dot_q8_0_q8_0
);
tile_entry!(tile_q6_k_q8_k = tile_q6_k, super::q6_k::vec_dot_q6_k_q8_k);
