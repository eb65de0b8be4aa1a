// dst[r, i] = src[r, i] / sqrt(mean_i(src[r, i]²) + eps) · weight[i]: one workgroup per row.
// `main` reads `src` and writes `dst`; `main_inplace` normalises `dst` in place.

struct NormParams {
    width: u32,
    rows: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: NormParams;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

// 1/rms of a row from each thread's partial sum of squares (a tree over the workgroup).
fn inv_rms(li: u32, sum_sq: f32) -> f32 {
    partial[li] = sum_sq;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if li < k {
            partial[li] += partial[li + k];
        }
        workgroupBarrier();
    }
    return inverseSqrt(partial[0] / f32(p.width) + p.eps);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let base = wg.x * p.width;
    var s = 0.0;
    for (var i = li; i < p.width; i += WG) {
        s += src[base + i] * src[base + i];
    }
    let scale = inv_rms(li, s);
    for (var i = li; i < p.width; i += WG) {
        dst[base + i] = src[base + i] * scale * weight[i];
    }
}

@compute @workgroup_size(256)
fn main_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let base = wg.x * p.width;
    var s = 0.0;
    for (var i = li; i < p.width; i += WG) {
        s += dst[base + i] * dst[base + i];
    }
    let scale = inv_rms(li, s);
    for (var i = li; i < p.width; i += WG) {
        dst[base + i] = dst[base + i] * scale * weight[i];
    }
}
