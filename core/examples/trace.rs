//! Dumps every traced intermediate tensor of one forward pass, for bit-level comparison
//! with another runtime's dump of the same tokens.
//!
//! `cargo run --release -p wasm-chord-core --example trace -- <model.gguf> <out.bin> <fa 0|1> <id>...`
//!
//! Record format (little-endian), one per tensor: `u32` name length, name (`label-layer`),
//! `u32` type (0 = f32), four `i64` dims (innermost first; only the first is the row width),
//! then the f32 data.

use std::io::Write;
use std::sync::Arc;

#[path = "shared/mmap.rs"]
mod mmap;

use wasm_chord_core::model::{LoadOptions, Logits, Model, Session};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out, fa, ids @ ..] = args.as_slice() else {
        return Err("usage: trace <model.gguf> <out.bin> <fa 0|1> <id>...".into());
    };
    let ids: Vec<u32> = ids
        .iter()
        .map(|s| s.parse().map_err(|_| format!("bad id {s}")))
        .collect::<Result<_, _>>()?;
    let bytes = mmap::map(std::path::Path::new(model))?;
    let model = Arc::new(
        Model::load(
            bytes,
            &LoadOptions {
                threads: 2,
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?,
    );
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).map_err(|e| e.to_string())?);
    let n_tok = ids.len() as i64;
    let mut s = Session::new(model, 1024).map_err(|e| e.to_string())?;
    s.set_flash_attention(fa == "1");
    s.set_trace(Some(Box::new(
        move |layer: usize, label: &str, t: &[f32]| {
            let name = if layer == usize::MAX {
                label.to_string()
            } else {
                format!("{label}-{layer}")
            };
            // Tensors of the whole batch are [n_tok, width]; the final norm covers only output rows.
            let rows = if t.len() as i64 % n_tok == 0 {
                n_tok
            } else {
                1
            };
            let width = t.len() as i64 / rows;
            let mut rec = Vec::with_capacity(48 + name.len() + t.len() * 4);
            rec.extend_from_slice(&(name.len() as u32).to_le_bytes());
            rec.extend_from_slice(name.as_bytes());
            rec.extend_from_slice(&0u32.to_le_bytes());
            for d in [width, rows, 1, 1] {
                rec.extend_from_slice(&d.to_le_bytes());
            }
            for v in t {
                rec.extend_from_slice(&v.to_le_bytes());
            }
            let _ = file.write_all(&rec);
        },
    )));
    s.eval(&ids, Logits::Last).map_err(|e| e.to_string())?;
    // Dropping the session drops the hook and its BufWriter, which flushes.
    drop(s);
    Ok(())
}
