//! Q5_K: super-blocks of 256 weights, 5.5 bits each: Q4_K's `d`, `dmin`, packed 6-bit scales
//! and mins and nibbles, plus `qh`: bit `e / 32` of `qh[e % 32]` is the 5th bit of element `e`.
//! Value = `d * sc * q - dmin * m`. Dotted against Q8_K.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`dequantize_row_q5_K`) and
//! `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q5_K_q8_K_generic`).

use super::blocks::{as_blocks, as_blocks_mut, f16_le, BlockQ5K, BlockQ8K};
use super::q4_k::{dequantize_scale_min, quantize_levels_k, scale_min_k4, LevelsK};
use super::QK_K;

/// Simple min/max reference quantizer, as `quantize_row_q4_k` with 5-bit values (valid Q5_K,
/// not byte-identical to llama.cpp's `quantize_row_q5_K_ref`).
pub fn quantize_row_q5_k(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK_K, 0);
    debug_assert_eq!(dst.len(), src.len() / QK_K * 176);
    for (x, b) in src.chunks_exact(QK_K).zip(as_blocks_mut::<BlockQ5K>(dst)) {
        let LevelsK { d, dmin, scales, q } = quantize_levels_k(x, 31);
        (b.d, b.dmin, b.scales) = (d, dmin, scales);
        b.qh = [0; QK_K / 8];
        for (j, out) in b.qs.chunks_exact_mut(32).enumerate() {
            for (l, o) in out.iter_mut().enumerate() {
                let (q0, q1) = (q[64 * j + l], q[64 * j + 32 + l]);
                *o = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
                b.qh[l] |= ((q0 >> 4) << (2 * j)) | ((q1 >> 4) << (2 * j + 1));
            }
        }
    }
}

/// The 5-bit value of element `e` (0..256).
#[inline(always)]
fn q5(b: &BlockQ5K, e: usize) -> u8 {
    let byte = b.qs[32 * (e / 64) + e % 32];
    let lo = if e % 64 < 32 { byte & 0x0f } else { byte >> 4 };
    lo | (((b.qh[e % 32] >> (e / 32)) & 1) << 4)
}

pub fn dequantize_row_q5_k(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(src.len(), dst.len() / QK_K * 176);
    dequantize_scale_min(
        as_blocks::<BlockQ5K>(src),
        dst,
        |b| (b.d, b.dmin, &b.scales),
        q5,
    );
}

/// Scalar spec of the Q5_K x Q8_K dot product over `n` elements.
pub fn vec_dot_q5_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK_K, 0);
    debug_assert_eq!(w.len(), n / QK_K * 176);
    debug_assert_eq!(x.len(), n / QK_K * 292);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ5K>(w)
        .iter()
        .zip(as_blocks::<BlockQ8K>(x))
    {
        let (mut sumi, mut summ) = (0i32, 0i32);
        for (j, (q, y)) in bw
            .qs
            .chunks_exact(32)
            .zip(bx.qs.chunks_exact(64))
            .enumerate()
        {
            let (y0, y1) = y.split_at(32);
            let (mut s0, mut s1) = (0i32, 0i32);
            for l in 0..32 {
                let h = bw.qh[l] >> (2 * j);
                s0 += ((q[l] & 0x0f) | ((h & 1) << 4)) as i32 * y0[l] as i32;
                s1 += ((q[l] >> 4) | ((h & 2) << 3)) as i32 * y1[l] as i32;
            }
            let (sc0, m0) = scale_min_k4(2 * j, &bw.scales);
            let (sc1, m1) = scale_min_k4(2 * j + 1, &bw.scales);
            sumi += sc0 as i32 * s0 + sc1 as i32 * s1;
            summ += m0 as i32 * (bx.bsum(4 * j) + bx.bsum(4 * j + 1))
                + m1 as i32 * (bx.bsum(4 * j + 2) + bx.bsum(4 * j + 3));
        }
        let yd = f32::from_le_bytes(bx.d);
        sumf += yd * f16_le(bw.d) * sumi as f32 - yd * f16_le(bw.dmin) * summ as f32;
    }
    sumf
}
