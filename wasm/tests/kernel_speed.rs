//! Kernel timings, printed: the fast kernels (SIMD128 in Node, AVX2 natively) against the
//! scalar spec on one matmul-sized workload per type, in CPU milliseconds (best of 7). A
//! measurement, not a test: nothing here asserts a speed. `scripts/test-wasm.sh --test kernel_speed -- --ignored --nocapture` shows it.

use wasm_chord_core::backend::cpu::ops;
use wasm_chord_core::quant::{self, GgmlType};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

macro_rules! log {
    ($($t:tt)*) => {{
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_test::console_log!($($t)*);
        #[cfg(not(target_arch = "wasm32"))]
        eprintln!($($t)*);
    }};
}

/// Milliseconds of CPU time this process has used (Node's `process.cpuUsage()`: other
/// processes on a busy machine do not count), natively wall-clock milliseconds.
fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::prelude::*;
        #[wasm_bindgen]
        extern "C" {
            #[wasm_bindgen(js_namespace = process, js_name = cpuUsage)]
            fn cpu_usage() -> JsValue;
        }
        let user = js_sys::Reflect::get(&cpu_usage(), &"user".into()).ok();
        user.and_then(|u| u.as_f64()).unwrap_or(0.0) / 1e3
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        static T0: OnceLock<std::time::Instant> = OnceLock::new();
        T0.get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1e3
    }
}

/// Best of 7 alternating runs of `a` and `b`, in ms (the machine may be busy: the minimum is
/// the run that had the CPU).
fn compare(mut a: impl FnMut() -> f32, mut b: impl FnMut() -> f32) -> (f64, f64) {
    let (mut ta, mut tb) = (f64::MAX, f64::MAX);
    let mut sink = 0.0;
    for _ in 0..7 {
        let t0 = now_ms();
        sink += a();
        let t1 = now_ms();
        sink += b();
        let t2 = now_ms();
        ta = ta.min(t1 - t0);
        tb = tb.min(t2 - t1);
    }
    std::hint::black_box(sink);
    (ta, tb)
}

fn bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 56) as u8
        })
        .collect()
}

#[test]
#[ignore = "a measurement: scripts/test-wasm.sh --test kernel_speed -- --ignored --nocapture"]
fn kernel_speed_report() {
    log!("kernel set: {}", quant::kernel_isa());
    log!(
        "{:<6} {:>10} {:>10} {:>8}",
        "kernel",
        "scalar ms",
        "fast ms",
        "speedup"
    );
    // A 576 x 1536 matrix-vector product (SmolLM2's ffn_up), 100 times.
    let (rows, cols, reps) = (1536usize, 576usize, 100);
    for t in [
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::F16,
        GgmlType::F32,
    ] {
        let cols = if t.block_len() == 256 { 512 } else { cols };
        let (fast, spec) = (
            quant::kernels(t).unwrap(),
            quant::scalar_kernels(t).unwrap(),
        );
        let rb = t.row_bytes(cols as u64).unwrap() as usize;
        let mut w = bytes(rb * rows, 1);
        // Finite f16 scales: bytes of 0x20 in the high half of each scale field are ~1e-3.
        if t.block_len() > 1 {
            for b in w.chunks_exact_mut(t.block_bytes()) {
                let at = if t == GgmlType::Q6_K { 209 } else { 1 };
                b[at] = 0x20;
                if matches!(
                    t,
                    GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K
                ) {
                    b[3] = 0x20;
                }
            }
        } else {
            quant::quantize_row_scalar(t, &vec![0.25; rows * cols], &mut w);
        }
        let xf: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let at = spec.vec_dot_type;
        let mut x = vec![0u8; at.row_bytes(cols as u64).unwrap() as usize];
        quant::quantize_row_scalar(at, &xf, &mut x);
        let (w, x) = (&w, &x);
        let run = |dot: fn(usize, &[u8], &[u8]) -> f32| {
            move || {
                let mut s = 0.0;
                for _ in 0..reps {
                    for r in w.chunks_exact(rb) {
                        s += dot(cols, r, x);
                    }
                }
                s
            }
        };
        let (ts, tf) = compare(run(spec.vec_dot), run(fast.vec_dot));
        log!(
            "{:<6} {:>10.2} {:>10.2} {:>7.1}x",
            t.name(),
            ts,
            tf,
            ts / tf
        );
    }
    // Element-wise ops: 64 rows of SmolLM2's n_ff, 8 times over for the timer.
    let n = 1536 * 64 * 8;
    let gate: Vec<f32> = (0..n).map(|i| (i as f32 * 0.013).sin() * 6.0).collect();
    let up = vec![0.5f32; n];
    let (ts, tf) = compare(
        || {
            let mut g = gate.clone();
            ops::silu_mul_inplace_scalar(&mut g, &up);
            g[7]
        },
        || {
            let mut g = gate.clone();
            ops::silu_mul_inplace(&mut g, &up);
            g[7]
        },
    );
    log!("{:<6} {:>10.2} {:>10.2} {:>7.1}x", "silu", ts, tf, ts / tf);
    let f16s: Vec<quant::f16> = gate.iter().map(|&v| quant::f16::from_f32(v)).collect();
    let mut out = vec![0f32; n];
    let mut out2 = vec![0f32; n];
    let (ts, tf) = compare(
        || {
            quant::f16_to_f32_row_scalar(&f16s, &mut out);
            out[3]
        },
        || {
            quant::f16_to_f32_row(&f16s, &mut out2);
            out2[3]
        },
    );
    log!(
        "{:<6} {:>10.2} {:>10.2} {:>7.1}x",
        "f16>32",
        ts,
        tf,
        ts / tf
    );
    let (ts, tf) = compare(
        || {
            let mut y = gate.clone();
            quant::mad_round_f16_scalar(&mut y, 0.3, &gate);
            y[5]
        },
        || {
            let mut y = gate.clone();
            quant::mad_round_f16(&mut y, 0.3, &gate);
            y[5]
        },
    );
    log!(
        "{:<6} {:>10.2} {:>10.2} {:>7.1}x",
        "madf16",
        ts,
        tf,
        ts / tf
    );
}
