// The activations as rms_norm(x) · nw, for one token of x_off 0 (the fused decode dispatches
// of the matvec): x4 gives x ⊙ nw, each thread also sums squares of x (norm_partial), and the
// row's scale multiplies the dot at the end (norm_scale). The first workgroup also writes the
// normed row out, as the norm dispatch it replaces would have.

@group(0) @binding(4) var<storage, read_write> normed: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> nw: array<vec4<f32>>;
var<workgroup> sq: array<f32, 64>; // one per thread of the matvec's workgroup

fn x4(i: u32) -> vec4<f32> {
    return x[i >> 2u] * nw[i >> 2u];
}

fn norm_partial(li: u32) {
    var s = 0.0;
    for (var i = li; i < p.cols / 4u; i += 64u) {
        let v = x[i];
        s += dot(v, v);
    }
    sq[li] = s;
}

// After a barrier past every thread's norm_partial.
fn norm_scale() -> f32 {
    var s = 0.0;
    for (var k = 0u; k < 64u; k++) {
        s += sq[k];
    }
    return inverseSqrt(s / f32(p.cols) + p.eps);
}

fn write_normed(first: bool, li: u32) {
    if first {
        let r = norm_scale();
        for (var i = li; i < p.cols / 4u; i += 64u) {
            normed[i] = x[i] * r * nw[i];
        }
    }
}
