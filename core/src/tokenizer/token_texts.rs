//! Token texts stored in one arena, with a string → id hash index over them (open
//! addressing, linear probing, FxHash). A 262k-token vocabulary loads with a handful of
//! allocations instead of two per token, and a lookup is one hash plus a `memcmp`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::{Error, Result};

/// FxHash (rustc's hasher): fast, not DoS-resistant; keys come from the model file.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with FxHash.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    // Fold the high bits down: the slot index uses the low bits.
    let x = h.finish();
    x ^ (x >> 29)
}

/// All token texts of a vocabulary, indexed both ways.
#[derive(Debug)]
pub(crate) struct TokenTexts {
    arena: String,
    /// `ends[i]` is where token `i` ends in `arena` (it starts where `i - 1` ends).
    ends: Vec<u32>,
    /// Hash slots: 0 = empty, else token id + 1. Length is a power of two.
    slots: Vec<u32>,
}

impl TokenTexts {
    /// Copies the texts; an empty text becomes `[EMPTY_<id>]` like llama.cpp, and a
    /// duplicate text is an error.
    pub fn build(tokens: &[String]) -> Result<Self> {
        let n = tokens.len();
        let total: usize = tokens.iter().map(String::len).sum();
        let mut arena = String::with_capacity(total + 16);
        let mut ends = Vec::with_capacity(n);
        for (i, text) in tokens.iter().enumerate() {
            if text.is_empty() {
                arena.push_str(&format!("[EMPTY_{i}]"));
            } else {
                arena.push_str(text);
            }
            let end = u32::try_from(arena.len())
                .map_err(|_| Error::BadTokenizer("token texts exceed 4 GiB"))?;
            ends.push(end);
        }
        let n_slots = (n.max(1) * 2).next_power_of_two();
        let mut table = Self {
            arena,
            ends,
            slots: vec![0; n_slots],
        };
        for id in 0..n as u32 {
            let text = table.get(id).unwrap_or_default();
            let slot = match table.find(text) {
                Ok(_) => return Err(Error::BadTokenizer("duplicate token in vocabulary")),
                Err(slot) => slot,
            };
            if let Some(s) = table.slots.get_mut(slot) {
                *s = id + 1;
            }
        }
        Ok(table)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, id: u32) -> Option<&str> {
        let i = id as usize;
        let end = *self.ends.get(i)? as usize;
        let start = match i.checked_sub(1) {
            Some(prev) => *self.ends.get(prev)? as usize,
            None => 0,
        };
        self.arena.get(start..end)
    }

    pub fn id_of(&self, text: &str) -> Option<u32> {
        self.find(text).ok()
    }

    /// `Ok(id)` when `text` is a token, else `Err(first empty slot of its probe chain)`.
    fn find(&self, text: &str) -> std::result::Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut slot = hash_str(text) as usize & mask;
        loop {
            match self.slots.get(slot).copied().unwrap_or(0) {
                0 => return Err(slot),
                v => {
                    let id = v - 1;
                    if self.get(id) == Some(text) {
                        return Ok(id);
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_texts_index_both_ways() {
        let words: Vec<String> = ["a", "", "Ġthe", "ab"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let t = TokenTexts::build(&words).unwrap();
        assert_eq!(t.get(1), Some("[EMPTY_1]"));
        assert_eq!(t.id_of("Ġthe"), Some(2));
        assert_eq!(t.id_of("ab"), Some(3));
        assert_eq!(t.id_of("b"), None);
        assert_eq!(t.get(4), None);
        let dup: Vec<String> = ["x", "x"].iter().map(|s| s.to_string()).collect();
        assert!(matches!(
            TokenTexts::build(&dup),
            Err(Error::BadTokenizer(_))
        ));
    }
}
