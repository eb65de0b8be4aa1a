// Q8_0: 32 values in 34 bytes: d (f16), then 32 signed bytes; value = d · q. Two parts of 16.
const BLOCK_VALUES: u32 = 32u;
const BLOCK_BYTES: u32 = 34u;
const SUBS: u32 = 2u;

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let d = load_f16(off);
    var s = 0.0;
    for (var j = 0u; j < 16u; j += 4u) {
        let q = load_u32(off + 2u + sub * 16u + j);
        let v = vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(q << 24u, q << 16u, q << 8u, q)) >> vec4<u32>(24u));
        s += dot(v, x4(xo + sub * 16u + j));
    }
    return d * s;
}

fn value(off: u32, i: u32) -> f32 {
    return load_f16(off) * f32(load_i8(off + 2u + i));
}
