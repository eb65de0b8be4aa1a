// out[t, row0 + r] = Σ_i W[r, i] · x[t, i] for a batch of tokens (prefill): one workgroup per
// tile of BM weight rows × BN tokens, stepping through the columns BK at a time. Each step the
// workgroup decodes the weight tile once into workgroup memory (the type file before this one
// defines `value(block_byte_offset, index_in_block)`) and stages the activations beside it,
// then every thread adds up a 4 × 4 block of outputs from them. So a weight is read from
// memory once per BN tokens and decoded once per workgroup, where the matvec decodes it again
// for every token. Same uniforms as the matvec; the columns are a multiple of BK.

@group(0) @binding(0) var<uniform> p: MatvecParams;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 32u;
// [BK][BM] weights and [BK][BN] activations, 4 rows (tokens) a vector: 16 KiB together, the
// workgroup memory every WebGPU adapter has.
var<workgroup> ws: array<vec4<f32>, 512>;
var<workgroup> xs: array<vec4<f32>, 512>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let r0 = wg.x * BM;
    let t0 = wg.y * BN;
    let nb = p.cols / BLOCK_VALUES;
    // Staging: thread li fills 8 consecutive columns of weight row (activation row) li / 4.
    let ld = li / 4u;
    let seg = (li % 4u) * 8u;
    let wr = min(r0 + ld, p.rows - 1u);
    let wt = min(t0 + ld, p.n_tok - 1u);
    let row_off = (p.w_row0 + wr) * nb * BLOCK_BYTES;
    let xrow = p.x_off + wt * p.x_stride;
    // Compute: thread li owns rows 4·(li % 16) .. +4 and tokens 4·(li / 16) .. +4 of the tile.
    let tr = li % 16u;
    let tc = li / 16u;
    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < p.cols; k0 += BK) {
        for (var e = 0u; e < 8u; e++) {
            let i = k0 + seg + e;
            let b = i / BLOCK_VALUES;
            let k = seg + e;
            ws[k * 16u + ld / 4u][ld % 4u] = value(row_off + b * BLOCK_BYTES, i % BLOCK_VALUES);
        }
        for (var e = 0u; e < 8u; e += 4u) {
            let v = x4(xrow + k0 + seg + e);
            let k = seg + e;
            xs[k * 16u + ld / 4u][ld % 4u] = v.x;
            xs[(k + 1u) * 16u + ld / 4u][ld % 4u] = v.y;
            xs[(k + 2u) * 16u + ld / 4u][ld % 4u] = v.z;
            xs[(k + 3u) * 16u + ld / 4u][ld % 4u] = v.w;
        }
        workgroupBarrier();
        for (var k = 0u; k < BK; k++) {
            let a = ws[k * 16u + tr];
            let b = xs[k * 16u + tc];
            c0 += a * b.x;
            c1 += a * b.y;
            c2 += a * b.z;
            c3 += a * b.w;
        }
        workgroupBarrier();
    }
    let r = r0 + tr * 4u;
    let t = t0 + tc * 4u;
    let c = array<vec4<f32>, 4>(c0, c1, c2, c3);
    for (var j = 0u; j < 4u; j++) {
        if t + j < p.n_tok {
            let o = p.out_off + (t + j) * p.out_stride + p.row0 + r;
            for (var i = 0u; i < 4u; i++) {
                if r + i < p.rows {
                    var v = c[j][i];
                    if p.acc != 0u {
                        v += out[o + i];
                    }
                    out[o + i] = v;
                }
            }
        }
    }
}
