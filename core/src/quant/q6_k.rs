//! Q6_K: super-blocks of 256 weights, 6.5625 bits each: 128 bytes `ql` (low 4 bits), 64 bytes
//! `qh` (high 2 bits), 16 signed 8-bit scales (one per 16 weights), `d` (f16).
//! Value = `d * sc * (q - 32)`. Element `e = 128n + 32k + l` takes its low bits from
//! `ql[64n + 32(k & 1) + l]` (low nibble for k < 2, high for k >= 2) and its high bits from
//! `qh[32n + l] >> 2k`. Dotted against Q8_K.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`dequantize_row_q6_K`) and
//! `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q6_K_q8_K_generic`).

use super::blocks::{as_blocks, f16_le, BlockQ6K, BlockQ8K};
use super::QK_K;

/// The signed value (`-32..=31`) of element `e` (0..256).
#[inline(always)]
fn q6(b: &BlockQ6K, e: usize) -> i32 {
    let (n, k, l) = (e / 128, (e % 128) / 32, e % 32);
    let byte = b.ql[64 * n + 32 * (k & 1) + l];
    let lo = if k < 2 { byte & 0x0f } else { byte >> 4 };
    let hi = (b.qh[32 * n + l] >> (2 * k)) & 3;
    (lo | (hi << 4)) as i32 - 32
}

pub fn dequantize_row_q6_k(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(dst.len() % QK_K, 0);
    debug_assert_eq!(src.len(), dst.len() / QK_K * 210);
    for (b, y) in as_blocks::<BlockQ6K>(src)
        .iter()
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let d = f16_le(b.d);
        for (e, yv) in y.iter_mut().enumerate() {
            *yv = d * b.scales[e / 16] as f32 * q6(b, e) as f32;
        }
    }
}

/// Scalar spec of the Q6_K x Q8_K dot product over `n` elements.
pub fn vec_dot_q6_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK_K, 0);
    debug_assert_eq!(w.len(), n / QK_K * 210);
    debug_assert_eq!(x.len(), n / QK_K * 292);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ6K>(w)
        .iter()
        .zip(as_blocks::<BlockQ8K>(x))
    {
        let mut sumi = 0i32;
        for (s, &sc) in bw.scales.iter().enumerate() {
            let dot: i32 = (16 * s..16 * s + 16)
                .map(|e| q6(bw, e) * bx.qs[e] as i32)
                .sum();
            sumi += sc as i32 * dot;
        }
        sumf += f32::from_le_bytes(bx.d) * f16_le(bw.d) * sumi as f32;
    }
    sumf
}
