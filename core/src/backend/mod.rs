//! CPU and (later) GPU backends.
pub mod cpu;
