//! Opening a wgpu device: the adapter choice (hardware first; a software adapter such as
//! lavapipe or SwiGLU only when asked), its limits, and errors as `ERR_GPU_*`.

use super::GpuInfo;
use crate::error::{Error, GpuErrorKind, Result};

/// Which adapters may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterChoice {
    /// A real GPU only (integrated or discrete, or a virtual one).
    Hardware,
    /// Any adapter, software (CPU) adapters included.
    Any,
}

pub struct GpuDevice {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: GpuInfo,
    pub limits: wgpu::Limits,
}

fn unavailable(message: impl Into<String>) -> Error {
    Error::gpu(GpuErrorKind::Unavailable, message)
}

impl GpuDevice {
    /// The best adapter `choice` allows, with the adapter's own limits (a model's biggest
    /// bindings need more than wgpu's defaults).
    pub fn open(choice: AdapterChoice) -> Result<GpuDevice> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other => 3,
            wgpu::DeviceType::Cpu => 4,
        };
        let adapter = adapters
            .into_iter()
            .filter(|a| {
                choice == AdapterChoice::Any || a.get_info().device_type != wgpu::DeviceType::Cpu
            })
            .min_by_key(rank)
            .ok_or_else(|| {
                unavailable(match choice {
                    AdapterChoice::Hardware => {
                        "no hardware GPU adapter (pass gpu: true to allow a software one)"
                    }
                    AdapterChoice::Any => "no GPU adapter (no Vulkan, Metal or DX12 driver found)",
                })
            })?;
        let ai = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("wasm-chord"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| unavailable(format!("{}: {e}", ai.name)))?;
        let device_type = match ai.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete",
            wgpu::DeviceType::IntegratedGpu => "integrated",
            wgpu::DeviceType::VirtualGpu => "virtual",
            wgpu::DeviceType::Cpu => "cpu",
            wgpu::DeviceType::Other => "other",
        };
        Ok(GpuDevice {
            device,
            queue,
            info: GpuInfo {
                adapter: ai.name.clone(),
                api: ai.backend.to_string().to_lowercase(),
                device_type: device_type.into(),
            },
            limits,
        })
    }

    /// The largest buffer one binding may cover (and one buffer may be).
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    /// A storage buffer of `size` bytes, or `ERR_GPU_OUT_OF_MEMORY`/`ERR_GPU_LIMIT`.
    pub fn storage(
        &self,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        if size > self.max_binding() {
            return Err(Error::gpu(
                GpuErrorKind::Limit,
                format!(
                    "{label}: {size} bytes is over the adapter's {} byte binding limit",
                    self.max_binding()
                ),
            ));
        }
        self.checked(label, || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(4).next_multiple_of(4),
                usage,
                mapped_at_creation: false,
            })
        })
    }

    /// Runs `f` in an error scope: an allocation failure becomes `ERR_GPU_OUT_OF_MEMORY`, a
    /// validation error `ERR_GPU_LOST` (neither should pass silently).
    pub fn checked<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let v = f();
        let invalid = pollster::block_on(invalid.pop());
        let oom = pollster::block_on(oom.pop());
        if let Some(e) = oom {
            return Err(Error::gpu(
                GpuErrorKind::OutOfMemory,
                format!("{what}: {e}"),
            ));
        }
        if let Some(e) = invalid {
            return Err(Error::gpu(GpuErrorKind::Lost, format!("{what}: {e}")));
        }
        Ok(v)
    }
}
