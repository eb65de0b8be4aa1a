//! Hyperparameters, every one read from its GGUF key here and nowhere else.

use super::Arch;
use crate::error::{Error, Result};
use crate::gguf::keys::{arch_key, hp};
use crate::gguf::GgufFile;

#[derive(Debug, Clone, PartialEq)]
pub struct HParams {
    pub arch: Arch,
    /// `{arch}.context_length`: the context the model was trained with.
    pub n_ctx_train: usize,
    /// `{arch}.embedding_length`
    pub n_embd: usize,
    /// `{arch}.block_count`
    pub n_layer: usize,
    /// `{arch}.attention.head_count`
    pub n_head: usize,
    /// `{arch}.attention.head_count_kv` (defaults to n_head)
    pub n_head_kv: usize,
    /// `{arch}.attention.key_length` (defaults to n_embd / n_head)
    pub head_dim: usize,
    /// `{arch}.attention.value_length` (defaults to head_dim)
    pub head_dim_v: usize,
    /// `{arch}.feed_forward_length`
    pub n_ff: usize,
    /// Rows of `token_embd.weight` (`{arch}.vocab_size` when present must agree).
    pub n_vocab: usize,
    /// `{arch}.attention.layer_norm_rms_epsilon`
    pub rms_eps: f32,
    /// `{arch}.rope.freq_base` (default 10000)
    pub rope_freq_base: f32,
    /// `{arch}.rope.dimension_count` (defaults to head_dim)
    pub n_rot: usize,
    /// `{arch}.attention.sliding_window`, when the arch uses one.
    pub sliding_window: Option<usize>,
}

fn usize_of(v: u32) -> usize {
    v as usize
}

impl HParams {
    pub fn from_gguf(gguf: &GgufFile, arch: Arch, n_vocab: usize) -> Result<HParams> {
        let name = arch.gguf_name();
        let key = |suffix: &str| arch_key(name, suffix);
        let req = |suffix: &str| gguf.get_u32(&key(suffix)).map(usize_of);
        let opt = |suffix: &str| GgufFile::opt(gguf.get_u32(&key(suffix))).map(|v| v.map(usize_of));

        let n_embd = req(hp::EMBEDDING_LENGTH)?;
        let n_head = req(hp::HEAD_COUNT)?;
        if n_head == 0 || n_embd == 0 {
            return Err(Error::InvalidArgument {
                name: "hparams",
                why: "n_head and n_embd must be positive".into(),
            });
        }
        let n_head_kv = opt(hp::HEAD_COUNT_KV)?.unwrap_or(n_head);
        if n_head_kv == 0 || n_head % n_head_kv != 0 {
            return Err(Error::Corrupt {
                offset: 0,
                what: "head_count must be a multiple of head_count_kv",
            });
        }
        let head_dim = opt(hp::KEY_LENGTH)?.unwrap_or(n_embd / n_head);
        let n_rot = opt(hp::ROPE_DIMENSION_COUNT)?.unwrap_or(head_dim);
        if head_dim == 0
            || head_dim > super::attention::MAX_HEAD_DIM
            || n_rot > head_dim
            || n_rot % 2 != 0
        {
            return Err(Error::Corrupt {
                offset: 0,
                what: "rope dimension count must be even and <= head dim",
            });
        }
        if let Some(v) = opt(hp::VOCAB_SIZE)? {
            if v != n_vocab {
                return Err(Error::ShapeMismatch {
                    tensor: "token_embd.weight".into(),
                    expected: vec![v as u64],
                    found: vec![n_vocab as u64],
                });
            }
        }
        Ok(HParams {
            arch,
            n_ctx_train: req(hp::CONTEXT_LENGTH)?,
            n_embd,
            n_layer: req(hp::BLOCK_COUNT)?,
            n_head,
            n_head_kv,
            head_dim,
            head_dim_v: opt(hp::VALUE_LENGTH)?.unwrap_or(head_dim),
            n_ff: req(hp::FEED_FORWARD_LENGTH)?,
            n_vocab,
            rms_eps: gguf.get_f32(&key(hp::LAYER_NORM_RMS_EPS))?,
            rope_freq_base: GgufFile::opt(gguf.get_f32(&key(hp::ROPE_FREQ_BASE)))?
                .unwrap_or(10_000.0),
            n_rot,
            sliding_window: opt(hp::SLIDING_WINDOW)?,
        })
    }

    /// Width of all query heads together.
    pub fn n_embd_q(&self) -> usize {
        self.n_head * self.head_dim
    }

    /// Width of all key heads together (one K row of the cache).
    pub fn n_embd_k(&self) -> usize {
        self.n_head_kv * self.head_dim
    }

    /// Width of all value heads together (one V row of the cache).
    pub fn n_embd_v(&self) -> usize {
        self.n_head_kv * self.head_dim_v
    }
}
