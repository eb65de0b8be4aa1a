//! Chat templates: messages → prompt text, through the model's own Jinja template
//! (`tokenizer.chat_template`) or a built-in one.
//!
//! Rendering follows Hugging Face transformers, which the templates are written for:
//! `trim_blocks` and `lstrip_blocks` on, variables `messages`, `add_generation_prompt`,
//! `bos_token`, `eos_token`, the function `raise_exception(msg)` (→ [`Error::Template`]),
//! `strftime_now(fmt)`, and Python string/dict methods ([`pycompat`]). Like llama.cpp
//! (common/chat.cpp), a leading BOS / trailing EOS text is cut when the tokenizer adds that
//! token itself, so the prompt never gets two.

mod builtin;
mod pycompat;
mod time;

use std::fmt;

use minijinja::syntax::SyntaxConfig;
use minijinja::{context, Environment, ErrorKind};

pub use builtin::BuiltinTemplate;
pub use time::strftime;

use crate::error::{Error, Result};
use crate::gguf::{keys, GgufFile};

/// One chat turn. `role` is free text (`system`, `user`, `assistant`, ...); templates decide
/// which roles they accept.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// Name of the one template in a [`ChatTemplate`]'s environment.
const TEMPLATE_NAME: &str = "chat_template";
/// Context variable carrying the render time to `strftime_now`.
const NOW_VAR: &str = "__wasm_chord_now";

/// A compiled chat template (compiled once, rendered many times).
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    bos_token: String,
    eos_token: String,
    /// The tokenizer prepends BOS itself: cut a rendered leading `bos_token`.
    strip_bos: bool,
    /// The tokenizer appends EOS itself: cut a rendered trailing `eos_token`.
    strip_eos: bool,
}

impl fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("source", &self.source)
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .field("strip_bos", &self.strip_bos)
            .field("strip_eos", &self.strip_eos)
            .finish()
    }
}

fn template_error(e: minijinja::Error) -> Error {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    Error::Template(msg)
}

fn raise_exception(msg: String) -> std::result::Result<String, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
}

fn strftime_now(
    state: &minijinja::State,
    format: String,
) -> std::result::Result<String, minijinja::Error> {
    let now = state
        .lookup(NOW_VAR)
        .and_then(|v| v.as_i64())
        .unwrap_or_else(time::now_unix_secs);
    Ok(strftime(&format, now))
}

impl ChatTemplate {
    /// The file's `tokenizer.chat_template`, or the built-in fallback for its architecture
    /// ([`BuiltinTemplate::fallback_for_arch`]). BOS/EOS stripping follows the file's
    /// `tokenizer.ggml.add_bos_token` / `add_eos_token` (absent: BOS for SentencePiece
    /// `llama` vocabularies, as llama.cpp defaults; no EOS).
    pub fn from_gguf(gguf: &GgufFile, bos_token: &str, eos_token: &str) -> Result<ChatTemplate> {
        let source = GgufFile::opt(gguf.get_str(keys::TOKENIZER_CHAT_TEMPLATE))?;
        let template = match source {
            Some(src) => ChatTemplate::from_source(src, bos_token, eos_token)?,
            None => {
                let arch = GgufFile::opt(gguf.get_str(keys::GENERAL_ARCHITECTURE))?;
                let kind = BuiltinTemplate::fallback_for_arch(arch);
                ChatTemplate::builtin(kind, bos_token, eos_token)
            }
        };
        let spm = GgufFile::opt(gguf.get_str(keys::TOKENIZER_MODEL))? == Some("llama");
        let add_bos = GgufFile::opt(gguf.get_bool(keys::TOKENIZER_ADD_BOS))?.unwrap_or(spm);
        let add_eos = GgufFile::opt(gguf.get_bool(keys::TOKENIZER_ADD_EOS))?.unwrap_or(false);
        Ok(template.with_tokenizer_specials(add_bos, add_eos))
    }

    /// Compiles a Jinja chat template; syntax errors are [`Error::Template`].
    pub fn from_source(source: &str, bos_token: &str, eos_token: &str) -> Result<ChatTemplate> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(template_error)?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(pycompat::call_method);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_template_owned(TEMPLATE_NAME, source.to_owned())
            .map_err(template_error)?;
        Ok(ChatTemplate {
            env,
            source: source.to_owned(),
            bos_token: bos_token.to_owned(),
            eos_token: eos_token.to_owned(),
            strip_bos: false,
            strip_eos: false,
        })
    }

    /// A built-in template (its source is ours and compiles).
    pub fn builtin(kind: BuiltinTemplate, bos_token: &str, eos_token: &str) -> ChatTemplate {
        match ChatTemplate::from_source(kind.source(), bos_token, eos_token) {
            Ok(t) => t,
            // Unreachable: the built-in sources are compiled by the tests. Fall back to an
            // empty template rather than panic in a wasm host.
            Err(_) => ChatTemplate {
                env: Environment::new(),
                source: String::new(),
                bos_token: bos_token.to_owned(),
                eos_token: eos_token.to_owned(),
                strip_bos: false,
                strip_eos: false,
            },
        }
    }

    /// Tells the template whether the tokenizer adds BOS / EOS itself, so that `render`
    /// cuts a rendered leading `bos_token` / trailing `eos_token` (llama.cpp common/chat.cpp).
    pub fn with_tokenizer_specials(mut self, add_bos: bool, add_eos: bool) -> ChatTemplate {
        self.strip_bos = add_bos;
        self.strip_eos = add_eos;
        self
    }

    /// The Jinja source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders `messages`; `add_generation_prompt` appends the opening of an assistant turn.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        self.render_at(messages, add_generation_prompt, time::now_unix_secs())
    }

    /// [`ChatTemplate::render`] with the time `strftime_now` sees (seconds since the Unix
    /// epoch, UTC): for reproducible prompts, and for wasm32 where the core has no clock.
    pub fn render_at(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
        now_unix_secs: i64,
    ) -> Result<String> {
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(template_error)?;
        let ctx = context! {
            messages => minijinja::Value::from(minijinja::value::Serde(messages)),
            add_generation_prompt => add_generation_prompt,
            bos_token => self.bos_token.as_str(),
            eos_token => self.eos_token.as_str(),
            __wasm_chord_now => now_unix_secs,
        };
        let mut out = template.render(ctx).map_err(template_error)?;
        if self.strip_bos && !self.bos_token.is_empty() && out.starts_with(&self.bos_token) {
            out.drain(..self.bos_token.len());
        }
        if self.strip_eos && !self.eos_token.is_empty() && out.ends_with(&self.eos_token) {
            out.truncate(out.len() - self.eos_token.len());
        }
        Ok(out)
    }
}
