//! Architecture `llama` (Llama 2/3, SmolLM, TinyLlama, Mistral-style GQA): pre-norm blocks of
//! RMSNorm → attention with normal-style RoPE → residual → RMSNorm → SwiGLU FFN → residual.
//! Behaviour matched to llama.cpp src/llama-model.cpp (llm_build_llama).

use super::attention::AttnShape;
use super::blocks::{
    attend, attn_output, ffn, norm_into_cur, qkv, residual, rope_qk, FfnActivation,
};
use super::rope::{Rope, RopeStyle};
use super::weights::LayerWeights;
use super::{Forward, HParams};
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
    f.embed(tokens); //                                                   x: [n, n_embd]
    for (il, l) in f.layers.iter().enumerate() {
        norm_into_cur(f, &l.attn_norm, n); //                             attn_norm
        Forward::cb(&mut f.trace, il, "attn_norm", &f.buf.cur);
        qkv(f, l, n); //                                                  Qcur, Kcur, Vcur
        rope_qk(f, &p.rope, pos0, n);
        Forward::cb(&mut f.trace, il, "Qcur", &f.buf.q);
        Forward::cb(&mut f.trace, il, "Kcur", &f.buf.k);
        attend(f, il, p.attn, pos0, n); //                                kqv_out
        attn_output(f, l, n); //                                          attn_out
        residual(f, n); //                                                ffn_inp = x + attn_out
        Forward::cb(&mut f.trace, il, "ffn_inp", &f.buf.x);
        norm_into_cur(f, &l.ffn_norm, n); //                              ffn_norm
        ffn(f, l, FfnActivation::Silu, n); //                             ffn_out
        residual(f, n); //                                                l_out = ffn_inp + ffn_out
        Forward::cb(&mut f.trace, il, "l_out", &f.buf.x);
    }
}
