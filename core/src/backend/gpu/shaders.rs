//! The WGSL sources in `shaders/` (at the repository root, shared by the native and browser
//! builds), how they are put together, and the Rust twins of their uniform structs.
//!
//! A quantized-weight shader is assembled from three or four files: `quant/common.wgsl` (byte
//! loads), the type's file (its block format), `quant/k_common.wgsl` for the K-quants, and the
//! op (`quant/matvec.wgsl` or `quant/get_rows.wgsl`). The other ops are one file each.

use crate::quant::GgmlType;

const COMMON: &str = include_str!("../../../../shaders/quant/common.wgsl");
const K_COMMON: &str = include_str!("../../../../shaders/quant/k_common.wgsl");
const MATVEC: &str = include_str!("../../../../shaders/quant/matvec.wgsl");
const GET_ROWS: &str = include_str!("../../../../shaders/quant/get_rows.wgsl");
const GEMM: &str = include_str!("../../../../shaders/quant/gemm.wgsl");
const MATVEC_PARAMS: &str = include_str!("../../../../shaders/quant/matvec_params.wgsl");
const ACT: &str = include_str!("../../../../shaders/act.wgsl");
const X_PLAIN: &str = include_str!("../../../../shaders/quant/x_plain.wgsl");
const X_NORMED: &str = include_str!("../../../../shaders/quant/x_normed.wgsl");

/// Tokens a matvec workgroup takes (`TT` in quant/matvec.wgsl): one for decoding, this many for
/// short batches. Longer batches take the GEMM.
pub const MATVEC_BATCH: usize = 8;
/// The GEMM's tile: weight rows, tokens and columns (`BM`, `BN`, `BK` in quant/gemm.wgsl).
pub const GEMM_ROWS: usize = 64;
pub const GEMM_TOKENS: usize = 64;
pub const GEMM_COLS: usize = 32;

/// The weight types with GPU kernels, their type file, and whether it is a K-quant.
const TYPES: [(GgmlType, &str, bool); 13] = [
    (
        GgmlType::F32,
        include_str!("../../../../shaders/quant/f32.wgsl"),
        false,
    ),
    (
        GgmlType::F16,
        include_str!("../../../../shaders/quant/f16.wgsl"),
        false,
    ),
    (
        GgmlType::BF16,
        include_str!("../../../../shaders/quant/bf16.wgsl"),
        false,
    ),
    (
        GgmlType::Q4_0,
        include_str!("../../../../shaders/quant/q4_0.wgsl"),
        false,
    ),
    (
        GgmlType::Q4_1,
        include_str!("../../../../shaders/quant/q4_1.wgsl"),
        false,
    ),
    (
        GgmlType::Q5_0,
        include_str!("../../../../shaders/quant/q5_0.wgsl"),
        false,
    ),
    (
        GgmlType::Q5_1,
        include_str!("../../../../shaders/quant/q5_1.wgsl"),
        false,
    ),
    (
        GgmlType::Q8_0,
        include_str!("../../../../shaders/quant/q8_0.wgsl"),
        false,
    ),
    (
        GgmlType::Q2_K,
        include_str!("../../../../shaders/quant/q2_k.wgsl"),
        true,
    ),
    (
        GgmlType::Q3_K,
        include_str!("../../../../shaders/quant/q3_k.wgsl"),
        true,
    ),
    (
        GgmlType::Q4_K,
        include_str!("../../../../shaders/quant/q4_k.wgsl"),
        true,
    ),
    (
        GgmlType::Q5_K,
        include_str!("../../../../shaders/quant/q5_k.wgsl"),
        true,
    ),
    (
        GgmlType::Q6_K,
        include_str!("../../../../shaders/quant/q6_k.wgsl"),
        true,
    ),
];

/// The element-wise and attention ops: (name, source).
pub const OPS: [(&str, &str); 6] = [
    (
        "rms_norm",
        include_str!("../../../../shaders/rms_norm.wgsl"),
    ),
    ("rope", include_str!("../../../../shaders/rope.wgsl")),
    ("add", include_str!("../../../../shaders/add.wgsl")),
    ("scale", include_str!("../../../../shaders/scale.wgsl")),
    (
        "gated_act",
        concat!(
            include_str!("../../../../shaders/act.wgsl"),
            include_str!("../../../../shaders/gated_act.wgsl")
        ),
    ),
    (
        "attention",
        include_str!("../../../../shaders/attention.wgsl"),
    ),
];

/// The weight types the GPU kernels cover.
pub fn gpu_types() -> impl Iterator<Item = GgmlType> {
    TYPES.iter().map(|t| t.0)
}

/// Values per block of `t` as the GPU kernels take them (F32/F16/BF16 in groups of 4): a
/// matrix's columns must be a multiple of it.
pub fn block_values(t: GgmlType) -> usize {
    match t {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 4,
        _ => t.block_len(),
    }
}

fn assemble(t: GgmlType, x: &str, op: &str) -> Option<String> {
    let &(_, type_src, is_k) = TYPES.iter().find(|e| e.0 == t)?;
    let k = if is_k { K_COMMON } else { "" };
    Some(format!("{COMMON}\n{x}\n{type_src}\n{k}\n{op}"))
}

/// Rows per thread the matvec may take (`RT` in shaders/quant/matvec.wgsl).
pub const MATVEC_ROWS_PER_THREAD: [usize; 3] = [1, 2, 4];

fn matvec_op(tokens: usize, rows_per_thread: usize) -> String {
    format!(
        "const TT: u32 = {tokens}u;\nconst RT: u32 = {rows_per_thread}u;\n{MATVEC_PARAMS}\n{ACT}\n{MATVEC}"
    )
}

/// The matrix-vector product for weights of type `t`, `tokens` tokens a workgroup, each
/// thread taking `rows_per_thread` rows (one of [`MATVEC_ROWS_PER_THREAD`]; 1 when `tokens`
/// is more than 1).
pub fn matvec_source(t: GgmlType, tokens: usize, rows_per_thread: usize) -> Option<String> {
    assemble(t, X_PLAIN, &matvec_op(tokens, rows_per_thread))
}

/// The one-token matrix-vector product of type `t` whose activations are RMS-normed on the way
/// in (the fused entry points `main_qkv` and `main_gate_up` take a norm with them).
pub fn matvec_normed_source(t: GgmlType, rows_per_thread: usize) -> Option<String> {
    assemble(t, X_NORMED, &matvec_op(1, rows_per_thread))
}

/// The tiled matrix product (prefill batches) for weights of type `t`.
pub fn gemm_source(t: GgmlType) -> Option<String> {
    assemble(t, X_PLAIN, &format!("{MATVEC_PARAMS}\n{GEMM}"))
}

/// The embedding lookup for weights of type `t`.
pub fn get_rows_source(t: GgmlType) -> Option<String> {
    assemble(t, X_PLAIN, GET_ROWS)
}

/// Every shader module the backend can build: (name, WGSL source).
pub fn all_sources() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in gpu_types() {
        let name = t.to_string().to_lowercase();
        for rt in MATVEC_ROWS_PER_THREAD {
            out.push((
                format!("matvec1_rt{rt}_{name}"),
                matvec_source(t, 1, rt).unwrap_or_default(),
            ));
            out.push((
                format!("matvec_normed_rt{rt}_{name}"),
                matvec_normed_source(t, rt).unwrap_or_default(),
            ));
        }
        out.push((
            format!("matvec{MATVEC_BATCH}_{name}"),
            matvec_source(t, MATVEC_BATCH, 1).unwrap_or_default(),
        ));
        out.push((format!("gemm_{name}"), gemm_source(t).unwrap_or_default()));
        out.push((
            format!("get_rows_{name}"),
            get_rows_source(t).unwrap_or_default(),
        ));
    }
    for (name, src) in OPS {
        out.push((name.to_string(), src.to_string()));
    }
    out
}

/// Uniform structs: `#[repr(C)]` twins of the WGSL structs of the same name (all fields 4
/// bytes, so the layouts agree field by field; tests/shaders.rs checks each size against naga).
pub mod params {
    use bytemuck::{Pod, Zeroable};

    #[repr(C)]
    #[derive(Debug, Clone, Copy, Pod, Zeroable)]
    pub struct MatvecParams {
        pub rows: u32,
        pub row0: u32,
        pub cols: u32,
        pub n_tok: u32,
        pub x_off: u32,
        pub x_stride: u32,
        pub out_off: u32,
        pub out_stride: u32,
        pub w_row0: u32,
        pub acc: u32,
        pub split_k: u32,
        pub split_v: u32,
        pub act: u32,
        pub eps: f32,
        pub rope: u32,
        pub pos0: u32,
        pub head_dim: u32,
        pub n_rot: u32,
        pub theta_scale: f32,
        pub freq_scale: f32,
        pub _pad0: u32,
        pub _pad1: u32,
    }

    #[repr(C)]
    #[derive(Debug, Clone, Copy, Pod, Zeroable)]
    pub struct GetRowsParams {
        pub rows: u32,
        pub row0: u32,
        pub cols: u32,
        pub n_tok: u32,
    }

    #[repr(C)]
    #[derive(Debug, Clone, Copy, Pod, Zeroable)]
    pub struct NormParams {
        pub width: u32,
        pub rows: u32,
        pub eps: f32,
        pub _pad: u32,
    }

    #[repr(C)]
    #[derive(Debug, Clone, Copy, Pod, Zeroable)]
    pub struct RopeParams {
        pub n_tok: u32,
        pub n_heads_q: u32,
        pub n_heads_k: u32,
        pub head_dim: u32,
        pub n_rot: u32,
        pub pos0: u32,
        pub neox: u32,
        pub theta_scale: f32,
        pub freq_scale: f32,
        pub _pad0: u32,
        pub _pad1: u32,
        pub _pad2: u32,
    }

    #[repr(C)]
    #[derive(Debug, Clone, Copy, Pod, Zeroable)]
    pub struct AddParams {
        pub count: u32,
        pub _pad0: u32,
        pub _pad1: u32,
        pub _pad2: u32,
    }

    #[repr(C)]
    #[derive(Debug, Clone, Copy, Pod, Zeroable)]
    pub struct ScaleParams {
        pub count: u32,
        pub s: f32,
        pub _pad0: u32,
        pub _pad1: u32,
    }

    #[repr(C)]
    #[derive(Debug, Clone, Copy, Pod, Zeroable)]
    pub struct GatedActParams {
        pub count: u32,
        pub act: u32,
        pub _pad0: u32,
        pub _pad1: u32,
    }

    #[repr(C)]
    #[derive(Debug, Clone, Copy, Pod, Zeroable)]
    pub struct AttnParams {
        pub n_tok: u32,
        pub n_head: u32,
        pub n_head_kv: u32,
        pub head_dim: u32,
        pub head_dim_v: u32,
        pub pos0: u32,
        pub window: u32,
        pub scale: f32,
    }

    /// (shader, WGSL struct name, size of the Rust twin) for every uniform struct.
    pub const STRUCTS: [(&str, &str, usize); 9] = [
        (
            "matvec1_rt1_q8_0",
            "MatvecParams",
            size_of::<MatvecParams>(),
        ),
        ("gemm_q8_0", "MatvecParams", size_of::<MatvecParams>()),
        ("get_rows_q8_0", "GetRowsParams", size_of::<GetRowsParams>()),
        ("rms_norm", "NormParams", size_of::<NormParams>()),
        ("rope", "RopeParams", size_of::<RopeParams>()),
        ("add", "AddParams", size_of::<AddParams>()),
        ("scale", "ScaleParams", size_of::<ScaleParams>()),
        ("gated_act", "GatedActParams", size_of::<GatedActParams>()),
        ("attention", "AttnParams", size_of::<AttnParams>()),
    ];
}
