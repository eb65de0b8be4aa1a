//! wasm-chord-core: run GGUF language models on the CPU, natively and in wasm32.
//!
//! Data flow, one module per step:
//! bytes (`&[u8]`: an mmap in Node, an ArrayBuffer in the browser)
//!   → [`gguf`] parses metadata and tensor infos without copying weights
//!   → [`model`] reads hyperparameters and binds weight slices, one forward pass per arch
//!     (matmuls through [`quant`] kernels and [`backend::cpu`] ops)
//!   → logits → [`sample`] picks a token → [`tokenizer`] turns tokens into text.
//! [`chat`] renders the file's chat template; [`generate`] drives prefill + decode with a
//! cancel flag and stop rules; [`engine`] is the facade the Node and wasm bindings call.
//! Every failure is an [`Error`] with a stable [`ErrorCode`].

// No panics on input: every failure is an `Error` (STYLE.md §3).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod backend;
pub mod bytes;
pub mod chat;
pub mod engine;
pub mod error;
pub mod generate;
pub mod gguf;
pub mod model;
pub mod quant;
pub mod ready;
pub mod sample;
pub mod tokenizer;

pub use error::{Error, ErrorCode, Result};
