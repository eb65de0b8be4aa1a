//! Top-p (nucleus): keep the smallest prefix of the sorted candidates whose probability mass
//! reaches `p`, and at least `min_keep` of them.
//!
//! port of llama.cpp src/llama-sampling.cpp (`llama_sampler_top_p_apply`): `p >= 1` is a
//! no-op; probabilities are the softmax of the current logits (before temperature); the
//! cut is after the first index `i` with `cum >= p && i + 1 >= min_keep`.

use super::candidates::Candidates;

pub fn top_p(c: &mut Candidates, p: f32, min_keep: usize) {
    if p >= 1.0 || c.data.is_empty() {
        return;
    }
    c.sort();
    let max = c.max_logit();
    if max == f32::NEG_INFINITY {
        return;
    }
    // Softmax without a probability buffer: one pass for the sum, one for the running mass.
    let sum: f64 = c.data.iter().map(|d| f64::from(d.logit - max).exp()).sum();
    let p = f64::from(p);
    let mut cum = 0.0f64;
    let mut keep = c.data.len();
    for (i, d) in c.data.iter().enumerate() {
        cum += f64::from(d.logit - max).exp() / sum;
        if cum >= p && i + 1 >= min_keep {
            keep = i + 1;
            break;
        }
    }
    c.data.truncate(keep);
}
