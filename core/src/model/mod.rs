//! Models: load a parsed GGUF into typed weights (no copy of the big matrices) and run
//! forward passes in a [`Session`] that owns a KV cache.
//!
//! How an architecture plugs in: add a variant to [`Arch`] (its GGUF name), a file with
//! `load(&WeightLoader, &HParams) -> Result<ArchWeights>` and a top-to-bottom `forward`, and one
//! line in each `match` below. Shared blocks (attention, norms, matmul, KV cache) are reused.

pub(crate) mod attention;
pub(crate) mod cpu_forward;
mod flash_group;
mod gemma3;
mod hparams;
mod kv_cache;
mod llama;
pub(crate) mod ops;
pub mod rope;
pub mod synthetic;
pub mod weights;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::backend::cpu::{QMatrix, ThreadPool};
use crate::bytes::ModelBytes;
use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::tokenizer::Tokenizer;
use cpu_forward::{Buffers, Forward};
pub use hparams::HParams;
pub use kv_cache::KvCache;
use weights::{LayerWeights, WeightLoader};

/// Tokens per forward call inside one `eval` (llama.cpp's n_ubatch).
pub const UBATCH: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Gemma3,
}

impl Arch {
    pub fn from_gguf_name(name: &str) -> Result<Arch> {
        match name {
            "llama" => Ok(Arch::Llama),
            "gemma3" => Ok(Arch::Gemma3),
            other => Err(Error::UnsupportedArch(other.to_string())),
        }
    }

    pub fn gguf_name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Gemma3 => "gemma3",
        }
    }
}

/// Whether a model runs on the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GpuMode {
    /// The CPU.
    #[default]
    Off,
    /// A hardware GPU when there is one (software adapters are skipped), else the CPU; why
    /// the CPU was used is in [`BackendInfo::gpu_fallback`].
    Auto,
    /// The best GPU adapter there is, software ones included; failing that, an error.
    On,
}

impl GpuMode {
    /// The JS option's spellings: `"auto"`, `"true"`/`"on"`, `"false"`/`"off"` (the bindings
    /// pass `true`/`false` as strings).
    pub fn from_js(v: &str) -> Result<GpuMode> {
        match v {
            "auto" => Ok(GpuMode::Auto),
            "true" | "on" => Ok(GpuMode::On),
            "false" | "off" => Ok(GpuMode::Off),
            other => Err(Error::InvalidArgument {
                name: "gpu",
                why: format!("expected 'auto', true or false, got {other:?}"),
            }),
        }
    }
}

/// Where a model runs, for its info.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendInfo {
    /// "cpu" or "gpu".
    pub backend: &'static str,
    /// The adapter, when on the GPU.
    pub gpu: Option<crate::backend::gpu::GpuInfo>,
    /// Why `gpu: 'auto'` fell back to the CPU.
    pub gpu_fallback: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Worker threads for matmuls; 0 = one per core.
    pub threads: usize,
    /// Default of new sessions: reproduce llama.cpp's CPU flash-attention numerics (its default,
    /// "auto", enables it) rather than its mul_mat attention. Both are exact attention; they
    /// differ only in f16 rounding, which decides near-tie tokens.
    pub flash_attention: bool,
    pub gpu: GpuMode,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            threads: 0,
            flash_attention: true,
            gpu: GpuMode::Off,
        }
    }
}

/// A loaded model: hyperparameters, weight bindings into the file bytes, tokenizer.
pub struct Model {
    pub hparams: HParams,
    pub gguf: GgufFile,
    pub tokenizer: Tokenizer,
    bytes: Arc<dyn ModelBytes>,
    pool: ThreadPool,
    flash_attention: bool,
    token_embd: QMatrix,
    output_norm: Vec<f32>,
    /// `output.weight`, or `token_embd.weight` when the embeddings are tied.
    output: QMatrix,
    layers: Vec<LayerWeights>,
    arch: ArchParams,
    backend: BackendInfo,
    #[cfg(feature = "gpu")]
    gpu: Option<crate::backend::gpu::forward::GpuModel>,
}

/// What an architecture needs beyond the shared weights.
enum ArchParams {
    Llama(llama::Params),
    Gemma3(gemma3::Params),
}

/// The adapters `gpu` allows, or `None` for the CPU.
#[cfg(feature = "gpu")]
fn adapter_choice(gpu: GpuMode) -> Option<crate::backend::gpu::AdapterChoice> {
    use crate::backend::gpu::AdapterChoice;
    match gpu {
        GpuMode::On => Some(AdapterChoice::Any),
        GpuMode::Auto => Some(AdapterChoice::Hardware),
        GpuMode::Off => None,
    }
}

/// A GPU device for the load, opened (or failed) before it.
#[cfg(feature = "gpu")]
type OpenedDevice = Option<Result<crate::backend::gpu::GpuDevice>>;
#[cfg(not(feature = "gpu"))]
type OpenedDevice = Option<std::convert::Infallible>;

impl Model {
    /// Parses, checks and binds everything; whole or nothing.
    pub fn load(bytes: Arc<dyn ModelBytes>, opts: &LoadOptions) -> Result<Model> {
        #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
        let dev = adapter_choice(opts.gpu).map(crate::backend::gpu::GpuDevice::open);
        #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
        let dev = None;
        Self::load_on(bytes, opts, dev)
    }

    /// [`Model::load`] behind the async signature of the GPU build.
    #[cfg(not(feature = "gpu"))]
    pub async fn load_async(bytes: Arc<dyn ModelBytes>, opts: &LoadOptions) -> Result<Model> {
        Self::load(bytes, opts)
    }

    /// [`Model::load`] where the GPU is reached through promises (WebGPU in the browser): the
    /// device is opened first, and the device's verdict on the uploads is awaited. With
    /// `gpu: 'auto'`, a GPU that fails on the way leaves the model on the CPU.
    #[cfg(feature = "gpu")]
    pub async fn load_async(bytes: Arc<dyn ModelBytes>, opts: &LoadOptions) -> Result<Model> {
        use crate::backend::gpu::GpuDevice;
        let Some(choice) = adapter_choice(opts.gpu) else {
            return Self::load_on(bytes, opts, None);
        };
        let dev = match GpuDevice::open_async(choice).await {
            Ok(dev) => dev,
            Err(e) => return Self::load_on(bytes, opts, Some(Err(e))),
        };
        let device = dev.device.clone();
        let loaded = crate::backend::gpu::scoped(&device, || {
            Self::load_on(bytes.clone(), opts, Some(Ok(dev)))
        })
        .await;
        match loaded {
            Err(e @ Error::Gpu { .. }) if opts.gpu == GpuMode::Auto => {
                let mut m = Self::load_on(bytes, opts, None)?;
                m.backend.gpu_fallback = Some(format!("{}: {e}", e.code()));
                Ok(m)
            }
            other => other,
        }
    }

    /// The load itself, on `dev` when there is one (or on the CPU after it failed, for
    /// `gpu: 'auto'`).
    fn load_on(
        mut bytes: Arc<dyn ModelBytes>,
        opts: &LoadOptions,
        dev: OpenedDevice,
    ) -> Result<Model> {
        let file = bytes.as_bytes();
        let gguf = GgufFile::parse(file)?;
        let arch = Arch::from_gguf_name(gguf.architecture()?)?;
        let tokenizer = Tokenizer::from_gguf(&gguf)?;
        let wl = WeightLoader { gguf: &gguf, file };

        let embd_info = gguf
            .tensor(weights::TOKEN_EMBD)
            .ok_or_else(|| Error::MissingTensor(weights::TOKEN_EMBD.into()))?;
        let n_vocab = embd_info.dims.get(1).copied().unwrap_or(0) as usize;
        let hparams = HParams::from_gguf(&gguf, arch, n_vocab)?;
        if tokenizer.n_vocab() > n_vocab {
            return Err(Error::ShapeMismatch {
                tensor: weights::TOKEN_EMBD.into(),
                expected: vec![hparams.n_embd as u64, tokenizer.n_vocab() as u64],
                found: embd_info.dims.clone(),
            });
        }
        let token_embd = wl.matrix(weights::TOKEN_EMBD, n_vocab, hparams.n_embd)?;
        let mut output = wl
            .opt_matrix(weights::OUTPUT, n_vocab, hparams.n_embd)?
            .unwrap_or(token_embd);
        let output_norm = wl.vector(weights::OUTPUT_NORM, hparams.n_embd)?;
        let mut layers = (0..hparams.n_layer)
            .map(|il| load_layer(&wl, &hparams, il))
            .collect::<Result<Vec<_>>>()?;
        let arch_params = match arch {
            Arch::Llama => ArchParams::Llama(llama::Params::new(&hparams, &layers)?),
            Arch::Gemma3 => ArchParams::Gemma3(gemma3::Params::new(&gguf, &hparams, &layers)?),
        };
        let cpu = BackendInfo {
            backend: "cpu",
            gpu: None,
            gpu_fallback: None,
        };
        #[cfg(feature = "gpu")]
        let (gpu, backend) = {
            use crate::backend::gpu::forward::GpuModel;
            let g = dev.map(|dev| {
                let dev = dev?;
                let info = dev.info.clone();
                let g = GpuModel::new(
                    dev,
                    &hparams,
                    file,
                    &layers,
                    &token_embd,
                    &output,
                    &output_norm,
                )?;
                Ok::<_, Error>((g, info))
            });
            match g {
                None => (None, cpu),
                Some(Ok((g, info))) => (
                    Some(g),
                    BackendInfo {
                        backend: "gpu",
                        gpu: Some(info),
                        gpu_fallback: None,
                    },
                ),
                Some(Err(e)) if opts.gpu == GpuMode::Auto => (
                    None,
                    BackendInfo {
                        gpu_fallback: Some(format!("{}: {e}", e.code())),
                        ..cpu
                    },
                ),
                Some(Err(e)) => return Err(e),
            }
        };
        #[cfg(not(feature = "gpu"))]
        let backend = match (dev, opts.gpu) {
            (Some(never), _) => match never {},
            (None, GpuMode::On) => {
                return Err(Error::gpu(
                    crate::error::GpuErrorKind::Unavailable,
                    "this build has no GPU backend",
                ))
            }
            (None, GpuMode::Auto) => BackendInfo {
                gpu_fallback: Some("this build has no GPU backend".into()),
                ..cpu
            },
            (None, GpuMode::Off) => cpu,
        };
        if backend.backend == "cpu" {
            repack_for_cpu(&mut bytes, &mut layers, &mut output, &token_embd);
        }
        Ok(Model {
            backend,
            #[cfg(feature = "gpu")]
            gpu,
            hparams,
            tokenizer,
            pool: ThreadPool::new(opts.threads),
            flash_attention: opts.flash_attention,
            token_embd,
            output_norm,
            output,
            layers,
            arch: arch_params,
            gguf,
            bytes,
        })
    }

    pub fn n_threads(&self) -> usize {
        self.pool.n_threads()
    }

    /// Where the forward passes run.
    pub fn backend(&self) -> &BackendInfo {
        &self.backend
    }

    /// The whole GGUF file the weights are read from.
    pub fn file_bytes(&self) -> &[u8] {
        self.bytes.as_bytes()
    }
}

/// Repacks the matrices only matmuls read into their types' eight-row layouts (the CPU
/// backend's, where the bytes are this process's to write: a copy-on-write map or its own
/// buffer; else nothing changes). The token embeddings are also read row by row, so they (and
/// a tied output, whose bytes are theirs) keep the file's layout, as does any matrix whose
/// bytes another one shares.
fn repack_for_cpu(
    bytes: &mut Arc<dyn ModelBytes>,
    layers: &mut [LayerWeights],
    output: &mut QMatrix,
    token_embd: &QMatrix,
) {
    let Some(file) = Arc::get_mut(bytes).and_then(|b| b.as_bytes_mut()) else {
        return;
    };
    let mut mats: Vec<&mut QMatrix> = layers.iter_mut().flat_map(|l| l.matrices_mut()).collect();
    mats.push(output);
    let ranges: Vec<_> = mats.iter().map(|m| m.byte_range()).collect();
    let embd = token_embd.byte_range();
    let overlaps =
        |a: &std::ops::Range<usize>, b: &std::ops::Range<usize>| a.start < b.end && b.start < a.end;
    for (i, m) in mats.into_iter().enumerate() {
        let r = &ranges[i];
        let shared = overlaps(r, &embd)
            || ranges
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && overlaps(r, o));
        if !shared {
            m.repack_rows8(file);
        }
    }
}

/// The tensors every block has, plus the optional extra norms some archs use.
fn load_layer(wl: &WeightLoader<'_>, hp: &HParams, il: usize) -> Result<LayerWeights> {
    use weights::{blk, blk_name};
    let n = |name| blk_name(il, name);
    Ok(LayerWeights {
        attn_norm: wl.vector(&n(blk::ATTN_NORM), hp.n_embd)?,
        wq: wl.matrix(&n(blk::ATTN_Q), hp.n_embd_q(), hp.n_embd)?,
        wk: wl.matrix(&n(blk::ATTN_K), hp.n_embd_k(), hp.n_embd)?,
        wv: wl.matrix(&n(blk::ATTN_V), hp.n_embd_v(), hp.n_embd)?,
        wo: wl.matrix(&n(blk::ATTN_OUTPUT), hp.n_embd, hp.n_head * hp.head_dim_v)?,
        attn_q_norm: wl.opt_vector(&n(blk::ATTN_Q_NORM), hp.head_dim)?,
        attn_k_norm: wl.opt_vector(&n(blk::ATTN_K_NORM), hp.head_dim)?,
        post_attention_norm: wl.opt_vector(&n(blk::POST_ATTENTION_NORM), hp.n_embd)?,
        ffn_norm: wl.vector(&n(blk::FFN_NORM), hp.n_embd)?,
        ffn_gate: wl.matrix(&n(blk::FFN_GATE), hp.n_ff, hp.n_embd)?,
        ffn_up: wl.matrix(&n(blk::FFN_UP), hp.n_ff, hp.n_embd)?,
        ffn_down: wl.matrix(&n(blk::FFN_DOWN), hp.n_embd, hp.n_ff)?,
        post_ffw_norm: wl.opt_vector(&n(blk::POST_FFW_NORM), hp.n_embd)?,
    })
}

/// Which positions of a batch need logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// Only the last token of the batch (generation).
    Last,
    /// Every token (perplexity, teacher forcing).
    All,
}

/// A debug hook that sees every named intermediate: `(layer, label, tensor)`, with layer
/// `usize::MAX` for tensors outside the blocks. Labels are llama.cpp's `cb()` names so dumps
/// line up with its.
pub type TraceFn = dyn FnMut(usize, &str, &[f32]) + Send;

/// One conversation's state over a shared model: KV cache, position, scratch.
pub struct Session {
    model: Arc<Model>,
    state: State,
    n_ctx: usize,
    flash_attention: bool,
    n_past: usize,
    logits: Vec<f32>,
    cancel: Option<Arc<AtomicBool>>,
    trace: Option<Box<TraceFn>>,
}

impl Session {
    /// A session with room for `n_ctx` positions (0 = the model's training context).
    pub fn new(model: Arc<Model>, n_ctx: usize) -> Result<Session> {
        let hp = &model.hparams;
        let n_ctx = if n_ctx == 0 { hp.n_ctx_train } else { n_ctx };
        if n_ctx == 0 {
            return Err(Error::InvalidArgument {
                name: "contextSize",
                why: "must be positive".into(),
            });
        }
        #[cfg(feature = "gpu")]
        let state = match &model.gpu {
            Some(g) => State::Gpu(crate::backend::gpu::forward::GpuSession::new(g, hp, n_ctx)?),
            None => State::cpu(hp, n_ctx)?,
        };
        #[cfg(not(feature = "gpu"))]
        let state = State::cpu(hp, n_ctx)?;
        Ok(Session {
            flash_attention: model.flash_attention,
            model,
            state,
            n_ctx,
            n_past: 0,
            logits: Vec::new(),
            cancel: None,
            trace: None,
        })
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Positions already in the KV cache.
    pub fn n_past(&self) -> usize {
        self.n_past
    }

    /// Forgets positions from `n` on (keeps a shared prompt prefix, or starts over with 0).
    pub fn truncate(&mut self, n: usize) {
        self.n_past = self.n_past.min(n);
    }

    /// Chooses llama.cpp's flash-attention numerics (true) or its mul_mat attention (false).
    pub fn set_flash_attention(&mut self, on: bool) {
        self.flash_attention = on;
    }

    /// A flag that, once set, makes `eval` stop between micro-batches with `Cancelled`.
    pub fn set_cancel_flag(&mut self, flag: Option<Arc<AtomicBool>>) {
        self.cancel = flag;
    }

    pub fn set_trace(&mut self, trace: Option<Box<TraceFn>>) {
        self.trace = trace;
    }

    /// Feeds `tokens` at the current position and returns logits: [n_vocab] for `Last`,
    /// [tokens.len(), n_vocab] for `All`. Prompts are processed as whole batches.
    pub fn eval(&mut self, tokens: &[u32], mode: Logits) -> Result<&[f32]> {
        crate::ready::ready(self.eval_async(tokens, mode))?
    }

    /// [`Session::eval`] for WebGPU, whose passes end in a promise.
    pub async fn eval_async(&mut self, tokens: &[u32], mode: Logits) -> Result<&[f32]> {
        let hp = &self.model.hparams;
        if tokens.is_empty() {
            return Err(Error::InvalidArgument {
                name: "tokens",
                why: "no tokens to evaluate".into(),
            });
        }
        if self.n_past + tokens.len() > self.n_ctx {
            return Err(Error::ContextOverflow {
                tokens: self.n_past + tokens.len(),
                n_ctx: self.n_ctx,
            });
        }
        if let Some(&id) = tokens.iter().find(|&&id| id as usize >= hp.n_vocab) {
            return Err(Error::InvalidToken {
                id,
                n_vocab: hp.n_vocab,
            });
        }
        self.logits.clear();
        let n_chunks = tokens.len().div_ceil(UBATCH);
        for (ci, chunk) in tokens.chunks(UBATCH).enumerate() {
            if self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
            {
                return Err(Error::Cancelled);
            }
            let n = chunk.len();
            let rows = match mode {
                Logits::All => 0..n,
                Logits::Last if ci + 1 == n_chunks => n - 1..n,
                Logits::Last => n..n,
            };
            self.forward_ubatch(chunk, rows).await?;
            self.n_past += n;
        }
        Ok(&self.logits)
    }

    /// One micro-batch through the blocks, then the logits of its `rows`.
    async fn forward_ubatch(&mut self, tokens: &[u32], rows: std::ops::Range<usize>) -> Result<()> {
        let model = &*self.model;
        let hp = &model.hparams;
        let pos0 = self.n_past;
        match &mut self.state {
            State::Cpu { kv, buf } => {
                buf.fit(hp, tokens.len());
                let mut f = Forward {
                    hp,
                    file: model.bytes.as_bytes(),
                    pool: &model.pool,
                    layers: &model.layers,
                    token_embd: &model.token_embd,
                    kv,
                    flash_attention: self.flash_attention,
                    buf,
                    trace: self.trace.as_deref_mut(),
                    n: tokens.len(),
                };
                model.arch.forward(&mut f, hp, tokens, pos0);
                f.output_logits(&model.output_norm, &model.output, rows, &mut self.logits);
                Ok(())
            }
            #[cfg(feature = "gpu")]
            State::Gpu(sess) => {
                use crate::backend::gpu::forward::GpuForward;
                let Some(g) = model.gpu.as_ref() else {
                    return Err(Error::Internal("GPU session of a CPU model".into()));
                };
                let mut f = GpuForward::new(g, sess, hp, tokens.len());
                model.arch.forward(&mut f, hp, tokens, pos0);
                f.finish(rows, &mut self.logits).await
            }
        }
    }
}

/// A session's backend state.
enum State {
    Cpu {
        kv: KvCache,
        buf: Buffers,
    },
    #[cfg(feature = "gpu")]
    Gpu(crate::backend::gpu::forward::GpuSession),
}

impl State {
    fn cpu(hp: &HParams, n_ctx: usize) -> Result<State> {
        Ok(State::Cpu {
            kv: KvCache::new(hp.n_layer, n_ctx, hp.n_embd_k(), hp.n_embd_v())?,
            buf: Buffers::default(),
        })
    }
}

impl ArchParams {
    /// The architecture's blocks for `tokens` at positions `pos0..`, over any backend.
    fn forward(&self, f: &mut impl ops::ForwardOps, hp: &HParams, tokens: &[u32], pos0: usize) {
        match self {
            ArchParams::Llama(p) => llama::forward(f, hp, p, tokens, pos0),
            ArchParams::Gemma3(p) => gemma3::forward(f, hp, p, tokens, pos0),
        }
    }
}
