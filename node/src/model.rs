//! Loading: map the GGUF file into memory (or take a copy of caller bytes), then run
//! `Engine::load` on a libuv worker thread so the JS thread never parses or binds weights.

use std::fs::File;
use std::sync::Arc;

use memmap2::{MmapMut, MmapOptions};
use napi::bindgen_prelude::{Env, Task};
use wasm_chord_core::bytes::ModelBytes;
use wasm_chord_core::engine::{Engine, EngineOptions, GpuMode};

use crate::error::{catch_panic, NodeError};
use crate::NativeModel;

/// A copy-on-write memory map of a model file: the weights the CPU backend repacks at load
/// become private pages of this process; the file is never written.
pub struct MmapBytes {
    map: MmapMut,
}

impl ModelBytes for MmapBytes {
    fn as_bytes(&self) -> &[u8] {
        &self.map
    }

    fn as_bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(&mut self.map)
    }
}

/// Maps `path` copy-on-write. An empty file cannot be mapped on every OS: it becomes an empty
/// byte vector, which the GGUF parser rejects like any other non-GGUF file.
pub fn map_file(path: &str) -> Result<Arc<dyn ModelBytes>, NodeError> {
    let file_err = |source| NodeError::File {
        path: path.to_string(),
        source,
    };
    let file = File::open(path).map_err(file_err)?;
    let len = file.metadata().map_err(file_err)?.len();
    if len == 0 {
        return Ok(Arc::new(Vec::<u8>::new()));
    }
    // SAFETY: the map is private to this process (writes are copy-on-write, never reaching
    // the file); its bytes stay valid as long as the file is not truncated or rewritten in
    // place while mapped (another process doing that would make reads fault with SIGBUS or see
    // changed weights). Model files are
    // written once and replaced by rename (as test/fetch-models.mjs does), which leaves
    // this mapping on the old inode. The documented contract (index.d.ts, `loadModel`) asks
    // callers not to modify a model file while a model loaded from it is alive.
    let map = unsafe { MmapOptions::new().map_copy(&file) }.map_err(file_err)?;
    Ok(Arc::new(MmapBytes { map }))
}

/// Where a model's bytes come from.
pub enum Source {
    Path(String),
    Bytes(Vec<u8>),
}

pub struct LoadTask {
    pub source: Option<Source>,
    /// JS `gpu`, checked on the worker thread with the rest of the load.
    pub gpu: Option<String>,
    pub opts: EngineOptions,
}

impl Task for LoadTask {
    type Output = Result<Arc<Engine>, NodeError>;
    type JsValue = NativeModel;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let source = self.source.take();
        let mut opts = self.opts.clone();
        let gpu = self.gpu.clone();
        Ok(catch_panic(|| {
            opts.gpu = GpuMode::from_js(gpu.as_deref().unwrap_or("false"))?;
            let bytes: Arc<dyn ModelBytes> = match source {
                Some(Source::Path(path)) => map_file(&path)?,
                Some(Source::Bytes(v)) => Arc::new(v),
                None => return Err(NodeError::Internal("model loaded twice".into())),
            };
            Ok(Engine::load(bytes, &opts)?)
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<NativeModel> {
        match output {
            Ok(engine) => Ok(NativeModel::new(engine)),
            Err(e) => Err(e.into_js(&env)),
        }
    }
}
