//! Device time by kernel, for benchmarks: with `WASM_CHORD_GPU_PROFILE` set (natively, on an
//! adapter with timestamps inside passes), each pass writes a timestamp before every dispatch
//! and after the last, and the time between two is charged to the dispatch's kernel. The
//! timestamps slow the pass a little: a profiled run gives the split, not the totals.

use std::sync::Mutex;

use super::device::GpuDevice;
use crate::error::{Error, GpuErrorKind, Result};

pub(crate) const FEATURES: wgpu::Features =
    wgpu::Features::TIMESTAMP_QUERY.union(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES);

/// Whether to profile on `adapter`.
pub(crate) fn wanted(adapter: &wgpu::Adapter) -> bool {
    !cfg!(target_arch = "wasm32")
        && std::env::var_os("WASM_CHORD_GPU_PROFILE").is_some()
        && adapter.features().contains(FEATURES)
}

/// (kernel, dispatches, nanoseconds) since the last [`take`].
static TOTALS: Mutex<Vec<(String, u64, f64)>> = Mutex::new(Vec::new());

/// The totals by kernel, longest first, and a fresh start.
pub fn take() -> Vec<(String, u64, f64)> {
    let mut t = std::mem::take(&mut *TOTALS.lock().unwrap_or_else(|p| p.into_inner()));
    t.sort_by(|a, b| b.2.total_cmp(&a.2));
    t
}

/// The timestamps of one pass of `n` dispatches.
pub(crate) struct PassTimer {
    set: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    read: wgpu::Buffer,
    n: u32,
}

impl PassTimer {
    pub fn new(dev: &GpuDevice, n: usize) -> PassTimer {
        let n = n as u32 + 1;
        let bytes = n as u64 * wgpu::QUERY_SIZE as u64;
        let buffer = |usage| {
            dev.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as U;
        PassTimer {
            set: dev.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: n,
            }),
            resolved: buffer(U::QUERY_RESOLVE | U::COPY_SRC),
            read: buffer(U::MAP_READ | U::COPY_DST),
            n,
        }
    }

    /// The timestamp before dispatch `i` (`i` = the count: after the last).
    pub fn mark(&self, pass: &mut wgpu::ComputePass, i: usize) {
        pass.write_timestamp(&self.set, i as u32);
    }

    pub fn resolve(&self, enc: &mut wgpu::CommandEncoder) {
        enc.resolve_query_set(&self.set, 0..self.n, &self.resolved, 0);
        let bytes = self.n as u64 * wgpu::QUERY_SIZE as u64;
        enc.copy_buffer_to_buffer(&self.resolved, 0, &self.read, 0, bytes);
    }

    /// After the pass: adds each dispatch's time to its kernel's total (`labels`, in order).
    pub fn collect(&self, dev: &GpuDevice, labels: impl Iterator<Item = String>) -> Result<()> {
        let lost = |e: String| Error::gpu(GpuErrorKind::Lost, e);
        let slice = self.read.slice(..);
        slice.map_async(wgpu::MapMode::Read, |_| {});
        dev.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| lost(e.to_string()))?;
        let ticks: Vec<u64> = {
            let view = slice.get_mapped_range().map_err(|e| lost(e.to_string()))?;
            bytemuck::cast_slice(&view).to_vec()
        };
        self.read.unmap();
        let period = dev.queue.get_timestamp_period() as f64;
        let mut totals = TOTALS.lock().unwrap_or_else(|p| p.into_inner());
        for (label, w) in labels.zip(ticks.windows(2)) {
            let ns = w[1].saturating_sub(w[0]) as f64 * period;
            match totals.iter_mut().find(|t| t.0 == label) {
                Some(t) => {
                    t.1 += 1;
                    t.2 += ns;
                }
                None => totals.push((label, 1, ns)),
            }
        }
        Ok(())
    }
}
