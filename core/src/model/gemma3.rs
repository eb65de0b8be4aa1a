//! Architecture `gemma3` (Gemma 3 text models). Differences from llama, all found in the
//! GGUF or in llama.cpp's llm_build_gemma3_iswa behaviour:
//! - embeddings scaled by √n_embd;
//! - RMSNorm of each Q and K head (attn_q_norm / attn_k_norm) before NEOX-style RoPE;
//! - Q scaled by 1/√head_dim before attention (the 27B uses 1/√(n_embd/n_head));
//! - extra norms after attention (post_attention_norm) and after the FFN (post_ffw_norm);
//! - GeGLU FFN;
//! - 5 of every 6 layers use sliding-window attention with RoPE base 10000, every 6th layer is
//!   global with the file's base (and its linear rope scaling, if any).
//!
//! The norm weights in Gemma GGUFs already include the `1 +` of Gemma's RMSNorm (the converter
//! adds it), so the plain RMSNorm applies.

use super::attention::AttnShape;
use super::ops::{ffn, Act, FfnActivation, ForwardOps, Mat, Norm};
use super::rope::{Rope, RopeStyle};
use super::weights::LayerWeights;
use super::HParams;
use crate::error::{Error, Result};
use crate::gguf::keys::{arch_key, hp as hpk};
use crate::gguf::GgufFile;

/// Every this-many-th layer attends globally; the others use the sliding window.
const SWA_PATTERN: usize = 6;
/// RoPE base of the sliding-window layers (fixed by the architecture, not stored in GGUF).
const ROPE_BASE_SWA: f32 = 10_000.0;
/// Block count of Gemma 3 27B, whose query scale differs.
const N_LAYER_27B: usize = 62;

pub struct Params {
    rope_global: Rope,
    rope_local: Rope,
    attn_global: AttnShape,
    attn_local: AttnShape,
    q_scale: f32,
    embd_scale: f32,
}

impl Params {
    pub fn new(gguf: &GgufFile, hp: &HParams, layers: &[LayerWeights]) -> Result<Params> {
        let window = hp
            .sliding_window
            .ok_or_else(|| Error::MissingKey(arch_key("gemma3", hpk::SLIDING_WINDOW)))?;
        for (il, l) in layers.iter().enumerate() {
            let names = [
                (l.attn_q_norm.is_some(), "attn_q_norm"),
                (l.attn_k_norm.is_some(), "attn_k_norm"),
                (l.post_attention_norm.is_some(), "post_attention_norm"),
                (l.post_ffw_norm.is_some(), "post_ffw_norm"),
            ];
            if let Some((_, name)) = names.iter().find(|(present, _)| !present) {
                return Err(Error::MissingTensor(super::weights::blk_name(il, name)));
            }
        }
        // Linear RoPE scaling applies to the global layers only.
        let factor = GgufFile::opt(gguf.get_f32(&arch_key("gemma3", hpk::ROPE_SCALING_FACTOR)))?
            .unwrap_or(1.0);
        let global_base = hp.rope_freq_base;
        let mut rope_global = Rope::new(RopeStyle::Neox, hp.n_rot, global_base);
        if factor > 0.0 && factor != 1.0 {
            rope_global = rope_global.with_freq_scale(1.0 / factor);
        }
        let shape = AttnShape {
            n_head: hp.n_head,
            n_head_kv: hp.n_head_kv,
            head_dim: hp.head_dim,
            head_dim_v: hp.head_dim_v,
            scale: 1.0, // Q is pre-scaled
            window: None,
        };
        let q_scale = if hp.n_layer == N_LAYER_27B {
            1.0 / ((hp.n_embd / hp.n_head) as f32).sqrt()
        } else {
            1.0 / (hp.head_dim as f32).sqrt()
        };
        Ok(Params {
            rope_global,
            rope_local: Rope::new(RopeStyle::Neox, hp.n_rot, ROPE_BASE_SWA),
            attn_global: shape,
            attn_local: AttnShape {
                window: Some(window),
                ..shape
            },
            q_scale,
            embd_scale: (hp.n_embd as f32).sqrt(),
        })
    }
}

fn is_global(il: usize) -> bool {
    (il + 1).is_multiple_of(SWA_PATTERN)
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
    f.scale(Act::X, p.embd_scale);
    f.trace(usize::MAX, "inp_scaled", Act::X);
    for il in 0..hp.n_layer {
        let (rope, shape) = if is_global(il) {
            (&p.rope_global, p.attn_global)
        } else {
            (&p.rope_local, p.attn_local)
        };
        f.norm(il, Norm::Attn, Act::X, Act::Cur); //                      attn_norm
        f.trace(il, "attn_norm", Act::Cur);
        f.qkv(il); //                                                     Qcur, Kcur, Vcur
        f.trace(il, "Vcur", Act::V);
        // Per-head RMSNorm of Q and K          q: [n, n_head, head_dim]  k: [n, n_head_kv, head_dim]
        f.norm(il, Norm::QHead, Act::Q, Act::Q);
        f.norm(il, Norm::KHead, Act::K, Act::K);
        f.trace(il, "Qcur_normed", Act::Q);
        f.trace(il, "Kcur_normed", Act::K);
        f.rope_qk(rope, pos0);
        f.trace(il, "Kcur", Act::K);
        f.scale(Act::Q, p.q_scale);
        f.trace(il, "Qcur", Act::Q);
        f.attend(il, shape, pos0); //                                     kqv_out
        f.trace(il, "kqv_out", Act::Attn);
        f.matmul(il, Mat::O, Act::Attn, Act::Cur); //                     attn_out
        f.trace(il, "attn_out", Act::Cur);
        f.norm(il, Norm::PostAttn, Act::Cur, Act::Cur); //                attn_post_norm
        f.add(Act::X, Act::Cur); //                                       sa_out = x + attn_out
        f.trace(il, "sa_out", Act::X);
        f.norm(il, Norm::Ffn, Act::X, Act::Cur); //                       ffn_norm
        f.trace(il, "ffn_norm", Act::Cur);
        ffn(f, il, FfnActivation::Gelu); //                               ffn_out
        f.trace(il, "ffn_up", Act::Up);
        f.trace(il, "ffn_geglu", Act::Gate);
        f.trace(il, "ffn_out", Act::Cur);
        f.norm(il, Norm::PostFfw, Act::Cur, Act::Cur); //                 ffn_post_norm
        f.add(Act::X, Act::Cur); //                                       l_out = sa_out + ffn_out
        f.trace(il, "l_out", Act::X);
    }
}
