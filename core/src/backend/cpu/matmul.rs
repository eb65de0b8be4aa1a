//! `out = x · Wᵀ` for a weight matrix stored in the file in any ggml type.
//!
//! Like ggml, activations are first quantized once per row into the weight type's
//! `vec_dot_type` (Q8_0, Q8_1, F16, ...), then every output is one `vec_dot` of a weight row
//! with an activation row. Rows of W are split across threads; prefill walks tokens in tiles
//! so a weight row is reused from cache for many tokens.

use super::threads::{SharedMut, ThreadPool};
use crate::error::{Error, Result};
use crate::gguf::{GgufFile, TensorInfo};
use crate::quant::{self, GgmlType, TypeKernels, TILE_ROWS, TILE_TOKENS};

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
    /// The rows are in the type's eight-row layout (`repack_rows8`), not the file's.
    packed: bool,
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
            packed: false,
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

    /// The bytes of this matrix in `file`.
    pub fn byte_range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.rows * self.row_bytes
    }

    /// Rewrites this matrix's bytes in `file` (the model's, writable) into the type's
    /// eight-row layout, which its matmuls then read (the same results, faster). Returns false,
    /// changing nothing, when the type has no such layout here. After it, only matmuls read
    /// these bytes: not `dequantize_row`, nor a GPU upload.
    /// On the calling thread: split across two threads the repack took twice as long
    /// (TinyLlama Q4_0 on a Zen 4 VM; likely the page faults of one copy-on-write map).
    pub fn repack_rows8(&mut self, file: &mut [u8]) -> bool {
        let Some(packed) = self.packable() else {
            return false;
        };
        let group_bytes = quant::REPACK_ROWS * self.row_bytes;
        let mut rows = vec![0u8; group_bytes];
        for group in file[self.byte_range()].chunks_exact_mut(group_bytes) {
            rows.copy_from_slice(group);
            (packed.repack)(self.cols, &rows, group);
        }
        self.packed = true;
        true
    }

    /// The eight-row layout's kernels, where this matrix is in the file's layout and could be
    /// repacked into it.
    fn packable(&self) -> Option<quant::Rows8Packed> {
        let packed = self.kernels.rows8.and_then(|r8| r8.packed)?;
        (self.rows.is_multiple_of(quant::REPACK_ROWS) && !self.packed).then_some(packed)
    }

    /// The eight-row layout's kernels, where this matrix has been repacked into it.
    fn packed_dots(&self) -> Option<quant::Rows8Packed> {
        self.kernels
            .rows8
            .and_then(|r8| r8.packed)
            .filter(|_| self.packed)
    }
}

/// Reusable buffers for matmuls: quantized activations. Grows once, never per token.
#[derive(Default)]
pub struct MatmulScratch {
    xq: Vec<u8>,
    /// Per-block quant sums of `xq` (Q8_0), for the eight-row kernels.
    sums: Vec<i32>,
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
    if let Some(r8) = w
        .kernels
        .rows8
        .filter(|_| w.rows.is_multiple_of(quant::REPACK_ROWS))
    {
        let sums = &mut scratch.sums;
        return matmul_rows8(pool, file, w, r8, xq, xq_row, out, n_tokens, sums);
    }
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
    let grouped = grouped_tokens(n_tokens);
    // Tokens a tile dot takes: all of them in whole tiles (tiles are `vec_dot`'s order; no
    // repacked type has one). A multiple of TILE_TOKENS.
    let tiled_tokens = match w.kernels.dot_tile {
        Some(_) => n_tokens - n_tokens % TILE_TOKENS,
        None => 0,
    };
    let (rows, cols) = (w.rows, w.cols);
    let (chunk, n_chunks) = row_chunks(pool, rows);
    let out_ptr = SharedMut::new(out);
    // One-row dots over a block of rows and tokens, in llama.cpp's order for each token.
    let single_dots = |rs: std::ops::Range<usize>, ts: std::ops::Range<usize>| {
        for r in rs {
            let wr = w.row(file, r);
            if w.row_bytes <= PREFETCH_MAX_ROW_BYTES && r + PREFETCH_ROWS < rows {
                prefetch(w.row(file, r + PREFETCH_ROWS));
            }
            for t in ts.clone() {
                let dot = if t < grouped { dot_grouped } else { dot_single };
                let v = dot(cols, wr, &xq[t * xq_row..(t + 1) * xq_row]);
                // SAFETY: t < n_tokens and r < rows, so the index is inside `out` (len
                // n_tokens * rows, asserted above); row ranges of different chunks are
                // disjoint, so no two tasks write the same element; `out` stays mutably
                // borrowed until for_each returns.
                unsafe { out_ptr.write(t * rows + r, v) };
            }
        }
    };
    pool.for_each(n_chunks, |c| {
        let r0 = c * chunk;
        let r1 = (r0 + chunk).min(rows);
        for t0 in (0..n_tokens).step_by(TOKEN_TILE) {
            let t1 = (t0 + TOKEN_TILE).min(n_tokens);
            let xrow = |t: usize| &xq[t * xq_row..(t + 1) * xq_row];
            // Whole tiles first: rows in pairs, tokens in fours (TOKEN_TILE is a multiple of 4).
            let (mut r_single, mut t_single) = (r0, t0);
            if let Some(tile) = w.kernels.dot_tile {
                // A multiple of TILE_TOKENS: t0 and tiled_tokens are, and t1 is whenever it is
                // below tiled_tokens (then it is t0 + TOKEN_TILE).
                let t_end = tiled_tokens.clamp(t0, t1);
                let r_end = r0 + (r1 - r0) / TILE_ROWS * TILE_ROWS;
                for r in (r0..r_end).step_by(TILE_ROWS) {
                    let wr = std::array::from_fn(|i| w.row(file, r + i));
                    for t in (t0..t_end).step_by(TILE_TOKENS) {
                        let v = tile(cols, wr, std::array::from_fn(|i| xrow(t + i)));
                        for (i, row) in v.iter().enumerate() {
                            for (j, &vj) in row.iter().enumerate() {
                                // SAFETY: t + i < t_end <= n_tokens and r + j < r_end <= r1 <= rows,
                                // so the index is inside `out`; rows [r0, r1) are this chunk's alone.
                                unsafe { out_ptr.write((t + i) * rows + r + j, vj) };
                            }
                        }
                    }
                }
                // What no tile covered: the odd row for every token, and every row for the
                // tokens past the last whole tile.
                if t_end > t0 {
                    single_dots(r_end..r1, t0..t_end);
                    (r_single, t_single) = (r0, t_end);
                }
            }
            if let Some(dot2) = dot_2rows {
                for r in (r_single..r1 - 1).step_by(2) {
                    let (wa, wb) = (w.row(file, r), w.row(file, r + 1));
                    for t in t_single..t1 {
                        let [a, b] = dot2(cols, wa, wb, xrow(t));
                        // SAFETY: t < n_tokens and r < r + 1 < r1 <= rows, so both indices are
                        // inside `out`; rows [r0, r1) belong to this chunk alone (see below).
                        unsafe {
                            out_ptr.write(t * rows + r, a);
                            out_ptr.write(t * rows + r + 1, b);
                        }
                    }
                }
                r_single += (r1 - r_single) / 2 * 2;
            }
            single_dots(r_single..r1, t_single..t1);
        }
    });
}

/// How far ahead a pass over rows (one activation row: decode) asks for weight rows: the
/// hardware prefetcher alone left SmolLM2's decode ~15% slower (a Zen 4 VM, 1 thread).
const PREFETCH_ROWS: usize = 8;

/// Rows longer than this are left to the hardware prefetcher: asking for TinyLlama's 2 KiB
/// Q8_0 rows made its decode ~40% slower on the same VM.
const PREFETCH_MAX_ROW_BYTES: usize = 1024;

/// Asks the CPU to bring `bytes` into cache (a hint: no effect on results).
#[inline(always)]
fn prefetch(bytes: &[u8]) {
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
    #[cfg(target_arch = "x86_64")]
    for off in (0..bytes.len()).step_by(64) {
        // SAFETY: off < bytes.len(), so the pointer is inside the slice; a prefetch reads
        // nothing architecturally and cannot fault.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                bytes.as_ptr().add(off).cast(),
            )
        }
    }
}

/// Activation rows llama.cpp's repacked kernels take in whole groups of four (gemm): all but
/// the last `n % 4`, and none of a batch of three or fewer (gemv for each).
fn grouped_tokens(n_tokens: usize) -> usize {
    if n_tokens > 3 {
        n_tokens - n_tokens % 4
    } else {
        0
    }
}

/// Rows per thread task and the task count: whole cache lines of `out` (16 f32) per task, so
/// two threads never write one line.
fn row_chunks(pool: &ThreadPool, rows: usize) -> (usize, usize) {
    let n_chunks = (pool.n_threads() * 8).min(rows).max(1);
    let chunk = rows.div_ceil(n_chunks).next_multiple_of(ROWS_PER_LINE);
    (chunk, rows.div_ceil(chunk))
}

/// `matmul` of a repacked type with eight-row kernels, rows a multiple of eight: every output
/// from `gemm` (whole groups of four tokens) or `gemv` (the rest), eight rows at a time.
#[allow(clippy::too_many_arguments)]
fn matmul_rows8(
    pool: &ThreadPool,
    file: &[u8],
    w: &QMatrix,
    r8: quant::Rows8Dots,
    xq: &[u8],
    xq_row: usize,
    out: &mut [f32],
    n_tokens: usize,
    sums: &mut Vec<i32>,
) {
    const R: usize = quant::REPACK_ROWS;
    // Block sums for Q8_0 activations; Q8_K blocks hold theirs (`nb` = 0: empty rows).
    let nb = match w.kernels.vec_dot_type {
        GgmlType::Q8_0 => xq_row / GgmlType::Q8_0.block_bytes(),
        _ => 0,
    };
    sums.resize(nb * n_tokens, 0);
    if nb > 0 {
        for (s, x) in sums.chunks_exact_mut(nb).zip(xq.chunks_exact(xq_row)) {
            quant::q8_0_block_sums(x, s);
        }
    }
    let sums = &sums[..];
    let (rows, cols) = (w.rows, w.cols);
    let grouped = grouped_tokens(n_tokens);
    let (chunk, n_chunks) = row_chunks(pool, rows);
    let out_ptr = SharedMut::new(out);
    let xrow = |t: usize| &xq[t * xq_row..(t + 1) * xq_row];
    let srow = |t: usize| &sums[t * nb..(t + 1) * nb];
    let packed = w.packed_dots();
    // The eight rows from r: as one group in the eight-row layout, or as the file has them.
    let group = |r: usize| {
        let at = w.offset + r * w.row_bytes;
        &file[at..at + R * w.row_bytes]
    };
    let rows_at = |r: usize| std::array::from_fn(|i| w.row(file, r + i));
    let gemm = |r: usize, t: usize| {
        let x = std::array::from_fn(|i| xrow(t + i));
        let s = std::array::from_fn(|i| srow(t + i));
        match packed {
            Some(p) => (p.gemm)(cols, group(r), x, s),
            None => (r8.gemm)(cols, rows_at(r), x, s),
        }
    };
    let gemv = |r: usize, t: usize| match packed {
        Some(p) => (p.gemv)(cols, group(r), xrow(t), srow(t)),
        None => (r8.gemv)(cols, rows_at(r), xrow(t), srow(t)),
    };
    pool.for_each(n_chunks, |c| {
        // Chunks are whole cache lines (16 rows) and rows a multiple of 8: whole groups.
        let (r0, r1) = (c * chunk, (c * chunk + chunk).min(rows));
        for t0 in (0..n_tokens).step_by(TOKEN_TILE) {
            let t1 = (t0 + TOKEN_TILE).min(n_tokens);
            // t0 is a multiple of four (TOKEN_TILE is), so these are whole groups.
            let t_grouped = grouped.clamp(t0, t1);
            for r in (r0..r1).step_by(R) {
                let put = |t: usize, v: quant::Rows8| {
                    for (i, &vi) in v.iter().enumerate() {
                        // SAFETY: t < n_tokens and r + i < r1 <= rows, so the index is inside
                        // `out` (len n_tokens * rows); rows [r0, r1) are this chunk's alone,
                        // and `out` stays mutably borrowed until for_each returns.
                        unsafe { out_ptr.write(t * rows + r + i, vi) };
                    }
                };
                for t in (t0..t_grouped).step_by(TILE_TOKENS) {
                    for (i, vi) in gemm(r, t).into_iter().enumerate() {
                        put(t + i, vi);
                    }
                }
                for t in t_grouped..t1 {
                    put(t, gemv(r, t));
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::synthetic::fill_uniform;
    use crate::sample::SplitMix64;

    /// A matrix of `rows` x `cols` weights of type `ty`, its rows from byte 0 of the file.
    fn matrix(ty: GgmlType, rows: usize, cols: usize) -> QMatrix {
        QMatrix {
            ty,
            offset: 0,
            rows,
            cols,
            row_bytes: cols / ty.block_len() * ty.block_bytes(),
            kernels: quant::kernels(ty).unwrap(),
            packed: false,
        }
    }

    /// `n` uniform values in [-1, 1) from `seed` (the synthetic models' filler).
    fn pseudo_random(seed: u64, n: usize) -> Vec<f32> {
        let mut v = vec![0.0; n];
        fill_uniform(&mut SplitMix64::new(seed), &mut v, 1.0);
        v
    }

    /// Every output, whether a tile, a two-row dot or a one-row dot computed it, carries the
    /// bits of the one-row dot llama.cpp's order gives it: for a repacked matrix the gemm order
    /// inside whole groups of four tokens and the gemv order after them, else `vec_dot`. Shapes
    /// cut tiles at every edge: odd rows, token counts around the group and tile sizes.
    #[test]
    fn matmul_outputs_equal_their_one_row_dots() {
        let pool = ThreadPool::new(2);
        let mut scratch = MatmulScratch::default();
        for (ty, cols) in [
            (GgmlType::Q4_0, 160),
            (GgmlType::Q4_1, 96),
            (GgmlType::Q8_0, 64),
            (GgmlType::Q5_0, 32),
            (GgmlType::Q4_K, 512),
            (GgmlType::Q6_K, 256),
            (GgmlType::F32, 40),
        ] {
            for rows in [8, 37, 48] {
                let w = matrix(ty, rows, cols);
                let mut file = vec![0u8; rows * w.row_bytes];
                let vals = pseudo_random(rows as u64, rows * cols);
                assert!(quant::quantize_weights(ty, &vals, &mut file));
                for n_tokens in [1, 3, 5, 8, 37] {
                    let x = pseudo_random(1000 + n_tokens as u64, n_tokens * cols);
                    let mut out = vec![0.0f32; n_tokens * rows];
                    matmul(&pool, &file, &w, &x, &mut out, n_tokens, &mut scratch);
                    let act = w.vec_dot_type();
                    let mut xq = vec![0u8; cols / act.block_len() * act.block_bytes()];
                    let repacked = w
                        .kernels
                        .repacked
                        .filter(|_| rows % quant::REPACK_ROWS == 0);
                    let grouped = grouped_tokens(n_tokens);
                    for t in 0..n_tokens {
                        quant::quantize_row(act, &x[t * cols..(t + 1) * cols], &mut xq);
                        let dot = match repacked {
                            Some(rp) if t < grouped => rp.gemm,
                            Some(rp) => rp.gemv,
                            None => w.kernels.vec_dot,
                        };
                        for r in 0..rows {
                            let want = dot(cols, w.row(&file, r), &xq);
                            let got = out[t * rows + r];
                            assert_eq!(
                                got.to_bits(),
                                want.to_bits(),
                                "{ty} {rows}x{cols}, {n_tokens} tokens: [{t}, {r}] {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
