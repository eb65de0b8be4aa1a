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
    var sx = 0.0;
    for (var j = 0u; j < 8u; j += 4u) {
        let q = load_u32(off + 8u + sub * 8u + j);
        for (var k = 0u; k < 4u; k++) {
            let b = byte_of(q, k);
            let i = sub * 8u + j + k;
            let lo = (b & 15u) | (((qh >> i) & 1u) << 4u);
            let hi = (b >> 4u) | (((qh >> (i + 16u)) & 1u) << 4u);
            let x0 = x[xo + i];
            let x1 = x[xo + i + 16u];
            sq += f32(lo) * x0 + f32(hi) * x1;
            sx += x0 + x1;
        }
    }
    return d * sq + m * sx;
}

fn value(off: u32, i: u32) -> f32 {
    let b = load_u8(off + 8u + (i & 15u));
    let n = select(b & 15u, b >> 4u, i >= 16u);
    let q = n | (((load_u32(off + 4u) >> i) & 1u) << 4u);
    return load_f16(off) * f32(q) + load_f16(off + 2u);
}
