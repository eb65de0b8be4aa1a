//! Integration tests: quant. Every fast kernel against its scalar twin (the spec), the scalar
//! dots against the dequantized definition, quantize round trips, and real GGUF rows.

use half::f16;
use wasm_chord_core::quant::*;

/// Weight types with kernels.
const WEIGHT_TYPES: [GgmlType; 13] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

/// Byte offsets of the f16 super-block scales (`d`, then `dmin` when present) in K-quant blocks
/// (ggml-common.h field order).
fn k_scale_fields(t: GgmlType) -> &'static [usize] {
    match t {
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q6_K => &[208],
        _ => &[],
    }
}

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
    /// Values whose scale changes every 32 elements (1e-2 .. 1e2), with an occasional offset
    /// so min/max formats see one-signed blocks too.
    fn row(&mut self, n: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(n);
        for chunk in 0..n.div_ceil(32) {
            let scale = 10f32.powf(self.unit() * 2.0);
            let offset = if chunk % 5 == 3 { scale } else { 0.0 };
            for _ in 0..32.min(n - chunk * 32) {
                v.push(self.unit() * scale + offset);
            }
        }
        v
    }
}

fn row_bytes(t: GgmlType, n: usize) -> usize {
    n / t.block_len() * t.block_bytes()
}

/// Valid random weights of type `t`: our reference quantizer where there is one, otherwise
/// (K-quants) random bytes with finite, moderate f16 super-block scales.
fn random_weights(t: GgmlType, rng: &mut Rng, n: usize) -> Vec<u8> {
    let fields = k_scale_fields(t);
    if fields.is_empty() {
        return quantize_w(t, &rng.row(n));
    }
    let mut w: Vec<u8> = (0..row_bytes(t, n)).map(|_| rng.next_u64() as u8).collect();
    for b in w.chunks_exact_mut(t.block_bytes()) {
        for &f in fields {
            let d = f16::from_f32(10f32.powf(rng.unit() - 2.0)).to_le_bytes();
            b[f..f + 2].copy_from_slice(&d);
        }
    }
    w
}

fn quantize_w(t: GgmlType, x: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; row_bytes(t, x.len())];
    assert!(quantize_weights(t, x, &mut out), "no quantizer for {t}");
    out
}

fn quantize_act(t: GgmlType, x: &[f32], scalar: bool) -> Vec<u8> {
    let mut out = vec![0u8; row_bytes(t, x.len())];
    if scalar {
        quantize_row_scalar(t, x, &mut out);
    } else {
        quantize_row(t, x, &mut out);
    }
    out
}

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// Dequantizes an activation row. Q8_1 has no weight kernels, so it is decoded here from
/// ggml's layout (d f16, s f16, 32 x i8).
fn dequant_act(t: GgmlType, x: &[u8], n: usize) -> Vec<f32> {
    let mut out = vec![0f32; n];
    if t == GgmlType::Q8_K {
        for (b, y) in x.chunks_exact(292).zip(out.chunks_exact_mut(256)) {
            let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            for j in 0..256 {
                y[j] = b[4 + j] as i8 as f32 * d;
            }
        }
    } else if t == GgmlType::Q8_1 {
        for (b, y) in x.chunks_exact(36).zip(out.chunks_exact_mut(32)) {
            let d = f16_at(b, 0);
            for j in 0..32 {
                y[j] = b[4 + j] as i8 as f32 * d;
            }
        }
    } else {
        (scalar_kernels(t).unwrap().dequantize_row)(x, &mut out);
    }
    out
}

/// `(reference dot in f64, sum of |terms|, extra slack)` for a weight row and an activation
/// row, computed from the dequantized values. For Q8_1 activations the block's `m * s` term
/// uses the stored f16 `s` in the kernels, so the slack allows for its rounding.
fn reference_dot(t: GgmlType, w: &[u8], x: &[u8], n: usize) -> (f64, f64, f64) {
    let k = scalar_kernels(t).unwrap();
    let mut dw = vec![0f32; n];
    (k.dequantize_row)(w, &mut dw);
    let dx = dequant_act(k.vec_dot_type, x, n);
    let mut dot = 0f64;
    let mut abs = 0f64;
    for (a, b) in dw.iter().zip(&dx) {
        dot += *a as f64 * *b as f64;
        abs += (*a as f64 * *b as f64).abs();
    }
    let mut slack = 0f64;
    if k.vec_dot_type == GgmlType::Q8_1 {
        let wb = t.block_bytes();
        for (bw, bx) in w.chunks_exact(wb).zip(x.chunks_exact(36)) {
            let m = f16_at(bw, 2) as f64;
            slack += (m * f16_at(bx, 2) as f64).abs() * 2f64.powi(-10);
            // dequant(w) * dequant(x) carries m * d * sum(q), the kernels m * s.
            let (d, sumq) = (
                f16_at(bx, 0) as f64,
                bx[4..36].iter().map(|&q| q as i8 as f64).sum::<f64>(),
            );
            slack += (m * d * sumq).abs() * 2f64.powi(-10);
        }
    }
    (dot, abs, slack)
}

fn lengths(t: GgmlType) -> Vec<usize> {
    if t.block_len() == 1 {
        vec![1, 7, 8, 31, 33, 257, 576, 1056, 2051]
    } else if t.block_len() == 256 {
        [1, 2, 3, 7, 33].iter().map(|b| b * 256).collect()
    } else {
        [1, 2, 3, 7, 8, 33, 64, 97].iter().map(|b| b * 32).collect()
    }
}

#[test]
fn quant_block_sizes_match_type_table() {
    use std::mem::size_of;
    assert_eq!(size_of::<BlockQ4_0>(), 18);
    assert_eq!(size_of::<BlockQ4_1>(), 20);
    assert_eq!(size_of::<BlockQ5_0>(), 22);
    assert_eq!(size_of::<BlockQ5_1>(), 24);
    assert_eq!(size_of::<BlockQ8_0>(), 34);
    assert_eq!(size_of::<BlockQ8_1>(), 36);
    for t in WEIGHT_TYPES {
        let k = kernels(t).unwrap();
        assert_eq!(k.ty, t);
        assert_eq!(scalar_kernels(t).unwrap().vec_dot_type, k.vec_dot_type);
    }
    // ggml's pairings (type_traits_cpu[..].vec_dot_type).
    let vdt = |t| kernels(t).unwrap().vec_dot_type;
    assert_eq!(vdt(GgmlType::Q4_0), GgmlType::Q8_0);
    assert_eq!(vdt(GgmlType::Q5_0), GgmlType::Q8_0);
    assert_eq!(vdt(GgmlType::Q8_0), GgmlType::Q8_0);
    assert_eq!(vdt(GgmlType::Q4_1), GgmlType::Q8_1);
    assert_eq!(vdt(GgmlType::Q5_1), GgmlType::Q8_1);
    assert_eq!(vdt(GgmlType::F16), GgmlType::F16);
    assert_eq!(vdt(GgmlType::BF16), GgmlType::BF16);
    assert_eq!(vdt(GgmlType::F32), GgmlType::F32);
    assert!(kernels(GgmlType::Q8_1).is_none());
    assert!(kernels(GgmlType::Q8_K).is_none());
    for t in [
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ] {
        assert_eq!(vdt(t), GgmlType::Q8_K);
    }
}

#[test]
fn quant_fast_vec_dot_matches_scalar_for_every_type() {
    if !has_avx2() {
        eprintln!("no AVX2 on this CPU: kernels() is the scalar table");
    }
    let mut rng = Rng(0x5eed_0001);
    for t in WEIGHT_TYPES {
        let (fast, spec) = (kernels(t).unwrap(), scalar_kernels(t).unwrap());
        for n in lengths(t) {
            for _ in 0..4 {
                let w = random_weights(t, &mut rng, n);
                let x = quantize_act(spec.vec_dot_type, &rng.row(n), true);
                let (_, abs, slack) = reference_dot(t, &w, &x, n);
                let a = (fast.vec_dot)(n, &w, &x) as f64;
                let b = (spec.vec_dot)(n, &w, &x) as f64;
                let tol = 1e-5 * abs + 1e-5 * slack + 1e-30;
                assert!(
                    (a - b).abs() <= tol,
                    "{t} n={n}: fast {a} scalar {b} tol {tol}"
                );
            }
        }
    }
}

#[test]
fn quant_scalar_vec_dot_matches_dequantized_dot() {
    let mut rng = Rng(0x5eed_0002);
    for t in WEIGHT_TYPES {
        let k = scalar_kernels(t).unwrap();
        for n in lengths(t) {
            let w = random_weights(t, &mut rng, n);
            let x = quantize_act(k.vec_dot_type, &rng.row(n), true);
            let (dot, abs, slack) = reference_dot(t, &w, &x, n);
            let got = (k.vec_dot)(n, &w, &x) as f64;
            let tol = 1e-5 * abs + slack + 1e-30;
            assert!(
                (got - dot).abs() <= tol,
                "{t} n={n}: {got} vs {dot} tol {tol}"
            );
        }
    }
}

#[test]
fn quant_fast_quantize_row_is_bit_exact_with_scalar() {
    let mut rng = Rng(0x5eed_0003);
    let acts = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q8_0,
        GgmlType::Q8_1,
        GgmlType::Q8_K,
    ];
    // Rounding ties: with amax = 127 the scale is exactly 1, so k + 0.5 is an exact tie, which
    // ggml's x86 quantizer (our spec) rounds to even, where `roundf` would round away from zero.
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
    ties.extend((0..160).map(|i| (i as f32 - 80.0) * 0.75));
    for t in acts {
        for n in [256usize, 768, 2304] {
            let x = rng.row(n);
            assert_eq!(
                quantize_act(t, &x, false),
                quantize_act(t, &x, true),
                "{t} n={n}"
            );
        }
        assert_eq!(
            quantize_act(t, &ties, false),
            quantize_act(t, &ties, true),
            "{t} ties"
        );
    }
    // Q8_K super-blocks whose largest magnitude comes twice with both signs (the first sets
    // the sign of d), or that hold NaN or infinities.
    let mut odd = rng.row(4 * 256);
    (odd[10], odd[200]) = (-9.0, 9.0);
    (odd[256 + 3], odd[256 + 4]) = (9.0, -9.0);
    odd[512 + 17] = f32::NAN;
    odd[768 + 5] = f32::INFINITY;
    odd[768 + 6] = f32::NEG_INFINITY;
    assert_eq!(
        quantize_act(GgmlType::Q8_K, &odd, false),
        quantize_act(GgmlType::Q8_K, &odd, true),
        "Q8_K odd blocks"
    );
    // The tie rows really are ties, rounded to even.
    let q = quantize_act(GgmlType::Q8_0, &ties, false);
    assert_eq!(f16_at(&q, 0), 1.0);
    assert_eq!(q[2 + 1] as i8, -14); // -14.5 -> -14
    assert_eq!(q[2 + 16] as i8, 0); // 0.5 -> 0
    assert_eq!(q[2 + 17] as i8, 2); // 1.5 -> 2
    assert_eq!(q[2 + 18] as i8, 2); // 2.5 -> 2
}

/// `dequantize(quantize(x))` stays within the format's step: per block, `c * step` plus the
/// f16 rounding of the stored scale and min.
#[test]
fn quant_roundtrip_error_is_bounded() {
    let mut rng = Rng(0x5eed_0004);
    // (type, step from the block's values, c, largest |q - zero point|)
    type Step = fn(&[f32]) -> f32;
    fn amax(x: &[f32]) -> f32 {
        x.iter().fold(0.0, |a, v| a.max(v.abs()))
    }
    fn range(x: &[f32]) -> f32 {
        let (lo, hi) = x
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        hi - lo
    }
    let cases: [(GgmlType, Step, f32, f32); 6] = [
        (GgmlType::Q4_0, |x| amax(x) / 8.0, 1.0, 8.0),
        (GgmlType::Q5_0, |x| amax(x) / 16.0, 1.0, 16.0),
        (GgmlType::Q8_0, |x| amax(x) / 127.0, 0.5, 127.0),
        (GgmlType::Q4_1, |x| range(x) / 15.0, 0.5, 15.0),
        (GgmlType::Q5_1, |x| range(x) / 31.0, 0.5, 31.0),
        (GgmlType::BF16, |x| amax(x) * 2f32.powi(-8), 0.0, 0.0),
    ];
    for (t, step, c, qmax) in cases {
        let n = 32 * 40;
        let x = rng.row(n);
        let w = quantize_w(t, &x);
        let mut y = vec![0f32; n];
        (scalar_kernels(t).unwrap().dequantize_row)(&w, &mut y);
        for (bx, by) in x.chunks(32).zip(y.chunks(32)) {
            let s = step(bx);
            let lo = bx.iter().fold(f32::MAX, |a, &v| a.min(v)).abs();
            let bound = c * s + (qmax * s + lo) * 2f32.powi(-10) + s * 1e-4;
            let bound = if t == GgmlType::BF16 { s } else { bound };
            for (a, b) in bx.iter().zip(by) {
                assert!((a - b).abs() <= bound, "{t}: {a} -> {b}, bound {bound}");
            }
        }
    }
    // F16 and F32 round trips.
    let x = rng.row(256);
    let mut y = vec![0f32; 256];
    (scalar_kernels(GgmlType::F32).unwrap().dequantize_row)(&quantize_w(GgmlType::F32, &x), &mut y);
    assert_eq!(x, y);
    (scalar_kernels(GgmlType::F16).unwrap().dequantize_row)(&quantize_w(GgmlType::F16, &x), &mut y);
    for (a, b) in x.iter().zip(&y) {
        assert_eq!(*b, f16::from_f32(*a).to_f32());
    }
}

/// K-quant reference quantizers: `dequantize(quantize(x))` keeps the normalised mean squared
/// error near what the bit width allows for uniform data (`step^2 / 12` over the variance:
/// 4.4e-3 for 4 bits with a min, 1.0e-3 for 5 bits, 2.4e-4 for 6 signed bits).
#[test]
fn quant_k_quantizers_round_trip_within_bit_width() {
    let mut rng = Rng(0x5eed_0007);
    for (t, max_nmse) in [
        (GgmlType::Q4_K, 6e-3),
        (GgmlType::Q5_K, 1.5e-3),
        (GgmlType::Q6_K, 4e-4),
    ] {
        let n = 256 * 12;
        let x = rng.row(n);
        let w = quantize_w(t, &x);
        let mut y = vec![0f32; n];
        (scalar_kernels(t).unwrap().dequantize_row)(&w, &mut y);
        // NMSE per super-block (scales differ by 1e4 across blocks).
        for (bx, by) in x.chunks(256).zip(y.chunks(256)) {
            let err: f64 = bx
                .iter()
                .zip(by)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum();
            let sig: f64 = bx.iter().map(|a| (*a as f64).powi(2)).sum();
            assert!(err / sig <= max_nmse, "{t}: nmse {}", err / sig);
        }
    }
}

#[test]
fn quant_quantize_weights_rejects_partial_blocks() {
    let x = vec![0.5f32; 48];
    let mut out = vec![0u8; 36];
    assert!(!quantize_weights(GgmlType::Q4_0, &x, &mut out));
    let mut out = [0u8; 18];
    assert!(!quantize_weights(GgmlType::Q4_0, &x[..32], &mut out[..17]));
}

/// Real rows of a real file: for the first tensor of each type we have kernels for, check
/// 1. fast vec_dot == scalar vec_dot (to float summation order),
/// 2. vec_dot(w, quantize(x)) against the f64 dot of `dequantize(w)` with the unquantized `x`,
///    within the rigorous bound of activation quantization: per element
///    `|x - dequant(quant(x))| <= 0.5 d + 127 |d - f16(d)|` with `d = amax / 127` per block.
fn check_real_rows(file: &str) -> Vec<GgmlType> {
    let f = std::fs::File::open(crate::util::model_path(file)).unwrap();
    // SAFETY: the test only reads the mapping and nothing else writes the model file.
    let map = unsafe { memmap2::Mmap::map(&f) }.unwrap();
    let g = wasm_chord_core::gguf::GgufFile::parse(&map).unwrap();
    let mut rng = Rng(0x5eed_0005);
    let mut seen = Vec::new();
    for info in &g.tensors {
        let t = info.ty;
        if seen.contains(&t) || info.dims.len() != 2 || kernels(t).is_none() {
            continue;
        }
        seen.push(t);
        let n = info.dims[0] as usize;
        let rb = t.row_bytes(n as u64).unwrap() as usize;
        let data = g.tensor_data(&map, info).unwrap();
        let (fast, spec) = (kernels(t).unwrap(), scalar_kernels(t).unwrap());
        let n_rows = info.dims[1] as usize;
        for r in [0, n_rows / 2, n_rows - 1] {
            let w = &data[r * rb..(r + 1) * rb];
            let x = rng.row(n);
            let xq = quantize_act(fast.vec_dot_type, &x, false);
            let a = (fast.vec_dot)(n, w, &xq) as f64;
            let b = (spec.vec_dot)(n, w, &xq) as f64;
            let (_, abs, slack) = reference_dot(t, w, &xq, n);
            assert!(
                (a - b).abs() <= 1e-5 * (abs + slack),
                "{} row {r}: fast {a} scalar {b}",
                info.name
            );
            let mut dw = vec![0f32; n];
            (spec.dequantize_row)(w, &mut dw);
            let exact: f64 = dw.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
            let mut bound = 1e-5 * abs + slack;
            let bl = fast.vec_dot_type.block_len().max(32);
            for (bw, bx) in dw.chunks(bl).zip(x.chunks(bl)) {
                let d = bx.iter().fold(0f32, |a, v| a.max(v.abs())) as f64 / 127.0;
                let e = match fast.vec_dot_type {
                    GgmlType::F32 => 0.0,
                    GgmlType::F16 | GgmlType::BF16 => d * 127.0 * 2f64.powi(-8),
                    _ => 0.5 * d + 127.0 * d * 2f64.powi(-11),
                };
                bound += bw.iter().map(|v| v.abs() as f64).sum::<f64>() * e;
            }
            assert!(
                (b - exact).abs() <= bound,
                "{} row {r}: vec_dot {b} vs exact {exact} (bound {bound})",
                info.name
            );
        }
    }
    seen
}

#[test]
fn quant_real_smollm2_rows_match_dequantized_dot() {
    let seen = check_real_rows(crate::util::SMOLLM2_FILE);
    assert!(seen.contains(&GgmlType::Q4_1), "{seen:?}");
    assert!(seen.contains(&GgmlType::Q8_0), "{seen:?}");
}

#[test]
fn quant_real_gemma3_rows_match_dequantized_dot() {
    let seen = check_real_rows(crate::util::GEMMA3_FILE);
    for t in [GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q6_K] {
        assert!(seen.contains(&t), "{seen:?}");
    }
}

/// Q8_K follows ggml's `quantize_row_q8_K_ref`: the largest magnitude maps to -127 (so `d`
/// takes the opposite sign of that value), rounding is `nearest_int` (ties to even), and
/// `bsums` are the sums of each 16 values.
#[test]
fn quant_q8_k_matches_ggml_definition() {
    let mut x: Vec<f32> = (0..256).map(|i| ((i % 16) as f32 - 8.0) * 0.5).collect();
    x[5] = -127.0; // max magnitude, negative: iscale = 1, d = 1
    let q = quantize_act(GgmlType::Q8_K, &x, false);
    assert_eq!(f32::from_le_bytes([q[0], q[1], q[2], q[3]]), 1.0);
    let qs: Vec<i8> = q[4..260].iter().map(|&b| b as i8).collect();
    assert_eq!(qs[5], -127);
    // (i % 16 - 8) * 0.5 for i % 16 = 1, 3, 7, 9, 13: -3.5 -> -4, -2.5 -> -2, -0.5 -> 0, 0.5 -> 0, 2.5 -> 2
    assert_eq!((qs[1], qs[3], qs[7], qs[9], qs[13]), (-4, -2, 0, 0, 2));
    for g in 0..16 {
        let sum: i32 = qs[16 * g..16 * g + 16].iter().map(|&v| v as i32).sum();
        let b = i16::from_le_bytes([q[260 + 2 * g], q[261 + 2 * g]]) as i32;
        assert_eq!(b, sum, "bsums[{g}]");
    }
    // Positive max: d is negative and the max maps to -127.
    let mut rng = Rng(0x5eed_0006);
    let mut x = rng.row(256);
    x[100] = 500.0;
    let q = quantize_act(GgmlType::Q8_K, &x, false);
    let d = f32::from_le_bytes([q[0], q[1], q[2], q[3]]);
    assert!(d < 0.0);
    assert_eq!(q[4 + 100] as i8, -127);
    let y = dequant_act(GgmlType::Q8_K, &q, 256);
    for (a, b) in x.iter().zip(&y) {
        assert!((a - b).abs() <= 0.5 * d.abs() * 1.0001, "{a} -> {b}");
    }
}

/// The F16C rounding used for the KV cache and attention accumulators equals the scalar spec,
/// bit for bit, including ties, subnormals, overflow to infinity and odd tails.
#[test]
fn quant_round_f16_simd_is_bit_exact_with_scalar() {
    use wasm_chord_core::quant::{round_f16_inplace, round_f16_inplace_scalar};
    let mut rng = Rng(0xf16);
    let mut x: Vec<f32> = rng.row(1003).iter().map(|v| v * 300.0).collect();
    x.extend([
        0.5 + 2f32.powi(-11),
        1.0 + 2f32.powi(-11),
        6.0e-8,
        -3.0e-6,
        65519.0,
        65520.0,
        1e9,
        -0.0,
    ]);
    let (mut a, mut b) = (x.clone(), x.clone());
    round_f16_inplace(&mut a);
    round_f16_inplace_scalar(&mut b);
    assert_eq!(
        a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(b[1003 + 1], 1.0); // a tie rounds to even
    assert!(b[1003 + 5].is_infinite()); // 65520 rounds past f16's max
}

/// The repacked-order dots (llama.cpp's x86 gemv and gemm orders for the types it repacks)
/// equal the plain dot to rounding, and Q4_K's fast one-row kernels are bit-identical to their
/// scalar specs. (Q4_0's one-row repacked dots are the scalar spec in every table that has
/// them: its fast kernels are the eight-row ones, compared in the next test.)
#[test]
fn quant_repacked_orders_are_bit_exact_with_scalar() {
    let mut rng = Rng(0x5eed_0004);
    for t in [GgmlType::Q4_0, GgmlType::Q4_K] {
        let (fast, spec) = (kernels(t).unwrap(), scalar_kernels(t).unwrap());
        let sr = spec.repacked.unwrap();
        for n in lengths(t) {
            for _ in 0..4 {
                let w = random_weights(t, &mut rng, n);
                let x = quantize_act(spec.vec_dot_type, &rng.row(n), true);
                let (gemv, gemm) = ((sr.gemv)(n, &w, &x), (sr.gemm)(n, &w, &x));
                if t == GgmlType::Q4_K {
                    let fr = fast.repacked.unwrap();
                    let bits = |v: f32| v.to_bits();
                    assert_eq!(bits((fr.gemv)(n, &w, &x)), bits(gemv), "{t} gemv n={n}");
                    assert_eq!(bits((fr.gemm)(n, &w, &x)), bits(gemm), "{t} gemm n={n}");
                }
                let (_, abs, slack) = reference_dot(t, &w, &x, n);
                let plain = (spec.vec_dot)(n, &w, &x) as f64;
                let tol = 1e-5 * (abs + slack) + 1e-30;
                assert!(
                    (gemv as f64 - plain).abs() <= tol,
                    "{t} gemv {gemv} vs {plain}"
                );
                assert!(
                    (gemm as f64 - plain).abs() <= tol,
                    "{t} gemm {gemm} vs {plain}"
                );
            }
        }
    }
}

/// Sets every quant of activation row `x` (Q8_0 or Q8_K) to `q`, and Q8_K's block sums to match.
fn fill_activation_quants(t: GgmlType, x: &mut [u8], q: i8) {
    for b in x.chunks_exact_mut(t.block_bytes()) {
        match t {
            GgmlType::Q8_0 => b[2..].fill(q as u8),
            GgmlType::Q8_K => {
                let (qs, bsums) = b[4..].split_at_mut(256);
                qs.fill(q as u8);
                for s in bsums.chunks_exact_mut(2) {
                    s.copy_from_slice(&(16 * q as i16).to_le_bytes());
                }
            }
            _ => panic!("{t} is not a quantized activation format"),
        }
    }
}

/// The eight-row dots (Q4_0 and Q4_K on AVX2) give every output the bits of its one-row repacked dot,
/// over random rows and over the extremes where an i16 partial sum is largest (every nibble,
/// scale and min 0 or at its top against quants of -128 and 127).
#[test]
fn quant_rows8_dots_are_bit_exact_with_one_row_dots() {
    use wasm_chord_core::quant::{REPACK_ROWS, TILE_TOKENS};
    let mut rng = Rng(0x5eed_0008);
    let mut with_rows8 = Vec::new();
    for t in WEIGHT_TYPES {
        let k = kernels(t).unwrap();
        let Some(r8) = k.rows8 else { continue };
        with_rows8.push(t);
        let rp = k.repacked.unwrap();
        for n in lengths(t) {
            for extreme in [false, true] {
                let w: Vec<Vec<u8>> = (0..REPACK_ROWS)
                    .map(|r| {
                        let mut w = random_weights(t, &mut rng, n);
                        if extreme {
                            // Every byte past the f16 factors: nibbles, scales and mins.
                            let head = if t == GgmlType::Q4_K { 4 } else { 2 };
                            let fill = if r % 2 == 0 { 0xff } else { 0x00 };
                            for b in w.chunks_exact_mut(t.block_bytes()) {
                                b[head..].fill(fill);
                            }
                        }
                        w
                    })
                    .collect();
                let x: Vec<Vec<u8>> = (0..TILE_TOKENS)
                    .map(|i| {
                        let mut x = quantize_act(k.vec_dot_type, &rng.row(n), false);
                        if extreme {
                            let q = if i % 2 == 0 { -128i8 } else { 127 };
                            fill_activation_quants(k.vec_dot_type, &mut x, q);
                        }
                        x
                    })
                    .collect();
                let sums: Vec<Vec<i32>> = x
                    .iter()
                    .map(|x| {
                        // Q8_K blocks carry their sums: the kernels take none.
                        if k.vec_dot_type != GgmlType::Q8_0 {
                            return Vec::new();
                        }
                        let mut s = vec![0; n / 32];
                        q8_0_block_sums(x, &mut s);
                        s
                    })
                    .collect();
                let wr = std::array::from_fn(|r| &w[r][..]);
                let gemm = (r8.gemm)(
                    n,
                    wr,
                    std::array::from_fn(|i| &x[i][..]),
                    std::array::from_fn(|i| &sums[i][..]),
                );
                // The same dots from the rows in their eight-row layout.
                let packed = r8.packed.map(|p| {
                    let mut group = vec![0u8; REPACK_ROWS * w[0].len()];
                    (p.repack)(n, &w.concat(), &mut group);
                    let xs = std::array::from_fn(|i| &x[i][..]);
                    let ss = std::array::from_fn(|i| &sums[i][..]);
                    let gemv: Vec<_> = (0..TILE_TOKENS)
                        .map(|i| (p.gemv)(n, &group, &x[i], &sums[i]))
                        .collect();
                    (gemv, (p.gemm)(n, &group, xs, ss))
                });
                for i in 0..TILE_TOKENS {
                    let gemv = (r8.gemv)(n, wr, &x[i], &sums[i]);
                    for r in 0..REPACK_ROWS {
                        let (want_v, want_m) =
                            ((rp.gemv)(n, &w[r], &x[i]), (rp.gemm)(n, &w[r], &x[i]));
                        let ctx = format!("{t} n={n} extreme={extreme} token {i} row {r}");
                        assert_eq!(gemv[r].to_bits(), want_v.to_bits(), "gemv {ctx}");
                        assert_eq!(gemm[i][r].to_bits(), want_m.to_bits(), "gemm {ctx}");
                        if let Some((pv, pm)) = &packed {
                            assert_eq!(pv[i][r].to_bits(), want_v.to_bits(), "packed gemv {ctx}");
                            assert_eq!(pm[i][r].to_bits(), want_m.to_bits(), "packed gemm {ctx}");
                        }
                    }
                }
            }
        }
    }
    if kernel_isa() == "avx2" {
        assert_eq!(with_rows8, [GgmlType::Q4_0, GgmlType::Q4_K]);
        for t in [GgmlType::Q4_0, GgmlType::Q4_K] {
            assert!(kernels(t).unwrap().rows8.unwrap().packed.is_some(), "{t}");
        }
    }
}

/// The f16 accumulator update (`y = f16(fma(x, a, y))`) with F16C equals its scalar spec.
#[test]
fn quant_mad_round_f16_simd_is_bit_exact_with_scalar() {
    let mut rng = Rng(0x5eed_0005);
    for n in [1usize, 7, 8, 64, 257] {
        let y0: Vec<f32> = rng
            .row(n)
            .iter()
            .map(|v| f16::from_f32(v * 40.0).to_f32())
            .collect();
        let x: Vec<f32> = rng
            .row(n)
            .iter()
            .map(|v| f16::from_f32(v * 3.0).to_f32())
            .collect();
        for a in [0.0f32, 1.0, 0.123_456_7, -2.5e-3] {
            let (mut p, mut q) = (y0.clone(), y0.clone());
            mad_round_f16(&mut p, a, &x);
            mad_round_f16_scalar(&mut q, a, &x);
            assert_eq!(
                p.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                q.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "n={n} a={a}"
            );
            for ((&r, &y), &v) in q.iter().zip(&y0).zip(&x) {
                let exact = y as f64 + v as f64 * a as f64;
                assert!(
                    (r as f64 - exact).abs() <= exact.abs() * 1e-3 + 1e-7,
                    "{r} vs {exact}"
                );
            }
        }
    }
}

/// Every tile dot (prefill: several weight rows by several tokens) gives, for each of its
/// outputs, the bits of the one-row dot it stands for: `vec_dot`.
#[test]
fn quant_tile_dots_are_bit_exact_with_one_row_dots() {
    use wasm_chord_core::quant::{TILE_ROWS, TILE_TOKENS};
    let mut rng = Rng(0x5eed_0007);
    let mut tiled = Vec::new();
    for t in WEIGHT_TYPES {
        let k = kernels(t).unwrap();
        let Some(tile) = k.dot_tile else { continue };
        tiled.push(t);
        assert!(
            k.repacked.is_none(),
            "{t}: a tile is vec_dot's order, not a repacked one"
        );
        let one_row = k.vec_dot;
        for n in lengths(t) {
            let w: Vec<Vec<u8>> = (0..TILE_ROWS)
                .map(|_| random_weights(t, &mut rng, n))
                .collect();
            let x: Vec<Vec<u8>> = (0..TILE_TOKENS)
                .map(|_| quantize_act(k.vec_dot_type, &rng.row(n), false))
                .collect();
            let out = tile(
                n,
                std::array::from_fn(|r| &w[r][..]),
                std::array::from_fn(|i| &x[i][..]),
            );
            for (i, row) in out.iter().enumerate() {
                for (r, v) in row.iter().enumerate() {
                    let want = one_row(n, &w[r], &x[i]);
                    assert_eq!(
                        v.to_bits(),
                        want.to_bits(),
                        "{t} n={n} token {i} row {r}: {v} vs {want}"
                    );
                }
            }
        }
    }
    if kernel_isa() == "avx2" {
        for t in [
            GgmlType::Q4_1,
            GgmlType::Q5_0,
            GgmlType::Q8_0,
            GgmlType::Q6_K,
        ] {
            assert!(tiled.contains(&t), "{t} has no tile dot: {tiled:?}");
        }
    }
}
