//! Writes a synthetic llama model (random weights, valid GGUF) for speed and memory work.
//!
//! `cargo run --release -p wasm-chord-core --example synthetic -- --preset tinyllama|7b --type q4_0 --out <file> [--seed N]`

use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

use wasm_chord_core::model::synthetic::{write_synthetic, SyntheticSpec};
use wasm_chord_core::quant::GgmlType;

const USAGE: &str = "usage: synthetic --preset tinyllama|7b --type f32|f16|bf16|q4_0|q4_1|q5_0|q5_1|q8_0|q4_k|q5_k|q6_k --out <file.gguf> [--seed N]";

fn parse_args() -> Result<(SyntheticSpec, PathBuf), String> {
    let (mut preset, mut ty, mut out, mut seed) = (None, GgmlType::Q4_0, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--preset" => preset = Some(value()?),
            "--type" => {
                let v = value()?;
                ty = GgmlType::from_name(&v).ok_or(format!("unknown --type {v}"))?;
            }
            "--out" => out = Some(PathBuf::from(value()?)),
            "--seed" => seed = Some(value()?.parse().map_err(|_| "--seed needs a number")?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let mut spec = match preset.as_deref() {
        Some("tinyllama") => SyntheticSpec::tinyllama_1_1b(ty),
        Some("7b") => SyntheticSpec::llama_7b(ty),
        Some(p) => return Err(format!("unknown --preset {p}")),
        None => return Err("--preset is required".into()),
    };
    if let Some(s) = seed {
        spec.seed = s;
    }
    Ok((spec, out.ok_or("--out is required")?))
}

fn main() {
    let (spec, path) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let size = match spec.file_size() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("synthetic: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "writing {} ({:.2} GB, {} layers, n_embd {}, {})",
        path.display(),
        size as f64 / 1e9,
        spec.n_layer,
        spec.n_embd,
        spec.weight_type
    );
    let t0 = Instant::now();
    // Write next to the target and rename, so a failed run leaves no half file behind.
    let tmp = path.with_extension("gguf.partial");
    let result = std::fs::File::create(&tmp)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            let mut w = BufWriter::with_capacity(1 << 20, f);
            write_synthetic(&spec, &mut w).map_err(|e| e.to_string())
        })
        .and_then(|()| std::fs::rename(&tmp, &path).map_err(|e| e.to_string()));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        eprintln!("synthetic: {}: {e}", path.display());
        std::process::exit(1);
    }
    eprintln!("done in {:.1}s", t0.elapsed().as_secs_f64());
}
