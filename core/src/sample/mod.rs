//! Sampling: logits `[n_vocab]` → one token id, through llama.cpp's default sampler chain.
//!
//! Order (llama.cpp common/sampling.cpp defaults, without the stages we do not implement:
//! DRY, top-n-sigma, typical-p, XTC):
//!
//! ```text
//! penalties → top_k → top_p → min_p → temperature → dist (seeded)
//! ```
//!
//! With `temperature <= 0` the chain is `penalties → greedy` (argmax, lowest id on ties).
//! Each stage is one file and a plain function over [`Candidates`], so tests can check it
//! alone; [`Sampler`] owns the buffers and reuses them for every token.

mod candidates;
mod dist;
mod greedy;
mod min_p;
mod penalties;
mod rng;
mod temperature;
mod top_k;
mod top_p;

pub use candidates::{Candidates, TokenData};
pub use dist::dist;
pub use greedy::{argmax, greedy};
pub use min_p::min_p;
pub use penalties::{penalize_logit, PenaltyWindow};
pub use rng::{Rng, SplitMix64};
pub use temperature::temperature;
pub use top_k::top_k;
pub use top_p::top_p;

use crate::error::{Error, Result};

/// Every filtering stage keeps at least this many candidates (llama.cpp's `min_keep`
/// default, as set by common/sampling.cpp).
const MIN_KEEP: usize = 1;

/// Sampler settings, with llama.cpp's names and "off" values.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerParams {
    /// Logits are divided by this before the draw; `<= 0` means greedy.
    pub temperature: f32,
    /// Keep the `top_k` best tokens; `<= 0` turns the stage off.
    pub top_k: i32,
    /// Nucleus mass in `[0, 1]`; `1.0` turns the stage off.
    pub top_p: f32,
    /// Minimum probability relative to the best token, in `[0, 1]`; `0` turns it off.
    pub min_p: f32,
    /// Divides positive / multiplies negative logits of recent tokens; `1.0` is off.
    pub repeat_penalty: f32,
    /// Subtracted once per occurrence in the window; `0` is off.
    pub frequency_penalty: f32,
    /// Subtracted once if the token occurs in the window; `0` is off.
    pub presence_penalty: f32,
    /// How many accepted tokens the penalties look back at; `0` disables them.
    pub penalty_last_n: usize,
    /// Seed of the draw; the same seed and inputs give the same tokens on every target.
    pub seed: u64,
}

/// The default seed. llama.cpp's `LLAMA_DEFAULT_SEED` (0xFFFFFFFF) asks for a random seed; the
/// core draws no entropy itself, so we default to a fixed one and let callers pick another.
pub const DEFAULT_SEED: u64 = 0x5EED;

impl Default for SamplerParams {
    /// llama.cpp common/common.h `common_params_sampling` defaults.
    fn default() -> Self {
        SamplerParams {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            penalty_last_n: 64,
            seed: DEFAULT_SEED,
        }
    }
}

impl SamplerParams {
    /// Argmax decoding with every other stage off (what the reference greedy runs used).
    pub fn greedy() -> Self {
        SamplerParams {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repeat_penalty: 1.0,
            frequency_penalty: 0.0,
            presence_penalty: 0.0,
            penalty_last_n: 0,
            seed: DEFAULT_SEED,
        }
    }

    /// Rejects values no stage can use: NaN or infinite numbers, `top_p`/`min_p` outside
    /// `[0, 1]`, a non-positive `repeat_penalty`.
    pub fn validate(&self) -> Result<()> {
        fn bad(name: &'static str, why: String) -> Result<()> {
            Err(Error::InvalidArgument { name, why })
        }
        let finite = [
            ("temperature", self.temperature),
            ("top_p", self.top_p),
            ("min_p", self.min_p),
            ("repeat_penalty", self.repeat_penalty),
            ("frequency_penalty", self.frequency_penalty),
            ("presence_penalty", self.presence_penalty),
        ];
        for (name, v) in finite {
            if !v.is_finite() {
                return bad(name, format!("must be a finite number, got {v}"));
            }
        }
        if !(0.0..=1.0).contains(&self.top_p) {
            return bad("top_p", format!("must be in [0, 1], got {}", self.top_p));
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad("min_p", format!("must be in [0, 1], got {}", self.min_p));
        }
        if self.repeat_penalty <= 0.0 {
            return bad(
                "repeat_penalty",
                format!("must be > 0 (1.0 is off), got {}", self.repeat_penalty),
            );
        }
        Ok(())
    }

    fn penalties_on(&self) -> bool {
        self.penalty_last_n > 0
            && (self.repeat_penalty != 1.0
                || self.frequency_penalty != 0.0
                || self.presence_penalty != 0.0)
    }
}

/// A sampler chain with its state: penalty window, RNG and scratch buffers.
#[derive(Clone, Debug)]
pub struct Sampler {
    params: SamplerParams,
    window: PenaltyWindow,
    rng: Rng,
    /// Scratch `[n_vocab]` candidates, refilled per token without reallocating.
    cands: Candidates,
}

impl Sampler {
    pub fn new(params: SamplerParams) -> Result<Sampler> {
        params.validate()?;
        Ok(Sampler {
            window: PenaltyWindow::new(params.penalty_last_n),
            rng: Rng::seed_from_u64(params.seed),
            cands: Candidates::default(),
            params,
        })
    }

    pub fn params(&self) -> &SamplerParams {
        &self.params
    }

    /// Runs the chain up to (not including) the final pick and returns the surviving
    /// candidates with their final logits (after temperature). With `temperature <= 0` the
    /// survivors are the penalised logits of the whole vocabulary, in id order.
    pub fn candidates(&mut self, logits: &[f32]) -> &Candidates {
        let p = &self.params;
        self.cands.fill(logits);
        if p.penalties_on() {
            self.window.apply(
                &mut self.cands,
                p.repeat_penalty,
                p.frequency_penalty,
                p.presence_penalty,
            );
        }
        if p.temperature > 0.0 {
            top_k(&mut self.cands, p.top_k, MIN_KEEP);
            top_p(&mut self.cands, p.top_p, MIN_KEEP);
            min_p(&mut self.cands, p.min_p, MIN_KEEP);
            temperature(&mut self.cands, p.temperature);
        }
        &self.cands
    }

    /// Picks the next token from a logits row `[n_vocab]`. Does not record it: call
    /// [`Sampler::accept`] with the token actually used. An empty row yields 0.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let greedy_mode = self.params.temperature <= 0.0;
        self.candidates(logits);
        let picked = if greedy_mode {
            greedy(&self.cands)
        } else {
            dist(&self.cands, &mut self.rng)
        };
        picked.unwrap_or(0)
    }

    /// Adds a token to the penalty window (the last `penalty_last_n` accepted tokens).
    pub fn accept(&mut self, token: u32) {
        self.window.push(token);
    }

    /// Forgets the penalty window and restarts the RNG from the seed, so a reset sampler
    /// replays the same sequence (llama.cpp resets `dist` by reseeding).
    pub fn reset(&mut self) {
        self.window.clear();
        self.rng = Rng::seed_from_u64(self.params.seed);
    }
}
