// Q4_1: 32 values in 20 bytes: d, m (f16), then 16 bytes of 4-bit quants laid out as Q4_0's;
// value = d · q + m. Two parts of 16.
const BLOCK_VALUES: u32 = 32u;
const BLOCK_BYTES: u32 = 20u;
const SUBS: u32 = 2u;

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let d = load_f16(off);
    let m = load_f16(off + 2u);
    var sq = 0.0;
    var sx = vec4<f32>(0.0);
    for (var j = 0u; j < 8u; j += 4u) {
        let b = bytes4(load_u32(off + 4u + sub * 8u + j));
        let i = xo + sub * 8u + j;
        let x0 = x4(i);
        let x1 = x4(i + 16u);
        sq += dot(vec4<f32>(b & vec4<u32>(15u)), x0) + dot(vec4<f32>(b >> vec4<u32>(4u)), x1);
        sx += x0 + x1;
    }
    return d * sq + m * (sx.x + sx.y + sx.z + sx.w);
}

fn value(off: u32, i: u32) -> f32 {
    let b = load_u8(off + 4u + (i & 15u));
    let q = select(b & 15u, b >> 4u, i >= 16u);
    return load_f16(off) * f32(q) + load_f16(off + 2u);
}
