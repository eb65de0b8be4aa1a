//! wasm-chord's browser module: the `#[wasm_bindgen]` surface only, symmetric with the Node
//! addon (node/src/lib.rs). Everything is a call into the core facade
//! (`wasm_chord_core::engine`); this crate converts types and maps errors (`error.rs`).
//! The module runs in a Web Worker (js/browser/worker.js), one per loaded model, which pulls
//! one `step()` per token; the page keeps a [`WasmVocab`] for the synchronous text calls.
//! Loading and stepping return promises: with WebGPU (feature `gpu`, the one-thread build)
//! the device answers asynchronously.
//! Structured arguments (options, messages, info) cross as JSON strings.
//!
//! A panic cannot unwind here (panic = abort): it traps, the worker reports `ERR_INTERNAL`
//! with the message the panic hook handed to `globalThis.__wasmChordPanic`, and the page
//! stays alive. Input never panics the core (typed errors); this is for bugs.

mod error;
#[cfg(feature = "threads")]
mod threads;

use std::sync::Arc;

use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use wasm_chord_core::bytes::ModelBuffer;
use wasm_chord_core::chat::ChatMessage;
use wasm_chord_core::engine::{
    Engine, EngineOptions, GenerateParams, Generation, GpuMode, Prompt, Vocab,
};

use error::{bad_json, core_error, disposed};

#[wasm_bindgen]
extern "C" {
    /// Defined by the JS that instantiates the module, before any call.
    #[wasm_bindgen(js_namespace = globalThis, js_name = __wasmChordPanic)]
    fn report_panic(message: &str);
}

/// Installs the panic hook (idempotent; the JS glue calls it right after instantiating).
#[wasm_bindgen(js_name = installPanicHook)]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| report_panic(&info.to_string())));
}

/// Largest model this build can hold (bytes): wasm32's 4 GiB less room for the runtime.
#[wasm_bindgen(js_name = maxModelBytes)]
pub fn max_model_bytes() -> f64 {
    wasm_chord_core::bytes::max_model_bytes() as f64
}

/// The shared memory of a `threads` build, which thread workers instantiate over.
#[cfg(feature = "threads")]
#[wasm_bindgen(js_name = sharedMemory)]
pub fn shared_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Which CPU kernels this build uses (`simd128` or `scalar`).
#[wasm_bindgen(js_name = cpuKernels)]
pub fn cpu_kernels() -> String {
    if cfg!(target_feature = "simd128") {
        "simd128"
    } else {
        "scalar"
    }
    .into()
}

#[derive(Deserialize)]
struct JsMessage {
    role: String,
    content: String,
}

fn messages(json: &str) -> Result<Vec<ChatMessage>, JsValue> {
    let list: Vec<JsMessage> = serde_json::from_str(json).map_err(|e| bad_json("messages", e))?;
    Ok(list
        .into_iter()
        .map(|m| ChatMessage::new(m.role, m.content))
        .collect())
}

fn params(json: &str) -> Result<GenerateParams, JsValue> {
    serde_json::from_str(json).map_err(|e| bad_json("options", e))
}

/// A model's bytes, copied into wasm memory chunk by chunk: the buffer is reserved whole by
/// the constructor (`ERR_MODEL_TOO_LARGE` before any chunk when it cannot fit).
#[wasm_bindgen]
pub struct WasmLoader {
    buffer: Option<ModelBuffer>,
}

#[wasm_bindgen]
impl WasmLoader {
    /// `size`: the file's length in bytes (a JS number; files over 2 GiB are fine).
    #[wasm_bindgen(constructor)]
    pub fn new(size: f64) -> Result<WasmLoader, JsValue> {
        if !(size.is_finite() && size >= 0.0) {
            return Err(error::js_error(
                error::ERR_INVALID_ARGUMENT,
                "invalid argument 'size': expected a byte count",
            ));
        }
        let buffer = ModelBuffer::new(size as u64).map_err(core_error)?;
        Ok(WasmLoader {
            buffer: Some(buffer),
        })
    }

    /// Appends the next chunk of the file.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        let buffer = self.buffer.as_mut().ok_or_else(disposed)?;
        buffer.write(chunk).map_err(core_error)
    }

    /// Bytes written so far.
    #[wasm_bindgen(getter)]
    pub fn written(&self) -> f64 {
        self.buffer.as_ref().map_or(0.0, |b| b.len() as f64)
    }

    /// Parses and binds the model (the buffer moves into it; this loader is spent), resolving
    /// to a [`WasmModel`]. `gpu` is JS `gpu` as a string (`"auto"`, `"true"`, `"false"`); with
    /// WebGPU the device and the uploads are awaited.
    pub fn finish(
        &mut self,
        threads: u32,
        context_size: u32,
        gpu: &str,
    ) -> Result<js_sys::Promise, JsValue> {
        let gpu = GpuMode::from_js(gpu).map_err(core_error)?;
        let buffer = self.buffer.take().ok_or_else(disposed)?;
        let bytes = buffer.finish().map_err(core_error)?;
        let opts = EngineOptions {
            threads: threads as usize,
            context_size: context_size as usize,
            gpu,
        };
        Ok(future_to_promise(async move {
            let engine = Engine::load_async(Arc::new(bytes), &opts)
                .await
                .map_err(core_error)?;
            Ok(WasmModel {
                engine: Some(engine),
            }
            .into())
        }))
    }
}

#[wasm_bindgen]
pub struct WasmModel {
    engine: Option<Arc<Engine>>,
}

impl WasmModel {
    fn engine(&self) -> Result<&Arc<Engine>, JsValue> {
        self.engine.as_ref().ok_or_else(disposed)
    }

    fn start(&self, prompt: Prompt, params: &GenerateParams) -> Result<WasmGeneration, JsValue> {
        let generation = Arc::new(self.engine()?.start(prompt, params.options()));
        Ok(WasmGeneration { generation })
    }
}

#[wasm_bindgen]
impl WasmModel {
    /// `ModelInfo` (index.d.ts) as JSON.
    #[wasm_bindgen(js_name = infoJson)]
    pub fn info_json(&self) -> Result<String, JsValue> {
        serde_json::to_string(self.engine()?.info())
            .map_err(|e| error::js_error("ERR_INTERNAL", &e.to_string()))
    }

    /// The file's header (metadata and tensor infos): what [`WasmVocab`] is built from.
    pub fn header(&self) -> Result<Vec<u8>, JsValue> {
        Ok(self.engine()?.header_bytes().to_vec())
    }

    pub fn tokenize(&self, text: &str, special: bool) -> Result<Vec<u32>, JsValue> {
        self.engine()?.tokenize(text, special).map_err(core_error)
    }

    pub fn detokenize(&self, ids: &[u32]) -> Result<String, JsValue> {
        self.engine()?.detokenize(ids).map_err(core_error)
    }

    #[wasm_bindgen(js_name = applyChatTemplate)]
    pub fn apply_chat_template(
        &self,
        messages_json: &str,
        add_generation_prompt: bool,
    ) -> Result<String, JsValue> {
        let messages = messages(messages_json)?;
        self.engine()?
            .render_chat(&messages, add_generation_prompt)
            .map_err(core_error)
    }

    /// A generation after `prompt`; nothing runs until the first `step()`.
    pub fn generate(&self, prompt: String, options_json: &str) -> Result<WasmGeneration, JsValue> {
        let p = params(options_json)?;
        self.start(p.text_prompt(prompt), &p)
    }

    /// A generation answering `messages` through the chat template.
    pub fn chat(&self, messages_json: &str, options_json: &str) -> Result<WasmGeneration, JsValue> {
        let p = params(options_json)?;
        self.start(Prompt::Chat(messages(messages_json)?), &p)
    }

    /// Drops this handle's reference; the weights are freed once running generations end.
    pub fn dispose(&mut self) {
        self.engine = None;
    }
}

/// The text half of a model (tokenizer + chat template), built from its header, for the
/// page thread's synchronous `tokenize` / `detokenize` / `applyChatTemplate`.
#[wasm_bindgen]
pub struct WasmVocab {
    vocab: Vocab,
}

#[wasm_bindgen]
impl WasmVocab {
    #[wasm_bindgen(constructor)]
    pub fn new(header: &[u8], file_len: f64) -> Result<WasmVocab, JsValue> {
        let vocab = Vocab::from_header(header, file_len as u64).map_err(core_error)?;
        Ok(WasmVocab { vocab })
    }

    pub fn tokenize(&self, text: &str, special: bool) -> Result<Vec<u32>, JsValue> {
        self.vocab.tokenize(text, special).map_err(core_error)
    }

    pub fn detokenize(&self, ids: &[u32]) -> Result<String, JsValue> {
        self.vocab.detokenize(ids).map_err(core_error)
    }

    #[wasm_bindgen(js_name = applyChatTemplate)]
    pub fn apply_chat_template(
        &self,
        messages_json: &str,
        add_generation_prompt: bool,
    ) -> Result<String, JsValue> {
        let messages = messages(messages_json)?;
        self.vocab
            .render_chat(&messages, add_generation_prompt)
            .map_err(core_error)
    }
}

#[wasm_bindgen]
pub struct WasmGeneration {
    /// Shared with the step in flight, which outlives the call that started it.
    generation: Arc<Generation>,
}

#[wasm_bindgen]
pub struct WasmChunk {
    text: String,
    token: Option<u32>,
}

#[wasm_bindgen]
impl WasmChunk {
    #[wasm_bindgen(getter)]
    pub fn text(&self) -> String {
        self.text.clone()
    }

    /// Absent on a final chunk that only flushes held-back text.
    #[wasm_bindgen(getter)]
    pub fn token(&self) -> Option<u32> {
        self.token
    }
}

#[wasm_bindgen]
impl WasmGeneration {
    /// Runs one step, resolving to the next chunk, or `undefined` when finished (a promise:
    /// on WebGPU each token waits for the device).
    pub fn step(&self) -> js_sys::Promise {
        let generation = self.generation.clone();
        future_to_promise(async move {
            let chunk = generation.step_async().await.map_err(core_error)?;
            Ok(chunk.map_or(JsValue::UNDEFINED, |c| {
                WasmChunk {
                    text: c.text,
                    token: c.token,
                }
                .into()
            }))
        })
    }

    /// Stops at the next check; the step after it fails with code `ABORT_ERR`.
    pub fn cancel(&self) {
        self.generation.cancel();
    }

    /// Ends the generation and frees its KV cache.
    pub fn close(&self) {
        self.generation.close();
    }

    /// `stop` or `length` once finished, else `undefined`.
    #[wasm_bindgen(getter, js_name = finishReason)]
    pub fn finish_reason(&self) -> Option<String> {
        self.generation.finish_reason().map(str::to_string)
    }

    /// Prompt tokens (BOS included), known after the first step.
    #[wasm_bindgen(getter, js_name = promptTokens)]
    pub fn prompt_tokens(&self) -> Option<u32> {
        self.generation.n_prompt().map(|n| n as u32)
    }
}
