//! Synthetic models: a valid GGUF of any llama shape and weight type, with random weights,
//! written as a stream (a 7B Q4_0 file is ~3.8 GB and never sits in memory). Tests use small
//! ones in a `Vec`; speed and memory work uses the presets on disk.
//!
//! The file holds every `llama.*` key the loader reads, a tiny GPT-2 byte-level vocabulary
//! (the 256 byte tokens, `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`, then filler tokens up
//! to `n_vocab`; no merges, so text encodes byte by byte), a ChatML template, F32 norms of 1.0
//! and every matrix (token embeddings included, tied to the output) in `weight_type`,
//! quantized row by row with [`quant::quantize_weights`].
//!
//! Layout: header, metadata and tensor infos are computed first (tensor sizes follow from
//! shape and type), then each tensor's data is generated, quantized and written, padded to
//! the alignment. Memory use is one row.

use std::io::Write;

use super::weights::{blk, blk_name, OUTPUT_NORM, TOKEN_EMBD};
use super::Arch;
use crate::error::{Error, Result};
use crate::gguf::keys::{self, arch_key, hp};
use crate::gguf::{align_up, tensor_size, type_id, DEFAULT_ALIGNMENT, MAGIC};
use crate::quant::{self, GgmlType};
use crate::sample::SplitMix64;

/// Shape and weight type of a synthetic model.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    /// Only [`Arch::Llama`] is written.
    pub arch: Arch,
    pub n_vocab: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub n_ff: usize,
    pub n_ctx_train: usize,
    /// Type of every matrix (token embeddings included); norms are always F32.
    pub weight_type: GgmlType,
    /// Seeds the weights: the same spec gives the same bytes.
    pub seed: u64,
}

/// Tokens every synthetic vocabulary has before its fillers: 256 bytes + 3 specials.
pub const SYNTHETIC_MIN_VOCAB: usize = 256 + SPECIALS.len();

/// Special tokens after the byte tokens; the first is BOS and EOS.
const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// ChatML, as SmolLM2 and many others ship it.
const CHATML_TEMPLATE: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// llama.cpp's `LLAMA_TOKEN_TYPE_*`.
const TOKEN_TYPE_NORMAL: i32 = 1;
const TOKEN_TYPE_CONTROL: i32 = 3;

impl SyntheticSpec {
    /// TinyLlama-1.1B's shape (GQA 32/4).
    pub fn tinyllama_1_1b(weight_type: GgmlType) -> Self {
        SyntheticSpec {
            arch: Arch::Llama,
            n_vocab: 32000,
            n_embd: 2048,
            n_layer: 22,
            n_head: 32,
            n_head_kv: 4,
            n_ff: 5632,
            n_ctx_train: 2048,
            weight_type,
            seed: 1,
        }
    }

    /// SmolLM2-135M's shape (GQA 9/3, head_dim 64).
    pub fn smollm2_135m(weight_type: GgmlType) -> Self {
        SyntheticSpec {
            arch: Arch::Llama,
            n_vocab: 49152,
            n_embd: 576,
            n_layer: 30,
            n_head: 9,
            n_head_kv: 3,
            n_ff: 1536,
            n_ctx_train: 2048,
            weight_type,
            seed: 1,
        }
    }

    /// Llama-3-8B's shape (GQA 32/8, vocab 128256).
    pub fn llama3_8b(weight_type: GgmlType) -> Self {
        SyntheticSpec {
            arch: Arch::Llama,
            n_vocab: 128256,
            n_embd: 4096,
            n_layer: 32,
            n_head: 32,
            n_head_kv: 8,
            n_ff: 14336,
            n_ctx_train: 8192,
            weight_type,
            seed: 1,
        }
    }

    /// A named shape: `smollm2-135m`, `tinyllama-1.1b`, `llama-2-7b` or `llama-3-8b`.
    pub fn by_name(shape: &str, weight_type: GgmlType) -> Option<Self> {
        Some(match shape {
            "smollm2-135m" => SyntheticSpec::smollm2_135m(weight_type),
            "tinyllama-1.1b" => SyntheticSpec::tinyllama_1_1b(weight_type),
            "llama-2-7b" => SyntheticSpec::llama_7b(weight_type),
            "llama-3-8b" => SyntheticSpec::llama3_8b(weight_type),
            _ => return None,
        })
    }

    /// Llama-2-7B's shape.
    pub fn llama_7b(weight_type: GgmlType) -> Self {
        SyntheticSpec {
            arch: Arch::Llama,
            n_vocab: 32000,
            n_embd: 4096,
            n_layer: 32,
            n_head: 32,
            n_head_kv: 32,
            n_ff: 11008,
            n_ctx_train: 4096,
            weight_type,
            seed: 1,
        }
    }

    fn head_dim(&self) -> usize {
        self.n_embd / self.n_head.max(1)
    }

    /// Rejects shapes the file could not describe or the loader would refuse.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| {
            Err(Error::InvalidArgument {
                name: "SyntheticSpec",
                why,
            })
        };
        if self.arch != Arch::Llama {
            return Err(Error::UnsupportedArch(self.arch.gguf_name().to_string()));
        }
        if quant::kernels(self.weight_type).is_none()
            || !quant::can_quantize_weights(self.weight_type)
        {
            return bad(format!(
                "{} has no kernels or no weight quantizer",
                self.weight_type
            ));
        }
        if [
            self.n_embd,
            self.n_layer,
            self.n_head,
            self.n_head_kv,
            self.n_ff,
        ]
        .contains(&0)
            || self.n_ctx_train == 0
        {
            return bad("every dimension must be positive".into());
        }
        if self.n_vocab < SYNTHETIC_MIN_VOCAB {
            return bad(format!("n_vocab must be at least {SYNTHETIC_MIN_VOCAB}"));
        }
        if !self.n_embd.is_multiple_of(self.n_head) || !self.n_head.is_multiple_of(self.n_head_kv) {
            return bad("n_embd must divide by n_head, n_head by n_head_kv".into());
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad("the head dimension must be even (RoPE)".into());
        }
        let bl = self.weight_type.block_len();
        if !self.n_embd.is_multiple_of(bl) || !self.n_ff.is_multiple_of(bl) {
            return bad(format!(
                "n_embd and n_ff must be multiples of {bl} for {}",
                self.weight_type
            ));
        }
        Ok(())
    }

    /// Every tensor in file order: name, ggml dims, type.
    pub fn tensors(&self) -> Vec<(String, Vec<u64>, GgmlType)> {
        let (e, ff, v) = (self.n_embd as u64, self.n_ff as u64, self.n_vocab as u64);
        let kv = (self.n_head_kv * self.head_dim()) as u64;
        let w = self.weight_type;
        let mut t = vec![(TOKEN_EMBD.to_string(), vec![e, v], w)];
        for il in 0..self.n_layer {
            let n = |name| blk_name(il, name);
            t.push((n(blk::ATTN_NORM), vec![e], GgmlType::F32));
            t.push((n(blk::ATTN_Q), vec![e, e], w));
            t.push((n(blk::ATTN_K), vec![e, kv], w));
            t.push((n(blk::ATTN_V), vec![e, kv], w));
            t.push((n(blk::ATTN_OUTPUT), vec![e, e], w));
            t.push((n(blk::FFN_NORM), vec![e], GgmlType::F32));
            t.push((n(blk::FFN_GATE), vec![e, ff], w));
            t.push((n(blk::FFN_UP), vec![e, ff], w));
            t.push((n(blk::FFN_DOWN), vec![ff, e], w));
        }
        t.push((OUTPUT_NORM.to_string(), vec![e], GgmlType::F32));
        t
    }

    /// Size of the whole file in bytes.
    pub fn file_size(&self) -> Result<u64> {
        self.validate()?;
        let header = header(self)?;
        let mut end = align_up(header.len() as u64, DEFAULT_ALIGNMENT);
        for (name, dims, ty) in self.tensors() {
            end = align_up(end + tensor_size(&name, &dims, ty)?, DEFAULT_ALIGNMENT);
        }
        Ok(end)
    }
}

/// Writes the model `spec` describes to `out`, tensor by tensor (wrap files in a
/// `BufWriter`). I/O failures are reported as `InvalidArgument { name: "out" }`.
pub fn write_synthetic(spec: &SyntheticSpec, out: &mut impl Write) -> Result<()> {
    spec.validate()?;
    let io = |e: std::io::Error| Error::InvalidArgument {
        name: "out",
        why: format!("writing the synthetic model failed: {e}"),
    };
    let head = header(spec)?;
    out.write_all(&head).map_err(io)?;
    let mut pos = head.len() as u64;
    let mut zeros = [0u8; DEFAULT_ALIGNMENT as usize];
    pos = pad(out, pos, &mut zeros).map_err(io)?;

    let mut rng = SplitMix64::new(spec.seed);
    let mut row = Vec::new();
    let mut bytes = Vec::new();
    for (name, dims, ty) in spec.tensors() {
        let cols = dims.first().copied().unwrap_or(0) as usize;
        let rows = dims.iter().skip(1).product::<u64>() as usize;
        let row_bytes = ty.checked_row_bytes(&name, cols as u64)? as usize;
        row.resize(cols, 0.0f32);
        bytes.resize(row_bytes, 0u8);
        // Uniform in ±sqrt(3/cols): unit-variance inputs give unit-variance outputs.
        let amp = (3.0 / cols as f32).sqrt();
        for _ in 0..rows {
            if dims.len() == 1 {
                row.fill(1.0); // norm weights
            } else {
                fill_uniform(&mut rng, &mut row, amp);
            }
            if !quant::quantize_weights(ty, &row, &mut bytes) {
                return Err(Error::UnsupportedTensorType {
                    tensor: name,
                    id: ty.id(),
                });
            }
            out.write_all(&bytes).map_err(io)?;
        }
        pos = pad(out, pos + (rows * row_bytes) as u64, &mut zeros).map_err(io)?;
    }
    out.flush().map_err(io)
}

/// Writes zeros up to the next alignment boundary; returns the new position.
fn pad(out: &mut impl Write, pos: u64, zeros: &mut [u8]) -> std::io::Result<u64> {
    let next = align_up(pos, DEFAULT_ALIGNMENT);
    zeros.fill(0);
    out.write_all(&zeros[..(next - pos) as usize])?;
    Ok(next)
}

/// Fills `row` with uniform values in `[-amp, amp)`, two per 64 random bits.
pub(crate) fn fill_uniform(rng: &mut SplitMix64, row: &mut [f32], amp: f32) {
    const SCALE: f32 = 2.0 / (1u32 << 24) as f32;
    let mut pairs = row.chunks_exact_mut(2);
    for pair in &mut pairs {
        let x = rng.next_u64();
        pair[0] = ((x >> 40) as f32 * SCALE - 1.0) * amp;
        pair[1] = (((x >> 8) & 0xff_ffff) as f32 * SCALE - 1.0) * amp;
    }
    for v in pairs.into_remainder() {
        *v = ((rng.next_u64() >> 40) as f32 * SCALE - 1.0) * amp;
    }
}

/// Magic, counts, metadata and tensor infos (offsets included); not yet padded.
fn header(spec: &SyntheticSpec) -> Result<Vec<u8>> {
    let arch = spec.arch.gguf_name();
    let k = |suffix| arch_key(arch, suffix);
    let u32_of = |v: usize, what: &'static str| {
        u32::try_from(v).map_err(|_| Error::InvalidArgument {
            name: what,
            why: "does not fit in u32".into(),
        })
    };
    let (tokens, types) = vocabulary(spec.n_vocab);
    let meta: Vec<(String, Meta)> = vec![
        (keys::GENERAL_ARCHITECTURE.into(), Meta::Str(arch.into())),
        (
            keys::GENERAL_NAME.into(),
            Meta::Str(format!("synthetic-{}", spec.weight_type)),
        ),
        (
            k(hp::CONTEXT_LENGTH),
            Meta::U32(u32_of(spec.n_ctx_train, "n_ctx_train")?),
        ),
        (
            k(hp::EMBEDDING_LENGTH),
            Meta::U32(u32_of(spec.n_embd, "n_embd")?),
        ),
        (
            k(hp::BLOCK_COUNT),
            Meta::U32(u32_of(spec.n_layer, "n_layer")?),
        ),
        (
            k(hp::FEED_FORWARD_LENGTH),
            Meta::U32(u32_of(spec.n_ff, "n_ff")?),
        ),
        (k(hp::HEAD_COUNT), Meta::U32(u32_of(spec.n_head, "n_head")?)),
        (
            k(hp::HEAD_COUNT_KV),
            Meta::U32(u32_of(spec.n_head_kv, "n_head_kv")?),
        ),
        (
            k(hp::ROPE_DIMENSION_COUNT),
            Meta::U32(u32_of(spec.head_dim(), "head_dim")?),
        ),
        (k(hp::ROPE_FREQ_BASE), Meta::F32(10_000.0)),
        (k(hp::LAYER_NORM_RMS_EPS), Meta::F32(1e-5)),
        (
            k(hp::VOCAB_SIZE),
            Meta::U32(u32_of(spec.n_vocab, "n_vocab")?),
        ),
        (keys::TOKENIZER_MODEL.into(), Meta::Str("gpt2".into())),
        (keys::TOKENIZER_PRE.into(), Meta::Str("default".into())),
        (keys::TOKENIZER_TOKENS.into(), Meta::StrArray(tokens)),
        (keys::TOKENIZER_TOKEN_TYPE.into(), Meta::I32Array(types)),
        (keys::TOKENIZER_MERGES.into(), Meta::StrArray(Vec::new())),
        (keys::TOKENIZER_BOS_ID.into(), Meta::U32(256)),
        (keys::TOKENIZER_EOS_ID.into(), Meta::U32(256)),
        (keys::TOKENIZER_ADD_BOS.into(), Meta::Bool(false)),
        (
            keys::TOKENIZER_CHAT_TEMPLATE.into(),
            Meta::Str(CHATML_TEMPLATE.into()),
        ),
    ];
    let tensors = spec.tensors();

    let mut h = Vec::new();
    h.extend_from_slice(&MAGIC);
    put_u32(&mut h, 3);
    put_u64(&mut h, tensors.len() as u64);
    put_u64(&mut h, meta.len() as u64);
    for (key, value) in &meta {
        put_str(&mut h, key);
        value.put(&mut h);
    }
    let mut offset = 0u64;
    for (name, dims, ty) in &tensors {
        put_str(&mut h, name);
        put_u32(&mut h, dims.len() as u32);
        for &d in dims {
            put_u64(&mut h, d);
        }
        put_u32(&mut h, ty.id());
        put_u64(&mut h, offset);
        offset = align_up(offset + tensor_size(name, dims, *ty)?, DEFAULT_ALIGNMENT);
    }
    Ok(h)
}

/// Token texts and types: bytes in GPT-2's printable alphabet, the specials, fillers.
fn vocabulary(n_vocab: usize) -> (Vec<String>, Vec<i32>) {
    let mut tokens: Vec<String> = (0..=255u8).map(|b| gpt2_byte_char(b).into()).collect();
    let mut types = vec![TOKEN_TYPE_NORMAL; tokens.len()];
    for s in SPECIALS {
        tokens.push(s.into());
        types.push(TOKEN_TYPE_CONTROL);
    }
    for i in tokens.len()..n_vocab {
        tokens.push(format!("tok{i}"));
        types.push(TOKEN_TYPE_NORMAL);
    }
    (tokens, types)
}

/// GPT-2's stand-in character for byte `b`: printable Latin-1 bytes stand for themselves,
/// the other 68 map in order to U+0100.. (see tokenizer/byte_map.rs).
fn gpt2_byte_char(b: u8) -> char {
    let direct = |x: u8| matches!(x, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
    if direct(b) {
        return char::from(b);
    }
    let n = (0..b).filter(|&x| !direct(x)).count() as u32;
    char::from_u32(0x100 + n).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// The metadata value kinds a synthetic model uses.
enum Meta {
    U32(u32),
    F32(f32),
    Bool(bool),
    Str(String),
    StrArray(Vec<String>),
    I32Array(Vec<i32>),
}

impl Meta {
    fn put(&self, h: &mut Vec<u8>) {
        match self {
            Meta::U32(v) => {
                put_u32(h, type_id::U32);
                put_u32(h, *v);
            }
            Meta::F32(v) => {
                put_u32(h, type_id::F32);
                h.extend_from_slice(&v.to_le_bytes());
            }
            Meta::Bool(v) => {
                put_u32(h, type_id::BOOL);
                h.push(*v as u8);
            }
            Meta::Str(s) => {
                put_u32(h, type_id::STRING);
                put_str(h, s);
            }
            Meta::StrArray(v) => {
                put_u32(h, type_id::ARRAY);
                put_u32(h, type_id::STRING);
                put_u64(h, v.len() as u64);
                v.iter().for_each(|s| put_str(h, s));
            }
            Meta::I32Array(v) => {
                put_u32(h, type_id::ARRAY);
                put_u32(h, type_id::I32);
                put_u64(h, v.len() as u64);
                v.iter().for_each(|x| h.extend_from_slice(&x.to_le_bytes()));
            }
        }
    }
}

fn put_u32(h: &mut Vec<u8>, v: u32) {
    h.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(h: &mut Vec<u8>, v: u64) {
    h.extend_from_slice(&v.to_le_bytes());
}

fn put_str(h: &mut Vec<u8>, s: &str) {
    put_u64(h, s.len() as u64);
    h.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::GgufFile;

    fn tiny(ty: GgmlType) -> SyntheticSpec {
        SyntheticSpec {
            n_vocab: 300,
            n_embd: 64,
            n_layer: 1,
            n_head: 4,
            n_head_kv: 2,
            n_ff: 128,
            n_ctx_train: 64,
            ..SyntheticSpec::tinyllama_1_1b(ty)
        }
    }

    #[test]
    fn synthetic_file_size_matches_bytes_written_and_parses() {
        for ty in [GgmlType::Q4_0, GgmlType::F16, GgmlType::Q8_0] {
            let spec = tiny(ty);
            let mut out = Vec::new();
            write_synthetic(&spec, &mut out).unwrap();
            assert_eq!(out.len() as u64, spec.file_size().unwrap());
            let g = GgufFile::parse(&out).unwrap();
            assert_eq!(g.tensors.len(), spec.tensors().len());
            assert_eq!(g.data_offset + g.tensors.last().unwrap().offset + 64 * 4, {
                out.len() as u64
            });
        }
    }

    #[test]
    fn gpt2_byte_chars_match_the_tokenizer_alphabet() {
        assert_eq!(gpt2_byte_char(b' '), '\u{120}');
        assert_eq!(gpt2_byte_char(b'\n'), '\u{10A}');
        assert_eq!(gpt2_byte_char(b'a'), 'a');
        assert_eq!(gpt2_byte_char(0xAD), '\u{143}');
    }
}
