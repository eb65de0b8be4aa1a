//! Causal multi-head attention with grouped-query heads over the KV cache, optionally
//! limited to a sliding window. Shared by every architecture.
//!
//! The cache holds f16-precision values (llama.cpp's default f16 KV cache). Which rounding the
//! rest uses follows the llama.cpp CPU path being mirrored, because near-tie tokens depend on it:
//! - without flash attention, ggml's mul_mat converts Q and the softmax probabilities to the
//!   f16 dot type of K and V: `Kernel::MulMat`;
//! - with flash attention (llama.cpp's "auto" default on CPU), micro-batches of fewer than 64
//!   rows take the one-row kernel (f16 Q, online softmax, an f16 V accumulator rounded at every
//!   step): `Kernel::FlashRow`; larger micro-batches take the tiled kernel (f32 Q, 64-key
//!   tiles, an f32 accumulator): `Kernel::FlashTiled`.
//!
//! The flash kernels follow ggml's x86 operation order exactly (bit-identical results); the
//! mul_mat path reproduces its roundings but not its summation order.

use super::flash_group::{flash_tiled_rows, QueryRow};
use crate::backend::cpu::fma_fn;
use crate::backend::cpu::ops::{
    axpy, dot_f16_ggml, dot_f32, exp_sub_inplace, fma_axpy, fma_chain_dots, scale_inplace,
    softmax_inplace,
};
use crate::backend::cpu::threads::{SharedMut, ThreadPool};
use crate::quant::{f16_to_f32_row, mad_round_f16, round_f16_inplace};
use half::f16;
use half::slice::HalfFloatSliceExt;

/// Largest head size supported (checked at load).
pub const MAX_HEAD_DIM: usize = 512;

/// Micro-batches with at least this many rows take ggml's tiled flash-attention kernel.
const FLASH_TILED_MIN_ROWS: usize = 64;

/// Cells per key tile of ggml's tiled flash-attention kernel (tiles start at cell 0).
pub(super) const FLASH_KV_TILE: usize = 64;

/// Query heads the one-row kernel takes together over one KV head (more are done in turns).
const HEADS_PER_PASS: usize = 8;

/// Which llama.cpp CPU attention path to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    MulMat,
    FlashRow,
    FlashTiled,
}

impl Kernel {
    fn select(flash_attention: bool, n_tok: usize) -> Kernel {
        match (flash_attention, n_tok >= FLASH_TILED_MIN_ROWS) {
            (false, _) => Kernel::MulMat,
            (true, false) => Kernel::FlashRow,
            (true, true) => Kernel::FlashTiled,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct AttnShape {
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub head_dim_v: usize,
    /// Multiplies q·k before the softmax.
    pub scale: f32,
    /// Keys at most this many positions back are visible (including the query's own).
    pub window: Option<usize>,
}

impl AttnShape {
    /// Cache positions the query at position `p` sees: causal, inside the window if any.
    fn visible(&self, p: usize) -> std::ops::Range<usize> {
        self.window.map_or(0, |w| (p + 1).saturating_sub(w))..p + 1
    }
}

/// One layer's f16 cache, viewed for reading: rows are widened to f32 one head at a time.
pub(super) struct KvView<'a> {
    k: &'a [f16],
    v: &'a [f16],
    /// Row widths: n_head_kv · head_dim, n_head_kv · head_dim_v
    dk: usize,
    dv: usize,
}

impl KvView<'_> {
    #[inline]
    pub(super) fn k_into(&self, pos: usize, kvh: usize, out: &mut [f32]) {
        let hd = out.len();
        f16_to_f32_row(
            &self.k[pos * self.dk + kvh * hd..pos * self.dk + (kvh + 1) * hd],
            out,
        );
    }
    #[inline]
    pub(super) fn v_into(&self, pos: usize, kvh: usize, out: &mut [f32]) {
        let hd = out.len();
        f16_to_f32_row(
            &self.v[pos * self.dv + kvh * hd..pos * self.dv + (kvh + 1) * hd],
            out,
        );
    }
}

/// How many groups the `n_tok` tokens are split into, and tokens per group, so that `heads`
/// tasks per group still feed every thread when heads are few.
fn token_groups(pool: &ThreadPool, heads: usize, n_tok: usize) -> (usize, usize) {
    let groups = (pool.n_threads() * 4)
        .div_ceil(heads)
        .clamp(1, n_tok.max(1));
    (groups, n_tok.div_ceil(groups))
}

/// Writes the batch's K and V rows into the cache at `pos0..pos0+n_tok`, then computes
/// `out` [n_tok, n_head · head_dim_v] from `q` [n_tok, n_head · head_dim].
#[allow(clippy::too_many_arguments)]
pub fn attention(
    pool: &ThreadPool,
    flash_attention: bool,
    sh: AttnShape,
    q: &[f32],
    k_new: &[f32],
    v_new: &[f32],
    cache_k: &mut [f16],
    cache_v: &mut [f16],
    pos0: usize,
    n_tok: usize,
    out: &mut [f32],
    scores: &mut Vec<f32>,
) {
    let (dk, dv) = (sh.n_head_kv * sh.head_dim, sh.n_head_kv * sh.head_dim_v);
    cache_k[pos0 * dk..(pos0 + n_tok) * dk].convert_from_f32_slice(&k_new[..n_tok * dk]);
    cache_v[pos0 * dv..(pos0 + n_tok) * dv].convert_from_f32_slice(&v_new[..n_tok * dv]);
    let kv = KvView {
        k: cache_k,
        v: cache_v,
        dk,
        dv,
    };
    let kernel = Kernel::select(flash_attention, n_tok);
    if kernel == Kernel::FlashRow {
        flash_rows_by_kv_head(pool, sh, &kv, q, pos0, n_tok, out);
        return;
    }
    // The grouped twin of `head_flash_tiled` is built on FMA instructions; without them
    // (wasm) `mul_add` is a libm call, and the one-row kernel's own lane code is faster.
    if kernel == Kernel::FlashTiled && crate::quant::has_avx2() {
        flash_tiled_by_kv_head(pool, sh, &kv, q, pos0, n_tok, out);
        return;
    }

    let n_kv = pos0 + n_tok;
    let (groups, per_group) = token_groups(pool, sh.n_head, n_tok);
    let n_tasks = sh.n_head * groups;
    scores.resize(n_tasks * n_kv, 0.0);
    let scores_ptr = SharedMut::new(scores);
    let out_ptr = SharedMut::new(out);
    let q_per_kv = sh.n_head / sh.n_head_kv;
    let wq = sh.n_head * sh.head_dim;
    let wo = sh.n_head * sh.head_dim_v;

    pool.for_each(n_tasks, |task| {
        let (h, g) = (task % sh.n_head, task / sh.n_head);
        let kvh = h / q_per_kv;
        for t in g * per_group..((g + 1) * per_group).min(n_tok) {
            let range = sh.visible(pos0 + t);
            let mut qh = [0.0f32; MAX_HEAD_DIM];
            let qh = &mut qh[..sh.head_dim];
            qh.copy_from_slice(&q[t * wq + h * sh.head_dim..t * wq + (h + 1) * sh.head_dim]);
            if kernel != Kernel::FlashTiled {
                round_f16_inplace(qh);
            }
            // SAFETY: (t, h) pairs are distinct across tasks (h from the task, t from its
            // group), so these head_dim_v-long ranges of `out` are disjoint and in bounds
            // (t < n_tok, h < n_head); `out` stays borrowed until for_each returns.
            let o = unsafe { out_ptr.slice(t * wo + h * sh.head_dim_v, sh.head_dim_v) };
            // SAFETY: task ranges [task*n_kv, (task+1)*n_kv) are disjoint and inside `scores`
            // (resized to n_tasks*n_kv above); it stays borrowed until for_each returns.
            let s = unsafe { scores_ptr.slice(task * n_kv, n_kv) };
            match kernel {
                Kernel::FlashTiled => head_flash_tiled(&kv, sh, kvh, qh, range, o),
                _ => head_mul_mat(&kv, sh, kvh, qh, range, s, o),
            }
        }
    });
}

/// softmax(scale · q·Kⱼ) · Vⱼ over positions `range`, probabilities rounded to f16 (ggml's
/// mul_mat path).
fn head_mul_mat(
    kv: &KvView<'_>,
    sh: AttnShape,
    kvh: usize,
    q: &[f32],
    range: std::ops::Range<usize>,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let mut row = [0.0f32; MAX_HEAD_DIM];
    let s = &mut scores[..range.len()];
    for (j, sj) in range.clone().zip(s.iter_mut()) {
        let k = &mut row[..sh.head_dim];
        kv.k_into(j, kvh, k);
        *sj = dot_f32(q, k) * sh.scale;
    }
    softmax_inplace(s);
    round_f16_inplace(s);
    out.fill(0.0);
    for (j, &sj) in range.zip(s.iter()) {
        let v = &mut row[..sh.head_dim_v];
        kv.v_into(j, kvh, v);
        axpy(out, sj, v);
    }
}

/// Runs `task(kvh, tokens)` for every KV head over groups of the batch's tokens, enough
/// tasks to feed every thread when KV heads are few. Each (KV head, token) is in one task, so
/// the outputs of its query heads belong to that task alone.
fn for_each_kv_head_group(
    pool: &ThreadPool,
    sh: AttnShape,
    n_tok: usize,
    task: impl Fn(usize, std::ops::Range<usize>) + Sync + Send,
) {
    let (groups, per_group) = token_groups(pool, sh.n_head_kv, n_tok);
    pool.for_each(sh.n_head_kv * groups, |i| {
        let (kvh, g) = (i % sh.n_head_kv, i / sh.n_head_kv);
        task(kvh, g * per_group..((g + 1) * per_group).min(n_tok));
    });
}

/// The one-row flash kernel for every (query head, token), by KV head and token group, so
/// each cached K and V row is widened from f16 once for all the query heads that share it
/// (3 under SmolLM2's grouped-query attention) rather than once per head.
fn flash_rows_by_kv_head(
    pool: &ThreadPool,
    sh: AttnShape,
    kv: &KvView<'_>,
    q: &[f32],
    pos0: usize,
    n_tok: usize,
    out: &mut [f32],
) {
    let q_per_kv = sh.n_head / sh.n_head_kv;
    let (hd, hdv) = (sh.head_dim, sh.head_dim_v);
    let (wq, wo) = (sh.n_head * hd, sh.n_head * hdv);
    let out_ptr = SharedMut::new(out);
    for_each_kv_head_group(pool, sh, n_tok, |kvh, tokens| {
        for t in tokens {
            for h0 in (kvh * q_per_kv..(kvh + 1) * q_per_kv).step_by(HEADS_PER_PASS) {
                let nh = ((kvh + 1) * q_per_kv - h0).min(HEADS_PER_PASS);
                let mut qs = [0.0f32; HEADS_PER_PASS * MAX_HEAD_DIM];
                let qs = &mut qs[..nh * hd];
                qs.copy_from_slice(&q[t * wq + h0 * hd..t * wq + (h0 + nh) * hd]);
                round_f16_inplace(qs);
                // SAFETY: each (t, head) belongs to one task (for_each_kv_head_group), so these
                // ranges of `out` are disjoint and in bounds (t < n_tok, h0 + nh <= n_head);
                // `out` stays borrowed until the tasks return.
                let o = unsafe { out_ptr.slice(t * wo + h0 * hdv, nh * hdv) };
                heads_flash_row(kv, sh, kvh, qs, sh.visible(pos0 + t), o);
            }
        }
    });
}

/// The tiled flash kernel for every (query head, token), by KV head and token group:
/// [`flash_tiled_rows`] widens each key tile once for all the group's rows.
fn flash_tiled_by_kv_head(
    pool: &ThreadPool,
    sh: AttnShape,
    kv: &KvView<'_>,
    q: &[f32],
    pos0: usize,
    n_tok: usize,
    out: &mut [f32],
) {
    let q_per_kv = sh.n_head / sh.n_head_kv;
    let (hd, hdv) = (sh.head_dim, sh.head_dim_v);
    let (wq, wo) = (sh.n_head * hd, sh.n_head * hdv);
    let out_ptr = SharedMut::new(out);
    for_each_kv_head_group(pool, sh, n_tok, |kvh, tokens| {
        let mut rows = Vec::with_capacity(tokens.len() * q_per_kv);
        for t in tokens {
            for h in kvh * q_per_kv..(kvh + 1) * q_per_kv {
                rows.push(QueryRow {
                    q: &q[t * wq + h * hd..t * wq + (h + 1) * hd],
                    range: sh.visible(pos0 + t),
                    // SAFETY: each (t, h) belongs to one task (for_each_kv_head_group), so these
                    // ranges of `out` are disjoint and in bounds (t < n_tok, h < n_head); `out`
                    // stays borrowed until the tasks return.
                    out: unsafe { out_ptr.slice(t * wo + h * hdv, hdv) },
                });
            }
        }
        flash_tiled_rows(kv, sh, kvh, &mut rows);
    });
}

/// One-pass attention of `qs.len() / head_dim` query heads sharing KV head `kvh`: per head a
/// running max and sum and V accumulated in f16 (ggml's CPU flash-attention kernel for one
/// query row), with ggml's operation order and fused multiply-adds, so each head's result is
/// bit-identical to llama.cpp's.
fn heads_flash_row(
    kv: &KvView<'_>,
    sh: AttnShape,
    kvh: usize,
    qs: &[f32],
    range: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let (hd, hdv) = (sh.head_dim, sh.head_dim_v);
    let nh = qs.len() / hd;
    // `acc` only ever holds f16 values: it is rounded after every update, as an f16 array.
    let mut acc = [0.0f32; HEADS_PER_PASS * MAX_HEAD_DIM];
    let acc = &mut acc[..nh * hdv];
    let mut max = [f32::NEG_INFINITY; HEADS_PER_PASS];
    let mut sum = [0.0f32; HEADS_PER_PASS];
    let (mut krow, mut vrow) = ([0.0f32; MAX_HEAD_DIM], [0.0f32; MAX_HEAD_DIM]);
    let (k, v) = (&mut krow[..hd], &mut vrow[..hdv]);
    for j in range {
        kv.k_into(j, kvh, k);
        kv.v_into(j, kvh, v);
        for (i, (q, acc)) in qs
            .chunks_exact(hd)
            .zip(acc.chunks_exact_mut(hdv))
            .enumerate()
        {
            let s = dot_f16_ggml(q, k) * sh.scale;
            let (mut ms, mut vs) = (1.0f32, 1.0f32);
            if s > max[i] {
                ms = (max[i] - s).exp();
                max[i] = s;
                scale_inplace(acc, ms);
                round_f16_inplace(acc);
            } else {
                vs = (s - max[i]).exp();
            }
            mad_round_f16(acc, vs, v);
            sum[i] = sum[i] * ms + vs;
        }
    }
    for ((o, a), &sum) in out
        .chunks_exact_mut(hdv)
        .zip(acc.chunks_exact(hdv))
        .zip(&sum)
    {
        let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
        for (o, a) in o.iter_mut().zip(a) {
            *o = a * inv;
        }
    }
}

fma_fn! {
    /// ggml's tiled CPU flash attention for one query row, in its exact operation order: f32 Q;
    /// keys in 64-cell tiles; each score a chain of fused multiply-adds over the head dimension
    /// (four keys' chains at once, one per SIMD128 lane, on wasm); per tile, the running max and
    /// sum rescaled by libm `exp`, probabilities from
    /// [`expf_ggml`](crate::backend::cpu::ops::expf_ggml) summed in 8-lane groups into f64; V
    /// accumulated in f32 by fused multiply-adds over the tile's keys in order; the result
    /// scaled by `1/sum`.
    fn head_flash_tiled(
        kv: &KvView<'_>,
        sh: AttnShape,
        kvh: usize,
        q: &[f32],
        range: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        let mut acc = [0.0f32; MAX_HEAD_DIM];
        let acc = &mut acc[..sh.head_dim_v];
        let (mut max, mut sum) = (f32::NEG_INFINITY, 0.0f32);
        let mut row = [0.0f32; MAX_HEAD_DIM];
        // [4, head_dim]: the keys of one group of scores (computed four at a time).
        let mut keys = [0.0f32; 4 * MAX_HEAD_DIM];
        let hd = sh.head_dim;
        let first = range.start / FLASH_KV_TILE * FLASH_KV_TILE;
        for t0 in (first..range.end).step_by(FLASH_KV_TILE) {
            let mut p = [f32::NEG_INFINITY; FLASH_KV_TILE];
            let visible = range.start.max(t0)..range.end.min(t0 + FLASH_KV_TILE);
            for j0 in visible.clone().step_by(4) {
                let m = (visible.end - j0).min(4);
                for (i, k) in keys[..m * hd].chunks_exact_mut(hd).enumerate() {
                    kv.k_into(j0 + i, kvh, k);
                }
                let mut d = [0.0f32; 4];
                fma_chain_dots(q, &keys[..m * hd], &mut d[..m]);
                for (pj, dj) in p[j0 - t0..j0 - t0 + m].iter_mut().zip(d) {
                    *pj = dj * sh.scale;
                }
            }
            let tile_max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let new_max = max.max(tile_max);
            if new_max > max {
                let ms = (max - new_max).exp();
                scale_inplace(acc, ms);
                sum *= ms;
            }
            max = new_max;
            exp_sub_inplace(&mut p, max);
            let mut tile_sum = 0.0f64;
            for g in p.chunks_exact(8) {
                let h = [g[4] + g[0], g[5] + g[1], g[6] + g[2], g[7] + g[3]];
                tile_sum += ((h[0] + h[2]) + (h[1] + h[3])) as f64;
            }
            sum = (sum as f64 + tile_sum) as f32;
            for j in visible {
                let v = &mut row[..sh.head_dim_v];
                kv.v_into(j, kvh, v);
                fma_axpy(acc, p[j - t0], v);
            }
        }
        let inv = if sum == 0.0 { 0.0 } else { 1.0 / sum };
        for (o, a) in out.iter_mut().zip(acc.iter()) {
            *o = a * inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agrees with an f64 reference attention to f16 precision (GQA, sliding window).
    #[test]
    fn attention_kernels_match_f64_reference() {
        // The reference reads K and V as the f16 cache holds them.
        let f16r = |x: f32| f16::from_f32(x).to_f32() as f64;
        // 9 rows: the mul_mat and one-row flash kernels; 150 rows with a 100-key window:
        // the tiled flash kernel across several 64-cell tiles, some partly masked.
        for (n, window) in [(9usize, 5usize), (150, 100)] {
            let sh = AttnShape {
                n_head: 4,
                n_head_kv: 2,
                head_dim: 8,
                head_dim_v: 8,
                scale: 0.35,
                window: Some(window),
            };
            let val = |i: usize| (i as f32 * 0.37).sin() * 2.0;
            let q: Vec<f32> = (0..n * 32).map(|i| val(i + 1)).collect();
            let k: Vec<f32> = (0..n * 16).map(|i| val(i * 3 + 7)).collect();
            let v: Vec<f32> = (0..n * 16).map(|i| val(i * 5 + 11)).collect();
            let pool = ThreadPool::new(2);
            for flash in [false, true] {
                // The tiled kernel keeps Q and its accumulator in f32; the others round to f16.
                let tol = if flash && n >= FLASH_TILED_MIN_ROWS {
                    1e-5
                } else {
                    2e-2
                };
                let (mut ck, mut cv, mut out, mut sc) = (
                    vec![f16::ZERO; n * 16],
                    vec![f16::ZERO; n * 16],
                    vec![0.0; n * 32],
                    Vec::new(),
                );
                attention(
                    &pool, flash, sh, &q, &k, &v, &mut ck, &mut cv, 0, n, &mut out, &mut sc,
                );
                for t in 0..n {
                    for h in 0..4 {
                        let kvh = h / 2;
                        let lo = (t + 1).saturating_sub(window);
                        let s: Vec<f64> = (lo..=t)
                            .map(|j| {
                                (0..8)
                                    .map(|d| {
                                        q[t * 32 + h * 8 + d] as f64 * f16r(k[j * 16 + kvh * 8 + d])
                                    })
                                    .sum::<f64>()
                                    * 0.35
                            })
                            .collect();
                        let m = s.iter().cloned().fold(f64::MIN, f64::max);
                        let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                        for d in 0..8 {
                            let want: f64 = (lo..=t)
                                .zip(&s)
                                .map(|(j, x)| (x - m).exp() / z * f16r(v[j * 16 + kvh * 8 + d]))
                                .sum();
                            let got = out[t * 32 + h * 8 + d] as f64;
                            assert!(
                                (got - want).abs() < tol,
                                "n {n} flash {flash} t{t} h{h} d{d}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The grouped tiled kernel (whole key tiles widened once for many rows) gives every
    /// row the bits of the one-row tiled kernel: causal and windowed, a batch after cached
    /// tokens, head sizes with and without a partial V slice.
    #[test]
    fn grouped_tiled_flash_is_bit_exact_with_one_row_kernel() {
        let shapes = [
            (9, 3, 64, 64, None, 0, 150),
            (4, 1, 256, 256, Some(100), 0, 130),
            (4, 2, 72, 80, None, 70, 90),
        ];
        for (n_head, n_head_kv, hd, hdv, window, pos0, n) in shapes {
            let sh = AttnShape {
                n_head,
                n_head_kv,
                head_dim: hd,
                head_dim_v: hdv,
                scale: 1.0 / (hd as f32).sqrt(),
                window,
            };
            let (dk, dv, n_kv) = (n_head_kv * hd, n_head_kv * hdv, pos0 + n);
            let val = |i: usize| (i as f32 * 0.37).sin() * 2.0;
            let q: Vec<f32> = (0..n * n_head * hd).map(|i| val(i + 1)).collect();
            let ck: Vec<f16> = (0..n_kv * dk)
                .map(|i| f16::from_f32(val(i * 7 + 3)))
                .collect();
            let cv: Vec<f16> = (0..n_kv * dv)
                .map(|i| f16::from_f32(val(i * 11 + 5)))
                .collect();
            let kv = KvView {
                k: &ck,
                v: &cv,
                dk,
                dv,
            };
            // Called directly, not through `attention`'s CPU check, so the test compares the
            // two kernels on any machine.
            let mut out = vec![0.0; n * n_head * hdv];
            flash_tiled_by_kv_head(&ThreadPool::new(2), sh, &kv, &q, pos0, n, &mut out);
            let mut want = vec![0.0f32; hdv];
            for t in 0..n {
                let range = sh.visible(pos0 + t);
                for h in 0..n_head {
                    let qh = &q[(t * n_head + h) * hd..(t * n_head + h + 1) * hd];
                    head_flash_tiled(
                        &kv,
                        sh,
                        h / (n_head / n_head_kv),
                        qh,
                        range.clone(),
                        &mut want,
                    );
                    let got = &out[(t * n_head + h) * hdv..(t * n_head + h + 1) * hdv];
                    for (d, (g, w)) in got.iter().zip(&want).enumerate() {
                        assert_eq!(
                            g.to_bits(),
                            w.to_bits(),
                            "hd {hd} t{t} h{h} d{d}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}
