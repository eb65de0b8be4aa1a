//! Model bytes for the examples: the file mapped copy-on-write (no copy of the weights; the
//! pages the CPU backend repacks become private), as the Node binding does. Shared by the
//! examples through `#[path]`.

use std::sync::Arc;

use wasm_chord_core::bytes::ModelBytes;

pub struct MappedFile(memmap2::MmapMut);

impl ModelBytes for MappedFile {
    fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn as_bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(&mut self.0)
    }
}

/// Maps `path` copy-on-write: writes go to private pages, never to the file.
pub fn map(path: &std::path::Path) -> Result<Arc<dyn ModelBytes>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: the mapping is private to this process (writes are copy-on-write, never reach
    // the file); a model file truncated by another process while mapped is outside the
    // examples' contract (the same contract as llama.cpp's mmap loading).
    let map = unsafe { memmap2::MmapOptions::new().map_copy(&file) }
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Arc::new(MappedFile(map)))
}

/// This process's resident and peak resident memory in MiB (Linux; `None` elsewhere).
#[allow(dead_code)]
pub fn rss_mib() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace()
            .nth(1)?
            .parse::<f64>()
            .ok()
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
