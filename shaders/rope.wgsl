// Rotary position embedding of every head of Q ([n_tok, n_heads_q, head_dim]) and K
// ([n_tok, n_heads_k, head_dim]) for positions pos0 + t, in one dispatch (z = 0: Q, 1: K):
// pair i (< n_rot/2) is rotated by θ = freq_scale · pos · theta_scale^i. Normal style pairs
// (2i, 2i+1) (llama); NeoX style pairs (i, i + n_rot/2) (gemma). One thread per pair.

struct RopeParams {
    n_tok: u32,
    n_heads_q: u32,
    n_heads_k: u32,
    head_dim: u32,
    n_rot: u32,
    pos0: u32,
    neox: u32,
    theta_scale: f32,
    freq_scale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: RopeParams;
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read_write> k: array<f32>;

// The two indices pair i of head h of token t rotates, and its (cos, sin).
struct Pair {
    a: u32,
    b: u32,
    cs: vec2<f32>,
}

fn pair(i: u32, h: u32, t: u32, n_heads: u32) -> Pair {
    let half_rot = p.n_rot / 2u;
    let theta = p.freq_scale * f32(p.pos0 + t) * pow(p.theta_scale, f32(i));
    let base = (t * n_heads + h) * p.head_dim;
    var a = base + 2u * i;
    var b = a + 1u;
    if p.neox != 0u {
        a = base + i;
        b = a + half_rot;
    }
    return Pair(a, b, vec2<f32>(cos(theta), sin(theta)));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let half_rot = p.n_rot / 2u;
    let i = gid.x % half_rot;
    let h = gid.x / half_rot;
    let t = gid.y;
    let n_heads = select(p.n_heads_q, p.n_heads_k, gid.z == 1u);
    if h >= n_heads || t >= p.n_tok {
        return;
    }
    let r = pair(i, h, t, n_heads);
    if gid.z == 0u {
        let x0 = q[r.a];
        let x1 = q[r.b];
        q[r.a] = x0 * r.cs.x - x1 * r.cs.y;
        q[r.b] = x0 * r.cs.y + x1 * r.cs.x;
    } else {
        let x0 = k[r.a];
        let x1 = k[r.b];
        k[r.a] = x0 * r.cs.x - x1 * r.cs.y;
        k[r.b] = x0 * r.cs.y + x1 * r.cs.x;
    }
}
