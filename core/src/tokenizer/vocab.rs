//! The token table every tokenizer model shares: texts, scores, attributes, the special
//! ids (BOS, EOS, EOT, ...) and the end-of-generation set, read once from GGUF metadata.
// port of llama.cpp src/llama-vocab.cpp@00ad355e (llama_vocab::impl::load)

use super::token_texts::TokenTexts;
use crate::error::{Error, Result};
use crate::gguf::{keys, GgufFile};

/// Token attribute bits (llama.cpp `llama_token_attr`).
pub(crate) const ATTR_UNKNOWN: u32 = 1 << 0;
pub(crate) const ATTR_UNUSED: u32 = 1 << 1;
pub(crate) const ATTR_NORMAL: u32 = 1 << 2;
pub(crate) const ATTR_CONTROL: u32 = 1 << 3;
pub(crate) const ATTR_USER_DEFINED: u32 = 1 << 4;
pub(crate) const ATTR_BYTE: u32 = 1 << 5;

/// `tokenizer.ggml.token_type` value → attribute bits (llama.cpp `llama_token_type`).
fn attr_from_type(t: i32) -> u32 {
    match t {
        1 => ATTR_NORMAL,
        2 => ATTR_UNKNOWN,
        3 => ATTR_CONTROL,
        4 => ATTR_USER_DEFINED,
        5 => ATTR_UNUSED,
        6 => ATTR_BYTE,
        _ => 0, // undefined
    }
}

/// Which tokenization algorithm `tokenizer.ggml.model` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VocabKind {
    /// `gpt2`: byte-level BPE with merges.
    Bpe,
    /// `llama`: SentencePiece BPE with scores and `<0xXX>` byte fallback.
    Spm,
}

// Token texts llama.cpp recognises when the metadata does not name them.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];
/// gpt-oss tokens llama.cpp always renders (forced to user-defined).
const ALWAYS_RENDER_TEXTS: &[&str] = &["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"];

/// The token table of one model.
#[derive(Debug)]
pub(crate) struct Vocab {
    texts: TokenTexts,
    /// One per token, or empty when the file has no scores (all 0).
    scores: Vec<f32>,
    attrs: Vec<u32>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub unk: Option<u32>,
    /// End-of-generation ids, sorted.
    pub eog: Vec<u32>,
    /// `tokenizer.ggml.add_bos_token`, or the per-model default.
    pub add_bos: bool,
    /// `tokenizer.ggml.add_space_prefix`, or the per-model default.
    pub add_space_prefix: bool,
}

/// Defaults that depend on the tokenizer model and pre-tokenizer.
pub(crate) struct VocabDefaults {
    pub add_bos: bool,
}

impl Vocab {
    pub fn from_gguf(gguf: &GgufFile, kind: VocabKind, defaults: &VocabDefaults) -> Result<Vocab> {
        let tokens = gguf.get_str_array(keys::TOKENIZER_TOKENS)?;
        let n = tokens.len();
        if n == 0 {
            return Err(Error::BadTokenizer("the vocabulary is empty"));
        }
        if u32::try_from(n).is_err() {
            return Err(Error::BadTokenizer(
                "the vocabulary has more than 2^32 tokens",
            ));
        }
        let scores = GgufFile::opt(gguf.get_f32_array(keys::TOKENIZER_SCORES))?.unwrap_or(&[]);
        if !scores.is_empty() && scores.len() < n {
            return Err(Error::BadTokenizer("fewer token scores than tokens"));
        }
        let types = GgufFile::opt(gguf.get_i32_array(keys::TOKENIZER_TOKEN_TYPE))?;
        if types.is_some_and(|t| t.len() < n) {
            return Err(Error::BadTokenizer("fewer token types than tokens"));
        }

        let texts = TokenTexts::build(tokens)?;
        let attrs = match types {
            Some(t) => t.iter().take(n).map(|&t| attr_from_type(t)).collect(),
            None => vec![ATTR_NORMAL; n],
        };

        let in_range = |id: u32| ((id as usize) < n).then_some(id);
        let (bos, eos, unk) = match kind {
            VocabKind::Bpe => (in_range(11), in_range(11), None),
            VocabKind::Spm => (in_range(1), in_range(2), in_range(0)),
        };
        // An id outside the vocabulary keeps the default, like llama.cpp.
        let read_id = |key: &str, default: Option<u32>| -> Result<Option<u32>> {
            Ok(GgufFile::opt(gguf.get_u32(key))?
                .and_then(in_range)
                .or(default))
        };
        let mut vocab = Vocab {
            texts,
            scores: scores.get(..n).unwrap_or_default().to_vec(),
            attrs,
            bos: read_id(keys::TOKENIZER_BOS_ID, bos)?,
            eos: read_id(keys::TOKENIZER_EOS_ID, eos)?,
            eot: read_id(keys::TOKENIZER_EOT_ID, None)?,
            eom: read_id(keys::TOKENIZER_EOM_ID, None)?,
            unk: read_id(keys::TOKENIZER_UNK_ID, unk)?,
            eog: Vec::new(),
            add_bos: GgufFile::opt(gguf.get_bool(keys::TOKENIZER_ADD_BOS))?
                .unwrap_or(defaults.add_bos),
            add_space_prefix: GgufFile::opt(gguf.get_bool(keys::TOKENIZER_ADD_SPACE_PREFIX))?
                .unwrap_or(kind == VocabKind::Spm),
        };
        if vocab.add_bos && vocab.bos.is_none() {
            return Err(Error::BadTokenizer(
                "add_bos_token is true, but the model has no BOS token",
            ));
        }
        vocab.detect_special_tokens();
        Ok(vocab)
    }

    /// llama.cpp's text-based detection of EOT/EOM/FIM tokens and of the end-of-generation
    /// set; every token found this way is made a control token. Scans in id order, so when
    /// several texts match, the lowest id wins (llama.cpp's order is its hash map's).
    fn detect_special_tokens(&mut self) {
        let mut eot = self.eot;
        let mut eom = self.eom;
        let mut fim = [None::<u32>; 6]; // pre, suf, mid, pad, rep, sep
        let fim_lists = [
            FIM_PRE_TEXTS,
            FIM_SUF_TEXTS,
            FIM_MID_TEXTS,
            FIM_PAD_TEXTS,
            FIM_REP_TEXTS,
            FIM_SEP_TEXTS,
        ];
        let mut eog = Vec::new();
        for id in 0..self.texts.len() as u32 {
            let i = id as usize;
            let text = self.texts.get(id).unwrap_or_default();
            // Every listed text is short and starts with '<', '[', '_' or '▁'.
            if text.len() > 32
                || !matches!(text.as_bytes().first(), Some(b'<' | b'[' | b'_' | 0xE2))
            {
                continue;
            }
            let mut control = false;
            if eot.is_none() && EOT_TEXTS.contains(&text) {
                eot = Some(id);
                control = true;
            }
            if eom.is_none() && EOM_TEXTS.contains(&text) {
                eom = Some(id);
                control = true;
            }
            for (slot, list) in fim.iter_mut().zip(fim_lists) {
                if slot.is_none() && list.contains(&text) {
                    *slot = Some(id);
                    control = true;
                }
            }
            if EOG_TEXTS.contains(&text) {
                eog.push(id);
                control = true;
            }
            if let Some(attr) = self.attrs.get_mut(i) {
                if control {
                    *attr |= ATTR_CONTROL;
                }
                if ALWAYS_RENDER_TEXTS.contains(&text) {
                    *attr = ATTR_USER_DEFINED;
                }
            }
        }
        self.eot = eot;
        self.eom = eom;
        let [_, _, _, fim_pad, fim_rep, fim_sep] = fim;
        eog.extend(
            [fim_pad, fim_rep, fim_sep, self.eos, eot, eom]
                .into_iter()
                .flatten(),
        );
        eog.sort_unstable();
        eog.dedup();

        // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
        let has = |t: &str| eog.iter().any(|&id| self.text(id) == Some(t));
        if has("<|end|>")
            && ((has("<|return|>") && has("<|call|>")) || (has("<|calls|>") && has("<|flush|>")))
        {
            if let Some(end) = self.id_of("<|end|>") {
                eog.retain(|&id| id != end);
                if let Some(a) = self.attrs.get_mut(end as usize) {
                    *a = ATTR_USER_DEFINED;
                }
            }
        }
        // gemma4 / paddleocr: "</s>" is not an end of generation next to "<|tool_response>".
        let has = |t: &str| eog.iter().any(|&id| self.text(id) == Some(t));
        if has("<|tool_response>") && has("</s>") {
            if let Some(s) = self.id_of("</s>") {
                eog.retain(|&id| id != s);
                if let Some(a) = self.attrs.get_mut(s as usize) {
                    *a = ATTR_NORMAL;
                }
            }
        }
        self.eog = eog;
    }

    pub fn n_vocab(&self) -> usize {
        self.texts.len()
    }

    pub fn text(&self, id: u32) -> Option<&str> {
        self.texts.get(id)
    }

    pub fn attr(&self, id: u32) -> Option<u32> {
        self.attrs.get(id as usize).copied()
    }

    /// The score of a token (SentencePiece log-probability); 0 without scores.
    pub fn score(&self, id: u32) -> f32 {
        self.scores.get(id as usize).copied().unwrap_or(0.0)
    }

    pub fn id_of(&self, text: &str) -> Option<u32> {
        self.texts.id_of(text)
    }

    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// Ids of the tokens the special-token partition looks for.
    pub fn special_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.attrs
            .iter()
            .enumerate()
            .filter(|(_, &a)| a & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN) != 0)
            .map(|(i, _)| i as u32)
    }
}
