//! CPU backend: the element-wise ops of a forward pass, matmuls over quantized weights
//! (through `crate::quant` kernels), and the thread pool that splits them. `simd128.rs` holds
//! the wasm32 SIMD twins of the ops whose x86 build is vectorised (`fma_fn!`).

mod fma;
pub mod matmul;
pub mod ops;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;
#[cfg(feature = "threads")]
mod spin_pool;
pub mod threads;

pub(crate) use fma::fma_fn;
pub use matmul::{MatmulScratch, QMatrix};
pub use threads::{for_row_chunks, ThreadPool};
