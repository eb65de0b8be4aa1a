//! GGUF tensor names (llama.cpp's `LLM_TENSOR_NAMES`), written once, and the checked binding
//! of tensors to typed weights. A weight that is missing or has the wrong shape is an error
//! at load, never during a forward pass.

use crate::backend::cpu::QMatrix;
use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use crate::quant;

pub const TOKEN_EMBD: &str = "token_embd.weight";
pub const OUTPUT_NORM: &str = "output_norm.weight";
pub const OUTPUT: &str = "output.weight";

/// Per-block tensor names: `blk.{i}.{NAME}.weight`.
pub mod blk {
    pub const ATTN_NORM: &str = "attn_norm";
    pub const ATTN_Q: &str = "attn_q";
    pub const ATTN_K: &str = "attn_k";
    pub const ATTN_V: &str = "attn_v";
    pub const ATTN_OUTPUT: &str = "attn_output";
    pub const ATTN_Q_NORM: &str = "attn_q_norm";
    pub const ATTN_K_NORM: &str = "attn_k_norm";
    pub const POST_ATTENTION_NORM: &str = "post_attention_norm";
    pub const FFN_NORM: &str = "ffn_norm";
    pub const FFN_GATE: &str = "ffn_gate";
    pub const FFN_UP: &str = "ffn_up";
    pub const FFN_DOWN: &str = "ffn_down";
    pub const POST_FFW_NORM: &str = "post_ffw_norm";
}

pub fn blk_name(layer: usize, name: &str) -> String {
    format!("blk.{layer}.{name}.weight")
}

/// Binds named tensors of one parsed file, checking shapes.
pub struct WeightLoader<'a> {
    pub gguf: &'a GgufFile,
    pub file: &'a [u8],
}

impl WeightLoader<'_> {
    /// A matrix with `rows` outputs of `cols` inputs (ggml dims `[cols, rows]`).
    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatrix> {
        self.opt_matrix(name, rows, cols)?
            .ok_or_else(|| Error::MissingTensor(name.to_string()))
    }

    pub fn opt_matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Option<QMatrix>> {
        let Some(t) = self.gguf.tensor(name) else {
            return Ok(None);
        };
        let want = [cols as u64, rows as u64];
        if t.dims != want {
            return Err(Error::ShapeMismatch {
                tensor: name.into(),
                expected: want.to_vec(),
                found: t.dims.clone(),
            });
        }
        QMatrix::from_tensor(self.gguf, t).map(Some)
    }

    /// A vector (norm weights), decoded to f32: these are tiny, so a copy is fine.
    pub fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        self.opt_vector(name, len)?
            .ok_or_else(|| Error::MissingTensor(name.to_string()))
    }

    pub fn opt_vector(&self, name: &str, len: usize) -> Result<Option<Vec<f32>>> {
        let Some(t) = self.gguf.tensor(name) else {
            return Ok(None);
        };
        if t.dims != [len as u64] {
            return Err(Error::ShapeMismatch {
                tensor: name.into(),
                expected: vec![len as u64],
                found: t.dims.clone(),
            });
        }
        let k = quant::kernels(t.ty).ok_or_else(|| Error::UnsupportedTensorType {
            tensor: name.into(),
            id: t.ty.id(),
        })?;
        let mut out = vec![0.0; len];
        (k.dequantize_row)(self.gguf.tensor_data(self.file, t)?, &mut out);
        Ok(Some(out))
    }
}

/// One transformer block's weights. Every arch fills the ones it uses; the optional norms
/// exist in some archs only (llama.cpp's `llama_layer` does the same).
pub struct LayerWeights {
    pub attn_norm: Vec<f32>,
    pub wq: QMatrix,
    pub wk: QMatrix,
    pub wv: QMatrix,
    pub wo: QMatrix,
    pub attn_q_norm: Option<Vec<f32>>,
    pub attn_k_norm: Option<Vec<f32>>,
    pub post_attention_norm: Option<Vec<f32>>,
    pub ffn_norm: Vec<f32>,
    pub ffn_gate: QMatrix,
    pub ffn_up: QMatrix,
    pub ffn_down: QMatrix,
    pub post_ffw_norm: Option<Vec<f32>>,
}

impl LayerWeights {
    /// Every matrix of the block.
    pub fn matrices_mut(&mut self) -> [&mut QMatrix; 7] {
        [
            &mut self.wq,
            &mut self.wk,
            &mut self.wv,
            &mut self.wo,
            &mut self.ffn_gate,
            &mut self.ffn_up,
            &mut self.ffn_down,
        ]
    }
}
