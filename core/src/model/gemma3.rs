//! Architecture `gemma3` (in progress: arrives with the Gemma issue).

use super::weights::LayerWeights;
use super::{Forward, HParams};
use crate::error::{Error, Result};
use crate::gguf::GgufFile;

pub struct Params;

impl Params {
    pub fn new(_gguf: &GgufFile, _hp: &HParams, _layers: &[LayerWeights]) -> Result<Params> {
        Err(Error::UnsupportedArch("gemma3".into()))
    }
}

pub(super) fn forward(_f: &mut Forward<'_>, _p: &Params, _tokens: &[u32], _pos0: usize) {}
