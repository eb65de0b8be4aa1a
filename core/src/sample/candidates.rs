//! The working set every stage of the chain edits: (token id, logit) pairs plus a flag saying
//! whether they are sorted by descending logit (llama.cpp's `llama_token_data_array`).

use std::cmp::Ordering;

/// One candidate token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenData {
    pub id: u32,
    pub logit: f32,
}

/// Candidate tokens. Stages only remove entries or change logits; `sorted` means
/// `data` is in descending logit order (ties: lower id first).
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    pub data: Vec<TokenData>,
    pub sorted: bool,
}

/// Descending logit, then ascending id: a total order, so partial selection and sorting are
/// deterministic even with ties. Callers never hold NaN (`fill` maps it to -inf).
pub(crate) fn by_logit_desc(a: &TokenData, b: &TokenData) -> Ordering {
    b.logit.total_cmp(&a.logit).then(a.id.cmp(&b.id))
}

impl Candidates {
    /// Refills from a logits row `[n_vocab]`, reusing the buffer (no allocation once the
    /// capacity has reached `n_vocab`). NaN logits become -inf so they never win.
    pub fn fill(&mut self, logits: &[f32]) {
        self.data.clear();
        self.data
            .extend(logits.iter().zip(0u32..).map(|(&logit, id)| TokenData {
                id,
                logit: if logit.is_nan() {
                    f32::NEG_INFINITY
                } else {
                    logit
                },
            }));
        self.sorted = false;
    }

    /// Builds a candidate set from a logits row (convenience for tests and callers).
    pub fn from_logits(logits: &[f32]) -> Self {
        let mut c = Candidates::default();
        c.fill(logits);
        c
    }

    /// Sorts by descending logit if not sorted yet.
    pub fn sort(&mut self) {
        if !self.sorted {
            self.data.sort_unstable_by(by_logit_desc);
            self.sorted = true;
        }
    }

    /// Largest logit (`-inf` when empty).
    pub fn max_logit(&self) -> f32 {
        if self.sorted {
            return self.data.first().map_or(f32::NEG_INFINITY, |d| d.logit);
        }
        self.data.iter().fold(
            f32::NEG_INFINITY,
            |m, d| if d.logit > m { d.logit } else { m },
        )
    }

    /// Ids, in the current order (handy in tests).
    pub fn ids(&self) -> Vec<u32> {
        self.data.iter().map(|d| d.id).collect()
    }
}
