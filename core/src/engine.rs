//! The facade both bindings call: node/ and wasm/ only convert types, pick threads and map
//! errors; everything else a binding needs is here, once.
//!
//! - [`Engine::load`]: bytes → a loaded model with its [`ModelInfo`] and chat template;
//!   `tokenize`, `detokenize`, `render_chat`.
//! - [`Engine::start`] → a [`Generation`]: pull one [`Chunk`] per `step()`, `cancel()`,
//!   `close()`. Nothing runs until the first step, which tokenizes the prompt and allocates
//!   the session (KV cache), so a binding can run it off its UI thread.
//! - [`Vocab`]: the text half alone (tokenizer + chat template), parsed from a file's header
//!   only; a browser page uses it for the synchronous calls while the model runs in a worker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

pub use crate::backend::gpu::GpuInfo;
use crate::bytes::ModelBytes;
use crate::chat::{ChatMessage, ChatTemplate};
use crate::error::{Error, Result};
use crate::generate::{Chunk, FinishReason, GenerateOptions, Generator};
use crate::gguf::{keys, GgufFile};
pub use crate::model::GpuMode;
use crate::model::{LoadOptions, Model, Session};
use crate::tokenizer::Tokenizer;

/// Context size of sessions when the caller gives none: the training context, capped here
/// because every session allocates its whole KV cache up front.
pub const DEFAULT_CONTEXT_SIZE: usize = 2048;

#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Worker threads for matmuls; 0 = one per core.
    pub threads: usize,
    /// KV-cache positions of each generation; 0 = min(training context, 2048).
    pub context_size: usize,
    /// JS `gpu`: `'auto'`, `true` or `false` (see [`GpuMode::from_js`]).
    pub gpu: GpuMode,
}

/// What `info()` reports in JS (index.d.ts `ModelInfo`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
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
    /// `"cpu"` or `"gpu"`: where the forward passes run.
    pub backend: String,
    /// The GPU adapter in use.
    pub gpu: Option<GpuInfo>,
    /// Why `gpu: 'auto'` runs on the CPU.
    pub gpu_fallback: Option<String>,
}

/// A chat template compiled on first use (most callers never chat).
#[derive(Default)]
struct TemplateCell(OnceLock<Result<ChatTemplate>>);

impl TemplateCell {
    /// The file's template, or the built-in fallback when it has none.
    fn get(&self, gguf: &GgufFile, tok: &Tokenizer) -> Result<&ChatTemplate> {
        self.0
            .get_or_init(|| {
                let text = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("");
                ChatTemplate::from_gguf(gguf, text(tok.bos()), text(tok.eos()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A loaded model, shared by every generation on it.
pub struct Engine {
    model: Arc<Model>,
    n_ctx: usize,
    info: ModelInfo,
    template: TemplateCell,
}

fn load_options(opts: &EngineOptions) -> LoadOptions {
    LoadOptions {
        threads: opts.threads,
        gpu: opts.gpu,
        ..LoadOptions::default()
    }
}

impl Engine {
    /// Parses and binds the model in `bytes`; whole or nothing.
    pub fn load(bytes: Arc<dyn ModelBytes>, opts: &EngineOptions) -> Result<Arc<Engine>> {
        let model = catch_panic(|| Model::load(bytes, &load_options(opts)))?;
        Ok(Engine::new(model, opts))
    }

    /// [`Engine::load`] for WebGPU, whose device and uploads are promises.
    pub async fn load_async(
        bytes: Arc<dyn ModelBytes>,
        opts: &EngineOptions,
    ) -> Result<Arc<Engine>> {
        let model = Model::load_async(bytes, &load_options(opts)).await?;
        Ok(Engine::new(model, opts))
    }

    fn new(model: Model, opts: &EngineOptions) -> Arc<Engine> {
        let n_ctx = match opts.context_size {
            0 => model.hparams.n_ctx_train.min(DEFAULT_CONTEXT_SIZE),
            n => n,
        };
        let info = model_info(&model, n_ctx);
        Arc::new(Engine {
            model: Arc::new(model),
            n_ctx,
            info,
            template: TemplateCell::default(),
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// The file's header (metadata and tensor infos): what [`Vocab::from_header`] needs.
    pub fn header_bytes(&self) -> &[u8] {
        let file = self.model.file_bytes();
        let n = usize::try_from(self.model.gguf.header_len()).unwrap_or(usize::MAX);
        file.get(..n).unwrap_or(file)
    }

    /// Token ids of `text` (no BOS); `special` parses control-token text into its ids.
    pub fn tokenize(&self, text: &str, special: bool) -> Result<Vec<u32>> {
        catch_panic(|| Ok(self.model.tokenizer.encode(text, special)))
    }

    pub fn detokenize(&self, ids: &[u32]) -> Result<String> {
        catch_panic(|| self.model.tokenizer.decode(ids))
    }

    /// The chat prompt as text (the file's template, or the built-in fallback).
    pub fn render_chat(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String> {
        catch_panic(|| {
            let t = self.template.get(&self.model.gguf, &self.model.tokenizer)?;
            t.render(messages, add_generation_prompt)
        })
    }

    /// A generation after `prompt`; nothing runs until its first `step()`.
    pub fn start(self: &Arc<Self>, prompt: Prompt, opts: GenerateOptions) -> Generation {
        Generation::new(Request {
            engine: self.clone(),
            prompt,
            opts,
        })
    }
}

fn model_info(model: &Model, n_ctx: usize) -> ModelInfo {
    let gguf = &model.gguf;
    let hp = &model.hparams;
    let file_type = GgufFile::opt(gguf.get_u32(keys::GENERAL_FILE_TYPE))
        .ok()
        .flatten();
    ModelInfo {
        arch: hp.arch.gguf_name().to_string(),
        name: GgufFile::opt(gguf.get_str(keys::GENERAL_NAME))
            .ok()
            .flatten()
            .map(str::to_string),
        file_type: file_type.map(|id| keys::file_type_name(id).unwrap_or("unknown").to_string()),
        n_params: gguf.tensors.iter().map(|t| t.n_elements() as f64).sum(),
        tensor_count: gguf.tensors.len() as u32,
        context_length: hp.n_ctx_train as u32,
        context_size: n_ctx as u32,
        vocab_size: hp.n_vocab as u32,
        embedding_length: hp.n_embd as u32,
        layer_count: hp.n_layer as u32,
        head_count: hp.n_head as u32,
        head_count_kv: hp.n_head_kv as u32,
        threads: model.n_threads() as u32,
        backend: model.backend().backend.to_string(),
        gpu: model.backend().gpu.clone(),
        gpu_fallback: model.backend().gpu_fallback.clone(),
    }
}

/// The text half of a model alone: tokenizer and chat template, from the file's header.
pub struct Vocab {
    gguf: GgufFile,
    tokenizer: Tokenizer,
    template: TemplateCell,
}

impl Vocab {
    /// Builds from the first bytes of a file of `file_len` bytes: at least its header
    /// (metadata and tensor infos; [`GgufFile::header_len`] of a parsed file says how many).
    pub fn from_header(header: &[u8], file_len: u64) -> Result<Vocab> {
        catch_panic(|| {
            let gguf = GgufFile::parse_header(header, file_len)?;
            let tokenizer = Tokenizer::from_gguf(&gguf)?;
            Ok(Vocab {
                gguf,
                tokenizer,
                template: TemplateCell::default(),
            })
        })
    }

    pub fn tokenize(&self, text: &str, special: bool) -> Result<Vec<u32>> {
        catch_panic(|| Ok(self.tokenizer.encode(text, special)))
    }

    pub fn detokenize(&self, ids: &[u32]) -> Result<String> {
        catch_panic(|| self.tokenizer.decode(ids))
    }

    pub fn render_chat(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String> {
        catch_panic(|| {
            let t = self.template.get(&self.gguf, &self.tokenizer)?;
            t.render(messages, add_generation_prompt)
        })
    }
}

/// Generation options as the JS API names them (`GenerateOptions` in index.d.ts), every one
/// optional; the bindings convert their own objects into this and the core applies defaults.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GenerateParams {
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_k: Option<i32>,
    pub top_p: Option<f64>,
    pub min_p: Option<f64>,
    pub repeat_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub penalty_last_n: Option<u32>,
    /// A non-negative integer (the JS layer checks it; at most 2^53).
    pub seed: Option<f64>,
    pub stop: Option<Vec<String>>,
    /// Parse control-token text in a plain prompt (chat prompts always are).
    pub special: Option<bool>,
}

impl GenerateParams {
    pub fn options(&self) -> GenerateOptions {
        let mut out = GenerateOptions::default();
        let s = &mut out.sampler;
        let set = |dst: &mut f32, v: Option<f64>| {
            if let Some(v) = v {
                *dst = v as f32;
            }
        };
        set(&mut s.temperature, self.temperature);
        set(&mut s.top_p, self.top_p);
        set(&mut s.min_p, self.min_p);
        set(&mut s.repeat_penalty, self.repeat_penalty);
        set(&mut s.frequency_penalty, self.frequency_penalty);
        set(&mut s.presence_penalty, self.presence_penalty);
        if let Some(v) = self.top_k {
            s.top_k = v;
        }
        if let Some(v) = self.penalty_last_n {
            s.penalty_last_n = v as usize;
        }
        if let Some(v) = self.seed {
            s.seed = v as u64;
        }
        if let Some(v) = self.max_tokens {
            out.max_tokens = v as usize;
        }
        if let Some(v) = &self.stop {
            out.stop = v.clone();
        }
        out
    }

    /// The prompt of a plain-text generation.
    pub fn text_prompt(&self, text: String) -> Prompt {
        Prompt::Text {
            text,
            special: self.special.unwrap_or(false),
        }
    }
}

pub enum Prompt {
    /// Plain text; `special` parses control-token text (`<|im_start|>`) into its ids.
    Text { text: String, special: bool },
    /// Rendered with the model's chat template, generation prompt appended.
    Chat(Vec<ChatMessage>),
}

/// Everything needed to start; turned into a `Generator` by the first step.
struct Request {
    engine: Arc<Engine>,
    prompt: Prompt,
    opts: GenerateOptions,
}

enum Stage {
    Pending(Box<Request>),
    Running(Box<Generator>),
    Done,
}

/// One generation: a pull-based token stream. `step()` may run on any thread while another
/// calls `cancel()` or `close()`; callers must not run two steps at once.
pub struct Generation {
    stage: Mutex<Stage>,
    /// Set by `cancel()`; mirrored into the generator's own flag once it exists.
    cancel: AtomicBool,
    gen_cancel: Mutex<Option<Arc<AtomicBool>>>,
    /// Set by `close()`: the next chance drops the generator.
    closed: AtomicBool,
    finish: Mutex<Option<FinishReason>>,
    n_prompt: Mutex<Option<usize>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Panics are caught inside the lock (catch_panic), so poisoning cannot leave bad state.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Generation {
    fn new(req: Request) -> Generation {
        Generation {
            stage: Mutex::new(Stage::Pending(Box::new(req))),
            cancel: AtomicBool::new(false),
            gen_cancel: Mutex::new(None),
            closed: AtomicBool::new(false),
            finish: Mutex::new(None),
            n_prompt: Mutex::new(None),
        }
    }

    /// Stops generation at the next check (between tokens or prefill micro-batches); the
    /// step after that fails with `Cancelled`.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        if let Some(flag) = lock(&self.gen_cancel).as_ref() {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Ends the generation and frees its session now, or right after the step in flight.
    pub fn close(&self) {
        self.cancel();
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut stage) = self.stage.try_lock() {
            *stage = Stage::Done;
        }
    }

    /// `stop` or `length` once finished by itself.
    pub fn finish_reason(&self) -> Option<&'static str> {
        lock(&self.finish).map(FinishReason::as_str)
    }

    /// Prompt tokens (BOS included), known after the first step.
    pub fn n_prompt(&self) -> Option<usize> {
        *lock(&self.n_prompt)
    }

    /// Runs one step (blocking). `Ok(None)` once finished or closed.
    pub fn step(&self) -> Result<Option<Chunk>> {
        let result = {
            let mut stage = lock(&self.stage);
            let result = catch_panic(|| crate::ready::ready(self.step_locked(&mut stage))?);
            self.after_step(&mut stage, &result);
            result
        };
        self.free_if_closed();
        result
    }

    /// [`Generation::step`] for WebGPU, whose passes end in a promise. Single-threaded
    /// callers only (the browser's worker): a second step while one is pending is an error.
    // The stage lock is held across the GPU's await on purpose: it is what makes a concurrent
    // step an error (try_lock) instead of a second pass over the same session; `cancel()` and
    // `close()` never wait on it.
    #[allow(clippy::await_holding_lock)]
    pub async fn step_async(&self) -> Result<Option<Chunk>> {
        let result = {
            let Ok(mut stage) = self.stage.try_lock() else {
                return Err(Error::InvalidArgument {
                    name: "step",
                    why: "a step of this generation is already running".into(),
                });
            };
            let result = self.step_locked(&mut stage).await;
            self.after_step(&mut stage, &result);
            result
        };
        self.free_if_closed();
        result
    }

    fn after_step(&self, stage: &mut Stage, result: &Result<Option<Chunk>>) {
        if !matches!(result, Ok(Some(_))) || self.closed.load(Ordering::SeqCst) {
            // Finished, failed or closed: free the session (KV cache) right away.
            *stage = Stage::Done;
        }
    }

    /// `close()` may have run while a step held the lock.
    fn free_if_closed(&self) {
        if self.closed.load(Ordering::SeqCst) {
            if let Ok(mut stage) = self.stage.try_lock() {
                *stage = Stage::Done;
            }
        }
    }

    async fn step_locked(&self, stage: &mut Stage) -> Result<Option<Chunk>> {
        if self.closed.load(Ordering::SeqCst) {
            return Ok(None);
        }
        if self.cancel.load(Ordering::SeqCst) {
            return Err(Error::Cancelled);
        }
        if let Stage::Pending(_) = stage {
            let Stage::Pending(req) = std::mem::replace(stage, Stage::Done) else {
                return Ok(None);
            };
            let gen = self.begin(*req)?;
            *stage = Stage::Running(Box::new(gen));
        }
        let Stage::Running(gen) = stage else {
            return Ok(None);
        };
        let chunk = gen.step_async().await?;
        // No chunk, or the last one (end-of-generation token or stop string), finishes it.
        if chunk.is_none() || gen.finish_reason().is_some() {
            *lock(&self.finish) = gen.finish_reason();
        }
        Ok(chunk)
    }

    /// Tokenizes the prompt, allocates the session and builds the generator.
    fn begin(&self, req: Request) -> Result<Generator> {
        let engine = &req.engine;
        let model = &engine.model;
        let tok = &model.tokenizer;
        let mut ids = Vec::new();
        if tok.add_bos() {
            ids.extend(tok.bos());
        }
        match &req.prompt {
            Prompt::Text { text, special } => ids.extend(tok.encode(text, *special)),
            Prompt::Chat(messages) => {
                let text = engine
                    .template
                    .get(&model.gguf, tok)?
                    .render(messages, true)?;
                ids.extend(tok.encode(&text, true));
            }
        }
        *lock(&self.n_prompt) = Some(ids.len());
        let session = Session::new(model.clone(), engine.n_ctx)?;
        let gen = Generator::new(session, ids, req.opts)?;
        // Publish the generator's flag, then re-check ours: whichever of this and `cancel()`
        // runs second sees the other's write.
        let flag = gen.cancel_flag();
        *lock(&self.gen_cancel) = Some(flag.clone());
        if self.cancel.load(Ordering::SeqCst) {
            flag.store(true, Ordering::SeqCst);
        }
        Ok(gen)
    }
}

/// Runs `f`, turning a panic into [`Error::Internal`]. Natively the panic unwinds to here, so
/// it never crosses napi; in wasm (panic = abort) it traps, and the worker reports the trap.
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(Error::Internal(what))
        }
    }
}
