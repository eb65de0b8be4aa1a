//! Causal multi-head attention with grouped-query heads over the KV cache, optionally
//! limited to a sliding window. Shared by every architecture.

use crate::backend::cpu::ops::{axpy, dot_f32, softmax_inplace};
use crate::backend::cpu::threads::{SharedMut, ThreadPool};

/// Largest head size supported (checked at load).
pub const MAX_HEAD_DIM: usize = 512;

#[inline]
fn round_f16(x: f32) -> f32 {
    half::f16::from_f32(x).to_f32()
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

/// Writes the batch's K and V rows into the cache at `pos0..pos0+n_tok`, then computes
/// `out` [n_tok, n_head * head_dim_v] from `q` [n_tok, n_head * head_dim].
#[allow(clippy::too_many_arguments)]
pub fn attention(
    pool: &ThreadPool,
    sh: AttnShape,
    q: &[f32],
    k_new: &[f32],
    v_new: &[f32],
    cache_k: &mut [f32],
    cache_v: &mut [f32],
    pos0: usize,
    n_tok: usize,
    out: &mut [f32],
    scores: &mut Vec<f32>,
) {
    let (dk, dv) = (sh.n_head_kv * sh.head_dim, sh.n_head_kv * sh.head_dim_v);
    // The cache holds f16-precision values, as llama.cpp's default f16 KV cache does.
    for (c, &x) in cache_k[pos0 * dk..(pos0 + n_tok) * dk]
        .iter_mut()
        .zip(k_new)
    {
        *c = round_f16(x);
    }
    for (c, &x) in cache_v[pos0 * dv..(pos0 + n_tok) * dv]
        .iter_mut()
        .zip(v_new)
    {
        *c = round_f16(x);
    }
    let (cache_k, cache_v) = (&*cache_k, &*cache_v);

    let n_kv = pos0 + n_tok;
    // Split tokens into groups so small head counts still feed every thread.
    let groups = (pool.n_threads() * 4)
        .div_ceil(sh.n_head)
        .clamp(1, n_tok.max(1));
    let per_group = n_tok.div_ceil(groups);
    let n_tasks = sh.n_head * groups;
    scores.resize(n_tasks * n_kv, 0.0);
    let scores_ptr = SharedMut::new(scores);
    let out_ptr = SharedMut::new(out);
    let q_per_kv = sh.n_head / sh.n_head_kv;
    let (wq, wo) = (sh.n_head * sh.head_dim, sh.n_head * sh.head_dim_v);

    pool.for_each(n_tasks, |task| {
        let (h, g) = (task % sh.n_head, task / sh.n_head);
        let kvh = h / q_per_kv;
        // SAFETY: task ranges [task*n_kv, (task+1)*n_kv) are disjoint and inside `scores`
        // (resized to n_tasks*n_kv above); `scores` stays borrowed until for_each returns.
        let s = unsafe { scores_ptr.slice(task * n_kv, n_kv) };
        for t in g * per_group..((g + 1) * per_group).min(n_tok) {
            let p = pos0 + t;
            let lo = sh.window.map_or(0, |w| (p + 1).saturating_sub(w));
            // ggml dots an f16 K with Q converted to f16: round Q the same way.
            let mut qh = [0.0f32; MAX_HEAD_DIM];
            let qh = &mut qh[..sh.head_dim];
            for (d, &x) in qh
                .iter_mut()
                .zip(&q[t * wq + h * sh.head_dim..t * wq + (h + 1) * sh.head_dim])
            {
                *d = round_f16(x);
            }
            let qh = &*qh;
            let s = &mut s[..p + 1 - lo];
            for (j, sj) in (lo..=p).zip(s.iter_mut()) {
                let kj = &cache_k[j * dk + kvh * sh.head_dim..j * dk + (kvh + 1) * sh.head_dim];
                *sj = dot_f32(qh, kj) * sh.scale;
            }
            softmax_inplace(s);
            // ...and the probabilities are converted to f16 for the product with f16 V.
            for x in s.iter_mut() {
                *x = round_f16(*x);
            }
            // SAFETY: (t, h) pairs are distinct across tasks (h from the task, t from its
            // group), so these head_dim_v-long ranges of `out` are disjoint and in bounds
            // (t < n_tok, h < n_head); `out` stays borrowed until for_each returns.
            let o = unsafe { out_ptr.slice(t * wo + h * sh.head_dim_v, sh.head_dim_v) };
            o.fill(0.0);
            for (j, &sj) in (lo..=p).zip(s.iter()) {
                let vj = &cache_v[j * dv + kvh * sh.head_dim_v..j * dv + (kvh + 1) * sh.head_dim_v];
                axpy(o, sj, vj);
            }
        }
    });
}
