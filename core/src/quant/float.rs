//! Unquantized element types: F32 (4 bytes LE), F16 (IEEE half, 2 bytes LE) and BF16 (upper
//! half of an f32, 2 bytes LE). Each is dotted against its own type, as in ggml
//! (`ggml_vec_dot_f32`, `ggml_vec_dot_f16`, `ggml_vec_dot_bf16`); the scalar dots accumulate
//! in f64 like ggml's `ggml_float` reference loops.

use half::{bf16, f16, slice::HalfFloatSliceExt};

/// Elements converted per stack buffer in the f16/bf16 row conversions.
const CHUNK: usize = 256;

pub fn dequantize_row_f32(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(src.len(), dst.len() * 4);
    for (y, b) in dst.iter_mut().zip(src.chunks_exact(4)) {
        *y = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

pub fn dequantize_row_f16(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(src.len(), dst.len() * 2);
    let mut buf = [f16::ZERO; CHUNK];
    for (y, s) in dst.chunks_mut(CHUNK).zip(src.chunks(CHUNK * 2)) {
        let h = &mut buf[..y.len()];
        for (hv, b) in h.iter_mut().zip(s.chunks_exact(2)) {
            *hv = f16::from_le_bytes([b[0], b[1]]);
        }
        h.convert_to_f32_slice(y);
    }
}

pub fn dequantize_row_bf16(src: &[u8], dst: &mut [f32]) {
    debug_assert_eq!(src.len(), dst.len() * 2);
    for (y, b) in dst.iter_mut().zip(src.chunks_exact(2)) {
        *y = f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16);
    }
}

/// F32 "quantization" is a little-endian copy.
pub fn quantize_row_f32(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(dst.len(), src.len() * 4);
    for (b, &v) in dst.chunks_exact_mut(4).zip(src) {
        b.copy_from_slice(&v.to_le_bytes());
    }
}

/// Round to nearest even f16 (half uses F16C when the CPU has it).
pub fn quantize_row_f16(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(dst.len(), src.len() * 2);
    let mut buf = [f16::ZERO; CHUNK];
    for (x, d) in src.chunks(CHUNK).zip(dst.chunks_mut(CHUNK * 2)) {
        let h = &mut buf[..x.len()];
        h.convert_from_f32_slice(x);
        for (b, hv) in d.chunks_exact_mut(2).zip(h.iter()) {
            b.copy_from_slice(&hv.to_le_bytes());
        }
    }
}

/// Round to nearest even bf16 (NaN stays NaN), as ggml's `ggml_compute_fp32_to_bf16`.
pub fn quantize_row_bf16(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(dst.len(), src.len() * 2);
    for (b, &v) in dst.chunks_exact_mut(2).zip(src) {
        b.copy_from_slice(&bf16::from_f32(v).to_le_bytes());
    }
}

pub fn vec_dot_f32(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(w.len(), n * 4);
    debug_assert_eq!(x.len(), n * 4);
    let mut sum = 0.0f64;
    for (a, b) in w.chunks_exact(4).zip(x.chunks_exact(4)) {
        let a = f32::from_le_bytes([a[0], a[1], a[2], a[3]]);
        let b = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        sum += (a * b) as f64;
    }
    sum as f32
}

pub fn vec_dot_f16(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(w.len(), n * 2);
    debug_assert_eq!(x.len(), n * 2);
    let mut sum = 0.0f64;
    for (a, b) in w.chunks_exact(2).zip(x.chunks_exact(2)) {
        let a = f16::from_le_bytes([a[0], a[1]]).to_f32();
        let b = f16::from_le_bytes([b[0], b[1]]).to_f32();
        sum += (a * b) as f64;
    }
    sum as f32
}

pub fn vec_dot_bf16(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!(w.len(), n * 2);
    debug_assert_eq!(x.len(), n * 2);
    let mut sum = 0.0f64;
    for (a, b) in w.chunks_exact(2).zip(x.chunks_exact(2)) {
        let a = f32::from_bits((u16::from_le_bytes([a[0], a[1]]) as u32) << 16);
        let b = f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16);
        sum += (a * b) as f64;
    }
    sum as f32
}

/// Scalar spec of an f16 accumulator update: `y = f16(fma(x, a, y))`, one rounding for the
/// fused multiply-add and one to f16 (ggml's `ggml_vec_mad_f16` on x86).
pub fn mad_round_f16(y: &mut [f32], a: f32, x: &[f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = half::f16::from_f32(v.mul_add(a, *o)).to_f32();
    }
}

/// Scalar spec: rounds every value to the nearest f16 (ties to even) and back, i.e. what an
/// f16 KV cache or an f16 accumulator keeps of it.
pub fn round_f16_inplace(x: &mut [f32]) {
    for v in x {
        *v = half::f16::from_f32(*v).to_f32();
    }
}
