//! SIMD128 (wasm32) twins of the CPU ops whose x86 build runs vector code: SwiGLU with ggml's
//! vector `exp`, the ggml-order f16 dot, and the fused multiply-add loops of tiled flash
//! attention. Each gives the same bits as its scalar twin in `ops.rs` (and so as the x86
//! build): fused multiply-adds go through `quant::simd128::fma2` (one rounding, see there),
//! everything else is the same IEEE operations in the same order. Values that meet an FMA are
//! handled two per f64x2 (`ld_pair`/`st_pair`), as `quant::simd128` explains.

use std::arch::wasm32::*;

use crate::quant::simd128::{lanes, ld, ld_pair, promote_high, promote_low, st, F32x8, Round32};

/// [`super::ops::expf_ggml`] on two lanes of f32 values held as f64, both of its branches
/// computed and selected per lane. Every f32 operation is done in f64 and rounded (`r32`).
#[inline(always)]
fn expf_ggml_x2(rd: Round32, x: v128) -> v128 {
    let (fma2, r32) = (|a, b, c| rd.fma2(a, b, c), |v| rd.r32(v));
    let c = |bits: u32| f64x2_splat(f32::from_bits(bits) as f64);
    let r = c(0x4b40_0000);
    let z = fma2(x, c(0x3fb8_aa3b), r);
    let n = r32(f64x2_sub(z, r));
    let nn = f64x2_neg(n);
    let b = fma2(nn, c(0x35bf_be8e), fma2(nn, c(0x3f31_7200), x));
    // The exponent comes from z's f32 bits (lanes 0 and 1 of an f32x4).
    let e = i32x4_shl(rd.demote(z), 23);
    let k = promote_low(i32x4_add(e, u32x4_splat(1.0f32.to_bits())));
    let u = r32(f64x2_mul(b, b));
    let j = fma2(c(0x3c07_2010), b, c(0x3d2b_9f17));
    let j = fma2(j, u, fma2(c(0x3e2a_af33), b, c(0x3eff_fedb)));
    let j = fma2(j, u, r32(f64x2_mul(c(0x3f7f_fff6), b)));
    let an = f64x2_abs(n);
    let fast = fma2(k, j, k);
    let small = f64x2_le(an, f64x2_splat(126.0));
    if i64x2_all_true(small) {
        return fast;
    }
    // 2^n itself would overflow or underflow: scale in two steps.
    // n <= 0 as 32-bit masks in lanes 0 and 1 (the f64 mask's low words).
    let nonpos = f64x2_le(n, f64x2_splat(0.0));
    let g = v128_and(
        i32x4_shuffle::<0, 2, 0, 2>(nonpos, nonpos),
        u32x4_splat(0x8200_0000),
    );
    let s1 = promote_low(i32x4_add(g, u32x4_splat(0x7f00_0000)));
    let s2 = promote_low(i32x4_sub(e, g));
    let far = r32(f64x2_mul(s1, s1));
    let near = r32(f64x2_mul(fma2(s2, j, s2), s1));
    let slow = v128_bitselect(far, near, f64x2_gt(an, f64x2_splat(192.0)));
    v128_bitselect(fast, slow, small)
}

/// `gate = silu(gate) * up` on whole groups of 8 (the caller does the tail with libm `exp`).
pub(crate) fn silu_mul_body(gate: &mut [f32], up: &[f32]) {
    let (gc, _) = gate.as_chunks_mut::<2>();
    let (uc, _) = up.as_chunks::<2>();
    let (zero, one) = (f64x2_splat(0.0), f64x2_splat(1.0));
    let r = Round32::new();
    for (g, u) in gc.iter_mut().zip(uc) {
        let gv = ld_pair(g);
        // 0 - g is exact; 1 + e, the quotient and the product each round to f32.
        let e = expf_ggml_x2(r, f64x2_sub(zero, gv));
        let q = r.r32(f64x2_div(gv, r.r32(f64x2_add(one, e))));
        r.st_pair(g, f64x2_mul(q, ld_pair(u)));
    }
}

/// `x[i] = expf_ggml(x[i] - sub)` for every element.
pub(crate) fn exp_sub_inplace(x: &mut [f32], sub: f32) {
    let (body, tail) = x.as_chunks_mut::<2>();
    let s = f64x2_splat(sub as f64);
    let r = Round32::new();
    for c in body {
        r.st_pair(c, expf_ggml_x2(r, r.r32(f64x2_sub(ld_pair(c), s))));
    }
    for v in tail {
        *v = super::ops::expf_ggml(*v - sub);
    }
}

/// [`super::ops::dot_f16_ggml`]'s 32 lanes as eight f32x4, folded in the same order.
pub(crate) fn dot_f16_ggml(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let body = n & !31;
    let (ac, _) = a[..body].as_chunks::<32>();
    let (bc, _) = b[..body].as_chunks::<32>();
    let mut acc = [f32x4_splat(0.0); 8];
    for (x, y) in ac.iter().zip(bc) {
        let (x4, _) = x.as_chunks::<4>();
        let (y4, _) = y.as_chunks::<4>();
        for (k, a) in acc.iter_mut().enumerate() {
            *a = f32x4_add(*a, f32x4_mul(ld(&x4[k]), ld(&y4[k])));
        }
    }
    // r[i] = (acc[i] + acc[16+i]) + (acc[8+i] + acc[24+i]) for i in 0..8.
    let r = F32x8 {
        lo: f32x4_add(f32x4_add(acc[0], acc[4]), f32x4_add(acc[2], acc[6])),
        hi: f32x4_add(f32x4_add(acc[1], acc[5]), f32x4_add(acc[3], acc[7])),
    };
    let t = lanes(f32x4_add(r.lo, r.hi));
    let mut sum = ((t[0] + t[1]) + (t[2] + t[3])) as f64;
    for (x, y) in a[body..n].iter().zip(&b[body..n]) {
        sum += (x * y) as f64;
    }
    sum as f32
}

/// `acc[i] = fma(a, x[i], acc[i])`.
pub(crate) fn fma_axpy(acc: &mut [f32], a: f32, x: &[f32]) {
    let n = acc.len().min(x.len());
    let (ac, _) = acc[..n].as_chunks_mut::<4>();
    let (xc, _) = x[..n].as_chunks::<4>();
    let av = f64x2_splat(a as f64);
    let r = Round32::new();
    for (o, v) in ac.iter_mut().zip(xc) {
        st(o, r.fma4(ld(v), av, ld(o)));
    }
    let done = n & !3;
    for (o, &v) in acc[done..n].iter_mut().zip(&x[done..n]) {
        *o = a.mul_add(v, *o);
    }
}

/// Four chained-FMA dots at once: `out[r] = fma(q[d-1], rows[r][d-1], … fma(q[0], rows[r][0],
/// 0))` for the 4 rows `rows[r] = rows[r * hd..(r + 1) * hd]`, one key per lane (the chain runs
/// along the head dimension, so it is vectorised across keys: keys 0, 1 in one f64x2 and 2, 3
/// in another).
pub(crate) fn fma_chain_dots4(q: &[f32], rows: &[f32], hd: usize, out: &mut [f32; 4]) {
    let row = |r: usize| &rows[r * hd..(r + 1) * hd];
    let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
    let body = hd & !3;
    let (mut d01, mut d23) = (f64x2_splat(0.0), f64x2_splat(0.0));
    let r = Round32::new();
    let fma2 = |a, b, c| r.fma2(a, b, c);
    let (qc, _) = q[..body].as_chunks::<4>();
    let (c0, _) = r0[..body].as_chunks::<4>();
    let (c1, _) = r1[..body].as_chunks::<4>();
    let (c2, _) = r2[..body].as_chunks::<4>();
    let (c3, _) = r3[..body].as_chunks::<4>();
    for (i, qv) in qc.iter().enumerate() {
        // 4x4 transpose: column c holds dimension 4i+c of the four keys.
        let (a, b, c, e) = (ld(&c0[i]), ld(&c1[i]), ld(&c2[i]), ld(&c3[i]));
        let t0 = i32x4_shuffle::<0, 4, 1, 5>(a, b);
        let t1 = i32x4_shuffle::<2, 6, 3, 7>(a, b);
        let t2 = i32x4_shuffle::<0, 4, 1, 5>(c, e);
        let t3 = i32x4_shuffle::<2, 6, 3, 7>(c, e);
        let cols = [
            i64x2_shuffle::<0, 2>(t0, t2),
            i64x2_shuffle::<1, 3>(t0, t2),
            i64x2_shuffle::<0, 2>(t1, t3),
            i64x2_shuffle::<1, 3>(t1, t3),
        ];
        for (k, col) in cols.iter().enumerate() {
            let qk = f64x2_splat(qv[k] as f64);
            d01 = fma2(qk, promote_low(*col), d01);
            d23 = fma2(qk, promote_high(*col), d23);
        }
    }
    for i in body..hd {
        let qk = f64x2_splat(q[i] as f64);
        d01 = fma2(qk, f64x2(r0[i] as f64, r1[i] as f64), d01);
        d23 = fma2(qk, f64x2(r2[i] as f64, r3[i] as f64), d23);
    }
    let f = |v: v128| {
        (
            f64x2_extract_lane::<0>(v) as f32,
            f64x2_extract_lane::<1>(v) as f32,
        )
    };
    let ((a, b), (c, d)) = (f(d01), f(d23));
    *out = [a, b, c, d];
}
