//! (in progress: the quant helper replaces this stub with the real kernel tables)
use super::GgmlType;

/// Kernels for one weight type.
pub struct TypeKernels {
    pub ty: GgmlType,
    /// Decode `src` (whole blocks) into `dst.len()` f32 values.
    pub dequantize_row: fn(src: &[u8], dst: &mut [f32]),
    /// Activation format this weight type is dotted against (ggml's `vec_dot_type`).
    pub vec_dot_type: GgmlType,
    /// Dot product of `n` elements: a weight row (`ty`) with an activation row (`vec_dot_type`).
    pub vec_dot: fn(n: usize, w: &[u8], x: &[u8]) -> f32,
}

pub fn kernels(_t: GgmlType) -> Option<&'static TypeKernels> {
    None
}

pub fn scalar_kernels(_t: GgmlType) -> Option<&'static TypeKernels> {
    None
}

/// Quantize activations `src` into format `t` (a `vec_dot_type`), writing whole blocks to `dst`.
pub fn quantize_row(_t: GgmlType, _src: &[f32], _dst: &mut [u8]) {}
