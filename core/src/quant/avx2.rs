//! AVX2 + FMA (+ F16C) twins of the scalar kernels: the decode hot loop.
//!
//! Integer products inside a block are exact (`maddubs`/`madd`), so these differ from the scalar
//! spec only in the order float terms are summed; the activation quantizers are bit-exact with
//! the scalar ones. Facts taken from llama.cpp
//! `ggml/src/ggml-cpu/arch/x86/quants.c` (nibble unpacking, `bytes_from_bits_32`, the
//! `sign`/`maddubs` trick for signed x signed bytes); the code is our own.
//!
//! Each `pub(super)` entry point is safe: it re-checks the cached CPU detection (one atomic load
//! per row) and falls back to the scalar kernel, so calling it on an old CPU is never UB.

use std::arch::x86_64::*;

use super::blocks::{
    as_blocks, as_blocks_mut, f16_le_from, BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0,
    BlockQ5_1, BlockQ6K, BlockQ8K, BlockQ8_0, BlockQ8_1, QK,
};
use super::dispatch::{has_avx2, pair_sums};
use super::{float, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0, q8_1, q8_k, QK_K};

// ---------------------------------------------------------------------------------------------
// Helpers (no memory access, so safe to call from code compiled with the same features).

/// Horizontal sum of 8 f32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// Horizontal sum of 8 i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// Every f16 bit pattern as f32, built at compile time (256 KiB, as ggml's x86 table).
static F16_TO_F32: [f32; 1 << 16] = {
    let mut t = [0.0f32; 1 << 16];
    let mut i = 0;
    while i < t.len() {
        t[i] = half::f16::from_bits(i as u16).to_f32_const();
        i += 1;
    }
    t
};

/// f16 field -> f32 by table. Not `_mm_cvtph_ps`: a 16-bit load into an xmm register makes LLVM
/// emit `vpinsrw`, which merges into a live register (often the accumulator) and so chains
/// every block behind the previous block's FMA.
#[inline(always)]
pub(super) fn f16x(b: [u8; 2]) -> f32 {
    F16_TO_F32[u16::from_le_bytes(b) as usize]
}

/// 16 bytes of nibbles -> 32 bytes: low nibbles in bytes 0..16, high nibbles in bytes 16..32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn unpack_nibbles(qs: &[u8; 16]) -> __m256i {
    // SAFETY: qs is exactly 16 bytes; loadu needs no alignment.
    let t = unsafe { _mm_loadu_si128(qs.as_ptr().cast()) };
    let v = _mm256_set_m128i(_mm_srli_epi16::<4>(t), t);
    _mm256_and_si256(v, _mm256_set1_epi8(0x0f))
}

/// Bit `i` of `x` -> byte `i` = 0xff when set, 0x00 when clear.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn bytes_from_bits_32(x: u32) -> __m256i {
    let t = _mm256_set1_epi32(x as i32);
    let shuf = _mm256_set_epi64x(
        0x0303_0303_0303_0303,
        0x0202_0202_0202_0202,
        0x0101_0101_0101_0101,
        0,
    );
    let bytes = _mm256_shuffle_epi8(t, shuf);
    let all_but_bit_i = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
    _mm256_cmpeq_epi8(
        _mm256_or_si256(bytes, all_but_bit_i),
        _mm256_set1_epi64x(-1),
    )
}

/// `acc` plus, per 32-bit lane, the sum of its four products of unsigned `a` and signed `b`
/// bytes, by the [`pair_sums`] choice `P`. Exact while each pair of products fits i16 (true
/// for every pairing here: a 4-bit or sign-moved side), so every `P` gives the same lanes.
#[inline(always)]
pub(super) fn dot_u8i8<const P: u8>(acc: __m256i, a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: inlined only into kernels compiled with avx2 and, for the VNNI choices, with
    // avxvnni or avx512vnni + avx512vl (`with_pair_sums!`), after pair_sums_isa() found them.
    unsafe {
        match P {
            pair_sums::AVX_VNNI => _mm256_dpbusd_avx_epi32(acc, a, b),
            pair_sums::AVX512_VNNI => _mm256_dpbusd_epi32(acc, a, b),
            _ => {
                let p16 = _mm256_maddubs_epi16(a, b);
                _mm256_add_epi32(acc, _mm256_madd_epi16(p16, _mm256_set1_epi16(1)))
            }
        }
    }
}

/// Sums of 4 adjacent products of unsigned `a` and signed `b` bytes, as 8 f32 lanes.
#[inline(always)]
fn mul_sum_us8<const P: u8>(a: __m256i, b: __m256i) -> __m256 {
    // SAFETY: inlined only into avx2 kernels (see dot_u8i8).
    unsafe { _mm256_cvtepi32_ps(dot_u8i8::<P>(_mm256_setzero_si256(), a, b)) }
}

/// As `mul_sum_us8` for signed x signed bytes: `|a| * (b * sign(a))`.
#[inline(always)]
fn mul_sum_i8<const P: u8>(a: __m256i, b: __m256i) -> __m256 {
    // SAFETY: inlined only into avx2 kernels (see dot_u8i8).
    unsafe { mul_sum_us8::<P>(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a)) }
}

/// Runs `kernel::<P>(args)` compiled for this CPU's [`pair_sums`] choice `P`, or `fallback`
/// on a CPU without AVX2. The args are locals of the same names and types.
macro_rules! with_pair_sums {
    ($kernel:ident($($arg:ident: $ty:ty),*) -> $ret:ty, $fallback:expr) => {{
        use $crate::quant::dispatch::{has_avx2, pair_sums, pair_sums_isa};
        #[target_feature(enable = "avx2,fma,f16c")]
        fn maddubs($($arg: $ty),*) -> $ret {
            $kernel::<{ pair_sums::MADDUBS }>($($arg),*)
        }
        #[target_feature(enable = "avx2,fma,f16c,avxvnni")]
        fn avx_vnni($($arg: $ty),*) -> $ret {
            $kernel::<{ pair_sums::AVX_VNNI }>($($arg),*)
        }
        #[target_feature(enable = "avx2,fma,f16c,avx512vnni,avx512vl")]
        fn avx512_vnni($($arg: $ty),*) -> $ret {
            $kernel::<{ pair_sums::AVX512_VNNI }>($($arg),*)
        }
        match pair_sums_isa() {
            // SAFETY: pair_sums_isa() gives AVX_VNNI only where it detected avx2, fma, f16c
            // and avxvnni, and AVX512_VNNI where it detected those and avx512vnni and
            // avx512vl: the features of the callee.
            pair_sums::AVX_VNNI => unsafe { avx_vnni($($arg),*) },
            // SAFETY: as above.
            pair_sums::AVX512_VNNI => unsafe { avx512_vnni($($arg),*) },
            // SAFETY: has_avx2() checked avx2, fma and f16c, the features of `maddubs`.
            _ if has_avx2() => unsafe { maddubs($($arg),*) },
            _ => $fallback,
        }
    }};
}
pub(super) use with_pair_sums;

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn load_i8x32(q: &[i8; 32]) -> __m256i {
    // SAFETY: q is exactly 32 bytes; loadu needs no alignment.
    unsafe { _mm256_loadu_si256(q.as_ptr().cast()) }
}

// ---------------------------------------------------------------------------------------------
// Quantized dots. Each keeps ggml's x86 accumulation order (one 8-lane accumulator, block
// scale products and scalar min terms fused the same way), so near-tie tokens fall as in llama.cpp.

/// The float part shared by the 32-value block dots: `acc += d · lanes` over the blocks
/// with one 8-lane accumulator, then ggml's horizontal sum. `block` gives each pair's combined
/// scale and its 8 exact integer lane sums as f32. Always inlined into its AVX2 callers (a
/// `target_feature` fn cannot be `inline(always)`, and a plain call would cost the hot loop).
#[inline(always)]
fn fold_blocks<W, X>(w: &[W], x: &[X], mut block: impl FnMut(&W, &X) -> (f32, __m256)) -> f32 {
    // SAFETY: only called from the `avx2,fma,f16c` dot kernels below, which the dispatch runs
    // after has_avx2() confirmed those features; these intrinsics need no more.
    unsafe {
        let mut acc = _mm256_setzero_ps();
        for (bw, bx) in w.iter().zip(x) {
            let (d, lanes) = block(bw, bx);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), lanes, acc);
        }
        hsum_ps(acc)
    }
}

/// Q4_0's 32 values as signed bytes: nibble - 8.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q4_0_values(b: &BlockQ4_0) -> __m256i {
    _mm256_sub_epi8(unpack_nibbles(&b.qs), _mm256_set1_epi8(8))
}

/// Q5_0's 32 values as signed bytes: (nibble | bit4 << 4) - 16, which is the nibble when bit4
/// is set and nibble | 0xf0 (as i8) when not.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q5_0_values(b: &BlockQ5_0) -> __m256i {
    let hi = _mm256_andnot_si256(
        bytes_from_bits_32(u32::from_le_bytes(b.qh)),
        _mm256_set1_epi8(0xf0u8 as i8),
    );
    _mm256_or_si256(unpack_nibbles(&b.qs), hi)
}

/// The 5-bit values `nibble | bit4 << 4` of a Q5_0 or Q5_1 block, unsigned (Q5_0's value is
/// this minus 16).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q5_values_unsigned(qs: &[u8; 16], qh: [u8; 4]) -> __m256i {
    let hi = _mm256_and_si256(
        bytes_from_bits_32(u32::from_le_bytes(qh)),
        _mm256_set1_epi8(0x10),
    );
    _mm256_or_si256(unpack_nibbles(qs), hi)
}

// The 32-value block dots, generic over how byte products are summed (`dot_u8i8`); the
// entry points below pick the CPU's choice with `with_pair_sums!`.

/// A signed format against Q8_0 (Q4_0, Q5_0, Q8_0): `block` gives a weight block's `d` and its
/// 32 values as signed bytes.
#[inline(always)]
fn dot_signed<const P: u8, W>(
    w: &[W],
    x: &[BlockQ8_0],
    block: impl Fn(&W) -> ([u8; 2], __m256i),
) -> f32 {
    // SAFETY: inlined only into the `with_pair_sums!` kernels, compiled with avx2, fma and
    // f16c (at least) and run after the CPU check.
    unsafe {
        fold_blocks(w, x, |bw, bx| {
            let (d, values) = block(bw);
            let lanes = mul_sum_i8::<P>(values, load_i8x32(&bx.qs));
            (f16x(d) * f16x(bx.d), lanes)
        })
    }
}

/// A format with a min against Q8_1 (Q4_1, Q5_1): `block` gives a weight block's `d`, `m` and
/// 32 unsigned values; the `m·s` terms add up in their own scalar chain, as ggml's do.
#[inline(always)]
fn dot_with_min<const P: u8, W>(
    w: &[W],
    x: &[BlockQ8_1],
    block: impl Fn(&W) -> ([u8; 2], [u8; 2], __m256i),
) -> f32 {
    // SAFETY: as dot_signed.
    unsafe {
        let mut summs = 0.0f32;
        let sum = fold_blocks(w, x, |bw, bx| {
            let (d, m, values) = block(bw);
            summs = f16x(m).mul_add(f16x(bx.s), summs);
            let lanes = mul_sum_us8::<P>(values, load_i8x32(&bx.qs));
            (f16x(d) * f16x(bx.d), lanes)
        });
        sum + summs
    }
}

#[inline(always)]
fn dot_q4_0_q8_0<const P: u8>(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    // SAFETY: avx2 value helpers, inlined into the `with_pair_sums!` kernels (as dot_signed).
    unsafe { dot_signed::<P, _>(w, x, |b| (b.d, q4_0_values(b))) }
}

#[inline(always)]
fn dot_q5_0_q8_0<const P: u8>(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    // SAFETY: avx2 value helpers, inlined into the `with_pair_sums!` kernels (as dot_signed).
    unsafe { dot_signed::<P, _>(w, x, |b| (b.d, q5_0_values(b))) }
}

#[inline(always)]
fn dot_q8_0_q8_0<const P: u8>(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    // SAFETY: avx2 value helpers, inlined into the `with_pair_sums!` kernels (as dot_signed).
    unsafe { dot_signed::<P, _>(w, x, |b| (b.d, load_i8x32(&b.qs))) }
}

#[inline(always)]
fn dot_q4_1_q8_1<const P: u8>(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    // SAFETY: avx2 value helpers, inlined into the `with_pair_sums!` kernels (as dot_signed).
    unsafe { dot_with_min::<P, _>(w, x, |b| (b.d, b.m, unpack_nibbles(&b.qs))) }
}

#[inline(always)]
fn dot_q5_1_q8_1<const P: u8>(w: &[BlockQ5_1], x: &[BlockQ8_1]) -> f32 {
    // SAFETY: avx2 value helpers, inlined into the `with_pair_sums!` kernels (as dot_signed).
    unsafe { dot_with_min::<P, _>(w, x, |b| (b.d, b.m, q5_values_unsigned(&b.qs, b.qh))) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn load_u8x32(q: &[u8; 32]) -> __m256i {
    // SAFETY: q is exactly 32 bytes; loadu needs no alignment.
    unsafe { _mm256_loadu_si256(q.as_ptr().cast()) }
}

/// Q4_K: per sub-block of 32, `maddubs` (nibble x i8) then `madd` by the sub-block's 6-bit
/// scale keeps the whole super-block sum exact in i32; the min term comes from `bsums`.
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = 0.0f32;
    let m4 = _mm256_set1_epi8(0x0f);
    for (bw, bx) in w.iter().zip(x) {
        let yd = f32::from_le_bytes(bx.d);
        let (sc, mn) = q4_k::scales_mins_k4(&bw.scales);
        let mut summ = 0i32;
        for (s, &m) in mn.iter().enumerate() {
            summ += m as i32 * (bx.bsum(2 * s) + bx.bsum(2 * s + 1));
        }
        acc_m += yd * f16x(bw.dmin) * summ as f32;
        let (qc, _) = bw.qs.as_chunks::<32>();
        let (yc, _) = bx.qs.as_chunks::<32>();
        let mut sumi = _mm256_setzero_si256();
        for ((q, y), s) in qc.iter().zip(yc.chunks_exact(2)).zip(sc.chunks_exact(2)) {
            let q = load_u8x32(q);
            let lo = _mm256_and_si256(q, m4);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4);
            let p0 = _mm256_maddubs_epi16(lo, load_i8x32(&y[0]));
            let p1 = _mm256_maddubs_epi16(hi, load_i8x32(&y[1]));
            let p0 = _mm256_madd_epi16(p0, _mm256_set1_epi16(s[0] as i16));
            let p1 = _mm256_madd_epi16(p1, _mm256_set1_epi16(s[1] as i16));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        let d = _mm256_set1_ps(yd * f16x(bw.d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc) - acc_m
}

/// Q4_K integer chunk sums (see `q4_k::chunk_sums`) with `maddubs`/`madd`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q4_k_chunk_sums(bw: &BlockQ4K, bx: &BlockQ8K) -> ([i32; 4], [i32; 4]) {
    let m4 = _mm256_set1_epi8(0x0f);
    let (sc, mn) = q4_k::scales_mins_k4(&bw.scales);
    let mut dots = [0i32; 4];
    let (qc, _) = bw.qs.as_chunks::<32>();
    let (yc, _) = bx.qs.as_chunks::<32>();
    for (j, (q, y)) in qc.iter().zip(yc.chunks_exact(2)).enumerate() {
        let q = load_u8x32(q);
        let lo = _mm256_and_si256(q, m4);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(q), m4);
        let p0 = _mm256_madd_epi16(
            _mm256_maddubs_epi16(lo, load_i8x32(&y[0])),
            _mm256_set1_epi16(sc[2 * j] as i16),
        );
        let p1 = _mm256_madd_epi16(
            _mm256_maddubs_epi16(hi, load_i8x32(&y[1])),
            _mm256_set1_epi16(sc[2 * j + 1] as i16),
        );
        dots[j] = hsum_epi32(_mm256_add_epi32(p0, p1));
    }
    (dots, q4_k::chunk_min_sums(&mn, &q4_k::sub_block_sums(bx)))
}

/// `q4_k::fold_repacked` inlined here, so its `mul_add`s compile to FMA instructions.
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_k_repacked(w: &[BlockQ4K], x: &[BlockQ8K], per_chunk: bool) -> f32 {
    q4_k::fold_repacked(w, x, per_chunk, |bw, bx| q4_k_chunk_sums(bw, bx))
}

/// Q5_K: as Q4_K, with the 5th bit of each value taken from `qh` by a moving bit mask.
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = 0.0f32;
    let m4 = _mm256_set1_epi8(0x0f);
    let bit4 = _mm256_set1_epi8(0x10);
    for (bw, bx) in w.iter().zip(x) {
        let yd = f32::from_le_bytes(bx.d);
        let (sc, mn) = q4_k::scales_mins_k4(&bw.scales);
        let mut summ = 0i32;
        for (s, &m) in mn.iter().enumerate() {
            summ += m as i32 * (bx.bsum(2 * s) + bx.bsum(2 * s + 1));
        }
        acc_m += yd * f16x(bw.dmin) * summ as f32;
        let qh = load_u8x32(&bw.qh);
        let (qc, _) = bw.qs.as_chunks::<32>();
        let (yc, _) = bx.qs.as_chunks::<32>();
        let mut sumi = _mm256_setzero_si256();
        let mut bit = _mm256_set1_epi8(1);
        for ((q, y), s) in qc.iter().zip(yc.chunks_exact(2)).zip(sc.chunks_exact(2)) {
            let q = load_u8x32(q);
            let h0 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), bit4);
            bit = _mm256_add_epi8(bit, bit);
            let h1 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), bit4);
            bit = _mm256_add_epi8(bit, bit);
            let lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
            let hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(q), m4), h1);
            let p0 = _mm256_maddubs_epi16(lo, load_i8x32(&y[0]));
            let p1 = _mm256_maddubs_epi16(hi, load_i8x32(&y[1]));
            let p0 = _mm256_madd_epi16(p0, _mm256_set1_epi16(s[0] as i16));
            let p1 = _mm256_madd_epi16(p1, _mm256_set1_epi16(s[1] as i16));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        let d = _mm256_set1_ps(yd * f16x(bw.d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc) - acc_m
}

/// Q6_K: 128 values of a half super-block as unsigned 6-bit bytes (`q + 32`), in four
/// vectors of 32: low nibbles from `ql0`/`ql1` (then their high nibbles), top bits from `qh`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q6_k_values(ql0: __m256i, ql1: __m256i, qh: __m256i) -> [__m256i; 4] {
    let m4 = _mm256_set1_epi8(0x0f);
    let bits = |mask: u8| _mm256_and_si256(qh, _mm256_set1_epi8(mask as i8));
    [
        _mm256_or_si256(
            _mm256_and_si256(ql0, m4),
            _mm256_slli_epi16::<4>(bits(0x03)),
        ),
        _mm256_or_si256(
            _mm256_and_si256(ql1, m4),
            _mm256_slli_epi16::<2>(bits(0x0c)),
        ),
        _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16::<4>(ql0), m4),
            bits(0x30),
        ),
        _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16::<4>(ql1), m4),
            _mm256_srli_epi16::<2>(bits(0xc0)),
        ),
    ]
}

/// A Q6_K block's 16 signed sub-block scales widened to i16, for [`q6_k_offsets`].
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q6_k_scales16(bw: &BlockQ6K) -> __m256i {
    // SAFETY: `scales` is exactly 16 bytes; loadu needs no alignment.
    _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(bw.scales.as_ptr().cast()) })
}

/// Q6_K's `-32` offset as the starting integer lanes of a super-block's dot: lane l carries
/// sub-blocks 2l and 2l+1, as ggml's `madd` of bsums by scales places it (the lanes are
/// converted to f32 one by one, so placement matters). `scales16` is [`q6_k_scales16`];
/// |lane| <= 32 · 2 · 128 · 2048 < 2^31.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn q6_k_offsets(scales16: __m256i, bx: &BlockQ8K) -> __m256i {
    // SAFETY: `bsums` is exactly 32 bytes; loadu needs no alignment.
    let bsums = unsafe { _mm256_loadu_si256(bx.bsums.as_ptr().cast()) };
    let sums = _mm256_madd_epi16(bsums, scales16);
    _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32::<5>(sums))
}

/// Q6_K: the unsigned 6-bit values (`q + 32`) go through `maddubs`, each half-lane is scaled by
/// its sub-block's signed scale with `madd`, and the `-32` offset is `-32 * sum(sc * bsums)`,
/// folded into the integer lanes so each lane stays exact.
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (bw, bx) in w.iter().zip(x) {
        let mut sumi = q6_k_offsets(q6_k_scales16(bw), bx);
        let (qlc, _) = bw.ql.as_chunks::<32>();
        let (qhc, _) = bw.qh.as_chunks::<32>();
        let (yc, _) = bx.qs.as_chunks::<32>();
        for (((ql, qh), y), sc) in qlc
            .chunks_exact(2)
            .zip(qhc)
            .zip(yc.chunks_exact(4))
            .zip(bw.scales.chunks_exact(8))
        {
            let (ql0, ql1, qh) = (load_u8x32(&ql[0]), load_u8x32(&ql[1]), load_u8x32(qh));
            let v = q6_k_values(ql0, ql1, qh);
            for (k, vk) in v.iter().enumerate() {
                let p = _mm256_maddubs_epi16(*vk, load_i8x32(&y[k]));
                let scv = _mm256_set_m128i(
                    _mm_set1_epi16(sc[2 * k + 1] as i16),
                    _mm_set1_epi16(sc[2 * k] as i16),
                );
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scv));
            }
        }
        let d = _mm256_set1_ps(f32::from_le_bytes(bx.d) * f16x(bw.d));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc)
}

// ---------------------------------------------------------------------------------------------
// Float dots: 32 elements per step in 4 accumulators, then 8-wide, then a scalar tail.

/// Sums `f(a_chunk, b_chunk)` products over 8-element vectors of `w`/`x` (element size `es`
/// bytes), with `load` turning 8 elements at a byte chunk into 8 f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_lanes(w: &[u8], x: &[u8], es: usize, load: impl Fn(&[u8]) -> __m256) -> (f32, usize) {
    let mut acc = [_mm256_setzero_ps(); 4];
    let (w32, x32) = (w.chunks_exact(32 * es), x.chunks_exact(32 * es));
    let (wr, xr) = (w32.remainder(), x32.remainder());
    for (a, b) in w32.zip(x32) {
        for (k, acc_k) in acc.iter_mut().enumerate() {
            let r = k * 8 * es..(k + 1) * 8 * es;
            *acc_k = _mm256_fmadd_ps(load(&a[r.clone()]), load(&b[r]), *acc_k);
        }
    }
    let (w8, x8) = (wr.chunks_exact(8 * es), xr.chunks_exact(8 * es));
    let done = (w.len() - w8.remainder().len()) / es;
    for (a, b) in w8.zip(x8) {
        acc[0] = _mm256_fmadd_ps(load(a), load(b), acc[0]);
    }
    let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    (hsum_ps(s), done)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_f32(n: usize, w: &[u8], x: &[u8]) -> f32 {
    let load = |c: &[u8]| {
        debug_assert!(c.len() >= 32);
        // SAFETY: `dot_lanes` only passes chunks of 8 elements = 32 bytes; loadu has no
        // alignment requirement.
        unsafe { _mm256_loadu_ps(c.as_ptr().cast()) }
    };
    let (s, done) = dot_lanes(w, x, 4, load);
    s + float::vec_dot_f32(n - done, &w[done * 4..], &x[done * 4..])
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_f16(n: usize, w: &[u8], x: &[u8]) -> f32 {
    let load = |c: &[u8]| {
        debug_assert!(c.len() >= 16);
        // SAFETY: chunks of 8 f16 = 16 bytes; loadu has no alignment requirement.
        _mm256_cvtph_ps(unsafe { _mm_loadu_si128(c.as_ptr().cast()) })
    };
    let (s, done) = dot_lanes(w, x, 2, load);
    s + float::vec_dot_f16(n - done, &w[done * 2..], &x[done * 2..])
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_bf16(n: usize, w: &[u8], x: &[u8]) -> f32 {
    let load = |c: &[u8]| {
        debug_assert!(c.len() >= 16);
        // SAFETY: chunks of 8 bf16 = 16 bytes; loadu has no alignment requirement.
        let h = unsafe { _mm_loadu_si128(c.as_ptr().cast()) };
        _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(h)))
    };
    let (s, done) = dot_lanes(w, x, 2, load);
    s + float::vec_dot_bf16(n - done, &w[done * 2..], &x[done * 2..])
}

// ---------------------------------------------------------------------------------------------
// Activation quantizers (bit-exact with the scalar ones: `127/amax`, ties to even).

/// Largest of 8 f32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn hmax_ps(v: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)))
}

/// 32 i32 lanes (values in i8 range) as 32 bytes in order: packs interleave 128-bit lanes,
/// the permute puts the 4-byte groups back.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn pack_i8x32(i: [__m256i; 4]) -> __m256i {
    let p = _mm256_packs_epi16(
        _mm256_packs_epi32(i[0], i[1]),
        _mm256_packs_epi32(i[2], i[3]),
    );
    _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

/// Quantizes 32 floats to `qs`; returns `(d, sum of q)`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn quantize_block_q8(x: &[f32], qs: &mut [i8; 32]) -> (f32, i32) {
    debug_assert_eq!(x.len(), QK);
    let mut v = [_mm256_setzero_ps(); 4];
    for (k, vk) in v.iter_mut().enumerate() {
        // SAFETY: x has 32 elements, so x[8k..8k+8] is in bounds; loadu needs no alignment.
        *vk = unsafe { _mm256_loadu_ps(x[k * 8..k * 8 + 8].as_ptr()) };
    }
    let sign = _mm256_set1_ps(-0.0);
    let abs = |a: __m256| _mm256_andnot_ps(sign, a);
    let amax = hmax_ps(_mm256_max_ps(
        _mm256_max_ps(abs(v[0]), abs(v[1])),
        _mm256_max_ps(abs(v[2]), abs(v[3])),
    ));
    let d = amax / 127.0;
    let id = _mm256_set1_ps(if amax != 0.0 { 127.0 / amax } else { 0.0 });
    let i = v.map(|vk| {
        _mm256_cvtps_epi32(_mm256_round_ps::<
            { _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC },
        >(_mm256_mul_ps(vk, id)))
    });
    let sum = hsum_epi32(_mm256_add_epi32(
        _mm256_add_epi32(i[0], i[1]),
        _mm256_add_epi32(i[2], i[3]),
    ));
    // SAFETY: qs is exactly 32 bytes; storeu needs no alignment.
    unsafe { _mm256_storeu_si256(qs.as_mut_ptr().cast(), pack_i8x32(i)) };
    (d, sum)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn quantize_q8_0(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ8_0>(dst)) {
        let (d, _) = quantize_block_q8(x, &mut b.qs);
        b.d = f16_le_from(d);
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn quantize_q8_1(src: &[f32], dst: &mut [u8]) {
    for (x, b) in src.chunks_exact(QK).zip(as_blocks_mut::<BlockQ8_1>(dst)) {
        let (d, sum) = quantize_block_q8(x, &mut b.qs);
        b.d = f16_le_from(d);
        b.s = f16_le_from(sum as f32 * d);
    }
}

/// Q8_K (`q8_k::quantize_row_q8_k`, bit for bit, non-finite input included): the first value
/// of largest magnitude maps to -127; products are rounded ties-to-even; NaN products become 0
/// as the scalar `as i32` makes them.
#[target_feature(enable = "avx2,fma,f16c")]
fn quantize_q8_k(src: &[f32], dst: &mut [u8]) {
    let sign = _mm256_set1_ps(-0.0);
    for (x, b) in src.chunks_exact(QK_K).zip(as_blocks_mut::<BlockQ8K>(dst)) {
        let (xv, _) = x.as_chunks::<8>();
        // SAFETY: each chunk is exactly 8 f32; loadu needs no alignment.
        let load = |c: &[f32; 8]| unsafe { _mm256_loadu_ps(c.as_ptr()) };
        // max(|v|, m) keeps m when v is NaN, as the scalar `>` test skips NaN.
        let mut m = _mm256_setzero_ps();
        for c in xv {
            m = _mm256_max_ps(_mm256_andnot_ps(sign, load(c)), m);
        }
        let amax = hmax_ps(m);
        if amax == 0.0 {
            b.d = 0f32.to_le_bytes();
            b.qs = [0; QK_K];
            b.bsums = [0; 32];
            continue;
        }
        let max = x.iter().copied().find(|v| v.abs() == amax).unwrap_or(amax);
        let iscale = -127.0 / max;
        let is = _mm256_set1_ps(iscale);
        let q127 = _mm256_set1_epi32(127);
        let (qc, _) = b.qs.as_chunks_mut::<32>();
        for (c4, q) in xv.chunks_exact(4).zip(qc) {
            let i: [__m256i; 4] = std::array::from_fn(|j| {
                let r = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                    _mm256_mul_ps(load(&c4[j]), is),
                );
                let r = _mm256_and_ps(r, _mm256_cmp_ps::<_CMP_ORD_Q>(r, r));
                _mm256_min_epi32(_mm256_cvtps_epi32(r), q127)
            });
            // SAFETY: q is exactly 32 bytes; storeu needs no alignment.
            unsafe { _mm256_storeu_si256(q.as_mut_ptr().cast(), pack_i8x32(i)) };
        }
        q8_k::set_bsums(b);
        b.d = (1.0 / iscale).to_le_bytes();
    }
}

/// f32 -> f16 -> f32, 8 lanes at a time (F16C rounds to nearest even, as `half` does).
#[target_feature(enable = "avx2,fma,f16c")]
fn round_f16(x: &mut [f32]) {
    let mut chunks = x.chunks_exact_mut(8);
    for c in &mut chunks {
        // SAFETY: c has exactly 8 f32; loadu/storeu need no alignment.
        unsafe {
            let v = _mm256_loadu_ps(c.as_ptr());
            let h = _mm256_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT }>(v);
            _mm256_storeu_ps(c.as_mut_ptr(), _mm256_cvtph_ps(h));
        }
    }
    float::round_f16_inplace(chunks.into_remainder());
}

/// `y = f16(fma(x, a, y))`, 8 lanes at a time.
#[target_feature(enable = "avx2,fma,f16c")]
fn mad_round_f16_x8(y: &mut [f32], a: f32, x: &[f32]) {
    let n = y.len().min(x.len()) & !7;
    let av = _mm256_set1_ps(a);
    for (c, v) in y[..n].chunks_exact_mut(8).zip(x[..n].chunks_exact(8)) {
        // SAFETY: c and v have exactly 8 f32 each; loadu/storeu need no alignment.
        unsafe {
            let r = _mm256_fmadd_ps(_mm256_loadu_ps(v.as_ptr()), av, _mm256_loadu_ps(c.as_ptr()));
            let h = _mm256_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT }>(r);
            _mm256_storeu_ps(c.as_mut_ptr(), _mm256_cvtph_ps(h));
        }
    }
    float::mad_round_f16(&mut y[n..], a, &x[n..]);
}

// ---------------------------------------------------------------------------------------------
// Safe entry points for the dispatch table.

macro_rules! entry {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $fast:expr, $scalar:path) => {
        $(#[$doc])*
        pub(super) fn $name($($arg: $ty),*) -> $ret {
            if has_avx2() {
                // SAFETY: has_avx2() checked at run time that the CPU supports avx2, fma and
                // f16c, the features the callee is compiled with.
                unsafe { $fast }
            } else {
                $scalar($($arg),*)
            }
        }
    };
}

/// Safe entry points for the 32-value dots: the CPU's pair-sum choice (`with_pair_sums!`), else
/// the scalar spec.
macro_rules! entry_32 {
    ($name:ident = $kernel:ident($w:ty, $x:ty), $scalar:path) => {
        pub(super) fn $name(n: usize, w_row: &[u8], x_row: &[u8]) -> f32 {
            let bytes = |block: usize| n / QK * block;
            debug_assert_eq!(
                (w_row.len(), x_row.len()),
                (bytes(size_of::<$w>()), bytes(size_of::<$x>()))
            );
            let (w, x) = (as_blocks(w_row), as_blocks(x_row));
            with_pair_sums!($kernel(w: &[$w], x: &[$x]) -> f32, $scalar(n, w_row, x_row))
        }
    };
}

entry_32!(
    vec_dot_q4_0_q8_0 = dot_q4_0_q8_0(BlockQ4_0, BlockQ8_0),
    q4_0::vec_dot_q4_0_q8_0
);
entry_32!(
    vec_dot_q4_1_q8_1 = dot_q4_1_q8_1(BlockQ4_1, BlockQ8_1),
    q4_1::vec_dot_q4_1_q8_1
);
entry_32!(
    vec_dot_q5_0_q8_0 = dot_q5_0_q8_0(BlockQ5_0, BlockQ8_0),
    q5_0::vec_dot_q5_0_q8_0
);
entry_32!(
    vec_dot_q5_1_q8_1 = dot_q5_1_q8_1(BlockQ5_1, BlockQ8_1),
    q5_1::vec_dot_q5_1_q8_1
);
entry_32!(
    vec_dot_q8_0_q8_0 = dot_q8_0_q8_0(BlockQ8_0, BlockQ8_0),
    q8_0::vec_dot_q8_0_q8_0
);
entry!(vec_dot_q4_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 = {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 144, n / QK_K * 292));
    dot_q4_k_q8_k(as_blocks(w), as_blocks(x))
}, q4_k::vec_dot_q4_k_q8_k);
entry!(vec_dot_q4_k_q8_k_gemv(n: usize, w: &[u8], x: &[u8]) -> f32 = {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 144, n / QK_K * 292));
    dot_q4_k_repacked(as_blocks(w), as_blocks(x), false)
}, q4_k::vec_dot_q4_k_q8_k_gemv);
entry!(vec_dot_q4_k_q8_k_gemm(n: usize, w: &[u8], x: &[u8]) -> f32 = {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 144, n / QK_K * 292));
    dot_q4_k_repacked(as_blocks(w), as_blocks(x), true)
}, q4_k::vec_dot_q4_k_q8_k_gemm);
entry!(vec_dot_q5_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 = {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 176, n / QK_K * 292));
    dot_q5_k_q8_k(as_blocks(w), as_blocks(x))
}, q5_k::vec_dot_q5_k_q8_k);
entry!(vec_dot_q6_k_q8_k(n: usize, w: &[u8], x: &[u8]) -> f32 = {
    debug_assert_eq!((w.len(), x.len()), (n / QK_K * 210, n / QK_K * 292));
    dot_q6_k_q8_k(as_blocks(w), as_blocks(x))
}, q6_k::vec_dot_q6_k_q8_k);
entry!(vec_dot_f32(n: usize, w: &[u8], x: &[u8]) -> f32 = {
    debug_assert_eq!((w.len(), x.len()), (n * 4, n * 4));
    dot_f32(n, w, x)
}, float::vec_dot_f32);
entry!(vec_dot_f16(n: usize, w: &[u8], x: &[u8]) -> f32 = {
    debug_assert_eq!((w.len(), x.len()), (n * 2, n * 2));
    dot_f16(n, w, x)
}, float::vec_dot_f16);
entry!(vec_dot_bf16(n: usize, w: &[u8], x: &[u8]) -> f32 = {
    debug_assert_eq!((w.len(), x.len()), (n * 2, n * 2));
    dot_bf16(n, w, x)
}, float::vec_dot_bf16);
entry!(round_f16_inplace(x: &mut [f32]) -> () = round_f16(x), float::round_f16_inplace);
entry!(mad_round_f16(y: &mut [f32], a: f32, x: &[f32]) -> () = mad_round_f16_x8(y, a, x), float::mad_round_f16);
entry!(quantize_row_q8_0(src: &[f32], dst: &mut [u8]) -> () = {
    debug_assert_eq!(dst.len(), src.len() / QK * 34);
    quantize_q8_0(src, dst)
}, q8_0::quantize_row_q8_0);
entry!(quantize_row_q8_k(src: &[f32], dst: &mut [u8]) -> () = {
    debug_assert_eq!(dst.len(), src.len() / QK_K * 292);
    quantize_q8_k(src, dst)
}, q8_k::quantize_row_q8_k);
entry!(quantize_row_q8_1(src: &[f32], dst: &mut [u8]) -> () = {
    debug_assert_eq!(dst.len(), src.len() / QK * 36);
    quantize_q8_1(src, dst)
}, q8_1::quantize_row_q8_1);
