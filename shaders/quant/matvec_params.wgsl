// The uniforms of the matrix products (matvec.wgsl, gemm.wgsl): MatvecParams in
// backend/gpu/shaders.rs.

struct MatvecParams {
    // rows of this part of the matrix, and its first row in the whole matrix
    rows: u32,
    row0: u32,
    cols: u32,
    n_tok: u32,
    // x[x_off + t * x_stride + i]
    x_off: u32,
    x_stride: u32,
    // out[out_off + t * out_stride + row0 + r]
    out_off: u32,
    out_stride: u32,
    // the part's rows start at row w_row0 of the bound weight buffer
    w_row0: u32,
    // 1: out += the product (a residual add)
    acc: u32,
    // main_qkv: rows split_k.. are K's, split_v.. V's; main_gate_up: the up rows start at
    // split_k, and act is the activation (act.wgsl)
    split_k: u32,
    split_v: u32,
    act: u32,
    // the norm's epsilon (x_normed.wgsl)
    eps: f32,
    // main_qkv: 1 rotates Q and K's normal-style RoPE pairs (neighbouring rows) for position
    // pos0, as rope.wgsl does
    rope: u32,
    pos0: u32,
    head_dim: u32,
    n_rot: u32,
    theta_scale: f32,
    freq_scale: f32,
    _pad0: u32,
    _pad1: u32,
}
