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
        let q = load_u32(off + 6u + sub * 8u + j);
        for (var k = 0u; k < 4u; k++) {
            let b = byte_of(q, k);
            let i = sub * 8u + j + k;
            let lo = (b & 15u) | (((qh >> i) & 1u) << 4u);
            let hi = (b >> 4u) | (((qh >> (i + 16u)) & 1u) << 4u);
            s += (f32(lo) - 16.0) * x[xo + i] + (f32(hi) - 16.0) * x[xo + i + 16u];
        }
    }
    return d * s;
}

fn value(off: u32, i: u32) -> f32 {
    let b = load_u8(off + 6u + (i & 15u));
    let n = select(b & 15u, b >> 4u, i >= 16u);
    let q = n | (((load_u32(off + 2u) >> i) & 1u) << 4u);
    return load_f16(off) * (f32(q) - 16.0);
}
