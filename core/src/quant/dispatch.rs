//! Kernel tables per weight type, and the run-time choice between them.
//!
//! `scalar_kernels` is the plain-loop spec; `kernels` returns the fastest table this CPU can
//! run: on x86-64 chosen once at run time (`is_x86_feature_detected!`, never
//! `target-cpu=native`), on wasm32 at build time (`-C target-feature=+simd128`: wasm has no
//! run-time detection, and an engine without SIMD128 refuses such a module). Pairings follow
//! ggml's `type_traits_cpu[..].vec_dot_type`: Q4_0/Q5_0/Q8_0 dot Q8_0, Q4_1/Q5_1 dot Q8_1,
//! the K-quants dot Q8_K, and F32/F16/BF16 dot themselves.

use std::sync::OnceLock;

use super::GgmlType;
use super::{float, q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0, q8_1, q8_k};

/// Kernels for one weight type.
pub struct TypeKernels {
    pub ty: GgmlType,
    /// Decode `src` (whole blocks) into `dst.len()` f32 values.
    pub dequantize_row: fn(src: &[u8], dst: &mut [f32]),
    /// Activation format this weight type is dotted against (ggml's `vec_dot_type`).
    pub vec_dot_type: GgmlType,
    /// Dot product of `n` elements: a weight row (`ty`) with an activation row (`vec_dot_type`).
    pub vec_dot: fn(n: usize, w: &[u8], x: &[u8]) -> f32,
    /// The same dot in the summation orders of llama.cpp's x86 repacked kernels, for types it
    /// repacks when the row count is a multiple of [`REPACK_ROWS`] (Q4_0, Q4_K).
    pub repacked: Option<RepackedDots>,
    /// `vec_dot` of two weight rows with one activation row, each result bit-identical to
    /// `vec_dot`'s (the SIMD128 32-value block formats: the activation block is unpacked once
    /// for both rows).
    pub vec_dot_2rows: Option<VecDot2Rows>,
    /// A tile of [`TILE_ROWS`] weight rows by [`TILE_TOKENS`] activation rows, each result
    /// bit-identical to `vec_dot`: prefill. Only for types without `repacked` orders (their
    /// prefill is `rows8`'s).
    pub dot_tile: Option<TileDot>,
    /// A repacked type's dots over the [`REPACK_ROWS`] rows llama.cpp repacks together, each
    /// result bit-identical to `repacked`'s one-row dots (Q4_0 and Q4_K on AVX2).
    pub rows8: Option<Rows8Dots>,
}

/// Outputs of the [`REPACK_ROWS`] weight rows of a [`Rows8Dots`] kernel.
pub type Rows8 = [f32; REPACK_ROWS];

/// [`Rows8Dots::gemv`]: eight weight rows, one activation row and its block sums.
pub type Rows8Gemv = fn(n: usize, w: [&[u8]; REPACK_ROWS], x: &[u8], sums: &[i32]) -> Rows8;

/// [`Rows8Dots::gemm`]: eight weight rows, [`TILE_TOKENS`] activation rows and their sums.
pub type Rows8Gemm = fn(
    n: usize,
    w: [&[u8]; REPACK_ROWS],
    x: [&[u8]; TILE_TOKENS],
    sums: [&[i32]; TILE_TOKENS],
) -> [Rows8; TILE_TOKENS];

/// Dots of [`REPACK_ROWS`] weight rows at once. Where the activation blocks are Q8_0, `sums[b]`
/// is the sum of activation block `b`'s quants (`quant::q8_0_block_sums`); Q8_K blocks carry
/// their own sums, and `sums` is empty.
#[derive(Clone, Copy)]
pub struct Rows8Dots {
    /// One activation row (the gemv order).
    pub gemv: Rows8Gemv,
    /// The rows of a whole group of four (the gemm order).
    pub gemm: Rows8Gemm,
    /// The same dots for rows repacked at load into a layout these kernels read with plain
    /// loads (Q4_0 and Q4_K on x86: the row transposes were half of decode).
    pub packed: Option<Rows8Packed>,
}

/// Eight weight rows repacked into an eight-row layout: `repack` writes it from the rows'
/// bytes (8 rows of `n` values, the same length), `gemv` and `gemm` are [`Rows8Dots`]'s with
/// the 8 rows given as one `group` of such bytes, every result the same bits.
#[derive(Clone, Copy)]
pub struct Rows8Packed {
    pub repack: fn(n: usize, rows: &[u8], group: &mut [u8]),
    pub gemv: fn(n: usize, group: &[u8], x: &[u8], sums: &[i32]) -> Rows8,
    pub gemm: Rows8PackedGemm,
}

/// [`Rows8Packed::gemm`]: a group of eight packed rows, [`TILE_TOKENS`] activation rows and
/// their sums.
pub type Rows8PackedGemm = fn(
    n: usize,
    group: &[u8],
    x: [&[u8]; TILE_TOKENS],
    sums: [&[i32]; TILE_TOKENS],
) -> [Rows8; TILE_TOKENS];

/// Weight rows of a [`TileDot`].
pub const TILE_ROWS: usize = 2;
/// Activation rows (tokens) of a [`TileDot`].
pub const TILE_TOKENS: usize = 4;
/// `out[t][r]` of a tile.
pub type Tile = [[f32; TILE_ROWS]; TILE_TOKENS];
/// `out[t][r] = dot(n, w[r], x[t])` for a tile of rows and tokens.
pub type TileDot = fn(n: usize, w: [&[u8]; TILE_ROWS], x: [&[u8]; TILE_TOKENS]) -> Tile;

/// A tile by one-row dots: what the AVX2 tile entry points fall back to on a CPU without
/// AVX2 (the dispatch never takes them there: such a CPU gets the scalar table).
#[cfg(target_arch = "x86_64")]
pub fn scalar_tile(
    n: usize,
    w: [&[u8]; TILE_ROWS],
    x: [&[u8]; TILE_TOKENS],
    dot: fn(usize, &[u8], &[u8]) -> f32,
) -> Tile {
    std::array::from_fn(|t| std::array::from_fn(|r| dot(n, w[r], x[t])))
}

/// The dots of a group of eight packed rows ([`Rows8Packed`]) by one-row `dot`s of the rows
/// `unpack` gives back: what the packed entry points fall back to on a CPU without AVX2 (the
/// dispatch never packs there).
#[cfg(target_arch = "x86_64")]
pub fn unpacked_rows8(
    group: &[u8],
    unpack: impl Fn(&[u8], &mut [u8]),
    x: &[u8],
    dot: impl Fn(&[u8], &[u8]) -> f32,
) -> Rows8 {
    let mut rows = vec![0; group.len()];
    unpack(group, &mut rows);
    let len = rows.len() / REPACK_ROWS;
    std::array::from_fn(|r| dot(&rows[r * len..(r + 1) * len], x))
}

/// `[vec_dot(n, w0, x), vec_dot(n, w1, x)]` in one pass.
pub type VecDot2Rows = fn(n: usize, w0: &[u8], w1: &[u8], x: &[u8]) -> [f32; 2];

/// llama.cpp repacks a weight matrix only when its row count is a multiple of this.
pub const REPACK_ROWS: usize = 8;

/// Dots of a repacked weight type: `gemm` for activation rows in whole groups of four of a
/// batch of more than three, `gemv` for the others.
#[derive(Clone, Copy)]
pub struct RepackedDots {
    pub gemv: fn(n: usize, w: &[u8], x: &[u8]) -> f32,
    pub gemm: fn(n: usize, w: &[u8], x: &[u8]) -> f32,
}

/// How the x86 kernels sum byte products into 32-bit lanes: `maddubs` + `madd` (plain AVX2),
/// or one `vpdpbusd` on 256-bit registers, from AVX-VNNI or from AVX512-VNNI with AVX512VL.
/// A const parameter of those kernels; every choice gives the same exact integers.
#[cfg(target_arch = "x86_64")]
pub mod pair_sums {
    pub const MADDUBS: u8 = 0;
    pub const AVX_VNNI: u8 = 1;
    pub const AVX512_VNNI: u8 = 2;
}

/// The [`pair_sums`] this CPU runs, detected once (`WASM_CHORD_NO_VNNI` forces `MADDUBS`).
#[cfg(target_arch = "x86_64")]
pub fn pair_sums_isa() -> u8 {
    static DETECTED: OnceLock<u8> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        if !has_avx2() || std::env::var_os("WASM_CHORD_NO_VNNI").is_some() {
            pair_sums::MADDUBS
        } else if std::is_x86_feature_detected!("avxvnni") {
            pair_sums::AVX_VNNI
        } else if std::is_x86_feature_detected!("avx512vnni")
            && std::is_x86_feature_detected!("avx512vl")
        {
            pair_sums::AVX512_VNNI
        } else {
            pair_sums::MADDUBS
        }
    })
}

/// True when this CPU runs the AVX2 kernels (avx2, fma and f16c), detected once.
pub fn has_avx2() -> bool {
    static DETECTED: OnceLock<bool> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && std::is_x86_feature_detected!("f16c")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

const fn tk(
    ty: GgmlType,
    dequantize_row: fn(&[u8], &mut [f32]),
    vec_dot_type: GgmlType,
    vec_dot: fn(usize, &[u8], &[u8]) -> f32,
) -> TypeKernels {
    TypeKernels {
        ty,
        dequantize_row,
        vec_dot_type,
        vec_dot,
        repacked: None,
        vec_dot_2rows: None,
        dot_tile: None,
        rows8: None,
    }
}

/// `tk` for a type llama.cpp repacks.
const fn tk_repacked(
    ty: GgmlType,
    dequantize_row: fn(&[u8], &mut [f32]),
    vec_dot_type: GgmlType,
    vec_dot: fn(usize, &[u8], &[u8]) -> f32,
    repacked: RepackedDots,
) -> TypeKernels {
    TypeKernels {
        repacked: Some(repacked),
        ..tk(ty, dequantize_row, vec_dot_type, vec_dot)
    }
}

use GgmlType as T;

/// Q4_0's repacked order, which llama.cpp's gemv and gemm share.
const Q4_0_REPACKED: RepackedDots = RepackedDots {
    gemv: q4_0::vec_dot_q4_0_q8_0_repacked,
    gemm: q4_0::vec_dot_q4_0_q8_0_repacked,
};

#[rustfmt::skip]
static SCALAR: [TypeKernels; 13] = [
    tk(T::F32,  float::dequantize_row_f32,  T::F32,  float::vec_dot_f32),
    tk(T::F16,  float::dequantize_row_f16,  T::F16,  float::vec_dot_f16),
    tk(T::BF16, float::dequantize_row_bf16, T::BF16, float::vec_dot_bf16),
    tk_repacked(T::Q4_0, q4_0::dequantize_row_q4_0, T::Q8_0, q4_0::vec_dot_q4_0_q8_0, Q4_0_REPACKED),
    tk(T::Q4_1, q4_1::dequantize_row_q4_1,  T::Q8_1, q4_1::vec_dot_q4_1_q8_1),
    tk(T::Q5_0, q5_0::dequantize_row_q5_0,  T::Q8_0, q5_0::vec_dot_q5_0_q8_0),
    tk(T::Q5_1, q5_1::dequantize_row_q5_1,  T::Q8_1, q5_1::vec_dot_q5_1_q8_1),
    tk(T::Q8_0, q8_0::dequantize_row_q8_0,  T::Q8_0, q8_0::vec_dot_q8_0_q8_0),
    tk(T::Q2_K, q2_k::dequantize_row_q2_k,  T::Q8_K, q2_k::vec_dot_q2_k_q8_k),
    tk(T::Q3_K, q3_k::dequantize_row_q3_k,  T::Q8_K, q3_k::vec_dot_q3_k_q8_k),
    tk_repacked(T::Q4_K, q4_k::dequantize_row_q4_k, T::Q8_K, q4_k::vec_dot_q4_k_q8_k,
        RepackedDots { gemv: q4_k::vec_dot_q4_k_q8_k_gemv, gemm: q4_k::vec_dot_q4_k_q8_k_gemm }),
    tk(T::Q5_K, q5_k::dequantize_row_q5_k,  T::Q8_K, q5_k::vec_dot_q5_k_q8_k),
    tk(T::Q6_K, q6_k::dequantize_row_q6_k,  T::Q8_K, q6_k::vec_dot_q6_k_q8_k),
];

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::{
        avx2, avx2_rows8, avx2_rows8_q4_k, avx2_tile as at, float, q2_k, q3_k, q4_0, q4_1, q4_k,
        q5_0, q5_1, q5_k, q6_k, q8_0,
    };
    use super::{
        tk, tk_repacked, RepackedDots, Rows8Dots, Rows8Packed, TileDot, TypeKernels, Q4_0_REPACKED,
        T,
    };

    /// A table entry with a tile dot.
    const fn tiled(k: TypeKernels, dot_tile: TileDot) -> TypeKernels {
        TypeKernels {
            dot_tile: Some(dot_tile),
            ..k
        }
    }

    /// A table entry with eight-row dots.
    const fn rows8(k: TypeKernels, rows8: Rows8Dots) -> TypeKernels {
        TypeKernels {
            rows8: Some(rows8),
            ..k
        }
    }

    /// Q4_0 in its eight-row layout.
    const Q4_0_PACKED: Rows8Packed = Rows8Packed {
        repack: |n, rows, group| q4_0::repack_rows8(rows, n / 32, group),
        gemv: avx2_rows8::gemv_q4_0_packed,
        gemm: avx2_rows8::gemm_q4_0_packed,
    };

    /// Q4_K in its eight-row layout.
    const Q4_K_PACKED: Rows8Packed = Rows8Packed {
        repack: |n, rows, group| q4_k::repack_rows8(rows, n / 256, group),
        gemv: avx2_rows8_q4_k::gemv_q4_k_packed,
        gemm: avx2_rows8_q4_k::gemm_q4_k_packed,
    };

    /// The scalar table with every kernel that has an AVX2 twin swapped in (Q2_K and Q3_K
    /// dots are still scalar).
    #[rustfmt::skip]
    pub(super) static AVX2: [TypeKernels; 13] = [
        tk(T::F32,  float::dequantize_row_f32,  T::F32,  avx2::vec_dot_f32),
        tk(T::F16,  float::dequantize_row_f16,  T::F16,  avx2::vec_dot_f16),
        tk(T::BF16, float::dequantize_row_bf16, T::BF16, avx2::vec_dot_bf16),
        rows8(tk_repacked(T::Q4_0, q4_0::dequantize_row_q4_0, T::Q8_0, avx2::vec_dot_q4_0_q8_0, Q4_0_REPACKED),
            Rows8Dots { gemv: avx2_rows8::gemv_q4_0_q8_0, gemm: avx2_rows8::gemm_q4_0_q8_0, packed: Some(Q4_0_PACKED) }),
        tiled(tk(T::Q4_1, q4_1::dequantize_row_q4_1,  T::Q8_1, avx2::vec_dot_q4_1_q8_1), at::tile_q4_1_q8_1),
        tiled(tk(T::Q5_0, q5_0::dequantize_row_q5_0,  T::Q8_0, avx2::vec_dot_q5_0_q8_0), at::tile_q5_0_q8_0),
        tk(T::Q5_1, q5_1::dequantize_row_q5_1,  T::Q8_1, avx2::vec_dot_q5_1_q8_1),
        tiled(tk(T::Q8_0, q8_0::dequantize_row_q8_0,  T::Q8_0, avx2::vec_dot_q8_0_q8_0), at::tile_q8_0_q8_0),
        tk(T::Q2_K, q2_k::dequantize_row_q2_k,  T::Q8_K, q2_k::vec_dot_q2_k_q8_k),
        tk(T::Q3_K, q3_k::dequantize_row_q3_k,  T::Q8_K, q3_k::vec_dot_q3_k_q8_k),
        rows8(tk_repacked(T::Q4_K, q4_k::dequantize_row_q4_k, T::Q8_K, avx2::vec_dot_q4_k_q8_k,
            RepackedDots { gemv: avx2::vec_dot_q4_k_q8_k_gemv, gemm: avx2::vec_dot_q4_k_q8_k_gemm }),
            Rows8Dots { gemv: avx2_rows8_q4_k::gemv_q4_k_q8_k, gemm: avx2_rows8_q4_k::gemm_q4_k_q8_k, packed: Some(Q4_K_PACKED) }),
        tk(T::Q5_K, q5_k::dequantize_row_q5_k,  T::Q8_K, avx2::vec_dot_q5_k_q8_k),
        tiled(tk(T::Q6_K, q6_k::dequantize_row_q6_k,  T::Q8_K, avx2::vec_dot_q6_k_q8_k), at::tile_q6_k_q8_k),
    ];
}

/// True when this build runs the SIMD128 kernels (wasm32 built with `+simd128`).
pub const HAS_SIMD128: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use super::super::blocks::{BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1, BlockQ8_0};
    use super::super::simd128 as s;
    use super::super::{float, q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0};
    use super::{tk, tk_repacked, GgmlType, RepackedDots, TypeKernels, VecDot2Rows, T};

    /// `tk` with a two-row dot.
    const fn tk2(
        ty: GgmlType,
        dequantize_row: fn(&[u8], &mut [f32]),
        vec_dot_type: GgmlType,
        vec_dot: fn(usize, &[u8], &[u8]) -> f32,
        vec_dot_2rows: VecDot2Rows,
    ) -> TypeKernels {
        TypeKernels {
            vec_dot_2rows: Some(vec_dot_2rows),
            ..tk(ty, dequantize_row, vec_dot_type, vec_dot)
        }
    }

    /// The scalar table with every kernel that has an AVX2 twin swapped for its SIMD128 twin
    /// (the same kernels as `AVX2`: Q2_K and Q3_K dots stay scalar), plus two-row dots.
    #[rustfmt::skip]
    pub(super) static SIMD128: [TypeKernels; 13] = [
        tk(T::F32,  float::dequantize_row_f32,  T::F32,  s::vec_dot_f32),
        tk(T::F16,  float::dequantize_row_f16,  T::F16,  s::vec_dot_f16),
        tk(T::BF16, float::dequantize_row_bf16, T::BF16, s::vec_dot_bf16),
        tk2(T::Q4_0, q4_0::dequantize_row_q4_0, T::Q8_0, s::vec_dot_32::<BlockQ4_0>, s::vec_dot_32_x2::<BlockQ4_0>),
        tk2(T::Q4_1, q4_1::dequantize_row_q4_1, T::Q8_1, s::vec_dot_32::<BlockQ4_1>, s::vec_dot_32_x2::<BlockQ4_1>),
        tk2(T::Q5_0, q5_0::dequantize_row_q5_0, T::Q8_0, s::vec_dot_32::<BlockQ5_0>, s::vec_dot_32_x2::<BlockQ5_0>),
        tk2(T::Q5_1, q5_1::dequantize_row_q5_1, T::Q8_1, s::vec_dot_32::<BlockQ5_1>, s::vec_dot_32_x2::<BlockQ5_1>),
        tk2(T::Q8_0, q8_0::dequantize_row_q8_0, T::Q8_0, s::vec_dot_32::<BlockQ8_0>, s::vec_dot_32_x2::<BlockQ8_0>),
        tk(T::Q2_K, q2_k::dequantize_row_q2_k,  T::Q8_K, q2_k::vec_dot_q2_k_q8_k),
        tk(T::Q3_K, q3_k::dequantize_row_q3_k,  T::Q8_K, q3_k::vec_dot_q3_k_q8_k),
        tk_repacked(T::Q4_K, q4_k::dequantize_row_q4_k, T::Q8_K, s::vec_dot_q4_k_q8_k,
            RepackedDots { gemv: s::vec_dot_q4_k_q8_k_gemv, gemm: s::vec_dot_q4_k_q8_k_gemm }),
        tk(T::Q5_K, q5_k::dequantize_row_q5_k,  T::Q8_K, s::vec_dot_q5_k_q8_k),
        tk(T::Q6_K, q6_k::dequantize_row_q6_k,  T::Q8_K, s::vec_dot_q6_k_q8_k),
    ];
}

fn find(table: &'static [TypeKernels], t: GgmlType) -> Option<&'static TypeKernels> {
    table.iter().find(|k| k.ty == t)
}

/// The fastest table this build and CPU run.
fn fast_table() -> &'static [TypeKernels] {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        return &x86::AVX2;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return &wasm::SIMD128;
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    &SCALAR
}

/// The fastest kernels this CPU supports for weight type `t` (`None`: not supported yet, or an
/// activation-only format such as Q8_1).
pub fn kernels(t: GgmlType) -> Option<&'static TypeKernels> {
    find(fast_table(), t)
}

/// Which kernel set [`kernels`] and the other dispatching functions here use: `"avx2"`,
/// `"simd128"` or `"scalar"` (tests use it to know what they compare).
pub fn kernel_isa() -> &'static str {
    if HAS_SIMD128 {
        "simd128"
    } else if has_avx2() {
        "avx2"
    } else {
        "scalar"
    }
}

/// The scalar spec kernels for weight type `t`.
pub fn scalar_kernels(t: GgmlType) -> Option<&'static TypeKernels> {
    find(&SCALAR, t)
}

/// Quantize activations `src` into format `t` (a `vec_dot_type`: F32, F16, BF16, Q8_0, Q8_1, Q8_K),
/// writing whole blocks to `dst` (`t.row_bytes(src.len())` bytes). Uses AVX2 or SIMD128 when
/// available; the result is bit-identical to [`quantize_row_scalar`]. Other types leave `dst`
/// untouched (a `debug_assert!` fires).
pub fn quantize_row(t: GgmlType, src: &[f32], dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        match t {
            T::Q8_0 => return super::avx2::quantize_row_q8_0(src, dst),
            T::Q8_1 => return super::avx2::quantize_row_q8_1(src, dst),
            T::Q8_K => return super::avx2::quantize_row_q8_k(src, dst),
            _ => {}
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    match t {
        T::Q8_0 => return super::simd128::quantize_row_q8_0(src, dst),
        T::Q8_1 => return super::simd128::quantize_row_q8_1(src, dst),
        _ => {}
    }
    quantize_row_scalar(t, src, dst)
}

/// Rounds values to f16 precision in place (an f16 cache or accumulator), with F16C or
/// SIMD128 when present.
pub fn round_f16_inplace(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        return super::avx2::round_f16_inplace(x);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    super::simd128::round_f16_inplace(x);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    float::round_f16_inplace(x);
}

/// `y = f16(fma(x, a, y))`: an f16 accumulator update as ggml's x86 `ggml_vec_mad_f16` does it.
pub fn mad_round_f16(y: &mut [f32], a: f32, x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        return super::avx2::mad_round_f16(y, a, x);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    super::simd128::mad_round_f16(y, a, x);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    float::mad_round_f16(y, a, x);
}

/// f16 values (a KV cache row) widened to f32 into `dst[..src.len()]`: `half`'s slice
/// conversion (F16C when the CPU has it), SIMD128 on wasm; bit-identical either way.
pub fn f16_to_f32_row(src: &[half::f16], dst: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    super::simd128::f16_to_f32_row(src, dst);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    f16_to_f32_row_scalar(src, dst);
}

/// Scalar twin of [`f16_to_f32_row`].
pub fn f16_to_f32_row_scalar(src: &[half::f16], dst: &mut [f32]) {
    use half::slice::HalfFloatSliceExt;
    src.convert_to_f32_slice(&mut dst[..src.len()]);
}

/// Scalar twin of [`mad_round_f16`].
pub fn mad_round_f16_scalar(y: &mut [f32], a: f32, x: &[f32]) {
    float::mad_round_f16(y, a, x)
}

/// Scalar twin of [`round_f16_inplace`].
pub fn round_f16_inplace_scalar(x: &mut [f32]) {
    float::round_f16_inplace(x)
}

/// Scalar twin of [`quantize_row`].
pub fn quantize_row_scalar(t: GgmlType, src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(src.len() % t.block_len(), 0);
    debug_assert_eq!(dst.len(), src.len() / t.block_len() * t.block_bytes());
    match t {
        T::F32 => float::quantize_row_f32(src, dst),
        T::F16 => float::quantize_row_f16(src, dst),
        T::BF16 => float::quantize_row_bf16(src, dst),
        T::Q8_0 => q8_0::quantize_row_q8_0(src, dst),
        T::Q8_1 => q8_1::quantize_row_q8_1(src, dst),
        T::Q8_K => q8_k::quantize_row_q8_k(src, dst),
        _ => debug_assert!(false, "{t} is not an activation format"),
    }
}

/// Reference quantizer for weights of type `t` (tests, synthetic GGUF models). Returns false
/// when `t` has no quantizer yet (Q2_K, Q3_K) or the lengths are not whole blocks. The legacy
/// types follow llama.cpp's `quantize_row_*_ref` exactly; Q4_K/Q5_K/Q6_K use simpler min/max
/// scale choices (valid blocks, not byte-identical to llama.cpp's error-searching quantizers).
pub fn quantize_weights(t: GgmlType, src: &[f32], dst: &mut [u8]) -> bool {
    let Some(quantize) = weight_quantizer(t) else {
        return false;
    };
    if !src.len().is_multiple_of(t.block_len())
        || dst.len() != src.len() / t.block_len() * t.block_bytes()
    {
        return false;
    }
    quantize(src, dst);
    true
}

/// Whether [`quantize_weights`] can write type `t` (Q2_K and Q3_K have no quantizer yet).
pub fn can_quantize_weights(t: GgmlType) -> bool {
    weight_quantizer(t).is_some()
}

/// Writes whole blocks of one type from f32 values.
type QuantizeRow = fn(src: &[f32], dst: &mut [u8]);

fn weight_quantizer(t: GgmlType) -> Option<QuantizeRow> {
    Some(match t {
        T::F32 => float::quantize_row_f32,
        T::F16 => float::quantize_row_f16,
        T::BF16 => float::quantize_row_bf16,
        T::Q4_0 => q4_0::quantize_row_q4_0,
        T::Q4_1 => q4_1::quantize_row_q4_1,
        T::Q5_0 => q5_0::quantize_row_q5_0,
        T::Q5_1 => q5_1::quantize_row_q5_1,
        T::Q8_0 => q8_0::quantize_row_q8_0,
        T::Q8_1 => q8_1::quantize_row_q8_1,
        T::Q8_K => q8_k::quantize_row_q8_k,
        T::Q4_K => q4_k::quantize_row_q4_k,
        T::Q5_K => q5_k::quantize_row_q5_k,
        T::Q6_K => q6_k::quantize_row_q6_k,
        T::Q2_K | T::Q3_K => return None,
    })
}
