//! GPU backend on wgpu: Vulkan, Metal or DX12 natively, WebGPU in the browser (feature `gpu`). The kernels are the
//! WGSL files in `shaders/`; `shaders.rs` (always built, so the shader tests need no GPU)
//! assembles them. `forward.rs` implements the architectures' [`ForwardOps`] on the device.
//!
//! [`ForwardOps`]: crate::model::ops::ForwardOps

pub mod shaders;

#[cfg(feature = "gpu")]
mod device;
#[cfg(feature = "gpu")]
pub(crate) mod forward;
#[cfg(feature = "gpu")]
pub mod profile;
#[cfg(feature = "gpu")]
mod weights;

#[cfg(feature = "gpu")]
pub use device::{scoped, AdapterChoice, GpuDevice};
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub use forward::{matvec_once, MatvecShape};
#[cfg(feature = "gpu")]
pub use forward::{SubmitStats, SUBMIT_STATS};

/// What the model info reports about the GPU in use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuInfo {
    /// The adapter's name (e.g. "NVIDIA H200", "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub adapter: String,
    /// The graphics API wgpu drives it through: "vulkan", "metal", "dx12", "webgpu".
    pub api: String,
    /// "discrete", "integrated", "virtual", "cpu" or "other".
    pub device_type: String,
}
