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

    /// Scalar twin: llama.cpp's hand-written GPT-2 splitter
    /// (`unicode_regex_split_custom_gpt2`), which is what llama.cpp actually runs for this
    /// pattern; the regex split must agree with it on any text.
    fn llama_cpp_gpt2_split(text: &str, classes: &[Regex; 3]) -> Vec<String> {
        let [letter, number, space] = classes;
        let cpts: Vec<char> = text.chars().collect();
        let n = cpts.len();
        // (letter, number, whitespace, in range)
        let flags = |p: usize| -> (bool, bool, bool, bool) {
            match cpts.get(p) {
                None => (false, false, false, false),
                Some(c) => {
                    let s = c.to_string();
                    let is = |re: &Regex| re.is_match(&s).unwrap();
                    (is(letter), is(number), is(space), true)
                }
            }
        };
        let mut out = Vec::new();
        let mut prev = 0;
        let mut add = |end: usize, out: &mut Vec<String>| {
            if end > prev {
                out.push(cpts[prev..end].iter().collect());
            }
            prev = end;
        };
        let mut pos = 0;
        while pos < n {
            let c = cpts[pos];
            if c == '\'' && pos + 1 < n {
                let c1 = cpts[pos + 1];
                if matches!(c1, 's' | 't' | 'm' | 'd') {
                    pos += 2;
                    add(pos, &mut out);
                    continue;
                }
                if pos + 2 < n
                    && matches!((c1, cpts[pos + 2]), ('r', 'e') | ('v', 'e') | ('l', 'l'))
                {
                    pos += 3;
                    add(pos, &mut out);
                    continue;
                }
            }
            let f2 = if c == ' ' { flags(pos + 1) } else { flags(pos) };
            let skip = usize::from(c == ' ');
            if f2.0 {
                pos += skip;
                while flags(pos).0 {
                    pos += 1;
                }
                add(pos, &mut out);
                continue;
            }
            if f2.1 {
                pos += skip;
                while flags(pos).1 {
                    pos += 1;
                }
                add(pos, &mut out);
                continue;
            }
            let other = |f: (bool, bool, bool, bool)| !(f.0 || f.1 || f.2) && f.3;
            if other(f2) {
                pos += skip;
                while other(flags(pos)) {
                    pos += 1;
                }
                add(pos, &mut out);
                continue;
            }
            let mut k = 0;
            while flags(pos + k).2 {
                k += 1;
            }
            if k > 1 && pos + k < n {
                pos += k - 1;
            } else if k > 0 {
                pos += k;
            } else {
                pos += 1;
            }
            add(pos, &mut out);
        }
        out
    }

    #[test]
    fn pretokenize_gpt2_regex_matches_llama_cpp_splitter() {
        let alphabet: Vec<char> = "aZé中1٣  \t\n\r\u{a0}\u{3000}'strevlm.!🦀\u{301}_-"
            .chars()
            .collect();
        let pre = PreTokenizer::new(&[GPT2]).unwrap();
        let classes = [r"^\p{L}$", r"^\p{N}$", r"^\s$"].map(|re| Regex::new(re).unwrap());
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let len = (next() % 16) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let mut words = Vec::new();
            pre.split(&text, &mut words);
            assert_eq!(
                words,
                llama_cpp_gpt2_split(&text, &classes),
                "text {text:?}"
            );
        }
    }

    #[test]
    fn pretokenize_smollm_splits_digits_and_keeps_gaps() {
        assert_eq!(words("smollm", "a 12"), ["a", " ", "1", "2"]);
        assert_eq!(words("smollm", "x  \ny"), ["x", "  ", "\n", "y"]);
        assert_eq!(words("smollm", "\tab"), ["\t", "ab"]);
    }
}
