//! CPU and GPU backends.
pub mod cpu;
pub mod gpu;
