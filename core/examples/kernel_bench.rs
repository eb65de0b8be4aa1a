//! Speed of each weight type's `vec_dot`, dispatched (AVX2 where present) against its scalar
//! spec: one 2048x2048 matrix-vector product, median of 5.
//!
//! `cargo run --release -p wasm-chord-core --example kernel_bench`
use std::time::Instant;

use wasm_chord_core::quant::{kernels, quantize_row, quantize_weights, scalar_kernels, GgmlType};

/// xorshift: reproducible inputs without a dependency.
fn values(seed: &mut u64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn main() {
    let (n, rows) = (2048usize, 2048usize);
    let mut seed = 7u64;
    println!(
        "{:>5} {:>12} {:>12} {:>8}",
        "type", "fast ms", "scalar ms", "speedup"
    );
    for t in GgmlType::ALL {
        let (Some(fast), Some(scalar)) = (kernels(t), scalar_kernels(t)) else {
            continue;
        };
        let Ok(rb) = t.checked_row_bytes("bench", n as u64).map(|b| b as usize) else {
            continue;
        };
        let mut w = vec![0u8; rb * rows];
        let src = values(&mut seed, n);
        if !w.chunks_mut(rb).all(|row| quantize_weights(t, &src, row)) {
            continue; // no weight quantizer (Q2_K, Q3_K)
        }
        let act = fast.vec_dot_type;
        let mut x = vec![0u8; n / act.block_len() * act.block_bytes()];
        quantize_row(act, &values(&mut seed, n), &mut x);
        let time = |dot: fn(usize, &[u8], &[u8]) -> f32| {
            let mut runs: Vec<f64> = (0..5)
                .map(|_| {
                    let start = Instant::now();
                    let s: f32 = w.chunks(rb).map(|row| dot(n, row, &x)).sum();
                    std::hint::black_box(s);
                    start.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            runs.sort_by(f64::total_cmp);
            runs[2]
        };
        let (f, s) = (time(fast.vec_dot), time(scalar.vec_dot));
        println!("{:>5} {f:>12.3} {s:>12.3} {:>7.1}x", t.name(), s / f);
    }
}
