//! Q4_K: super-blocks of 256 weights, 4.5 bits each: `d`, `dmin` (f16), 12 bytes packing eight
//! 6-bit scales and eight 6-bit mins (one pair per sub-block of 32), and 128 bytes of nibbles:
//! bytes `32j..32j+32` hold elements `64j..64j+32` in their low nibbles and `64j+32..64j+64` in
//! their high nibbles. Value = `d * sc * q - dmin * m`. Dotted against Q8_K.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`get_scale_min_k4`, `dequantize_row_q4_K`) and
//! `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q4_K_q8_K_generic`).

use super::blocks::{
    as_blocks, as_blocks_mut, f16_le, f16_le_from, BlockQ4K, BlockQ8K, K_SCALE_SIZE,
};
use super::QK_K;

/// The 6-bit scale and min of sub-block `j` (0..8), as ggml's `get_scale_min_k4`.
#[inline(always)]
pub(super) fn scale_min_k4(j: usize, q: &[u8; K_SCALE_SIZE]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// All eight scales and eight mins at once (the same values as `scale_min_k4`, unpacked with
/// 32-bit masks as ggml's SIMD kernels do).
#[inline(always)]
pub(super) fn scales_mins_k4(q: &[u8; K_SCALE_SIZE]) -> ([u8; 8], [u8; 8]) {
    const KMASK1: u32 = 0x3f3f_3f3f;
    const KMASK2: u32 = 0x0f0f_0f0f;
    const KMASK3: u32 = 0x0303_0303;
    let u0 = u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
    let u1 = u32::from_le_bytes([q[4], q[5], q[6], q[7]]);
    let u2 = u32::from_le_bytes([q[8], q[9], q[10], q[11]]);
    let sc_hi = (u2 & KMASK2) | (((u0 >> 6) & KMASK3) << 4);
    let m_hi = ((u2 >> 4) & KMASK2) | (((u1 >> 6) & KMASK3) << 4);
    let (a, b) = ((u0 & KMASK1).to_le_bytes(), sc_hi.to_le_bytes());
    let (c, d) = ((u1 & KMASK1).to_le_bytes(), m_hi.to_le_bytes());
    (
        [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]],
        [c[0], c[1], c[2], c[3], d[0], d[1], d[2], d[3]],
    )
}

/// Packs eight 6-bit scales and mins (the inverse of `scale_min_k4`).
pub(super) fn pack_scales_mins_k4(sc: &[u8; 8], mn: &[u8; 8]) -> [u8; K_SCALE_SIZE] {
    let mut q = [0u8; K_SCALE_SIZE];
    for j in 0..8 {
        let (ls, lm) = (sc[j] & 63, mn[j] & 63);
        if j < 4 {
            q[j] |= ls;
            q[j + 4] |= lm;
        } else {
            q[j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
            q[j - 4] |= (ls >> 4) << 6;
            q[j] |= (lm >> 4) << 6;
        }
    }
    q
}

/// Per sub-block `(scale, min)` so that `x ~= scale * q - min` with `q` in `0..=qmax` and
/// `min >= 0` (ggml clamps the sub-block minimum to at most 0 the same way).
pub(super) fn sub_scale_min(x: &[f32], qmax: f32) -> (f32, f32) {
    let lo = x.iter().fold(0.0f32, |a, &v| a.min(v));
    let hi = x.iter().fold(f32::MIN, |a, &v| a.max(v));
    ((hi - lo).max(0.0) / qmax, -lo)
}

/// Quantizes the super-block scales: `(d, dmin, 6-bit scales, 6-bit mins)`.
pub(super) fn super_scales_k(sc: &[f32; 8], mn: &[f32; 8]) -> (f32, f32, [u8; 8], [u8; 8]) {
    let max_sc = sc.iter().fold(0.0f32, |a, &v| a.max(v));
    let max_mn = mn.iter().fold(0.0f32, |a, &v| a.max(v));
    let inv_sc = if max_sc > 0.0 { 63.0 / max_sc } else { 0.0 };
    let inv_mn = if max_mn > 0.0 { 63.0 / max_mn } else { 0.0 };
    let (mut ls, mut lm) = ([0u8; 8], [0u8; 8]);
    for j in 0..8 {
        ls[j] = ((inv_sc * sc[j]).round_ties_even() as i32).clamp(0, 63) as u8;
        lm[j] = ((inv_mn * mn[j]).round_ties_even() as i32).clamp(0, 63) as u8;
    }
    (max_sc / 63.0, max_mn / 63.0, ls, lm)
}

/// What the min/max K-quantizers of Q4_K and Q5_K share: per super-block of `x`, the f16 `d`
/// and `dmin`, the packed 6-bit sub-block scales and mins, and every value's level in
/// `0..=max_q`, rounded against the stored (f16) scales.
pub(super) struct LevelsK {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; K_SCALE_SIZE],
    pub q: [u8; QK_K],
}

pub(super) fn quantize_levels_k(x: &[f32], max_q: u8) -> LevelsK {
    let (mut sc, mut mn) = ([0f32; 8], [0f32; 8]);
    for (j, xs) in x.chunks_exact(32).enumerate() {
        (sc[j], mn[j]) = sub_scale_min(xs, max_q as f32);
    }
    let (d, dmin, ls, lm) = super_scales_k(&sc, &mn);
    let (d_le, dmin_le) = (f16_le_from(d), f16_le_from(dmin));
    let (d, dmin) = (f16_le(d_le), f16_le(dmin_le));
    let mut q = [0u8; QK_K];
    for (j, (xs, qs)) in x.chunks_exact(32).zip(q.chunks_exact_mut(32)).enumerate() {
        let (ds, ms) = (d * ls[j] as f32, dmin * lm[j] as f32);
        if ds == 0.0 {
            continue;
        }
        for (qv, &v) in qs.iter_mut().zip(xs) {
            *qv = (((v + ms) / ds).round_ties_even() as i32).clamp(0, max_q as i32) as u8;
        }
    }
    LevelsK {
        d: d_le,
        dmin: dmin_le,
        scales: pack_scales_mins_k4(&ls, &lm),
        q,
    }
}

/// Simple min/max reference quantizer (weights, synthetic models and tests). It produces
/// valid Q4_K blocks with ggml's layout but does not run llama.cpp's `make_qkx2_quants`
/// error search, so its bytes are not identical to llama.cpp's `quantize_row_q4_K_ref`.
pub fn quantize_row_q4_k(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK_K, 0);
    debug_assert_eq!(dst.len(), src.len() / QK_K * 144);
    for (x, b) in src.chunks_exact(QK_K).zip(as_blocks_mut::<BlockQ4K>(dst)) {
        let LevelsK { d, dmin, scales, q } = quantize_levels_k(x, 15);
        (b.d, b.dmin, b.scales) = (d, dmin, scales);
        for (j, out) in b.qs.chunks_exact_mut(32).enumerate() {
            for (l, o) in out.iter_mut().enumerate() {
                *o = q[64 * j + l] | (q[64 * j + 32 + l] << 4);
            }
        }
    }
}

/// The eight-row layout that Q4_K matrices (rows a multiple of 8) are repacked into at load for
/// the x86 kernels: `piece(offset in the rows, offset in the layout, length)` for each piece of
/// 8 consecutive rows of `nb` super-blocks (1152 bytes per super-block of the 8, as they took).
/// A block's fields are its 144 bytes in order (`d`, `dmin`, scales, nibbles), read as 36
/// words; per super-block, word `w` of the layout is 32 bytes holding that word of row r at
/// bytes 4r..4r+4. One load then gives a word of all eight rows.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rows8_pieces(nb: usize, mut piece: impl FnMut(usize, usize, usize)) {
    for b in 0..nb {
        let group = b * 8 * 144;
        for r in 0..8 {
            let row = (r * nb + b) * 144;
            for w in 0..36 {
                piece(row + 4 * w, group + 32 * w + 4 * r, 4);
            }
        }
    }
}

/// 8 rows of `nb` super-blocks into their eight-row layout ([`rows8_pieces`]).
#[cfg(target_arch = "x86_64")]
pub fn repack_rows8(rows: &[u8], nb: usize, out: &mut [u8]) {
    assert!(rows.len() == 8 * nb * 144 && out.len() == rows.len());
    rows8_pieces(nb, |r, g, n| out[g..g + n].copy_from_slice(&rows[r..r + n]));
}

/// The inverse of [`repack_rows8`].
#[cfg(target_arch = "x86_64")]
pub fn unpack_rows8(packed: &[u8], nb: usize, rows: &mut [u8]) {
    assert!(packed.len() == 8 * nb * 144 && rows.len() == packed.len());
    rows8_pieces(nb, |r, g, n| {
        rows[r..r + n].copy_from_slice(&packed[g..g + n])
    });
}

/// The 4-bit value of element `e` (0..256).
#[inline(always)]
fn q4(b: &BlockQ4K, e: usize) -> u8 {
    let byte = b.qs[32 * (e / 64) + e % 32];
    if e % 64 < 32 {
        byte & 0x0f
    } else {
        byte >> 4
    }
}

pub fn dequantize_row_q4_k(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(src.len(), dst.len() / QK_K * 144);
    dequantize_scale_min(
        as_blocks::<BlockQ4K>(src),
        dst,
        |b| (b.d, b.dmin, &b.scales),
        q4,
    );
}

/// Shared by Q4_K and Q5_K: eight sub-blocks of 32, each `y = d·sc·q − dmin·m` with 6-bit
/// `sc`, `m` from the packed scales; `q(block, e)` reads element `e`'s quant.
pub(super) fn dequantize_scale_min<B>(
    blocks: &[B],
    dst: &mut [f32],
    header: impl Fn(&B) -> ([u8; 2], [u8; 2], &[u8; K_SCALE_SIZE]),
    q: impl Fn(&B, usize) -> u8,
) {
    debug_assert_eq!(dst.len(), blocks.len() * QK_K);
    for (b, y) in blocks.iter().zip(dst.chunks_exact_mut(QK_K)) {
        let (d, dmin, scales) = header(b);
        let (d, min) = (f16_le(d), f16_le(dmin));
        for (s, ys) in y.chunks_exact_mut(32).enumerate() {
            let (sc, m) = scale_min_k4(s, scales);
            let (ds, ms) = (d * sc as f32, min * m as f32);
            for (l, yv) in ys.iter_mut().enumerate() {
                *yv = ds * q(b, 32 * s + l) as f32 - ms;
            }
        }
    }
}

/// Scalar spec of the Q4_K x Q8_K dot product over `n` elements. The min term uses the
/// activations' `bsums`.
pub fn vec_dot_q4_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK_K, 0);
    debug_assert_eq!(w.len(), n / QK_K * 144);
    debug_assert_eq!(x.len(), n / QK_K * 292);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ4K>(w)
        .iter()
        .zip(as_blocks::<BlockQ8K>(x))
    {
        let (dots, mins) = chunk_sums(bw, bx);
        let (sumi, summ) = (dots.iter().sum::<i32>(), mins.iter().sum::<i32>());
        let yd = f32::from_le_bytes(bx.d);
        sumf += yd * f16_le(bw.d) * sumi as f32 - yd * f16_le(bw.dmin) * summ as f32;
    }
    sumf
}

/// Integer parts of one super-block, per 64-value chunk `j` (sub-blocks 2j and 2j+1):
/// `Σ sc·(q·y)` and the min term `Σ m·bsum`. Exact, so any summation order gives these values.
pub(super) fn chunk_sums(bw: &BlockQ4K, bx: &BlockQ8K) -> ([i32; 4], [i32; 4]) {
    let (sc, mn) = scales_mins_k4(&bw.scales);
    let mut dots = [0i32; 4];
    for (j, (q, y)) in bw
        .qs
        .chunks_exact(32)
        .zip(bx.qs.chunks_exact(64))
        .enumerate()
    {
        let (y0, y1) = y.split_at(32);
        let (mut s0, mut s1) = (0i32, 0i32);
        for l in 0..32 {
            s0 += (q[l] & 0x0f) as i32 * y0[l] as i32;
            s1 += (q[l] >> 4) as i32 * y1[l] as i32;
        }
        dots[j] = sc[2 * j] as i32 * s0 + sc[2 * j + 1] as i32 * s1;
    }
    (dots, chunk_min_sums(&mn, &sub_block_sums(bx)))
}

/// The activation sums a Q4_K min multiplies: per 32-value sub-block, the sum of its two
/// 16-value `bsums`. Per activation block, so a tile shares it between weight rows.
#[inline(always)]
pub(super) fn sub_block_sums(bx: &BlockQ8K) -> [i32; 8] {
    std::array::from_fn(|s| bx.bsum(2 * s) + bx.bsum(2 * s + 1))
}

/// The min terms of a super-block per 64-value chunk `j`: `Σ m·bsum` over sub-blocks 2j and
/// 2j+1 (exact integers), from [`sub_block_sums`].
#[inline(always)]
pub(super) fn chunk_min_sums(mn: &[u8; 8], sums: &[i32; 8]) -> [i32; 4] {
    std::array::from_fn(|j| mn[2 * j] as i32 * sums[2 * j] + mn[2 * j + 1] as i32 * sums[2 * j + 1])
}

/// The float part of llama.cpp's x86 kernels for Q4_K weights repacked 8 rows at a time
/// (what it does whenever the row count is a multiple of 8): two accumulators, fused
/// multiply-adds of the exact integer sums by `d·dy` and `dmin·dy`, their difference at the end.
/// Its 4-row gemm adds once per 64-value chunk (`per_chunk`); its 1-row gemv once per super-block.
/// Always inlined, so the AVX2 caller's FMA feature applies to the `mul_add`s.
#[inline(always)]
pub(super) fn fold_repacked(
    w: &[BlockQ4K],
    x: &[BlockQ8K],
    per_chunk: bool,
    sums: impl Fn(&BlockQ4K, &BlockQ8K) -> ([i32; 4], [i32; 4]),
) -> f32 {
    let mut acc = [0.0f32; 2];
    for (bw, bx) in w.iter().zip(x) {
        fold_repacked_block(&mut acc, bw, bx, sums(bw, bx), per_chunk);
    }
    acc[0] - acc[1]
}

/// One super-block of [`fold_repacked`]: its integer `(dots, mins)` into `acc` (the dot and
/// the min accumulators). Inlined, so the caller's FMA feature applies.
#[inline(always)]
pub(super) fn fold_repacked_block(
    acc: &mut [f32; 2],
    bw: &BlockQ4K,
    bx: &BlockQ8K,
    (dots, mins): ([i32; 4], [i32; 4]),
    per_chunk: bool,
) {
    let yd = f32::from_le_bytes(bx.d);
    let (d, dmin) = (f16_le(bw.d) * yd, f16_le(bw.dmin) * yd);
    if per_chunk {
        for (&s, &m) in dots.iter().zip(&mins) {
            acc[0] = (s as f32).mul_add(d, acc[0]);
            acc[1] = (m as f32).mul_add(dmin, acc[1]);
        }
    } else {
        acc[0] = (dots.iter().sum::<i32>() as f32).mul_add(d, acc[0]);
        acc[1] = (mins.iter().sum::<i32>() as f32).mul_add(dmin, acc[1]);
    }
}

/// Q4_K · Q8_K in the order of llama.cpp's repacked x86 gemv (a lone activation row).
pub fn vec_dot_q4_k_q8_k_gemv(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 144, n / QK_K * 292));
    fold_repacked(as_blocks(w), as_blocks(x), false, chunk_sums)
}

/// Q4_K · Q8_K in the order of llama.cpp's repacked x86 gemm (rows in groups of four).
pub fn vec_dot_q4_k_q8_k_gemm(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 144, n / QK_K * 292));
    fold_repacked(as_blocks(w), as_blocks(x), true, chunk_sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn repack_rows8_moves_every_byte_and_unpack_undoes_it() {
        let nb = 3;
        let rows: Vec<u8> = (0..8 * nb * 144).map(|i| (i * 7 % 251) as u8).collect();
        let (mut packed, mut back) = (vec![0; rows.len()], vec![0; rows.len()]);
        repack_rows8(&rows, nb, &mut packed);
        // Word 5 (nibble bytes 4..8) of row 3, super-block 1, lies at 32·5 + 4·3 of group 1.
        let at = |r: usize, b: usize, byte: usize| (r * nb + b) * 144 + byte;
        assert_eq!(packed[1152 + 160 + 12..][..4], rows[at(3, 1, 20)..][..4]);
        let mut sorted = packed.clone();
        sorted.sort_unstable();
        let mut want = rows.clone();
        want.sort_unstable();
        assert_eq!(sorted, want, "a permutation");
        unpack_rows8(&packed, nb, &mut back);
        assert_eq!(back, rows);
    }

    #[test]
    fn pack_scales_mins_k4_round_trips() {
        let sc = [0, 1, 17, 63, 32, 5, 48, 63];
        let mn = [63, 2, 0, 31, 16, 33, 1, 62];
        let q = pack_scales_mins_k4(&sc, &mn);
        for j in 0..8 {
            assert_eq!(scale_min_k4(j, &q), (sc[j], mn[j]));
        }
    }

    #[test]
    fn scales_mins_k4_matches_get_scale_min_k4() {
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..1000 {
            let mut q = [0u8; K_SCALE_SIZE];
            for b in q.iter_mut() {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (state >> 56) as u8;
            }
            let (sc, m) = scales_mins_k4(&q);
            for j in 0..8 {
                assert_eq!((sc[j], m[j]), scale_min_k4(j, &q), "{q:?} j={j}");
            }
        }
    }
}
