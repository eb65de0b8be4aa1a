// Prelude of every quantized-weight shader (matvec.wgsl, gemm.wgsl, get_rows.wgsl): the weight
// bytes as u32 words, read at any byte offset (ggml blocks are not 4-byte aligned: Q4_0's are
// 18 bytes), and the activations, 4 at a time through `x4` (x_plain.wgsl or x_normed.wgsl:
// every block starts at a multiple of 4 values, and so does every row). The host pads each
// weight buffer by 4 bytes so a word read at the last byte stays inside it.

@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;

// The 4 bytes of `q`, low byte first.
fn bytes4(q: u32) -> vec4<u32> {
    return vec4<u32>(q, q >> 8u, q >> 16u, q >> 24u) & vec4<u32>(0xffu);
}

// Bits i .. i + 4 of `v`, one per lane.
fn bits4(v: u32, i: u32) -> vec4<u32> {
    return (vec4<u32>(v) >> (vec4<u32>(0u, 1u, 2u, 3u) + vec4<u32>(i))) & vec4<u32>(1u);
}

fn load_u8(off: u32) -> u32 {
    return (w[off >> 2u] >> ((off & 3u) * 8u)) & 0xffu;
}

// A signed byte.
fn load_i8(off: u32) -> i32 {
    return (i32(load_u8(off)) << 24u) >> 24u;
}

// Two bytes at an even offset.
fn load_u16(off: u32) -> u32 {
    return (w[off >> 2u] >> ((off & 2u) * 8u)) & 0xffffu;
}

// Four bytes at any offset.
fn load_u32(off: u32) -> u32 {
    let s = (off & 3u) * 8u;
    let lo = w[off >> 2u];
    if s == 0u {
        return lo;
    }
    return (lo >> s) | (w[(off >> 2u) + 1u] << (32u - s));
}

fn load_f16(off: u32) -> f32 {
    return unpack2x16float(load_u16(off)).x;
}

// Byte `k` (0..3) of word `v`.
fn byte_of(v: u32, k: u32) -> u32 {
    return (v >> (8u * k)) & 0xffu;
}
