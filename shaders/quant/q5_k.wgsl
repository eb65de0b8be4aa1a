// Q5_K: 256 values in 176 bytes: d, dmin (f16), 12 bytes of scales and mins (as Q4_K's), 32
// bytes of high bits (bit s of byte i for value 32·s + i), 128 bytes of low nibbles (as Q4_K's).
const BLOCK_BYTES: u32 = 176u;
const SUB_LEN: u32 = 32u;

fn k_scale(off: u32, s: u32) -> vec2<f32> {
    let sm = scale_min_k4(off + 4u, s);
    return vec2<f32>(load_f16(off) * f32(sm.x), -load_f16(off + 2u) * f32(sm.y));
}

fn k_quant(off: u32, s: u32, i: u32) -> f32 {
    let b = load_u8(off + 48u + 32u * (s / 2u) + i);
    let lo = select(b & 15u, b >> 4u, (s & 1u) == 1u);
    let hi = (load_u8(off + 16u + i) >> s) & 1u;
    return f32(lo | (hi << 4u));
}

// Quants i .. i + 4 of part s (i a multiple of 4), a word of nibbles and one of high bits.
fn k_quant4(off: u32, s: u32, i: u32) -> vec4<f32> {
    let lo = (load_u32(off + 48u + 32u * (s / 2u) + i) >> (4u * (s & 1u))) & 0x0f0f0f0fu;
    let hi = (load_u32(off + 16u + i) >> s) & 0x01010101u;
    return vec4<f32>(bytes4(lo | (hi << 4u)));
}
