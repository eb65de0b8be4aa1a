// BF16 weights (the high half of an f32), taken 4 values (8 bytes) at a time.
const BLOCK_VALUES: u32 = 4u;
const BLOCK_BYTES: u32 = 8u;
const SUBS: u32 = 1u;

fn bf16_pair(v: u32) -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(v << 16u), bitcast<f32>(v & 0xffff0000u));
}

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let a = bf16_pair(w[off >> 2u]);
    let b = bf16_pair(w[(off >> 2u) + 1u]);
    return dot(vec4<f32>(a, b), x4(xo));
}

fn value(off: u32, i: u32) -> f32 {
    return bitcast<f32>(load_u16(off + 2u * i) << 16u);
}
