//! CPU backend: the element-wise ops of a forward pass, matmuls over quantized weights
//! (through `crate::quant` kernels), and the thread pool that splits them.

mod fma;
pub mod matmul;
pub mod ops;
pub mod threads;

pub(crate) use fma::fma_fn;
pub use matmul::{MatmulScratch, QMatrix};
pub use threads::ThreadPool;
