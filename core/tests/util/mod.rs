//! Shared test helpers: where the real models and the llama.cpp reference data live.
#![allow(dead_code)]

use std::path::PathBuf;

pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const GEMMA3_FILE: &str = "gemma-3-270m-q4_k_m.gguf";

/// The model cache the fetch script fills (`WASM_CHORD_MODELS`, else
/// `~/.cache/wasm-chord/models`).
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WASM_CHORD_MODELS") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/wasm-chord/models")
}

/// Path of a test model; panics with the command that fetches it when it is missing
/// (tests must fail, not skip, when their reference model is absent).
pub fn model_path(file: &str) -> PathBuf {
    let p = models_dir().join(file);
    assert!(
        p.exists(),
        "{} is missing: run `node test/fetch-models.mjs` first",
        p.display()
    );
    p
}

/// Reads a whole model file into memory.
pub fn model_bytes(file: &str) -> Vec<u8> {
    std::fs::read(model_path(file)).expect("read model")
}

/// `../shared/refdata/<model>/` next to the repository.
pub fn refdata_dir(model: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/refdata");
    let p = root.join(model);
    assert!(
        p.exists(),
        "{} is missing: the shared reference data must sit beside the repo",
        p.display()
    );
    p
}

/// SmolLM2 loaded once for the whole test binary (tests share it read-only; each makes its own
/// sessions).
pub fn smollm2() -> std::sync::Arc<wasm_chord_core::model::Model> {
    use std::sync::{Arc, OnceLock};
    use wasm_chord_core::model::{LoadOptions, Model};
    static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let bytes = model_bytes(SMOLLM2_FILE);
            Arc::new(Model::load(Arc::new(bytes), &LoadOptions::default()).expect("load SmolLM2"))
        })
        .clone()
}
