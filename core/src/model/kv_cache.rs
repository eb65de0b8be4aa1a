//! The key/value cache of one session: per layer, one K row and one V row per position, in f16
//! (llama.cpp's default cache type: half the memory of f32, and the precision its attention sees).

use half::f16;

use crate::error::{Error, Result};

pub struct KvCache {
    pub n_ctx: usize,
    /// Per layer: [n_ctx, n_embd_k]
    pub k: Vec<Vec<f16>>,
    /// Per layer: [n_ctx, n_embd_v]
    pub v: Vec<Vec<f16>>,
}

impl KvCache {
    /// Allocates the whole cache up front, failing cleanly instead of aborting on OOM.
    pub fn new(n_layer: usize, n_ctx: usize, n_embd_k: usize, n_embd_v: usize) -> Result<KvCache> {
        let per_layer = |w: usize| -> Result<Vec<f16>> {
            let n = n_ctx.checked_mul(w).ok_or(Error::OutOfMemory {
                needed: u64::MAX,
                available: 0,
            })?;
            let mut v = Vec::new();
            v.try_reserve_exact(n).map_err(|_| Error::OutOfMemory {
                needed: (n as u64) * 2,
                available: 0,
            })?;
            v.resize(n, f16::ZERO);
            Ok(v)
        };
        let mut k = Vec::with_capacity(n_layer);
        let mut v = Vec::with_capacity(n_layer);
        for _ in 0..n_layer {
            k.push(per_layer(n_embd_k)?);
            v.push(per_layer(n_embd_v)?);
        }
        Ok(KvCache { n_ctx, k, v })
    }
}
