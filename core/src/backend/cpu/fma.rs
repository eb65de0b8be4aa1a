//! Kernels that mirror ggml's fused multiply-adds need `f32::mul_add` to be one instruction.
//! Without the `fma` target feature it is libm's `fmaf` (same result, a call per element), and
//! the crate never builds with `target-cpu=native`, so such kernels are compiled twice.

/// Defines a safe function whose body is compiled a second time with AVX2 + FMA and run that
/// way when the CPU has them (checked once, cached); elsewhere the plain build runs. Both give
/// identical results: only the speed of `mul_add` differs.
macro_rules! fma_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn with_fma($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            if crate::quant::has_avx2() {
                // SAFETY: has_avx2() checked at run time that the CPU has avx2 and fma, the
                // only features `with_fma` is compiled with.
                return unsafe { with_fma($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

pub(crate) use fma_fn;
