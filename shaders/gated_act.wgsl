// gate[i] = act(gate[i]) · up[i] for i < count (act.wgsl comes before this file).

struct GatedActParams {
    count: u32,
    act: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: GatedActParams;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> gate: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= p.count {
        return;
    }
    gate[i] = gated(p.act, gate[i], up[i]);
}
