//! Q2_K: super-blocks of 256 weights, 2.625 bits each: 16 bytes of scales (low nibble: scale,
//! high nibble: min, one byte per 16 weights), 64 bytes of 2-bit values, `d`, `dmin` (f16).
//! Element `e` sits in byte `qs[32 * (e / 128) + e % 32]` at bit `2 * ((e % 128) / 32)`.
//! Value = `d * sc * q - dmin * m`. Dotted against Q8_K.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`dequantize_row_q2_K`) and
//! `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q2_K_q8_K_generic`).

use super::blocks::{as_blocks, f16_le, BlockQ2K, BlockQ8K};
use super::QK_K;

/// The 2-bit value (0..=3) of element `e` (0..256).
#[inline(always)]
fn q2(b: &BlockQ2K, e: usize) -> u8 {
    (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3
}

pub fn dequantize_row_q2_k(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(dst.len() % QK_K, 0);
    debug_assert_eq!(src.len(), dst.len() / QK_K * 84);
    for (b, y) in as_blocks::<BlockQ2K>(src)
        .iter()
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let (d, min) = (f16_le(b.d), f16_le(b.dmin));
        for (s, ys) in y.chunks_exact_mut(16).enumerate() {
            let sc = b.scales[s];
            let (dl, ml) = (d * (sc & 0x0f) as f32, min * (sc >> 4) as f32);
            for (l, yv) in ys.iter_mut().enumerate() {
                *yv = dl * q2(b, 16 * s + l) as f32 - ml;
            }
        }
    }
}

/// Scalar spec of the Q2_K x Q8_K dot product over `n` elements.
pub fn vec_dot_q2_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK_K, 0);
    debug_assert_eq!(w.len(), n / QK_K * 84);
    debug_assert_eq!(x.len(), n / QK_K * 292);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ2K>(w)
        .iter()
        .zip(as_blocks::<BlockQ8K>(x))
    {
        let (mut sumi, mut summ) = (0i32, 0i32);
        // Half n of 128 values: 32 bytes, four 2-bit planes j, each plane two sub-blocks of 16.
        for (n, (q, y)) in bw
            .qs
            .chunks_exact(32)
            .zip(bx.qs.chunks_exact(128))
            .enumerate()
        {
            for j in 0..4 {
                for h in 0..2 {
                    let s = 8 * n + 2 * j + h;
                    let mut dot = 0i32;
                    for l in 0..16 {
                        let v = (q[16 * h + l] >> (2 * j)) & 3;
                        dot += v as i32 * y[32 * j + 16 * h + l] as i32;
                    }
                    sumi += (bw.scales[s] & 0x0f) as i32 * dot;
                }
            }
        }
        for (s, &sc) in bw.scales.iter().enumerate() {
            summ += (sc >> 4) as i32 * bx.bsum(s);
        }
        let yd = f32::from_le_bytes(bx.d);
        sumf += yd * f16_le(bw.d) * sumi as f32 - yd * f16_le(bw.dmin) * summ as f32;
    }
    sumf
}
