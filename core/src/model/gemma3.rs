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
use super::blocks::{
    attend, attn_output, ffn, norm_into_cur, qkv, residual, rope_qk, FfnActivation,
};
use super::rope::{Rope, RopeStyle};
use super::weights::LayerWeights;
use super::{Forward, HParams};
use crate::backend::cpu::ops::{rms_norm_rows_inplace, scale_inplace};
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

/// Runs the blocks for `tokens` at positions `pos0..`; leaves the residual stream in `f.buf.x`.
pub(super) fn forward(f: &mut Forward<'_>, p: &Params, tokens: &[u32], pos0: usize) {
    let n = tokens.len();
    let hp = f.hp;
    let n_embd = hp.n_embd;
    f.embed(tokens); //                                                   x: [n, n_embd]
    scale_inplace(&mut f.buf.x[..n * n_embd], p.embd_scale);
    Forward::cb(&mut f.trace, usize::MAX, "inp_scaled", &f.buf.x);
    for (il, l) in f.layers.iter().enumerate() {
        let (rope, shape) = if is_global(il) {
            (&p.rope_global, p.attn_global)
        } else {
            (&p.rope_local, p.attn_local)
        };
        norm_into_cur(f, &l.attn_norm, n); //                             attn_norm
        Forward::cb(&mut f.trace, il, "attn_norm", &f.buf.cur);
        qkv(f, l, n); //                                                  Qcur, Kcur, Vcur
        Forward::cb(&mut f.trace, il, "Vcur", &f.buf.v);
        let b = &mut *f.buf;
        // Per-head RMSNorm of Q and K          q: [n, n_head, head_dim]  k: [n, n_head_kv, head_dim]
        if let (Some(qn), Some(kn)) = (&l.attn_q_norm, &l.attn_k_norm) {
            rms_norm_rows_inplace(&mut b.q[..n * hp.n_embd_q()], qn, hp.rms_eps);
            rms_norm_rows_inplace(&mut b.k[..n * hp.n_embd_k()], kn, hp.rms_eps);
        }
        Forward::cb(&mut f.trace, il, "Qcur_normed", &f.buf.q);
        Forward::cb(&mut f.trace, il, "Kcur_normed", &f.buf.k);
        rope_qk(f, rope, pos0, n);
        Forward::cb(&mut f.trace, il, "Kcur", &f.buf.k);
        scale_inplace(&mut f.buf.q[..n * hp.n_embd_q()], p.q_scale);
        Forward::cb(&mut f.trace, il, "Qcur", &f.buf.q);
        attend(f, il, shape, pos0, n); //                                 kqv_out
        Forward::cb(&mut f.trace, il, "kqv_out", &f.buf.attn);
        attn_output(f, l, n); //                                          attn_out
        Forward::cb(&mut f.trace, il, "attn_out", &f.buf.cur);
        if let Some(w) = &l.post_attention_norm {
            rms_norm_rows_inplace(&mut f.buf.cur[..n * n_embd], w, hp.rms_eps); // attn_post_norm
        }
        residual(f, n); //                                                sa_out = x + attn_out
        Forward::cb(&mut f.trace, il, "sa_out", &f.buf.x);
        norm_into_cur(f, &l.ffn_norm, n); //                              ffn_norm
        Forward::cb(&mut f.trace, il, "ffn_norm", &f.buf.cur);
        ffn(f, l, FfnActivation::Gelu, n); //                          ffn_out
        Forward::cb(&mut f.trace, il, "ffn_up", &f.buf.up);
        Forward::cb(&mut f.trace, il, "ffn_geglu", &f.buf.gate);
        Forward::cb(&mut f.trace, il, "ffn_out", &f.buf.cur);
        if let Some(w) = &l.post_ffw_norm {
            rms_norm_rows_inplace(&mut f.buf.cur[..n * n_embd], w, hp.rms_eps); // ffn_post_norm
        }
        residual(f, n); //                                                l_out = sa_out + ffn_out
        Forward::cb(&mut f.trace, il, "l_out", &f.buf.x);
    }
}
