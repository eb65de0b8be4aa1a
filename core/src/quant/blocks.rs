//! `#[repr(C)]` block layouts of ggml's quantized formats (port of llama.cpp `ggml/src/ggml-common.h`).
//!
//! Tensor data in a GGUF file is only byte-aligned, so every block here is made of `u8`/`i8`
//! arrays only: its alignment is 1 and every bit pattern is a valid value, which lets
//! [`as_blocks`] view any byte slice as blocks without copying and without unaligned
//! references. Multi-byte fields (`f16` scales, `u32` high bits) are stored little-endian and
//! read with `from_le_bytes`.

use half::f16;
use std::mem::{align_of, size_of};

use super::QK_K;

/// Elements per block of the 32-element formats (`QK4_0`, `QK4_1`, `QK5_0`, `QK5_1`, `QK8_0`, `QK8_1`).
pub const QK: usize = 32;

/// Q4_0: 4.5 bits/weight. `d` (f16) then 16 bytes of nibbles: the low nibble of byte `j` is
/// element `j`, the high nibble element `j + 16`; value = `(q - 8) * d`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockQ4_0 {
    pub d: [u8; 2],
    pub qs: [u8; QK / 2],
}

/// Q4_1: 5 bits/weight. `d`, `m` (f16), 16 bytes of nibbles laid out as in Q4_0;
/// value = `q * d + m`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockQ4_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qs: [u8; QK / 2],
}

/// Q5_0: 5.5 bits/weight. `d` (f16), `qh` (u32 LE: bit `j` is the 5th bit of element `j`),
/// 16 bytes of low nibbles laid out as in Q4_0; value = `(q - 16) * d`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockQ5_0 {
    pub d: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

/// Q5_1: 6 bits/weight. `d`, `m` (f16), `qh`, `qs` as in Q5_0; value = `q * d + m`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockQ5_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

/// Q8_0: 8.5 bits/weight. `d` (f16) then 32 signed bytes; value = `q * d`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8_0 {
    pub d: [u8; 2],
    pub qs: [i8; QK],
}

/// Q8_1 (activations for Q4_1/Q5_1): `d` (f16), `s = d * sum(qs)` (f16), 32 signed bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8_1 {
    pub d: [u8; 2],
    pub s: [u8; 2],
    pub qs: [i8; QK],
}

/// Bytes of the packed 6-bit scales and mins of Q4_K / Q5_K (`K_SCALE_SIZE`).
pub const K_SCALE_SIZE: usize = 12;

/// Q2_K: 2.625 bits/weight. A super-block of 256 = 16 sub-blocks of 16. `scales[i]` holds the
/// 4-bit scale (low) and 4-bit min (high) of sub-block `i`; `qs` packs four 2-bit values per
/// byte; `d`/`dmin` (f16) scale them. Value = `d * sc * q - dmin * m`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ2K {
    pub scales: [u8; QK_K / 16],
    pub qs: [u8; QK_K / 4],
    pub d: [u8; 2],
    pub dmin: [u8; 2],
}

/// Q3_K: 3.4375 bits/weight. 16 sub-blocks of 16: `hmask` holds the high bit (set = +0,
/// clear = -4), `qs` the low 2 bits, `scales` 16 packed 6-bit scales (offset by 32), `d` (f16).
/// Value = `d * (sc - 32) * q` with `q` in `-4..=3`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ3K {
    pub hmask: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 4],
    pub scales: [u8; 12],
    pub d: [u8; 2],
}

/// Q4_K: 4.5 bits/weight. 8 sub-blocks of 32 with 6-bit scales and mins packed in `scales`;
/// each 32 bytes of `qs` hold 64 values (low nibbles first). Value = `d * sc * q - dmin * m`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ4K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; K_SCALE_SIZE],
    pub qs: [u8; QK_K / 2],
}

/// Q5_K: 5.5 bits/weight. As Q4_K plus `qh`: bit `2j` / `2j + 1` of `qh[l]` is the 5th bit of
/// element `64j + l` / `64j + 32 + l`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ5K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; K_SCALE_SIZE],
    pub qh: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 2],
}

/// Q6_K: 6.5625 bits/weight. 16 sub-blocks of 16 with signed 8-bit scales; `ql` low 4 bits,
/// `qh` high 2 bits. Value = `d * sc * (q - 32)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ6K {
    pub ql: [u8; QK_K / 2],
    pub qh: [u8; QK_K / 4],
    pub scales: [i8; QK_K / 16],
    pub d: [u8; 2],
}

/// Q8_K (activations for all K-quants): `d` (f32 LE), 256 signed bytes, and `bsums` (16 x i16
/// LE): the sum of each group of 16 `qs`, which the dots use for the min/offset terms.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8K {
    pub d: [u8; 4],
    pub qs: [i8; QK_K],
    pub bsums: [u8; QK_K / 16 * 2],
}

impl BlockQ8K {
    /// `bsums[i]` as an integer.
    #[inline(always)]
    pub fn bsum(&self, i: usize) -> i32 {
        i16::from_le_bytes([self.bsums[2 * i], self.bsums[2 * i + 1]]) as i32
    }
}

const _: () = assert!(size_of::<BlockQ2K>() == 84 && align_of::<BlockQ2K>() == 1);
const _: () = assert!(size_of::<BlockQ3K>() == 110 && align_of::<BlockQ3K>() == 1);
const _: () = assert!(size_of::<BlockQ4K>() == 144 && align_of::<BlockQ4K>() == 1);
const _: () = assert!(size_of::<BlockQ5K>() == 176 && align_of::<BlockQ5K>() == 1);
const _: () = assert!(size_of::<BlockQ6K>() == 210 && align_of::<BlockQ6K>() == 1);
const _: () = assert!(size_of::<BlockQ8K>() == 292 && align_of::<BlockQ8K>() == 1);
const _: () = assert!(size_of::<BlockQ4_0>() == 18);
const _: () = assert!(size_of::<BlockQ4_1>() == 20);
const _: () = assert!(size_of::<BlockQ5_0>() == 22);
const _: () = assert!(size_of::<BlockQ5_1>() == 24);
const _: () = assert!(size_of::<BlockQ8_0>() == 34);
const _: () = assert!(size_of::<BlockQ8_1>() == 36);
const _: () = assert!(align_of::<BlockQ4_0>() == 1 && align_of::<BlockQ4_1>() == 1);
const _: () = assert!(align_of::<BlockQ5_0>() == 1 && align_of::<BlockQ5_1>() == 1);
const _: () = assert!(align_of::<BlockQ8_0>() == 1 && align_of::<BlockQ8_1>() == 1);

impl Default for BlockQ8_0 {
    fn default() -> Self {
        Self {
            d: [0; 2],
            qs: [0; QK],
        }
    }
}

impl Default for BlockQ8_1 {
    fn default() -> Self {
        Self {
            d: [0; 2],
            s: [0; 2],
            qs: [0; QK],
        }
    }
}

/// A block struct made only of `u8`/`i8` arrays.
///
/// # Safety
/// Implementors must be `#[repr(C)]`, have alignment 1, no padding, and accept every bit
/// pattern (i.e. contain only `u8`/`i8` arrays).
pub unsafe trait ByteBlock: Sized + Copy {}

// SAFETY: each type below is #[repr(C)], contains only u8/i8 arrays (alignment 1, no padding,
// every bit pattern valid); the const asserts above check size and alignment.
unsafe impl ByteBlock for BlockQ4_0 {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ4_1 {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ5_0 {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ5_1 {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ8_0 {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ8_1 {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ2K {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ3K {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ4K {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ5K {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ6K {}
// SAFETY: as above.
unsafe impl ByteBlock for BlockQ8K {}

/// Views `bytes` as whole blocks (a trailing partial block is ignored; kernels
/// `debug_assert!` that there is none).
#[inline]
pub fn as_blocks<B: ByteBlock>(bytes: &[u8]) -> &[B] {
    let n = bytes.len() / size_of::<B>();
    // SAFETY: B is ByteBlock (alignment 1, every bit pattern valid), so any address is aligned
    // and any bytes form valid values; n * size_of::<B>() <= bytes.len() keeps us in bounds, and
    // the returned slice borrows `bytes` immutably for its lifetime.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<B>(), n) }
}

/// Mutable twin of [`as_blocks`].
#[inline]
pub fn as_blocks_mut<B: ByteBlock>(bytes: &mut [u8]) -> &mut [B] {
    let n = bytes.len() / size_of::<B>();
    // SAFETY: as in `as_blocks`; any value written through B is plain bytes, and the unique
    // borrow of `bytes` is moved into the returned slice.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<B>(), n) }
}

/// Reads a little-endian f16 field as f32.
#[inline(always)]
pub fn f16_le(b: [u8; 2]) -> f32 {
    f16::from_le_bytes(b).to_f32()
}

/// Rounds an f32 to a little-endian f16 field (round to nearest even, as ggml).
#[inline(always)]
pub fn f16_le_from(v: f32) -> [u8; 2] {
    f16::from_f32(v).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::GgmlType;

    #[test]
    fn block_sizes_match_ggml_type_table() {
        assert_eq!(size_of::<BlockQ4_0>(), GgmlType::Q4_0.block_bytes());
        assert_eq!(size_of::<BlockQ4_1>(), GgmlType::Q4_1.block_bytes());
        assert_eq!(size_of::<BlockQ5_0>(), GgmlType::Q5_0.block_bytes());
        assert_eq!(size_of::<BlockQ5_1>(), GgmlType::Q5_1.block_bytes());
        assert_eq!(size_of::<BlockQ8_0>(), GgmlType::Q8_0.block_bytes());
        assert_eq!(size_of::<BlockQ8_1>(), GgmlType::Q8_1.block_bytes());
        assert_eq!(size_of::<BlockQ2K>(), GgmlType::Q2_K.block_bytes());
        assert_eq!(size_of::<BlockQ3K>(), GgmlType::Q3_K.block_bytes());
        assert_eq!(size_of::<BlockQ4K>(), GgmlType::Q4_K.block_bytes());
        assert_eq!(size_of::<BlockQ5K>(), GgmlType::Q5_K.block_bytes());
        assert_eq!(size_of::<BlockQ6K>(), GgmlType::Q6_K.block_bytes());
        assert_eq!(size_of::<BlockQ8K>(), GgmlType::Q8_K.block_bytes());
    }

    #[test]
    fn as_blocks_reads_unaligned_bytes() {
        let mut buf = [0u8; 1 + 2 * 18];
        buf[1] = 0x00;
        buf[2] = 0x3c; // f16 1.0
        buf[1 + 18 + 2] = 0xab;
        let blocks: &[BlockQ4_0] = as_blocks(&buf[1..]);
        assert_eq!(blocks.len(), 2);
        assert_eq!(f16_le(blocks[0].d), 1.0);
        assert_eq!(blocks[1].qs[0], 0xab);
    }
}
