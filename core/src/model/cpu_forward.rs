//! The CPU backend of [`ForwardOps`]: activations in host vectors, weights read in place from
//! the file bytes, the KV cache in f16 host memory.

use super::attention::{attention, AttnShape};
use super::ops::{Act, FfnActivation, ForwardOps, Mat, Norm};
use super::rope::Rope;
use super::weights::LayerWeights;
use super::{HParams, KvCache, TraceFn};
use crate::backend::cpu::matmul::matmul;
use crate::backend::cpu::ops::{
    add_inplace, gelu_mul_inplace, rms_norm_rows_inplace, scale_inplace, silu_mul_inplace,
};
use crate::backend::cpu::{for_row_chunks, MatmulScratch, QMatrix, ThreadPool};

/// Scratch buffers of one forward pass; grown to the batch size once, then reused.
#[derive(Default)]
pub(crate) struct Buffers {
    /// [n_tok, n_embd] the residual stream
    pub x: Vec<f32>,
    /// [n_tok, n_embd]
    pub cur: Vec<f32>,
    /// [n_tok, n_head * head_dim]
    pub q: Vec<f32>,
    /// [n_tok, n_head_kv * head_dim]
    pub k: Vec<f32>,
    /// [n_tok, n_head_kv * head_dim_v]
    pub v: Vec<f32>,
    /// [n_tok, n_head * head_dim_v]
    pub attn: Vec<f32>,
    /// [n_tok, n_ff]
    pub gate: Vec<f32>,
    /// [n_tok, n_ff]
    pub up: Vec<f32>,
    pub scores: Vec<f32>,
    pub cos_sin: Vec<(f32, f32)>,
    pub mm: MatmulScratch,
    /// [rows, n_embd] the normed rows the output projection reads
    pub hidden: Vec<f32>,
}

impl Buffers {
    pub fn fit(&mut self, hp: &HParams, n: usize) {
        self.x.resize(n * hp.n_embd, 0.0);
        self.cur.resize(n * hp.n_embd, 0.0);
        self.q.resize(n * hp.n_embd_q(), 0.0);
        self.k.resize(n * hp.n_embd_k(), 0.0);
        self.v.resize(n * hp.n_embd_v(), 0.0);
        self.attn.resize(n * hp.n_head * hp.head_dim_v, 0.0);
        self.gate.resize(n * hp.n_ff, 0.0);
        self.up.resize(n * hp.n_ff, 0.0);
    }

    fn get(&self, a: Act) -> &[f32] {
        match a {
            Act::X => &self.x,
            Act::Cur => &self.cur,
            Act::Q => &self.q,
            Act::K => &self.k,
            Act::V => &self.v,
            Act::Attn => &self.attn,
            Act::Gate => &self.gate,
            Act::Up => &self.up,
        }
    }

    fn get_mut(&mut self, a: Act) -> &mut Vec<f32> {
        match a {
            Act::X => &mut self.x,
            Act::Cur => &mut self.cur,
            Act::Q => &mut self.q,
            Act::K => &mut self.k,
            Act::V => &mut self.v,
            Act::Attn => &mut self.attn,
            Act::Gate => &mut self.gate,
            Act::Up => &mut self.up,
        }
    }

    /// Runs `f` on `a` (written) and `b` (read), two different buffers: `a` is moved out for
    /// the call, so the two borrows never overlap.
    fn with_pair<R>(&mut self, a: Act, b: Act, f: impl FnOnce(&mut [f32], &[f32]) -> R) -> R {
        debug_assert_ne!(a, b);
        let mut out = std::mem::take(self.get_mut(a));
        let r = f(&mut out, self.get(b));
        *self.get_mut(a) = out;
        r
    }
}

/// Everything the CPU forward pass works on.
pub(crate) struct Forward<'a> {
    pub hp: &'a HParams,
    pub file: &'a [u8],
    pub pool: &'a ThreadPool,
    pub layers: &'a [LayerWeights],
    pub token_embd: &'a QMatrix,
    pub kv: &'a mut KvCache,
    pub flash_attention: bool,
    pub buf: &'a mut Buffers,
    pub trace: Option<&'a mut TraceFn>,
    /// Tokens in the batch.
    pub n: usize,
}

impl Forward<'_> {
    /// Final norm and output projection of `rows` of `X`, appended to `logits`.
    pub fn output_logits(
        &mut self,
        output_norm: &[f32],
        output: &QMatrix,
        rows: std::ops::Range<usize>,
        logits: &mut Vec<f32>,
    ) {
        let (n_embd, n_vocab) = (self.hp.n_embd, self.hp.n_vocab);
        let n = rows.len();
        if n == 0 {
            return;
        }
        let b = &mut *self.buf;
        b.hidden.clear();
        b.hidden
            .extend_from_slice(&b.x[rows.start * n_embd..rows.end * n_embd]);
        rms_norm_rows_inplace(&mut b.hidden, output_norm, self.hp.rms_eps);
        if let Some(t) = self.trace.as_deref_mut() {
            t(usize::MAX, "result_norm", &b.hidden);
        }
        let start = logits.len();
        logits.resize(start + n * n_vocab, 0.0);
        matmul(
            self.pool,
            self.file,
            output,
            &b.hidden,
            &mut logits[start..],
            n,
            &mut b.mm,
        );
    }
}

/// The weight matrix `w` of layer `l`.
pub(crate) fn layer_matrix(l: &LayerWeights, w: Mat) -> &QMatrix {
    match w {
        Mat::Q => &l.wq,
        Mat::K => &l.wk,
        Mat::V => &l.wv,
        Mat::O => &l.wo,
        Mat::Gate => &l.ffn_gate,
        Mat::Up => &l.ffn_up,
        Mat::Down => &l.ffn_down,
    }
}

/// The norm weights `w` of layer `l`, if it has them.
pub(crate) fn layer_norm(l: &LayerWeights, w: Norm) -> Option<&[f32]> {
    match w {
        Norm::Attn => Some(&l.attn_norm),
        Norm::Ffn => Some(&l.ffn_norm),
        Norm::QHead => l.attn_q_norm.as_deref(),
        Norm::KHead => l.attn_k_norm.as_deref(),
        Norm::PostAttn => l.post_attention_norm.as_deref(),
        Norm::PostFfw => l.post_ffw_norm.as_deref(),
    }
}

impl ForwardOps for Forward<'_> {
    fn embed(&mut self, tokens: &[u32]) {
        let n_embd = self.hp.n_embd;
        for (t, &id) in tokens.iter().enumerate() {
            self.token_embd.dequantize_row(
                self.file,
                id as usize,
                &mut self.buf.x[t * n_embd..(t + 1) * n_embd],
            );
        }
    }

    fn scale(&mut self, a: Act, s: f32) {
        scale_inplace(self.buf.get_mut(a), s);
    }

    fn norm(&mut self, il: usize, w: Norm, src: Act, dst: Act) {
        let Some(w) = layer_norm(&self.layers[il], w) else {
            return;
        };
        if src != dst {
            self.buf.with_pair(dst, src, |d, s| d.copy_from_slice(s));
        }
        let eps = self.hp.rms_eps;
        for_row_chunks(self.pool, self.buf.get_mut(dst), w.len(), |rows, _| {
            rms_norm_rows_inplace(rows, w, eps)
        });
    }

    fn matmul(&mut self, il: usize, w: Mat, x: Act, out: Act) {
        let m = layer_matrix(&self.layers[il], w);
        let (pool, file, n) = (self.pool, self.file, self.n);
        let b = &mut *self.buf;
        let mut mm = std::mem::take(&mut b.mm);
        b.with_pair(out, x, |o, x| matmul(pool, file, m, x, o, n, &mut mm));
        b.mm = mm;
    }

    fn rope_qk(&mut self, rope: &Rope, pos0: usize) {
        let hp = self.hp;
        let b = &mut *self.buf;
        let (wq, wk) = (hp.n_embd_q(), hp.n_embd_k());
        for t in 0..self.n {
            rope.angles(pos0 + t, &mut b.cos_sin);
            rope.rotate(&mut b.q[t * wq..(t + 1) * wq], hp.head_dim, &b.cos_sin);
            rope.rotate(&mut b.k[t * wk..(t + 1) * wk], hp.head_dim, &b.cos_sin);
        }
    }

    fn attend(&mut self, il: usize, shape: AttnShape, pos0: usize) {
        let b = &mut *self.buf;
        attention(
            self.pool,
            self.flash_attention,
            shape,
            &b.q,
            &b.k,
            &b.v,
            &mut self.kv.k[il],
            &mut self.kv.v[il],
            pos0,
            self.n,
            &mut b.attn,
            &mut b.scores,
        );
    }

    fn gated_act(&mut self, act: FfnActivation) {
        let b = &mut *self.buf;
        let (up, width) = (&b.up[..], self.hp.n_ff);
        // SiLU's last `len % 8` values take another exp: split only where no chunk has a tail.
        if matches!(act, FfnActivation::Silu) && !width.is_multiple_of(8) {
            return silu_mul_inplace(&mut b.gate, up);
        }
        for_row_chunks(self.pool, &mut b.gate, width, |gate, r0| {
            let up = &up[r0 * width..r0 * width + gate.len()];
            match act {
                FfnActivation::Silu => silu_mul_inplace(gate, up),
                FfnActivation::Gelu => gelu_mul_inplace(gate, up),
            }
        });
    }

    fn add(&mut self, dst: Act, src: Act) {
        self.buf.with_pair(dst, src, add_inplace);
    }

    fn trace(&mut self, il: usize, label: &str, a: Act) {
        if let Some(f) = self.trace.as_mut() {
            f(il, label, self.buf.get(a));
        }
    }
}
