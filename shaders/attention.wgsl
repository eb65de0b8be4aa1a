// Causal attention of each query row against the KV cache, flash style (one pass over the
// keys with a running max and sum, so any context length fits): one workgroup of 256 threads
// per (head, token). Query t sits at position pos0 + t and sees positions lo ..= pos0 + t,
// where lo = pos0 + t + 1 - window for a sliding window (window 0: none).
//
// The batch's own keys and values (positions pos0 ..) are read from k_new and v_new, and the
// first query head of each KV head stores its token's row of them into the cache: one
// dispatch, no copy before it (nothing in this dispatch reads the cache past pos0).
//
// Keys come in chunks of CH: the threads score the chunk's keys side by side (a key each, its
// row read as vectors), the chunk's max and sum are trees over the workgroup, then the threads
// split into key groups that each add up a share of the chunk's keys for every output dim
// (neighbouring threads, neighbouring dims: one V row read in whole lines). The groups' sums
// are added at the end. Decoding has one token, so a workgroup's path is the whole cost: this
// layout keeps every loop on it short (a thread walked 64 keys one by one before).

struct AttnParams {
    n_tok: u32,
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    head_dim_v: u32,
    pos0: u32,
    window: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: AttnParams;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> k_cache: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> k_new: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> v_new: array<f32>;

const WG: u32 = 256u;
const CH: u32 = 1024u;
// MAX_HEAD_DIM in backend/gpu/forward.rs; head sizes are multiples of 4 (the host checks).
const MAX_HEAD_DIM: u32 = 512u;
// Stands in for -inf: exp of it minus any real score is 0, and it never makes a NaN.
const NEG_BIG: f32 = -1e30;

var<workgroup> q_row: array<vec4<f32>, 128>; // MAX_HEAD_DIM / 4
var<workgroup> scores: array<f32, CH>;
var<workgroup> red: array<f32, WG>;

// The max (is_max) or the sum of every thread's `v`, for all threads.
fn reduce(li: u32, v: f32, is_max: bool) -> f32 {
    red[li] = v;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
        if li < k {
            let o = red[li + k];
            red[li] = select(red[li] + o, max(red[li], o), is_max);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let h = wg.x;
    let t = wg.y;
    if t >= p.n_tok {
        return;
    }
    let kvh = h / (p.n_head / p.n_head_kv);
    let hd4 = p.head_dim / 4u;
    let dk4 = p.n_head_kv * hd4;
    let hdv = p.head_dim_v;
    let dv = p.n_head_kv * hdv;
    for (var i = li; i < hd4; i += WG) {
        q_row[i] = q[(t * p.n_head + h) * hd4 + i];
    }
    let qp = p.pos0 + t;
    if h % (p.n_head / p.n_head_kv) == 0u {
        for (var i = li; i < hd4; i += WG) {
            k_cache[qp * dk4 + kvh * hd4 + i] = k_new[t * dk4 + kvh * hd4 + i];
        }
        for (var i = li; i < hdv; i += WG) {
            v_cache[qp * dv + kvh * hdv + i] = v_new[t * dv + kvh * hdv + i];
        }
    }
    workgroupBarrier();
    var lo = 0u;
    if p.window > 0u && qp + 1u > p.window {
        lo = qp + 1u - p.window;
    }
    // Key groups: thread li adds keys kg, kg + groups, ... of each chunk for dim d0 (and d1
    // where a head has more dims than the workgroup threads).
    var groups = 1u;
    var kg = 0u;
    var d0 = li;
    if hdv <= WG {
        groups = WG / hdv;
        kg = li / hdv;
        d0 = li % hdv;
    }
    let d1 = li + WG;
    let live = kg < groups;
    let vb = kvh * hdv;
    var m = NEG_BIG;
    var l = 0.0;
    var a0 = 0.0;
    var a1 = 0.0;
    for (var c0 = lo; c0 <= qp; c0 += CH) {
        let n = min(CH, qp + 1u - c0);
        var my_max = NEG_BIG;
        for (var i = li; i < n; i += WG) {
            let j = c0 + i;
            var d = 0.0;
            if j < p.pos0 {
                let kb = j * dk4 + kvh * hd4;
                for (var e = 0u; e < hd4; e++) {
                    d += dot(q_row[e], k_cache[kb + e]);
                }
            } else {
                let kb = (j - p.pos0) * dk4 + kvh * hd4;
                for (var e = 0u; e < hd4; e++) {
                    d += dot(q_row[e], k_new[kb + e]);
                }
            }
            let s = d * p.scale;
            scores[i] = s;
            my_max = max(my_max, s);
        }
        let new_m = max(m, reduce(li, my_max, true));
        let corr = exp(m - new_m);
        var my_sum = 0.0;
        for (var i = li; i < n; i += WG) {
            let e = exp(scores[i] - new_m);
            scores[i] = e;
            my_sum += e;
        }
        // (the reduction's barriers also make every thread's scores visible)
        l = l * corr + reduce(li, my_sum, false);
        a0 *= corr;
        a1 *= corr;
        if live {
            for (var i = kg; i < n; i += groups) {
                let j = c0 + i;
                let pr = scores[i];
                if j < p.pos0 {
                    let row = j * dv + vb;
                    a0 += pr * v_cache[row + d0];
                    if d1 < hdv {
                        a1 += pr * v_cache[row + d1];
                    }
                } else {
                    let row = (j - p.pos0) * dv + vb;
                    a0 += pr * v_new[row + d0];
                    if d1 < hdv {
                        a1 += pr * v_new[row + d1];
                    }
                }
            }
        }
        m = new_m;
        workgroupBarrier();
    }
    let o = (t * p.n_head + h) * hdv;
    if groups == 1u {
        if live && d0 < hdv {
            out[o + d0] = a0 / l;
        }
        if d1 < hdv {
            out[o + d1] = a1 / l;
        }
        return;
    }
    if live {
        scores[kg * hdv + d0] = a0;
    }
    workgroupBarrier();
    if li < hdv {
        var sum = 0.0;
        for (var g = 0u; g < groups; g++) {
            sum += scores[g * hdv + li];
        }
        out[o + li] = sum / l;
    }
}
