//! Q5_1: blocks of 32 weights, 6 bits each: `d`, `m` (f16), `qh` (u32 LE, 5th bits), 16 bytes
//! of low nibbles laid out as in Q4_0; value = `q * d + m`. Dotted against Q8_1 activations.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`quantize_row_q5_1_ref`, `dequantize_row_q5_1`)
//! and `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q5_1_q8_1_generic`).

use super::blocks::{as_blocks, as_blocks_mut, f16_le, f16_le_from, BlockQ5_1, BlockQ8_1, QK};
use super::q5_0::q5_pair;

/// Decodes whole Q5_1 blocks into `dst`.
pub fn dequantize_row_q5_1(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(dst.len() % QK, 0);
    debug_assert_eq!(src.len(), dst.len() / QK * 24);
    for (b, y) in as_blocks::<BlockQ5_1>(src)
        .iter()
        .zip(dst.chunks_exact_mut(QK))
    {
        let (d, m) = (f16_le(b.d), f16_le(b.m));
        let qh = u32::from_le_bytes(b.qh);
        for (j, &q) in b.qs.iter().enumerate() {
            let (x0, x1) = q5_pair(q, qh, j);
            y[j] = x0 as f32 * d + m;
            y[j + QK / 2] = x1 as f32 * d + m;
        }
    }
}

/// Reference quantizer (weights): `[min, max]` maps onto `0..=31`.
pub fn quantize_row_q5_1(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK, 0);
    debug_assert_eq!(dst.len(), src.len() / QK * 24);
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ5_1>(dst)) {
        let (mut min, mut max) = (f32::MAX, -f32::MAX);
        for &v in x {
            min = min.min(v);
            max = max.max(v);
        }
        let d = (max - min) / 31.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        b.d = f16_le_from(d);
        b.m = f16_le_from(min);
        let mut qh = 0u32;
        for j in 0..QK / 2 {
            // ggml does not clamp here; min(31) only guards against rounding past the top.
            let q0 = (((x[j] - min) * id + 0.5) as u8).min(31) as u32;
            let q1 = (((x[j + QK / 2] - min) * id + 0.5) as u8).min(31) as u32;
            b.qs[j] = ((q0 & 0x0f) | ((q1 & 0x0f) << 4)) as u8;
            qh |= ((q0 & 0x10) >> 4) << j;
            qh |= ((q1 & 0x10) >> 4) << (j + QK / 2);
        }
        b.qh = qh.to_le_bytes();
    }
}

/// Scalar spec of the Q5_1 x Q8_1 dot product over `n` elements.
pub fn vec_dot_q5_1_q8_1(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK, 0);
    debug_assert_eq!(w.len(), n / QK * 24);
    debug_assert_eq!(x.len(), n / QK * 36);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ5_1>(w)
        .iter()
        .zip(as_blocks::<BlockQ8_1>(x))
    {
        let qh = u32::from_le_bytes(bw.qh);
        let mut sumi = 0i32;
        for j in 0..QK / 2 {
            let (x0, x1) = q5_pair(bw.qs[j], qh, j);
            sumi += x0 * bx.qs[j] as i32 + x1 * bx.qs[j + QK / 2] as i32;
        }
        sumf += sumi as f32 * (f16_le(bw.d) * f16_le(bx.d)) + f16_le(bw.m) * f16_le(bx.s);
    }
    sumf
}
