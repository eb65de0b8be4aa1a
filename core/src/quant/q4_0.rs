//! Q4_0: blocks of 32 weights, 4.5 bits each: `d` (f16) + 16 bytes of nibbles; value = `(q - 8) * d`.
//! Byte `j` holds element `j` in its low nibble and element `j + 16` in its high nibble.
//! Dotted against Q8_0 activations.
//!
//! port of llama.cpp `ggml/src/ggml-quants.c` (`quantize_row_q4_0_ref`, `dequantize_row_q4_0`)
//! and `ggml/src/ggml-cpu/quants.c` (`ggml_vec_dot_q4_0_q8_0_generic`).

use super::blocks::{as_blocks, as_blocks_mut, f16_le, f16_le_from, BlockQ4_0, BlockQ8_0, QK};

/// Decodes whole Q4_0 blocks into `dst` (`dst.len()` elements).
pub fn dequantize_row_q4_0(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(src.len(), dst.len() / QK * 18);
    debug_assert_eq!(dst.len() % QK, 0);
    for (b, y) in as_blocks::<BlockQ4_0>(src)
        .iter()
        .zip(dst.chunks_exact_mut(QK))
    {
        let d = f16_le(b.d);
        for (j, &q) in b.qs.iter().enumerate() {
            y[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
            y[j + QK / 2] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// Bytes of one block of all eight rows in the eight-row layout (as many as the 8 blocks).
#[cfg(target_arch = "x86_64")]
pub const ROWS8_BLOCK_BYTES: usize = 8 * 18;

/// The eight-row layout that Q4_0 matrices (rows a multiple of 8) are repacked into at load
/// for the x86 kernels: `piece(offset in the rows, offset in the layout, length)` for each
/// piece of 8 consecutive rows of `nb` blocks. Per block `b`: the 8 rows' f16 `d` (16 bytes),
/// then for `k` in 0..4 bytes `4k..4k+4` of each row's nibbles, row by row (128 bytes). One
/// 32-byte load then gives word `k` of all eight rows (lane r = row r), and one 16-byte load
/// their scales: what the kernels build with transposes otherwise.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rows8_pieces(nb: usize, mut piece: impl FnMut(usize, usize, usize)) {
    for b in 0..nb {
        let group = b * ROWS8_BLOCK_BYTES;
        for r in 0..8 {
            let row = (r * nb + b) * 18;
            piece(row, group + 2 * r, 2);
            for k in 0..4 {
                piece(row + 2 + 4 * k, group + 16 + (8 * k + r) * 4, 4);
            }
        }
    }
}

/// 8 rows of `nb` blocks into their eight-row layout ([`rows8_pieces`]).
#[cfg(target_arch = "x86_64")]
pub fn repack_rows8(rows: &[u8], nb: usize, out: &mut [u8]) {
    assert!(rows.len() == 8 * nb * 18 && out.len() == rows.len());
    rows8_pieces(nb, |r, g, n| out[g..g + n].copy_from_slice(&rows[r..r + n]));
}

/// The inverse of [`repack_rows8`].
#[cfg(target_arch = "x86_64")]
pub fn unpack_rows8(packed: &[u8], nb: usize, rows: &mut [u8]) {
    assert!(packed.len() == 8 * nb * 18 && rows.len() == packed.len());
    rows8_pieces(nb, |r, g, n| {
        rows[r..r + n].copy_from_slice(&packed[g..g + n])
    });
}

/// Reference quantizer (weights): the value of largest magnitude maps to -8.
pub fn quantize_row_q4_0(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % QK, 0);
    debug_assert_eq!(dst.len(), src.len() / QK * 18);
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ4_0>(dst)) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in x {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        b.d = f16_le_from(d);
        for j in 0..QK / 2 {
            let q0 = ((x[j] * id + 8.5) as i8).min(15) as u8;
            let q1 = ((x[j + QK / 2] * id + 8.5) as i8).min(15) as u8;
            b.qs[j] = q0 | (q1 << 4);
        }
    }
}

/// Scalar spec of the Q4_0 x Q8_0 dot product over `n` elements.
pub fn vec_dot_q4_0_q8_0(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK, 0);
    debug_assert_eq!(w.len(), n / QK * 18);
    debug_assert_eq!(x.len(), n / QK * 34);
    let mut sumf = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ4_0>(w)
        .iter()
        .zip(as_blocks::<BlockQ8_0>(x))
    {
        let sumi = block_sum(bw, bx);
        sumf += sumi as f32 * (f16_le(bw.d) * f16_le(bx.d));
    }
    sumf
}

/// Q4_0 · Q8_0 in the order of llama.cpp's x86 kernels for Q4_0 weights repacked eight rows
/// at a time (its gemv and its gemm share it): each block's exact integer sum, then one f32
/// chain per output, `acc = fma(sum, d_w · d_x, acc)`. The spec of `RepackedDots` for Q4_0.
pub fn vec_dot_q4_0_q8_0_repacked(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(n % QK, 0);
    debug_assert_eq!(w.len(), n / QK * 18);
    debug_assert_eq!(x.len(), n / QK * 34);
    let mut acc = 0.0f32;
    for (bw, bx) in as_blocks::<BlockQ4_0>(w)
        .iter()
        .zip(as_blocks::<BlockQ8_0>(x))
    {
        let sumi = block_sum(bw, bx);
        acc = (sumi as f32).mul_add(f16_le(bw.d) * f16_le(bx.d), acc);
    }
    acc
}

/// One block's exact integer dot: `Σ (q - 8) · x`.
fn block_sum(bw: &BlockQ4_0, bx: &BlockQ8_0) -> i32 {
    let mut sumi = 0i32;
    for j in 0..QK / 2 {
        let v0 = (bw.qs[j] & 0x0f) as i32 - 8;
        let v1 = (bw.qs[j] >> 4) as i32 - 8;
        sumi += v0 * bx.qs[j] as i32 + v1 * bx.qs[j + QK / 2] as i32;
    }
    sumi
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn repack_rows8_moves_every_byte_and_unpack_undoes_it() {
        let nb = 3;
        let rows: Vec<u8> = (0..8 * nb * 18).map(|i| (i * 7 % 251) as u8).collect();
        let (mut packed, mut back) = (vec![0; rows.len()], vec![0; rows.len()]);
        repack_rows8(&rows, nb, &mut packed);
        let at = |r: usize, b: usize, byte: usize| (r * nb + b) * 18 + byte;
        // Block 2: row 5's d at 2·5, then its nibble bytes 8..12 (word 2) at 16 + 4·(16 + 5).
        let group = 2 * ROWS8_BLOCK_BYTES;
        assert_eq!(packed[group + 10..][..2], rows[at(5, 2, 0)..][..2]);
        assert_eq!(packed[group + 16 + 84..][..4], rows[at(5, 2, 10)..][..4]);
        unpack_rows8(&packed, nb, &mut back);
        assert_eq!(back, rows);
    }
}
