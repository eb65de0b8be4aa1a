//! Integration tests: chat. Real templates from the model files are checked against the prompts
//! llama.cpp / node-llama-cpp rendered (refdata); built-ins against their published formats,
//! written out by hand here.

use std::io::BufRead;

use crate::util;
use wasm_chord_core::chat::{BuiltinTemplate, ChatMessage, ChatTemplate};
use wasm_chord_core::gguf::{keys, GgufFile};
use wasm_chord_core::Error;

fn msg(role: &str, content: &str) -> ChatMessage {
    ChatMessage::new(role, content)
}

/// The file's BOS and EOS token texts.
fn special_texts(gguf: &GgufFile) -> (String, String) {
    let tokens = gguf.get_str_array(keys::TOKENIZER_TOKENS).unwrap();
    let bos = gguf.get_u32(keys::TOKENIZER_BOS_ID).unwrap() as usize;
    let eos = gguf.get_u32(keys::TOKENIZER_EOS_ID).unwrap() as usize;
    (tokens[bos].clone(), tokens[eos].clone())
}

fn template_of(file: &str) -> ChatTemplate {
    let bytes = util::model_bytes(file);
    let gguf = GgufFile::parse(&bytes).unwrap();
    let (bos, eos) = special_texts(&gguf);
    ChatTemplate::from_gguf(&gguf, &bos, &eos).unwrap()
}

/// Rendered chat prompts (`kind == "chat"`) of a refdata greedy file.
fn chat_prompts(model: &str, file: &str) -> Vec<String> {
    let path = util::refdata_dir(model).join(file);
    let f = std::fs::File::open(&path).unwrap();
    let prompts: Vec<String> = std::io::BufReader::new(f)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap())
        .filter(|v| v["kind"] == "chat")
        .map(|v| v["prompt"].as_str().unwrap().to_owned())
        .collect();
    assert!(!prompts.is_empty(), "no chat lines in {}", path.display());
    prompts
}

/// Splits a rendered ChatML prompt ending in `<|im_start|>assistant\n` back into messages.
fn parse_chatml(prompt: &str) -> Vec<ChatMessage> {
    let body = prompt
        .strip_suffix("<|im_start|>assistant\n")
        .expect("ends with the generation prompt");
    body.split("<|im_end|>\n")
        .filter(|s| !s.is_empty())
        .map(|turn| {
            let turn = turn.strip_prefix("<|im_start|>").unwrap();
            let (role, content) = turn.split_once('\n').unwrap();
            msg(role, content)
        })
        .collect()
}

/// Splits a rendered Gemma prompt ending in `<start_of_turn>model\n` back into messages.
fn parse_gemma(prompt: &str) -> Vec<ChatMessage> {
    let body = prompt
        .strip_suffix("<start_of_turn>model\n")
        .expect("ends with the generation prompt");
    body.split("<end_of_turn>\n")
        .filter(|s| !s.is_empty())
        .map(|turn| {
            let turn = turn.strip_prefix("<start_of_turn>").unwrap();
            let (role, content) = turn.split_once('\n').unwrap();
            msg(if role == "model" { "assistant" } else { role }, content)
        })
        .collect()
}

#[test]
fn chat_smollm2_file_template_matches_llama_cpp_prompts() {
    let t = template_of(util::SMOLLM2_FILE);
    assert!(
        t.source().contains("<|im_start|>"),
        "the file's own template"
    );
    let prompts = chat_prompts("smollm2", "greedy.b4747.jsonl");
    for prompt in &prompts {
        let messages = parse_chatml(prompt);
        assert_eq!(messages.len(), 2, "system + user in {prompt:?}");
        assert_eq!(&t.render(&messages, true).unwrap(), prompt);
    }
    // The template inserts SmolLM's default system prompt when there is none: the first
    // reference prompt is exactly that default plus the user turn.
    let first = parse_chatml(&prompts[0]);
    assert!(first[0].content.contains("named SmolLM"));
    assert_eq!(t.render(&first[1..], true).unwrap(), prompts[0]);
    // Without the generation prompt the assistant opener is absent.
    let no_gen = t.render(&first, false).unwrap();
    assert_eq!(
        format!("{no_gen}<|im_start|>assistant\n"),
        prompts[0],
        "add_generation_prompt only appends the opener"
    );
}

#[test]
fn chat_gemma3_matches_node_llama_cpp_prompts() {
    let bytes = util::model_bytes(util::GEMMA3_FILE);
    let gguf = GgufFile::parse(&bytes).unwrap();
    // This file ships no template: the Gemma built-in is the fallback for gemma* archs.
    assert!(gguf.get(keys::TOKENIZER_CHAT_TEMPLATE).is_none());
    let (bos, eos) = special_texts(&gguf);
    let t = ChatTemplate::from_gguf(&gguf, &bos, &eos).unwrap();
    assert_eq!(t.source(), BuiltinTemplate::Gemma.source());
    for prompt in chat_prompts("gemma3", "greedy.jsonl") {
        let messages = parse_gemma(&prompt);
        assert_eq!(messages.len(), 1, "one user turn in {prompt:?}");
        assert_eq!(t.render(&messages, true).unwrap(), prompt);
    }
    // Gemma has no system role: the system text opens the first user turn, then a blank line
    // (Google's Gemma prompt-structure doc); assistant turns are `model` turns.
    let conv = [
        msg("system", "Be brief."),
        msg("user", "Hi"),
        msg("assistant", "Hello!"),
        msg("user", "Bye"),
    ];
    assert_eq!(
        t.render(&conv, true).unwrap(),
        "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n\
         <start_of_turn>model\nHello!<end_of_turn>\n\
         <start_of_turn>user\nBye<end_of_turn>\n\
         <start_of_turn>model\n"
    );
}

fn conversation() -> [ChatMessage; 4] {
    [
        msg("system", "You are terse."),
        msg("user", "What is 2+2?"),
        msg("assistant", "4"),
        msg("user", "And 3+3?"),
    ]
}

#[test]
fn chat_builtin_chatml_matches_published_format() {
    // OpenAI chatml.md: <|im_start|>{role}\n{content}<|im_end|> per message, newline-separated.
    let t = ChatTemplate::builtin(BuiltinTemplate::ChatMl, "<s>", "</s>");
    let expected = "<|im_start|>system\nYou are terse.<|im_end|>\n\
                    <|im_start|>user\nWhat is 2+2?<|im_end|>\n\
                    <|im_start|>assistant\n4<|im_end|>\n\
                    <|im_start|>user\nAnd 3+3?<|im_end|>\n";
    assert_eq!(t.render(&conversation(), false).unwrap(), expected);
    assert_eq!(
        t.render(&conversation(), true).unwrap(),
        format!("{expected}<|im_start|>assistant\n")
    );
}

#[test]
fn chat_builtin_llama2_matches_published_format() {
    // Meta's Llama 2 chat format: <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {answer} </s>
    let t = ChatTemplate::builtin(BuiltinTemplate::Llama2, "<s>", "</s>");
    let expected = "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nWhat is 2+2? [/INST] 4 </s>\
                    <s>[INST] And 3+3? [/INST]";
    assert_eq!(t.render(&conversation(), true).unwrap(), expected);
    // When the tokenizer adds BOS itself the leading "<s>" text is cut (llama.cpp common/chat.cpp).
    let t = t.with_tokenizer_specials(true, false);
    assert_eq!(
        t.render(&conversation(), true).unwrap(),
        expected.strip_prefix("<s>").unwrap()
    );
    // Without a system message the first turn is a plain [INST].
    let t = ChatTemplate::builtin(BuiltinTemplate::Llama2, "<s>", "</s>");
    assert_eq!(
        t.render(&[msg("user", "Hi")], true).unwrap(),
        "<s>[INST] Hi [/INST]"
    );
}

#[test]
fn chat_builtin_alpaca_matches_published_format() {
    // Stanford Alpaca: preamble, "### Instruction:\n...\n\n### Response:\n".
    let t = ChatTemplate::builtin(BuiltinTemplate::Alpaca, "<s>", "</s>");
    let expected = "You are terse.\n\n\
                    ### Instruction:\nWhat is 2+2?\n\n\
                    ### Response:\n4</s>\n\n\
                    ### Instruction:\nAnd 3+3?\n\n\
                    ### Response:\n";
    assert_eq!(t.render(&conversation(), true).unwrap(), expected);
    assert_eq!(
        t.render(&[msg("user", "Name a color.")], true).unwrap(),
        "Below is an instruction that describes a task. Write a response that appropriately \
         completes the request.\n\n### Instruction:\nName a color.\n\n### Response:\n"
    );
}

#[test]
fn chat_raise_exception_is_a_template_error() {
    let src = "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first must be user') }}{% endif %}ok";
    let t = ChatTemplate::from_source(src, "", "").unwrap();
    assert_eq!(t.render(&[msg("user", "x")], false).unwrap(), "ok");
    let err = t.render(&[msg("assistant", "x")], false).unwrap_err();
    match &err {
        Error::Template(m) => assert!(m.contains("first must be user"), "{m}"),
        other => panic!("expected Error::Template, got {other:?}"),
    }
    // The built-in Llama 2 template rejects unknown roles the same way.
    let t = ChatTemplate::builtin(BuiltinTemplate::Llama2, "<s>", "</s>");
    assert!(matches!(
        t.render(&[msg("tool", "x")], false),
        Err(Error::Template(_))
    ));
}

#[test]
fn chat_bad_source_is_a_template_error() {
    for src in ["{% for m in messages %}", "{{ messages[0] ", "{% endif %}"] {
        let err = ChatTemplate::from_source(src, "", "").unwrap_err();
        assert!(matches!(err, Error::Template(_)), "{src:?}: {err:?}");
    }
    // Unknown methods fail at render time, also as Error::Template.
    let t = ChatTemplate::from_source("{{ messages[0].content.frobnicate() }}", "", "").unwrap();
    assert!(matches!(
        t.render(&[msg("user", "x")], false),
        Err(Error::Template(_))
    ));
}

#[test]
fn chat_python_methods_follow_cpython() {
    // Expected values are what CPython prints for the same calls (`str()` of the results).
    let src = "{{ messages[0].content.strip() }}|{{ messages[0].content.lstrip() }}|\
               {{ messages[0].content.rstrip() }}|{{ 'xxhixx'.strip('x') }}|\
               {{ messages[1].content.startswith('Hel') }}|{{ messages[1].content.endswith(('a', 'd')) }}|\
               {{ messages[1].content.split() }}|{{ 'a,b,,c'.split(',') }}|{{ 'a b c'.split(' ', 1) }}|\
               {{ messages[1].content.upper() }}|{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|\
               {{ 'aaa'.replace('a', 'b', 2) }}|{{ 'héllo'.find('l') }}|{{ 'abab'.count('ab') }}|\
               {{ '-'.join(['x', 'y']) }}|{% for k, v in {'k': 1}.items() %}{{ k }}={{ v }}{% endfor %}|\
               {{ {'a': 1}.get('a') }},{{ {'a': 1}.get('b', 7) }},{{ {'a': 1}.get('b') }}";
    let t = ChatTemplate::from_source(src, "", "").unwrap();
    let out = t
        .render(
            &[msg("user", "  padded \n"), msg("user", "Hello  world")],
            false,
        )
        .unwrap();
    let expected = "padded|padded \n|  padded|hi|\
                    True|True|\
                    ['Hello', 'world']|['a', 'b', '', 'c']|['a', 'b c']|\
                    HELLO  WORLD|Hello World|Hello|\
                    bba|2|2|\
                    x-y|k=1|\
                    1,7,None";
    assert_eq!(out, expected);
}

#[test]
fn chat_blocks_trim_like_transformers() {
    // transformers renders with trim_blocks=True, lstrip_blocks=True: a block tag's own line
    // (indent + tag + newline) vanishes, text lines keep their newlines.
    let src = "{% for m in messages %}\n    {% if m.role == 'user' %}\nU: {{ m.content }}\n    {% endif %}\n{% endfor %}\nEND\n";
    let t = ChatTemplate::from_source(src, "", "").unwrap();
    let out = t
        .render(
            &[msg("user", "a"), msg("assistant", "b"), msg("user", "c")],
            false,
        )
        .unwrap();
    // Jinja2 drops the single trailing newline of a template (keep_trailing_newline=False).
    assert_eq!(out, "U: a\nU: c\nEND");
}

#[test]
fn chat_strftime_now_and_specials() {
    let src = "{{ bos_token }}{{ strftime_now('%d %b %Y') }}{% if add_generation_prompt %}>{% endif %}{{ eos_token }}";
    // 2024-07-26 00:00:00 UTC (the date Llama 3.1's template prints by default).
    let t = ChatTemplate::from_source(src, "<B>", "<E>").unwrap();
    assert_eq!(
        t.render_at(&[], true, 1_721_952_000).unwrap(),
        "<B>26 Jul 2024><E>"
    );
    let t = t.with_tokenizer_specials(true, true);
    assert_eq!(
        t.render_at(&[], false, 1_721_952_000).unwrap(),
        "26 Jul 2024"
    );
}
