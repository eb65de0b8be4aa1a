//! wasm-chord's Node addon: the `#[napi]` surface only. Everything it does is a call into the
//! core facade (`wasm_chord_core::engine`); this crate converts types, memory-maps files,
//! runs loads and steps on libuv worker threads (`model.rs`, `generate.rs`) and maps errors
//! (`error.rs`). The public JS API (`js/`, documented in `index.d.ts`) wraps these classes.

mod error;
mod generate;
mod model;

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{AsyncTask, Uint8Array};
use napi_derive::napi;
use wasm_chord_core::chat::ChatMessage;
use wasm_chord_core::engine::{self, Engine, EngineOptions, GenerateParams, Generation, Prompt};

use error::NodeError;
use generate::StepTask;
use model::{LoadTask, Source};

#[napi(object)]
pub struct NativeLoadOptions {
    /// Worker threads for matmuls (0 or absent: one per core).
    pub threads: Option<u32>,
    /// KV-cache positions of each generation (absent: min(training context, 2048)).
    pub context_size: Option<u32>,
    /// `"auto"`, `"true"` or `"false"` (absent: false).
    pub gpu: Option<String>,
}

/// `engine::GpuInfo` as a JS object.
#[napi(object)]
pub struct GpuInfo {
    pub adapter: String,
    pub api: String,
    pub device_type: String,
}

/// `engine::ModelInfo` as a JS object.
#[napi(object)]
pub struct ModelInfo {
    pub arch: String,
    pub name: Option<String>,
    pub file_type: Option<String>,
    pub n_params: f64,
    pub tensor_count: u32,
    pub context_length: u32,
    pub context_size: u32,
    pub vocab_size: u32,
    pub embedding_length: u32,
    pub layer_count: u32,
    pub head_count: u32,
    pub head_count_kv: u32,
    pub threads: u32,
    pub backend: String,
    pub gpu: Option<GpuInfo>,
    pub gpu_fallback: Option<String>,
}

impl From<&engine::ModelInfo> for ModelInfo {
    fn from(i: &engine::ModelInfo) -> Self {
        ModelInfo {
            arch: i.arch.clone(),
            name: i.name.clone(),
            file_type: i.file_type.clone(),
            n_params: i.n_params,
            tensor_count: i.tensor_count,
            context_length: i.context_length,
            context_size: i.context_size,
            vocab_size: i.vocab_size,
            embedding_length: i.embedding_length,
            layer_count: i.layer_count,
            head_count: i.head_count,
            head_count_kv: i.head_count_kv,
            threads: i.threads,
            backend: i.backend.clone(),
            gpu: i.gpu.as_ref().map(|g| GpuInfo {
                adapter: g.adapter.clone(),
                api: g.api.clone(),
                device_type: g.device_type.clone(),
            }),
            gpu_fallback: i.gpu_fallback.clone(),
        }
    }
}

/// `engine::GenerateParams` as a JS object.
#[napi(object)]
pub struct NativeGenerateOptions {
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_k: Option<i32>,
    pub top_p: Option<f64>,
    pub min_p: Option<f64>,
    pub repeat_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub penalty_last_n: Option<u32>,
    pub seed: Option<f64>,
    pub stop: Option<Vec<String>>,
    pub special: Option<bool>,
}

impl From<NativeGenerateOptions> for GenerateParams {
    fn from(o: NativeGenerateOptions) -> Self {
        GenerateParams {
            max_tokens: o.max_tokens,
            temperature: o.temperature,
            top_k: o.top_k,
            top_p: o.top_p,
            min_p: o.min_p,
            repeat_penalty: o.repeat_penalty,
            frequency_penalty: o.frequency_penalty,
            presence_penalty: o.presence_penalty,
            penalty_last_n: o.penalty_last_n,
            seed: o.seed,
            stop: o.stop,
            special: o.special,
        }
    }
}

#[napi(object)]
pub struct NativeChatMessage {
    pub role: String,
    pub content: String,
}

#[napi(object)]
pub struct NativeChunk {
    pub text: String,
    /// Absent on a final chunk that only flushes held-back text.
    pub token: Option<u32>,
}

/// Loads a GGUF file by memory-mapping it (on a worker thread).
#[napi]
pub fn load_model(path: String, opts: Option<NativeLoadOptions>) -> AsyncTask<LoadTask> {
    load_task(Source::Path(path), opts)
}

/// Loads a GGUF file from bytes (copied once, on the JS thread).
#[napi]
pub fn load_model_from_bytes(
    bytes: Uint8Array,
    opts: Option<NativeLoadOptions>,
) -> AsyncTask<LoadTask> {
    load_task(Source::Bytes(bytes.to_vec()), opts)
}

fn load_task(source: Source, opts: Option<NativeLoadOptions>) -> AsyncTask<LoadTask> {
    let o = opts.unwrap_or(NativeLoadOptions {
        threads: None,
        context_size: None,
        gpu: None,
    });
    AsyncTask::new(LoadTask {
        source: Some(source),
        gpu: o.gpu,
        opts: EngineOptions {
            threads: o.threads.unwrap_or(0) as usize,
            context_size: o.context_size.unwrap_or(0) as usize,
            gpu: Default::default(),
        },
    })
}

#[napi]
pub struct NativeModel {
    engine: Mutex<Option<Arc<Engine>>>,
}

impl NativeModel {
    pub(crate) fn new(engine: Arc<Engine>) -> NativeModel {
        NativeModel {
            engine: Mutex::new(Some(engine)),
        }
    }

    fn engine(&self) -> Result<Arc<Engine>, NodeError> {
        self.engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(NodeError::Disposed)
    }

    fn start(
        &self,
        prompt: impl FnOnce(&GenerateParams) -> Prompt,
        opts: Option<NativeGenerateOptions>,
    ) -> napi::Result<NativeGeneration, &'static str> {
        let engine = self.engine()?;
        let params: GenerateParams = opts.map(Into::into).unwrap_or_default();
        let generation = engine.start(prompt(&params), params.options());
        Ok(NativeGeneration {
            generation: Arc::new(generation),
        })
    }
}

#[napi]
impl NativeModel {
    #[napi(getter)]
    pub fn info(&self) -> napi::Result<ModelInfo, &'static str> {
        Ok(self.engine()?.info().into())
    }

    /// Token ids of `text` (no BOS); `special` parses control-token text into its ids.
    #[napi]
    pub fn tokenize(
        &self,
        text: String,
        special: Option<bool>,
    ) -> napi::Result<Vec<u32>, &'static str> {
        let engine = self.engine()?;
        Ok(engine
            .tokenize(&text, special.unwrap_or(false))
            .map_err(NodeError::from)?)
    }

    #[napi]
    pub fn detokenize(&self, ids: Vec<u32>) -> napi::Result<String, &'static str> {
        let engine = self.engine()?;
        Ok(engine.detokenize(&ids).map_err(NodeError::from)?)
    }

    /// The chat prompt as text (the file's template, or the built-in fallback).
    #[napi]
    pub fn apply_chat_template(
        &self,
        messages: Vec<NativeChatMessage>,
        add_generation_prompt: Option<bool>,
    ) -> napi::Result<String, &'static str> {
        let engine = self.engine()?;
        let messages = chat_messages(messages);
        Ok(engine
            .render_chat(&messages, add_generation_prompt.unwrap_or(true))
            .map_err(NodeError::from)?)
    }

    /// A generation after `prompt`; nothing runs until the first `next()`.
    #[napi]
    pub fn generate(
        &self,
        prompt: String,
        opts: Option<NativeGenerateOptions>,
    ) -> napi::Result<NativeGeneration, &'static str> {
        self.start(|p| p.text_prompt(prompt), opts)
    }

    /// A generation answering `messages` through the chat template.
    #[napi]
    pub fn chat(
        &self,
        messages: Vec<NativeChatMessage>,
        opts: Option<NativeGenerateOptions>,
    ) -> napi::Result<NativeGeneration, &'static str> {
        self.start(|_| Prompt::Chat(chat_messages(messages)), opts)
    }

    /// Drops this handle's reference; the weights are unmapped once running generations end.
    #[napi]
    pub fn dispose(&self) {
        self.engine.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

fn chat_messages(messages: Vec<NativeChatMessage>) -> Vec<ChatMessage> {
    messages
        .into_iter()
        .map(|m| ChatMessage::new(m.role, m.content))
        .collect()
}

#[napi]
pub struct NativeGeneration {
    generation: Arc<Generation>,
}

#[napi]
impl NativeGeneration {
    /// Runs one step on a worker thread: the next chunk, or `null` when finished. Callers
    /// must not have two `next()` calls in flight (the JS layer serializes them).
    #[napi]
    pub fn next(&self) -> AsyncTask<StepTask> {
        AsyncTask::new(StepTask(self.generation.clone()))
    }

    /// Stops at the next check; the step after it rejects with code `ABORT_ERR`.
    #[napi]
    pub fn cancel(&self) {
        self.generation.cancel();
    }

    /// Ends the generation and frees its KV cache (now, or when the step in flight ends).
    #[napi]
    pub fn close(&self) {
        self.generation.close();
    }

    /// `stop` or `length` once finished, else `null`.
    #[napi(getter)]
    pub fn finish_reason(&self) -> Option<&'static str> {
        self.generation.finish_reason()
    }

    /// Prompt tokens (BOS included), known after the first step.
    #[napi(getter)]
    pub fn prompt_tokens(&self) -> Option<u32> {
        self.generation.n_prompt().map(|n| n as u32)
    }
}
