//! Text ↔ token ids, matching llama.cpp's `llama-vocab.cpp` token for token.
//!
//! Encoding: [`special`] cuts special tokens out of the text, then each plain fragment goes
//! to the model named by `tokenizer.ggml.model`: [`bpe`] (`gpt2`: byte-level BPE after the
//! [`pretokenize`] regexes named by `tokenizer.ggml.pre`) or [`spm`] (`llama`: SentencePiece
//! with `▁` for spaces and `<0xXX>` byte fallback). Decoding maps each id to its raw bytes
//! ([`byte_map`] undoes GPT-2's byte alphabet) and converts to UTF-8 once, at the end;
//! [`StreamDecoder`] does the same incrementally while generating.
// port of llama.cpp src/llama-vocab.cpp@00ad355e (llama_vocab::impl::tokenize, token_to_piece,
// detokenize)

mod bpe;
mod byte_map;
mod pretokenize;
mod special;
mod spm;
mod stream;
mod token_texts;
mod vocab;

pub use stream::StreamDecoder;

use crate::error::{Error, Result};
use crate::gguf::{keys, GgufFile};
use special::{Fragment, SpecialTokens};
use vocab::{
    Vocab, VocabDefaults, VocabKind, ATTR_BYTE, ATTR_CONTROL, ATTR_NORMAL, ATTR_UNKNOWN,
    ATTR_USER_DEFINED,
};

/// SentencePiece's escaped space, U+2581 `▁`.
const SPM_SPACE: &str = "\u{2581}";

/// The tokenizer model behind the vocabulary.
#[derive(Debug)]
enum Model {
    Bpe(bpe::Bpe),
    Spm(spm::Spm),
}

/// A model's tokenizer, built once from GGUF metadata.
#[derive(Debug)]
pub struct Tokenizer {
    vocab: Vocab,
    model: Model,
    specials: SpecialTokens,
    /// Detokenization removes spaces before `?!.,` and some contractions.
    clean_spaces: bool,
}

impl Tokenizer {
    /// Reads the vocabulary, merges or scores, special ids and flags from `tokenizer.*`
    /// metadata.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Tokenizer> {
        let model_name = gguf.get_str(keys::TOKENIZER_MODEL)?;
        let kind = match model_name {
            "gpt2" => VocabKind::Bpe,
            "llama" => VocabKind::Spm,
            other => return Err(Error::UnsupportedTokenizer(other.to_string())),
        };
        match kind {
            VocabKind::Bpe => {
                let pre_name = GgufFile::opt(gguf.get_str(keys::TOKENIZER_PRE))?;
                let pre = pretokenize::config_for(pre_name);
                let defaults = VocabDefaults {
                    add_bos: pre.add_bos,
                };
                let vocab = Vocab::from_gguf(gguf, kind, &defaults)?;
                let merges = gguf.get_str_array(keys::TOKENIZER_MERGES)?;
                let bpe = bpe::Bpe::new(&vocab, merges, &pre)?;
                Ok(Self::assemble(vocab, Model::Bpe(bpe), pre.clean_spaces))
            }
            VocabKind::Spm => {
                let vocab = Vocab::from_gguf(gguf, kind, &VocabDefaults { add_bos: true })?;
                let spm = spm::Spm::new(&vocab);
                Ok(Self::assemble(vocab, Model::Spm(spm), false))
            }
        }
    }

    fn assemble(vocab: Vocab, model: Model, clean_spaces: bool) -> Tokenizer {
        let specials = SpecialTokens::new(&vocab);
        Tokenizer {
            vocab,
            model,
            specials,
            clean_spaces,
        }
    }

    /// Tokenizes `text`. With `parse_special`, control tokens written in the text (such as
    /// `<|im_start|>`) become their ids; without it they are plain text. Never adds BOS
    /// (see [`Tokenizer::add_bos`]).
    pub fn encode(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::new();
        let fragments = self.specials.partition(&self.vocab, text, parse_special);
        match &self.model {
            Model::Bpe(bpe) => {
                for frag in fragments {
                    match frag {
                        Fragment::Text(t) => bpe.encode(&self.vocab, t, &mut out),
                        Fragment::Token(id) => out.push(id),
                    }
                }
            }
            Model::Spm(spm) => {
                // A space is prepended to the first fragment and to each one that follows
                // a special token, when the model asks for it.
                let mut prev_special = true;
                let mut escaped = String::new();
                for frag in fragments {
                    match frag {
                        Fragment::Text(t) => {
                            escaped.clear();
                            if self.vocab.add_space_prefix && prev_special {
                                escaped.push_str(SPM_SPACE);
                            }
                            escaped.push_str(&t.replace(' ', SPM_SPACE));
                            spm.encode(&self.vocab, &escaped, &mut out);
                            prev_special = false;
                        }
                        Fragment::Token(id) => {
                            out.push(id);
                            prev_special = true;
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether generation prompts start with BOS (`tokenizer.ggml.add_bos_token`, else
    /// llama.cpp's default for the model).
    pub fn add_bos(&self) -> bool {
        self.vocab.add_bos
    }

    pub fn bos(&self) -> Option<u32> {
        self.vocab.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.vocab.eos
    }

    /// End of generation: EOS, EOT, EOM and the tokens llama.cpp recognises by text
    /// (`<|im_end|>`, `<end_of_turn>`, `<|endoftext|>`, FIM pad/repo/sep, ...).
    pub fn is_eog(&self, id: u32) -> bool {
        self.vocab.is_eog(id)
    }

    pub fn n_vocab(&self) -> usize {
        self.vocab.n_vocab()
    }

    /// The vocabulary string of a token, as stored in the file.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.text(id)
    }

    fn invalid(&self, id: u32) -> Error {
        Error::InvalidToken {
            id,
            n_vocab: self.vocab.n_vocab(),
        }
    }

    /// The raw bytes a token stands for. Control, unknown and user-defined tokens render
    /// their text (llama.cpp `token_to_piece` with `special = true`); a piece may be an
    /// incomplete UTF-8 sequence.
    pub fn token_to_piece(&self, id: u32) -> Result<Vec<u8>> {
        let (Some(attr), Some(text)) = (self.vocab.attr(id), self.vocab.text(id)) else {
            return Err(self.invalid(id));
        };
        if attr & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED) != 0 {
            return Ok(text.as_bytes().to_vec());
        }
        if attr & ATTR_NORMAL != 0 {
            return Ok(match self.model {
                Model::Bpe(_) => decode_byte_level(text),
                Model::Spm(_) => text.replace(SPM_SPACE, " ").into_bytes(),
            });
        }
        if attr & ATTR_BYTE != 0 {
            // "<0xXX>"
            let byte = text
                .get(3..5)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            return Ok(byte.map(|b| vec![b]).unwrap_or_default());
        }
        // Unused and undefined tokens render as nothing.
        Ok(Vec::new())
    }

    /// Detokenizes `ids` (special tokens rendered as text, like llama.cpp's `detokenize`
    /// with `unparse_special`); invalid UTF-8 is replaced only after all bytes are joined.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let mut bytes = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let piece = self.token_to_piece(id)?;
            // SentencePiece models with a space prefix drop the first token's leading space.
            let piece = match piece.split_first() {
                Some((b' ', rest)) if i == 0 && self.vocab.add_space_prefix => rest,
                _ => &piece[..],
            };
            bytes.extend_from_slice(piece);
        }
        if self.clean_spaces {
            bytes = clean_up_spaces(&bytes);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Undoes GPT-2's byte alphabet; characters outside it render like llama.cpp's
/// `llama_decode_text` (`[UNK_BYTE_0x..]`).
fn decode_byte_level(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match byte_map::char_to_byte(c) {
            Some(b) => out.push(b),
            None => {
                out.extend_from_slice(b"[UNK_BYTE_0x");
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.extend_from_slice(text.as_bytes());
                out.push(b']');
            }
        }
    }
    out
}

/// `clean_up_tokenization_spaces`: " ?" → "?" (also `!.,`), " ' " → "'", and " 's",
/// " 'm", " 're", " 've" lose their space.
// port of llama.cpp src/llama-vocab.cpp@00ad355e (detokenize, clean_spaces passes)
fn clean_up_spaces(text: &[u8]) -> Vec<u8> {
    // Pass 1: space before ?!.,
    let mut p1: Vec<u8> = Vec::with_capacity(text.len());
    for (i, &x) in text.iter().enumerate() {
        if i > 0 && text.get(i - 1) == Some(&b' ') && matches!(x, b'?' | b'!' | b'.' | b',') {
            p1.pop();
        }
        p1.push(x);
    }
    // Pass 2: a lone apostrophe between spaces loses both spaces.
    let mut p2: Vec<u8> = Vec::with_capacity(p1.len());
    let mut i = 0;
    while i < p1.len() {
        let x = p1.get(i).copied().unwrap_or_default();
        if i > 0
            && x == b'\''
            && i + 1 < p1.len()
            && p1.get(i - 1) == Some(&b' ')
            && p1.get(i + 1) == Some(&b' ')
        {
            p2.pop();
            if let Some(next) = p1.get_mut(i + 1) {
                *next = 0; // llama.cpp overwrites the skipped space in place
            }
            i += 1;
        }
        p2.push(x);
        i += 1;
    }
    // Pass 3: contractions.
    let mut p3: Vec<u8> = Vec::with_capacity(p2.len());
    for (i, &x) in p2.iter().enumerate() {
        if i > 0 && p2.get(i - 1) == Some(&b' ') && x == b'\'' && i + 1 < p2.len() {
            let x1 = p2.get(i + 1).copied().unwrap_or_default();
            let x2 = p2.get(i + 2).copied();
            let drop_space = matches!(x1, b's' | b'm')
                || (i + 2 < p2.len() && matches!((x1, x2), (b'r' | b'v', Some(b'e'))));
            if drop_space {
                p3.pop();
            }
        }
        p3.push(x);
    }
    p3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_up_spaces_matches_llama_cpp_rules() {
        let clean = |s: &str| String::from_utf8(clean_up_spaces(s.as_bytes())).unwrap();
        assert_eq!(clean("Hi , you ?"), "Hi, you?");
        assert_eq!(clean("a ' b"), "a'b");
        assert_eq!(clean("it 's we 're they 'll"), "it's we're they 'll");
    }
}
