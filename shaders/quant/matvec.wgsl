// out[t, row0 + r] = Σ_i W[r, i] · x[t, i]: one workgroup per (RPW weight rows, TT tokens), TPR
// threads per row. The type file before this one defines the block format (BLOCK_VALUES,
// BLOCK_BYTES, SUBS) and `sub_dot(block_byte_offset, sub, x_index)`, the dot of one of a
// block's SUBS equal parts with the activations. A row's threads take its parts in turn (so
// neighbouring threads read neighbouring bytes), then one of them adds up their sums.
// Several rows a workgroup cut the workgroup count, which software adapters pay for dearly
// (SwiftShader decoded SmolLM2 in about 10 s a token with several rows, 40 s with one), and
// keep short rows (576 values: 36 parts) from idling most of a workgroup.

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
}

@group(0) @binding(0) var<uniform> p: MatvecParams;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
// Threads per row, and rows per workgroup (MATVEC_ROWS in backend/gpu/forward.rs). On an H200,
// 32 threads a row decoded as fast as 64 or faster (up to 12%), and up to 29% faster than 16.
const TPR: u32 = 32u;
const RPW: u32 = WG / TPR;
// TT, the tokens a workgroup takes, is defined before this file: 1 for decoding, more for short
// batches (each weight part is then decoded once, from cache, for up to TT tokens). Loops
// over it have a constant count, so the accumulators stay in registers.
var<workgroup> partial: array<f32, TT * WG>; // [TT][WG]

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let t0 = wg.z * TT;
    if t0 >= p.n_tok {
        return;
    }
    let lane = li % TPR;
    let r = (wg.x + wg.y * nwg.x) * RPW + li / TPR;
    let nt = min(TT, p.n_tok - t0);
    let nb = p.cols / BLOCK_VALUES;
    let xo = p.x_off + t0 * p.x_stride;
    var s: array<f32, TT>;
    if r < p.rows {
        let row_off = r * nb * BLOCK_BYTES;
        for (var u = lane; u < nb * SUBS; u += TPR) {
            let b = u / SUBS;
            let off = row_off + b * BLOCK_BYTES;
            for (var j = 0u; j < TT; j++) {
                if j < nt {
                    s[j] += sub_dot(off, u % SUBS, xo + j * p.x_stride + b * BLOCK_VALUES);
                }
            }
        }
    }
    for (var j = 0u; j < TT; j++) {
        partial[j * WG + li] = s[j];
    }
    // One barrier, then the row's first nt threads each add up one token's TPR partial sums
    // (a tree would cost a barrier per level: dear on software adapters, little gain on GPUs).
    workgroupBarrier();
    if lane < nt && r < p.rows {
        let base = lane * WG + li - lane;
        var sum = 0.0;
        for (var k = 0u; k < TPR; k++) {
            sum += partial[base + k];
        }
        out[p.out_off + (t0 + lane) * p.out_stride + p.row0 + r] = sum;
    }
}
