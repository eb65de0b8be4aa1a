// Q6_K: 256 values in 210 bytes: 128 bytes of low nibbles (ql), 64 bytes of 2-bit highs (qh),
// 16 signed 8-bit scales, d (f16). Each half n of 128 values holds four rows k of 32:
// value 128n + 32k + l = d · scale[8n + 2k + l/16] · ((nibble | high << 4) - 32), the nibble
// from ql[64n + 32·(k & 1) + l] (high nibble for k >= 2), the high bits (qh[32n + l] >> 2k) & 3.
// Parts of 16 values, one scale each.
const BLOCK_BYTES: u32 = 210u;
const SUB_LEN: u32 = 16u;

fn k_scale(off: u32, s: u32) -> vec2<f32> {
    let n = s / 8u;
    let k = (s % 8u) / 2u;
    let scale = load_i8(off + 192u + 8u * n + 2u * k + (s & 1u));
    return vec2<f32>(load_f16(off + 208u) * f32(scale), 0.0);
}

fn k_quant(off: u32, s: u32, i: u32) -> f32 {
    let n = s / 8u;
    let k = (s % 8u) / 2u;
    let l = 16u * (s & 1u) + i;
    let b = load_u8(off + 64u * n + 32u * (k & 1u) + l);
    let lo = select(b & 15u, b >> 4u, k >= 2u);
    let hi = (load_u8(off + 128u + 32u * n + l) >> (2u * k)) & 3u;
    return f32(i32(lo | (hi << 4u)) - 32);
}

// Quants i .. i + 4 of part s (i a multiple of 4), a word of nibbles and one of high bits.
fn k_quant4(off: u32, s: u32, i: u32) -> vec4<f32> {
    let n = s / 8u;
    let k = (s % 8u) / 2u;
    let l = 16u * (s & 1u) + i;
    let b = load_u32(off + 64u * n + 32u * (k & 1u) + l);
    let lo = (b >> select(0u, 4u, k >= 2u)) & 0x0f0f0f0fu;
    let hi = (load_u32(off + 128u + 32u * n + l) >> (2u * k)) & 0x03030303u;
    return vec4<f32>(vec4<i32>(bytes4(lo | (hi << 4u))) - vec4<i32>(32));
}
