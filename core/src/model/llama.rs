//! Architecture `llama` (Llama 2/3, SmolLM, TinyLlama, Mistral-style GQA): pre-norm blocks of
//! RMSNorm → attention with normal-style RoPE → residual → RMSNorm → SwiGLU FFN → residual.
//! port of llama.cpp src/llama-model.cpp (llm_build_llama) for behaviour, not code.

use super::attention::{attention, AttnShape};
use super::rope::{Rope, RopeStyle};
use super::weights::LayerWeights;
use super::{Forward, HParams};
use crate::backend::cpu::ops::{add_inplace, rms_norm_rows_inplace, silu_mul_inplace};
use crate::error::Result;

pub struct Params {
    rope: Rope,
    attn: AttnShape,
}

impl Params {
    pub fn new(hp: &HParams, _layers: &[LayerWeights]) -> Result<Params> {
        Ok(Params {
            rope: Rope::new(RopeStyle::Norm, hp.n_rot, hp.rope_freq_base),
            attn: AttnShape {
                n_head: hp.n_head,
                n_head_kv: hp.n_head_kv,
                head_dim: hp.head_dim,
                head_dim_v: hp.head_dim_v,
                scale: 1.0 / (hp.head_dim as f32).sqrt(),
                window: None,
            },
        })
    }
}

/// Runs the blocks for `tokens` at positions `pos0..`; leaves the residual stream in `f.buf.x`.
pub(super) fn forward(f: &mut Forward<'_>, p: &Params, tokens: &[u32], pos0: usize) {
    let n = tokens.len();
    let hp = f.hp;
    let (n_embd, hd) = (hp.n_embd, hp.head_dim);
    f.embed(tokens); // x: [n, n_embd]
    for (il, l) in f.layers.iter().enumerate() {
        let b = &mut *f.buf;
        // attn_norm: cur = rms_norm(x) * w            [n, n_embd]
        b.cur.copy_from_slice(&b.x);
        rms_norm_rows_inplace(&mut b.cur, &l.attn_norm, hp.rms_eps);
        Forward::cb(&mut f.trace, il, "attn_norm", &b.cur);
        // Qcur [n, n_head*hd], Kcur [n, n_head_kv*hd], Vcur [n, n_head_kv*hd_v]
        Forward::matmul(f.pool, f.file, &l.wq, &b.cur, &mut b.q, n, &mut b.mm);
        Forward::matmul(f.pool, f.file, &l.wk, &b.cur, &mut b.k, n, &mut b.mm);
        Forward::matmul(f.pool, f.file, &l.wv, &b.cur, &mut b.v, n, &mut b.mm);
        for t in 0..n {
            p.rope.apply(
                &mut b.q[t * hp.n_embd_q()..(t + 1) * hp.n_embd_q()],
                hd,
                pos0 + t,
                &mut b.cos_sin,
            );
            p.rope.apply(
                &mut b.k[t * hp.n_embd_k()..(t + 1) * hp.n_embd_k()],
                hd,
                pos0 + t,
                &mut b.cos_sin,
            );
        }
        Forward::cb(&mut f.trace, il, "Qcur", &b.q);
        Forward::cb(&mut f.trace, il, "Kcur", &b.k);
        // kqv_out [n, n_head*hd_v]
        attention(
            f.pool,
            p.attn,
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
        // attn_out [n, n_embd]; ffn_inp = attn_out + x
        Forward::matmul(f.pool, f.file, &l.wo, &b.attn, &mut b.cur, n, &mut b.mm);
        add_inplace(&mut b.x, &b.cur[..n * n_embd]);
        Forward::cb(&mut f.trace, il, "ffn_inp", &b.x);
        // ffn_norm
        b.cur.copy_from_slice(&b.x);
        rms_norm_rows_inplace(&mut b.cur, &l.ffn_norm, hp.rms_eps);
        // ffn_gate/ffn_up [n, n_ff] → silu(gate)*up → ffn_down [n, n_embd]
        Forward::matmul(
            f.pool,
            f.file,
            &l.ffn_gate,
            &b.cur,
            &mut b.gate,
            n,
            &mut b.mm,
        );
        Forward::matmul(f.pool, f.file, &l.ffn_up, &b.cur, &mut b.up, n, &mut b.mm);
        silu_mul_inplace(&mut b.gate, &b.up);
        Forward::matmul(
            f.pool,
            f.file,
            &l.ffn_down,
            &b.gate,
            &mut b.cur,
            n,
            &mut b.mm,
        );
        // l_out = ffn_out + ffn_inp
        add_inplace(&mut b.x, &b.cur[..n * n_embd]);
        Forward::cb(&mut f.trace, il, "l_out", &b.x);
    }
}
