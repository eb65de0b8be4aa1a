//! SIMD128 (wasm32) twins of the AVX2 kernels in `avx2.rs`, chosen at build time
//! (`-C target-feature=+simd128`; wasm has no run-time feature detection).
//!
//! Each kernel keeps its AVX2 twin's arithmetic, so the browser build computes what the x86
//! build computes (llama.cpp's x86 order) rather than something merely close:
//! - an 8-lane f32 accumulator is kept as 8 lanes (`Acc8`, `F32x8`), reduced in ggml's
//!   `hsum_float_8` order;
//! - each 32-bit integer lane holds the value AVX2's `maddubs` + `madd` leave in it (the sum of
//!   4 adjacent byte products), built here from sign-extended `i16` pairs and `i32x4.dot_i16x8`;
//!   integer sums are exact, so only the lane partition matters, not the order of the adds;
//! - SIMD128 has no fused multiply-add (relaxed-simd's `f32x4.relaxed_madd` may or may not fuse,
//!   depending on the host CPU, so it is not deterministic), and a separate multiply and add
//!   would round twice. [`Round32::fma2`] instead computes `a·b + c` in f64, where the product of
//!   two f32 is exact, and rounds the f64 sum to f32. That differs from one rounding only when
//!   the f64 sum is inexact and lands exactly halfway between two f32 (29 low bits `1000…0`),
//!   which is detected and redone with libm's `fmaf` (the same test and fix compiler-builtins'
//!   `fmaf` makes). So
//!   the results equal the scalar `f32::mul_add` on wasm and AVX2's `vfmadd` for every finite
//!   input; libm's `fmaf` may differ from hardware by an ulp when the result is an f32
//!   subnormal, far below anything these kernels accumulate.
//!
//! Products of two f16 (or two bf16) values are exact in f32, so their dots use a plain
//! multiply and add: bit-equal to AVX2's fused ones. The only differences from AVX2 are on
//! inputs no quantizer writes: AVX2's `maddubs` saturates pairs past `i16` (Q8_0 weights of
//! -128 times activations of -128), where these kernels give the exact sum like the scalar spec.

use std::arch::wasm32::*;
use std::sync::OnceLock;

use super::blocks::{
    as_blocks, as_blocks_mut, f16_le_from, BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0,
    BlockQ5_1, BlockQ6K, BlockQ8K, BlockQ8_0, BlockQ8_1, ByteBlock, QK,
};
use super::{float, q4_k, QK_K};

// ---------------------------------------------------------------------------------------------
// Loads, lanes and conversions.

/// 16 bytes of `p` as a vector (any element type, any alignment).
#[inline(always)]
pub(crate) fn ld<T: Copy, const N: usize>(p: &[T; N]) -> v128 {
    const { assert!(N * std::mem::size_of::<T>() == 16) };
    // SAFETY: `p` is exactly 16 readable bytes (checked at compile time above); `v128.load`
    // has no alignment requirement.
    unsafe { v128_load(p.as_ptr().cast()) }
}

/// Stores `v` into 16 bytes of `p`.
#[inline(always)]
pub(crate) fn st<T: Copy, const N: usize>(p: &mut [T; N], v: v128) {
    const { assert!(N * std::mem::size_of::<T>() == 16) };
    // SAFETY: `p` is exactly 16 writable bytes (checked at compile time above), uniquely
    // borrowed; `v128.store` has no alignment requirement, and T is a plain number type
    // (u8/i8/f32/f16) for which every bit pattern is valid.
    unsafe { v128_store(p.as_mut_ptr().cast(), v) }
}

/// The two 16-byte halves of a 32-byte array.
#[inline(always)]
fn ld2<T: Copy, const N: usize>(p: &[T]) -> (v128, v128) {
    let (c, _) = p.as_chunks::<N>();
    (ld(&c[0]), ld(&c[1]))
}

#[inline(always)]
pub(crate) fn lanes(v: v128) -> [f32; 4] {
    [
        f32x4_extract_lane::<0>(v),
        f32x4_extract_lane::<1>(v),
        f32x4_extract_lane::<2>(v),
        f32x4_extract_lane::<3>(v),
    ]
}

/// Lanes 2 and 3 of `v` moved to lanes 0 and 1.
#[inline(always)]
fn high_half(v: v128) -> v128 {
    i64x2_shuffle::<1, 1>(v, v)
}

/// Every f16 bit pattern as f32 (what the AVX2 kernels read block scales through), built on
/// first use rather than stored in the module (256 KiB).
fn f16_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|h| half::f16::from_bits(h).to_f32())
            .collect()
    })
}

/// An f16 field read through the table (`t` from [`f16_table`], 65536 entries).
#[inline(always)]
fn f16x(t: &[f32], b: [u8; 2]) -> f32 {
    t[u16::from_le_bytes(b) as usize]
}

/// Four f16 bit patterns (the low halves of `h`'s u32 lanes) as f32, exactly as
/// `half::f16::to_f32`: normals by moving the exponent, subnormals through an exact integer ->
/// float conversion (no float op on subnormal operands, which are slow on x86 hosts), infinities
/// kept, NaNs quieted.
#[inline(always)]
fn f16_bits_to_f32x4(h: v128) -> v128 {
    let em = v128_and(h, u32x4_splat(0x7fff));
    let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
    // Normal: rebias the exponent (15 -> 127).
    let normal = i32x4_add(i32x4_shl(em, 13), u32x4_splat(112 << 23));
    // Zero and subnormal: the 10-bit mantissa times 2^-24.
    let sub = f32x4_mul(
        f32x4_convert_i32x4(em),
        f32x4_splat(f32::from_bits(0x3380_0000)),
    );
    // Infinity and NaN: all-ones exponent, NaNs with the quiet bit set.
    let top = v128_or(i32x4_shl(em, 13), u32x4_splat(0x7f80_0000));
    let nan = v128_and(i32x4_gt(em, u32x4_splat(0x7c00)), u32x4_splat(0x0040_0000));
    let r = v128_bitselect(sub, normal, i32x4_lt(em, u32x4_splat(0x0400)));
    let r = v128_bitselect(v128_or(top, nan), r, i32x4_ge(em, u32x4_splat(0x7c00)));
    v128_or(r, sign)
}

/// Eight little-endian f16 (16 bytes) as two f32x4.
#[inline(always)]
pub(crate) fn f16x8_to_f32(h: v128) -> (v128, v128) {
    (
        f16_bits_to_f32x4(u32x4_extend_low_u16x8(h)),
        f16_bits_to_f32x4(u32x4_extend_high_u16x8(h)),
    )
}

/// Each lane rounded to the nearest f16 (ties to even) and back, exactly as
/// `half::f16::from_f32(x).to_f32()` (and F16C's `vcvtps2ph`): overflow to infinity, f16
/// subnormals on their 2^-24 grid, NaNs quieted with their payload truncated.
#[inline(always)]
pub(crate) fn round_f16_f32x4(x: v128) -> v128 {
    let sign = v128_and(x, u32x4_splat(0x8000_0000));
    let a = v128_and(x, u32x4_splat(0x7fff_ffff));
    // f16 normals (|x| >= 2^-14): round the mantissa to 10 bits, ties to even.
    let odd = v128_and(u32x4_shr(a, 13), u32x4_splat(1));
    let rn = i32x4_add(a, i32x4_add(u32x4_splat(0x0fff), odd));
    let rn = v128_and(rn, u32x4_splat(0xffff_e000));
    // Past f16's largest finite value (65504): infinity.
    let inf = u32x4_splat(0x7f80_0000);
    let rn = v128_bitselect(inf, rn, u32x4_ge(rn, u32x4_splat(0x4780_0000)));
    // f16 subnormals: adding 0.5 rounds to a multiple of 2^-24 (f32's ulp on [0.5, 1)).
    let half = f32x4_splat(0.5);
    let sub = f32x4_sub(f32x4_add(a, half), half);
    let r = v128_bitselect(sub, rn, u32x4_lt(a, u32x4_splat(0x3880_0000)));
    // Infinity stays; NaN keeps its top 10 payload bits and gets the quiet bit.
    let is_nan = u32x4_gt(a, inf);
    let nan = v128_or(
        v128_and(a, u32x4_splat(0xffff_e000)),
        u32x4_splat(0x0040_0000),
    );
    let r = v128_bitselect(nan, r, is_nan);
    let r = v128_bitselect(inf, r, i32x4_eq(a, inf));
    v128_or(r, sign)
}

// ---------------------------------------------------------------------------------------------
// Fused multiply-add, two lanes at a time.
//
// f32 values that go through a fused multiply-add ride in f64x2 vectors, two per vector (every
// f32 is exactly an f64). A product of two of them is exact in f64; [`fma2`] rounds the f64 sum
// to f32 and keeps it as f64. The values stay in pairs from load ([`ld_pair`]) to store
// ([`st_pair`]): rejoining two demoted pairs into one f32x4 is a shuffle LLVM turns into four
// scalar conversions, which costs more than the pairs.

/// Two f32 at `p` as an f64x2.
#[inline(always)]
pub(crate) fn ld_pair(p: &[f32; 2]) -> v128 {
    // SAFETY: `p` is exactly 8 readable bytes; `v128.load64_zero` reads 8 bytes and has no
    // alignment requirement.
    f64x2_promote_low_f32x4(unsafe { v128_load64_zero(p.as_ptr().cast()) })
}

/// The f32 values of lanes 0 and 1 as an f64x2.
#[inline(always)]
pub(crate) fn promote_low(v: v128) -> v128 {
    f64x2_promote_low_f32x4(v)
}

/// The f32 values of lanes 2 and 3 as an f64x2.
#[inline(always)]
pub(crate) fn promote_high(v: v128) -> v128 {
    f64x2_promote_low_f32x4(high_half(v))
}

#[inline(always)]
fn halfway2(s: v128) -> bool {
    let excess = v128_and(s, i64x2_splat(0x1fff_ffff));
    v128_any_true(i64x2_eq(excess, i64x2_splat(0x1000_0000)))
}

/// True when a lane of the f64 sums `lo` (lanes 0, 1) or `hi` (2, 3) lies exactly halfway
/// between two f32: the 29 bits below f32 precision, in the low word, are `1000…0`.
#[inline(always)]
fn halfway4(lo: v128, hi: v128) -> bool {
    let low = i32x4_shuffle::<0, 2, 4, 6>(lo, hi);
    let excess = v128_and(low, u32x4_splat(0x1fff_ffff));
    v128_any_true(i32x4_eq(excess, u32x4_splat(0x1000_0000)))
}

/// Lanes where the f64 sum `s = p + c` was rounded: exactly those where `s - p != c` or
/// `s - c != p` (Fast2Sum: the difference from the larger operand is exact, and differs from
/// the other operand by the rounding error), the test libm's `fmaf` makes too.
#[inline(always)]
fn inexact(p: v128, c: v128, s: v128) -> v128 {
    v128_or(f64x2_ne(f64x2_sub(s, p), c), f64x2_ne(f64x2_sub(s, c), p))
}

/// `fma(a, b, c)` lane by lane through libm's `fmaf`.
#[cold]
#[inline(never)]
fn fma2_libm(a: v128, b: v128, c: v128) -> v128 {
    let f = |v: v128, i: usize| {
        if i == 0 {
            f64x2_extract_lane::<0>(v) as f32
        } else {
            f64x2_extract_lane::<1>(v) as f32
        }
    };
    let lane = |i| f(a, i).mul_add(f(b, i), f(c, i)) as f64;
    f64x2(lane(0), lane(1))
}

/// Rounding f64 lanes to f32 and the fused multiply-add built on it. LLVM selects
/// `f32x4.demote_f64x2_zero` only while the demoted vector's zero upper lanes are used; when
/// only lanes 0 and 1 are (a promote back, a 64-bit store), it drops them and scalarises the
/// conversion (four extracts, conversions and inserts instead of one instruction). A swizzle
/// by an identity index vector it cannot see through (built once, through `black_box`) uses
/// every lane and so keeps the vector instruction.
#[derive(Clone, Copy)]
pub(crate) struct Round32 {
    identity: v128,
}

impl Round32 {
    /// One per kernel call (the index vector goes through `black_box` once).
    #[inline(always)]
    pub fn new() -> Round32 {
        let identity = u8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        Round32 {
            identity: std::hint::black_box(identity),
        }
    }

    /// The two lanes of `v` rounded to f32, as lanes 0 and 1 of an f32x4 (2 and 3 are zero).
    #[inline(always)]
    pub fn demote(self, v: v128) -> v128 {
        i8x16_swizzle(f32x4_demote_f64x2_zero(v), self.identity)
    }

    /// Each f64 lane rounded to f32 (kept as f64). One f32 add, subtract, multiply or divide
    /// done in f64 and rounded so equals the f32 operation: f64's 53 bits are at least
    /// 2·24 + 2, so the double rounding is innocuous for a single operation.
    #[inline(always)]
    pub fn r32(self, v: v128) -> v128 {
        f64x2_promote_low_f32x4(self.demote(v))
    }

    /// Stores the two lanes of `v` rounded to f32 into `p`.
    #[inline(always)]
    pub fn st_pair(self, p: &mut [f32; 2], v: v128) {
        // SAFETY: `p` is exactly 8 writable bytes, uniquely borrowed; `v128.store64_lane`
        // writes 8 bytes and has no alignment requirement.
        unsafe { v128_store64_lane::<0>(self.demote(v), p.as_mut_ptr().cast()) }
    }

    /// `a·b + c` on two lanes of f32 values held as f64, rounded once to f32 as an FMA
    /// instruction rounds it (see the module comment): f64 product (exact) and sum, rounded to
    /// f32; a sum the f64 rounding left exactly halfway goes to libm's `fmaf`.
    #[inline(always)]
    pub fn fma2(self, a: v128, b: v128, c: v128) -> v128 {
        let p = f64x2_mul(a, b);
        let s = f64x2_add(p, c);
        // A halfway sum is the true value when exact (a sum of few significant bits often
        // is), and rounding it once is right; only an inexact one needs libm.
        if halfway2(s) && v128_any_true(inexact(p, c, s)) {
            return fma2_libm(a, b, c);
        }
        self.r32(s)
    }
}

impl Round32 {
    /// [`Round32::fma2`] on four f32 lanes: `a·b + c` for f32x4 `a` and `c` and an f64x2
    /// splat `b`, as an f32x4. The two demoted halves are rejoined after `demote`'s swizzle,
    /// which LLVM cannot fuse back into a scalarised conversion.
    #[inline(always)]
    pub fn fma4(self, a: v128, b: v128, c: v128) -> v128 {
        let (a0, a1) = (promote_low(a), promote_high(a));
        let (c0, c1) = (promote_low(c), promote_high(c));
        let (p0, p1) = (f64x2_mul(a0, b), f64x2_mul(a1, b));
        let (s0, s1) = (f64x2_add(p0, c0), f64x2_add(p1, c1));
        if halfway4(s0, s1) && v128_any_true(v128_or(inexact(p0, c0, s0), inexact(p1, c1, s1))) {
            let (r0, r1) = (fma2_libm(a0, b, c0), fma2_libm(a1, b, c1));
            return i64x2_shuffle::<0, 2>(self.demote(r0), self.demote(r1));
        }
        i64x2_shuffle::<0, 2>(self.demote(s0), self.demote(s1))
    }
}

/// One 8-lane f32 FMA accumulator of the AVX2 kernels, as four f64x2 of f32 values: lanes
/// (0, 1), (2, 3), (4, 5), (6, 7).
#[derive(Clone, Copy)]
struct Acc8 {
    p: [v128; 4],
    r: Round32,
}

impl Acc8 {
    #[inline(always)]
    fn new() -> Acc8 {
        Acc8 {
            p: [f64x2_splat(0.0); 4],
            r: Round32::new(),
        }
    }

    /// `self = fma(a, b, self)` lane by lane (`a`, `b` as pairs).
    #[inline(always)]
    fn fma(self, a: [v128; 4], b: [v128; 4]) -> Acc8 {
        let (c, r) = (self.p, self.r);
        let p = [
            f64x2_mul(a[0], b[0]),
            f64x2_mul(a[1], b[1]),
            f64x2_mul(a[2], b[2]),
            f64x2_mul(a[3], b[3]),
        ];
        let s0 = f64x2_add(p[0], c[0]);
        let s1 = f64x2_add(p[1], c[1]);
        let s2 = f64x2_add(p[2], c[2]);
        let s3 = f64x2_add(p[3], c[3]);
        // As in `Round32::fma2`: libm only for a sum both halfway and inexact.
        if halfway4(s0, s1) | halfway4(s2, s3) {
            let bad = v128_or(
                v128_or(inexact(p[0], c[0], s0), inexact(p[1], c[1], s1)),
                v128_or(inexact(p[2], c[2], s2), inexact(p[3], c[3], s3)),
            );
            if v128_any_true(bad) {
                let p = [
                    fma2_libm(a[0], b[0], c[0]),
                    fma2_libm(a[1], b[1], c[1]),
                    fma2_libm(a[2], b[2], c[2]),
                    fma2_libm(a[3], b[3], c[3]),
                ];
                return Acc8 { p, r };
            }
        }
        Acc8 {
            p: [r.r32(s0), r.r32(s1), r.r32(s2), r.r32(s3)],
            r,
        }
    }

    /// `_mm256_fmadd_ps(set1(d), cvtepi32_ps(lanes), self)` with the integer lanes as two i32x4
    /// (`lo`: lanes 0..4, `hi`: 4..8). Through f32, so lanes past 2^24 round as `cvtepi32_ps`.
    #[inline(always)]
    fn fmadd_i32(self, d: f32, lo: v128, hi: v128) -> Acc8 {
        let (lo, hi) = (f32x4_convert_i32x4(lo), f32x4_convert_i32x4(hi));
        let l = [
            promote_low(lo),
            promote_high(lo),
            promote_low(hi),
            promote_high(hi),
        ];
        self.fma([f64x2_splat(d as f64); 4], l)
    }

    /// ggml's `hsum_float_8` of the 8 lanes, in f32.
    #[inline(always)]
    fn hsum(self) -> f32 {
        let l = |v: v128| {
            (
                f64x2_extract_lane::<0>(v) as f32,
                f64x2_extract_lane::<1>(v) as f32,
            )
        };
        let ((a, b), (c, d), (e, f), (g, h)) =
            (l(self.p[0]), l(self.p[1]), l(self.p[2]), l(self.p[3]));
        hsum8(&[a, b, c, d, e, f, g, h])
    }
}

/// ggml's `hsum_float_8`: `(l0+l4 + l2+l6) + (l1+l5 + l3+l7)`.
#[inline(always)]
fn hsum8(l: &[f32; 8]) -> f32 {
    ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
}

/// An 8-lane f32 register of plain (unfused) arithmetic: lanes 0..4 in `lo`, 4..8 in `hi`.
#[derive(Clone, Copy)]
pub(crate) struct F32x8 {
    pub lo: v128,
    pub hi: v128,
}

impl F32x8 {
    const ZERO: F32x8 = F32x8 {
        lo: f32x4(0.0, 0.0, 0.0, 0.0),
        hi: f32x4(0.0, 0.0, 0.0, 0.0),
    };

    /// `self + a·b`, rounded twice (equal to AVX2's fused form when `a·b` is exact in f32).
    #[inline(always)]
    fn mul_add(self, a: F32x8, b: F32x8) -> F32x8 {
        F32x8 {
            lo: f32x4_add(self.lo, f32x4_mul(a.lo, b.lo)),
            hi: f32x4_add(self.hi, f32x4_mul(a.hi, b.hi)),
        }
    }

    #[inline(always)]
    fn add(self, o: F32x8) -> F32x8 {
        F32x8 {
            lo: f32x4_add(self.lo, o.lo),
            hi: f32x4_add(self.hi, o.hi),
        }
    }

    /// ggml's `hsum_float_8`: `(l0+l4 + l2+l6) + (l1+l5 + l3+l7)`.
    #[inline(always)]
    pub fn hsum(self) -> f32 {
        let s = f32x4_add(self.lo, self.hi);
        let s = f32x4_add(s, i32x4_shuffle::<2, 3, 2, 3>(s, s));
        f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Integer lanes.

/// Adjacent pair sums of 8 bytes' products (`p`: bytes 0..8, `q`: bytes 8..16) -> sums of 4.
#[inline(always)]
fn pairs_to_quads(p: v128, q: v128) -> v128 {
    i32x4_add(
        i32x4_shuffle::<0, 2, 4, 6>(p, q),
        i32x4_shuffle::<1, 3, 5, 7>(p, q),
    )
}

/// Pair accumulators of a 32-byte lane group: `p[g]` holds adjacent pair sums of bytes
/// `8g..8g+8`; `finish` turns them into the 8 AVX2 lanes (sums of 4) as two i32x4.
#[derive(Clone, Copy)]
struct Pairs32 {
    p: [v128; 4],
}

impl Pairs32 {
    #[inline(always)]
    fn new() -> Self {
        Pairs32 {
            p: [i32x4_splat(0); 4],
        }
    }

    /// Adds `Σ (w·s)·y` pairs for 32 bytes: weights `w0|w1` (unsigned, small enough that `w·s`
    /// fits i16), activations `y0|y1` (signed), scale `s` (i16 splat).
    #[inline(always)]
    fn add_scaled(&mut self, (w0, w1): (v128, v128), s: v128, (y0, y1): (v128, v128)) {
        let e = |v| i16x8_extend_low_u8x16(v);
        let f = |v| i16x8_extend_high_u8x16(v);
        let g = |v| i16x8_extend_low_i8x16(v);
        let h = |v| i16x8_extend_high_i8x16(v);
        let d = |w, y| i32x4_dot_i16x8(i16x8_mul(w, s), y);
        self.p[0] = i32x4_add(self.p[0], d(e(w0), g(y0)));
        self.p[1] = i32x4_add(self.p[1], d(f(w0), h(y0)));
        self.p[2] = i32x4_add(self.p[2], d(e(w1), g(y1)));
        self.p[3] = i32x4_add(self.p[3], d(f(w1), h(y1)));
    }

    #[inline(always)]
    fn finish(self) -> (v128, v128) {
        (
            pairs_to_quads(self.p[0], self.p[1]),
            pairs_to_quads(self.p[2], self.p[3]),
        )
    }
}

/// Sum of the 4 i32 lanes.
#[inline(always)]
fn hsum_i32(v: v128) -> i32 {
    i32x4_extract_lane::<0>(v)
        + i32x4_extract_lane::<1>(v)
        + i32x4_extract_lane::<2>(v)
        + i32x4_extract_lane::<3>(v)
}

/// Nibbles of 16 bytes: `(low, high)`, each 16 values 0..=15.
#[inline(always)]
fn nibbles(q: v128) -> (v128, v128) {
    let m4 = u8x16_splat(0x0f);
    (v128_and(q, m4), v128_and(u16x8_shr(q, 4), m4))
}

/// Bit `i` of `x` -> byte `i` = 0xff when set, 0x00 when clear (bits 0..16, 16..32).
#[inline(always)]
fn bytes_from_bits_32(x: u32) -> (v128, v128) {
    let v = u32x4_splat(x);
    let lo = i8x16_shuffle::<0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1>(v, v);
    let hi = i8x16_shuffle::<2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3>(v, v);
    let bit = u8x16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    (
        i8x16_eq(v128_and(lo, bit), bit),
        i8x16_eq(v128_and(hi, bit), bit),
    )
}

// ---------------------------------------------------------------------------------------------
// Quantized dots, each in its AVX2 twin's order.

/// One 32-value activation block (Q8_0 or Q8_1), prepared once for every weight row it meets:
/// its bytes sign-extended to i16 (bytes 0..8, 8..16, 16..24, 24..32) and its f16 fields as f32.
#[derive(Clone, Copy)]
pub(super) struct Act32 {
    e: [v128; 4],
    d: f32,
    /// Q8_1's `s = d·Σq` (0 for Q8_0).
    s: f32,
}

pub(super) trait ActBlock32 {
    fn prepare(&self, t: &[f32]) -> Act32;
}

#[inline(always)]
fn extend_i8x32(qs: &[i8; 32]) -> [v128; 4] {
    let (a, b) = ld2::<i8, 16>(qs);
    [
        i16x8_extend_low_i8x16(a),
        i16x8_extend_high_i8x16(a),
        i16x8_extend_low_i8x16(b),
        i16x8_extend_high_i8x16(b),
    ]
}

impl ActBlock32 for BlockQ8_0 {
    #[inline(always)]
    fn prepare(&self, t: &[f32]) -> Act32 {
        Act32 {
            e: extend_i8x32(&self.qs),
            d: f16x(t, self.d),
            s: 0.0,
        }
    }
}

impl ActBlock32 for BlockQ8_1 {
    #[inline(always)]
    fn prepare(&self, t: &[f32]) -> Act32 {
        Act32 {
            e: extend_i8x32(&self.qs),
            d: f16x(t, self.d),
            s: f16x(t, self.s),
        }
    }
}

/// The weight side of a 32-value block format.
pub(super) trait WeightBlock32 {
    /// The activation format it is dotted with.
    type Act: ActBlock32;
    /// Whether the dot adds the blocks' `m·s` terms (Q4_1, Q5_1).
    const HAS_MIN: bool;
    /// The 32 values as signed bytes: elements 0..16, 16..32 (AVX2's two 128-bit halves).
    fn values(&self) -> (v128, v128);
    fn d(&self) -> [u8; 2];
    /// The `m` field (formats with `HAS_MIN`).
    fn m(&self) -> [u8; 2] {
        [0; 2]
    }
}

impl WeightBlock32 for BlockQ4_0 {
    type Act = BlockQ8_0;
    const HAS_MIN: bool = false;
    #[inline(always)]
    fn values(&self) -> (v128, v128) {
        let (lo, hi) = nibbles(ld(&self.qs));
        let eight = i8x16_splat(8);
        (i8x16_sub(lo, eight), i8x16_sub(hi, eight))
    }
    fn d(&self) -> [u8; 2] {
        self.d
    }
}

impl WeightBlock32 for BlockQ4_1 {
    type Act = BlockQ8_1;
    const HAS_MIN: bool = true;
    #[inline(always)]
    fn values(&self) -> (v128, v128) {
        nibbles(ld(&self.qs))
    }
    fn d(&self) -> [u8; 2] {
        self.d
    }
    fn m(&self) -> [u8; 2] {
        self.m
    }
}

impl WeightBlock32 for BlockQ5_0 {
    type Act = BlockQ8_0;
    const HAS_MIN: bool = false;
    /// `(nibble | bit4 << 4) - 16`: the nibble when bit 4 is set, `nibble | 0xf0` (as i8) when not.
    #[inline(always)]
    fn values(&self) -> (v128, v128) {
        let f0 = u8x16_splat(0xf0);
        let (b0, b1) = bytes_from_bits_32(u32::from_le_bytes(self.qh));
        let (lo, hi) = nibbles(ld(&self.qs));
        (
            v128_or(lo, v128_andnot(f0, b0)),
            v128_or(hi, v128_andnot(f0, b1)),
        )
    }
    fn d(&self) -> [u8; 2] {
        self.d
    }
}

impl WeightBlock32 for BlockQ5_1 {
    type Act = BlockQ8_1;
    const HAS_MIN: bool = true;
    #[inline(always)]
    fn values(&self) -> (v128, v128) {
        let bit4 = u8x16_splat(0x10);
        let (b0, b1) = bytes_from_bits_32(u32::from_le_bytes(self.qh));
        let (lo, hi) = nibbles(ld(&self.qs));
        (
            v128_or(lo, v128_and(b0, bit4)),
            v128_or(hi, v128_and(b1, bit4)),
        )
    }
    fn d(&self) -> [u8; 2] {
        self.d
    }
    fn m(&self) -> [u8; 2] {
        self.m
    }
}

impl WeightBlock32 for BlockQ8_0 {
    type Act = BlockQ8_0;
    const HAS_MIN: bool = false;
    #[inline(always)]
    fn values(&self) -> (v128, v128) {
        ld2::<i8, 16>(&self.qs)
    }
    fn d(&self) -> [u8; 2] {
        self.d
    }
}

/// The 8 AVX2 lanes of one block's integer dot (lane k: the 4 products of elements 4k..4k+4),
/// from the weight values (`w0`: elements 0..16, `w1`: 16..32) and the prepared activations.
#[inline(always)]
fn lanes32(w0: v128, w1: v128, a: &Act32) -> (v128, v128) {
    let d = |w, e| i32x4_dot_i16x8(w, e);
    let lo = pairs_to_quads(
        d(i16x8_extend_low_i8x16(w0), a.e[0]),
        d(i16x8_extend_high_i8x16(w0), a.e[1]),
    );
    let hi = pairs_to_quads(
        d(i16x8_extend_low_i8x16(w1), a.e[2]),
        d(i16x8_extend_high_i8x16(w1), a.e[3]),
    );
    (lo, hi)
}

/// The 32-value block dots of `R` weight rows with one activation row: per row one 8-lane
/// accumulator, `acc += d·lanes` per block (unfused, see the module comment), ggml's horizontal
/// sum, plus the `m·s` terms summed in block order for the formats with a min. Each row's
/// arithmetic is the same whatever `R`, so the rows agree bit for bit with `R = 1`; `R = 2`
/// prepares each activation block once for two rows.
#[inline(always)]
fn dot_rows<const R: usize, W: WeightBlock32>(w: [&[W]; R], x: &[W::Act]) -> [f32; R] {
    let t = f16_table();
    let n = x.len();
    let mut acc = [F32x8::ZERO; R];
    let mut summs = [0.0f32; R];
    for (i, bx) in x.iter().enumerate() {
        let a = bx.prepare(t);
        for r in 0..R {
            let bw = &w[r][i];
            let (v0, v1) = bw.values();
            let (lo, hi) = lanes32(v0, v1, &a);
            let d = f32x4_splat(f16x(t, bw.d()) * a.d);
            acc[r].lo = f32x4_add(acc[r].lo, f32x4_mul(d, f32x4_convert_i32x4(lo)));
            acc[r].hi = f32x4_add(acc[r].hi, f32x4_mul(d, f32x4_convert_i32x4(hi)));
            if W::HAS_MIN {
                // m·s is a product of two f16, exact in f32: AVX2's fused form gives the same.
                summs[r] += f16x(t, bw.m()) * a.s;
            }
        }
    }
    debug_assert!(w.iter().all(|r| r.len() == n));
    let mut out = [0.0f32; R];
    for r in 0..R {
        out[r] = if W::HAS_MIN {
            acc[r].hsum() + summs[r]
        } else {
            acc[r].hsum()
        };
    }
    out
}

/// The min term of a Q4_K/Q5_K super-block: `Σ m·(bsum pair)`, exact.
#[inline(always)]
fn k_mins(mn: &[u8; 8], bx: &BlockQ8K) -> i32 {
    let mut summ = 0i32;
    for (s, &m) in mn.iter().enumerate() {
        summ += m as i32 * (bx.bsum(2 * s) + bx.bsum(2 * s + 1));
    }
    summ
}

/// Integer lanes of one Q4_K super-block: per 64-value chunk, low nibbles (sub-block 2j) and
/// high nibbles (2j+1) times their 6-bit scales, summed in AVX2's 8 lanes.
#[inline(always)]
fn q4_k_lanes(bw: &BlockQ4K, bx: &BlockQ8K, sc: &[u8; 8]) -> (v128, v128) {
    let mut p = Pairs32::new();
    let (qc, _) = bw.qs.as_chunks::<32>();
    let (yc, _) = bx.qs.as_chunks::<32>();
    for (j, (q, y)) in qc.iter().zip(yc.chunks_exact(2)).enumerate() {
        let (q0, q1) = ld2::<u8, 16>(q);
        let ((l0, h0), (l1, h1)) = (nibbles(q0), nibbles(q1));
        p.add_scaled(
            (l0, l1),
            i16x8_splat(sc[2 * j] as i16),
            ld2::<i8, 16>(&y[0]),
        );
        p.add_scaled(
            (h0, h1),
            i16x8_splat(sc[2 * j + 1] as i16),
            ld2::<i8, 16>(&y[1]),
        );
    }
    p.finish()
}

fn dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let t = f16_table();
    let mut acc = Acc8::new();
    let mut acc_m = 0.0f32;
    for (bw, bx) in w.iter().zip(x) {
        let yd = f32::from_le_bytes(bx.d);
        let (sc, mn) = q4_k::scales_mins_k4(&bw.scales);
        acc_m += yd * f16x(t, bw.dmin) * k_mins(&mn, bx) as f32;
        let (lo, hi) = q4_k_lanes(bw, bx, &sc);
        acc = acc.fmadd_i32(yd * f16x(t, bw.d), lo, hi);
    }
    acc.hsum() - acc_m
}

/// Q4_K integer chunk sums (see `q4_k::chunk_sums`), for the repacked orders.
#[inline(always)]
fn q4_k_chunk_sums(bw: &BlockQ4K, bx: &BlockQ8K) -> ([i32; 4], [i32; 4]) {
    let (sc, mn) = q4_k::scales_mins_k4(&bw.scales);
    let mut dots = [0i32; 4];
    let (qc, _) = bw.qs.as_chunks::<32>();
    let (yc, _) = bx.qs.as_chunks::<32>();
    for (j, (q, y)) in qc.iter().zip(yc.chunks_exact(2)).enumerate() {
        let mut p = Pairs32::new();
        let (q0, q1) = ld2::<u8, 16>(q);
        let ((l0, h0), (l1, h1)) = (nibbles(q0), nibbles(q1));
        p.add_scaled(
            (l0, l1),
            i16x8_splat(sc[2 * j] as i16),
            ld2::<i8, 16>(&y[0]),
        );
        p.add_scaled(
            (h0, h1),
            i16x8_splat(sc[2 * j + 1] as i16),
            ld2::<i8, 16>(&y[1]),
        );
        let s = i32x4_add(i32x4_add(p.p[0], p.p[1]), i32x4_add(p.p[2], p.p[3]));
        dots[j] = hsum_i32(s);
    }
    (dots, q4_k::chunk_min_sums(&mn, &q4_k::sub_block_sums(bx)))
}

/// Q5_K: as Q4_K, the 5th bit of each value from `qh` by a moving bit mask.
fn dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let t = f16_table();
    let mut acc = Acc8::new();
    let mut acc_m = 0.0f32;
    let bit4 = u8x16_splat(0x10);
    for (bw, bx) in w.iter().zip(x) {
        let yd = f32::from_le_bytes(bx.d);
        let (sc, mn) = q4_k::scales_mins_k4(&bw.scales);
        acc_m += yd * f16x(t, bw.dmin) * k_mins(&mn, bx) as f32;
        let (qh0, qh1) = ld2::<u8, 16>(&bw.qh);
        let high = |bit: v128| {
            let h = |qh| v128_and(i8x16_eq(v128_and(qh, bit), bit), bit4);
            (h(qh0), h(qh1))
        };
        let mut p = Pairs32::new();
        let (qc, _) = bw.qs.as_chunks::<32>();
        let (yc, _) = bx.qs.as_chunks::<32>();
        for (j, (q, y)) in qc.iter().zip(yc.chunks_exact(2)).enumerate() {
            let (q0, q1) = ld2::<u8, 16>(q);
            let ((l0, h0), (l1, h1)) = (nibbles(q0), nibbles(q1));
            let (b0, b1) = high(u8x16_splat(1u8 << (2 * j)));
            let (c0, c1) = high(u8x16_splat(1u8 << (2 * j + 1)));
            p.add_scaled(
                (v128_or(l0, b0), v128_or(l1, b1)),
                i16x8_splat(sc[2 * j] as i16),
                ld2::<i8, 16>(&y[0]),
            );
            p.add_scaled(
                (v128_or(h0, c0), v128_or(h1, c1)),
                i16x8_splat(sc[2 * j + 1] as i16),
                ld2::<i8, 16>(&y[1]),
            );
        }
        let (lo, hi) = p.finish();
        acc = acc.fmadd_i32(yd * f16x(t, bw.d), lo, hi);
    }
    acc.hsum() - acc_m
}

/// Q6_K: unsigned 6-bit values (`q + 32`) times signed scales; the `-32` offset is folded into
/// the integer lanes as AVX2 places it (lane l: sub-blocks 2l and 2l+1).
fn dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let t = f16_table();
    let mut acc = Acc8::new();
    let m4 = u8x16_splat(0x0f);
    let m3 = u8x16_splat(0x03);
    let m3_2 = u8x16_splat(0x0c);
    let m3_4 = u8x16_splat(0x30);
    let m3_6 = u8x16_splat(0xc0);
    for (bw, bx) in w.iter().zip(x) {
        let offs: [i32; 8] = std::array::from_fn(|l| {
            -32 * (bw.scales[2 * l] as i32 * bx.bsum(2 * l)
                + bw.scales[2 * l + 1] as i32 * bx.bsum(2 * l + 1))
        });
        let mut p = Pairs32::new();
        let (qlc, _) = bw.ql.as_chunks::<32>();
        let (qhc, _) = bw.qh.as_chunks::<32>();
        let (yc, _) = bx.qs.as_chunks::<32>();
        for (((ql, qh), y), sc) in qlc
            .chunks_exact(2)
            .zip(qhc)
            .zip(yc.chunks_exact(4))
            .zip(bw.scales.chunks_exact(8))
        {
            let (a0, a1) = ld2::<u8, 16>(&ql[0]);
            let (b0, b1) = ld2::<u8, 16>(&ql[1]);
            let (h0, h1) = ld2::<u8, 16>(qh);
            // Per 16-byte half: the four 6-bit value groups of this 128-value half.
            let values = |a: v128, b: v128, h: v128| {
                [
                    v128_or(v128_and(a, m4), i16x8_shl(v128_and(h, m3), 4)),
                    v128_or(v128_and(b, m4), i16x8_shl(v128_and(h, m3_2), 2)),
                    v128_or(v128_and(u16x8_shr(a, 4), m4), v128_and(h, m3_4)),
                    v128_or(
                        v128_and(u16x8_shr(b, 4), m4),
                        u16x8_shr(v128_and(h, m3_6), 2),
                    ),
                ]
            };
            let (v0, v1) = (values(a0, b0, h0), values(a1, b1, h1));
            for k in 0..4 {
                let (y0, y1) = ld2::<i8, 16>(&y[k]);
                // Bytes 0..16 take scale 2k, bytes 16..32 scale 2k+1 (AVX2's 128-bit halves).
                let (s0, s1) = (
                    i16x8_splat(sc[2 * k] as i16),
                    i16x8_splat(sc[2 * k + 1] as i16),
                );
                let d = |v, s, y| i32x4_dot_i16x8(i16x8_mul(v, s), y);
                p.p[0] = i32x4_add(
                    p.p[0],
                    d(
                        i16x8_extend_low_u8x16(v0[k]),
                        s0,
                        i16x8_extend_low_i8x16(y0),
                    ),
                );
                p.p[1] = i32x4_add(
                    p.p[1],
                    d(
                        i16x8_extend_high_u8x16(v0[k]),
                        s0,
                        i16x8_extend_high_i8x16(y0),
                    ),
                );
                p.p[2] = i32x4_add(
                    p.p[2],
                    d(
                        i16x8_extend_low_u8x16(v1[k]),
                        s1,
                        i16x8_extend_low_i8x16(y1),
                    ),
                );
                p.p[3] = i32x4_add(
                    p.p[3],
                    d(
                        i16x8_extend_high_u8x16(v1[k]),
                        s1,
                        i16x8_extend_high_i8x16(y1),
                    ),
                );
            }
        }
        let (lo, hi) = p.finish();
        let (o0, o1) = ld2::<i32, 4>(&offs);
        let d = f32::from_le_bytes(bx.d) * f16x(t, bw.d);
        acc = acc.fmadd_i32(d, i32x4_add(lo, o0), i32x4_add(hi, o1));
    }
    acc.hsum()
}

// ---------------------------------------------------------------------------------------------
// Float dots: 32 elements per step in 4 accumulators, then 8 at a time into the first, then
// the scalar spec on the tail (AVX2's `dot_lanes`).

/// `step(acc, a, b)` over 8-element vectors of `w`/`x` (`es` bytes each; `load` turns 8
/// elements into an accumulator operand). Returns the 4 accumulators (AVX2's `dot_lanes`
/// reduces them as `(a0 + a1) + (a2 + a3)`) and the elements done.
#[inline(always)]
fn dot_lanes<A: Copy, V>(
    w: &[u8],
    x: &[u8],
    es: usize,
    zero: A,
    load: impl Fn(&[u8]) -> V,
    step: impl Fn(A, V, V) -> A,
) -> ([A; 4], usize) {
    let mut acc = [zero; 4];
    let (w32, x32) = (w.chunks_exact(32 * es), x.chunks_exact(32 * es));
    let (wr, xr) = (w32.remainder(), x32.remainder());
    for (a, b) in w32.zip(x32) {
        for (k, acc_k) in acc.iter_mut().enumerate() {
            let r = k * 8 * es..(k + 1) * 8 * es;
            *acc_k = step(*acc_k, load(&a[r.clone()]), load(&b[r]));
        }
    }
    let (w8, x8) = (wr.chunks_exact(8 * es), xr.chunks_exact(8 * es));
    let done = (w.len() - w8.remainder().len()) / es;
    for (a, b) in w8.zip(x8) {
        acc[0] = step(acc[0], load(a), load(b));
    }
    (acc, done)
}

/// 16 bytes at the start of `c` as a vector (`dot_lanes` only passes whole 8-element chunks).
#[inline(always)]
fn ld_prefix(c: &[u8]) -> v128 {
    let (h, _) = c.as_chunks::<16>();
    ld(&h[0])
}

/// Unfused (see the module comment): each product rounded to f32 before its add.
fn dot_f32(n: usize, w: &[u8], x: &[u8]) -> f32 {
    let load = |c: &[u8]| {
        let (v, _) = c.as_chunks::<16>();
        F32x8 {
            lo: ld(&v[0]),
            hi: ld(&v[1]),
        }
    };
    let (acc, done) = dot_lanes(w, x, 4, F32x8::ZERO, load, |acc, a, b| acc.mul_add(a, b));
    let s = acc[0].add(acc[1]).add(acc[2].add(acc[3])).hsum();
    s + float::vec_dot_f32(n - done, &w[done * 4..], &x[done * 4..])
}

/// The f16 and bf16 dots: products of two such values are exact in f32, so a plain multiply
/// and add equal AVX2's fused ones.
fn dot_half(es: usize, w: &[u8], x: &[u8], load: impl Fn(&[u8]) -> F32x8) -> (f32, usize) {
    let (acc, done) = dot_lanes(w, x, es, F32x8::ZERO, load, |acc, a, b| acc.mul_add(a, b));
    (acc[0].add(acc[1]).add(acc[2].add(acc[3])).hsum(), done)
}

fn dot_f16(n: usize, w: &[u8], x: &[u8]) -> f32 {
    let load = |c: &[u8]| {
        let (lo, hi) = f16x8_to_f32(ld_prefix(c));
        F32x8 { lo, hi }
    };
    let (s, done) = dot_half(2, w, x, load);
    s + float::vec_dot_f16(n - done, &w[done * 2..], &x[done * 2..])
}

fn dot_bf16(n: usize, w: &[u8], x: &[u8]) -> f32 {
    let load = |c: &[u8]| {
        let h = ld_prefix(c);
        F32x8 {
            lo: i32x4_shl(u32x4_extend_low_u16x8(h), 16),
            hi: i32x4_shl(u32x4_extend_high_u16x8(h), 16),
        }
    };
    let (s, done) = dot_half(2, w, x, load);
    s + float::vec_dot_bf16(n - done, &w[done * 2..], &x[done * 2..])
}

// ---------------------------------------------------------------------------------------------
// Activation quantizers (bit-exact with the scalar ones: `127/amax`, ties to even).

/// Quantizes 32 floats to `qs`; returns `(d, sum of q)`.
#[inline(always)]
fn quantize_block_q8(x: &[f32], qs: &mut [i8; 32]) -> (f32, i32) {
    let (xc, _) = x.as_chunks::<4>();
    let v: [v128; 8] = std::array::from_fn(|k| ld(&xc[k]));
    let m = v
        .iter()
        .fold(f32x4_splat(0.0), |m, &vk| f32x4_max(m, f32x4_abs(vk)));
    let m = f32x4_max(m, i32x4_shuffle::<2, 3, 2, 3>(m, m));
    let amax = f32x4_extract_lane::<0>(m).max(f32x4_extract_lane::<1>(m));
    let d = amax / 127.0;
    let id = f32x4_splat(if amax != 0.0 { 127.0 / amax } else { 0.0 });
    let q = v.map(|vk| i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(vk, id))));
    let s = (1..8).fold(q[0], |s, k| i32x4_add(s, q[k]));
    let (qc, _) = qs.as_chunks_mut::<16>();
    for (h, out) in qc.iter_mut().enumerate() {
        let a = i16x8_narrow_i32x4(q[4 * h], q[4 * h + 1]);
        let b = i16x8_narrow_i32x4(q[4 * h + 2], q[4 * h + 3]);
        st(out, i8x16_narrow_i16x8(a, b));
    }
    (d, hsum_i32(s))
}

fn quantize_q8_0(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ8_0>(dst)) {
        let (d, _) = quantize_block_q8(x, &mut b.qs);
        b.d = f16_le_from(d);
    }
}

fn quantize_q8_1(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ8_1>(dst)) {
        let (d, sum) = quantize_block_q8(x, &mut b.qs);
        b.d = f16_le_from(d);
        b.s = f16_le_from(sum as f32 * d);
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points for the dispatch table (safe: SIMD128 is a build-time feature, always present).

/// The dot of one row of a 32-value block format `W` with its activation row.
pub(super) fn vec_dot_32<W: WeightBlock32 + ByteBlock>(n: usize, w: &[u8], x: &[u8]) -> f32
where
    W::Act: ByteBlock,
{
    debug_assert_eq!(
        (w.len(), x.len()),
        (n / QK * size_of::<W>(), n / QK * size_of::<W::Act>())
    );
    let [d] = dot_rows::<1, W>([as_blocks(w)], as_blocks(x));
    d
}

/// [`vec_dot_32`] of two weight rows with one activation row.
pub(super) fn vec_dot_32_x2<W: WeightBlock32 + ByteBlock>(
    n: usize,
    w0: &[u8],
    w1: &[u8],
    x: &[u8],
) -> [f32; 2]
where
    W::Act: ByteBlock,
{
    let (wb, xb) = (n / QK * size_of::<W>(), n / QK * size_of::<W::Act>());
    debug_assert_eq!((w0.len(), w1.len(), x.len()), (wb, wb, xb));
    dot_rows::<2, W>([as_blocks(w0), as_blocks(w1)], as_blocks(x))
}

pub(super) fn vec_dot_q4_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 144, n / QK_K * 292));
    dot_q4_k_q8_k(as_blocks(w), as_blocks(x))
}

/// The repacked orders' float part is `q4_k::fold_repacked` (scalar `mul_add`: libm `fmaf` on
/// wasm, two per super-block or chunk); only the integer chunk sums are SIMD.
pub(super) fn vec_dot_q4_k_q8_k_gemv(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 144, n / QK_K * 292));
    q4_k::fold_repacked(as_blocks(w), as_blocks(x), false, q4_k_chunk_sums)
}

pub(super) fn vec_dot_q4_k_q8_k_gemm(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 144, n / QK_K * 292));
    q4_k::fold_repacked(as_blocks(w), as_blocks(x), true, q4_k_chunk_sums)
}

pub(super) fn vec_dot_q5_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 176, n / QK_K * 292));
    dot_q5_k_q8_k(as_blocks(w), as_blocks(x))
}

pub(super) fn vec_dot_q6_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 210, n / QK_K * 292));
    dot_q6_k_q8_k(as_blocks(w), as_blocks(x))
}

pub(super) fn vec_dot_f32(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n * 4, n * 4));
    dot_f32(n, w, x)
}

pub(super) fn vec_dot_f16(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n * 2, n * 2));
    dot_f16(n, w, x)
}

pub(super) fn vec_dot_bf16(n: usize, w: &[u8], x: &[u8]) -> f32 {
    debug_assert_eq!((w.len(), x.len()), (n * 2, n * 2));
    dot_bf16(n, w, x)
}

pub(super) fn quantize_row_q8_0(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(dst.len(), src.len() / QK * 34);
    quantize_q8_0(src, dst)
}

pub(super) fn quantize_row_q8_1(src: &[f32], dst: &mut [u8]) {
    debug_assert_eq!(dst.len(), src.len() / QK * 36);
    quantize_q8_1(src, dst)
}

/// f32 -> f16 -> f32 in place, 4 lanes at a time (the tail through the scalar spec).
pub(super) fn round_f16_inplace(x: &mut [f32]) {
    let (body, tail) = x.as_chunks_mut::<4>();
    for c in body {
        st(c, round_f16_f32x4(ld(c)));
    }
    float::round_f16_inplace(tail);
}

/// `y = f16(fma(x, a, y))`, 4 lanes at a time (the FMA as [`Round32::fma4`]).
pub(super) fn mad_round_f16(y: &mut [f32], a: f32, x: &[f32]) {
    let n = y.len().min(x.len());
    let (yc, _) = y[..n].as_chunks_mut::<4>();
    let (xc, _) = x[..n].as_chunks::<4>();
    let av = f64x2_splat(a as f64);
    let r = Round32::new();
    for (c, v) in yc.iter_mut().zip(xc) {
        st(c, round_f16_f32x4(r.fma4(ld(v), av, ld(c))));
    }
    let done = n & !3;
    float::mad_round_f16(&mut y[done..n], a, &x[done..n]);
}

/// f16 values -> f32, 8 at a time (bit-exact with `half`'s conversion).
pub(super) fn f16_to_f32_row(src: &[half::f16], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (sc, _) = src[..n].as_chunks::<8>();
    let (dc, _) = dst[..n].as_chunks_mut::<4>();
    for (s, d) in sc.iter().zip(dc.chunks_exact_mut(2)) {
        let (lo, hi) = f16x8_to_f32(ld(s));
        st(&mut d[0], lo);
        st(&mut d[1], hi);
    }
    let done = n & !7;
    for (d, s) in dst[done..n].iter_mut().zip(&src[done..n]) {
        *d = s.to_f32();
    }
}
