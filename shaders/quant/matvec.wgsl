// out[t, row0 + r] = Σ_i W[r, i] · x[t, i]: one workgroup per (RPW weight rows, TT tokens), TPR
// threads per row. The type file before this one defines the block format (BLOCK_VALUES,
// BLOCK_BYTES, SUBS) and `sub_dot(block_byte_offset, sub, x_index)`, the dot of one of a
// block's SUBS equal parts with the activations. A row's threads take its parts in turn (so
// neighbouring threads read neighbouring bytes), then one of them adds up their sums.
// Several rows a workgroup cut the workgroup count, which software adapters pay for dearly
// (SwiftShader decoded SmolLM2 in about 10 s a token with several rows, 40 s with one), and
// keep short rows (576 values: 36 parts) from idling most of a workgroup.
//
// Two more entry points fuse what goes with a product when decoding, each saving dispatches:
// `main_qkv` takes Q, K and V stacked in one buffer and writes each to its own output;
// `main_gate_up` takes the FFN's gate and up stacked, and writes act(gate) · up. Built with
// x_normed.wgsl, both also take the RMS norm before them.

@group(0) @binding(0) var<uniform> p: MatvecParams;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> out_k: array<f32>;
@group(0) @binding(6) var<storage, read_write> out_v: array<f32>;

const WG: u32 = 64u;
// Threads per row, and thread groups per workgroup (MATVEC_GROUPS in backend/gpu/forward.rs).
// On an H200, 32 threads a row decoded as fast as 64 or faster (up to 12%), and up to 29%
// faster than 16.
// RT, the rows each thread takes (defined before this file, like TT), shares every activation
// load between RT rows: a workgroup's first TPR threads take rows 0 .. RT, the others RT .. 2·RT.
const TPR: u32 = 32u;
const GROUPS: u32 = WG / TPR;
const RPW: u32 = GROUPS * RT;
// TT, the tokens a workgroup takes, is defined before this file: 1 for decoding, more for short
// batches (each weight part is then decoded once, from cache, for up to TT tokens). Loops
// over it have a constant count, so the accumulators stay in registers.
var<workgroup> partial: array<f32, TT * RT * WG>; // [TT][RT][WG]

// This thread's share of weight rows `wrow` .. `wrow + RT` (of the bound buffer, rows past
// `live` left out) dotted with tokens t0 .. t0 + nt, into partial[j][k][li].
fn accumulate(wrow: u32, live: u32, lane: u32, li: u32, t0: u32, nt: u32) {
    let nb = p.cols / BLOCK_VALUES;
    let xo = p.x_off + t0 * p.x_stride;
    var s: array<array<f32, TT>, RT>;
    for (var u = lane; u < nb * SUBS; u += TPR) {
        let b = u / SUBS;
        for (var k = 0u; k < RT; k++) {
            if k < live {
                let off = (wrow + k) * nb * BLOCK_BYTES + b * BLOCK_BYTES;
                for (var j = 0u; j < TT; j++) {
                    if j < nt {
                        s[k][j] += sub_dot(off, u % SUBS, xo + j * p.x_stride + b * BLOCK_VALUES);
                    }
                }
            }
        }
    }
    for (var k = 0u; k < RT; k++) {
        for (var j = 0u; j < TT; j++) {
            partial[(j * RT + k) * WG + li] = s[k][j];
        }
    }
}

// The whole dot of the workgroup's row q (0 .. RPW), token j. One barrier before, then a
// serial sum: a tree would cost a barrier per level (dear on software adapters, little gain
// on GPUs).
fn row_total(q: u32, j: u32) -> f32 {
    let first = (q / RT) * TPR;
    let base = (j * RT + q % RT) * WG + first;
    var sum = 0.0;
    for (var k = 0u; k < TPR; k++) {
        sum += partial[base + k];
    }
    return sum;
}

fn first_token(wg: vec3<u32>) -> u32 {
    return wg.z * TT;
}

fn row_group(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wg.x + wg.y * nwg.x;
}

// The first row of this thread's RT, and how many of them are real rows.
fn thread_rows(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> vec2<u32> {
    let r = row_group(wg, nwg) * RPW + (li / TPR) * RT;
    return vec2<u32>(r, select(0u, min(RT, p.rows - r), r < p.rows));
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let t0 = first_token(wg);
    if t0 >= p.n_tok {
        return;
    }
    let lane = li % TPR;
    let rows = thread_rows(wg, nwg, li);
    let nt = min(TT, p.n_tok - t0);
    accumulate(p.w_row0 + rows.x, rows.y, lane, li, t0, nt);
    workgroupBarrier();
    // The first RT·nt threads of each half each write one (row, token) sum.
    let k = lane / nt;
    let j = lane % nt;
    if k < rows.y {
        let o = p.out_off + (t0 + j) * p.out_stride + p.row0 + rows.x + k;
        var v = row_total((li / TPR) * RT + k, j);
        if p.acc != 0u {
            v += out[o];
        }
        out[o] = v;
    }
}

@compute @workgroup_size(64)
fn main_qkv(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let t0 = first_token(wg);
    if t0 >= p.n_tok {
        return;
    }
    let lane = li % TPR;
    let rows = thread_rows(wg, nwg, li);
    let nt = min(TT, p.n_tok - t0);
    accumulate(p.w_row0 + rows.x, rows.y, lane, li, t0, nt);
    norm_partial(li);
    workgroupBarrier();
    let rw0 = row_group(wg, nwg) * RPW;
    write_normed(rw0 == 0u, li);
    if p.rope != 0u {
        // Thread m writes the workgroup's rows 2m and 2m + 1, rotated where they are a RoPE
        // pair (RPW is even, so pairs never straddle workgroups).
        let r = rw0 + 2u * li;
        if li < RPW / 2u && r < p.rows {
            let n = norm_scale();
            var v = vec2<f32>(row_total(2u * li, 0u), row_total(2u * li + 1u, 0u)) * n;
            if r < p.split_v {
                let i = (select(r, r - p.split_k, r >= p.split_k) % p.head_dim) / 2u;
                if 2u * i < p.n_rot {
                    let theta = p.freq_scale * f32(p.pos0) * pow(p.theta_scale, f32(i));
                    let c = cos(theta);
                    let s = sin(theta);
                    v = vec2<f32>(v.x * c - v.y * s, v.x * s + v.y * c);
                }
            }
            store_qkv(t0, r, v.x);
            if r + 1u < p.rows {
                store_qkv(t0, r + 1u, v.y);
            }
        }
        return;
    }
    let k = lane / nt;
    let j = lane % nt;
    if k < rows.y {
        store_qkv(t0 + j, rows.x + k, row_total((li / TPR) * RT + k, j) * norm_scale());
    }
}

// Row r of the stacked Q, K, V product for token t, into its own output.
fn store_qkv(t: u32, r: u32, v: f32) {
    if r < p.split_k {
        out[t * p.split_k + r] = v;
    } else if r < p.split_v {
        out_k[t * (p.split_v - p.split_k) + r - p.split_k] = v;
    } else {
        out_v[t * (p.rows - p.split_v) + r - p.split_v] = v;
    }
}

// RT outputs a workgroup: its first TPR threads take gate rows g .. g + RT, the others the
// same up rows.
@compute @workgroup_size(64)
fn main_gate_up(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let t0 = first_token(wg);
    if t0 >= p.n_tok {
        return;
    }
    let g = row_group(wg, nwg) * RT;
    let up = li / TPR;
    let nt = min(TT, p.n_tok - t0);
    let live = select(0u, min(RT, p.rows - g), g < p.rows);
    accumulate(p.w_row0 + g + up * p.split_k, live, li % TPR, li, t0, nt);
    norm_partial(li);
    workgroupBarrier();
    write_normed(g == 0u, li);
    let k = li / nt;
    let j = li % nt;
    if li < RT * nt && k < live {
        let o = p.out_off + (t0 + j) * p.out_stride + p.row0 + g + k;
        let r = norm_scale();
        out[o] = gated(p.act, row_total(k, j) * r, row_total(RT + k, j) * r);
    }
}
