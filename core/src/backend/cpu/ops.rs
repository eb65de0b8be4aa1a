//! Element-wise and row-wise ops of a transformer forward pass, on f32 rows.

use super::fma_fn;

/// `1 / sqrt(mean(x²) + eps)` as ggml computes it: squares in f32, summed in f64.
#[inline]
fn rms_scale(x: &[f32], eps: f32) -> f32 {
    let sum: f64 = x.iter().map(|&v| (v * v) as f64).sum();
    1.0 / ((sum / x.len() as f64) as f32 + eps).sqrt()
}

/// RMSNorm of every `w.len()`-sized row of `x`, in place.
pub fn rms_norm_rows_inplace(x: &mut [f32], w: &[f32], eps: f32) {
    let n = w.len();
    for row in x.chunks_exact_mut(n) {
        let scale = rms_scale(row, eps);
        for (v, &g) in row.iter_mut().zip(w) {
            *v = *v * scale * g;
        }
    }
}

/// `x += y`.
pub fn add_inplace(x: &mut [f32], y: &[f32]) {
    for (a, &b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

pub fn scale_inplace(x: &mut [f32], s: f32) {
    for v in x {
        *v *= s;
    }
}

/// `gate = silu(gate) * up` (SwiGLU), as ggml's x86 kernel: [`expf_ggml`] on whole groups
/// of 8, libm `exp` on the tail. SIMD128 on wasm, bit-identical to [`silu_mul_inplace_scalar`].
pub fn silu_mul_inplace(gate: &mut [f32], up: &[f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let body = gate.len().min(up.len()) & !7;
        super::simd128::silu_mul_body(&mut gate[..body], &up[..body]);
        for (g, &u) in gate[body..].iter_mut().zip(&up[body..]) {
            *g = *g / (1.0 + (-*g).exp()) * u;
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    silu_mul_inplace_scalar(gate, up);
}

fma_fn! {
    /// Scalar spec of [`silu_mul_inplace`].
    pub fn silu_mul_inplace_scalar(gate: &mut [f32], up: &[f32]) {
        let body = gate.len().min(up.len()) & !7;
        for (g, &u) in gate[..body].iter_mut().zip(&up[..body]) {
            *g = *g / (1.0 + expf_ggml(0.0 - *g)) * u;
        }
        for (g, &u) in gate[body..].iter_mut().zip(&up[body..]) {
            *g = *g / (1.0 + (-*g).exp()) * u;
        }
    }
}

/// tanh-approximated GELU, as ggml_gelu.
#[inline]
pub fn gelu(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    const COEF_A: f32 = 0.044_715;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (COEF_A * x).mul_add(x, 1.0)).tanh())
}

/// `gelu` of every f16 input, itself rounded to f16, indexed by the input's bits.
///
/// ggml evaluates GELU through this table (x rounded to f16, result rounded to f16),
/// so matching llama.cpp's near-tie tokens needs the same two roundings.
fn gelu_f16_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|bits| {
                let x = half::f16::from_bits(bits).to_f32();
                half::f16::from_f32(gelu(x)).to_f32()
            })
            .collect()
    })
}

/// GELU as ggml computes it: exact outside ±10, the f16 table inside.
#[inline]
fn gelu_ggml(table: &[f32], x: f32) -> f32 {
    if x <= -10.0 {
        0.0
    } else if x >= 10.0 {
        x
    } else {
        table[half::f16::from_f32(x).to_bits() as usize]
    }
}

/// `gate = gelu(gate) * up` (GeGLU).
pub fn gelu_mul_inplace(gate: &mut [f32], up: &[f32]) {
    let table = gelu_f16_table();
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = gelu_ggml(table, *g) * u;
    }
}

/// Numerically stable softmax in place.
pub fn softmax_inplace(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// `e^x` as ggml's AVX2 `ggml_v_expf` computes each lane (its softmax exp): a range reduction
/// by ln 2 split in two constants, a degree-5 polynomial, and the exponent put back by integer
/// adds, with the same fused multiply-adds, so results agree bit for bit (not with libm).
#[inline(always)]
pub fn expf_ggml(x: f32) -> f32 {
    let c = |bits: u32| f32::from_bits(bits);
    let r = c(0x4b40_0000); // 0x1.8p23: adding it rounds to an integer
    let z = x.mul_add(c(0x3fb8_aa3b), r); // x·log2(e) + r
    let n = z - r;
    let b = (-n).mul_add(c(0x35bf_be8e), (-n).mul_add(c(0x3f31_7200), x)); // x - n·ln2
    let e = z.to_bits().wrapping_shl(23);
    let k = f32::from_bits(e.wrapping_add(1.0f32.to_bits())); // 2^n
    let u = b * b;
    let j = c(0x3c07_2010)
        .mul_add(b, c(0x3d2b_9f17))
        .mul_add(u, c(0x3e2a_af33).mul_add(b, c(0x3eff_fedb)))
        .mul_add(u, c(0x3f7f_fff6) * b);
    if n.abs() <= 126.0 {
        return k.mul_add(j, k);
    }
    // 2^n itself would overflow or underflow: scale in two steps.
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = f32::from_bits(g.wrapping_add(0x7f00_0000));
    let s2 = f32::from_bits(e.wrapping_sub(g));
    if n.abs() > 192.0 {
        s1 * s1
    } else {
        s2.mul_add(j, s2) * s1
    }
}

/// `x[i] = expf_ggml(x[i] - sub)` (softmax numerators), SIMD128 on wasm.
#[inline(always)]
pub fn exp_sub_inplace(x: &mut [f32], sub: f32) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    super::simd128::exp_sub_inplace(x, sub);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    for v in x.iter_mut() {
        *v = expf_ggml(*v - sub);
    }
}

/// `acc[i] = fma(a, x[i], acc[i])`, SIMD128 on wasm. Inlined, so an `fma_fn!` caller's x86
/// copy compiles the `mul_add`s to FMA instructions.
#[inline(always)]
pub fn fma_axpy(acc: &mut [f32], a: f32, x: &[f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    super::simd128::fma_axpy(acc, a, x);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    for (o, &v) in acc.iter_mut().zip(x) {
        *o = a.mul_add(v, *o);
    }
}

/// Dot products of `q` with the rows of `rows` (`out.len()` rows of `q.len()` values, at most
/// 4), each one chain of fused multiply-adds in element order from 0 (ggml's one-lane
/// `ggml_vec_dot_f32` tail loop). On wasm the four chains run in the lanes of one vector.
#[inline(always)]
pub fn fma_chain_dots(q: &[f32], rows: &[f32], out: &mut [f32]) {
    let hd = q.len();
    debug_assert!(out.len() <= 4 && rows.len() >= out.len() * hd);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if out.len() == 4 {
        let mut d = [0.0f32; 4];
        super::simd128::fma_chain_dots4(q, rows, hd, &mut d);
        out.copy_from_slice(&d);
        return;
    }
    for (o, r) in out.iter_mut().zip(rows.chunks_exact(hd.max(1))) {
        let mut d = 0.0f32;
        for (&a, &b) in q.iter().zip(r) {
            d = a.mul_add(b, d);
        }
        *o = d;
    }
}

/// `Σ a_i b_i` of two rows of f16 values (held as f32), summed in the order of ggml's x86
/// `ggml_vec_dot_f16`: 32 lanes (four 8-wide registers) over steps of 32, the registers folded
/// 0+2, 1+3, then 0+1, the 8 lanes as (l0+l4 + l1+l5) + (l2+l6 + l3+l7), the tail in f64.
/// f16·f16 products are exact in f32, so plain multiply-adds equal ggml's fused ones. SIMD128
/// on wasm, bit-identical to [`dot_f16_ggml_scalar`].
pub fn dot_f16_ggml(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return super::simd128::dot_f16_ggml(a, b);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    dot_f16_ggml_scalar(a, b)
}

/// Scalar spec of [`dot_f16_ggml`].
pub fn dot_f16_ggml_scalar(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let body = n & !31;
    let mut acc = [0.0f32; 32];
    for (x, y) in a[..body].chunks_exact(32).zip(b[..body].chunks_exact(32)) {
        for i in 0..32 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut r = [0.0f32; 8];
    for (i, v) in r.iter_mut().enumerate() {
        *v = (acc[i] + acc[16 + i]) + (acc[8 + i] + acc[24 + i]);
    }
    let t = [r[0] + r[4], r[1] + r[5], r[2] + r[6], r[3] + r[7]];
    let mut sum = ((t[0] + t[1]) + (t[2] + t[3])) as f64;
    for (x, y) in a[body..n].iter().zip(&b[body..n]) {
        sum += (x * y) as f64;
    }
    sum as f32
}

/// `Σ a_i b_i` with four accumulators (lets the compiler vectorise).
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, ra) = a.split_at(a.len() & !7);
    let (cb, rb) = b.split_at(ca.len());
    for (x, y) in ca.chunks_exact(8).zip(cb.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `y += a * x`.
#[inline]
pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o += a * v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ggml's vector exp stays within 2 ulp of the true value over softmax's range, and keeps
    /// its edge cases: exactly 1 at 0, 0 for -inf and deep underflow.
    #[test]
    fn expf_ggml_is_accurate_and_handles_edges() {
        let mut x = -104.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let got = expf_ggml(x) as f64;
            if want > 1e-37 {
                assert!(
                    (got - want).abs() <= want * 2.5e-7,
                    "exp({x}) = {got}, want {want}"
                );
            }
            x += 0.0137;
        }
        assert_eq!(expf_ggml(0.0), 1.0);
        assert_eq!(expf_ggml(f32::NEG_INFINITY), 0.0);
        assert_eq!(expf_ggml(-200.0), 0.0);
    }

    /// The ggml-order f16 dot equals the f64 dot of the same f16 values to f32 rounding,
    /// with and without a tail past the last 32-element step.
    #[test]
    fn dot_f16_ggml_matches_f64_dot() {
        for n in [32usize, 64, 100, 256] {
            let a: Vec<f32> = (0..n)
                .map(|i| half::f16::from_f32((i as f32 * 0.7).sin()).to_f32())
                .collect();
            let b: Vec<f32> = (0..n)
                .map(|i| half::f16::from_f32((i as f32 * 1.3).cos()).to_f32())
                .collect();
            let want: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let got = dot_f16_ggml(&a, &b) as f64;
            assert!(
                (got - want).abs() <= 1e-5 * n as f64,
                "n={n}: {got} vs {want}"
            );
        }
    }

    /// SwiGLU on groups of 8 (ggml's exp) and the tail (libm exp) agrees with f64 silu.
    #[test]
    fn silu_mul_matches_f64() {
        let gate: Vec<f32> = (0..21).map(|i| i as f32 * 0.9 - 9.0).collect();
        let up: Vec<f32> = (0..21).map(|i| 1.0 + i as f32 * 0.1).collect();
        let mut y = gate.clone();
        silu_mul_inplace(&mut y, &up);
        for ((&g, &u), &r) in gate.iter().zip(&up).zip(&y) {
            let want = g as f64 / (1.0 + (-g as f64).exp()) * u as f64;
            assert!(
                (r as f64 - want).abs() <= want.abs() * 1e-6 + 1e-7,
                "{g}: {r} vs {want}"
            );
        }
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut x = vec![1.0, 3.0, 2.0, -50.0];
        softmax_inplace(&mut x);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(x[1] > x[2] && x[2] > x[0] && x[0] > x[3]);
    }

    #[test]
    fn dot_f32_matches_naive_with_tail() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..37).map(|i| (i as f32).sin()).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot_f32(&a, &b) - naive).abs() < 1e-4);
    }
}
