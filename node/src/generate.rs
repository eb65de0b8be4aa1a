//! Generation, pulled one token at a time: each JS `next()` runs one `Generator::step` on a
//! libuv worker thread and resolves with the chunk, so the event loop never waits on the
//! model and nothing runs ahead of the consumer. `break` closes the generation (drops its
//! session and KV cache); `cancel()` stops it between tokens or prefill micro-batches.
//! The first `next()` also tokenizes the prompt and allocates the session, off the JS thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::{Env, Task};
use wasm_chord_core::chat::ChatMessage;
use wasm_chord_core::generate::{Chunk, FinishReason, GenerateOptions, Generator};
use wasm_chord_core::model::Session;
use wasm_chord_core::Error as CoreError;

use crate::error::{catch_panic, NodeError};
use crate::model::Loaded;
use crate::NativeChunk;

pub enum Prompt {
    /// Plain text; `special` parses control-token text (`<|im_start|>`) into its ids.
    Text { text: String, special: bool },
    /// Rendered with the model's chat template, generation prompt appended.
    Chat(Vec<ChatMessage>),
}

/// Everything needed to start; turned into a `Generator` by the first step.
pub struct Request {
    pub loaded: Arc<Loaded>,
    pub prompt: Prompt,
    /// 0 = the model's default.
    pub n_ctx: usize,
    pub opts: GenerateOptions,
}

enum Stage {
    Pending(Box<Request>),
    Running(Box<Generator>),
    Done,
}

/// One generation's state, shared by the JS object and the step in flight.
pub struct GenState {
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

impl GenState {
    pub fn new(req: Request) -> GenState {
        GenState {
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

    pub fn finish_reason(&self) -> Option<&'static str> {
        lock(&self.finish).map(FinishReason::as_str)
    }

    pub fn n_prompt(&self) -> Option<usize> {
        *lock(&self.n_prompt)
    }

    /// Runs one step (blocking; call from a worker thread). `Ok(None)` once finished or closed.
    pub fn step(&self) -> Result<Option<Chunk>, NodeError> {
        let result = {
            let mut stage = lock(&self.stage);
            let result = catch_panic(|| self.step_locked(&mut stage));
            if !matches!(result, Ok(Some(_))) || self.closed.load(Ordering::SeqCst) {
                // Finished, failed or closed: free the session (KV cache) right away.
                *stage = Stage::Done;
            }
            result
        };
        // `close()` may have run while we held the lock.
        if self.closed.load(Ordering::SeqCst) {
            if let Ok(mut stage) = self.stage.try_lock() {
                *stage = Stage::Done;
            }
        }
        result
    }

    fn step_locked(&self, stage: &mut Stage) -> Result<Option<Chunk>, NodeError> {
        if self.closed.load(Ordering::SeqCst) {
            return Ok(None);
        }
        if self.cancel.load(Ordering::SeqCst) {
            return Err(CoreError::Cancelled.into());
        }
        if let Stage::Pending(_) = stage {
            let Stage::Pending(req) = std::mem::replace(stage, Stage::Done) else {
                return Ok(None);
            };
            let gen = self.start(*req)?;
            *stage = Stage::Running(Box::new(gen));
        }
        let Stage::Running(gen) = stage else {
            return Ok(None);
        };
        let chunk = gen.step()?;
        if chunk.is_none() {
            *lock(&self.finish) = gen.finish_reason();
        } else if gen.finish_reason().is_some() {
            // The last chunk (end-of-generation token or stop string) finished it.
            *lock(&self.finish) = gen.finish_reason();
        }
        Ok(chunk)
    }

    /// Tokenizes the prompt, allocates the session and builds the generator.
    fn start(&self, req: Request) -> Result<Generator, NodeError> {
        let model = &req.loaded.model;
        let tok = &model.tokenizer;
        let mut ids = Vec::new();
        if tok.add_bos() {
            ids.extend(tok.bos());
        }
        match &req.prompt {
            Prompt::Text { text, special } => ids.extend(tok.encode(text, *special)),
            Prompt::Chat(messages) => {
                let text = req.loaded.chat_template()?.render(messages, true)?;
                ids.extend(tok.encode(&text, true));
            }
        }
        *lock(&self.n_prompt) = Some(ids.len());
        let n_ctx = match req.n_ctx {
            0 => req.loaded.n_ctx,
            n => n,
        };
        let session = Session::new(model.clone(), n_ctx)?;
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

/// One `next()`: a step on a libuv worker thread.
pub struct StepTask(pub Arc<GenState>);

impl Task for StepTask {
    type Output = Result<Option<Chunk>, NodeError>;
    type JsValue = Option<NativeChunk>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(self.0.step())
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Option<NativeChunk>> {
        match output {
            Ok(chunk) => Ok(chunk.map(|c| NativeChunk {
                text: c.text,
                token: c.token,
            })),
            Err(e) => Err(e.into_js(&env)),
        }
    }
}
