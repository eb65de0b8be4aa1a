//! Q8_1: activation format of Q4_1 and Q5_1 weights. Blocks of 32: `d` (f16), `s` (f16, equal
//! to `d * sum(q)`, so the weights' `m` term is one multiply per block), 32 signed bytes.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`quantize_row_q8_1_ref`).

use super::blocks::{as_blocks_mut, f16_le_from, BlockQ8_1, QK};

/// Scalar spec: as Q8_0 (`x · 127/amax`, ties to even) plus `s = f16(d * sum(q))`.
pub fn quantize_row_q8_1(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK, 0);
    debug_assert_eq!(dst.len(), src.len() / QK * 36);
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ8_1>(dst)) {
        let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
        let mut sum = 0i32;
        for (q, &v) in b.qs.iter_mut().zip(x) {
            *q = (v * id).round_ties_even() as i8;
            sum += *q as i32;
        }
        b.d = f16_le_from(d);
        b.s = f16_le_from(sum as f32 * d);
    }
}
