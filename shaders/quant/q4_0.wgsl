// Q4_0: 32 values in 18 bytes: d (f16), then 16 bytes of 4-bit quants, value j in the low
// nibble of byte j and value j + 16 in its high nibble; value = d · (q - 8). Two parts of 16.
const BLOCK_VALUES: u32 = 32u;
const BLOCK_BYTES: u32 = 18u;
const SUBS: u32 = 2u;

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let d = load_f16(off);
    var s = 0.0;
    for (var j = 0u; j < 8u; j += 4u) {
        let b = bytes4(load_u32(off + 2u + sub * 8u + j));
        let i = xo + sub * 8u + j;
        s += dot(vec4<f32>(b & vec4<u32>(15u)) - 8.0, x4(i));
        s += dot(vec4<f32>(b >> vec4<u32>(4u)) - 8.0, x4(i + 16u));
    }
    return d * s;
}

fn value(off: u32, i: u32) -> f32 {
    let b = load_u8(off + 2u + (i & 15u));
    let q = select(b & 15u, b >> 4u, i >= 16u);
    return load_f16(off) * (f32(q) - 8.0);
}
