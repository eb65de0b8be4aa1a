//! Min-p: drop tokens whose probability is below `p` times the best token's probability.
//!
//! port of llama.cpp src/llama-sampling.cpp (`llama_sampler_min_p_apply`): `p <= 0` is a
//! no-op; in logit space the rule is `logit >= max_logit + ln(p)`; at least `min_keep`
//! candidates survive.

use super::candidates::Candidates;

pub fn min_p(c: &mut Candidates, p: f32, min_keep: usize) {
    if p <= 0.0 || c.data.is_empty() {
        return;
    }
    let threshold = c.max_logit() + p.ln();
    if !c.sorted {
        let passing = c.data.iter().filter(|d| d.logit >= threshold).count();
        if passing >= min_keep {
            c.data.retain(|d| d.logit >= threshold);
            return;
        }
        c.sort();
    }
    let passing = c
        .data
        .iter()
        .position(|d| d.logit < threshold)
        .unwrap_or(c.data.len());
    c.data.truncate(passing.max(min_keep));
}
