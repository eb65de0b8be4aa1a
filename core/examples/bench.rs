//! Core speed figures, measured the way llama.cpp's `llama-bench` measures them so the two can
//! be compared: load time, then for each thread count one warm-up (a prompt batch and one
//! decode step), then `--runs` repetitions of each test on an emptied KV cache:
//! - pp (prefill): one batch of `--prompt-tokens` tokens, tok/s;
//! - tg (decode): `--gen-tokens` single-token steps from position 0, tok/s.
//!
//! Tokens are a fixed sequence and nothing is sampled (llama-bench feeds random tokens); each
//! step still computes the output logits. Figures are medians of the repetitions.
//!
//! `cargo run --release -p wasm-chord-core --example bench -- [--model <file.gguf>] [--threads 1,2]
//!    [--prompt-tokens 256] [--gen-tokens 128] [--runs 3] [--gpu] [--synthetic SHAPE:TYPE]
//!    [--bandwidth GB/s] [--check-cpu] [--json]`
//!
//! `--gpu` runs on the GPU backend (any adapter; `--threads` is then ignored). `--synthetic`
//! writes a model of random weights with our writer first (shapes `smollm2-135m`,
//! `tinyllama-1.1b`, `llama-2-7b`, `llama-3-8b`; one type for every matrix, e.g.
//! `tinyllama-1.1b:Q4_0`) into $TMPDIR, so one binary can be carried to a GPU machine alone.
//! Each row also gives the bytes read per decoded token (weights, plus the KV cache at the
//! mean position) and, with `--bandwidth`, the share of that bandwidth the decode reached.
//! `--check-cpu` (with `--gpu`) also gives the NMSE of the GPU's logits against the CPU
//! backend's on the same file.
//!
//! `--json` prints one line instead of the table:
//! `{"model":..,"n_prompt":..,"n_gen":..,"results":[{"threads":..,"backend":..,"adapter":..,"load_ms":..,"prefill_tps":..,"decode_tps":..,"bytes_per_token":..,"bandwidth_share":..}]}`.
//! This is the engine alone; `npm run bench` runs it against llama-bench.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[path = "shared/mmap.rs"]
mod mmap;

use wasm_chord_core::model::synthetic::{write_synthetic, SyntheticSpec};
use wasm_chord_core::model::{GpuMode, LoadOptions, Logits, Model, Session};
use wasm_chord_core::quant::GgmlType;

/// Kernel times of a profiled run (`per` runs of it: tokens for decoding), longest first.
fn print_profile(what: &str, totals: &[(String, u64, f64)], per: f64) {
    let sum: f64 = totals.iter().map(|t| t.2).sum();
    eprintln!("{what}: {:.1} us of kernels a run", sum / per / 1e3);
    for (kernel, n, ns) in totals {
        eprintln!(
            "  {:>9.1} us {:>5.1}% {:>6.1} dispatches {kernel}",
            ns / per / 1e3,
            100.0 * ns / sum.max(1.0),
            *n as f64 / per
        );
    }
}

/// Writes the synthetic model `SHAPE:TYPE` into $TMPDIR (once per spec) and returns its path.
fn synthetic(spec: &str) -> Result<PathBuf, String> {
    let (shape, ty) = spec.split_once(':').ok_or("--synthetic takes SHAPE:TYPE")?;
    let ty = GgmlType::from_name(ty).ok_or(format!("unknown type {ty}"))?;
    let spec = SyntheticSpec::by_name(shape, ty).ok_or(format!("unknown shape {shape}"))?;
    let path = std::env::temp_dir().join(format!("wasm-chord-{shape}-{ty}.gguf"));
    if std::fs::metadata(&path).is_ok_and(|m| spec.file_size().is_ok_and(|s| s == m.len())) {
        return Ok(path);
    }
    let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    write_synthetic(&spec, &mut w).map_err(|e| e.to_string())?;
    std::io::Write::flush(&mut w).map_err(|e| e.to_string())?;
    Ok(path)
}

/// Σ(a-b)² / Σb² of the GPU's and the CPU's logits for a 16-token prompt and 4 steps after
/// it, on the same file.
fn nmse_vs_cpu(path: &std::path::Path, gpu: Arc<Model>) -> Result<f64, String> {
    let bytes = mmap::map(path)?;
    let cpu = Arc::new(Model::load(bytes, &LoadOptions::default()).map_err(|e| e.to_string())?);
    let prompt = tokens(16, cpu.hparams.n_vocab);
    let mut out = Vec::new();
    for m in [gpu, cpu] {
        let mut s = Session::new(m, 32).map_err(|e| e.to_string())?;
        let mut v = s
            .eval(&prompt, Logits::All)
            .map_err(|e| e.to_string())?
            .to_vec();
        for &t in &prompt[..4] {
            v.extend_from_slice(s.eval(&[t], Logits::Last).map_err(|e| e.to_string())?);
        }
        out.push(v);
    }
    let (num, den) = out[0]
        .iter()
        .zip(&out[1])
        .fold((0f64, 0f64), |(n, d), (&a, &b)| {
            (n + (a as f64 - b as f64).powi(2), d + (b as f64).powi(2))
        });
    Ok(num / den.max(1e-30))
}

/// Bytes a decode step reads: every matrix but the embeddings (one row of those; the output
/// projection when tied), plus the KV cache (`kv_value_bytes` a value) at position `pos`.
fn bytes_per_token(model: &Model, pos: usize, kv_value_bytes: usize) -> f64 {
    let g = &model.gguf;
    let tied = g.tensor("output.weight").is_none();
    let weights: u64 = g
        .tensors
        .iter()
        .filter(|t| t.dims.len() == 2 && (tied || t.name != "token_embd.weight"))
        .map(|t| t.size)
        .sum();
    let hp = &model.hparams;
    let kv = 2 * hp.n_layer * pos * hp.n_embd_k() * kv_value_bytes;
    weights as f64 + kv as f64
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A fixed sequence of ordinary token ids.
fn tokens(n: usize, n_vocab: usize) -> Vec<u32> {
    (0..n)
        .map(|i| ((1000 + i * 7919) % n_vocab) as u32)
        .collect()
}

/// Prefill: one batch of `prompt` on an empty cache; seconds.
fn pp(s: &mut Session, prompt: &[u32]) -> Result<f64, String> {
    s.truncate(0);
    let t = Instant::now();
    s.eval(prompt, Logits::Last).map_err(|e| e.to_string())?;
    Ok(t.elapsed().as_secs_f64())
}

/// Decode: one token at a time from position 0; seconds.
fn tg(s: &mut Session, gen: &[u32]) -> Result<f64, String> {
    s.truncate(0);
    let t = Instant::now();
    for &tok in gen {
        s.eval(&[tok], Logits::Last).map_err(|e| e.to_string())?;
    }
    Ok(t.elapsed().as_secs_f64())
}

fn run() -> Result<(), String> {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let models = std::env::var_os("WASM_CHORD_MODELS")
        .map(PathBuf::from)
        .unwrap_or(home.join(".cache/wasm-chord/models"));
    let mut model_path = models.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let mut threads = vec![1usize, 2];
    let (mut n_prompt, mut n_gen, mut runs) = (256usize, 128usize, 3usize);
    let mut json = false;
    let mut gpu = false;
    let mut check = false;
    let mut bandwidth: Option<f64> = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--json" {
            json = true;
            continue;
        }
        if a == "--gpu" {
            gpu = true;
            continue;
        }
        if a == "--check-cpu" {
            check = true;
            continue;
        }
        let v = it.next().ok_or(format!("{a} needs a value"))?;
        let num = |s: &str| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
        match a.as_str() {
            "--model" => model_path = PathBuf::from(v),
            "--threads" => threads = v.split(',').map(num).collect::<Result<_, _>>()?,
            "--prompt-tokens" => n_prompt = num(&v)?.max(1),
            "--gen-tokens" => n_gen = num(&v)?.max(1),
            "--runs" => runs = num(&v)?.max(1),
            "--synthetic" => model_path = synthetic(&v)?,
            "--bandwidth" => {
                bandwidth = Some(v.parse::<f64>().map_err(|e| format!("{v}: {e}"))? * 1e9)
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let name = model_path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("?")
        .to_string();
    if !json {
        println!("model {name}: pp{n_prompt}, tg{n_gen}, median of {runs} runs after a warm-up");
        println!(
            "{:>7} {:>9} {:>13} {:>12}",
            "threads", "load ms", "prefill tok/s", "decode tok/s"
        );
    }
    if gpu {
        threads = vec![0];
    }
    let mut rows = Vec::new();
    for &nt in &threads {
        let t0 = Instant::now();
        let bytes = mmap::map(&model_path)?;
        let opts = LoadOptions {
            threads: nt,
            gpu: if gpu { GpuMode::On } else { GpuMode::Off },
            ..Default::default()
        };
        let model = Arc::new(Model::load(bytes, &opts).map_err(|e| e.to_string())?);
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        let backend = model.backend().clone();
        let adapter = backend
            .gpu
            .as_ref()
            .map_or(String::new(), |g| g.adapter.clone());
        // The GPU holds the KV cache in f32, the CPU in f16.
        let bpt = bytes_per_token(&model, n_gen / 2, if gpu { 4 } else { 2 });
        let prompt = tokens(n_prompt, model.hparams.n_vocab);
        let gen = tokens(n_gen, model.hparams.n_vocab);
        let mut s = Session::new(model, n_prompt.max(n_gen)).map_err(|e| e.to_string())?;
        pp(&mut s, &prompt)?;
        tg(&mut s, &gen[..1])?;
        let (mut pre, mut dec) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            pre.push(n_prompt as f64 / pp(&mut s, &prompt)?);
            dec.push(n_gen as f64 / tg(&mut s, &gen)?);
        }
        let (pre, dec) = (median(pre), median(dec));
        if gpu && std::env::var_os("WASM_CHORD_GPU_STATS").is_some() {
            // One more decode run, alone, for the split between host and device time.
            use std::sync::atomic::Ordering::Relaxed;
            use wasm_chord_core::backend::gpu::SUBMIT_STATS as st;
            let before =
                [&st.submits, &st.dispatches, &st.host_ns, &st.wait_ns].map(|a| a.load(Relaxed));
            tg(&mut s, &gen)?;
            let after =
                [&st.submits, &st.dispatches, &st.host_ns, &st.wait_ns].map(|a| a.load(Relaxed));
            let d: Vec<f64> = (0..4).map(|i| (after[i] - before[i]) as f64).collect();
            eprintln!(
                "decode: {:.0} dispatches a token, host {:.1} us and device wait {:.1} us a token",
                d[1] / d[0],
                d[2] / d[0] / 1e3,
                d[3] / d[0] / 1e3
            );
        }
        if gpu && std::env::var_os("WASM_CHORD_GPU_PROFILE").is_some() {
            // Device time by kernel (timestamps between dispatches): one prefill, one decode.
            use wasm_chord_core::backend::gpu::profile;
            profile::take();
            pp(&mut s, &prompt)?;
            print_profile("prefill", &profile::take(), 1.0);
            tg(&mut s, &gen)?;
            print_profile("decode", &profile::take(), n_gen as f64);
        }
        let nmse = if check && gpu {
            Some(nmse_vs_cpu(&model_path, s.model().clone())?)
        } else {
            None
        };
        let share = bandwidth.map(|b| bpt * dec / b);
        if json {
            rows.push(serde_json::json!({
                "threads": nt, "backend": backend.backend, "adapter": adapter,
                "load_ms": load_ms, "prefill_tps": pre, "decode_tps": dec,
                "bytes_per_token": bpt, "bandwidth_share": share, "nmse_vs_cpu": nmse,
            }));
        } else {
            let share = share.map_or(String::new(), |s| {
                format!(" {:>5.1}% of the bandwidth", s * 100.0)
            });
            let nmse = nmse.map_or(String::new(), |e| format!(", logits NMSE vs CPU {e:.2e}"));
            println!(
                "{nt:>7} {load_ms:>9.0} {pre:>13.1} {dec:>12.1}  {} {adapter}{share}{nmse}",
                backend.backend
            );
        }
    }
    if json {
        let out = serde_json::json!({
            "model": name, "n_prompt": n_prompt, "n_gen": n_gen, "results": rows,
        });
        println!("{out}");
    }
    Ok(())
}
