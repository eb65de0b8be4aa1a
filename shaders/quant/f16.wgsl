// F16 weights, taken 4 values (8 bytes) at a time.
const BLOCK_VALUES: u32 = 4u;
const BLOCK_BYTES: u32 = 8u;
const SUBS: u32 = 1u;

fn sub_dot(off: u32, sub: u32, xo: u32) -> f32 {
    let a = unpack2x16float(w[off >> 2u]);
    let b = unpack2x16float(w[(off >> 2u) + 1u]);
    return dot(vec4<f32>(a, b), x4(xo));
}

fn value(off: u32, i: u32) -> f32 {
    return load_f16(off + 2u * i);
}
