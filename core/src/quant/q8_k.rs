//! Q8_K: the activation format of every K-quant. Super-blocks of 256: `d` (f32), 256 signed
//! bytes, and `bsums` (the sum of each 16 `qs`, used for the weights' min/offset terms).
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`quantize_row_q8_K_ref`).

use super::blocks::{as_blocks_mut, BlockQ8K};
use super::QK_K;

/// Scalar spec: the value of largest magnitude maps to -127, `q = nearest_int(x * -127 / max)`
/// (ties to even, like ggml's `nearest_int`), clamped to 127; `d = 1 / iscale`.
pub fn quantize_row_q8_k(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK_K, 0);
    debug_assert_eq!(dst.len(), src.len() / QK_K * 292);
    for (x, b) in src.chunks_exact(QK_K).zip(as_blocks_mut::<BlockQ8K>(dst)) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in x {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        if amax == 0.0 {
            b.d = 0f32.to_le_bytes();
            b.qs = [0; QK_K];
            b.bsums = [0; 32];
            continue;
        }
        let iscale = -127.0 / max;
        for (q, &v) in b.qs.iter_mut().zip(x) {
            *q = ((iscale * v).round_ties_even() as i32).min(127) as i8;
        }
        set_bsums(b);
        b.d = (1.0 / iscale).to_le_bytes();
    }
}

/// `bsums` from `qs`: the sum of each 16 values.
#[inline]
pub(super) fn set_bsums(b: &mut BlockQ8K) {
    for (g, s) in b.qs.chunks_exact(16).zip(b.bsums.chunks_exact_mut(2)) {
        let sum: i32 = g.iter().map(|&q| q as i32).sum();
        s.copy_from_slice(&(sum as i16).to_le_bytes());
    }
}
