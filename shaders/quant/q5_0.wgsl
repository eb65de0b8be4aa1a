// Q5_0: 32 values in 22 bytes: d (f16), qh (32 high bits, one per value), 16 bytes of low
// nibbles laid out as Q4_0's; value = d · ((nibble | high bit << 4) - 16). Two parts of 16.
const BLOCK_VALUES: u32 = 32u;
const BLOCK_BYTES: u32 = 22u;
const SUBS: u32 = 2u;

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let d = load_f16(off);
    let qh = load_u32(off + 2u);
    var s = 0.0;
    for (var j = 0u; j < 8u; j += 4u) {
        let b = bytes4(load_u32(off + 6u + sub * 8u + j));
        let k = sub * 8u + j;
        let lo = (b & vec4<u32>(15u)) | (bits4(qh, k) << vec4<u32>(4u));
        let hi = (b >> vec4<u32>(4u)) | (bits4(qh, k + 16u) << vec4<u32>(4u));
        s += dot(vec4<f32>(lo) - 16.0, x4(xo + k)) + dot(vec4<f32>(hi) - 16.0, x4(xo + k + 16u));
    }
    return d * s;
}

fn value(off: u32, i: u32) -> f32 {
    let b = load_u8(off + 6u + (i & 15u));
    let n = select(b & 15u, b >> 4u, i >= 16u);
    let q = n | (((load_u32(off + 2u) >> i) & 1u) << 4u);
    return load_f16(off) * (f32(q) - 16.0);
}
