//! Temperature: divide logits by `t` (`t <= 0` keeps only the best token, like llama.cpp's
//! `llama_sampler_temp_impl`, which sets every other logit to -inf).

use super::candidates::Candidates;
use super::greedy::greedy;

pub fn temperature(c: &mut Candidates, t: f32) {
    if t <= 0.0 {
        if let Some(best) = greedy(c) {
            for d in &mut c.data {
                if d.id != best {
                    d.logit = f32::NEG_INFINITY;
                }
            }
        }
        return;
    }
    for d in &mut c.data {
        d.logit /= t;
    }
}
