// out[t, row0 + r] = Σ_i W[r, i] · x[t, i]: one workgroup per (weight row, TT tokens). The type file
// before this one defines the block format (BLOCK_VALUES, BLOCK_BYTES, SUBS) and
// `sub_dot(block_byte_offset, sub, x_index)`, the dot of one of a block's SUBS equal parts with
// the activations; the workgroup's threads take the parts of the row in turn and sum in a tree.

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
// Tokens per workgroup: each weight part is decoded once (from cache) for up to TT tokens, so
// a prefill reads each weight from memory once per TT tokens instead of once per token.
const TT: u32 = 8u;
var<workgroup> partial: array<f32, 512>; // [TT][WG]

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let r = wg.x + wg.y * nwg.x;
    let t0 = wg.z * TT;
    if r >= p.rows || t0 >= p.n_tok {
        return;
    }
    let nt = min(TT, p.n_tok - t0);
    let nb = p.cols / BLOCK_VALUES;
    let row_off = r * nb * BLOCK_BYTES;
    let xo = p.x_off + t0 * p.x_stride;
    var s: array<f32, TT>;
    for (var u = li; u < nb * SUBS; u += WG) {
        let b = u / SUBS;
        let off = row_off + b * BLOCK_BYTES;
        for (var j = 0u; j < nt; j++) {
            s[j] += sub_dot(off, u % SUBS, xo + j * p.x_stride + b * BLOCK_VALUES);
        }
    }
    for (var j = 0u; j < nt; j++) {
        partial[j * WG + li] = s[j];
    }
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if li < k {
            for (var j = 0u; j < nt; j++) {
                partial[j * WG + li] += partial[j * WG + li + k];
            }
        }
        workgroupBarrier();
    }
    if li < nt {
        out[p.out_off + (t0 + li) * p.out_stride + p.row0 + r] = partial[li * WG];
    }
}
