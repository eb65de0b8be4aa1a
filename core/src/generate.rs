//! Text generation: prefill the prompt as one batch, then decode one token per `step()`.
//! Stops on end-of-generation tokens, stop strings (text held back while it could still
//! become one), `max_tokens`, or a full context; a cancel flag is checked between tokens.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::{Logits, Session};
use crate::sample::{Sampler, SamplerParams};
use crate::tokenizer::StreamDecoder;

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Upper bound on generated tokens (0 = until the context is full).
    pub max_tokens: usize,
    pub sampler: SamplerParams,
    /// Generation ends before any of these strings; they are not part of the output.
    pub stop: Vec<String>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_tokens: 256,
            sampler: SamplerParams::default(),
            stop: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-generation token (EOS, EOT, `<|im_end|>`, ...).
    EndOfGeneration,
    /// One of the stop strings appeared.
    StopString,
    MaxTokens,
    /// The context is full.
    ContextFull,
}

impl FinishReason {
    /// OpenAI-style name.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::EndOfGeneration | FinishReason::StopString => "stop",
            FinishReason::MaxTokens | FinishReason::ContextFull => "length",
        }
    }
}

/// One generated token and the text it completed (may be empty while UTF-8 or a possible
/// stop string is held back).
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The sampled token; `None` for the final chunk that only flushes held-back text.
    pub token: Option<u32>,
    pub text: String,
}

pub struct Generator {
    session: Session,
    sampler: Sampler,
    decoder: StreamDecoder,
    opts: GenerateOptions,
    /// Prompt tokens not yet evaluated (consumed by the first step).
    pending_prompt: Vec<u32>,
    /// Token sampled last, to be fed on the next step.
    last_token: Option<u32>,
    /// Decoded text not yet returned because it may begin a stop string.
    held: String,
    n_generated: usize,
    finish: Option<FinishReason>,
    cancel: Arc<AtomicBool>,
}

impl Generator {
    /// Prepares generation after `prompt` (token ids, BOS included if wanted). The prompt is
    /// evaluated by the first `step()`.
    pub fn new(mut session: Session, prompt: Vec<u32>, opts: GenerateOptions) -> Result<Generator> {
        if prompt.is_empty() {
            return Err(Error::InvalidArgument {
                name: "prompt",
                why: "the prompt has no tokens".into(),
            });
        }
        let need = session.n_past() + prompt.len();
        if need > session.n_ctx() {
            return Err(Error::ContextOverflow {
                tokens: need,
                n_ctx: session.n_ctx(),
            });
        }
        let mut sampler = Sampler::new(opts.sampler.clone())?;
        for &t in &prompt {
            sampler.accept(t);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        session.set_cancel_flag(Some(cancel.clone()));
        Ok(Generator {
            session,
            sampler,
            decoder: StreamDecoder::new(),
            opts,
            pending_prompt: prompt,
            last_token: None,
            held: String::new(),
            n_generated: 0,
            finish: None,
            cancel,
        })
    }

    /// A flag another thread may set to stop generation between tokens.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finish
    }

    pub fn n_generated(&self) -> usize {
        self.n_generated
    }

    /// Gives the session back (its KV cache holds the prompt and the generated tokens).
    pub fn into_session(self) -> Session {
        self.session
    }

    /// Produces the next token, or `None` once finished (then `finish_reason()` says why and
    /// any held-back text was returned by the last chunk).
    pub fn step(&mut self) -> Result<Option<Chunk>> {
        crate::ready::ready(self.step_async())?
    }

    /// [`Generator::step`] for WebGPU, whose passes end in a promise.
    pub async fn step_async(&mut self) -> Result<Option<Chunk>> {
        if self.finish.is_some() {
            return Ok(None);
        }
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        if self.opts.max_tokens > 0 && self.n_generated >= self.opts.max_tokens {
            return Ok(self.end(FinishReason::MaxTokens));
        }
        // The prompt on the first step, then the last sampled token (no allocation per token).
        let last = self.last_token.map(|t| [t]);
        let input: &[u32] = match &last {
            Some(one) => one,
            None => &self.pending_prompt,
        };
        if self.session.n_past() + input.len() > self.session.n_ctx() {
            return Ok(self.end(FinishReason::ContextFull));
        }
        let logits = self.session.eval_async(input, Logits::Last).await?;
        if last.is_none() {
            self.pending_prompt = Vec::new();
        }
        let token = self.sampler.sample(logits);
        self.sampler.accept(token);
        self.last_token = Some(token);
        self.n_generated += 1;

        let tokenizer = &self.session.model().tokenizer;
        if tokenizer.is_eog(token) {
            let text = std::mem::take(&mut self.held) + &self.decoder.finish();
            self.finish = Some(FinishReason::EndOfGeneration);
            return Ok(Some(Chunk {
                token: Some(token),
                text,
            }));
        }
        let piece = tokenizer.token_to_piece(token)?;
        self.held.push_str(&self.decoder.push(&piece));
        Ok(Some(Chunk {
            token: Some(token),
            text: self.release_text(),
        }))
    }

    /// Returns the held text that can no longer be part of a stop string; on a stop string,
    /// returns the text before it and finishes.
    fn release_text(&mut self) -> String {
        if let Some(at) = self
            .opts
            .stop
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| self.held.find(s.as_str()))
            .min()
        {
            self.held.truncate(at);
            self.finish = Some(FinishReason::StopString);
            return std::mem::take(&mut self.held);
        }
        // Keep the longest tail that is a proper prefix of some stop string.
        let keep = self
            .opts
            .stop
            .iter()
            .map(|s| longest_suffix_prefix(&self.held, s))
            .max()
            .unwrap_or(0);
        let cut = self.held.len() - keep;
        let rest = self.held.split_off(cut);
        std::mem::replace(&mut self.held, rest)
    }

    fn end(&mut self, reason: FinishReason) -> Option<Chunk> {
        self.finish = Some(reason);
        let text = std::mem::take(&mut self.held) + &self.decoder.finish();
        // The last token was already returned; a final chunk only carries held-back text.
        (!text.is_empty()).then_some(Chunk { token: None, text })
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of `stop` (at a char boundary).
fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    let max = stop.len().saturating_sub(1).min(text.len());
    (1..=max)
        .rev()
        .find(|&n| {
            text.is_char_boundary(text.len() - n)
                && stop
                    .as_bytes()
                    .starts_with(&text.as_bytes()[text.len() - n..])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::longest_suffix_prefix;

    #[test]
    fn suffix_prefix_finds_partial_stop_strings() {
        assert_eq!(longest_suffix_prefix("hello <|im", "<|im_end|>"), 4);
        assert_eq!(longest_suffix_prefix("hello", "<|im_end|>"), 0);
        assert_eq!(longest_suffix_prefix("ab", "b"), 0);
        assert_eq!(longest_suffix_prefix("a\n\n", "\n\nUser:"), 2);
    }
}
