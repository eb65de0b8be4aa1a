//! Generation, pulled one token at a time: each JS `next()` runs one `Generation::step` (the
//! core facade) on a libuv worker thread and resolves with the chunk, so the event loop never
//! waits on the model and nothing runs ahead of the consumer.

use std::sync::Arc;

use napi::bindgen_prelude::{Env, Task};
use wasm_chord_core::engine::Generation;
use wasm_chord_core::generate::Chunk;

use crate::error::NodeError;
use crate::NativeChunk;

/// One `next()`: a step on a libuv worker thread.
pub struct StepTask(pub Arc<Generation>);

impl Task for StepTask {
    type Output = Result<Option<Chunk>, NodeError>;
    type JsValue = Option<NativeChunk>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(self.0.step().map_err(NodeError::from))
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
