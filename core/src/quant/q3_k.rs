//! Q3_K: super-blocks of 256 weights, 3.4375 bits each: 32 bytes `hmask` (bit `e / 32` of
//! `hmask[e % 32]` is element `e`'s high bit: set = +0, clear = -4), 64 bytes of low 2 bits laid
//! out as in Q2_K, 12 bytes packing sixteen 6-bit scales (stored +32), `d` (f16).
//! Value = `d * (sc - 32) * q` with `q` in `-4..=3`. Dotted against Q8_K.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`dequantize_row_q3_K`) and
//! `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q3_K_q8_K_generic`).

use super::blocks::{as_blocks, f16_le, BlockQ3K, BlockQ8K};
use super::QK_K;

/// The sixteen signed scales (`-32..=31`), unpacked as ggml's `kmask1`/`kmask2` shuffle does.
fn scales_q3(s: &[u8; 12]) -> [i32; 16] {
    const KMASK1: u32 = 0x0303_0303;
    const KMASK2: u32 = 0x0f0f_0f0f;
    let a0 = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    let a1 = u32::from_le_bytes([s[4], s[5], s[6], s[7]]);
    let tmp = u32::from_le_bytes([s[8], s[9], s[10], s[11]]);
    let aux = [
        (a0 & KMASK2) | ((tmp & KMASK1) << 4),
        (a1 & KMASK2) | (((tmp >> 2) & KMASK1) << 4),
        ((a0 >> 4) & KMASK2) | (((tmp >> 4) & KMASK1) << 4),
        ((a1 >> 4) & KMASK2) | (((tmp >> 6) & KMASK1) << 4),
    ];
    let mut out = [0i32; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = aux[i / 4].to_le_bytes()[i % 4] as i32 - 32;
    }
    out
}

/// The signed value (`-4..=3`) of element `e` (0..256).
#[inline(always)]
fn q3(b: &BlockQ3K, e: usize) -> i32 {
    let low = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
    let high = (b.hmask[e % 32] >> (e / 32)) & 1;
    low as i32 - if high != 0 { 0 } else { 4 }
}

pub fn dequantize_row_q3_k(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(dst.len() % QK_K, 0);
    debug_assert_eq!(src.len(), dst.len() / QK_K * 110);
    for (b, y) in as_blocks::<BlockQ3K>(src)
        .iter()
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let d = f16_le(b.d);
        let scales = scales_q3(&b.scales);
        for (s, ys) in y.chunks_exact_mut(16).enumerate() {
            let dl = d * scales[s] as f32;
            for (l, yv) in ys.iter_mut().enumerate() {
                *yv = dl * q3(b, 16 * s + l) as f32;
            }
        }
    }
}

/// Scalar spec of the Q3_K x Q8_K dot product over `n` elements.
pub fn vec_dot_q3_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK_K, 0);
    debug_assert_eq!(w.len(), n / QK_K * 110);
    debug_assert_eq!(x.len(), n / QK_K * 292);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ3K>(w)
        .iter()
        .zip(as_blocks::<BlockQ8K>(x))
    {
        let scales = scales_q3(&bw.scales);
        let mut sumi = 0i32;
        // As Q2_K, plus the high bit of element 128n + 32j + l at hmask[l] bit 4n + j.
        for (n, (q, y)) in bw
            .qs
            .chunks_exact(32)
            .zip(bx.qs.chunks_exact(128))
            .enumerate()
        {
            for j in 0..4 {
                for h in 0..2 {
                    let mut dot = 0i32;
                    for l in 16 * h..16 * h + 16 {
                        let low = ((q[l] >> (2 * j)) & 3) as i32;
                        let high = (bw.hmask[l] >> (4 * n + j)) & 1;
                        let v = low - 4 + 4 * high as i32;
                        dot += v * y[32 * j + l] as i32;
                    }
                    sumi += scales[8 * n + 2 * j + h] * dot;
                }
            }
        }
        sumf += f32::from_le_bytes(bx.d) * f16_le(bw.d) * sumi as f32;
    }
    sumf
}
