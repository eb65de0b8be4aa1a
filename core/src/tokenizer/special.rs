//! Special-token partition: before any model runs, control, user-defined and unknown tokens
//! written literally in the text are cut out and emitted as single ids. llama.cpp takes the
//! special tokens longest first and, for each one, splits every remaining text fragment at
//! all of its occurrences. With `parse_special == false` only user-defined tokens are cut
//! (Hugging Face's "added tokens" behaviour); control text stays plain text.
//!
//! A vocabulary can hold thousands of special tokens (Gemma 3: ~6400), so a byte trie
//! first finds which of them occur in the text at all; only those run the (exact, ordered)
//! partition.
// port of llama.cpp src/llama-vocab.cpp@00ad355e (tokenizer_st_partition, cache_special_tokens)

use super::vocab::{Vocab, ATTR_CONTROL, ATTR_UNKNOWN};

/// A piece of the partitioned input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fragment<'t> {
    /// Text for the tokenizer model.
    Text(&'t str),
    /// A special token found literally in the text.
    Token(u32),
}

/// One trie node: children by next byte, and the rank of the token ending here.
#[derive(Debug, Default)]
struct Node {
    children: Vec<(u8, u32)>,
    rank: Option<u32>,
}

/// Special tokens ordered longest first, plus a trie over their texts.
#[derive(Debug)]
pub(crate) struct SpecialTokens {
    /// Special ids, longest text first (ties by id). A token's rank is its index here.
    by_len: Vec<u32>,
    nodes: Vec<Node>,
}

impl SpecialTokens {
    pub fn new(vocab: &Vocab) -> Self {
        let mut by_len: Vec<u32> = vocab.special_ids().collect();
        // Stable: equal lengths keep id order.
        by_len.sort_by_key(|&id| std::cmp::Reverse(vocab.text(id).map_or(0, str::len)));
        let mut nodes = vec![Node::default()];
        for (rank, &id) in by_len.iter().enumerate() {
            let text = vocab.text(id).unwrap_or_default();
            let mut node = 0usize;
            for &b in text.as_bytes() {
                let found = nodes
                    .get(node)
                    .and_then(|n| n.children.iter().find(|(c, _)| *c == b))
                    .map(|&(_, next)| next as usize);
                node = match found {
                    Some(next) => next,
                    None => {
                        let next = nodes.len();
                        nodes.push(Node::default());
                        if let Some(n) = nodes.get_mut(node) {
                            n.children.push((b, next as u32));
                        }
                        next
                    }
                };
            }
            if let Some(n) = nodes.get_mut(node) {
                n.rank.get_or_insert(rank as u32);
            }
        }
        Self { by_len, nodes }
    }

    /// Ranks of the special tokens that occur somewhere in `text`, ascending (so longest
    /// first).
    fn present(&self, text: &str) -> Vec<u32> {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        for start in 0..bytes.len() {
            let mut node = 0usize;
            for &b in bytes.get(start..).unwrap_or_default() {
                let next = self
                    .nodes
                    .get(node)
                    .and_then(|n| n.children.iter().find(|(c, _)| *c == b));
                let Some(&(_, next)) = next else { break };
                node = next as usize;
                if let Some(rank) = self.nodes.get(node).and_then(|n| n.rank) {
                    found.push(rank);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Splits `text` into plain-text fragments and special tokens.
    pub fn partition<'t>(
        &self,
        vocab: &Vocab,
        text: &'t str,
        parse_special: bool,
    ) -> Vec<Fragment<'t>> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut frags = vec![Fragment::Text(text)];
        let mut next = Vec::new();
        for rank in self.present(text) {
            let Some(&id) = self.by_len.get(rank as usize) else {
                continue;
            };
            let attr = vocab.attr(id).unwrap_or(0);
            if !parse_special && attr & (ATTR_CONTROL | ATTR_UNKNOWN) != 0 {
                continue;
            }
            let tok = vocab.text(id).unwrap_or_default();
            if tok.is_empty() {
                continue;
            }
            next.clear();
            for frag in frags.drain(..) {
                let Fragment::Text(mut rest) = frag else {
                    next.push(frag);
                    continue;
                };
                while let Some(pos) = rest.find(tok) {
                    let (left, right) = rest.split_at(pos);
                    if !left.is_empty() {
                        next.push(Fragment::Text(left));
                    }
                    next.push(Fragment::Token(id));
                    rest = right.get(tok.len()..).unwrap_or_default();
                }
                if !rest.is_empty() {
                    next.push(Fragment::Text(rest));
                }
            }
            std::mem::swap(&mut frags, &mut next);
        }
        frags
    }
}
