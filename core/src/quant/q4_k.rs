//! Q4_K: super-blocks of 256 weights, 4.5 bits each: `d`, `dmin` (f16), 12 bytes packing eight
//! 6-bit scales and eight 6-bit mins (one pair per sub-block of 32), and 128 bytes of nibbles:
//! bytes `32j..32j+32` hold elements `64j..64j+32` in their low nibbles and `64j+32..64j+64` in
//! their high nibbles. Value = `d * sc * q - dmin * m`. Dotted against Q8_K.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`get_scale_min_k4`, `dequantize_row_q4_K`) and
//! `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q4_K_q8_K_generic`).

use super::blocks::{as_blocks, f16_le, BlockQ4K, BlockQ8K, K_SCALE_SIZE};
use super::QK_K;

/// The 6-bit scale and min of sub-block `j` (0..8), as ggml's `get_scale_min_k4`.
#[inline(always)]
pub(super) fn scale_min_k4(j: usize, q: &[u8; K_SCALE_SIZE]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// All eight scales and eight mins at once (the same values as `scale_min_k4`, unpacked with
/// 32-bit masks as ggml's SIMD kernels do).
#[inline(always)]
pub(super) fn scales_mins_k4(q: &[u8; K_SCALE_SIZE]) -> ([u8; 8], [u8; 8]) {
    const KMASK1: u32 = 0x3f3f_3f3f;
    const KMASK2: u32 = 0x0f0f_0f0f;
    const KMASK3: u32 = 0x0303_0303;
    let u0 = u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
    let u1 = u32::from_le_bytes([q[4], q[5], q[6], q[7]]);
    let u2 = u32::from_le_bytes([q[8], q[9], q[10], q[11]]);
    let sc_hi = (u2 & KMASK2) | (((u0 >> 6) & KMASK3) << 4);
    let m_hi = ((u2 >> 4) & KMASK2) | (((u1 >> 6) & KMASK3) << 4);
    let (a, b) = ((u0 & KMASK1).to_le_bytes(), sc_hi.to_le_bytes());
    let (c, d) = ((u1 & KMASK1).to_le_bytes(), m_hi.to_le_bytes());
    (
        [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]],
        [c[0], c[1], c[2], c[3], d[0], d[1], d[2], d[3]],
    )
}

/// The 4-bit value of element `e` (0..256).
#[inline(always)]
fn q4(b: &BlockQ4K, e: usize) -> u8 {
    let byte = b.qs[32 * (e / 64) + e % 32];
    if e % 64 < 32 {
        byte & 0x0f
    } else {
        byte >> 4
    }
}

pub fn dequantize_row_q4_k(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(dst.len() % QK_K, 0);
    debug_assert_eq!(src.len(), dst.len() / QK_K * 144);
    for (b, y) in as_blocks::<BlockQ4K>(src)
        .iter()
        .zip(dst.chunks_exact_mut(QK_K))
    {
        let (d, min) = (f16_le(b.d), f16_le(b.dmin));
        for (s, ys) in y.chunks_exact_mut(32).enumerate() {
            let (sc, m) = scale_min_k4(s, &b.scales);
            let (ds, ms) = (d * sc as f32, min * m as f32);
            for (l, yv) in ys.iter_mut().enumerate() {
                *yv = ds * q4(b, 32 * s + l) as f32 - ms;
            }
        }
    }
}

/// Scalar spec of the Q4_K x Q8_K dot product over `n` elements. The min term uses the
/// activations' `bsums`.
pub fn vec_dot_q4_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK_K, 0);
    debug_assert_eq!(w.len(), n / QK_K * 144);
    debug_assert_eq!(x.len(), n / QK_K * 292);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ4K>(w)
        .iter()
        .zip(as_blocks::<BlockQ8K>(x))
    {
        let (sc, mn) = scales_mins_k4(&bw.scales);
        let (mut sumi, mut summ) = (0i32, 0i32);
        // Bytes 32j..32j+32: low nibbles are sub-block 2j, high nibbles sub-block 2j + 1.
        for (j, (q, y)) in bw
            .qs
            .chunks_exact(32)
            .zip(bx.qs.chunks_exact(64))
            .enumerate()
        {
            let (y0, y1) = y.split_at(32);
            let (mut s0, mut s1) = (0i32, 0i32);
            for l in 0..32 {
                s0 += (q[l] & 0x0f) as i32 * y0[l] as i32;
                s1 += (q[l] >> 4) as i32 * y1[l] as i32;
            }
            sumi += sc[2 * j] as i32 * s0 + sc[2 * j + 1] as i32 * s1;
        }
        for (s, &m) in mn.iter().enumerate() {
            summ += m as i32 * (bx.bsum(2 * s) + bx.bsum(2 * s + 1));
        }
        let yd = f32::from_le_bytes(bx.d);
        sumf += yd * f16_le(bw.d) * sumi as f32 - yd * f16_le(bw.dmin) * summ as f32;
    }
    sumf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_mins_k4_matches_get_scale_min_k4() {
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..1000 {
            let mut q = [0u8; K_SCALE_SIZE];
            for b in q.iter_mut() {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (state >> 56) as u8;
            }
            let (sc, m) = scales_mins_k4(&q);
            for j in 0..8 {
                assert_eq!((sc[j], m[j]), scale_min_k4(j, &q), "{q:?} j={j}");
            }
        }
    }
}
