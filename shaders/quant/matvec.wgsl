// out[t, row0 + r] = Σ_i W[r, i] · x[t, i]: one workgroup per (weight row, token). The type file
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
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let r = wg.x + wg.y * nwg.x;
    let t = wg.z;
    if r >= p.rows {
        return;
    }
    let nb = p.cols / BLOCK_VALUES;
    let row_off = r * nb * BLOCK_BYTES;
    let xo = p.x_off + t * p.x_stride;
    var s = 0.0;
    for (var u = li; u < nb * SUBS; u += WG) {
        let b = u / SUBS;
        s += sub_dot(row_off + b * BLOCK_BYTES, u % SUBS, xo + b * BLOCK_VALUES);
    }
    partial[li] = s;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if li < k {
            partial[li] += partial[li + k];
        }
        workgroupBarrier();
    }
    if li == 0u {
        out[p.out_off + t * p.out_stride + p.row0 + r] = partial[0];
    }
}
