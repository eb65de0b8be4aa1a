//! Repetition, frequency and presence penalties over the last `penalty_last_n` accepted tokens.
//!
//! port of llama.cpp src/llama-sampling.cpp (`llama_sampler_penalties`): for every token seen
//! `count > 0` times in the window, a positive logit is divided by `repeat_penalty` and a
//! non-positive one multiplied by it, then `count * frequency + presence` is subtracted.

use std::collections::VecDeque;

use super::candidates::Candidates;

/// One penalised logit, exactly llama.cpp's formula (`count > 0`).
pub fn penalize_logit(logit: f32, count: u32, repeat: f32, frequency: f32, presence: f32) -> f32 {
    let l = if logit <= 0.0 {
        logit * repeat
    } else {
        logit / repeat
    };
    l - (count as f32 * frequency + if count > 0 { presence } else { 0.0 })
}

/// Ring of the last `last_n` accepted tokens plus scratch for counting them.
#[derive(Clone, Debug)]
pub struct PenaltyWindow {
    last_n: usize,
    ring: VecDeque<u32>,
    /// Scratch: the ring, sorted, to count repeats without a hash map or allocation.
    sorted: Vec<u32>,
}

impl PenaltyWindow {
    pub fn new(last_n: usize) -> Self {
        PenaltyWindow {
            last_n,
            ring: VecDeque::with_capacity(last_n),
            sorted: Vec::with_capacity(last_n),
        }
    }

    /// Records an accepted token, dropping the oldest once `last_n` are held.
    pub fn push(&mut self, token: u32) {
        if self.last_n == 0 {
            return;
        }
        if self.ring.len() == self.last_n {
            self.ring.pop_front();
        }
        self.ring.push_back(token);
    }

    pub fn clear(&mut self) {
        self.ring.clear();
    }

    /// Tokens in the window, oldest first.
    pub fn tokens(&self) -> impl Iterator<Item = u32> + '_ {
        self.ring.iter().copied()
    }

    /// Applies the penalties to `c` (any order; ids missing from `c` are skipped).
    pub fn apply(&mut self, c: &mut Candidates, repeat: f32, frequency: f32, presence: f32) {
        if self.ring.is_empty() || (repeat == 1.0 && frequency == 0.0 && presence == 0.0) {
            return;
        }
        self.sorted.clear();
        self.sorted.extend(self.ring.iter().copied());
        self.sorted.sort_unstable();
        let mut rest = self.sorted.as_slice();
        while let Some(&token) = rest.first() {
            let run = rest.iter().take_while(|&&t| t == token).count();
            rest = rest.get(run..).unwrap_or_default();
            let count = run as u32;
            // Fresh candidates are in id order, so `data[token]` is the token; otherwise search.
            let slot = match c.data.get(token as usize) {
                Some(d) if d.id == token => Some(token as usize),
                _ => c.data.iter().position(|d| d.id == token),
            };
            if let Some(d) = slot.and_then(|i| c.data.get_mut(i)) {
                d.logit = penalize_logit(d.logit, count, repeat, frequency, presence);
            }
        }
        c.sorted = false;
    }
}
