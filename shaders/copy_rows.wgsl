// A batch's K and V rows stored into the KV cache in one dispatch (z = 0: K, 1: V):
// k_cache[k_off + i] = k[i] for i < k_count, v_cache[v_off + i] = v[i] for i < v_count.

struct CopyParams {
    k_count: u32,
    k_off: u32,
    v_count: u32,
    v_off: u32,
}

@group(0) @binding(0) var<uniform> p: CopyParams;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> v_cache: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if gid.z == 0u {
        if i < p.k_count {
            k_cache[p.k_off + i] = k[i];
        }
    } else if i < p.v_count {
        v_cache[p.v_off + i] = v[i];
    }
}
