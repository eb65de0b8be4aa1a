// F32 weights, taken 4 values (16 bytes) at a time.
const BLOCK_VALUES: u32 = 4u;
const BLOCK_BYTES: u32 = 16u;
const SUBS: u32 = 1u;

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let v = bitcast<vec4<f32>>(vec4<u32>(
        w[off >> 2u],
        w[(off >> 2u) + 1u],
        w[(off >> 2u) + 2u],
        w[(off >> 2u) + 3u],
    ));
    return dot(v, x4(xo));
}

fn value(off: u32, i: u32) -> f32 {
    return bitcast<f32>(w[(off >> 2u) + i]);
}
