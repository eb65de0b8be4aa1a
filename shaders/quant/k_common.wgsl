// The K-quants (256 values a block) in parts of SUB_LEN values, each part with one scale and
// offset: value = scale.x · quant + scale.y. The type file before this one defines SUB_LEN,
// `k_scale(block_byte_offset, part)`, `k_quant(block_byte_offset, part, index_in_part)` and
// `k_quant4`, four of them from word reads (the matvec's).

const BLOCK_VALUES: u32 = 256u;
const SUBS: u32 = 256u / SUB_LEN;

// ggml's get_scale_min_k4 (Q4_K, Q5_K): the 6-bit (scale, min) of part j from the 12 bytes at
// `sc`.
fn scale_min_k4(sc: u32, j: u32) -> vec2<u32> {
    if j < 4u {
        return vec2<u32>(load_u8(sc + j) & 63u, load_u8(sc + j + 4u) & 63u);
    }
    let a = load_u8(sc + j + 4u);
    return vec2<u32>(
        (a & 15u) | ((load_u8(sc + j - 4u) >> 6u) << 4u),
        (a >> 4u) | ((load_u8(sc + j) >> 6u) << 4u),
    );
}

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let sc = k_scale(off, sub);
    var sq = 0.0;
    var sx = vec4<f32>(0.0);
    let x0 = xo + sub * SUB_LEN;
    for (var i = 0u; i < SUB_LEN; i += 4u) {
        let xi = x4(x0 + i);
        sq += dot(k_quant4(off, sub, i), xi);
        sx += xi;
    }
    return sc.x * sq + sc.y * (sx.x + sx.y + sx.z + sx.w);
}

fn value(off: u32, i: u32) -> f32 {
    let sub = i / SUB_LEN;
    let sc = k_scale(off, sub);
    return sc.x * k_quant(off, sub, i % SUB_LEN) + sc.y;
}
