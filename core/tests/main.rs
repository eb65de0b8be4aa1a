//! One integration-test binary (ripgrep style): each module tests one concept.
mod util;

mod chat;
mod generate;
mod gguf;
mod gpu;
mod model;
mod quant;
mod sample;
mod shaders;
mod tokenizer;
