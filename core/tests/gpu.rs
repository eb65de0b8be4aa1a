//! The GPU backend against the CPU: each matvec kernel alone against the scalar spec's
//! dequantization (every type, Q2_K and Q3_K included); then whole forward passes against the
//! CPU backend on the same files, logits by NMSE and top token, for every type the synthetic
//! writer quantizes (prefill, then single-token steps through the KV cache) and both real
//! models. Runs on whatever adapter there is: lavapipe in CI
//! (`mesa-vulkan-drivers`). With no adapter at all the tests fail, saying so, unless
//! WASM_CHORD_SKIP_GPU_TESTS=1.

use std::sync::Arc;

use wasm_chord_core::model::synthetic::{write_synthetic, SyntheticSpec};
use wasm_chord_core::model::{Arch, GpuMode, LoadOptions, Logits, Model, Session};
use wasm_chord_core::quant::{self, GgmlType};

use crate::util::{model_bytes, GEMMA3_FILE, SMOLLM2_FILE};

fn skip() -> bool {
    std::env::var_os("WASM_CHORD_SKIP_GPU_TESTS").is_some_and(|v| v == "1")
}

fn load(bytes: Arc<Vec<u8>>, gpu: GpuMode) -> Model {
    let opts = LoadOptions {
        gpu,
        ..Default::default()
    };
    Model::load(bytes, &opts).unwrap_or_else(|e| panic!("load ({gpu:?}): {} {e}", e.code()))
}

/// Σ(a-b)² / Σb².
fn nmse(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let (mut num, mut den) = (0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        num += (x as f64 - y as f64).powi(2);
        den += (y as f64).powi(2);
    }
    num / den.max(1e-30)
}

/// The CPU's top token is the GPU's top one, up to the noise between them (4 RMS
/// differences: random weights give near-ties that either side may break).
fn top1_agrees(gpu: &[f32], cpu: &[f32]) -> bool {
    let rms = (gpu
        .iter()
        .zip(cpu)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        / gpu.len() as f64)
        .sqrt();
    let best = gpu[argmax(gpu)] as f64;
    gpu[argmax(cpu)] as f64 >= best - 4.0 * rms
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// Logits of `prompt` (all rows), then of `steps` more tokens fed one at a time (each the
/// CPU's argmax, so both backends see the same tokens).
fn run(m: Model, prompt: &[u32], feed: &[u32]) -> (Vec<f32>, Vec<Vec<f32>>) {
    let n_ctx = (prompt.len() + feed.len()).max(256);
    let mut s = Session::new(Arc::new(m), n_ctx).expect("session");
    let all = s.eval(prompt, Logits::All).expect("prefill").to_vec();
    let steps = feed
        .iter()
        .map(|&t| s.eval(&[t], Logits::Last).expect("step").to_vec())
        .collect();
    (all, steps)
}

fn compare(label: &str, bytes: Vec<u8>, prompt: &[u32], max_nmse: f64) {
    let bytes = Arc::new(bytes);
    let cpu = load(bytes.clone(), GpuMode::Off);
    let gpu = load(bytes, GpuMode::On);
    assert_eq!(gpu.backend().backend, "gpu");
    let adapter = gpu
        .backend()
        .gpu
        .clone()
        .map(|g| g.adapter)
        .unwrap_or_default();
    let n_vocab = cpu.hparams.n_vocab;
    // Single-token steps after the prompt, through the KV cache (positions > 0).
    let feed: Vec<u32> = (0..4).map(|i| prompt[i % prompt.len()]).collect();
    let (cpu_all, cpu_steps) = run(cpu, prompt, &feed);
    let (gpu_all, gpu_steps) = run(gpu, prompt, &feed);
    let e = nmse(&gpu_all, &cpu_all);
    let last = |v: &[f32]| v[v.len() - n_vocab..].to_vec();
    eprintln!("{label} on {adapter}: prefill logits NMSE {e:.2e}");
    assert!(e < max_nmse, "{label}: prefill logits NMSE {e:.3e}");
    assert!(
        top1_agrees(&last(&gpu_all), &last(&cpu_all)),
        "{label}: the CPU's top token is not among the GPU's"
    );
    for (i, (g, c)) in gpu_steps.iter().zip(&cpu_steps).enumerate() {
        let e = nmse(g, c);
        assert!(e < max_nmse, "{label}: step {i} logits NMSE {e:.3e}");
    }
}

fn bad_load(e: wasm_chord_core::Error) -> ! {
    panic!("{}: {e}", e.code())
}

#[test]
fn every_weight_type_matches_the_cpu_backend() {
    if skip() {
        return;
    }
    for ty in wasm_chord_core::backend::gpu::shaders::gpu_types() {
        if !quant::can_quantize_weights(ty) {
            eprintln!("{ty}: the synthetic writer cannot quantize it; not checked here");
            continue;
        }
        let spec = SyntheticSpec {
            arch: Arch::Llama,
            n_vocab: 512,
            n_embd: 256,
            n_layer: 2,
            n_head: 4,
            n_head_kv: 2,
            n_ff: 512,
            n_ctx_train: 256,
            weight_type: ty,
            seed: 7,
        };
        let mut bytes = Vec::new();
        write_synthetic(&spec, &mut bytes).unwrap_or_else(|e| bad_load(e));
        // The GPU keeps activations in f32; the CPU quantizes them for the quantized dots (as
        // llama.cpp does: Q8_0/Q8_1/Q8_K), which alone gives an NMSE near 2e-4 here. A wrong
        // scale or index gives one near 1.
        compare(
            &format!("synthetic {ty}"),
            bytes,
            &[1, 5, 9, 200, 17, 300, 44, 2, 90],
            1e-3,
        );
    }
}

/// A context longer than the attention kernel's chunk of keys (1024), so queries past it take
/// two chunks: F32 weights, so only the KV cache's precision (f16 on the CPU) tells them apart.
#[test]
fn long_context_attention_matches_the_cpu_backend() {
    if skip() {
        return;
    }
    let spec = SyntheticSpec {
        arch: Arch::Llama,
        n_vocab: 512,
        n_embd: 64,
        n_layer: 1,
        n_head: 2,
        n_head_kv: 1,
        n_ff: 128,
        n_ctx_train: 2048,
        weight_type: GgmlType::F32,
        seed: 11,
    };
    let mut bytes = Vec::new();
    write_synthetic(&spec, &mut bytes).unwrap_or_else(|e| bad_load(e));
    let prompt: Vec<u32> = (0..1100u32).map(|i| (i * 37 + 11) % 512).collect();
    let bytes = Arc::new(bytes);
    let feed = [3, 4];
    let (cpu_all, cpu_steps) = run(load(bytes.clone(), GpuMode::Off), &prompt, &feed);
    let (gpu_all, gpu_steps) = run(load(bytes, GpuMode::On), &prompt, &feed);
    // Measured on lavapipe: prefill 4.5e-8 (without the running max's correction across
    // chunks: 4e-5), steps 1.4e-5 (the f16 cache's error, the same with the earlier kernel).
    let e = nmse(&gpu_all, &cpu_all);
    assert!(e < 1e-6, "prefill logits NMSE {e:.3e}");
    for (g, c) in gpu_steps.iter().zip(&cpu_steps) {
        let e = nmse(g, c);
        assert!(e < 1e-4, "step logits NMSE {e:.3e}");
    }
}

#[test]
fn smollm2_matches_the_cpu_backend() {
    if skip() {
        return;
    }
    let bytes = model_bytes(SMOLLM2_FILE);
    let m = load(Arc::new(bytes.clone()), GpuMode::Off);
    let prompt = m.tokenizer.encode("The capital of France is", true);
    drop(m);
    // Measured on lavapipe: 2.4e-3 (the CPU's quantized activations through 30 layers).
    compare("SmolLM2", bytes, &prompt, 5e-3);
}

#[test]
fn gemma3_matches_the_cpu_backend() {
    if skip() {
        return;
    }
    let bytes = model_bytes(GEMMA3_FILE);
    let m = load(Arc::new(bytes.clone()), GpuMode::Off);
    let mut prompt = vec![m.tokenizer.bos().unwrap_or(2)];
    prompt.extend(m.tokenizer.encode("The capital of France is", false));
    drop(m);
    // Measured on lavapipe: 2.0e-3.
    compare("Gemma 3", bytes, &prompt, 5e-3);
}

/// The browser's entry points (the async load, with the load's error scope, and the async eval)
/// natively: the same backend choice and bit-identical logits to the blocking ones.
#[test]
fn async_load_and_eval_match_the_blocking_ones() {
    if skip() {
        return;
    }
    let bytes = Arc::new(model_bytes(SMOLLM2_FILE));
    let opts = |gpu| LoadOptions {
        gpu,
        ..Default::default()
    };
    let blocking = load(bytes.clone(), GpuMode::On);
    let asynced = pollster::block_on(Model::load_async(bytes.clone(), &opts(GpuMode::On)))
        .unwrap_or_else(|e| panic!("async load: {} {e}", e.code()));
    assert_eq!(asynced.backend(), blocking.backend());
    let prompt = blocking.tokenizer.encode("The capital of France is", true);
    let mut a = Session::new(Arc::new(blocking), 64).expect("session");
    let mut b = Session::new(Arc::new(asynced), 64).expect("session");
    for feed in [&prompt[..], &[11]] {
        let want = a.eval(feed, Logits::Last).expect("eval").to_vec();
        let got = pollster::block_on(b.eval_async(feed, Logits::Last)).expect("eval_async");
        assert_eq!(got, &want[..]);
    }
    // 'auto' takes the same path as the blocking load: a software adapter is refused.
    let auto = pollster::block_on(Model::load_async(bytes.clone(), &opts(GpuMode::Auto)))
        .expect("async auto load");
    assert_eq!(auto.backend(), load(bytes, GpuMode::Auto).backend());
}

/// Byte offsets, inside one block, of a type's f16 scale fields (random bytes there could be
/// inf or NaN, which no quantizer writes).
fn f16_fields(t: GgmlType) -> &'static [usize] {
    match t {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q6_K => &[208],
        _ => &[],
    }
}

/// Random rows of type `t`: random bytes with finite, small f16 scales; float types from
/// random values.
fn random_rows(t: GgmlType, rows: usize, cols: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let unit = |v: u64| (v >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
    let n = rows * cols;
    match t {
        GgmlType::F32 => (0..n).flat_map(|_| unit(next()).to_le_bytes()).collect(),
        GgmlType::F16 => (0..n)
            .flat_map(|_| half::f16::from_f32(unit(next())).to_le_bytes())
            .collect(),
        GgmlType::BF16 => (0..n)
            .flat_map(|_| half::bf16::from_f32(unit(next())).to_le_bytes())
            .collect(),
        _ => {
            let bytes = t.row_bytes(cols as u64).unwrap() as usize * rows;
            let mut v: Vec<u8> = (0..bytes).map(|_| next() as u8).collect();
            for block in v.chunks_exact_mut(t.block_bytes()) {
                for &o in f16_fields(t) {
                    let d = half::f16::from_f32(0.001 + 0.01 * unit(next()).abs());
                    block[o..o + 2].copy_from_slice(&d.to_le_bytes());
                }
            }
            v
        }
    }
}

#[test]
fn every_matvec_kernel_matches_the_scalar_dequantization() {
    use wasm_chord_core::backend::gpu::shaders::gpu_types;
    use wasm_chord_core::backend::gpu::{matvec_once, AdapterChoice, GpuDevice, MatvecShape};
    if skip() {
        return;
    }
    let dev = GpuDevice::open(AdapterChoice::Any).unwrap_or_else(|e| bad_load(e));
    let cols = 512;
    // (rows, tokens, rows per thread): one token (decoding) with each row count a thread may
    // take, the last workgroup cut inside a thread's rows; a short batch; and a batch for the
    // GEMM with tiles cut at both edges.
    let shapes = [(50, 1, 1), (50, 1, 2), (51, 1, 4), (48, 3, 1), (50, 70, 1)];
    for (t, (rows, n_tok, rt)) in gpu_types().flat_map(|t| shapes.map(|s| (t, s))) {
        let w = random_rows(t, rows, cols, 0x9e37_79b9 ^ t.id() as u64);
        let x: Vec<f32> = (0..n_tok * cols)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let shape = MatvecShape {
            rows,
            cols,
            n_tok,
            rows_per_thread: rt,
        };
        let got = matvec_once(&dev, t, &w, &x, shape).unwrap_or_else(|e| bad_load(e));
        // The reference: the scalar spec's dequantization, dotted in f64.
        let k = quant::scalar_kernels(t).expect("scalar kernels");
        let rb = w.len() / rows;
        let mut want = vec![0f32; n_tok * rows];
        let mut row = vec![0f32; cols];
        for r in 0..rows {
            (k.dequantize_row)(&w[r * rb..(r + 1) * rb], &mut row);
            for tk in 0..n_tok {
                let xs = &x[tk * cols..(tk + 1) * cols];
                want[tk * rows + r] = row
                    .iter()
                    .zip(xs)
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum::<f64>() as f32;
            }
        }
        let e = nmse(&got, &want);
        eprintln!("matvec {t} x{n_tok} rt{rt}: NMSE {e:.2e} against the scalar dequantization");
        assert!(e < 1e-9, "matvec {t} x{n_tok} rt{rt}: NMSE {e:.3e}");
    }
}
