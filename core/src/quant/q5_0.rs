//! Q5_0: blocks of 32 weights, 5.5 bits each: `d` (f16), `qh` (u32 LE; bit `j` is the 5th bit
//! of element `j`), 16 bytes of low nibbles laid out as in Q4_0; value = `(q - 16) * d`.
//! Dotted against Q8_0 activations.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`quantize_row_q5_0_ref`, `dequantize_row_q5_0`)
//! and `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q5_0_q8_0_generic`).

use super::blocks::{as_blocks, as_blocks_mut, f16_le, f16_le_from, BlockQ5_0, BlockQ8_0, QK};

/// The two 5-bit values (0..=31) stored at nibble byte `j`: elements `j` and `j + 16`.
#[inline(always)]
pub(super) fn q5_pair(qs: u8, qh: u32, j: usize) -> (i32, i32) {
    let h0 = ((qh >> j) << 4) & 0x10;
    let h1 = (qh >> (j + 12)) & 0x10;
    ((qs & 0x0f) as i32 | h0 as i32, (qs >> 4) as i32 | h1 as i32)
}

/// Decodes whole Q5_0 blocks into `dst`.
pub fn dequantize_row_q5_0(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(dst.len() % QK, 0);
    debug_assert_eq!(src.len(), dst.len() / QK * 22);
    for (b, y) in as_blocks::<BlockQ5_0>(src)
        .iter()
        .zip(dst.chunks_exact_mut(QK))
    {
        let d = f16_le(b.d);
        let qh = u32::from_le_bytes(b.qh);
        for (j, &q) in b.qs.iter().enumerate() {
            let (x0, x1) = q5_pair(q, qh, j);
            y[j] = (x0 - 16) as f32 * d;
            y[j + QK / 2] = (x1 - 16) as f32 * d;
        }
    }
}

/// Reference quantizer (weights): the value of largest magnitude maps to -16.
pub fn quantize_row_q5_0(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK, 0);
    debug_assert_eq!(dst.len(), src.len() / QK * 22);
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ5_0>(dst)) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in x {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        b.d = f16_le_from(d);
        let mut qh = 0u32;
        for j in 0..QK / 2 {
            let q0 = ((x[j] * id + 16.5) as i8).min(31) as u32;
            let q1 = ((x[j + QK / 2] * id + 16.5) as i8).min(31) as u32;
            b.qs[j] = ((q0 & 0x0f) | ((q1 & 0x0f) << 4)) as u8;
            qh |= ((q0 & 0x10) >> 4) << j;
            qh |= ((q1 & 0x10) >> 4) << (j + QK / 2);
        }
        b.qh = qh.to_le_bytes();
    }
}

/// Scalar spec of the Q5_0 x Q8_0 dot product over `n` elements.
pub fn vec_dot_q5_0_q8_0(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK, 0);
    debug_assert_eq!(w.len(), n / QK * 22);
    debug_assert_eq!(x.len(), n / QK * 34);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ5_0>(w)
        .iter()
        .zip(as_blocks::<BlockQ8_0>(x))
    {
        let qh = u32::from_le_bytes(bw.qh);
        let mut sumi = 0i32;
        for j in 0..QK / 2 {
            let (x0, x1) = q5_pair(bw.qs[j], qh, j);
            sumi += (x0 - 16) * bx.qs[j] as i32 + (x1 - 16) * bx.qs[j + QK / 2] as i32;
        }
        sumf += sumi as f32 * (f16_le(bw.d) * f16_le(bx.d));
    }
    sumf
}
