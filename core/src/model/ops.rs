//! The operations an architecture's forward pass is written in. Each arch file (`llama.rs`,
//! `gemma3.rs`) is one top-to-bottom function over [`ForwardOps`]; the CPU (`cpu_forward.rs`)
//! and the GPU (`backend/gpu`) each implement the trait, so an architecture exists once.
//!
//! Operands are named by role, not passed as slices: a backend owns its activations (host
//! vectors, GPU buffers) and its weights, and an op only says which ones it reads and writes.
//! Every op works on the rows of the current batch.

use super::attention::AttnShape;
use super::rope::Rope;

/// Activations of one batch, by role.                     [n, width] each
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// The residual stream.                                 width n_embd
    X,
    /// The current block's input or output.                 width n_embd
    Cur,
    /// Queries.                                             width n_head · head_dim
    Q,
    /// Keys.                                                width n_head_kv · head_dim
    K,
    /// Values.                                              width n_head_kv · head_dim_v
    V,
    /// Attention output.                                    width n_head · head_dim_v
    Attn,
    /// FFN gate, then the gated activation.                 width n_ff
    Gate,
    /// FFN up projection.                                   width n_ff
    Up,
}

/// The weight matrices of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mat {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

/// The norm weights of a block. `QHead` and `KHead` normalise each head (rows of head_dim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    Attn,
    Ffn,
    QHead,
    KHead,
    PostAttn,
    PostFfw,
}

/// The gate activation of a gated FFN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FfnActivation {
    /// SwiGLU: silu(gate) · up
    Silu,
    /// GeGLU: gelu(gate) · up
    Gelu,
}

/// What a backend does for a forward pass over the current batch of tokens. Arch files call
/// these in llama.cpp's graph order; `trace` names an intermediate for the debug hook with
/// llama.cpp's `cb()` label.
pub(crate) trait ForwardOps {
    /// `X` = the token embeddings.
    fn embed(&mut self, tokens: &[u32]);
    /// `a *= s`.
    fn scale(&mut self, a: Act, s: f32);
    /// `dst = rms_norm(src) · w`, rows of `w`'s length (`src` may equal `dst`). A norm the
    /// layer lacks leaves `dst` as it is (the arch checked at load which ones it needs).
    fn norm(&mut self, il: usize, w: Norm, src: Act, dst: Act);
    /// `out = x · Wᵀ`.
    fn matmul(&mut self, il: usize, w: Mat, x: Act, out: Act);
    /// `dst += x · Wᵀ` (a residual). `Cur` may hold the product after it (a backend may also
    /// add it straight into `dst`), so `x` and `dst` are not `Cur`.
    fn matmul_add(&mut self, il: usize, w: Mat, x: Act, dst: Act) {
        self.matmul(il, w, x, Act::Cur);
        self.add(dst, Act::Cur);
    }
    /// `Q`, `K`, `V` from `Cur`.
    fn qkv(&mut self, il: usize) {
        qkv_apart(self, il);
    }
    /// `Gate = act(Cur · Gateᵀ) · (Cur · Upᵀ)`. `Up` then holds the up projection, or nothing
    /// meaningful where a backend fuses the two.
    fn gate_up(&mut self, il: usize, act: FfnActivation) {
        gate_up_apart(self, il, act);
    }
    /// Rotates every head of `Q` and `K` for positions `pos0..`.
    fn rope_qk(&mut self, rope: &Rope, pos0: usize);
    /// Stores `K`, `V` at positions `pos0..` of layer `il`'s cache and attends `Q` to the
    /// cache's positions (causal, windowed by `shape`) into `Attn`.
    fn attend(&mut self, il: usize, shape: AttnShape, pos0: usize);
    /// `Gate = act(Gate) · Up`.
    fn gated_act(&mut self, act: FfnActivation);
    /// `dst += src` (a residual).
    fn add(&mut self, dst: Act, src: Act);
    /// Shows `a` to the debug hook, if any.
    fn trace(&mut self, il: usize, label: &str, a: Act);
}

/// [`ForwardOps::qkv`] as three products.
pub(crate) fn qkv_apart<F: ForwardOps + ?Sized>(f: &mut F, il: usize) {
    f.matmul(il, Mat::Q, Act::Cur, Act::Q);
    f.matmul(il, Mat::K, Act::Cur, Act::K);
    f.matmul(il, Mat::V, Act::Cur, Act::V);
}

/// [`ForwardOps::gate_up`] as two products and the activation.
pub(crate) fn gate_up_apart<F: ForwardOps + ?Sized>(f: &mut F, il: usize, act: FfnActivation) {
    f.matmul(il, Mat::Gate, Act::Cur, Act::Gate);
    f.matmul(il, Mat::Up, Act::Cur, Act::Up);
    f.gated_act(act);
}

/// Gated FFN on `Cur`: `Cur = down(act(gate(Cur)) · up(Cur))`.
pub(crate) fn ffn(f: &mut impl ForwardOps, il: usize, act: FfnActivation) {
    f.gate_up(il, act);
    f.matmul(il, Mat::Down, Act::Gate, Act::Cur);
}

/// Gated FFN on `Cur` added to the residual: `X += down(act(gate(Cur)) · up(Cur))`.
pub(crate) fn ffn_residual(f: &mut impl ForwardOps, il: usize, act: FfnActivation) {
    f.gate_up(il, act);
    f.matmul_add(il, Mat::Down, Act::Gate, Act::X);
}
