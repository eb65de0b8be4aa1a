//! Q6_K: super-blocks of 256 weights, 6.5625 bits each: 128 bytes `ql` (low 4 bits), 64 bytes
//! `qh` (high 2 bits), 16 signed 8-bit scales (one per 16 weights), `d` (f16).
//! Value = `d * sc * (q - 32)`. Element `e = 128n + 32k + l` takes its low bits from
//! `ql[64n + 32(k & 1) + l]` (low nibble for k < 2, high for k >= 2) and its high bits from
//! `qh[32n + l] >> 2k`. Dotted against Q8_K.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`dequantize_row_q6_K`) and
//! `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q6_K_q8_K_generic`).

use super::blocks::{as_blocks, as_blocks_mut, f16_le, f16_le_from, BlockQ6K, BlockQ8K};
use super::QK_K;

/// Simple reference quantizer (weights, synthetic models and tests): per 16 values the value of
/// largest magnitude maps to -32, the 16 sub-block scales are quantized to i8 against the
/// super-block `d` as ggml does (`iscale = -128 / max_scale`). Valid Q6_K, but without ggml's
/// `make_qx_quants` error search, so not byte-identical to `quantize_row_q6_K_ref`.
pub fn quantize_row_q6_k(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK_K, 0);
    debug_assert_eq!(dst.len(), src.len() / QK_K * 210);
    for (x, b) in src.chunks_exact(QK_K).zip(as_blocks_mut::<BlockQ6K>(dst)) {
        let mut sub = [0f32; 16];
        for (s, xs) in sub.iter_mut().zip(x.chunks_exact(16)) {
            let (mut amax, mut max) = (0f32, 0f32);
            for &v in xs {
                if v.abs() > amax {
                    amax = v.abs();
                    max = v;
                }
            }
            *s = max / -32.0;
        }
        let (mut amax, mut max_scale) = (0f32, 0f32);
        for &s in &sub {
            if s.abs() > amax {
                amax = s.abs();
                max_scale = s;
            }
        }
        b.ql = [0; QK_K / 2];
        b.qh = [0; QK_K / 4];
        if amax == 0.0 {
            b.scales = [0; QK_K / 16];
            b.d = f16_le_from(0.0);
            continue;
        }
        let iscale = -128.0 / max_scale;
        b.d = f16_le_from(1.0 / iscale);
        for (sc, &s) in b.scales.iter_mut().zip(&sub) {
            *sc = ((iscale * s).round_ties_even() as i32).clamp(-128, 127) as i8;
        }
        let d = f16_le(b.d);
        let mut q = [32u8; QK_K];
        for (e, (qv, &v)) in q.iter_mut().zip(x).enumerate() {
            let ds = d * b.scales[e / 16] as f32;
            if ds != 0.0 {
                *qv = (((v / ds).round_ties_even() as i32).clamp(-32, 31) + 32) as u8;
            }
        }
        for n in 0..2 {
            for l in 0..32 {
                let [q1, q2, q3, q4] = [0, 32, 64, 96].map(|o| q[128 * n + o + l]);
                b.ql[64 * n + l] = (q1 & 0x0f) | ((q3 & 0x0f) << 4);
                b.ql[64 * n + 32 + l] = (q2 & 0x0f) | ((q4 & 0x0f) << 4);
                b.qh[32 * n + l] =
                    (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
            }
        }
    }
}

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
        // Each half of 128: ql[64], qh[32], 8 scales; group k of 32 values, halves of 16.
        let halves = bw.ql.chunks_exact(64).zip(bw.qh.chunks_exact(32));
        for (n, ((ql, qh), y)) in halves.zip(bx.qs.chunks_exact(128)).enumerate() {
            let mut sums = [0i32; 8]; // index 2k + (l / 16)
            for l in 0..32 {
                let h = qh[l];
                let v = [
                    (ql[l] & 0x0f) | ((h & 3) << 4),
                    (ql[l + 32] & 0x0f) | (((h >> 2) & 3) << 4),
                    (ql[l] >> 4) | (((h >> 4) & 3) << 4),
                    (ql[l + 32] >> 4) | (((h >> 6) & 3) << 4),
                ];
                for (k, &vk) in v.iter().enumerate() {
                    sums[2 * k + l / 16] += (vk as i32 - 32) * y[32 * k + l] as i32;
                }
            }
            for (s, &sum) in sums.iter().enumerate() {
                sumi += bw.scales[8 * n + s] as i32 * sum;
            }
        }
        sumf += f32::from_le_bytes(bx.d) * f16_le(bw.d) * sumi as f32;
    }
    sumf
}
