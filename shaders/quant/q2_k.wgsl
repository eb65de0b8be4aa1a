// Q2_K: 256 values in 84 bytes: 16 bytes of 4-bit scale and min pairs, 64 bytes of 2-bit
// quants, d, dmin (f16). Part s (16 values) = half n = s/8, shift j = (s%8)/2, group g = s%2:
// value = d·(sc_s & 15) · ((qs[32n + 16g + i] >> 2j) & 3) - dmin·(sc_s >> 4).
const BLOCK_BYTES: u32 = 84u;
const SUB_LEN: u32 = 16u;

fn k_scale(off: u32, s: u32) -> vec2<f32> {
    let sc = load_u8(off + s);
    return vec2<f32>(load_f16(off + 80u) * f32(sc & 15u), -load_f16(off + 82u) * f32(sc >> 4u));
}

fn k_quant(off: u32, s: u32, i: u32) -> f32 {
    let n = s / 8u;
    let j = (s % 8u) / 2u;
    let b = load_u8(off + 16u + 32u * n + 16u * (s & 1u) + i);
    return f32((b >> (2u * j)) & 3u);
}

// Quants i .. i + 4 of part s (i a multiple of 4): one word of 2-bit quants.
fn k_quant4(off: u32, s: u32, i: u32) -> vec4<f32> {
    let n = s / 8u;
    let j = (s % 8u) / 2u;
    let b = load_u32(off + 16u + 32u * n + 16u * (s & 1u) + i);
    return vec4<f32>(bytes4((b >> (2u * j)) & 0x03030303u));
}
