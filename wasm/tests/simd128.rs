//! The fast kernels against their scalar twins, on random data with odd tails.
//!
//! Runs in Node under `wasm-bindgen-test` (scripts/test-wasm.sh), where `quant::kernels()` and
//! the dispatching ops are the SIMD128 kernels, and natively (`cargo test -p wasm-chord-wasm`),
//! where they are the AVX2 kernels. Every quantized and float dot is checked bit for bit
//! against [`x86_order`], a plain-Rust model of the AVX2 kernels' arithmetic (llama.cpp's x86
//! order: one 8-lane accumulator of fused multiply-adds, ggml's horizontal sum), so passing on
//! both targets means SIMD128 == AVX2 — except for the SIMD128 dots of the 32-value blocks and
//! F32, which keep that order with unfused multiply-adds: they are checked bit for bit against
//! that unfused model, and their largest difference from the fused (x86) one is printed.
//! Everything else (activation quantizers, f16 rounding
//! and widening, the f16 accumulator update, SwiGLU, ggml's vector exp, the f16 dot, the FMA
//! chains of tiled attention) is checked bit for bit against its scalar twin. The scalar dots
//! sum in another order; they are checked to a relative 1e-5 of `Σ|w·x|`, and the largest
//! difference is printed.

use wasm_chord_core::backend::cpu::ops;
use wasm_chord_core::quant::{self, f16, f16_le, f16_le_from, GgmlType, QK_K};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Prints in Node (console.log) and natively (stderr).
macro_rules! log {
    ($($t:tt)*) => {{
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_test::console_log!($($t)*);
        #[cfg(not(target_arch = "wasm32"))]
        eprintln!($($t)*);
    }};
}

/// Weight types with fast kernels (Q2_K and Q3_K have none on either ISA).
const FAST_TYPES: [GgmlType; 11] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

/// Deterministic xorshift64* (seeded), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    /// Values whose scale changes every 32 elements (1e-2 .. 1e2), with an occasional
    /// all-zero or one-signed block.
    fn row(&mut self, n: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(n);
        for chunk in 0..n.div_ceil(32) {
            let scale = 10f32.powf(self.unit() * 2.0);
            let (scale, offset) = match chunk % 7 {
                5 => (0.0, 0.0),
                3 => (scale, scale),
                _ => (scale, 0.0),
            };
            for _ in 0..32.min(n - chunk * 32) {
                v.push(self.unit() * scale + offset);
            }
        }
        v
    }
    /// A scale field: magnitudes 1e-7 .. 1e-1 (f16 subnormals included), either sign.
    fn scale(&mut self) -> f32 {
        self.unit() * 10f32.powf(self.unit() * 3.0 - 4.0)
    }
}

fn row_bytes(t: GgmlType, n: usize) -> usize {
    n / t.block_len() * t.block_bytes()
}

/// Byte offsets of the f16 scale fields in a block of `t`.
fn scale_fields(t: GgmlType) -> &'static [usize] {
    match t {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q6_K => &[208],
        _ => &[],
    }
}

/// Random weights: every quant bit pattern (random bytes), finite f16 scales; float rows of
/// random values (F16/BF16 with their own rounding).
fn random_weights(t: GgmlType, rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut w: Vec<u8> = (0..row_bytes(t, n)).map(|_| rng.next_u64() as u8).collect();
    match t {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => {
            quant::quantize_row_scalar(t, &rng.row(n), &mut w);
        }
        _ => {
            for b in w.chunks_exact_mut(t.block_bytes()) {
                for &f in scale_fields(t) {
                    b[f..f + 2].copy_from_slice(&f16_le_from(rng.scale()));
                }
            }
        }
    }
    w
}

fn activations(t: GgmlType, x: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; row_bytes(t, x.len())];
    quant::quantize_row_scalar(t, x, &mut out);
    out
}

/// Lengths with odd numbers of blocks, and odd float tails.
fn lengths(t: GgmlType) -> Vec<usize> {
    match t.block_len() {
        1 => vec![1, 3, 7, 8, 31, 32, 33, 63, 100, 257, 576, 1000],
        32 => vec![32, 64, 96, 224, 544, 1536],
        _ => vec![256, 512, 768, 1792],
    }
}

// ---------------------------------------------------------------------------------------------
// The x86 kernels' arithmetic, in plain Rust: integer lanes as `maddubs`+`madd` leave them (lane
// k = the 4 products of bytes 4k..4k+4 of a 32-byte group), `acc = fma(d, lane, acc)` per block,
// ggml's `hsum_float_8`.

fn hsum8(a: &[f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

/// Lanes of a 32-value block: `Σ_{i<4} w[4k+i]·x[4k+i]`.
fn lanes32(w: &[i32; 32], x: &[i8]) -> [i32; 8] {
    std::array::from_fn(|k| (0..4).map(|i| w[4 * k + i] * x[4 * k + i] as i32).sum())
}

fn i8s(b: &[u8]) -> Vec<i8> {
    b.iter().map(|&v| v as i8).collect()
}

fn f16b(b: &[u8], at: usize) -> f32 {
    f16_le([b[at], b[at + 1]])
}

/// The 32 integer values of a legacy block (`qs` nibbles at `qs`, `qh` bits at `qh`).
fn legacy_values(t: GgmlType, b: &[u8]) -> [i32; 32] {
    let (qs, qh, off) = match t {
        GgmlType::Q4_0 => (&b[2..18], 0u32, -8),
        GgmlType::Q4_1 => (&b[4..20], 0, 0),
        GgmlType::Q5_0 => (&b[6..22], u32::from_le_bytes([b[2], b[3], b[4], b[5]]), -16),
        GgmlType::Q5_1 => (&b[8..24], u32::from_le_bytes([b[4], b[5], b[6], b[7]]), 0),
        _ => unreachable!(),
    };
    let five = matches!(t, GgmlType::Q5_0 | GgmlType::Q5_1);
    std::array::from_fn(|e| {
        let nib = if e < 16 { qs[e] & 15 } else { qs[e - 16] >> 4 } as i32;
        let hi = if five { ((qh >> e) & 1) as i32 * 16 } else { 0 };
        nib + hi + off
    })
}

/// The 6-bit scale and min of sub-block j (ggml's `get_scale_min_k4`).
fn scale_min_k4(j: usize, q: &[u8]) -> (i32, i32) {
    if j < 4 {
        ((q[j] & 63) as i32, (q[j + 4] & 63) as i32)
    } else {
        (
            ((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4)) as i32,
            ((q[j + 4] >> 4) | ((q[j] >> 6) << 4)) as i32,
        )
    }
}

fn bsum(bx: &[u8], i: usize) -> i32 {
    i16::from_le_bytes([bx[260 + 2 * i], bx[261 + 2 * i]]) as i32
}

/// The value the AVX2 kernel of `t` returns (`None`: no such kernel), or with `fused` false the
/// same order with every `acc = fma(a, b, acc)` done as `acc + a·b` rounded twice (what the
/// SIMD128 kernels of the 32-value blocks and F32 compute).
fn x86_order(t: GgmlType, n: usize, w: &[u8], x: &[u8], fused: bool) -> Option<f32> {
    let fma = |a: f32, b: f32, c: f32| if fused { a.mul_add(b, c) } else { c + a * b };
    let fma8 = |acc: &mut [f32; 8], d: f32, lanes: &[i32; 8]| {
        for (a, &l) in acc.iter_mut().zip(lanes) {
            *a = fma(d, l as f32, *a);
        }
    };
    Some(match t {
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => {
            let (xb, with_s) = match t {
                GgmlType::Q4_1 | GgmlType::Q5_1 => (36, true),
                _ => (34, false),
            };
            let mut acc = [0f32; 8];
            let mut summs = 0f32;
            for (bw, bx) in w.chunks_exact(t.block_bytes()).zip(x.chunks_exact(xb)) {
                let vals = if t == GgmlType::Q8_0 {
                    std::array::from_fn(|e| bw[2 + e] as i8 as i32)
                } else {
                    legacy_values(t, bw)
                };
                let xq = i8s(&bx[xb - 32..]);
                fma8(&mut acc, f16b(bw, 0) * f16b(bx, 0), &lanes32(&vals, &xq));
                if with_s {
                    summs = f16b(bw, 2).mul_add(f16b(bx, 2), summs);
                }
            }
            hsum8(&acc) + summs
        }
        GgmlType::Q4_K | GgmlType::Q5_K => {
            let (mut acc, mut acc_m) = ([0f32; 8], 0f32);
            for (bw, bx) in w.chunks_exact(t.block_bytes()).zip(x.chunks_exact(292)) {
                let yd = f32::from_le_bytes([bx[0], bx[1], bx[2], bx[3]]);
                let y = i8s(&bx[4..260]);
                let (qh, qs) = if t == GgmlType::Q5_K {
                    (Some(&bw[16..48]), &bw[48..176])
                } else {
                    (None, &bw[16..144])
                };
                let mut lanes = [0i32; 8];
                let mut summ = 0;
                for j in 0..4 {
                    let (s0, m0) = scale_min_k4(2 * j, &bw[4..16]);
                    let (s1, m1) = scale_min_k4(2 * j + 1, &bw[4..16]);
                    summ += m0 * (bsum(bx, 4 * j) + bsum(bx, 4 * j + 1))
                        + m1 * (bsum(bx, 4 * j + 2) + bsum(bx, 4 * j + 3));
                    for l in 0..32 {
                        let h = qh.map_or(0, |h| h[l] >> (2 * j));
                        let lo = ((qs[32 * j + l] & 15) | ((h & 1) << 4)) as i32;
                        let hi = ((qs[32 * j + l] >> 4) | ((h & 2) << 3)) as i32;
                        lanes[l / 4] +=
                            s0 * lo * y[64 * j + l] as i32 + s1 * hi * y[64 * j + 32 + l] as i32;
                    }
                }
                acc_m += yd * f16b(bw, 2) * summ as f32;
                fma8(&mut acc, yd * f16b(bw, 0), &lanes);
            }
            hsum8(&acc) - acc_m
        }
        GgmlType::Q6_K => {
            let mut acc = [0f32; 8];
            for (bw, bx) in w.chunks_exact(210).zip(x.chunks_exact(292)) {
                let (ql, qh, sc) = (&bw[..128], &bw[128..192], i8s(&bw[192..208]));
                let y = i8s(&bx[4..260]);
                let mut lanes: [i32; 8] = std::array::from_fn(|l| {
                    -32 * (sc[2 * l] as i32 * bsum(bx, 2 * l)
                        + sc[2 * l + 1] as i32 * bsum(bx, 2 * l + 1))
                });
                for h in 0..2 {
                    for l in 0..32 {
                        let (a, b, q) = (ql[64 * h + l], ql[64 * h + 32 + l], qh[32 * h + l]);
                        let v = [
                            (a & 15) | ((q & 3) << 4),
                            (b & 15) | (((q >> 2) & 3) << 4),
                            (a >> 4) | (((q >> 4) & 3) << 4),
                            (b >> 4) | (((q >> 6) & 3) << 4),
                        ];
                        for (k, &vk) in v.iter().enumerate() {
                            let s = sc[8 * h + 2 * k + l / 16] as i32;
                            lanes[l / 4] += s * vk as i32 * y[128 * h + 32 * k + l] as i32;
                        }
                    }
                }
                let d = f32::from_le_bytes([bx[0], bx[1], bx[2], bx[3]]) * f16b(bw, 208);
                fma8(&mut acc, d, &lanes);
            }
            hsum8(&acc)
        }
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => {
            let es = if t == GgmlType::F32 { 4 } else { 2 };
            let get = |b: &[u8], i: usize| match t {
                GgmlType::F32 => {
                    f32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
                }
                GgmlType::F16 => f16b(b, 2 * i),
                _ => f32::from_bits((u16::from_le_bytes([b[2 * i], b[2 * i + 1]]) as u32) << 16),
            };
            // Four 8-lane accumulators over steps of 32, then steps of 8 into the first.
            let mut acc = [[0f32; 8]; 4];
            let (n32, n8) = (n / 32 * 32, n / 8 * 8);
            for i in 0..n8 {
                let a = if i < n32 {
                    &mut acc[(i % 32) / 8]
                } else {
                    &mut acc[0]
                };
                a[i % 8] = fma(get(w, i), get(x, i), a[i % 8]);
            }
            let s: [f32; 8] =
                std::array::from_fn(|l| (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]));
            let tail = (quant::scalar_kernels(t)?.vec_dot)(n - n8, &w[n8 * es..], &x[n8 * es..]);
            hsum8(&s) + tail
        }
        _ => return None,
    })
}

/// `Σ |w_i · x_i|` of the dequantized rows, the scale part and the min part of each weight
/// counted apart (the kernels sum them apart): the scale of a dot's rounding error.
fn abs_dot(t: GgmlType, n: usize, w: &[u8], x: &[u8]) -> f64 {
    let k = quant::scalar_kernels(t).unwrap();
    let dx: Vec<f32> = match k.vec_dot_type {
        GgmlType::Q8_K => x
            .chunks_exact(292)
            .flat_map(|b| {
                let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                b[4..260].iter().map(move |&q| q as i8 as f32 * d)
            })
            .collect(),
        GgmlType::Q8_1 => x
            .chunks_exact(36)
            .flat_map(|b| {
                let d = f16b(b, 0);
                b[4..].iter().map(move |&q| q as i8 as f32 * d)
            })
            .collect(),
        a => {
            let mut v = vec![0f32; n];
            (quant::scalar_kernels(a).unwrap().dequantize_row)(x, &mut v);
            v
        }
    };
    let part = |zero: Option<usize>| {
        let mut w = w.to_vec();
        if let Some(f) = zero {
            for b in w.chunks_exact_mut(t.block_bytes()) {
                b[f..f + 2].fill(0);
            }
        }
        let mut dw = vec![0f32; n];
        (k.dequantize_row)(&w, &mut dw);
        dw.iter()
            .zip(&dx)
            .map(|(a, b)| (*a as f64 * *b as f64).abs())
            .sum::<f64>()
    };
    match t {
        // d at bytes 0..2, the min (m or dmin) at 2..4.
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => {
            part(Some(2)) + part(Some(0))
        }
        _ => part(None),
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// As [`bits`] with every NaN alike: wasm leaves the sign and payload of a NaN that float
/// arithmetic produces unspecified (integer-only conversions are compared with [`bits`]).
fn bits_any_nan(v: &[f32]) -> Vec<u32> {
    v.iter()
        .map(|x| if x.is_nan() { 0x7fc0_0000 } else { x.to_bits() })
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn simd128_kernels_are_the_ones_tested() {
    let isa = quant::kernel_isa();
    log!("kernel set under test: {isa}");
    if cfg!(target_arch = "wasm32") {
        assert_eq!(
            isa, "simd128",
            "build with RUSTFLAGS=-C target-feature=+simd128"
        );
    }
    assert_eq!(quant::HAS_SIMD128, isa == "simd128");
}

/// Whether the fast kernel of `t` fuses its multiply-adds: AVX2 always; SIMD128 everywhere but
/// the 32-value block dots and F32 (simd128.rs says why).
fn fused(t: GgmlType) -> bool {
    let unfused = matches!(
        t,
        GgmlType::Q4_0
            | GgmlType::Q4_1
            | GgmlType::Q5_0
            | GgmlType::Q5_1
            | GgmlType::Q8_0
            | GgmlType::F32
    );
    !(cfg!(target_arch = "wasm32") && unfused)
}

/// |a - b| in units in the last place of b.
fn ulps(a: f32, b: f32) -> f64 {
    let ulp = (f32::from_bits(b.abs().to_bits() + 1) - b.abs()) as f64;
    (a as f64 - b as f64).abs() / ulp
}

#[test]
fn vec_dot_is_bit_exact_with_the_x86_order_for_every_type() {
    let mut rng = Rng(0x5eed_0128);
    for t in FAST_TYPES {
        let (fast, spec) = (
            quant::kernels(t).unwrap(),
            quant::scalar_kernels(t).unwrap(),
        );
        let (mut vs_x86, mut vs_x86_ulps, mut vs_scalar) = (0f64, 0f64, 0f64);
        for n in lengths(t) {
            for _ in 0..3 {
                let w = random_weights(t, &mut rng, n);
                let x = activations(spec.vec_dot_type, &rng.row(n));
                let got = (fast.vec_dot)(n, &w, &x);
                let want = x86_order(t, n, &w, &x, fused(t)).unwrap();
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{t} n={n}: {got} vs its order {want}"
                );
                let scale = abs_dot(t, n, &w, &x) + 1e-30;
                let x86 = x86_order(t, n, &w, &x, true).unwrap();
                vs_x86 = vs_x86.max((got as f64 - x86 as f64).abs() / scale);
                vs_x86_ulps = vs_x86_ulps.max(ulps(got, x86));
                let scalar = (spec.vec_dot)(n, &w, &x) as f64;
                let rel = (got as f64 - scalar).abs() / scale;
                assert!(
                    rel <= 1e-5,
                    "{t} n={n}: {got} vs scalar {scalar} (rel {rel:e})"
                );
                vs_scalar = vs_scalar.max(rel);
            }
        }
        log!(
            "{t}: bit-exact with its order ({}); max |diff| / Σ|w·x|: vs the x86 order {vs_x86:.1e} \
             ({vs_x86_ulps:.0} ulp), vs the scalar spec {vs_scalar:.1e}",
            if fused(t) { "x86, fused" } else { "x86 lanes, unfused" }
        );
    }
}

#[test]
fn two_row_dots_are_bit_exact_with_one_row_dots() {
    let mut rng = Rng(0x5eed_0137);
    let mut tested = 0;
    for t in FAST_TYPES {
        let k = quant::kernels(t).unwrap();
        let Some(dot2) = k.vec_dot_2rows else {
            continue;
        };
        tested += 1;
        for n in lengths(t) {
            let (w0, w1) = (
                random_weights(t, &mut rng, n),
                random_weights(t, &mut rng, n),
            );
            let x = activations(k.vec_dot_type, &rng.row(n));
            let [a, b] = dot2(n, &w0, &w1, &x);
            assert_eq!(
                a.to_bits(),
                (k.vec_dot)(n, &w0, &x).to_bits(),
                "{t} n={n} row 0"
            );
            assert_eq!(
                b.to_bits(),
                (k.vec_dot)(n, &w1, &x).to_bits(),
                "{t} n={n} row 1"
            );
        }
    }
    if cfg!(target_arch = "wasm32") {
        assert_eq!(tested, 5, "the 32-value block formats have two-row dots");
    }
}

#[test]
fn q4_k_repacked_orders_are_bit_exact_with_scalar() {
    let t = GgmlType::Q4_K;
    let (fast, spec) = (
        quant::kernels(t).unwrap(),
        quant::scalar_kernels(t).unwrap(),
    );
    let (fr, sr) = (fast.repacked.unwrap(), spec.repacked.unwrap());
    let mut rng = Rng(0x5eed_0129);
    for n in lengths(t) {
        for _ in 0..4 {
            let w = random_weights(t, &mut rng, n);
            let x = activations(GgmlType::Q8_K, &rng.row(n));
            assert_eq!(
                (fr.gemv)(n, &w, &x).to_bits(),
                (sr.gemv)(n, &w, &x).to_bits(),
                "gemv n={n}"
            );
            assert_eq!(
                (fr.gemm)(n, &w, &x).to_bits(),
                (sr.gemm)(n, &w, &x).to_bits(),
                "gemm n={n}"
            );
        }
    }
}

#[test]
fn quantize_row_is_bit_exact_with_scalar() {
    let mut rng = Rng(0x5eed_0130);
    // Exact ties (amax 127 makes the scale 1), zeros, and random rows.
    let mut ties: Vec<f32> = (0..32).map(|i| i as f32 - 15.5).collect();
    ties[0] = 127.0;
    ties.extend((0..32).map(|i| {
        if i == 7 {
            -127.0
        } else {
            (i as f32 - 16.0) * 3.0 + 0.5
        }
    }));
    ties.extend([0.0f32; 32]);
    ties.extend((0..32).map(|i| -0.0 * i as f32));
    for t in [
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q8_K,
        GgmlType::F16,
        GgmlType::BF16,
    ] {
        let rows = [
            rng.row(256),
            rng.row(768),
            rng.row(2304),
            ties.clone(),
            ties[..32].to_vec(),
        ];
        for x in rows.iter().filter(|x| x.len() % t.block_len() == 0) {
            let mut a = vec![0u8; row_bytes(t, x.len())];
            let mut b = a.clone();
            quant::quantize_row(t, x, &mut a);
            quant::quantize_row_scalar(t, x, &mut b);
            assert_eq!(a, b, "{t} n={}", x.len());
        }
    }
}

/// f32 values around every f16 rounding boundary, plus a sweep of the whole f32 range.
fn f16_probe_values() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        1.0,
        0.5 + 2f32.powi(-12),
        1.0 + 2f32.powi(-11),
        1.0 + 3.0 * 2f32.powi(-11),
        6.0e-8,
        2.98e-8,
        2.9802322e-8,
        5.9604645e-8,
        -3.0e-6,
        6.1035156e-5,
        6.1e-5,
        65504.0,
        65519.0,
        65519.996,
        65520.0,
        1e9,
        f32::MAX,
        f32::MIN_POSITIVE,
        1e-40,
        -1e-45,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7f80_0001),
        f32::from_bits(0xffbf_ffff),
        f32::from_bits(0x7fc0_2000),
    ];
    // Every f16 value and the midpoints and near-midpoints between neighbours.
    for h in 0..=0x7bffu16 {
        let (a, b) = (f16::from_bits(h).to_f32(), f16::from_bits(h + 1).to_f32());
        let mid = ((a as f64 + b as f64) / 2.0) as f32;
        for x in [
            a,
            mid,
            f32::from_bits(mid.to_bits() - 1),
            f32::from_bits(mid.to_bits() + 1),
        ] {
            v.extend([x, -x]);
        }
    }
    let mut u = 0u32;
    while let Some(next) = u.checked_add(0x0001_0a3f) {
        v.push(f32::from_bits(u));
        u = next;
    }
    v
}

#[test]
fn round_f16_is_bit_exact_with_scalar() {
    let x = f16_probe_values();
    for len in [x.len(), 1, 3, 5, 7] {
        let (mut a, mut b) = (x[..len].to_vec(), x[..len].to_vec());
        quant::round_f16_inplace(&mut a);
        quant::round_f16_inplace_scalar(&mut b);
        assert_eq!(bits(&a), bits(&b), "len {len}");
    }
}

#[test]
fn f16_to_f32_row_is_bit_exact_with_scalar() {
    let all: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
    for len in [all.len(), 1, 7, 9, 64, 100] {
        let (mut a, mut b) = (vec![0f32; len], vec![0f32; len]);
        quant::f16_to_f32_row(&all[all.len() - len..], &mut a);
        quant::f16_to_f32_row_scalar(&all[all.len() - len..], &mut b);
        assert_eq!(bits(&a), bits(&b), "len {len}");
    }
}

/// `a·b + c` cases an f64 product and sum would round twice: the f64 sum lands exactly halfway
/// between two f32 while the exact value is just below (first case) or above (second) it.
fn double_rounding_cases() -> Vec<(f32, f32, f32)> {
    let p = |e: i32| 2f32.powi(e);
    let mut v = Vec::new();
    for s in [1.0f32, -1.0, p(40), p(-40)] {
        // (1 - 2^-23)·2^-24·(1 + 2^-23) = 2^-24 - 2^-70, added to 1 + 2^-23 (odd).
        v.push((
            1.0 - p(-23),
            p(-24) * (1.0 + p(-23)) * s,
            (1.0 + p(-23)) * s,
        ));
        // 8392705·16769026 = 2^47 + 2, so a·b = 2^-24 + 2^-70, added to 1 + 2^-22 (even).
        v.push((
            8392705.0 * p(-23),
            16769026.0 * p(-48) * s,
            (1.0 + p(-22)) * s,
        ));
    }
    v
}

#[test]
fn fused_multiply_add_is_exact() {
    let mut rng = Rng(0x5eed_0131);
    let mut cases = double_rounding_cases();
    for _ in 0..4000 {
        let (a, b) = (rng.unit() * 3.0, rng.unit() * 10f32.powf(rng.unit() * 4.0));
        cases.push((a, b, rng.unit() * 10f32.powf(rng.unit() * 4.0)));
    }
    cases.extend([
        (f32::INFINITY, 1.0, 1.0),
        (0.0, f32::INFINITY, 1.0),
        (1e38, 10.0, -1e38),
    ]);
    for &(a, b, c) in &cases {
        // One case per call, in the 4 vector lanes and the 3 tail elements.
        let (mut acc, x) = (vec![c; 7], vec![b; 7]);
        ops::fma_axpy(&mut acc, a, &x);
        let want = a.mul_add(b, c);
        for r in &acc {
            assert!(
                r.to_bits() == want.to_bits() || (r.is_nan() && want.is_nan()),
                "fma({a:e}, {b:e}, {c:e}) = {r:e}, want {want:e}"
            );
        }
    }
    // The halfway cases really are ones a double rounding gets wrong.
    for (a, b, c) in double_rounding_cases() {
        let twice = (a as f64 * b as f64 + c as f64) as f32;
        assert_ne!(
            twice,
            a.mul_add(b, c),
            "fma({a:e}, {b:e}, {c:e}) is not a halfway case"
        );
    }
}

#[test]
fn mad_round_f16_is_bit_exact_with_scalar() {
    let mut rng = Rng(0x5eed_0132);
    let r16 = |v: f32| f16::from_f32(v).to_f32();
    for n in [1usize, 3, 4, 7, 8, 64, 257] {
        let y0: Vec<f32> = rng.row(n).iter().map(|&v| r16(v * 40.0)).collect();
        let x: Vec<f32> = rng.row(n).iter().map(|&v| r16(v * 3.0)).collect();
        for a in [0.0f32, 1.0, 0.123_456_7, -2.5e-3, 7.0e4, 1e-7] {
            let (mut p, mut q) = (y0.clone(), y0.clone());
            quant::mad_round_f16(&mut p, a, &x);
            quant::mad_round_f16_scalar(&mut q, a, &x);
            assert_eq!(bits(&p), bits(&q), "n={n} a={a}");
        }
    }
}

#[test]
fn silu_mul_and_exp_are_bit_exact_with_scalar() {
    let mut rng = Rng(0x5eed_0133);
    let mut gate: Vec<f32> = (0..1000).map(|_| rng.unit() * 20.0).collect();
    // Both scaled branches of ggml's exp (|n| > 126, > 192), overflow, NaN.
    gate.extend([
        -87.0, -88.5, -100.0, -104.0, -150.0, -200.0, 88.0, 89.0, 100.0, 130.0, 200.0,
    ]);
    gate.extend([
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1e-30,
        -1e-30,
        3.5,
    ]);
    let up: Vec<f32> = (0..gate.len()).map(|_| rng.unit() * 4.0).collect();
    for len in [gate.len(), 5, 8, 13, 16] {
        let (mut a, mut b) = (gate[..len].to_vec(), gate[..len].to_vec());
        ops::silu_mul_inplace(&mut a, &up[..len]);
        ops::silu_mul_inplace_scalar(&mut b, &up[..len]);
        assert_eq!(bits_any_nan(&a), bits_any_nan(&b), "silu len {len}");
    }
    for sub in [0.0f32, 3.25, -17.0] {
        let mut a = gate.clone();
        ops::exp_sub_inplace(&mut a, sub);
        let b: Vec<f32> = gate.iter().map(|&v| ops::expf_ggml(v - sub)).collect();
        assert_eq!(bits_any_nan(&a), bits_any_nan(&b), "exp sub {sub}");
    }
}

#[test]
fn dot_f16_ggml_is_bit_exact_with_scalar() {
    let mut rng = Rng(0x5eed_0134);
    let r16 = |v: f32| f16::from_f32(v).to_f32();
    for n in [1usize, 31, 32, 33, 64, 100, 256, 257] {
        let a: Vec<f32> = rng.row(n).iter().map(|&v| r16(v)).collect();
        let b: Vec<f32> = rng.row(n).iter().map(|&v| r16(v)).collect();
        let (got, want) = (ops::dot_f16_ggml(&a, &b), ops::dot_f16_ggml_scalar(&a, &b));
        assert_eq!(got.to_bits(), want.to_bits(), "n={n}: {got} vs {want}");
    }
}

#[test]
fn fma_chain_dots_are_bit_exact_with_sequential_chains() {
    let mut rng = Rng(0x5eed_0135);
    for hd in [1usize, 7, 8, 64, 65, 256] {
        for m in 1..=4 {
            let q = rng.row(hd);
            let rows = rng.row(m * hd);
            let mut got = vec![0f32; m];
            ops::fma_chain_dots(&q, &rows, &mut got);
            for (r, &g) in got.iter().enumerate() {
                let mut d = 0f32;
                for (a, b) in q.iter().zip(&rows[r * hd..(r + 1) * hd]) {
                    d = a.mul_add(*b, d);
                }
                assert_eq!(g.to_bits(), d.to_bits(), "hd={hd} m={m} row {r}");
            }
        }
    }
}

#[test]
fn scalar_spec_dots_are_unchanged_by_the_kernel_set() {
    // The scalar table stays the spec on every target: Q2_K/Q3_K (no fast kernel) agree with it.
    let mut rng = Rng(0x5eed_0136);
    for t in [GgmlType::Q2_K, GgmlType::Q3_K] {
        let n = 3 * QK_K;
        let mut w: Vec<u8> = (0..row_bytes(t, n)).map(|_| rng.next_u64() as u8).collect();
        let fields: &[usize] = if t == GgmlType::Q2_K {
            &[80, 82]
        } else {
            &[108]
        };
        for b in w.chunks_exact_mut(t.block_bytes()) {
            for &f in fields {
                b[f..f + 2].copy_from_slice(&f16_le_from(rng.scale()));
            }
        }
        let x = activations(GgmlType::Q8_K, &rng.row(n));
        let (fast, spec) = (
            quant::kernels(t).unwrap(),
            quant::scalar_kernels(t).unwrap(),
        );
        assert_eq!(
            (fast.vec_dot)(n, &w, &x).to_bits(),
            (spec.vec_dot)(n, &w, &x).to_bits()
        );
    }
}
