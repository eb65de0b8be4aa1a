//! Core speed figures: load time, prefill tok/s (one batch of `--prompt-tokens`) and decode
//! tok/s (`--gen-tokens` greedy steps) for each thread count; median of `--runs`.
//!
//! `cargo run --release -p wasm-chord-core --example bench -- [--model <file.gguf>] [--threads 1,2]
//!    [--prompt-tokens 256] [--gen-tokens 128] [--runs 3]`
//!
//! This is the engine alone; `npm run bench` compares against llama.cpp.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[path = "shared/mmap.rs"]
mod mmap;

use wasm_chord_core::model::{LoadOptions, Logits, Model, Session};

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run() -> Result<(), String> {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let models = std::env::var_os("WASM_CHORD_MODELS")
        .map(PathBuf::from)
        .unwrap_or(home.join(".cache/wasm-chord/models"));
    let mut model_path = models.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let mut threads = vec![1usize, 2];
    let (mut n_prompt, mut n_gen, mut runs) = (256usize, 128usize, 3usize);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().ok_or(format!("{a} needs a value"))?;
        let num = |s: &str| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
        match a.as_str() {
            "--model" => model_path = PathBuf::from(v),
            "--threads" => threads = v.split(',').map(num).collect::<Result<_, _>>()?,
            "--prompt-tokens" => n_prompt = num(&v)?,
            "--gen-tokens" => n_gen = num(&v)?,
            "--runs" => runs = num(&v)?.max(1),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let name = model_path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or("?")
        .to_string();
    println!("model {name}: prompt {n_prompt} tokens, generate {n_gen}, median of {runs} runs");
    println!(
        "{:>7} {:>9} {:>13} {:>12}",
        "threads", "load ms", "prefill tok/s", "decode tok/s"
    );
    for &nt in &threads {
        let (mut load, mut pre, mut dec) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let t0 = Instant::now();
            let bytes = mmap::map(&model_path)?;
            let model = Arc::new(
                Model::load(
                    bytes,
                    &LoadOptions {
                        threads: nt,
                        ..Default::default()
                    },
                )
                .map_err(|e| e.to_string())?,
            );
            load.push(t0.elapsed().as_secs_f64() * 1e3);
            // A deterministic prompt of ordinary tokens.
            let prompt: Vec<u32> = (0..n_prompt as u32)
                .map(|i| 1000 + (i * 7919) % 20000)
                .collect();
            let mut s =
                Session::new(model.clone(), n_prompt + n_gen + 1).map_err(|e| e.to_string())?;
            let t1 = Instant::now();
            let mut tok = argmax(s.eval(&prompt, Logits::Last).map_err(|e| e.to_string())?);
            pre.push(n_prompt as f64 / t1.elapsed().as_secs_f64());
            let t2 = Instant::now();
            for _ in 0..n_gen {
                tok = argmax(s.eval(&[tok], Logits::Last).map_err(|e| e.to_string())?);
            }
            dec.push(n_gen as f64 / t2.elapsed().as_secs_f64());
        }
        println!(
            "{:>7} {:>9.0} {:>13.1} {:>12.1}",
            nt,
            median(load),
            median(pre),
            median(dec)
        );
    }
    Ok(())
}
