//! Integration tests: generate. The generation loop on SmolLM2: greedy tokens vs our own
//! teacher-forced argmax and vs llama.cpp's greedy run (refdata), stop strings, max_tokens,
//! end of generation on a chat prompt, cancellation from another thread, seeded sampling and
//! streamed text vs whole-sequence decoding.

use std::sync::atomic::Ordering;
use std::sync::mpsc;

use serde_json::Value;
use wasm_chord_core::chat::{ChatMessage, ChatTemplate};
use wasm_chord_core::generate::{Chunk, FinishReason, GenerateOptions, Generator};
use wasm_chord_core::model::{Logits, Session};
use wasm_chord_core::sample::SamplerParams;
use wasm_chord_core::Error;

use crate::util;

/// llama.cpp's top-1 vs top-2 margin below which two builds may disagree (refdata/README.md).
const MIN_MARGIN: f64 = 0.3;

use util::smollm2;

fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("array of ids")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}

/// The line of `smollm2/greedy.jsonl` for `prompt`.
fn greedy_ref(prompt: &str) -> Value {
    let path = util::refdata_dir("smollm2").join("greedy.jsonl");
    let text = std::fs::read_to_string(&path).expect("read greedy.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).expect("json line"))
        .find(|v| v["prompt"].as_str() == Some(prompt))
        .unwrap_or_else(|| panic!("{prompt:?} is not in {}", path.display()))
}

fn opts(max_tokens: usize, sampler: SamplerParams, stop: &[&str]) -> GenerateOptions {
    GenerateOptions {
        max_tokens,
        sampler,
        stop: stop.iter().map(|s| s.to_string()).collect(),
    }
}

/// Runs a generation to its end: (chunks, finish reason).
fn run(prompt: Vec<u32>, o: GenerateOptions) -> (Vec<Chunk>, FinishReason) {
    let session = Session::new(smollm2(), 1024).unwrap();
    let mut g = Generator::new(session, prompt, o).unwrap();
    let mut chunks = Vec::new();
    while let Some(c) = g.step().unwrap() {
        chunks.push(c);
    }
    let reason = g.finish_reason().expect("a finished generator says why");
    (chunks, reason)
}

fn tokens_of(chunks: &[Chunk]) -> Vec<u32> {
    chunks.iter().filter_map(|c| c.token).collect()
}

fn text_of(chunks: &[Chunk]) -> String {
    chunks.iter().map(|c| c.text.as_str()).collect()
}

fn plain(text: &str) -> Vec<u32> {
    smollm2().tokenizer.encode(text, false)
}

/// The SmolLM2 chat prompt for one user message, rendered with the file's template.
fn chat_prompt(user: &str) -> Vec<u32> {
    let m = smollm2();
    let tok = &m.tokenizer;
    let piece = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_string();
    let template = ChatTemplate::from_gguf(&m.gguf, &piece(tok.bos()), &piece(tok.eos())).unwrap();
    let text = template
        .render(&[ChatMessage::new("user", user)], true)
        .unwrap();
    tok.encode(&text, true)
}

#[test]
fn generate_greedy_matches_teacher_forced_argmax_and_llama_cpp() {
    let prompt_text = "The capital of France is";
    let reference = greedy_ref(prompt_text);
    let prompt = ids_of(&reference["prompt_ids"]);
    assert_eq!(
        plain(prompt_text),
        prompt,
        "tokenizer disagrees with refdata"
    );
    let want = ids_of(&reference["generated_ids"]);

    let (chunks, reason) = run(
        prompt.clone(),
        opts(want.len(), SamplerParams::greedy(), &[]),
    );
    let got = tokens_of(&chunks);
    assert_eq!(reason, FinishReason::MaxTokens);
    assert_eq!(got.len(), want.len());

    // Our own consistency: each generated token is the argmax of a teacher-forced batch over
    // prompt + generated (a different batch shape, so only exact near-ties may flip).
    let model = smollm2();
    let n_vocab = model.hparams.n_vocab;
    let mut all = prompt.clone();
    all.extend_from_slice(&got[..got.len() - 1]);
    let mut s = Session::new(model.clone(), all.len()).unwrap();
    let logits = s.eval(&all, Logits::All).unwrap();
    for (i, &t) in got.iter().enumerate() {
        let row = &logits[(prompt.len() - 1 + i) * n_vocab..(prompt.len() + i) * n_vocab];
        let best = wasm_chord_core::sample::argmax(row).unwrap();
        if best != t {
            let gap = row[best as usize] - row[t as usize];
            assert!(
                gap < 1e-3,
                "position {i}: generated {t}, teacher-forced argmax {best} (gap {gap})"
            );
        }
    }

    // llama.cpp: equal up to the first position whose reference margin is below 0.3.
    let p1 = reference["top1_prob"].as_array().unwrap();
    let p2 = reference["top2_prob"].as_array().unwrap();
    let sure = p1
        .iter()
        .zip(p2)
        .take_while(|(a, b)| (a.as_f64().unwrap() / b.as_f64().unwrap()).ln() >= MIN_MARGIN)
        .count();
    assert!(sure >= 3, "the reference has only {sure} confident tokens");
    assert_eq!(
        got[..sure],
        want[..sure],
        "greedy tokens differ from llama.cpp within the first {sure} confident positions"
    );
}

#[test]
fn generate_stop_string_cuts_text_and_finishes() {
    let prompt = plain("The capital of France is");
    // Without stop strings: the text the stop string must cut.
    let (full, _) = run(prompt.clone(), opts(16, SamplerParams::greedy(), &[]));
    let full_text = smollm2().tokenizer.decode(&tokens_of(&full)).unwrap();
    let stop = "\n\n";
    let at = full_text
        .find(stop)
        .unwrap_or_else(|| panic!("{full_text:?} has no {stop:?}: pick another stop"));

    let (chunks, reason) = run(prompt, opts(16, SamplerParams::greedy(), &[stop, "zzz"]));
    assert_eq!(reason, FinishReason::StopString);
    assert_eq!(reason.as_str(), "stop");
    assert_eq!(text_of(&chunks), full_text[..at]);
    assert!(!text_of(&chunks).contains(stop));
    // Generation stopped at the token that completed the stop string.
    assert!(tokens_of(&chunks).len() < 16);
}

#[test]
fn generate_max_tokens_finishes_with_length() {
    let (chunks, reason) = run(
        plain("Once upon a time, there was a little"),
        opts(5, SamplerParams::greedy(), &[]),
    );
    assert_eq!(reason, FinishReason::MaxTokens);
    assert_eq!(reason.as_str(), "length");
    assert_eq!(tokens_of(&chunks).len(), 5);
}

#[test]
fn generate_chat_prompt_ends_with_end_of_generation() {
    let m = smollm2();
    let im_end = m
        .tokenizer
        .encode("<|im_end|>", true)
        .first()
        .copied()
        .unwrap();
    assert_eq!(m.tokenizer.token_text(im_end), Some("<|im_end|>"));
    let (chunks, reason) = run(
        chat_prompt("Say hi"),
        opts(64, SamplerParams::greedy(), &[]),
    );
    let ids = tokens_of(&chunks);
    assert_eq!(
        reason,
        FinishReason::EndOfGeneration,
        "{:?}",
        text_of(&chunks)
    );
    assert_eq!(ids.last(), Some(&im_end));
    // The end token is not part of the text.
    let text = text_of(&chunks);
    assert!(!text.contains("<|im_end|>"));
    assert_eq!(text, m.tokenizer.decode(&ids[..ids.len() - 1]).unwrap());
}

#[test]
fn generate_cancel_from_another_thread() {
    let session = Session::new(smollm2(), 2048).unwrap();
    let o = opts(0, SamplerParams::greedy(), &[]);
    let mut g = Generator::new(session, plain("Count to one thousand: 1, 2, 3,"), o).unwrap();
    let flag = g.cancel_flag();
    let (tx, rx) = mpsc::channel::<()>();
    let canceller = std::thread::spawn(move || {
        rx.recv().unwrap();
        flag.store(true, Ordering::Relaxed);
    });
    let mut steps = 0;
    let result = loop {
        match g.step() {
            Ok(Some(_)) => {
                steps += 1;
                if steps == 2 {
                    tx.send(()).unwrap();
                }
                assert!(steps < 200, "cancellation was not noticed");
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    canceller.join().unwrap();
    assert_eq!(result, Err(Error::Cancelled));
    assert_eq!(Error::Cancelled.code().as_str(), "ABORT_ERR");
}

#[test]
fn generate_seeded_sampling_is_reproducible() {
    let prompt = plain("Once upon a time, there was a little");
    let sampler = |seed| SamplerParams {
        temperature: 0.8,
        seed,
        ..SamplerParams::default()
    };
    let (a, _) = run(prompt.clone(), opts(24, sampler(42), &[]));
    let (b, _) = run(prompt.clone(), opts(24, sampler(42), &[]));
    let (c, _) = run(prompt, opts(24, sampler(4242), &[]));
    assert_eq!(tokens_of(&a), tokens_of(&b));
    assert_eq!(text_of(&a), text_of(&b));
    assert_ne!(
        text_of(&a),
        text_of(&c),
        "another seed gave the same 24 tokens"
    );
}

#[test]
fn generate_streamed_text_equals_decoded_ids() {
    // Code and a multi-byte character stress the stream decoder's held-back UTF-8.
    for (prompt, sampler) in [
        ("def fibonacci(n):", SamplerParams::greedy()),
        (
            "Le café est très",
            SamplerParams {
                temperature: 1.0,
                seed: 7,
                ..SamplerParams::default()
            },
        ),
    ] {
        let (chunks, reason) = run(plain(prompt), opts(40, sampler, &[]));
        let ids = tokens_of(&chunks);
        let ids = match reason {
            FinishReason::EndOfGeneration => &ids[..ids.len() - 1],
            _ => &ids[..],
        };
        assert_eq!(
            text_of(&chunks),
            smollm2().tokenizer.decode(ids).unwrap(),
            "{prompt:?}"
        );
    }
}
