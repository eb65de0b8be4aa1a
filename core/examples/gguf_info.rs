//! Prints a GGUF file's metadata (arrays summarised) and tensor table.
//! `cargo run -p wasm-chord-core --example gguf_info -- <file.gguf>`
use wasm_chord_core::gguf::{Array, GgufFile, Value};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: gguf_info <file.gguf>");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let file = match GgufFile::parse(&bytes) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e} ({})", e.code());
            std::process::exit(1);
        }
    };
    println!(
        "GGUF v{} alignment {} data at {}",
        file.version, file.alignment, file.data_offset
    );
    for (k, v) in file.metadata() {
        let shown = match v {
            Value::Array(a) => summarise(a),
            Value::String(s) if s.len() > 120 => format!(
                "{:?}… ({} bytes)",
                &s[..s.floor_char_boundary(120)],
                s.len()
            ),
            v => format!("{v:?}"),
        };
        println!("{k} = {shown}");
    }
    for t in &file.tensors {
        println!(
            "{:<32} {:<6} {:?} @{} ({} bytes)",
            t.name,
            t.ty.name(),
            t.dims,
            t.offset,
            t.size
        );
    }
}

fn summarise(a: &Array) -> String {
    let head = match a {
        Array::String(v) => format!("{:?}", &v[..v.len().min(5)]),
        Array::F32(v) => format!("{:?}", &v[..v.len().min(5)]),
        Array::I32(v) => format!("{:?}", &v[..v.len().min(5)]),
        other => format!("type {}", other.elem_type_id()),
    };
    format!("[{} items] {head}…", a.len())
}
