// The K-quants (256 values a block) in parts of SUB_LEN values, each part with one scale and
// offset: value = scale.x · quant + scale.y. The type file before this one defines SUB_LEN,
// `k_scale(block_byte_offset, part)` and `k_quant(block_byte_offset, part, index_in_part)`.

const BLOCK_VALUES: u32 = 256u;
const SUBS: u32 = 256u / SUB_LEN;

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let sc = k_scale(off, sub);
    var sq = 0.0;
    var sx = 0.0;
    let x0 = xo + sub * SUB_LEN;
    for (var i = 0u; i < SUB_LEN; i++) {
        let xi = x[x0 + i];
        sq += k_quant(off, sub, i) * xi;
        sx += xi;
    }
    return sc.x * sq + sc.y * sx;
}

fn value(off: u32, i: u32) -> f32 {
    let sub = i / SUB_LEN;
    let sc = k_scale(off, sub);
    return sc.x * k_quant(off, sub, i % SUB_LEN) + sc.y;
}
