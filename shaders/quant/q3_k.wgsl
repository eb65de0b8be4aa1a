// Q3_K: 256 values in 110 bytes: 32 bytes of high-bit masks, 64 bytes of 2-bit quants, 12
// bytes of sixteen 6-bit scales, d (f16). Part s (16 values) = half n = s/8, shift j = (s%8)/2,
// group g = s%2: value = d·(scale_s - 32) · (((qs[32n + 16g + i] >> 2j) & 3) - 4 if bit
// (4n + j) of hmask[16g + i] is clear).
const BLOCK_BYTES: u32 = 110u;
const SUB_LEN: u32 = 16u;

// The 6-bit scale s: low 4 bits from byte s%8 (low nibble for s < 8, high for s >= 8), high
// 2 bits from byte 8 + s%4 at bit 2·(s/4).
fn scale3(sc: u32, s: u32) -> i32 {
    let lo = (load_u8(sc + (s % 8u)) >> (4u * (s / 8u))) & 15u;
    let hi = (load_u8(sc + 8u + (s % 4u)) >> (2u * (s / 4u))) & 3u;
    return i32(lo | (hi << 4u)) - 32;
}

fn k_scale(off: u32, s: u32) -> vec2<f32> {
    return vec2<f32>(load_f16(off + 108u) * f32(scale3(off + 96u, s)), 0.0);
}

fn k_quant(off: u32, s: u32, i: u32) -> f32 {
    let n = s / 8u;
    let j = (s % 8u) / 2u;
    let g = s & 1u;
    let q = (load_u8(off + 32u + 32u * n + 16u * g + i) >> (2u * j)) & 3u;
    let h = (load_u8(off + 16u * g + i) >> (4u * n + j)) & 1u;
    return f32(i32(q) - select(4, 0, h == 1u));
}

// Quants i .. i + 4 of part s (i a multiple of 4), a word of 2-bit quants and one of masks.
fn k_quant4(off: u32, s: u32, i: u32) -> vec4<f32> {
    let n = s / 8u;
    let j = (s % 8u) / 2u;
    let g = s & 1u;
    let q = (load_u32(off + 32u + 32u * n + 16u * g + i) >> (2u * j)) & 0x03030303u;
    let h = (load_u32(off + 16u * g + i) >> (4u * n + j)) & 0x01010101u;
    return vec4<f32>(vec4<i32>(bytes4(q)) - 4 * (vec4<i32>(1) - vec4<i32>(bytes4(h))));
}
