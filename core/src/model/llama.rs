//! Architecture `llama` (Llama 2/3, SmolLM, TinyLlama, Mistral-style GQA): pre-norm blocks of
//! RMSNorm → attention with normal-style RoPE → residual → RMSNorm → SwiGLU FFN → residual.
//! Behaviour matched to llama.cpp src/llama-model.cpp (llm_build_llama).

use super::attention::AttnShape;
use super::ops::{ffn_residual, Act, FfnActivation, ForwardOps, Mat, Norm};
use super::rope::{Rope, RopeStyle};
use super::weights::LayerWeights;
use super::HParams;
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

/// Runs the blocks for `tokens` at positions `pos0..`; leaves the residual stream in `X`.
pub(super) fn forward(
    f: &mut impl ForwardOps,
    hp: &HParams,
    p: &Params,
    tokens: &[u32],
    pos0: usize,
) {
    f.embed(tokens); //                                                   x: [n, n_embd]
    for il in 0..hp.n_layer {
        f.norm(il, Norm::Attn, Act::X, Act::Cur); //                      attn_norm
        f.trace(il, "attn_norm", Act::Cur);
        f.qkv(il); //                                                     Qcur, Kcur, Vcur
        f.rope_qk(&p.rope, pos0);
        f.trace(il, "Qcur", Act::Q);
        f.trace(il, "Kcur", Act::K);
        f.attend(il, p.attn, pos0); //                                    kqv_out
        f.matmul_add(il, Mat::O, Act::Attn, Act::X); //                   ffn_inp = x + attn_out
        f.trace(il, "ffn_inp", Act::X);
        f.norm(il, Norm::Ffn, Act::X, Act::Cur); //                       ffn_norm
        ffn_residual(f, il, FfnActivation::Silu); //                      l_out = ffn_inp + ffn_out
        f.trace(il, "l_out", Act::X);
    }
}
