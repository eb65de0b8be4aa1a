// The gate activations of a gated FFN, as ggml computes them: SiLU (act 0, SwiGLU) and GELU's
// tanh form (act 1, GeGLU). Prelude of gated_act.wgsl and of the matvec's fused gate-up.

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_COEF_A: f32 = 0.044715;

fn gelu(x: f32) -> f32 {
    // tanh(z) as 1 - 2/(e^2z + 1): no overflow for large |z| (WGSL's tanh may be exp-based).
    let z = SQRT_2_OVER_PI * x * (1.0 + GELU_COEF_A * x * x);
    let t = 1.0 - 2.0 / (exp(min(2.0 * z, 80.0)) + 1.0);
    return 0.5 * x * (1.0 + t);
}

// act(g) · u.
fn gated(act: u32, g: f32, u: f32) -> f32 {
    if act == 0u {
        return g / (1.0 + exp(-g)) * u;
    }
    return gelu(g) * u;
}
