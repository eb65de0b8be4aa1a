//! Byte-level BPE (GPT-2 family: SmolLM2, LLaMA 3, Qwen2). Each pre-tokenized word is
//! mapped byte by byte to the GPT-2 alphabet, split into characters, and the adjacent pair
//! with the lowest merge rank is merged until no ranked pair remains (ties: leftmost).
//! Symbols are interned ids, so a merge step is one hash lookup on `(left, right)`.
// port of llama.cpp src/llama-vocab.cpp@00ad355e (llm_tokenizer_bpe_session::tokenize)

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::byte_map;
use super::pretokenize::{PreConfig, PreTokenizer};
use super::token_texts::FastMap;
use super::vocab::Vocab;
use crate::error::Result;

/// Symbol id of a character that appears in no token and no merge.
const NO_ID: u32 = u32::MAX;

/// Merge rules and pre-tokenizer of one byte-level BPE vocabulary.
#[derive(Debug)]
pub(crate) struct Bpe {
    pre: PreTokenizer,
    ignore_merges: bool,
    /// `(left, right)` → `(rank, merged)`.
    ranks: FastMap<(u32, u32), (u32, u32)>,
    /// Strings that occur in merges but are not tokens; ids `n_vocab..`.
    extra: FastMap<String, u32>,
    /// Token of each one-byte string (ASCII), used when a symbol is not a token.
    ascii_tokens: Vec<Option<u32>>,
}

/// One symbol of the word being merged: a byte range of the encoded word.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    end: usize,
    id: u32,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge: ordered by rank, then by left position (min-heap via `Reverse`).
type Bigram = Reverse<(u32, usize, usize, u32, u32)>;

impl Bpe {
    /// Builds the rank table from `tokenizer.ggml.merges` (`"left right"` strings; the
    /// first occurrence of a pair wins).
    pub fn new(vocab: &Vocab, merges: &[String], pre: &PreConfig) -> Result<Self> {
        let n_vocab = vocab.n_vocab() as u32;
        let mut extra: FastMap<String, u32> = FastMap::default();
        let mut ranks = FastMap::with_capacity_and_hasher(merges.len(), Default::default());
        let mut merged = String::new();
        for (rank, merge) in merges.iter().enumerate() {
            // Split at the first space after the first byte (a part may start with ' ').
            let bytes = merge.as_bytes();
            let Some(pos) = bytes.iter().skip(1).position(|&b| b == b' ').map(|p| p + 1) else {
                continue;
            };
            // A space is ASCII, so both sides are on character boundaries.
            let (Some(left), Some(right)) = (merge.get(..pos), merge.get(pos + 1..)) else {
                continue;
            };
            merged.clear();
            merged.push_str(left);
            merged.push_str(right);
            let mut intern = |s: &str| -> u32 {
                if let Some(id) = vocab.id_of(s) {
                    return id;
                }
                let next = n_vocab.saturating_add(extra.len() as u32);
                *extra.entry(s.to_string()).or_insert(next)
            };
            let key = (intern(left), intern(right));
            let value = (rank as u32, intern(&merged));
            ranks.entry(key).or_insert(value);
        }
        let mut ascii_tokens = vec![None; 128];
        for (b, slot) in ascii_tokens.iter_mut().enumerate() {
            let s = [b as u8];
            *slot = std::str::from_utf8(&s).ok().and_then(|s| vocab.id_of(s));
        }
        Ok(Self {
            pre: PreTokenizer::new(pre.patterns)?,
            ignore_merges: pre.ignore_merges,
            ranks,
            extra,
            ascii_tokens,
        })
    }

    /// Tokenizes plain text (no special tokens), appending ids to `out`.
    pub fn encode(&self, vocab: &Vocab, text: &str, out: &mut Vec<u32>) {
        let mut words = Vec::new();
        self.pre.split(text, &mut words);
        let mut word = String::new();
        let mut symbols = Vec::new();
        let mut heap = BinaryHeap::new();
        for w in words {
            word.clear();
            byte_map::encode_into(w.as_bytes(), &mut word);
            if self.ignore_merges {
                if let Some(id) = vocab.id_of(&word) {
                    out.push(id);
                    continue;
                }
            }
            self.merge_word(vocab, &word, &mut symbols, &mut heap);
            self.emit(vocab, &word, &symbols, out);
        }
    }

    fn symbol_id(&self, vocab: &Vocab, s: &str) -> u32 {
        vocab
            .id_of(s)
            .or_else(|| self.extra.get(s).copied())
            .unwrap_or(NO_ID)
    }

    fn push_pair(&self, symbols: &[Symbol], left: usize, heap: &mut BinaryHeap<Bigram>) {
        let Some(l) = symbols.get(left) else { return };
        let Some(right) = l.next else { return };
        let Some(r) = symbols.get(right) else { return };
        if let Some(&(rank, _)) = self.ranks.get(&(l.id, r.id)) {
            heap.push(Reverse((rank, left, right, l.id, r.id)));
        }
    }

    /// Runs the merges over one encoded word, leaving the final symbols in `symbols`
    /// (merged-away symbols have `start == end`).
    fn merge_word(
        &self,
        vocab: &Vocab,
        word: &str,
        symbols: &mut Vec<Symbol>,
        heap: &mut BinaryHeap<Bigram>,
    ) {
        symbols.clear();
        heap.clear();
        let mut chars = word.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            let end = start + c.len_utf8();
            let i = symbols.len();
            symbols.push(Symbol {
                start,
                end,
                id: self.symbol_id(vocab, word.get(start..end).unwrap_or_default()),
                prev: i.checked_sub(1),
                next: chars.peek().map(|_| i + 1),
            });
        }
        for left in 0..symbols.len() {
            self.push_pair(symbols, left, heap);
        }
        while let Some(Reverse((_, left, right, left_id, right_id))) = heap.pop() {
            let (Some(&l), Some(&r)) = (symbols.get(left), symbols.get(right)) else {
                continue;
            };
            // Skip candidates made stale by an earlier merge.
            if l.start == l.end || r.start == r.end || l.id != left_id || r.id != right_id {
                continue;
            }
            let Some(&(_, merged)) = self.ranks.get(&(left_id, right_id)) else {
                continue;
            };
            if let Some(s) = symbols.get_mut(left) {
                s.end = r.end;
                s.id = merged;
                s.next = r.next;
            }
            if let Some(s) = symbols.get_mut(right) {
                s.start = s.end;
            }
            if let Some(s) = r.next.and_then(|n| symbols.get_mut(n)) {
                s.prev = Some(left);
            }
            if let Some(prev) = l.prev {
                self.push_pair(symbols, prev, heap);
            }
            self.push_pair(symbols, left, heap);
        }
    }

    /// Emits the ids of the final symbols; a symbol that is not a token falls back to the
    /// tokens of its single bytes (as llama.cpp does, bytes without a token are dropped).
    fn emit(&self, vocab: &Vocab, word: &str, symbols: &[Symbol], out: &mut Vec<u32>) {
        let n_vocab = vocab.n_vocab() as u32;
        let mut i = if symbols.is_empty() { None } else { Some(0) };
        while let Some(s) = i.and_then(|i| symbols.get(i)) {
            if s.id < n_vocab {
                out.push(s.id);
            } else {
                let bytes = word.as_bytes().get(s.start..s.end).unwrap_or_default();
                out.extend(
                    bytes
                        .iter()
                        .filter_map(|&b| self.ascii_tokens.get(b as usize).copied().flatten()),
                );
            }
            i = s.next;
        }
    }
}
