// Q4_K: 256 values in 144 bytes: d, dmin (f16), 12 bytes of eight 6-bit scales and mins, 128
// bytes of 4-bit quants. Part s (32 values) takes the low (s even) or high nibbles of bytes
// 32·(s/2) .. +32; value = d·scale_s · q - dmin·min_s.
const BLOCK_BYTES: u32 = 144u;
const SUB_LEN: u32 = 32u;

fn k_scale(off: u32, s: u32) -> vec2<f32> {
    let sm = scale_min_k4(off + 4u, s);
    return vec2<f32>(load_f16(off) * f32(sm.x), -load_f16(off + 2u) * f32(sm.y));
}

fn k_quant(off: u32, s: u32, i: u32) -> f32 {
    let b = load_u8(off + 16u + 32u * (s / 2u) + i);
    return f32(select(b & 15u, b >> 4u, (s & 1u) == 1u));
}

// Quants i .. i + 4 of part s (i a multiple of 4): one word of four bytes' nibbles.
fn k_quant4(off: u32, s: u32, i: u32) -> vec4<f32> {
    let b = load_u32(off + 16u + 32u * (s / 2u) + i);
    return vec4<f32>(bytes4((b >> (4u * (s & 1u))) & 0x0f0f0f0fu));
}
