//! Q8_0: blocks of 32 values, 8.5 bits each: `d` (f16) + 32 signed bytes; value = `q * d`.
//! Both a weight format and the activation format of Q4_0, Q5_0 and Q8_0 weights.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`quantize_row_q8_0_ref`, `dequantize_row_q8_0`)
//! and `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q8_0_q8_0_generic`).

use super::blocks::{as_blocks, as_blocks_mut, f16_le, f16_le_from, BlockQ8_0, QK};

/// Decodes whole Q8_0 blocks into `dst`.
pub fn dequantize_row_q8_0(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(dst.len() % QK, 0);
    debug_assert_eq!(src.len(), dst.len() / QK * 34);
    for (b, y) in as_blocks::<BlockQ8_0>(src)
        .iter()
        .zip(dst.chunks_exact_mut(QK))
    {
        let d = f16_le(b.d);
        for (yj, &q) in y.iter_mut().zip(&b.qs) {
            *yj = q as f32 * d;
        }
    }
}

/// Scalar spec of activation (and weight) quantization: `d = amax / 127`,
/// `q = round_ties_even(x · 127/amax)`. This is what ggml's x86 SIMD quantizer computes (its
/// portable reference uses `x · (1/d)` and `roundf`, which differ by an ulp and flip roundings;
/// the llama.cpp runs we reproduce use the SIMD one).
pub fn quantize_row_q8_0(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK, 0);
    debug_assert_eq!(dst.len(), src.len() / QK * 34);
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ8_0>(dst)) {
        let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        b.d = f16_le_from(d);
        for (q, &v) in b.qs.iter_mut().zip(x) {
            *q = (v * id).round_ties_even() as i8;
        }
    }
}

/// Scalar spec of the Q8_0 x Q8_0 dot product over `n` elements.
pub fn vec_dot_q8_0_q8_0(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK, 0);
    debug_assert_eq!(w.len(), n / QK * 34);
    debug_assert_eq!(x.len(), n / QK * 34);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ8_0>(w)
        .iter()
        .zip(as_blocks::<BlockQ8_0>(x))
    {
        let sumi: i32 = bw
            .qs
            .iter()
            .zip(&bx.qs)
            .map(|(&a, &b)| a as i32 * b as i32)
            .sum();
        sumf += sumi as f32 * (f16_le(bw.d) * f16_le(bx.d));
    }
    sumf
}

/// The sum of each Q8_0 block's 32 quants, into `sums` (one per block): what kernels that
/// multiply unsigned nibbles (`q + 8`) subtract, times 8, to get the signed products' sum.
pub fn block_sums(x: &[u8], sums: &mut [i32]) {
    debug_assert_eq!(x.len(), sums.len() * 34);
    for (s, b) in sums.iter_mut().zip(as_blocks::<BlockQ8_0>(x)) {
        *s = b.qs.iter().map(|&q| q as i32).sum();
    }
}
