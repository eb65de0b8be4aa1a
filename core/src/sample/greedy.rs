//! Greedy pick: the highest logit, the lowest id among ties.
//!
//! port of llama.cpp src/llama-sampling.cpp (`llama_sampler_greedy_apply`: a strict `>` scan
//! over candidates in id order, so the first maximum wins).

use super::candidates::{by_logit_desc, Candidates};

/// Index of the largest value of a logits row (lowest index on ties; NaN never wins);
/// `None` when the row is empty or all NaN.
pub fn argmax(logits: &[f32]) -> Option<u32> {
    let mut best: Option<(u32, f32)> = None;
    for (&x, i) in logits.iter().zip(0u32..) {
        match best {
            _ if x.is_nan() => {}
            Some((_, b)) if x <= b => {}
            _ => best = Some((i, x)),
        }
    }
    best.map(|(i, _)| i)
}

/// The best candidate: highest logit, lowest id among ties, whatever the order of `c`.
pub fn greedy(c: &Candidates) -> Option<u32> {
    c.data
        .iter()
        .min_by(|a, b| by_logit_desc(a, b))
        .map(|d| d.id)
}
