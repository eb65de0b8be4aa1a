//! BPE pre-tokenization: split text into words before merging, chosen by
//! `tokenizer.ggml.pre`. llama.cpp applies a list of regexes in sequence: each one splits
//! every piece left by the previous one, and both the matches and the text between matches
//! become pieces (nothing is dropped). A regex only sees its own piece, so a lookahead at
//! a piece's end sees the end of input.
// port of llama.cpp src/llama-vocab.cpp@00ad355e (llm_tokenizer_bpe regex_exprs, pre-type table)
// and src/unicode.cpp@0c4093cc (unicode_regex_split)

use fancy_regex::Regex;

use crate::error::{Error, Result};

/// GPT-2: `'s|'t|...| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`.
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

/// LLaMA 3 (tiktoken cl100k style, case-insensitive contractions spelled out).
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen2: like LLaMA 3 but single digits.
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Every digit on its own.
const DIGIT: &str = r"\p{N}";

/// llama.cpp's fallback list (`LLAMA_VOCAB_PRE_TYPE_DEFAULT`).
const DEFAULT: &[&str] = &[r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"];

/// How one `tokenizer.ggml.pre` value tokenizes and detokenizes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PreConfig {
    /// Regexes applied in sequence.
    pub patterns: &'static [&'static str],
    /// A word found whole in the vocabulary is emitted without merging (llama3).
    pub ignore_merges: bool,
    /// Detokenization removes spaces before punctuation (`clean_up_tokenization_spaces`).
    pub clean_spaces: bool,
    /// Default of `tokenizer.ggml.add_bos_token` when the key is absent.
    pub add_bos: bool,
}

const fn cfg(patterns: &'static [&'static str], clean_spaces: bool) -> PreConfig {
    PreConfig {
        patterns,
        ignore_merges: false,
        clean_spaces,
        add_bos: false,
    }
}

/// The configuration for a pre-tokenizer name. Missing and unknown names get llama.cpp's
/// `default` list (llama.cpp rejects unknown names; we degrade instead of failing the load).
pub(crate) fn config_for(pre: Option<&str>) -> PreConfig {
    const STARCODER: &[&str] = &[DIGIT, GPT2];
    match pre.unwrap_or("default") {
        "smollm" | "command-r" => cfg(STARCODER, false),
        "starcoder" | "refact" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => {
            cfg(STARCODER, true)
        }
        "gpt2" | "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es"
        | "jina-v2-de" | "a.x-4.0" | "mellum" | "modern-bert" | "mpt" | "olmo" | "jais"
        | "exaone4" => cfg(&[GPT2], true),
        "trillion" | "granite-docling" => cfg(&[GPT2], false),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0"
        | "lfm2" => PreConfig {
            ignore_merges: true,
            add_bos: true,
            ..cfg(&[LLAMA3], true)
        },
        "dbrx" | "smaug-bpe" => cfg(&[LLAMA3], true),
        "qwen2" | "deepseek-r1-qwen" => cfg(&[QWEN2], false),
        "stablelm2" | "megrez" => cfg(&[QWEN2], true),
        _ => cfg(DEFAULT, true),
    }
}

/// Compiled regex list of one pre-tokenizer.
#[derive(Debug)]
pub(crate) struct PreTokenizer {
    regexes: Vec<Regex>,
}

impl PreTokenizer {
    pub fn new(patterns: &[&str]) -> Result<Self> {
        let regexes = patterns
            .iter()
            .map(|p| Regex::new(p).map_err(|_| Error::BadTokenizer("pre-tokenizer regex")))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { regexes })
    }

    /// Splits `text` into words, appended to `words` in order; their concatenation is
    /// `text`.
    pub fn split<'t>(&self, text: &'t str, words: &mut Vec<&'t str>) {
        let mut pieces = vec![text];
        let mut next = Vec::new();
        for re in &self.regexes {
            next.clear();
            for &piece in &pieces {
                split_one(re, piece, &mut next);
            }
            std::mem::swap(&mut pieces, &mut next);
        }
        words.extend(pieces.into_iter().filter(|p| !p.is_empty()));
    }
}

/// Splits one piece by one regex: matches and the gaps between them, in order.
fn split_one<'t>(re: &Regex, piece: &'t str, out: &mut Vec<&'t str>) {
    let mut last = 0;
    for m in re.find_iter(piece) {
        // A matcher error (backtrack limit) leaves the rest of the piece whole.
        let Ok(m) = m else { break };
        if m.start() > last {
            out.extend(piece.get(last..m.start()));
        }
        if m.end() > m.start() {
            out.push(m.as_str());
        }
        last = m.end();
    }
    if last < piece.len() {
        out.extend(piece.get(last..));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(pre: &str, text: &str) -> Vec<String> {
        let p = PreTokenizer::new(config_for(Some(pre)).patterns).unwrap();
        let mut w = Vec::new();
        p.split(text, &mut w);
        w.into_iter().map(String::from).collect()
    }

    #[test]
    fn pretokenize_smollm_splits_digits_and_keeps_gaps() {
        assert_eq!(words("smollm", "a 12"), ["a", " ", "1", "2"]);
        assert_eq!(words("smollm", "x  \ny"), ["x", "  ", "\n", "y"]);
        assert_eq!(words("smollm", "\tab"), ["\t", "ab"]);
    }
}
