//! Opening a wgpu device: the adapter choice (hardware first; a software adapter such as
//! lavapipe or SwiftShader only when asked), its limits, and errors as `ERR_GPU_*`.
//!
//! Natively every call that can fail runs in an error scope that is popped at once. WebGPU
//! reports errors asynchronously, so in the browser they are collected by the device's
//! uncaptured-error and lost callbacks and surface at the next await (the load's end, each
//! read-back) through [`GpuDevice::check_late_error`].

use std::sync::{Arc, Mutex};

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
    /// Whether passes write a timestamp between dispatches ([`super::profile`]).
    pub profiling: bool,
    /// The first error the device reported outside an error scope (or its loss), as its
    /// kind and message: every later check rebuilds the same error from them.
    late_error: Arc<Mutex<Option<(GpuErrorKind, String)>>>,
}

fn gpu_kind(e: &wgpu::Error) -> GpuErrorKind {
    match e {
        wgpu::Error::OutOfMemory { .. } => GpuErrorKind::OutOfMemory,
        _ => GpuErrorKind::Lost,
    }
}

fn gpu_error(e: &wgpu::Error, what: &str) -> Error {
    Error::gpu(gpu_kind(e), format!("{what}: {e}"))
}

fn keep_first(slot: &Mutex<Option<(GpuErrorKind, String)>>, kind: GpuErrorKind, message: String) {
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    slot.get_or_insert((kind, message));
}

fn unavailable(message: impl Into<String>) -> Error {
    Error::gpu(GpuErrorKind::Unavailable, message)
}

impl GpuDevice {
    /// The best adapter `choice` allows, with the adapter's own limits (a model's biggest
    /// bindings need more than wgpu's defaults).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(choice: AdapterChoice) -> Result<GpuDevice> {
        pollster::block_on(Self::open_async(choice))
    }

    /// [`GpuDevice::open`] for the browser, where adapters and devices are promises.
    pub async fn open_async(choice: AdapterChoice) -> Result<GpuDevice> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
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
                    AdapterChoice::Any if cfg!(target_arch = "wasm32") => {
                        "no WebGPU adapter (navigator.gpu is missing or gave none)"
                    }
                    AdapterChoice::Any => "no GPU adapter (no Vulkan, Metal or DX12 driver found)",
                })
            })?;
        let ai = adapter.get_info();
        let limits = adapter.limits();
        let profiling = super::profile::wanted(&adapter);
        let features = if profiling {
            super::profile::FEATURES
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("wasm-chord"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(format!("{}: {e}", ai.name)))?;
        let late_error = Arc::new(Mutex::new(None));
        let slot = late_error.clone();
        device.on_uncaptured_error(Arc::new(move |e| {
            keep_first(&slot, gpu_kind(&e), e.to_string());
        }));
        let slot = late_error.clone();
        device.set_device_lost_callback(move |reason, message| {
            let message = format!("device lost ({reason:?}): {message}");
            keep_first(&slot, GpuErrorKind::Lost, message);
        });
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
            profiling,
            late_error,
        })
    }

    /// The first error the device reported by itself (a validation or allocation failure
    /// outside a scope, or the device's loss), if any; later calls see it again.
    pub fn check_late_error(&self) -> Result<()> {
        let slot = self.late_error.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            None => Ok(()),
            Some((kind, message)) => Err(Error::gpu(*kind, message.clone())),
        }
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
    #[cfg(not(target_arch = "wasm32"))]
    pub fn checked<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let v = f();
        let invalid = pollster::block_on(invalid.pop());
        let oom = pollster::block_on(oom.pop());
        if let Some(e) = oom.or(invalid) {
            return Err(gpu_error(&e, what));
        }
        Ok(v)
    }

    /// In the browser a scope's result is a promise: `f`'s errors arrive later through
    /// [`GpuDevice::check_late_error`]; the ones already reported fail here.
    #[cfg(target_arch = "wasm32")]
    pub fn checked<T>(&self, _what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let v = f();
        self.check_late_error()?;
        Ok(v)
    }
}

/// Runs `f` (a whole load) in one error scope of `device` and reports the first allocation or
/// validation failure in it, once the device has checked everything `f` asked of it.
pub async fn scoped<T>(device: &wgpu::Device, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let invalid = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let v = f();
    let invalid = invalid.pop().await;
    let oom = oom.pop().await;
    let v = v?;
    match oom.or(invalid) {
        Some(e) => Err(gpu_error(&e, "GPU")),
        None => Ok(v),
    }
}
