//! The final draw: a token from softmax(logits) with the seeded [`Rng`].
//!
//! llama.cpp's `dist` sampler draws with `std::mt19937` + `std::discrete_distribution`; we keep
//! its meaning (one uniform draw against the cumulative softmax) but not its bit stream,
//! which is tied to libstdc++.

use super::candidates::Candidates;
use super::rng::Rng;

/// Picks a candidate with probability softmax(logit). `None` if `c` is empty; if every logit
/// is -inf the first candidate is returned.
pub fn dist(c: &Candidates, rng: &mut Rng) -> Option<u32> {
    let first = c.data.first()?;
    let max = c.max_logit();
    if max == f32::NEG_INFINITY {
        return Some(first.id);
    }
    let sum: f64 = c.data.iter().map(|d| f64::from(d.logit - max).exp()).sum();
    let target = rng.next_f64() * sum;
    let mut cum = 0.0f64;
    let mut last = first.id;
    for d in &c.data {
        let w = f64::from(d.logit - max).exp();
        if w > 0.0 {
            last = d.id;
            cum += w;
            if target < cum {
                return Some(d.id);
            }
        }
    }
    // Rounding left `target` a hair above the final sum: the last token with mass wins.
    Some(last)
}
