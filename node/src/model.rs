//! Loading: map the GGUF file into memory (or take a copy of caller bytes), then run
//! `Model::load` on a libuv worker thread so the JS thread never parses or binds weights.

use std::fs::File;
use std::sync::{Arc, OnceLock};

use memmap2::Mmap;
use napi::bindgen_prelude::{Env, Task};
use wasm_chord_core::bytes::ModelBytes;
use wasm_chord_core::chat::ChatTemplate;
use wasm_chord_core::gguf::keys;
use wasm_chord_core::gguf::GgufFile;
use wasm_chord_core::model::{LoadOptions, Model};
use wasm_chord_core::Error as CoreError;

use crate::error::{catch_panic, NodeError};
use crate::{ModelInfo, NativeModel};

/// Context size of sessions when the caller gives none: the training context, capped here
/// because every session allocates its whole KV cache up front.
pub const DEFAULT_CONTEXT_SIZE: usize = 2048;

/// A read-only memory map of a model file.
pub struct MmapBytes {
    map: Mmap,
}

impl ModelBytes for MmapBytes {
    fn as_bytes(&self) -> &[u8] {
        &self.map
    }
}

/// Maps `path` read-only. An empty file cannot be mapped on every OS: it becomes an empty
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
    // SAFETY: the map is read-only and private to this process; its bytes stay valid as long
    // as the file is not truncated or rewritten in place while mapped (another process doing
    // that would make reads fault with SIGBUS or see changed weights). Model files are
    // written once and replaced by rename (as test/fetch-models.mjs does), which leaves
    // this mapping on the old inode. The documented contract (index.d.ts, `loadModel`) asks
    // callers not to modify a model file while a model loaded from it is alive.
    let map = unsafe { Mmap::map(&file) }.map_err(file_err)?;
    Ok(Arc::new(MmapBytes { map }))
}

/// Where a model's bytes come from.
pub enum Source {
    Path(String),
    Bytes(Vec<u8>),
}

/// A loaded model shared by every generation on it, plus what is derived from it lazily.
pub struct Loaded {
    pub model: Arc<Model>,
    /// Sessions' context size.
    pub n_ctx: usize,
    pub info: ModelInfo,
    template: OnceLock<Result<ChatTemplate, CoreError>>,
}

impl Loaded {
    /// The file's chat template (or the built-in fallback), compiled on first use.
    pub fn chat_template(&self) -> Result<&ChatTemplate, CoreError> {
        self.template
            .get_or_init(|| {
                let tok = &self.model.tokenizer;
                let text = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("");
                ChatTemplate::from_gguf(&self.model.gguf, text(tok.bos()), text(tok.eos()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

pub struct LoadTask {
    pub source: Option<Source>,
    pub opts: LoadOptions,
    /// 0 = default.
    pub context_size: usize,
}

impl Task for LoadTask {
    type Output = Result<Arc<Loaded>, NodeError>;
    type JsValue = NativeModel;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let source = self.source.take();
        let (opts, context_size) = (self.opts.clone(), self.context_size);
        Ok(catch_panic(|| load(source, &opts, context_size)))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<NativeModel> {
        match output {
            Ok(loaded) => Ok(NativeModel::new(loaded)),
            Err(e) => Err(e.into_js(&env)),
        }
    }
}

fn load(
    source: Option<Source>,
    opts: &LoadOptions,
    context_size: usize,
) -> Result<Arc<Loaded>, NodeError> {
    let bytes: Arc<dyn ModelBytes> = match source {
        Some(Source::Path(path)) => map_file(&path)?,
        Some(Source::Bytes(v)) => Arc::new(v),
        None => return Err(NodeError::Internal("model loaded twice".into())),
    };
    let model = Model::load(bytes, opts)?;
    let n_ctx = match context_size {
        0 => model.hparams.n_ctx_train.min(DEFAULT_CONTEXT_SIZE),
        n => n,
    };
    let info = model_info(&model, n_ctx);
    Ok(Arc::new(Loaded {
        model: Arc::new(model),
        n_ctx,
        info,
        template: OnceLock::new(),
    }))
}

fn model_info(model: &Model, n_ctx: usize) -> ModelInfo {
    let gguf = &model.gguf;
    let hp = &model.hparams;
    let file_type = GgufFile::opt(gguf.get_u32(keys::GENERAL_FILE_TYPE))
        .ok()
        .flatten();
    ModelInfo {
        arch: hp.arch.gguf_name().to_string(),
        name: GgufFile::opt(gguf.get_str(keys::GENERAL_NAME))
            .ok()
            .flatten()
            .map(str::to_string),
        file_type: file_type.map(|id| keys::file_type_name(id).unwrap_or("unknown").to_string()),
        n_params: gguf.tensors.iter().map(|t| t.n_elements() as f64).sum(),
        tensor_count: gguf.tensors.len() as u32,
        context_length: hp.n_ctx_train as u32,
        context_size: n_ctx as u32,
        vocab_size: hp.n_vocab as u32,
        embedding_length: hp.n_embd as u32,
        layer_count: hp.n_layer as u32,
        head_count: hp.n_head as u32,
        head_count_kv: hp.n_head_kv as u32,
        threads: model.n_threads() as u32,
    }
}
