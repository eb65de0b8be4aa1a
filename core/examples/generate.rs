//! Generates text with a GGUF model, streaming tokens to stdout, then prints speed figures.
//!
//! `cargo run --release -p wasm-chord-core --example generate -- [--model <file.gguf>]
//!    [--prompt "..."] [--chat] [--max-tokens N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
//!    [--repeat-penalty R] [--seed S] [--threads N] [--ctx N] [--stop S] [--show-prompt]`
//!
//! Without `--model` it uses SmolLM2 from the fetch script's cache
//! (`$WASM_CHORD_MODELS` or `~/.cache/wasm-chord/models`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[path = "shared/mmap.rs"]
mod mmap;

use wasm_chord_core::chat::{ChatMessage, ChatTemplate};
use wasm_chord_core::generate::{GenerateOptions, Generator};
use wasm_chord_core::model::{LoadOptions, Model, Session};
use wasm_chord_core::sample::SamplerParams;

const DEFAULT_MODEL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

fn default_model() -> PathBuf {
    let dir = std::env::var_os("WASM_CHORD_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/wasm-chord/models")
        });
    dir.join(DEFAULT_MODEL)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("generate: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut model_path = default_model();
    let mut prompt = String::from("The three most important inventions in history are");
    let mut chat = false;
    let mut show_prompt = false;
    let mut opts = GenerateOptions {
        max_tokens: 128,
        sampler: SamplerParams::greedy(),
        stop: Vec::new(),
    };
    let mut threads = 0;
    let mut n_ctx = 2048;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|e| format!("{v}: {e}"));
        match a.as_str() {
            "--model" => model_path = PathBuf::from(val("--model")?),
            "--prompt" => prompt = val("--prompt")?,
            "--chat" => chat = true,
            "--show-prompt" => show_prompt = true,
            "--max-tokens" => opts.max_tokens = num(val("--max-tokens")?)? as usize,
            "--temp" => opts.sampler.temperature = num(val("--temp")?)? as f32,
            "--top-k" => opts.sampler.top_k = num(val("--top-k")?)? as i32,
            "--top-p" => opts.sampler.top_p = num(val("--top-p")?)? as f32,
            "--min-p" => opts.sampler.min_p = num(val("--min-p")?)? as f32,
            "--repeat-penalty" => {
                opts.sampler.repeat_penalty = num(val("--repeat-penalty")?)? as f32
            }
            "--seed" => opts.sampler.seed = num(val("--seed")?)? as u64,
            "--threads" => threads = num(val("--threads")?)? as usize,
            "--ctx" => n_ctx = num(val("--ctx")?)? as usize,
            "--stop" => opts.stop.push(val("--stop")?),
            other => return Err(format!("unknown argument {other}")),
        }
    }

    let t0 = Instant::now();
    let bytes = mmap::map(&model_path).map_err(|e| format!("{e} (run `npm run fetch-models`)"))?;
    let model = Arc::new(
        Model::load(
            bytes,
            &LoadOptions {
                threads,
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?,
    );
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    if let Some((rss, _)) = mmap::rss_mib() {
        let file_mib = std::fs::metadata(&model_path)
            .map(|m| m.len() as f64 / 1048576.0)
            .unwrap_or(0.0);
        eprintln!("[loaded in {load_ms:.0} ms: RSS {rss:.0} MiB for a {file_mib:.0} MiB file (weights mapped, not copied)]");
    }
    let tok = &model.tokenizer;

    let text = if chat {
        let piece = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_string();
        let template = ChatTemplate::from_gguf(&model.gguf, &piece(tok.bos()), &piece(tok.eos()))
            .map_err(|e| e.to_string())?;
        template
            .render(&[ChatMessage::new("user", prompt.clone())], true)
            .map_err(|e| e.to_string())?
    } else {
        prompt.clone()
    };
    let mut ids = Vec::new();
    if tok.add_bos() {
        ids.extend(tok.bos());
    }
    ids.extend(tok.encode(&text, chat));
    let n_prompt = ids.len();
    if show_prompt {
        eprintln!("[prompt {text:?} -> {ids:?}]");
    }

    let session = Session::new(model.clone(), n_ctx).map_err(|e| e.to_string())?;
    let mut gen = Generator::new(session, ids, opts).map_err(|e| e.to_string())?;
    if !chat {
        print!("{prompt}");
    }
    let mut out = std::io::stdout().lock();
    let t1 = Instant::now();
    let mut t_first = None;
    while let Some(chunk) = gen.step().map_err(|e| e.to_string())? {
        if t_first.is_none() {
            t_first = Some(Instant::now());
        }
        let _ = out.write_all(chunk.text.as_bytes());
        let _ = out.flush();
    }
    let t_end = Instant::now();
    let prefill_s = t_first.map_or(0.0, |t| (t - t1).as_secs_f64());
    let decode_n = gen.n_generated().saturating_sub(1);
    let decode_s = t_first.map_or(0.0, |t| (t_end - t).as_secs_f64());
    eprintln!(
        "\n\n[{}] load {load_ms:.0} ms | prompt {n_prompt} tok, prefill {:.1} tok/s | {} tok generated, decode {:.1} tok/s | {} threads | finish {:?}",
        model_path.file_name().and_then(|f| f.to_str()).unwrap_or("?"),
        n_prompt as f64 / prefill_s.max(1e-9),
        gen.n_generated(),
        decode_n as f64 / decode_s.max(1e-9),
        model.n_threads(),
        gen.finish_reason(),
    );
    Ok(())
}
