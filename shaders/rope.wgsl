// Rotary position embedding of every head of x ([n_tok, n_heads, head_dim]) for positions
// pos0 + t: pair i (< n_rot/2) is rotated by θ = freq_scale · pos · theta_scale^i. Normal style
// pairs (2i, 2i+1) (llama); NeoX style pairs (i, i + n_rot/2) (gemma). One thread per pair.

struct RopeParams {
    n_tok: u32,
    n_heads: u32,
    head_dim: u32,
    n_rot: u32,
    pos0: u32,
    neox: u32,
    theta_scale: f32,
    freq_scale: f32,
}

@group(0) @binding(0) var<uniform> p: RopeParams;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let half_rot = p.n_rot / 2u;
    let i = gid.x % half_rot;
    let h = gid.x / half_rot;
    let t = gid.y;
    if h >= p.n_heads || t >= p.n_tok {
        return;
    }
    let theta = p.freq_scale * f32(p.pos0 + t) * pow(p.theta_scale, f32(i));
    let c = cos(theta);
    let s = sin(theta);
    let base = (t * p.n_heads + h) * p.head_dim;
    var a = base + 2u * i;
    var b = a + 1u;
    if p.neox != 0u {
        a = base + i;
        b = a + half_rot;
    }
    let x0 = x[a];
    let x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
}
