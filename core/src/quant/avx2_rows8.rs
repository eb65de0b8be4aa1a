//! AVX2 dots of eight Q4_0 weight rows at once, in the order of llama.cpp's x86 kernels for
//! Q4_0 weights it repacks eight rows at a time (`q4_0::vec_dot_q4_0_q8_0_repacked`).
//!
//! Each block of the eight rows is transposed in registers (rows in the file's layout) or read
//! with plain loads (rows repacked at load, `q4_0::repack_rows8`) so that 32-bit lane `r`
//! holds four bytes of row `r`; one broadcast activation word then feeds all eight rows, and
//! every output is a single f32 lane: `acc = fma(sum, d_w·d_x, acc)` block by block, which is
//! that order exactly. The nibbles are multiplied unsigned (`q + 8`)
//! and `8 · Σx` is taken back from the exact integer sum, so the floats match to the bit.

use std::arch::x86_64::*;

use super::avx2::{dot_u8i8, f16x, with_pair_sums};
use super::blocks::{as_blocks, BlockQ4_0, BlockQ8_0};
use super::dispatch::{pair_sums, unpacked_rows8, Rows8, REPACK_ROWS as R, TILE_TOKENS};
use super::q4_0::{unpack_rows8, vec_dot_q4_0_q8_0_repacked, ROWS8_BLOCK_BYTES};

/// Sixteen bytes of each of eight rows, transposed by 32-bit words: lane `r` of word `k` holds
/// bytes `4k..4k+4` of row `r`.
#[inline(always)]
pub(super) fn transpose_words(rows: [&[u8; 16]; R]) -> [__m256i; 4] {
    // SAFETY: inlined only into kernels compiled with avx2, which run after has_avx2()
    // confirmed it; each load reads the 16 bytes of a borrowed array.
    unsafe {
        let load = |r: usize| _mm_loadu_si128(rows[r].as_ptr().cast());
        // [row r | row r+4], then a 4x4 transpose of 32-bit words in each 128-bit half.
        let pair =
            |r: usize| _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(load(r)), load(r + 4));
        let (p0, p1, p2, p3) = (pair(0), pair(1), pair(2), pair(3));
        let (lo01, hi01) = (_mm256_unpacklo_epi32(p0, p1), _mm256_unpackhi_epi32(p0, p1));
        let (lo23, hi23) = (_mm256_unpacklo_epi32(p2, p3), _mm256_unpackhi_epi32(p2, p3));
        [
            _mm256_unpacklo_epi64(lo01, lo23),
            _mm256_unpackhi_epi64(lo01, lo23),
            _mm256_unpacklo_epi64(hi01, hi23),
            _mm256_unpackhi_epi64(hi01, hi23),
        ]
    }
}

/// Block `b` of eight rows in the file's layout, transposed: word `k` of the nibbles (lane r =
/// row r, bytes 4k..4k+4) and the eight scales.
#[inline(always)]
fn file_block(w: &[&[BlockQ4_0]; R], b: usize) -> ([__m256i; 4], __m256) {
    let words = transpose_words(std::array::from_fn(|r| &w[r][b].qs));
    let d = |r: usize| u16::from_le_bytes(w[r][b].d) as i16;
    // SAFETY: inlined only into avx2 kernels (see rows8_q4_0).
    let dw = unsafe {
        _mm256_cvtph_ps(_mm_setr_epi16(
            d(0),
            d(1),
            d(2),
            d(3),
            d(4),
            d(5),
            d(6),
            d(7),
        ))
    };
    (words, dw)
}

/// Block `b` of eight rows in the eight-row layout (`q4_0::repack_rows8`): the same as
/// [`file_block`] by plain loads.
#[inline(always)]
fn packed_block(packed: &[u8], b: usize) -> ([__m256i; 4], __m256) {
    let group = &packed[b * ROWS8_BLOCK_BYTES..(b + 1) * ROWS8_BLOCK_BYTES];
    // SAFETY: inlined only into avx2 kernels (see rows8_q4_0); the loads read 16 bytes at 0
    // and 32 at 16 + 32k (k < 4) of the 144-byte `group`.
    unsafe {
        let p = group.as_ptr();
        let words = std::array::from_fn(|k| _mm256_loadu_si256(p.add(16 + 32 * k).cast()));
        (words, _mm256_cvtph_ps(_mm_loadu_si128(p.cast())))
    }
}

/// Eight rows of Q4_0 against `TOK` activation rows; `block(b)` gives block `b` of the rows
/// ([`file_block`] or [`packed_block`]).
#[inline(always)]
fn rows8_q4_0<const P: u8, const TOK: usize>(
    nb: usize,
    block: impl Fn(usize) -> ([__m256i; 4], __m256),
    x: [&[BlockQ8_0]; TOK],
    sums: [&[i32]; TOK],
) -> [Rows8; TOK] {
    assert!(x.iter().all(|t| t.len() == nb) && sums.iter().all(|s| s.len() == nb));
    // SAFETY: inlined only into the `with_pair_sums!` entry points below, compiled with avx2,
    // fma and f16c (at least) and run after the CPU check. Every load reads inside a block
    // borrowed above: 4 bytes at 4k of a 32-byte `qs` (k < 8).
    unsafe {
        let m4 = _mm256_set1_epi8(0x0f);
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); TOK];
        for b in 0..nb {
            let (words, dw) = block(b);
            // Byte j of word k: value 4k+j in its low nibble, value 16+4k+j in its high one.
            let low = words.map(|v| _mm256_and_si256(v, m4));
            let high = words.map(|v| _mm256_and_si256(_mm256_srli_epi16::<4>(v), m4));
            for t in 0..TOK {
                let q = x[t][b].qs.as_ptr();
                let word =
                    |k: usize| _mm256_set1_epi32(q.add(4 * k).cast::<i32>().read_unaligned());
                let unsigned = if P == pair_sums::MADDUBS {
                    // Each i16 lane adds 8 pairs of products of at most 15 · 128: under 2^15.
                    let mut s16 = _mm256_setzero_si256();
                    for (k, (&lo, &hi)) in low.iter().zip(&high).enumerate() {
                        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(lo, word(k)));
                        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi, word(4 + k)));
                    }
                    _mm256_madd_epi16(s16, ones)
                } else {
                    let mut s32 = _mm256_setzero_si256();
                    for (k, (&lo, &hi)) in low.iter().zip(&high).enumerate() {
                        s32 = dot_u8i8::<P>(s32, lo, word(k));
                        s32 = dot_u8i8::<P>(s32, hi, word(4 + k));
                    }
                    s32
                };
                let sum = _mm256_sub_epi32(unsigned, _mm256_set1_epi32(8 * sums[t][b]));
                let d = _mm256_mul_ps(dw, _mm256_set1_ps(f16x(x[t][b].d)));
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), d, acc[t]);
            }
        }
        acc.map(|a| {
            let mut out = [0.0f32; R];
            _mm256_storeu_ps(out.as_mut_ptr(), a);
            out
        })
    }
}

/// Eight rows in the file's layout, all of the same length.
fn file_rows(w: [&[BlockQ4_0]; R]) -> (usize, [&[BlockQ4_0]; R]) {
    let nb = w[0].len();
    assert!(w.iter().all(|r| r.len() == nb));
    (nb, w)
}

#[inline(always)]
fn gemv<const P: u8>(w: [&[BlockQ4_0]; R], x: &[BlockQ8_0], sums: &[i32]) -> Rows8 {
    let (nb, w) = file_rows(w);
    rows8_q4_0::<P, 1>(nb, |b| file_block(&w, b), [x], [sums])[0]
}

#[inline(always)]
fn gemm<const P: u8>(
    w: [&[BlockQ4_0]; R],
    x: [&[BlockQ8_0]; TILE_TOKENS],
    sums: [&[i32]; TILE_TOKENS],
) -> [Rows8; TILE_TOKENS] {
    let (nb, w) = file_rows(w);
    rows8_q4_0::<P, TILE_TOKENS>(nb, |b| file_block(&w, b), x, sums)
}

#[inline(always)]
fn gemv_packed<const P: u8>(packed: &[u8], x: &[BlockQ8_0], sums: &[i32]) -> Rows8 {
    let nb = packed.len() / ROWS8_BLOCK_BYTES;
    rows8_q4_0::<P, 1>(nb, |b| packed_block(packed, b), [x], [sums])[0]
}

#[inline(always)]
fn gemm_packed<const P: u8>(
    packed: &[u8],
    x: [&[BlockQ8_0]; TILE_TOKENS],
    sums: [&[i32]; TILE_TOKENS],
) -> [Rows8; TILE_TOKENS] {
    let nb = packed.len() / ROWS8_BLOCK_BYTES;
    rows8_q4_0::<P, TILE_TOKENS>(nb, |b| packed_block(packed, b), x, sums)
}

/// `Rows8Dots::gemv` for Q4_0 (falls back to one-row dots without AVX2).
pub(super) fn gemv_q4_0_q8_0(n: usize, w_rows: [&[u8]; R], x_row: &[u8], sums: &[i32]) -> Rows8 {
    let (w, x) = (w_rows.map(as_blocks), as_blocks(x_row));
    with_pair_sums!(
        gemv(w: [&[BlockQ4_0]; R], x: &[BlockQ8_0], sums: &[i32]) -> Rows8,
        w_rows.map(|w| vec_dot_q4_0_q8_0_repacked(n, w, x_row))
    )
}

/// `Rows8Dots::gemm` for Q4_0 (falls back to one-row dots without AVX2).
pub(super) fn gemm_q4_0_q8_0(
    n: usize,
    w_rows: [&[u8]; R],
    x_rows: [&[u8]; TILE_TOKENS],
    sums: [&[i32]; TILE_TOKENS],
) -> [Rows8; TILE_TOKENS] {
    let (w, x) = (w_rows.map(as_blocks), x_rows.map(as_blocks));
    with_pair_sums!(
        gemm(w: [&[BlockQ4_0]; R], x: [&[BlockQ8_0]; TILE_TOKENS], sums: [&[i32]; TILE_TOKENS]) -> [Rows8; TILE_TOKENS],
        x_rows.map(|x| w_rows.map(|w| vec_dot_q4_0_q8_0_repacked(n, w, x)))
    )
}

/// `Rows8Packed::gemv` for Q4_0 (falls back to one-row dots without AVX2).
pub(super) fn gemv_q4_0_packed(n: usize, packed: &[u8], x_row: &[u8], sums: &[i32]) -> Rows8 {
    assert_eq!(packed.len(), n / 32 * ROWS8_BLOCK_BYTES);
    let x = as_blocks(x_row);
    with_pair_sums!(
        gemv_packed(packed: &[u8], x: &[BlockQ8_0], sums: &[i32]) -> Rows8,
        unpacked_dots(n, packed, x_row)
    )
}

/// `Rows8Packed::gemm` for Q4_0 (falls back to one-row dots without AVX2).
pub(super) fn gemm_q4_0_packed(
    n: usize,
    packed: &[u8],
    x_rows: [&[u8]; TILE_TOKENS],
    sums: [&[i32]; TILE_TOKENS],
) -> [Rows8; TILE_TOKENS] {
    assert_eq!(packed.len(), n / 32 * ROWS8_BLOCK_BYTES);
    let x = x_rows.map(as_blocks);
    with_pair_sums!(
        gemm_packed(packed: &[u8], x: [&[BlockQ8_0]; TILE_TOKENS], sums: [&[i32]; TILE_TOKENS]) -> [Rows8; TILE_TOKENS],
        x_rows.map(|x| unpacked_dots(n, packed, x))
    )
}

/// The fallbacks' one-row dots of packed rows.
fn unpacked_dots(n: usize, packed: &[u8], x: &[u8]) -> Rows8 {
    let unpack = |p: &[u8], rows: &mut [u8]| unpack_rows8(p, n / 32, rows);
    unpacked_rows8(packed, unpack, x, |w, x| {
        vec_dot_q4_0_q8_0_repacked(n, w, x)
    })
}
