//! Q4_1: blocks of 32 weights, 5 bits each: `d`, `m` (f16) + 16 bytes of nibbles laid out as
//! in Q4_0; value = `q * d + m`. Dotted against Q8_1 activations (whose `s = d * sum(q)` carries
//! the `m` term).
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`quantize_row_q4_1_ref`, `dequantize_row_q4_1`)
//! and `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q4_1_q8_1_generic`).

use super::blocks::{as_blocks, as_blocks_mut, f16_le, f16_le_from, BlockQ4_1, BlockQ8_1, QK};

/// Decodes whole Q4_1 blocks into `dst`.
pub fn dequantize_row_q4_1(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(dst.len() % QK, 0);
    debug_assert_eq!(src.len(), dst.len() / QK * 20);
    for (b, y) in as_blocks::<BlockQ4_1>(src)
        .iter()
        .zip(dst.chunks_exact_mut(QK))
    {
        let (d, m) = (f16_le(b.d), f16_le(b.m));
        for (j, &q) in b.qs.iter().enumerate() {
            y[j] = (q & 0x0f) as f32 * d + m;
            y[j + QK / 2] = (q >> 4) as f32 * d + m;
        }
    }
}

/// Reference quantizer (weights): `[min, max]` maps onto `0..=15`.
pub fn quantize_row_q4_1(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK, 0);
    debug_assert_eq!(dst.len(), src.len() / QK * 20);
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ4_1>(dst)) {
        let (mut min, mut max) = (f32::MAX, -f32::MAX);
        for &v in x {
            min = min.min(v);
            max = max.max(v);
        }
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        b.d = f16_le_from(d);
        b.m = f16_le_from(min);
        for j in 0..QK / 2 {
            let q0 = (((x[j] - min) * id + 0.5) as i8).min(15) as u8;
            let q1 = (((x[j + QK / 2] - min) * id + 0.5) as i8).min(15) as u8;
            b.qs[j] = q0 | (q1 << 4);
        }
    }
}

/// Scalar spec of the Q4_1 x Q8_1 dot product over `n` elements.
pub fn vec_dot_q4_1_q8_1(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK, 0);
    debug_assert_eq!(w.len(), n / QK * 20);
    debug_assert_eq!(x.len(), n / QK * 36);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ4_1>(w)
        .iter()
        .zip(as_blocks::<BlockQ8_1>(x))
    {
        let mut sumi = 0i32;
        for j in 0..QK / 2 {
            sumi += (bw.qs[j] & 0x0f) as i32 * bx.qs[j] as i32
                + (bw.qs[j] >> 4) as i32 * bx.qs[j + QK / 2] as i32;
        }
        sumf += sumi as f32 * (f16_le(bw.d) * f16_le(bx.d)) + f16_le(bw.m) * f16_le(bx.s);
    }
    sumf
}
