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
// Threads per row, and rows per workgroup (MATVEC_ROWS in backend/gpu/forward.rs). On an H200,
// 32 threads a row decoded as fast as 64 or faster (up to 12%), and up to 29% faster than 16.
const TPR: u32 = 32u;
const RPW: u32 = WG / TPR;
// TT, the tokens a workgroup takes, is defined before this file: 1 for decoding, more for short
// batches (each weight part is then decoded once, from cache, for up to TT tokens). Loops
// over it have a constant count, so the accumulators stay in registers.
var<workgroup> partial: array<f32, TT * WG>; // [TT][WG]

// This thread's share of weight row `wrow` (of the bound buffer) dotted with tokens t0 ..
// t0 + nt, into partial[j][li]; nothing (zeros) when `live` is false.
fn accumulate(wrow: u32, live: bool, lane: u32, li: u32, t0: u32, nt: u32) {
    let nb = p.cols / BLOCK_VALUES;
    let xo = p.x_off + t0 * p.x_stride;
    var s: array<f32, TT>;
    if live {
        let row_off = wrow * nb * BLOCK_BYTES;
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
}

// The whole dot of the row whose threads start at `first` (a multiple of TPR), token j. One
// barrier before, then a serial sum: a tree would cost a barrier per level (dear on software
// adapters, little gain on GPUs).
fn row_total(first: u32, j: u32) -> f32 {
    var sum = 0.0;
    for (var k = 0u; k < TPR; k++) {
        sum += partial[j * WG + first + k];
    }
    return sum;
}

fn first_token(wg: vec3<u32>) -> u32 {
    return wg.z * TT;
}

fn row_group(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wg.x + wg.y * nwg.x;
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
    let r = row_group(wg, nwg) * RPW + li / TPR;
    let nt = min(TT, p.n_tok - t0);
    accumulate(p.w_row0 + r, r < p.rows, lane, li, t0, nt);
    workgroupBarrier();
    // The row's first nt threads each write one token's sum.
    if lane < nt && r < p.rows {
        let o = p.out_off + (t0 + lane) * p.out_stride + p.row0 + r;
        var v = row_total(li - lane, lane);
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
    let r = row_group(wg, nwg) * RPW + li / TPR;
    let nt = min(TT, p.n_tok - t0);
    accumulate(p.w_row0 + r, r < p.rows, lane, li, t0, nt);
    norm_partial(li);
    workgroupBarrier();
    write_normed(row_group(wg, nwg) == 0u, li);
    if p.rope != 0u {
        // One thread writes the workgroup's two rows, rotated where they are a RoPE pair.
        if li == 0u && r < p.rows {
            let n = norm_scale();
            var v = vec2<f32>(row_total(0u, 0u), row_total(TPR, 0u)) * n;
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
    if lane < nt && r < p.rows {
        store_qkv(t0 + lane, r, row_total(li - lane, lane) * norm_scale());
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

// One workgroup per output: its first TPR threads take gate row g, the others up row g.
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
    let g = row_group(wg, nwg);
    let up = li / TPR;
    let nt = min(TT, p.n_tok - t0);
    accumulate(p.w_row0 + g + up * p.split_k, g < p.rows, li % TPR, li, t0, nt);
    norm_partial(li);
    workgroupBarrier();
    write_normed(g == 0u, li);
    if li < nt && g < p.rows {
        let o = p.out_off + (t0 + li) * p.out_stride + p.row0 + g;
        let r = norm_scale();
        out[o] = gated(p.act, row_total(0u, li) * r, row_total(TPR, li) * r);
    }
}
