//! The GPU backend against the CPU backend on the same files: logits by NMSE and argmax, for
//! every weight type on a small synthetic model (prefill, then single-token steps through the
//! KV cache) and for both real models. Runs on whatever adapter there is: lavapipe in CI
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
    let mut s = Session::new(Arc::new(m), 256).expect("session");
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
    let types = [
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
    for ty in types {
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
