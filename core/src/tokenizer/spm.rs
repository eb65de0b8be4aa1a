//! SentencePiece BPE (`tokenizer.ggml.model = "llama"`: LLaMA 1/2, Gemma). The text (spaces
//! already escaped as `▁`) is split into UTF-8 characters, and the adjacent pair whose
//! concatenation is the highest-scoring token is merged until no pair forms a token (ties:
//! leftmost). A character that is not a token is emitted as `<0xXX>` byte tokens.
// port of llama.cpp src/llama-vocab.cpp@00ad355e (llm_tokenizer_spm_session)

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::vocab::Vocab;

/// Byte-fallback table of one SentencePiece vocabulary.
#[derive(Debug)]
pub(crate) struct Spm {
    /// Token for each byte: `<0xXX>`, else the one-byte string, else `<unk>`.
    byte_tokens: Vec<Option<u32>>,
}

#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    /// Length in bytes; 0 once merged into its left neighbour.
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge: highest score first, then leftmost.
#[derive(Debug, Clone, Copy)]
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

impl Spm {
    pub fn new(vocab: &Vocab) -> Self {
        let mut byte_tokens = vec![None; 256];
        for (b, slot) in byte_tokens.iter_mut().enumerate() {
            let hex = format!("<0x{b:02X}>");
            let single = [b as u8];
            *slot = vocab
                .id_of(&hex)
                .or_else(|| {
                    std::str::from_utf8(&single)
                        .ok()
                        .and_then(|s| vocab.id_of(s))
                })
                .or(vocab.unk);
        }
        Self { byte_tokens }
    }

    /// Tokenizes escaped text, appending ids to `out`.
    pub fn encode(&self, vocab: &Vocab, text: &str, out: &mut Vec<u32>) {
        let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
        let mut chars = text.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            let i = symbols.len();
            symbols.push(Symbol {
                start,
                len: c.len_utf8(),
                prev: i.checked_sub(1),
                next: chars.peek().map(|_| i + 1),
            });
        }
        let mut heap = BinaryHeap::new();
        for left in 0..symbols.len() {
            try_add_bigram(vocab, text, &symbols, Some(left), &mut heap);
        }
        while let Some(b) = heap.pop() {
            let (Some(&l), Some(&r)) = (symbols.get(b.left), symbols.get(b.right)) else {
                continue;
            };
            if l.len == 0 || r.len == 0 || l.len + r.len != b.size {
                continue;
            }
            if let Some(s) = symbols.get_mut(b.left) {
                s.len += r.len;
                s.next = r.next;
            }
            if let Some(s) = symbols.get_mut(b.right) {
                s.len = 0;
            }
            if let Some(s) = r.next.and_then(|n| symbols.get_mut(n)) {
                s.prev = Some(b.left);
            }
            try_add_bigram(vocab, text, &symbols, l.prev, &mut heap);
            try_add_bigram(vocab, text, &symbols, Some(b.left), &mut heap);
        }
        let mut i = if symbols.is_empty() { None } else { Some(0) };
        while let Some(s) = i.and_then(|i| symbols.get(i)) {
            let piece = text.get(s.start..s.start + s.len).unwrap_or_default();
            match vocab.id_of(piece) {
                Some(id) => out.push(id),
                None => out.extend(
                    piece
                        .bytes()
                        .filter_map(|b| self.byte_tokens.get(b as usize).copied().flatten()),
                ),
            }
            i = s.next;
        }
    }
}

/// Queues the merge of symbol `left` with its right neighbour if their text is a token.
fn try_add_bigram(
    vocab: &Vocab,
    text: &str,
    symbols: &[Symbol],
    left: Option<usize>,
    heap: &mut BinaryHeap<Bigram>,
) {
    let Some(left) = left else { return };
    let Some(l) = symbols.get(left) else { return };
    let Some(right) = l.next else { return };
    let Some(r) = symbols.get(right) else { return };
    let Some(pair) = text.get(l.start..r.start + r.len) else {
        return;
    };
    if let Some(id) = vocab.id_of(pair) {
        heap.push(Bigram {
            score: vocab.score(id),
            left,
            right,
            size: pair.len(),
        });
    }
}
