// Q5_1: 32 values in 24 bytes: d, m (f16), qh (32 high bits), 16 bytes of low nibbles laid
// out as Q4_0's; value = d · (nibble | high bit << 4) + m. Two parts of 16.
const BLOCK_VALUES: u32 = 32u;
const BLOCK_BYTES: u32 = 24u;
const SUBS: u32 = 2u;

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let d = load_f16(off);
    let m = load_f16(off + 2u);
    let qh = load_u32(off + 4u);
    var sq = 0.0;
    var sx = vec4<f32>(0.0);
    for (var j = 0u; j < 8u; j += 4u) {
        let b = bytes4(load_u32(off + 8u + sub * 8u + j));
        let k = sub * 8u + j;
        let lo = (b & vec4<u32>(15u)) | (bits4(qh, k) << vec4<u32>(4u));
        let hi = (b >> vec4<u32>(4u)) | (bits4(qh, k + 16u) << vec4<u32>(4u));
        let x0 = x4(xo + k);
        let x1 = x4(xo + k + 16u);
        sq += dot(vec4<f32>(lo), x0) + dot(vec4<f32>(hi), x1);
        sx += x0 + x1;
    }
    return d * sq + m * (sx.x + sx.y + sx.z + sx.w);
}

fn value(off: u32, i: u32) -> f32 {
    let b = load_u8(off + 8u + (i & 15u));
    let n = select(b & 15u, b >> 4u, i >= 16u);
    let q = n | (((load_u32(off + 4u) >> i) & 1u) << 4u);
    return load_f16(off) * f32(q) + load_f16(off + 2u);
}
