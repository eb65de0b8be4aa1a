// gate[i] = act(gate[i]) · up[i] for i < count: SiLU (act 0, SwiGLU) or GELU's tanh form
// (act 1, GeGLU), as ggml computes them.

struct GatedActParams {
    count: u32,
    act: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: GatedActParams;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> gate: array<f32>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_COEF_A: f32 = 0.044715;

fn gelu(x: f32) -> f32 {
    // tanh(z) as 1 - 2/(e^2z + 1): no overflow for large |z| (WGSL's tanh may be exp-based).
    let z = SQRT_2_OVER_PI * x * (1.0 + GELU_COEF_A * x * x);
    let t = 1.0 - 2.0 / (exp(min(2.0 * z, 80.0)) + 1.0);
    return 0.5 * x * (1.0 + t);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.count {
        return;
    }
    let g = gate[i];
    var a: f32;
    if p.act == 0u {
        a = g / (1.0 + exp(-g));
    } else {
        a = gelu(g);
    }
    gate[i] = a * up[i];
}
