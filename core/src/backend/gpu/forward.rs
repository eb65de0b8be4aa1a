//! The GPU backend of [`ForwardOps`]. A forward pass is recorded as a list of dispatches (each
//! with its uniforms in one slot of a params buffer), then encoded into one compute pass,
//! submitted once, and only the logits rows read back. Buffers, pipelines and bind groups are
//! made once: pipelines at load, activations and the KV cache with the session, a bind group
//! the first time a dispatch slot sees a set of bindings (the same every token after).

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};

use bytemuck::Zeroable;

/// A host clock for [`SUBMIT_STATS`]; the browser's wasm32 has no `Instant`, so it reads 0 there.
#[derive(Clone, Copy)]
struct Stopwatch(#[cfg(not(target_arch = "wasm32"))] std::time::Instant);

impl Stopwatch {
    #[cfg(not(target_arch = "wasm32"))]
    fn start() -> Stopwatch {
        Stopwatch(std::time::Instant::now())
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn nanos(self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }

    #[cfg(target_arch = "wasm32")]
    fn start() -> Stopwatch {
        Stopwatch()
    }

    #[cfg(target_arch = "wasm32")]
    fn nanos(self) -> u64 {
        0
    }
}

/// Time spent in [`GpuForward`]'s submissions since the process started, for benchmarks:
/// recording and encoding on the host, then waiting for the device (and the read-back).
pub static SUBMIT_STATS: SubmitStats = SubmitStats {
    submits: AtomicU64::new(0),
    dispatches: AtomicU64::new(0),
    host_ns: AtomicU64::new(0),
    wait_ns: AtomicU64::new(0),
};

pub struct SubmitStats {
    pub submits: AtomicU64,
    pub dispatches: AtomicU64,
    pub host_ns: AtomicU64,
    pub wait_ns: AtomicU64,
}

use super::device::GpuDevice;
use super::shaders::{self, params::*, OPS};
use super::weights::{upload_f32, upload_matrix, upload_stacked, GpuMatrix};
use crate::backend::cpu::QMatrix;
use crate::error::{Error, GpuErrorKind, Result};
use crate::model::attention::AttnShape;
use crate::model::cpu_forward::{layer_matrix, layer_norm};
use crate::model::ops::{gate_up_apart, qkv_apart, Act, FfnActivation, ForwardOps, Mat, Norm};
use crate::model::rope::{Rope, RopeStyle};
use crate::model::weights::LayerWeights;
use crate::model::{HParams, UBATCH};
use crate::quant::GgmlType;

/// Every matrix and norm of a block, in the order the GPU layer holds them (`as usize`).
const MATS: [Mat; 7] = [
    Mat::Q,
    Mat::K,
    Mat::V,
    Mat::O,
    Mat::Gate,
    Mat::Up,
    Mat::Down,
];
const NORMS: [Norm; 6] = [
    Norm::Attn,
    Norm::Ffn,
    Norm::QHead,
    Norm::KHead,
    Norm::PostAttn,
    Norm::PostFfw,
];

/// Thread groups of a matvec workgroup, each on its own rows (`GROUPS` in
/// shaders/quant/matvec.wgsl).
const MATVEC_GROUPS: usize = 2;

/// How the one-token products are shaped on this device, by what measured best (README, GPU
/// section). `WASM_CHORD_GPU_TUNE` (native; e.g. `rt=2,fuse_norm=0`, `fuse_norm=N` bytes)
/// overrides it, to measure others.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    /// Weight rows each matvec thread takes when decoding (one of
    /// [`shaders::MATVEC_ROWS_PER_THREAD`]).
    rows_per_thread: usize,
    /// The RMS norm is folded into the products after it (saving a dispatch) while the whole
    /// row that every workgroup then re-reads to sum its squares is at most this many bytes
    /// over all workgroups.
    fuse_norm_bytes: usize,
}

impl Tuning {
    fn new(dev: &GpuDevice) -> Tuning {
        // Software adapters (lavapipe; SwiftShader in Chromium, whose WebGPU adapter reports
        // a CPU too) pay on the CPU for each workgroup and each re-read: 4 rows a thread and
        // no folded norm decoded SmolLM2 2.4x as fast on lavapipe (1.0 -> 2.4 tok/s). On an
        // H200, 2 rows a thread were 2-8% slower and 4 rows 11-21% (fewer workgroups in
        // flight); the folded norm was 5% faster on SmolLM2, but leaving it out was 9% faster
        // on TinyLlama and 19-33% on Llama-3-8B.
        // Only the native build reads the override below.
        #[cfg_attr(target_arch = "wasm32", allow(unused_mut))]
        let mut t = if dev.info.device_type == "cpu" {
            Tuning {
                rows_per_thread: 4,
                fuse_norm_bytes: 0,
            }
        } else {
            Tuning {
                rows_per_thread: 1,
                fuse_norm_bytes: 4 << 20,
            }
        };
        #[cfg(not(target_arch = "wasm32"))]
        if let Ok(spec) = std::env::var("WASM_CHORD_GPU_TUNE") {
            for kv in spec.split(',') {
                match kv.split_once('=') {
                    Some(("rt", v)) => {
                        if let Some(rt) = v
                            .parse()
                            .ok()
                            .filter(|r| shaders::MATVEC_ROWS_PER_THREAD.contains(r))
                        {
                            t.rows_per_thread = rt;
                        }
                    }
                    Some(("fuse_norm", v)) => t.fuse_norm_bytes = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        t
    }
}

/// The kernels of a matrix product, by batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum MatKernel {
    /// One token: decoding.
    Matvec1,
    /// Up to [`shaders::MATVEC_BATCH`] tokens a workgroup.
    MatvecBatch,
    /// Tiles of weight rows × tokens (prefill).
    Gemm,
}

const MAT_KERNELS: [MatKernel; 3] = [MatKernel::Matvec1, MatKernel::MatvecBatch, MatKernel::Gemm];

impl MatKernel {
    fn choose(n_tok: usize, cols: usize) -> MatKernel {
        if n_tok <= 1 {
            MatKernel::Matvec1
        } else if n_tok <= shaders::MATVEC_BATCH || !cols.is_multiple_of(shaders::GEMM_COLS) {
            MatKernel::MatvecBatch
        } else {
            MatKernel::Gemm
        }
    }

    /// The kernel's source; `rt`: rows per thread of the one-token matvec.
    fn source(self, t: GgmlType, rt: usize) -> Option<String> {
        match self {
            MatKernel::Matvec1 => shaders::matvec_source(t, 1, rt),
            MatKernel::MatvecBatch => shaders::matvec_source(t, shaders::MATVEC_BATCH, 1),
            MatKernel::Gemm => shaders::gemm_source(t),
        }
    }

    /// The workgroup grid over `rows` rows and `n_tok` tokens: row groups along x (spilling
    /// into y past the 65535 limit for the matvecs), token groups along z (y for the GEMM).
    fn groups(self, rows: usize, n_tok: usize, rt: usize) -> [u32; 3] {
        let (tt, rt) = match self {
            MatKernel::Matvec1 => (1, rt),
            MatKernel::MatvecBatch => (shaders::MATVEC_BATCH, 1),
            MatKernel::Gemm => {
                return [
                    rows.div_ceil(shaders::GEMM_ROWS).max(1) as u32,
                    n_tok.div_ceil(shaders::GEMM_TOKENS) as u32,
                    1,
                ]
            }
        };
        let groups = rows.div_ceil(MATVEC_GROUPS * rt).max(1);
        let gx = groups.min(65535);
        [
            gx as u32,
            groups.div_ceil(gx) as u32,
            n_tok.div_ceil(tt) as u32,
        ]
    }
}

/// The head size the attention kernel holds in workgroup memory.
const MAX_HEAD_DIM: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pipe {
    Matvec(GgmlType, MatKernel),
    /// One token's Q, K and V from their stacked weights (`true`: RMS-normed on the way in).
    MatvecQkv(GgmlType, bool),
    /// One token's act(gate) · up from their stacked weights (`true`: RMS-normed on the way in).
    MatvecGateUp(GgmlType, bool),
    GetRows(GgmlType),
    RmsNorm,
    RmsNormInplace,
    Rope,
    Add,
    Scale,
    GatedAct,
    Attention,
}

fn pipeline(dev: &GpuDevice, label: &str, src: &str, entry: &str) -> Result<wgpu::ComputePipeline> {
    dev.checked(label, || {
        let module = dev
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(src.into()),
            });
        dev.device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
    })
}

/// A matrix of the model: a layer's, the embeddings or the output projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatRef {
    Layer(usize, Mat),
    TokenEmbd,
    Output,
}

/// A buffer a dispatch binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BufRef {
    Act(Act),
    /// The normed rows the output projection reads.
    Hidden,
    Ids,
    Logits,
    KvK(usize),
    KvV(usize),
    Weight(MatRef, usize),
    Norm(usize, Norm),
    OutputNorm,
    /// A dispatch's uniforms: (slot, bytes).
    Params(usize, u64),
}

struct GpuLayer {
    /// By `Mat as usize`.
    mats: Vec<GpuMatrix>,
    /// Whether Q, K and V share one buffer (in that order), and gate and up another.
    qkv_stacked: bool,
    gate_up_stacked: bool,
    /// By `Norm as usize`.
    norms: Vec<Option<(wgpu::Buffer, usize)>>,
}

/// A model's weights and pipelines on one device, shared by its sessions.
pub struct GpuModel {
    pub dev: GpuDevice,
    pipes: HashMap<Pipe, wgpu::ComputePipeline>,
    layers: Vec<GpuLayer>,
    token_embd: GpuMatrix,
    /// `None`: tied to the embeddings.
    output: Option<GpuMatrix>,
    output_norm: wgpu::Buffer,
    tune: Tuning,
}

impl GpuModel {
    /// Uploads every weight of the model and builds the pipelines its types need.
    pub(crate) fn new(
        dev: GpuDevice,
        hp: &HParams,
        file: &[u8],
        layers: &[LayerWeights],
        token_embd: &QMatrix,
        output: &QMatrix,
        output_norm: &[f32],
    ) -> Result<GpuModel> {
        let unsupported = |why: String| Error::gpu(GpuErrorKind::Unsupported, why);
        let head_fits = |d: usize| d <= MAX_HEAD_DIM && d.is_multiple_of(4);
        if !head_fits(hp.head_dim) || !head_fits(hp.head_dim_v) {
            return Err(unsupported(format!(
                "head size {} (a multiple of 4, at most {MAX_HEAD_DIM})",
                hp.head_dim
            )));
        }
        if hp.n_rot > hp.head_dim || !hp.n_rot.is_multiple_of(2) {
            return Err(unsupported(format!(
                "RoPE over {} of {} dims",
                hp.n_rot, hp.head_dim
            )));
        }
        let mut gl = Vec::with_capacity(layers.len());
        for (il, l) in layers.iter().enumerate() {
            // Q, K, V and gate, up stacked where they can be (one dispatch each when decoding).
            let mut slots: Vec<Option<GpuMatrix>> = MATS.iter().map(|_| None).collect();
            let mut stacked = [false; 2];
            for (k, group) in [&[Mat::Q, Mat::K, Mat::V][..], &[Mat::Gate, Mat::Up]]
                .into_iter()
                .enumerate()
            {
                let ms: Vec<&QMatrix> = group.iter().map(|&m| layer_matrix(l, m)).collect();
                let label = format!("blk.{il}.{group:?}");
                if let Some(views) = upload_stacked(&dev, &label, file, &ms)? {
                    for (&m, v) in group.iter().zip(views) {
                        slots[m as usize] = Some(v);
                    }
                    stacked[k] = true;
                }
            }
            let mut mats = Vec::with_capacity(MATS.len());
            for (m, slot) in MATS.into_iter().zip(slots) {
                mats.push(match slot {
                    Some(v) => v,
                    None => {
                        upload_matrix(&dev, &format!("blk.{il}.{m:?}"), file, layer_matrix(l, m))?
                    }
                });
            }
            let mut norms = Vec::with_capacity(NORMS.len());
            for n in NORMS {
                norms.push(match layer_norm(l, n) {
                    Some(w) => Some((upload_f32(&dev, &format!("blk.{il}.{n:?}"), w)?, w.len())),
                    None => None,
                });
            }
            gl.push(GpuLayer {
                mats,
                qkv_stacked: stacked[0],
                gate_up_stacked: stacked[1],
                norms,
            });
        }
        let embd = upload_matrix(&dev, "token_embd", file, token_embd)?;
        let out = if output.offset == token_embd.offset {
            None
        } else {
            Some(upload_matrix(&dev, "output", file, output)?)
        };
        let mut types: Vec<GgmlType> = gl
            .iter()
            .flat_map(|l| l.mats.iter().map(|m| m.ty))
            .collect();
        types.extend(out.iter().map(|m| m.ty));
        types.push(embd.ty);
        types.sort_by_key(|t| t.id());
        types.dedup();
        let tune = Tuning::new(&dev);
        let rt = tune.rows_per_thread;
        let mut pipes = HashMap::new();
        for &t in &types {
            let name = t.to_string().to_lowercase();
            for k in MAT_KERNELS {
                let src = k.source(t, rt).unwrap_or_default();
                let label = format!("{k:?}_{name}");
                pipes.insert(Pipe::Matvec(t, k), pipeline(&dev, &label, &src, "main")?);
            }
        }
        // The fused one-token products, plain and normed, for the types of stacked layers.
        for l in &gl {
            let qkv = Pipe::MatvecQkv as fn(GgmlType, bool) -> Pipe;
            let fused = [
                (l.qkv_stacked, Mat::Q, qkv, "main_qkv"),
                (
                    l.gate_up_stacked,
                    Mat::Gate,
                    Pipe::MatvecGateUp,
                    "main_gate_up",
                ),
            ];
            for (stacked, m, make, entry) in fused {
                let t = l.mats[m as usize].ty;
                for normed in [false, true] {
                    let pipe = make(t, normed);
                    if !stacked || pipes.contains_key(&pipe) {
                        continue;
                    }
                    let src = if normed {
                        shaders::matvec_normed_source(t, rt)
                    } else {
                        MatKernel::Matvec1.source(t, rt)
                    };
                    let label = format!("{entry}_{t}{}", if normed { "_normed" } else { "" });
                    pipes.insert(
                        pipe,
                        pipeline(&dev, &label, &src.unwrap_or_default(), entry)?,
                    );
                }
            }
        }
        let gr = shaders::get_rows_source(embd.ty).unwrap_or_default();
        pipes.insert(
            Pipe::GetRows(embd.ty),
            pipeline(&dev, "get_rows", &gr, "main")?,
        );
        let op = |name: &str| OPS.iter().find(|o| o.0 == name).map_or("", |o| o.1);
        for (p, name, entry) in [
            (Pipe::RmsNorm, "rms_norm", "main"),
            (Pipe::RmsNormInplace, "rms_norm", "main_inplace"),
            (Pipe::Rope, "rope", "main"),
            (Pipe::Add, "add", "main"),
            (Pipe::Scale, "scale", "main"),
            (Pipe::GatedAct, "gated_act", "main"),
            (Pipe::Attention, "attention", "main"),
        ] {
            pipes.insert(p, pipeline(&dev, name, op(name), entry)?);
        }
        let output_norm = upload_f32(&dev, "output_norm", output_norm)?;
        Ok(GpuModel {
            dev,
            pipes,
            layers: gl,
            token_embd: embd,
            output: out,
            output_norm,
            tune,
        })
    }

    fn matrix(&self, m: MatRef) -> &GpuMatrix {
        match m {
            MatRef::Layer(il, w) => &self.layers[il].mats[w as usize],
            MatRef::TokenEmbd => &self.token_embd,
            MatRef::Output => self.output.as_ref().unwrap_or(&self.token_embd),
        }
    }
}

/// The bindings of one dispatch, held inline (a pass records hundreds of dispatches a token).
#[derive(Clone, Copy)]
struct Binds {
    n: usize,
    list: [(u32, BufRef); 8],
}

impl Binds {
    fn as_slice(&self) -> &[(u32, BufRef)] {
        &self.list[..self.n]
    }
}

impl PartialEq for Binds {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

/// One dispatch of a recorded pass.
struct Dispatch {
    pipe: Pipe,
    binds: Binds,
    groups: [u32; 3],
}

/// A bind group made for a dispatch slot, and what it was made from.
struct CachedBind {
    pipe: Pipe,
    binds: Binds,
    group: wgpu::BindGroup,
}

/// A session's state on the GPU: activations for a micro-batch, the KV cache (f32), logits.
pub struct GpuSession {
    acts: Vec<wgpu::Buffer>,
    hidden: wgpu::Buffer,
    ids: wgpu::Buffer,
    kv_k: Vec<wgpu::Buffer>,
    kv_v: Vec<wgpu::Buffer>,
    logits: wgpu::Buffer,
    /// Token rows the logits buffer holds.
    logits_rows: usize,
    staging: wgpu::Buffer,
    params: wgpu::Buffer,
    params_slots: usize,
    slot_bytes: usize,
    binds: Vec<Option<CachedBind>>,
    /// The last pass's dispatch list and uniforms, kept for their capacity.
    list: Vec<Dispatch>,
    params_host: Vec<u8>,
}

const ACTS: [Act; 8] = [
    Act::X,
    Act::Cur,
    Act::Q,
    Act::K,
    Act::V,
    Act::Attn,
    Act::Gate,
    Act::Up,
];

fn width(hp: &HParams, a: Act) -> usize {
    match a {
        Act::X | Act::Cur => hp.n_embd,
        Act::Q => hp.n_embd_q(),
        Act::K => hp.n_embd_k(),
        Act::V => hp.n_embd_v(),
        Act::Attn => hp.n_head * hp.head_dim_v,
        Act::Gate | Act::Up => hp.n_ff,
    }
}

fn params_buffer(dev: &GpuDevice, slots: usize, slot_bytes: usize) -> Result<wgpu::Buffer> {
    dev.checked("params", || {
        dev.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: (slots * slot_bytes) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })
}

impl GpuSession {
    pub fn new(g: &GpuModel, hp: &HParams, n_ctx: usize) -> Result<GpuSession> {
        let dev = &g.dev;
        let s = wgpu::BufferUsages::STORAGE;
        let f32s = |n: usize| (n * 4) as u64;
        let mut acts = Vec::new();
        for a in ACTS {
            acts.push(dev.storage(&format!("{a:?}"), f32s(UBATCH * width(hp, a)), s)?);
        }
        let hidden = dev.storage("hidden", f32s(UBATCH * hp.n_embd), s)?;
        let ids = dev.storage("ids", f32s(UBATCH), s | wgpu::BufferUsages::COPY_DST)?;
        let mut kv_k = Vec::new();
        let mut kv_v = Vec::new();
        for il in 0..hp.n_layer {
            kv_k.push(dev.storage(&format!("k_cache.{il}"), f32s(n_ctx * hp.n_embd_k()), s)?);
            kv_v.push(dev.storage(&format!("v_cache.{il}"), f32s(n_ctx * hp.n_embd_v()), s)?);
        }
        let row_bytes = f32s(hp.n_vocab);
        let logits_rows = ((dev.max_binding() / row_bytes) as usize).clamp(1, UBATCH);
        let logits = dev.storage(
            "logits",
            row_bytes * logits_rows as u64,
            s | wgpu::BufferUsages::COPY_SRC,
        )?;
        let staging = dev.checked("staging", || {
            dev.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("staging"),
                size: row_bytes * logits_rows as u64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })?;
        // Both powers of two: a slot holds the largest uniforms (MatvecParams) and is aligned.
        let slot_bytes = (dev.limits.min_uniform_buffer_offset_alignment as usize).max(128);
        let params_slots = 32 * hp.n_layer + 64;
        Ok(GpuSession {
            params: params_buffer(dev, params_slots, slot_bytes)?,
            params_slots,
            slot_bytes,
            acts,
            hidden,
            ids,
            kv_k,
            kv_v,
            logits,
            logits_rows,
            staging,
            binds: Vec::new(),
            list: Vec::new(),
            params_host: Vec::new(),
        })
    }

    fn buffer<'a>(&'a self, g: &'a GpuModel, r: BufRef) -> wgpu::BindingResource<'a> {
        match r {
            BufRef::Act(a) => self.acts[a as usize].as_entire_binding(),
            BufRef::Hidden => self.hidden.as_entire_binding(),
            BufRef::Ids => self.ids.as_entire_binding(),
            BufRef::Logits => self.logits.as_entire_binding(),
            BufRef::KvK(il) => self.kv_k[il].as_entire_binding(),
            BufRef::KvV(il) => self.kv_v[il].as_entire_binding(),
            BufRef::Weight(m, part) => g.matrix(m).parts[part].buf.as_entire_binding(),
            BufRef::Norm(il, n) => g.layers[il].norms[n as usize]
                .as_ref()
                .map(|w| w.0.as_entire_binding())
                .unwrap_or(g.output_norm.as_entire_binding()),
            BufRef::OutputNorm => g.output_norm.as_entire_binding(),
            BufRef::Params(slot, size) => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.params,
                offset: (slot * self.slot_bytes) as u64,
                size: NonZeroU64::new(size),
            }),
        }
    }
}

/// Records one forward pass of `n` tokens.
pub(crate) struct GpuForward<'a> {
    pub g: &'a GpuModel,
    pub sess: &'a mut GpuSession,
    pub hp: &'a HParams,
    pub n: usize,
    list: Vec<Dispatch>,
    params: Vec<u8>,
    /// The last norm recorded, if it wrote another buffer than it read: a fused product
    /// right after it can take it in (see [`GpuForward::take_norm`]).
    last_norm: Option<LastNorm>,
    /// The slot of the last fused Q/K/V product recorded: RoPE right after it can go into it
    /// (see [`ForwardOps::rope_qk`] here).
    last_qkv: Option<usize>,
}

#[derive(Clone, Copy)]
struct LastNorm {
    slot: usize,
    il: usize,
    w: Norm,
    src: Act,
    dst: Act,
}

/// Workgroups for `count` threads of 256 (2-D past 65535 groups).
fn flat_groups(count: usize) -> [u32; 3] {
    let wg = count.div_ceil(256).max(1);
    let x = wg.min(65535);
    [x as u32, wg.div_ceil(x) as u32, 1]
}

impl<'a> GpuForward<'a> {
    pub fn new(g: &'a GpuModel, sess: &'a mut GpuSession, hp: &'a HParams, n: usize) -> Self {
        GpuForward {
            g,
            list: std::mem::take(&mut sess.list),
            params: std::mem::take(&mut sess.params_host),
            last_norm: None,
            last_qkv: None,
            sess,
            hp,
            n,
        }
    }

    fn push<P: bytemuck::Pod>(
        &mut self,
        pipe: Pipe,
        p: P,
        binds: impl AsRef<[(u32, BufRef)]>,
        groups: [u32; 3],
    ) {
        let slot = self.list.len();
        let bytes = bytemuck::bytes_of(&p);
        self.params.resize(slot * self.sess.slot_bytes, 0);
        self.params.extend_from_slice(bytes);
        let given = binds.as_ref();
        let mut binds = Binds {
            n: given.len() + 1,
            list: [(0, BufRef::Ids); 8],
        };
        binds.list[..given.len()].copy_from_slice(given);
        binds.list[given.len()] = (0, BufRef::Params(slot, bytes.len() as u64));
        self.list.push(Dispatch {
            pipe,
            binds,
            groups,
        });
    }

    /// `out = x · Wᵀ` (`out += ` with `acc`) for `n_tok` rows of `x` from row `x_off` on.
    fn matvec(&mut self, m: MatRef, x: BufRef, x_off: usize, n_tok: usize, out: BufRef, acc: bool) {
        let g = self.g;
        let mat = g.matrix(m);
        let kernel = MatKernel::choose(n_tok, mat.cols);
        for (i, part) in mat.parts.iter().enumerate() {
            let p = MatvecParams {
                rows: part.rows as u32,
                row0: part.row0 as u32,
                cols: mat.cols as u32,
                n_tok: n_tok as u32,
                x_off: x_off as u32,
                x_stride: mat.cols as u32,
                out_off: 0,
                out_stride: mat.rows as u32,
                w_row0: part.w_row0 as u32,
                acc: acc as u32,
                ..Zeroable::zeroed()
            };
            self.push(
                Pipe::Matvec(mat.ty, kernel),
                p,
                [(1, BufRef::Weight(m, i)), (2, x), (3, out)],
                kernel.groups(part.rows, n_tok, g.tune.rows_per_thread),
            );
        }
    }

    /// Encodes and submits what was recorded; with `rows`, also the logits of those rows of
    /// `Act::X`, read back into `logits`.
    pub async fn finish(
        mut self,
        rows: std::ops::Range<usize>,
        logits: &mut Vec<f32>,
    ) -> Result<()> {
        let hp = self.hp;
        let n_vocab = hp.n_vocab;
        if !rows.is_empty() {
            let np = NormParams {
                width: hp.n_embd as u32,
                rows: self.n as u32,
                eps: hp.rms_eps,
                _pad: 0,
            };
            let binds = [
                (1, BufRef::OutputNorm),
                (2, BufRef::Act(Act::X)),
                (3, BufRef::Hidden),
            ];
            self.push(Pipe::RmsNorm, np, binds, [self.n as u32, 1, 1]);
        }
        let mut start = rows.start;
        loop {
            let take = (rows.end - start).min(self.sess.logits_rows);
            if take > 0 {
                self.matvec(
                    MatRef::Output,
                    BufRef::Hidden,
                    start * hp.n_embd,
                    take,
                    BufRef::Logits,
                    false,
                );
            }
            self.submit(take * n_vocab, logits).await?;
            start += take;
            if start >= rows.end {
                self.sess.list = std::mem::take(&mut self.list);
                self.sess.params_host = std::mem::take(&mut self.params);
                return Ok(());
            }
        }
    }

    /// Runs the recorded list, then reads `n_out` logits back (appended to `logits`).
    async fn submit(&mut self, n_out: usize, logits: &mut Vec<f32>) -> Result<()> {
        let t0 = Stopwatch::start();
        let g = self.g;
        let dev = &g.dev;
        let sess = &mut *self.sess;
        if self.list.len() > sess.params_slots {
            sess.params_slots = self.list.len().next_power_of_two();
            sess.params = params_buffer(dev, sess.params_slots, sess.slot_bytes)?;
            sess.binds.clear();
        }
        dev.queue.write_buffer(&sess.params, 0, &self.params);
        if sess.binds.len() < self.list.len() {
            sess.binds.resize_with(self.list.len(), || None);
        }
        for (slot, d) in self.list.iter().enumerate() {
            let fresh = sess.binds[slot]
                .as_ref()
                .is_some_and(|c| c.pipe == d.pipe && c.binds == d.binds);
            if !fresh {
                let layout = g.pipes[&d.pipe].get_bind_group_layout(0);
                let entries: Vec<wgpu::BindGroupEntry> = d
                    .binds
                    .as_slice()
                    .iter()
                    .map(|&(binding, r)| wgpu::BindGroupEntry {
                        binding,
                        resource: sess.buffer(g, r),
                    })
                    .collect();
                let group = dev.checked("bind group", || {
                    dev.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: None,
                        layout: &layout,
                        entries: &entries,
                    })
                })?;
                sess.binds[slot] = Some(CachedBind {
                    pipe: d.pipe,
                    binds: d.binds,
                    group,
                });
            }
        }
        let out_bytes = (n_out * 4) as u64;
        let timer = dev
            .profiling
            .then(|| super::profile::PassTimer::new(dev, self.list.len()));
        dev.checked("forward pass", || {
            let mut enc = dev
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            {
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: None,
                });
                for (slot, d) in self.list.iter().enumerate() {
                    if let Some(t) = &timer {
                        t.mark(&mut pass, slot);
                    }
                    pass.set_pipeline(&g.pipes[&d.pipe]);
                    if let Some(c) = &sess.binds[slot] {
                        pass.set_bind_group(0, &c.group, &[]);
                    }
                    pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
                }
                if let Some(t) = &timer {
                    t.mark(&mut pass, self.list.len());
                }
            }
            if let Some(t) = &timer {
                t.resolve(&mut enc);
            }
            if out_bytes > 0 {
                enc.copy_buffer_to_buffer(&sess.logits, 0, &sess.staging, 0, out_bytes);
            }
            dev.queue.submit([enc.finish()]);
        })?;
        let st = &SUBMIT_STATS;
        st.submits.fetch_add(1, Ordering::Relaxed);
        st.dispatches
            .fetch_add(self.list.len() as u64, Ordering::Relaxed);
        st.host_ns.fetch_add(t0.nanos(), Ordering::Relaxed);
        let t1 = Stopwatch::start();
        let waited = || {
            st.wait_ns.fetch_add(t1.nanos(), Ordering::Relaxed);
        };
        if let Some(t) = &timer {
            t.collect(dev, self.list.iter().map(|d| format!("{:?}", d.pipe)))?;
        }
        self.list.clear();
        self.params.clear();
        if out_bytes == 0 {
            // Nothing to read: natively wait anyway, so errors and timings belong to this pass;
            // in the browser the next submission simply queues behind it.
            #[cfg(not(target_arch = "wasm32"))]
            dev.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| Error::gpu(GpuErrorKind::Lost, e.to_string()))?;
            waited();
            return dev.check_late_error();
        }
        read_back(dev, &sess.staging, out_bytes, logits).await?;
        waited();
        Ok(())
    }

    fn norm_weights(&self, il: usize, w: Norm) -> Option<usize> {
        self.g.layers[il].norms[w as usize].as_ref().map(|n| n.1)
    }

    /// Records a fused one-token product (`make(normed)`: `MatvecQkv` or `MatvecGateUp`) whose
    /// `binds` read `Cur` at binding 2. When the dispatch just recorded is the norm that wrote
    /// `Cur` (rows of `p.cols`), it is taken back and goes into the product: binding 2 then reads
    /// the norm's input, and the product still writes the normed row to `Cur` (binding 4) with
    /// the norm's weights (binding 7).
    fn push_fused(
        &mut self,
        make: impl FnOnce(bool) -> Pipe,
        mut p: MatvecParams,
        binds: &[(u32, BufRef)],
        groups: [u32; 3],
    ) {
        let reread = groups.iter().map(|&g| g as usize).product::<usize>() * p.cols as usize * 4;
        let fuse = reread <= self.g.tune.fuse_norm_bytes;
        let norm = self.last_norm.take().filter(|n| {
            fuse && n.slot + 1 == self.list.len()
                && n.dst == Act::Cur
                && self.norm_weights(n.il, n.w) == Some(p.cols as usize)
        });
        let mut all = [(0, BufRef::Ids); 7];
        all[..binds.len()].copy_from_slice(binds);
        let mut len = binds.len();
        if let Some(n) = norm {
            self.list.pop();
            self.params.truncate(n.slot * self.sess.slot_bytes);
            p.eps = self.hp.rms_eps;
            for b in &mut all[..len] {
                if b.0 == 2 {
                    b.1 = BufRef::Act(n.src);
                }
            }
            all[len] = (4, BufRef::Act(Act::Cur));
            all[len + 1] = (7, BufRef::Norm(n.il, n.w));
            len += 2;
        }
        self.push(make(norm.is_some()), p, &all[..len], groups);
    }
}

impl ForwardOps for GpuForward<'_> {
    fn embed(&mut self, tokens: &[u32]) {
        let g = self.g;
        g.dev
            .queue
            .write_buffer(&self.sess.ids, 0, bytemuck::cast_slice(tokens));
        let m = &g.token_embd;
        for (i, part) in m.parts.iter().enumerate() {
            let p = GetRowsParams {
                rows: part.rows as u32,
                row0: part.row0 as u32,
                cols: m.cols as u32,
                n_tok: self.n as u32,
            };
            let binds = [
                (1, BufRef::Weight(MatRef::TokenEmbd, i)),
                (3, BufRef::Act(Act::X)),
                (4, BufRef::Ids),
            ];
            let groups = [m.cols.div_ceil(64) as u32, self.n as u32, 1];
            self.push(Pipe::GetRows(m.ty), p, binds, groups);
        }
    }

    fn scale(&mut self, a: Act, s: f32) {
        let count = self.n * width(self.hp, a);
        let p = ScaleParams {
            count: count as u32,
            s,
            _pad0: 0,
            _pad1: 0,
        };
        self.push(Pipe::Scale, p, [(1, BufRef::Act(a))], flat_groups(count));
    }

    fn norm(&mut self, il: usize, w: Norm, src: Act, dst: Act) {
        let Some(len) = self.norm_weights(il, w) else {
            return;
        };
        let rows = self.n * width(self.hp, dst) / len;
        let p = NormParams {
            width: len as u32,
            rows: rows as u32,
            eps: self.hp.rms_eps,
            _pad: 0,
        };
        let wb = (1, BufRef::Norm(il, w));
        if src == dst {
            let binds = [wb, (3, BufRef::Act(dst))];
            self.push(Pipe::RmsNormInplace, p, binds, [rows as u32, 1, 1]);
        } else {
            let binds = [wb, (2, BufRef::Act(src)), (3, BufRef::Act(dst))];
            self.push(Pipe::RmsNorm, p, binds, [rows as u32, 1, 1]);
            let slot = self.list.len() - 1;
            self.last_norm = Some(LastNorm {
                slot,
                il,
                w,
                src,
                dst,
            });
        }
    }

    fn matmul(&mut self, il: usize, w: Mat, x: Act, out: Act) {
        let m = MatRef::Layer(il, w);
        self.matvec(m, BufRef::Act(x), 0, self.n, BufRef::Act(out), false);
    }

    fn matmul_add(&mut self, il: usize, w: Mat, x: Act, dst: Act) {
        let m = MatRef::Layer(il, w);
        self.matvec(m, BufRef::Act(x), 0, self.n, BufRef::Act(dst), true);
    }

    fn qkv(&mut self, il: usize) {
        let l = &self.g.layers[il];
        if self.n != 1 || !l.qkv_stacked {
            return qkv_apart(self, il);
        }
        let [q, k, v] = [Mat::Q, Mat::K, Mat::V].map(|m| &l.mats[m as usize]);
        let (ty, rows, cols) = (q.ty, q.rows + k.rows + v.rows, q.cols);
        let p = MatvecParams {
            rows: rows as u32,
            cols: cols as u32,
            n_tok: 1,
            x_stride: cols as u32,
            w_row0: q.parts[0].w_row0 as u32,
            split_k: q.rows as u32,
            split_v: (q.rows + k.rows) as u32,
            ..Zeroable::zeroed()
        };
        let binds = [
            (1, BufRef::Weight(MatRef::Layer(il, Mat::Q), 0)),
            (2, BufRef::Act(Act::Cur)),
            (3, BufRef::Act(Act::Q)),
            (5, BufRef::Act(Act::K)),
            (6, BufRef::Act(Act::V)),
        ];
        let groups = MatKernel::Matvec1.groups(rows, 1, self.g.tune.rows_per_thread);
        self.push_fused(|normed| Pipe::MatvecQkv(ty, normed), p, &binds, groups);
        self.last_qkv = Some(self.list.len() - 1);
    }

    fn gate_up(&mut self, il: usize, act: FfnActivation) {
        let l = &self.g.layers[il];
        if self.n != 1 || !l.gate_up_stacked {
            return gate_up_apart(self, il, act);
        }
        let (gate, up) = (&l.mats[Mat::Gate as usize], &l.mats[Mat::Up as usize]);
        let (g0, u0) = (gate.parts[0].w_row0, up.parts[0].w_row0);
        let (ty, rows, cols) = (gate.ty, gate.rows, gate.cols);
        let p = MatvecParams {
            rows: rows as u32,
            cols: cols as u32,
            n_tok: 1,
            x_stride: cols as u32,
            out_stride: rows as u32,
            w_row0: g0 as u32,
            split_k: (u0 - g0) as u32,
            act: (act == FfnActivation::Gelu) as u32,
            ..Zeroable::zeroed()
        };
        let binds = [
            (1, BufRef::Weight(MatRef::Layer(il, Mat::Gate), 0)),
            (2, BufRef::Act(Act::Cur)),
            (3, BufRef::Act(Act::Gate)),
        ];
        // One workgroup's two thread groups take the same gate and up rows.
        let groups =
            MatKernel::Matvec1.groups(MATVEC_GROUPS * rows, 1, self.g.tune.rows_per_thread);
        self.push_fused(|normed| Pipe::MatvecGateUp(ty, normed), p, &binds, groups);
    }

    fn rope_qk(&mut self, rope: &Rope, pos0: usize) {
        let hp = self.hp;
        // Normal-style pairs are neighbouring rows, which the fused Q/K/V product computes in
        // one workgroup: it rotates them itself when it comes right before.
        if let Some(slot) = self.last_qkv.take() {
            if slot + 1 == self.list.len() && rope.style == RopeStyle::Norm {
                let at = slot * self.sess.slot_bytes;
                let size = size_of::<MatvecParams>();
                let mut p: MatvecParams = bytemuck::pod_read_unaligned(&self.params[at..at + size]);
                p.rope = 1;
                p.pos0 = pos0 as u32;
                p.head_dim = hp.head_dim as u32;
                p.n_rot = rope.n_rot as u32;
                p.theta_scale = rope.theta_scale();
                p.freq_scale = rope.freq_scale();
                self.params[at..at + size].copy_from_slice(bytemuck::bytes_of(&p));
                return;
            }
        }
        let p = RopeParams {
            n_tok: self.n as u32,
            n_heads_q: hp.n_head as u32,
            n_heads_k: hp.n_head_kv as u32,
            head_dim: hp.head_dim as u32,
            n_rot: rope.n_rot as u32,
            pos0: pos0 as u32,
            neox: (rope.style == RopeStyle::Neox) as u32,
            theta_scale: rope.theta_scale(),
            freq_scale: rope.freq_scale(),
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        };
        let heads = hp.n_head.max(hp.n_head_kv);
        let groups = [
            (heads * rope.n_rot / 2).div_ceil(64) as u32,
            self.n as u32,
            2,
        ];
        let binds = [(1, BufRef::Act(Act::Q)), (2, BufRef::Act(Act::K))];
        self.push(Pipe::Rope, p, binds, groups);
    }

    fn attend(&mut self, il: usize, shape: AttnShape, pos0: usize) {
        // One dispatch: the kernel also stores the batch's K and V rows into the cache.
        let p = AttnParams {
            n_tok: self.n as u32,
            n_head: shape.n_head as u32,
            n_head_kv: shape.n_head_kv as u32,
            head_dim: shape.head_dim as u32,
            head_dim_v: shape.head_dim_v as u32,
            pos0: pos0 as u32,
            window: shape.window.unwrap_or(0) as u32,
            scale: shape.scale,
        };
        let binds = [
            (1, BufRef::Act(Act::Q)),
            (2, BufRef::KvK(il)),
            (3, BufRef::KvV(il)),
            (4, BufRef::Act(Act::Attn)),
            (5, BufRef::Act(Act::K)),
            (6, BufRef::Act(Act::V)),
        ];
        self.push(
            Pipe::Attention,
            p,
            binds,
            [shape.n_head as u32, self.n as u32, 1],
        );
    }

    fn gated_act(&mut self, act: FfnActivation) {
        let count = self.n * self.hp.n_ff;
        let p = GatedActParams {
            count: count as u32,
            act: (act == FfnActivation::Gelu) as u32,
            _pad0: 0,
            _pad1: 0,
        };
        let binds = [(1, BufRef::Act(Act::Up)), (2, BufRef::Act(Act::Gate))];
        self.push(Pipe::GatedAct, p, binds, flat_groups(count));
    }

    fn add(&mut self, dst: Act, src: Act) {
        let count = self.n * width(self.hp, dst);
        let p = AddParams {
            count: count as u32,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        };
        let binds = [(1, BufRef::Act(src)), (2, BufRef::Act(dst))];
        self.push(Pipe::Add, p, binds, flat_groups(count));
    }

    /// The GPU keeps intermediates on the device: the debug hook sees the CPU backend's only.
    fn trace(&mut self, _il: usize, _label: &str, _a: Act) {}
}

/// The shape of one [`matvec_once`] product.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy)]
pub struct MatvecShape {
    pub rows: usize,
    pub cols: usize,
    pub n_tok: usize,
    /// Rows per thread of the one-token kernel (one of [`shaders::MATVEC_ROWS_PER_THREAD`]).
    pub rows_per_thread: usize,
}

/// One matrix-vector product on its own, for tests of the kernels against the scalar spec:
/// `out[t * rows + r] = Σ_i W[r, i] · x[t * cols + i]` with `w` the bytes of `rows` rows of type
/// `ty`.
#[cfg(not(target_arch = "wasm32"))]
pub fn matvec_once(
    dev: &GpuDevice,
    ty: GgmlType,
    w: &[u8],
    x: &[f32],
    shape: MatvecShape,
) -> Result<Vec<f32>> {
    let MatvecShape {
        rows,
        cols,
        n_tok,
        rows_per_thread,
    } = shape;
    use super::weights::{upload_as, upload_bytes};
    let kernel = MatKernel::choose(n_tok, cols);
    let src = kernel
        .source(ty, rows_per_thread)
        .ok_or_else(|| Error::gpu(GpuErrorKind::Unsupported, format!("no GPU kernel for {ty}")))?;
    let pipe = pipeline(dev, "matvec", &src, "main")?;
    let wb = upload_bytes(dev, "w", w)?;
    let xb = upload_f32(dev, "x", x)?;
    let p = MatvecParams {
        rows: rows as u32,
        row0: 0,
        cols: cols as u32,
        n_tok: n_tok as u32,
        x_off: 0,
        x_stride: cols as u32,
        out_off: 0,
        out_stride: rows as u32,
        ..bytemuck::Zeroable::zeroed()
    };
    let pb = upload_as(
        dev,
        "params",
        bytemuck::bytes_of(&p),
        wgpu::BufferUsages::UNIFORM,
    )?;
    let out_bytes = (rows * n_tok * 4) as u64;
    let s = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
    let out = dev.storage("out", out_bytes, s)?;
    let staging = dev.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("staging"),
        size: out_bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    // The uniform binding is the struct's size (the buffer has padding after it).
    let params = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer: &pb,
        offset: 0,
        size: NonZeroU64::new(size_of::<MatvecParams>() as u64),
    });
    dev.checked("matvec_once", || {
        let layout = pipe.get_bind_group_layout(0);
        let group = dev.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params,
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wb.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: xb.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: out.as_entire_binding(),
                },
            ],
        });
        let mut enc = dev
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&pipe);
            pass.set_bind_group(0, &group, &[]);
            let [gx, gy, gz] = kernel.groups(rows, n_tok, rows_per_thread);
            pass.dispatch_workgroups(gx, gy, gz);
        }
        enc.copy_buffer_to_buffer(&out, 0, &staging, 0, out_bytes);
        dev.queue.submit([enc.finish()]);
    })?;
    let mut v = Vec::new();
    pollster::block_on(read_back(dev, &staging, out_bytes, &mut v))?;
    Ok(v)
}

/// Waits for the submitted work (blocking natively, a promise in the browser), then appends
/// the first `bytes` of `staging` (f32 values) to `out`.
async fn read_back(
    dev: &GpuDevice,
    staging: &wgpu::Buffer,
    bytes: u64,
    out: &mut Vec<f32>,
) -> Result<()> {
    let lost = |e: String| Error::gpu(GpuErrorKind::Lost, e);
    let slice = staging.slice(..bytes);
    let (tx, rx) = futures_channel::oneshot::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    dev.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| lost(e.to_string()))?;
    let mapped = rx.await.map_err(|e| lost(e.to_string()));
    // A failed pass (validation, memory, a lost device) shows here first in the browser.
    dev.check_late_error()?;
    mapped?.map_err(|e| lost(e.to_string()))?;
    {
        let view = slice.get_mapped_range().map_err(|e| lost(e.to_string()))?;
        out.extend_from_slice(bytemuck::cast_slice(&view));
    }
    staging.unmap();
    Ok(())
}
