//! Top-k: keep the `k` highest logits.
//!
//! port of llama.cpp src/llama-sampling.cpp (`llama_sampler_top_k_impl`): `k <= 0` is a
//! no-op, `k` is raised to `min_keep` and capped at the candidate count, and the kept
//! candidates end sorted. With a 262144-token vocab we select with `select_nth_unstable_by`
//! (O(n)) and sort only the `k` survivors.

use super::candidates::{by_logit_desc, Candidates};

pub fn top_k(c: &mut Candidates, k: i32, min_keep: usize) {
    if k <= 0 {
        return;
    }
    let k = (k as usize).max(min_keep).min(c.data.len());
    if k == 0 {
        return;
    }
    if !c.sorted {
        if k < c.data.len() {
            c.data.select_nth_unstable_by(k - 1, by_logit_desc);
            c.data.truncate(k);
        }
        c.data.sort_unstable_by(by_logit_desc);
        c.sorted = true;
    }
    c.data.truncate(k);
}
