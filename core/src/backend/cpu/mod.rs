//! CPU backend: the element-wise ops of a forward pass, matmuls over quantized weights
//! (through `crate::quant` kernels), and the thread pool that splits them.

pub mod matmul;
pub mod ops;
pub mod threads;

pub use matmul::{MatmulScratch, QMatrix};
pub use threads::ThreadPool;
