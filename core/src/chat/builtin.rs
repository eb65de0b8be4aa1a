//! Built-in chat templates, for files without `tokenizer.chat_template`. Each is written from
//! the format's published description, in the same Jinja dialect as Hugging Face templates, so
//! they run through the same engine as a file's own template.

/// The built-in formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinTemplate {
    /// ChatML (OpenAI's chatml.md; Qwen, SmolLM, ...): `<|im_start|>{role}\n{content}<|im_end|>\n`
    /// per message, `<|im_start|>assistant\n` as the generation prompt. llama.cpp's fallback.
    ChatMl,
    /// Llama 2 chat (Meta's model card): `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]
    /// {assistant} </s>` per exchange; the system prompt is folded into the first user turn.
    /// The prompt already ends where the answer starts, so the generation prompt adds nothing.
    Llama2,
    /// Alpaca (Stanford Alpaca's prompt): a preamble (the system message, or Alpaca's standard
    /// one), then `### Instruction:\n{user}\n\n` and `### Response:\n{assistant}{eos}\n\n`; the
    /// generation prompt is `### Response:\n`.
    Alpaca,
    /// Gemma (Google's prompt-structure doc): `<start_of_turn>{user|model}\n{content}<end_of_turn>\n`,
    /// the system prompt folded into the first user turn followed by a blank line, generation
    /// prompt `<start_of_turn>model\n`. No BOS text: the tokenizer adds BOS itself.
    Gemma,
}

const CHATML: &str = r#"{%- for message in messages -%}
{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{ '<|im_start|>assistant\n' }}
{%- endif -%}"#;

const LLAMA2: &str = r#"{%- if messages and messages[0]['role'] == 'system' -%}
{%- set system = messages[0]['content'] | trim -%}
{%- set turns = messages[1:] -%}
{%- else -%}
{%- set system = '' -%}
{%- set turns = messages -%}
{%- endif -%}
{%- for message in turns -%}
{%- if message['role'] == 'user' -%}
{%- if loop.first and system -%}
{%- set content = '<<SYS>>\n' + system + '\n<</SYS>>\n\n' + (message['content'] | trim) -%}
{%- else -%}
{%- set content = message['content'] | trim -%}
{%- endif -%}
{{ bos_token + '[INST] ' + content + ' [/INST]' }}
{%- elif message['role'] == 'assistant' -%}
{{ ' ' + (message['content'] | trim) + ' ' + eos_token }}
{%- else -%}
{{ raise_exception('Llama 2 chat has only system, user and assistant roles') }}
{%- endif -%}
{%- endfor -%}"#;

const ALPACA: &str = r#"{%- if messages and messages[0]['role'] == 'system' -%}
{{ messages[0]['content'] | trim }}{{ '\n\n' }}
{%- set turns = messages[1:] -%}
{%- else -%}
{{ 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' }}
{%- set turns = messages -%}
{%- endif -%}
{%- for message in turns -%}
{%- if message['role'] == 'user' -%}
{{ '### Instruction:\n' + (message['content'] | trim) + '\n\n' }}
{%- elif message['role'] == 'assistant' -%}
{{ '### Response:\n' + (message['content'] | trim) + eos_token + '\n\n' }}
{%- else -%}
{{ raise_exception('Alpaca has only system, user and assistant roles') }}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{ '### Response:\n' }}
{%- endif -%}"#;

const GEMMA: &str = r#"{%- if messages and messages[0]['role'] == 'system' -%}
{%- set prefix = (messages[0]['content'] | trim) + '\n\n' -%}
{%- set turns = messages[1:] -%}
{%- else -%}
{%- set prefix = '' -%}
{%- set turns = messages -%}
{%- endif -%}
{%- for message in turns -%}
{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
{{ '<start_of_turn>' + role + '\n' + (prefix if loop.first else '') + (message['content'] | trim) + '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{ '<start_of_turn>model\n' }}
{%- endif -%}"#;

impl BuiltinTemplate {
    /// The template's Jinja source.
    pub fn source(self) -> &'static str {
        match self {
            BuiltinTemplate::ChatMl => CHATML,
            BuiltinTemplate::Llama2 => LLAMA2,
            BuiltinTemplate::Alpaca => ALPACA,
            BuiltinTemplate::Gemma => GEMMA,
        }
    }

    /// The fallback for a file without a template, by `general.architecture`: Gemma's own
    /// format for `gemma*` (what node-llama-cpp picks for these files; llama.cpp itself would
    /// fall back to ChatML), ChatML for everything else (llama.cpp's fallback).
    pub fn fallback_for_arch(arch: Option<&str>) -> BuiltinTemplate {
        match arch {
            Some(a) if a.starts_with("gemma") => BuiltinTemplate::Gemma,
            _ => BuiltinTemplate::ChatMl,
        }
    }
}
