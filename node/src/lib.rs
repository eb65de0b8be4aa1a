//! wasm-chord's Node addon: the `#[napi]` surface only. Types are converted here; loading
//! lives in `model.rs`, generation in `generate.rs`, error mapping in `error.rs`. The public
//! JS API (`js/`, documented in `index.d.ts`) wraps these native classes. Calls into the core
//! run inside `catch_panic` (here and in the tasks): no panic may cross napi.

mod error;
mod generate;
mod model;

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{AsyncTask, Uint8Array};
use napi_derive::napi;
use wasm_chord_core::chat::ChatMessage;
use wasm_chord_core::generate::GenerateOptions;
use wasm_chord_core::model::LoadOptions;
use wasm_chord_core::sample::SamplerParams;

use error::{catch_panic, NodeError};
use generate::{GenState, Prompt, Request, StepTask};
use model::{LoadTask, Loaded, Source};

#[napi(object)]
pub struct NativeLoadOptions {
    /// Worker threads for matmuls (0 or absent: one per core).
    pub threads: Option<u32>,
    /// KV-cache positions of each generation (absent: min(training context, 2048)).
    pub context_size: Option<u32>,
}

#[napi(object)]
pub struct ModelInfo {
    /// `general.architecture`: `llama`, `gemma3`.
    pub arch: String,
    /// `general.name`
    pub name: Option<String>,
    /// `general.file_type` as llama.cpp names it (`Q4_1`, `Q4_K_M`, ...).
    pub file_type: Option<String>,
    /// Sum of all tensors' element counts.
    pub n_params: f64,
    pub tensor_count: u32,
    /// `{arch}.context_length`: the training context.
    pub context_length: u32,
    /// Positions each generation's KV cache holds.
    pub context_size: u32,
    pub vocab_size: u32,
    pub embedding_length: u32,
    pub layer_count: u32,
    pub head_count: u32,
    pub head_count_kv: u32,
    pub threads: u32,
}

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
    /// A non-negative integer (checked by the JS layer; at most 2^53).
    pub seed: Option<f64>,
    pub stop: Option<Vec<String>>,
    /// Parse control-token text in a plain prompt (chat prompts always are).
    pub special: Option<bool>,
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
    let opts = opts.unwrap_or(NativeLoadOptions {
        threads: None,
        context_size: None,
    });
    AsyncTask::new(LoadTask {
        source: Some(source),
        opts: LoadOptions {
            threads: opts.threads.unwrap_or(0) as usize,
            ..LoadOptions::default()
        },
        context_size: opts.context_size.unwrap_or(0) as usize,
    })
}

#[napi]
pub struct NativeModel {
    loaded: Mutex<Option<Arc<Loaded>>>,
}

impl NativeModel {
    pub(crate) fn new(loaded: Arc<Loaded>) -> NativeModel {
        NativeModel {
            loaded: Mutex::new(Some(loaded)),
        }
    }

    fn loaded(&self) -> Result<Arc<Loaded>, NodeError> {
        self.loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(NodeError::Disposed)
    }

    fn start(
        &self,
        prompt: Prompt,
        opts: Option<NativeGenerateOptions>,
    ) -> napi::Result<NativeGeneration, &'static str> {
        let loaded = self.loaded()?;
        let opts = generate_options(opts);
        Ok(NativeGeneration {
            state: Arc::new(GenState::new(Request {
                loaded,
                prompt: prompt_of(prompt, &opts.1),
                n_ctx: 0,
                opts: opts.0,
            })),
        })
    }
}

fn prompt_of(prompt: Prompt, special: &Option<bool>) -> Prompt {
    match prompt {
        Prompt::Text { text, .. } => Prompt::Text {
            text,
            special: special.unwrap_or(false),
        },
        chat => chat,
    }
}

fn generate_options(opts: Option<NativeGenerateOptions>) -> (GenerateOptions, Option<bool>) {
    let mut out = GenerateOptions::default();
    let Some(o) = opts else {
        return (out, None);
    };
    let s: &mut SamplerParams = &mut out.sampler;
    if let Some(v) = o.max_tokens {
        out.max_tokens = v as usize;
    }
    if let Some(v) = o.temperature {
        s.temperature = v as f32;
    }
    if let Some(v) = o.top_k {
        s.top_k = v;
    }
    if let Some(v) = o.top_p {
        s.top_p = v as f32;
    }
    if let Some(v) = o.min_p {
        s.min_p = v as f32;
    }
    if let Some(v) = o.repeat_penalty {
        s.repeat_penalty = v as f32;
    }
    if let Some(v) = o.frequency_penalty {
        s.frequency_penalty = v as f32;
    }
    if let Some(v) = o.presence_penalty {
        s.presence_penalty = v as f32;
    }
    if let Some(v) = o.penalty_last_n {
        s.penalty_last_n = v as usize;
    }
    if let Some(v) = o.seed {
        s.seed = v as u64;
    }
    if let Some(v) = o.stop {
        out.stop = v;
    }
    (out, o.special)
}

#[napi]
impl NativeModel {
    #[napi(getter)]
    pub fn info(&self) -> napi::Result<ModelInfo, &'static str> {
        let l = self.loaded()?;
        let i = &l.info;
        Ok(ModelInfo {
            arch: i.arch.clone(),
            name: i.name.clone(),
            file_type: i.file_type.clone(),
            ..*i
        })
    }

    /// Token ids of `text` (no BOS); `special` parses control-token text into its ids.
    #[napi]
    pub fn tokenize(
        &self,
        text: String,
        special: Option<bool>,
    ) -> napi::Result<Vec<u32>, &'static str> {
        let l = self.loaded()?;
        Ok(catch_panic(|| {
            Ok(l.model.tokenizer.encode(&text, special.unwrap_or(false)))
        })?)
    }

    #[napi]
    pub fn detokenize(&self, ids: Vec<u32>) -> napi::Result<String, &'static str> {
        let l = self.loaded()?;
        Ok(catch_panic(|| Ok(l.model.tokenizer.decode(&ids)?))?)
    }

    /// The chat prompt as text (the file's template, or the built-in fallback).
    #[napi]
    pub fn apply_chat_template(
        &self,
        messages: Vec<NativeChatMessage>,
        add_generation_prompt: Option<bool>,
    ) -> napi::Result<String, &'static str> {
        let l = self.loaded()?;
        let messages = chat_messages(messages);
        Ok(catch_panic(|| {
            let t = l.chat_template()?;
            Ok(t.render(&messages, add_generation_prompt.unwrap_or(true))?)
        })?)
    }

    /// A generation after `prompt`; nothing runs until the first `next()`.
    #[napi]
    pub fn generate(
        &self,
        prompt: String,
        opts: Option<NativeGenerateOptions>,
    ) -> napi::Result<NativeGeneration, &'static str> {
        self.start(
            Prompt::Text {
                text: prompt,
                special: false,
            },
            opts,
        )
    }

    /// A generation answering `messages` through the chat template.
    #[napi]
    pub fn chat(
        &self,
        messages: Vec<NativeChatMessage>,
        opts: Option<NativeGenerateOptions>,
    ) -> napi::Result<NativeGeneration, &'static str> {
        self.start(Prompt::Chat(chat_messages(messages)), opts)
    }

    /// Drops this handle's reference; the weights are unmapped once running generations end.
    #[napi]
    pub fn dispose(&self) {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner()).take();
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
    state: Arc<GenState>,
}

#[napi]
impl NativeGeneration {
    /// Runs one step on a worker thread: the next chunk, or `null` when finished. Callers
    /// must not have two `next()` calls in flight (the JS layer serializes them).
    #[napi]
    pub fn next(&self) -> AsyncTask<StepTask> {
        AsyncTask::new(StepTask(self.state.clone()))
    }

    /// Stops at the next check; the step after it rejects with code `ABORT_ERR`.
    #[napi]
    pub fn cancel(&self) {
        self.state.cancel();
    }

    /// Ends the generation and frees its KV cache (now, or when the step in flight ends).
    #[napi]
    pub fn close(&self) {
        self.state.close();
    }

    /// `stop` or `length` once finished, else `null`.
    #[napi(getter)]
    pub fn finish_reason(&self) -> Option<&'static str> {
        self.state.finish_reason()
    }

    /// Prompt tokens (BOS included), known after the first step.
    #[napi(getter)]
    pub fn prompt_tokens(&self) -> Option<u32> {
        self.state.n_prompt().map(|n| n as u32)
    }
}
