//! GPU backend on wgpu: Vulkan, Metal or DX12 natively (feature `gpu`). The kernels are the
//! WGSL files in `shaders/`; `shaders.rs` (always built, so the shader tests need no GPU)
//! assembles them.

pub mod shaders;
