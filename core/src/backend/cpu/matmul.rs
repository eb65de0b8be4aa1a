//! `out = x · Wᵀ` for a weight matrix stored in the file in any ggml type.
//!
//! Like ggml, activations are first quantized once per row into the weight type's
//! `vec_dot_type` (Q8_0, Q8_1, F16, ...), then every output is one `vec_dot` of a weight row
//! with an activation row. Rows of W are split across threads; prefill walks tokens in tiles
//! so a weight row is reused from cache for many tokens.

use super::threads::{SharedMut, ThreadPool};
use crate::error::{Error, Result};
use crate::gguf::{GgufFile, TensorInfo};
use crate::quant::{self, GgmlType, TypeKernels};

/// A 2-D weight in the model file: `rows` outputs, each a row of `cols` inputs.
#[derive(Clone, Copy)]
pub struct QMatrix {
    pub ty: GgmlType,
    /// Absolute offset of the first row in the file bytes.
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
    pub row_bytes: usize,
    kernels: &'static TypeKernels,
}

impl std::fmt::Debug for QMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "QMatrix({} [{}x{}] @{})",
            self.ty, self.rows, self.cols, self.offset
        )
    }
}

impl QMatrix {
    /// Binds tensor `t` (ggml dims `[cols, rows]`) of a parsed file whose bytes are `file_len` long.
    pub fn from_tensor(gguf: &GgufFile, t: &TensorInfo) -> Result<QMatrix> {
        let kernels = quant::kernels(t.ty).ok_or_else(|| Error::UnsupportedTensorType {
            tensor: t.name.clone(),
            id: t.ty.id(),
        })?;
        let (cols, rows) = match t.dims.as_slice() {
            [c, r] => (*c, *r),
            [c] => (*c, 1),
            _ => {
                return Err(Error::ShapeMismatch {
                    tensor: t.name.clone(),
                    expected: vec![0, 0],
                    found: t.dims.clone(),
                })
            }
        };
        let row_bytes = t.ty.checked_row_bytes(&t.name, cols)?;
        let too_big = |_| Error::Corrupt {
            offset: 0,
            what: "tensor larger than the address space",
        };
        Ok(QMatrix {
            ty: t.ty,
            offset: usize::try_from(gguf.data_offset + t.offset).map_err(too_big)?,
            rows: usize::try_from(rows).map_err(too_big)?,
            cols: usize::try_from(cols).map_err(too_big)?,
            row_bytes: usize::try_from(row_bytes).map_err(too_big)?,
            kernels,
        })
    }

    /// Bytes of row `r`. `file` is the buffer the model was parsed from (bounds were checked
    /// at load, so a mismatch here is a bug, not bad input).
    #[inline]
    pub fn row<'a>(&self, file: &'a [u8], r: usize) -> &'a [u8] {
        let start = self.offset + r * self.row_bytes;
        &file[start..start + self.row_bytes]
    }

    /// Decodes row `r` into `out[..cols]` (token embedding lookup).
    pub fn dequantize_row(&self, file: &[u8], r: usize, out: &mut [f32]) {
        (self.kernels.dequantize_row)(self.row(file, r), &mut out[..self.cols]);
    }

    pub fn vec_dot_type(&self) -> GgmlType {
        self.kernels.vec_dot_type
    }
}

/// Reusable buffers for matmuls: quantized activations. Grows once, never per token.
#[derive(Default)]
pub struct MatmulScratch {
    xq: Vec<u8>,
}

/// Tokens per tile in prefill: a weight row is dotted with this many activation rows
/// while it is hot in L1.
const TOKEN_TILE: usize = 32;

/// f32 outputs per 64-byte cache line.
const ROWS_PER_LINE: usize = 16;

/// `out[t, r] = Σ_c x[t, c] · W[r, c]` for `x`: [n_tokens, cols], `out`: [n_tokens, rows].
pub fn matmul(
    pool: &ThreadPool,
    file: &[u8],
    w: &QMatrix,
    x: &[f32],
    out: &mut [f32],
    n_tokens: usize,
    scratch: &mut MatmulScratch,
) {
    debug_assert_eq!(x.len(), n_tokens * w.cols);
    debug_assert_eq!(out.len(), n_tokens * w.rows);
    let act_ty = w.kernels.vec_dot_type;
    // Whole blocks were checked at load: cols is a multiple of the weight's block length,
    // and every vec_dot_type's block length divides it.
    let xq_row = (w.cols / act_ty.block_len()) * act_ty.block_bytes();
    scratch.xq.resize(xq_row * n_tokens, 0);
    for t in 0..n_tokens {
        quant::quantize_row(
            act_ty,
            &x[t * w.cols..(t + 1) * w.cols],
            &mut scratch.xq[t * xq_row..(t + 1) * xq_row],
        );
    }
    let xq = &scratch.xq[..];
    // llama.cpp's summation order for this matrix: a repacked one differs between activation
    // rows inside whole groups of four (gemm) and the rest (gemv); near-ties follow the order.
    // A two-row dot (SIMD128) gives each row's `vec_dot` bits, so it serves any row pair.
    let (dot_grouped, dot_single, dot_2rows) = match w.kernels.repacked {
        Some(rp) if w.rows.is_multiple_of(quant::REPACK_ROWS) => (rp.gemm, rp.gemv, None),
        _ => (
            w.kernels.vec_dot,
            w.kernels.vec_dot,
            w.kernels.vec_dot_2rows,
        ),
    };
    let grouped = if n_tokens > 3 {
        n_tokens - n_tokens % 4
    } else {
        0
    };
    let (rows, cols) = (w.rows, w.cols);

    // Chunks of whole cache lines of `out` (16 f32), so two threads never write one line.
    let n_chunks = (pool.n_threads() * 8).min(rows).max(1);
    let chunk = rows.div_ceil(n_chunks).next_multiple_of(ROWS_PER_LINE);
    let n_chunks = rows.div_ceil(chunk);
    let out_ptr = SharedMut::new(out);
    pool.for_each(n_chunks, |c| {
        let r0 = c * chunk;
        let r1 = (r0 + chunk).min(rows);
        for t0 in (0..n_tokens).step_by(TOKEN_TILE) {
            let t1 = (t0 + TOKEN_TILE).min(n_tokens);
            let mut r_single = r0;
            if let Some(dot2) = dot_2rows {
                for r in (r0..r1 - 1).step_by(2) {
                    let (wa, wb) = (w.row(file, r), w.row(file, r + 1));
                    for t in t0..t1 {
                        let [a, b] = dot2(cols, wa, wb, &xq[t * xq_row..(t + 1) * xq_row]);
                        // SAFETY: t < n_tokens and r < r + 1 < r1 <= rows, so both indices are
                        // inside `out`; rows [r0, r1) belong to this chunk alone (see below).
                        unsafe {
                            out_ptr.write(t * rows + r, a);
                            out_ptr.write(t * rows + r + 1, b);
                        }
                    }
                    r_single = r + 2;
                }
            }
            for r in r_single..r1 {
                let wr = w.row(file, r);
                for t in t0..t1 {
                    let dot = if t < grouped { dot_grouped } else { dot_single };
                    let v = dot(cols, wr, &xq[t * xq_row..(t + 1) * xq_row]);
                    // SAFETY: t < n_tokens and r < rows, so the index is inside `out`
                    // (len n_tokens * rows, asserted above); row ranges [r0, r1) of different
                    // chunks are disjoint, so no two tasks write the same element; `out` stays
                    // mutably borrowed until for_each returns.
                    unsafe { out_ptr.write(t * rows + r, v) };
                }
            }
        }
    });
}
