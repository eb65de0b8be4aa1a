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
//!    [--prompt-tokens 256] [--gen-tokens 128] [--runs 3] [--json]`
//!
//! `--json` prints one line instead of the table:
//! `{"model":..,"n_prompt":..,"n_gen":..,"results":[{"threads":..,"load_ms":..,"prefill_tps":..,"decode_tps":..}]}`.
//! This is the engine alone; `npm run bench` runs it against llama-bench.

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
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--json" {
            json = true;
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
    let mut rows = Vec::new();
    for &nt in &threads {
        let t0 = Instant::now();
        let bytes = mmap::map(&model_path)?;
        let opts = LoadOptions {
            threads: nt,
            ..Default::default()
        };
        let model = Arc::new(Model::load(bytes, &opts).map_err(|e| e.to_string())?);
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
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
        if json {
            rows.push(serde_json::json!({
                "threads": nt, "load_ms": load_ms, "prefill_tps": pre, "decode_tps": dec,
            }));
        } else {
            println!("{nt:>7} {load_ms:>9.0} {pre:>13.1} {dec:>12.1}");
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
