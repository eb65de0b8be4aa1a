//! Building blocks shared by the architectures' forward functions. Each works on the
//! `Forward` buffers for a batch of `n` tokens; the arch files call them top to bottom.

use super::attention::{attention, AttnShape};
use super::rope::Rope;
use super::weights::LayerWeights;
use super::Forward;
use crate::backend::cpu::matmul::matmul;
use crate::backend::cpu::ops::{gelu_mul_inplace, rms_norm_rows_inplace, silu_mul_inplace};

/// The gate activation of a gated FFN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FfnActivation {
    /// SwiGLU: silu(gate) · up
    Silu,
    /// GeGLU: gelu(gate) · up
    Gelu,
}

/// `cur = rms_norm(x) · w` for every row.                        cur: [n, n_embd]
pub fn norm_into_cur(f: &mut Forward<'_>, w: &[f32], n: usize) {
    let b = &mut *f.buf;
    let len = n * f.hp.n_embd;
    b.cur[..len].copy_from_slice(&b.x[..len]);
    rms_norm_rows_inplace(&mut b.cur[..len], w, f.hp.rms_eps);
}

/// Qcur [n, n_head·hd], Kcur [n, n_head_kv·hd], Vcur [n, n_head_kv·hd_v] from `cur`.
pub fn qkv(f: &mut Forward<'_>, l: &LayerWeights, n: usize) {
    let b = &mut *f.buf;
    matmul(f.pool, f.file, &l.wq, &b.cur, &mut b.q, n, &mut b.mm);
    matmul(f.pool, f.file, &l.wk, &b.cur, &mut b.k, n, &mut b.mm);
    matmul(f.pool, f.file, &l.wv, &b.cur, &mut b.v, n, &mut b.mm);
}

/// Rotates the heads of every row of Q and K for positions `pos0..pos0+n` (angles computed
/// once per position, shared by Q and K).
pub fn rope_qk(f: &mut Forward<'_>, rope: &Rope, pos0: usize, n: usize) {
    let hp = f.hp;
    let b = &mut *f.buf;
    let (wq, wk) = (hp.n_embd_q(), hp.n_embd_k());
    for t in 0..n {
        rope.angles(pos0 + t, &mut b.cos_sin);
        rope.rotate(&mut b.q[t * wq..(t + 1) * wq], hp.head_dim, &b.cos_sin);
        rope.rotate(&mut b.k[t * wk..(t + 1) * wk], hp.head_dim, &b.cos_sin);
    }
}

/// Attention of the batch against layer `il`'s cache.                attn: [n, n_head·hd_v]
pub fn attend(f: &mut Forward<'_>, il: usize, shape: AttnShape, pos0: usize, n: usize) {
    let b = &mut *f.buf;
    attention(
        f.pool,
        f.flash_attention,
        shape,
        &b.q,
        &b.k,
        &b.v,
        &mut f.kv.k[il],
        &mut f.kv.v[il],
        pos0,
        n,
        &mut b.attn,
        &mut b.scores,
    );
}

/// `cur = attn · Woᵀ`                                                 cur: [n, n_embd]
pub fn attn_output(f: &mut Forward<'_>, l: &LayerWeights, n: usize) {
    let b = &mut *f.buf;
    matmul(f.pool, f.file, &l.wo, &b.attn, &mut b.cur, n, &mut b.mm);
}

/// Gated FFN on `cur`: `cur = down(act(gate(cur)) · up(cur))`.       cur: [n, n_embd]
pub fn ffn(f: &mut Forward<'_>, l: &LayerWeights, act: FfnActivation, n: usize) {
    let b = &mut *f.buf;
    let len = n * f.hp.n_ff;
    matmul(
        f.pool,
        f.file,
        &l.ffn_gate,
        &b.cur,
        &mut b.gate,
        n,
        &mut b.mm,
    );
    matmul(f.pool, f.file, &l.ffn_up, &b.cur, &mut b.up, n, &mut b.mm);
    match act {
        FfnActivation::Silu => silu_mul_inplace(&mut b.gate[..len], &b.up[..len]),
        FfnActivation::Gelu => gelu_mul_inplace(&mut b.gate[..len], &b.up[..len]),
    }
    matmul(
        f.pool,
        f.file,
        &l.ffn_down,
        &b.gate,
        &mut b.cur,
        n,
        &mut b.mm,
    );
}

/// `x += cur` (residual).
pub fn residual(f: &mut Forward<'_>, n: usize) {
    let len = n * f.hp.n_embd;
    let b = &mut *f.buf;
    crate::backend::cpu::ops::add_inplace(&mut b.x[..len], &b.cur[..len]);
}
