//! AVX2 dots of eight Q4_K weight rows at once, in the order of llama.cpp's x86 gemm for Q4_K
//! weights it repacks eight rows at a time (`q4_k::vec_dot_q4_k_q8_k_gemm`): per 64-value
//! chunk the exact integer dot and min sums, then one FMA each into the dot and the min
//! accumulator, their difference at the end.
//!
//! As for Q4_0 (`avx2_rows8`), 32-bit lane `r` holds row `r`: the nibbles, the 6-bit scales
//! and mins and `d`/`dmin` of the eight rows are transposed in registers, so one broadcast
//! activation word feeds all eight rows and every FMA updates eight outputs. Rows repacked at
//! load (`q4_k::repack_rows8`) are read with plain loads instead, and then also serve the gemv
//! order (one FMA per super-block); rows in the file's layout keep the one-row gemv, for which
//! the transposes cost more than they save.

use std::arch::x86_64::*;

use super::avx2;
use super::avx2_rows8::transpose_words;
use super::blocks::{as_blocks, BlockQ4K, BlockQ8K};
use super::dispatch::{has_avx2, unpacked_rows8, Rows8, REPACK_ROWS as R, TILE_TOKENS as T};
use super::q4_k::{unpack_rows8, vec_dot_q4_k_q8_k_gemm, vec_dot_q4_k_q8_k_gemv};
use super::QK_K;

/// `pshufb` control that puts bytes `a` and `b` of every 32-bit lane, zero-extended, into the
/// lane's low and high 16 bits.
const fn pair_control(a: u8, b: u8) -> [u8; 32] {
    let mut c = [0x80u8; 32];
    let mut i = 0;
    while i < 8 {
        // pshufb indexes within each 128-bit half.
        let base = (i % 4 * 4) as u8;
        c[4 * i] = base + a;
        c[4 * i + 2] = base + b;
        i += 1;
    }
    c
}

/// Byte `s` of each lane in both 16-bit halves: a sub-block scale for `madd` (s < 4).
static SAME: [[u8; 32]; 4] = [
    pair_control(0, 0),
    pair_control(1, 1),
    pair_control(2, 2),
    pair_control(3, 3),
];
/// Bytes `2i` and `2i + 1` of each lane: the mins of a chunk's two sub-blocks (i < 2).
static PAIRS: [[u8; 32]; 2] = [pair_control(0, 1), pair_control(2, 3)];
/// The 32-bit lane of the packed sub-block sums that holds chunk `j`'s two sums.
const CHUNK_SUMS_LANE: [i32; 4] = [0, 1, 4, 5];

/// `d`, `dmin` and the 12 scale bytes of a block: the head its transposed words come from.
#[inline(always)]
fn head(b: &BlockQ4K) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..2].copy_from_slice(&b.d);
    h[2..4].copy_from_slice(&b.dmin);
    h[4..].copy_from_slice(&b.scales);
    h
}

/// Where [`rows8_q4_k`] reads eight rows from: super-block `b`'s head as transposed words
/// (`dm`, then the 12 scale bytes as 3 words) and its nibble piece `p` (bytes 16p..16p+16) as
/// 4 transposed words, lane r = row r.
trait Rows8Q4K {
    fn head(&self, b: usize) -> [__m256i; 4];
    fn piece(&self, b: usize, p: usize) -> [__m256i; 4];
}

/// Rows as the file has them: transposed in registers.
struct FileRows<'a>([&'a [BlockQ4K]; R]);

impl Rows8Q4K for FileRows<'_> {
    #[inline(always)]
    fn head(&self, b: usize) -> [__m256i; 4] {
        let heads: [[u8; 16]; R] = std::array::from_fn(|r| head(&self.0[r][b]));
        transpose_words(std::array::from_fn(|r| &heads[r]))
    }

    #[inline(always)]
    fn piece(&self, b: usize, p: usize) -> [__m256i; 4] {
        transpose_words(std::array::from_fn(|r| {
            &self.0[r][b].qs.as_chunks::<16>().0[p]
        }))
    }
}

/// Rows in the eight-row layout (`q4_k::repack_rows8`): plain loads.
struct PackedRows<'a>(&'a [u8]);

impl PackedRows<'_> {
    /// Words `w..w + 4` of super-block `b`.
    #[inline(always)]
    fn words(&self, b: usize, w: usize) -> [__m256i; 4] {
        let group = &self.0[b * GROUP_BYTES..(b + 1) * GROUP_BYTES];
        let words = &group[32 * w..32 * (w + 4)];
        // SAFETY: inlined only into avx2 kernels (see rows8_q4_k); each load reads 32 bytes
        // inside `words` (128 long).
        std::array::from_fn(|k| unsafe { _mm256_loadu_si256(words[32 * k..].as_ptr().cast()) })
    }
}

impl Rows8Q4K for PackedRows<'_> {
    #[inline(always)]
    fn head(&self, b: usize) -> [__m256i; 4] {
        self.words(b, 0)
    }

    #[inline(always)]
    fn piece(&self, b: usize, p: usize) -> [__m256i; 4] {
        self.words(b, 4 + 4 * p)
    }
}

/// Bytes of one super-block of the eight rows in the eight-row layout.
const GROUP_BYTES: usize = R * 144;

/// Eight rows of Q4_K against `TOK` activation rows: in the gemm order (`PER_CHUNK`: one FMA
/// per 64-value chunk) or the gemv order (one per super-block).
// `b` indexes the rows' source and every activation row alike.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn rows8_q4_k<const TOK: usize, const PER_CHUNK: bool>(
    nb: usize,
    w: &impl Rows8Q4K,
    x: [&[BlockQ8K]; TOK],
) -> [Rows8; TOK] {
    assert!(x.iter().all(|t| t.len() == nb));
    // SAFETY: inlined only into the `avx2,fma,f16c` entry point below, which runs after
    // has_avx2() confirmed those features. Every load reads inside a block borrowed above:
    // the 32 `bsums` bytes, 4 bytes at 64j + 16h + 4k (+ 32) of the 256 `qs` (j < 4, h < 2,
    // k < 4), and the 32-byte control tables.
    unsafe {
        let m4 = _mm256_set1_epi8(0x0f);
        let ones = _mm256_set1_epi16(1);
        let mask = |m: i32| _mm256_set1_epi32(m);
        let control = |c: &[u8; 32]| _mm256_loadu_si256(c.as_ptr().cast());
        let mut acc = [_mm256_setzero_ps(); TOK];
        let mut acc_min = [_mm256_setzero_ps(); TOK];
        for b in 0..nb {
            let [dm, u0, u1, u2] = w.head(b);
            // d and dmin are the low and high f16 of each `dm` lane: eight f32 each.
            let low = _mm256_and_si256(dm, mask(0xffff));
            let halves = _mm256_packus_epi32(low, _mm256_srli_epi32::<16>(dm));
            let halves = _mm256_permute4x64_epi64::<0b11_01_10_00>(halves);
            let d = _mm256_cvtph_ps(_mm256_castsi256_si128(halves));
            let dmin = _mm256_cvtph_ps(_mm256_extracti128_si256::<1>(halves));
            // The 6-bit scales and mins, four bytes per lane (q4_k::scales_mins_k4's masks).
            let top2 = |u: __m256i| {
                _mm256_slli_epi32::<4>(_mm256_and_si256(
                    _mm256_srli_epi32::<6>(u),
                    mask(0x0303_0303),
                ))
            };
            let scales = [
                _mm256_and_si256(u0, mask(0x3f3f_3f3f)),
                _mm256_or_si256(_mm256_and_si256(u2, mask(0x0f0f_0f0f)), top2(u0)),
            ];
            let mins = [
                _mm256_and_si256(u1, mask(0x3f3f_3f3f)),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi32::<4>(u2), mask(0x0f0f_0f0f)),
                    top2(u1),
                ),
            ];
            // Per token: d·dy and dmin·dy for each row, and the sub-block sums of its
            // activations as 16-bit pairs (|sum| <= 32 · 128, so the pack is exact).
            let dy: [__m256; TOK] =
                std::array::from_fn(|t| _mm256_set1_ps(f32::from_le_bytes(x[t][b].d)));
            let d_t = dy.map(|y| _mm256_mul_ps(d, y));
            let dmin_t = dy.map(|y| _mm256_mul_ps(dmin, y));
            let sub_sums: [__m256i; TOK] = std::array::from_fn(|t| {
                let bsums = _mm256_loadu_si256(x[t][b].bsums.as_ptr().cast());
                let s = _mm256_madd_epi16(bsums, ones);
                _mm256_packs_epi32(s, s)
            });
            // The gemv order's per-super-block integer sums.
            let mut dots = [_mm256_setzero_si256(); TOK];
            let mut min_sums = [_mm256_setzero_si256(); TOK];
            for j in 0..4 {
                let (sc, mn) = (scales[j / 2], mins[j / 2]);
                let a = 2 * (j % 2);
                let sc0 = _mm256_shuffle_epi8(sc, control(&SAME[a]));
                let sc1 = _mm256_shuffle_epi8(sc, control(&SAME[a + 1]));
                let mn01 = _mm256_shuffle_epi8(mn, control(&PAIRS[j % 2]));
                // Sub-block 2j from the low nibbles, 2j + 1 from the high ones. Each i16
                // lane adds 16 products of at most 15 · 128: under 2^15.
                let mut s_lo = [_mm256_setzero_si256(); TOK];
                let mut s_hi = [_mm256_setzero_si256(); TOK];
                for h in 0..2 {
                    let words = w.piece(b, 2 * j + h);
                    let lo = words.map(|v| _mm256_and_si256(v, m4));
                    let hi = words.map(|v| _mm256_and_si256(_mm256_srli_epi16::<4>(v), m4));
                    for t in 0..TOK {
                        let y = x[t][b].qs.as_ptr().add(64 * j + 16 * h);
                        let word =
                            |o: usize| _mm256_set1_epi32(y.add(o).cast::<i32>().read_unaligned());
                        for k in 0..4 {
                            s_lo[t] =
                                _mm256_add_epi16(s_lo[t], _mm256_maddubs_epi16(lo[k], word(4 * k)));
                            s_hi[t] = _mm256_add_epi16(
                                s_hi[t],
                                _mm256_maddubs_epi16(hi[k], word(32 + 4 * k)),
                            );
                        }
                    }
                }
                let lane = _mm256_set1_epi32(CHUNK_SUMS_LANE[j]);
                for t in 0..TOK {
                    let dot = _mm256_add_epi32(
                        _mm256_madd_epi16(s_lo[t], sc0),
                        _mm256_madd_epi16(s_hi[t], sc1),
                    );
                    let sums = _mm256_permutevar8x32_epi32(sub_sums[t], lane);
                    let min = _mm256_madd_epi16(mn01, sums);
                    if PER_CHUNK {
                        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), d_t[t], acc[t]);
                        acc_min[t] =
                            _mm256_fmadd_ps(_mm256_cvtepi32_ps(min), dmin_t[t], acc_min[t]);
                    } else {
                        dots[t] = _mm256_add_epi32(dots[t], dot);
                        min_sums[t] = _mm256_add_epi32(min_sums[t], min);
                    }
                }
            }
            if !PER_CHUNK {
                for t in 0..TOK {
                    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots[t]), d_t[t], acc[t]);
                    acc_min[t] =
                        _mm256_fmadd_ps(_mm256_cvtepi32_ps(min_sums[t]), dmin_t[t], acc_min[t]);
                }
            }
        }
        std::array::from_fn(|t| {
            let mut out = [0.0f32; R];
            _mm256_storeu_ps(out.as_mut_ptr(), _mm256_sub_ps(acc[t], acc_min[t]));
            out
        })
    }
}

/// Eight rows in the file's layout, all of the same length.
fn file_rows(w: [&[BlockQ4K]; R]) -> (usize, FileRows<'_>) {
    let nb = w[0].len();
    assert!(w.iter().all(|r| r.len() == nb));
    (nb, FileRows(w))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn gemm(w: [&[BlockQ4K]; R], x: [&[BlockQ8K]; T]) -> [Rows8; T] {
    let (nb, rows) = file_rows(w);
    rows8_q4_k::<T, true>(nb, &rows, x)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn gemm_packed(packed: &[u8], x: [&[BlockQ8K]; T]) -> [Rows8; T] {
    rows8_q4_k::<T, true>(packed.len() / GROUP_BYTES, &PackedRows(packed), x)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn gemv_packed(packed: &[u8], x: &[BlockQ8K]) -> Rows8 {
    rows8_q4_k::<1, false>(packed.len() / GROUP_BYTES, &PackedRows(packed), [x])[0]
}

/// `Rows8Dots::gemv` for Q4_K: the one-row gemv dots (Q8_K carries its own block sums).
pub(super) fn gemv_q4_k_q8_k(n: usize, w: [&[u8]; R], x: &[u8], _sums: &[i32]) -> Rows8 {
    w.map(|w| avx2::vec_dot_q4_k_q8_k_gemv(n, w, x))
}

/// `Rows8Dots::gemm` for Q4_K (falls back to one-row dots without AVX2).
pub(super) fn gemm_q4_k_q8_k(
    n: usize,
    w: [&[u8]; R],
    x: [&[u8]; T],
    _sums: [&[i32]; T],
) -> [Rows8; T] {
    if has_avx2() {
        // SAFETY: has_avx2() checked avx2, fma and f16c, the features `gemm` is compiled with.
        unsafe { gemm(w.map(as_blocks), x.map(as_blocks)) }
    } else {
        x.map(|x| w.map(|w| vec_dot_q4_k_q8_k_gemm(n, w, x)))
    }
}

/// The fallbacks' one-row dots of packed rows, in the order of `dot`.
fn unpacked_dots(n: usize, packed: &[u8], x: &[u8], dot: fn(usize, &[u8], &[u8]) -> f32) -> Rows8 {
    let unpack = |p: &[u8], rows: &mut [u8]| unpack_rows8(p, n / QK_K, rows);
    unpacked_rows8(packed, unpack, x, |w, x| dot(n, w, x))
}

/// `Rows8Packed::gemv` for Q4_K (falls back to one-row dots without AVX2).
pub(super) fn gemv_q4_k_packed(n: usize, packed: &[u8], x: &[u8], _sums: &[i32]) -> Rows8 {
    assert_eq!(packed.len(), n / QK_K * GROUP_BYTES);
    if has_avx2() {
        // SAFETY: has_avx2() checked avx2, fma and f16c, the features `gemv_packed` has.
        unsafe { gemv_packed(packed, as_blocks(x)) }
    } else {
        unpacked_dots(n, packed, x, vec_dot_q4_k_q8_k_gemv)
    }
}

/// `Rows8Packed::gemm` for Q4_K (falls back to one-row dots without AVX2).
pub(super) fn gemm_q4_k_packed(
    n: usize,
    packed: &[u8],
    x: [&[u8]; T],
    _sums: [&[i32]; T],
) -> [Rows8; T] {
    assert_eq!(packed.len(), n / QK_K * GROUP_BYTES);
    if has_avx2() {
        // SAFETY: has_avx2() checked avx2, fma and f16c, the features `gemm_packed` has.
        unsafe { gemm_packed(packed, x.map(as_blocks)) }
    } else {
        x.map(|x| unpacked_dots(n, packed, x, vec_dot_q4_k_q8_k_gemm))
    }
}
