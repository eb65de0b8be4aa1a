// Causal attention of each query row against the KV cache, flash style (one pass over the
// keys with a running max and sum, so any context length fits): one workgroup per (head,
// token). Keys come in tiles of 64, one score per thread; each thread owns the output dims
// d ≡ li (mod 64). Query t sits at position pos0 + t and sees positions lo ..= pos0 + t, where
// lo = pos0 + t + 1 - window for a sliding window (window 0: none).

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
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
const MAX_HEAD_DIM: u32 = 512u;
const DIMS_PER_THREAD: u32 = MAX_HEAD_DIM / WG;
// Stands in for -inf: exp of it minus any real score is 0, and it never makes a NaN.
const NEG_BIG: f32 = -1e30;

var<workgroup> q_row: array<f32, MAX_HEAD_DIM>;
var<workgroup> tile: array<f32, WG>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let h = wg.x;
    let t = wg.y;
    if t >= p.n_tok {
        return;
    }
    let kvh = h / (p.n_head / p.n_head_kv);
    let dk = p.n_head_kv * p.head_dim;
    let dv = p.n_head_kv * p.head_dim_v;
    for (var i = li; i < p.head_dim; i += WG) {
        q_row[i] = q[(t * p.n_head + h) * p.head_dim + i];
    }
    workgroupBarrier();
    let qp = p.pos0 + t;
    var lo = 0u;
    if p.window > 0u && qp + 1u > p.window {
        lo = qp + 1u - p.window;
    }
    var m = NEG_BIG;
    var l = 0.0;
    var acc: array<f32, DIMS_PER_THREAD>;
    for (var j0 = lo; j0 <= qp; j0 += WG) {
        let j = j0 + li;
        var s = NEG_BIG;
        if j <= qp {
            let kb = j * dk + kvh * p.head_dim;
            var d = 0.0;
            for (var i = 0u; i < p.head_dim; i++) {
                d += q_row[i] * k_cache[kb + i];
            }
            s = d * p.scale;
        }
        tile[li] = s;
        workgroupBarrier();
        var tile_max = NEG_BIG;
        for (var k = 0u; k < WG; k++) {
            tile_max = max(tile_max, tile[k]);
        }
        let new_m = max(m, tile_max);
        let corr = exp(m - new_m);
        workgroupBarrier();
        tile[li] = exp(s - new_m);
        workgroupBarrier();
        let n_keys = min(WG, qp + 1u - j0);
        var tile_sum = 0.0;
        for (var k = 0u; k < n_keys; k++) {
            tile_sum += tile[k];
        }
        l = l * corr + tile_sum;
        for (var c = 0u; c < DIMS_PER_THREAD; c++) {
            let d = li + c * WG;
            if d < p.head_dim_v {
                var a = acc[c] * corr;
                for (var k = 0u; k < n_keys; k++) {
                    a += tile[k] * v_cache[(j0 + k) * dv + kvh * p.head_dim_v + d];
                }
                acc[c] = a;
            }
        }
        m = new_m;
        workgroupBarrier();
    }
    for (var c = 0u; c < DIMS_PER_THREAD; c++) {
        let d = li + c * WG;
        if d < p.head_dim_v {
            out[(t * p.n_head + h) * p.head_dim_v + d] = acc[c] / l;
        }
    }
}
