//! Integration tests: tokenizer. Every id sequence is checked against llama.cpp's output in
//! `../shared/refdata/<model>/` (tokenize.jsonl, ppl.json, greedy*.jsonl), exactly.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;
use wasm_chord_core::gguf::{self, keys, GgufFile, GgufWriter};
use wasm_chord_core::tokenizer::{StreamDecoder, Tokenizer};
use wasm_chord_core::Error;

use crate::util;

fn load(file: &str) -> Tokenizer {
    let bytes = util::model_bytes(file);
    let gguf = GgufFile::parse(&bytes).expect("parse gguf");
    let t0 = Instant::now();
    let tok = Tokenizer::from_gguf(&gguf).expect("load tokenizer");
    eprintln!(
        "{file}: tokenizer of {} tokens loaded in {:?}",
        tok.n_vocab(),
        t0.elapsed()
    );
    tok
}

fn smollm2() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| load(util::SMOLLM2_FILE))
}

fn gemma3() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| load(util::GEMMA3_FILE))
}

/// Reads a JSON-lines reference file.
fn jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (llama.cpp reference data)", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("refdata line is JSON"))
        .collect()
}

fn ids_of(v: &Value, key: &str) -> Vec<u32> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("refdata field '{key}' missing"))
        .iter()
        .map(|x| x.as_u64().expect("token id") as u32)
        .collect()
}

/// Every line of `tokenize.jsonl`: `ids` with special parsing, `ids_no_special` without.
fn check_tokenize_jsonl(tok: &Tokenizer, model: &str) {
    let lines = jsonl(&util::refdata_dir(model).join("tokenize.jsonl"));
    assert!(!lines.is_empty());
    let mut failures = Vec::new();
    for line in &lines {
        let text = line["text"].as_str().expect("text");
        for (key, parse_special) in [("ids", true), ("ids_no_special", false)] {
            let expected = ids_of(line, key);
            let got = tok.encode(text, parse_special);
            if got != expected {
                failures.push(format!(
                    "{key} of {text:?}\n  expected {expected:?}\n  got      {got:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{model}: {} of {} tokenize.jsonl checks differ from llama.cpp:\n{}",
        failures.len(),
        2 * lines.len(),
        failures.join("\n")
    );
}

/// `ppl.json` ids are the first tokens of `ppl_text.txt` (BOS first when the model adds it).
fn check_ppl_ids(tok: &Tokenizer, model: &str) {
    let dir = util::refdata_dir(model);
    let ppl: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ppl.json")).expect("ppl.json"))
            .expect("ppl.json is JSON");
    let mut expected = ids_of(&ppl, "ids");
    let text = std::fs::read_to_string(dir.join("../ppl_text.txt")).expect("ppl_text.txt");
    if ppl["add_bos"].as_bool().expect("add_bos") {
        assert!(tok.add_bos(), "{model}: ppl.json adds BOS");
        assert_eq!(expected.first().copied(), tok.bos(), "{model}: BOS id");
        expected.remove(0);
    } else {
        assert!(!tok.add_bos(), "{model}: ppl.json adds no BOS");
    }
    let t0 = Instant::now();
    let got = tok.encode(&text, false);
    eprintln!(
        "{model}: encoded {} bytes of ppl_text.txt into {} tokens in {:?}",
        text.len(),
        got.len(),
        t0.elapsed()
    );
    // Generous bound (the machine is shared); llama.cpp-grade speed is a few ms.
    assert!(
        t0.elapsed().as_millis() < 250,
        "{model}: encoding 20 KB took {:?}",
        t0.elapsed()
    );
    let n = expected.len();
    assert!(got.len() >= n, "{model}: only {} tokens", got.len());
    if let Some(i) = (0..n).find(|&i| got[i] != expected[i]) {
        panic!(
            "{model}: ppl ids differ at {i}: expected {:?}, got {:?}",
            &expected[i..(i + 8).min(n)],
            &got[i..(i + 8).min(n)]
        );
    }
}

/// greedy*.jsonl: `prompt` (chat prompts contain special tokens) → `prompt_ids`, and the
/// generations that stop early end on an end-of-generation token.
fn check_greedy_prompts(tok: &Tokenizer, model: &str) {
    let dir = util::refdata_dir(model);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("refdata dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("greedy") && name.ends_with(".jsonl")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{model}: no greedy*.jsonl");
    let mut failures = Vec::new();
    let mut n_checked = 0;
    for file in &files {
        for line in jsonl(file) {
            let prompt = line["prompt"].as_str().expect("prompt");
            let expected = ids_of(&line, "prompt_ids");
            let mut got = Vec::new();
            if tok.add_bos() {
                got.extend(tok.bos());
            }
            got.extend(tok.encode(prompt, true));
            if got != expected {
                failures.push(format!(
                    "{}: {prompt:?}\n  expected {expected:?}\n  got      {got:?}",
                    file.display()
                ));
            }
            n_checked += 1;

            let generated = ids_of(&line, "generated_ids");
            let n_predict = line["n_predict"].as_u64().expect("n_predict") as usize;
            if let Some((last, before)) = generated.split_last() {
                if generated.len() < n_predict {
                    assert!(
                        tok.is_eog(*last),
                        "{model}: generation stopped on {last}, which is not EOG"
                    );
                }
                assert!(
                    !before.iter().any(|&id| tok.is_eog(id)),
                    "{model}: generation continued past an EOG token: {before:?}"
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{model}: {} of {n_checked} prompts differ from llama.cpp:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn tokenizer_smollm2_matches_refdata_tokenize() {
    check_tokenize_jsonl(smollm2(), "smollm2");
}

#[test]
fn tokenizer_smollm2_matches_ppl_ids() {
    check_ppl_ids(smollm2(), "smollm2");
}

#[test]
fn tokenizer_smollm2_matches_greedy_prompt_ids() {
    check_greedy_prompts(smollm2(), "smollm2");
}

#[test]
fn tokenizer_smollm2_decode_round_trips() {
    let tok = smollm2();
    let lines = jsonl(&util::refdata_dir("smollm2").join("tokenize.jsonl"));
    let mut n = 0;
    for line in &lines {
        if line["detok_roundtrip_ok"].as_bool() != Some(true) {
            continue;
        }
        let text = line["text"].as_str().expect("text");
        for key in ["ids", "ids_no_special"] {
            let decoded = tok.decode(&ids_of(line, key)).expect("decode");
            assert_eq!(decoded, text, "decode({key}) of {text:?}");
        }
        assert_eq!(tok.decode(&tok.encode(text, true)).unwrap(), text);
        n += 1;
    }
    assert!(n > 0, "no detok_roundtrip_ok lines");
}

#[test]
fn tokenizer_smollm2_pieces_match_refdata() {
    // `pieces` are the vocabulary strings llama.cpp printed for each id.
    let tok = smollm2();
    for line in jsonl(&util::refdata_dir("smollm2").join("tokenize.jsonl")) {
        let Some(pieces) = line["pieces"].as_array() else {
            continue;
        };
        let ids = ids_of(&line, "ids");
        let got: Vec<&str> = ids.iter().map(|&id| tok.token_text(id).unwrap()).collect();
        let expected: Vec<&str> = pieces.iter().map(|p| p.as_str().unwrap()).collect();
        assert_eq!(got, expected, "pieces of {:?}", line["text"]);
    }
}

#[test]
fn tokenizer_stream_decoder_reassembles_split_emoji() {
    let tok = smollm2();
    let line = jsonl(&util::refdata_dir("smollm2").join("tokenize.jsonl"))
        .into_iter()
        .find(|l| l["text"].as_str().is_some_and(|t| t.contains('🦀')))
        .expect("emoji line in tokenize.jsonl");
    let text = line["text"].as_str().unwrap();
    let ids = ids_of(&line, "ids");
    let mut stream = StreamDecoder::new();
    let mut out = String::new();
    let mut held_back = 0;
    for &id in &ids {
        let piece = tok.token_to_piece(id).unwrap();
        let chunk = stream.push(&piece);
        if std::str::from_utf8(&piece).is_err() {
            held_back += 1;
        }
        assert!(
            !chunk.contains('\u{FFFD}'),
            "chunk {chunk:?} split a character"
        );
        out += &chunk;
    }
    out += &stream.finish();
    assert_eq!(out, text);
    assert!(
        held_back > 0,
        "the emoji line should contain tokens that are partial UTF-8 sequences"
    );
}

#[test]
fn tokenizer_rejects_unknown_token_id() {
    let tok = smollm2();
    let n = tok.n_vocab() as u32;
    assert!(matches!(
        tok.token_to_piece(n),
        Err(Error::InvalidToken { id, n_vocab }) if id == n && n_vocab == n as usize
    ));
    assert!(matches!(
        tok.decode(&[0, u32::MAX]),
        Err(Error::InvalidToken { .. })
    ));
    assert_eq!(tok.token_text(n), None);
}

#[test]
fn tokenizer_gemma3_matches_refdata_tokenize() {
    check_tokenize_jsonl(gemma3(), "gemma3");
}

#[test]
fn tokenizer_gemma3_matches_ppl_ids() {
    check_ppl_ids(gemma3(), "gemma3");
}

#[test]
fn tokenizer_gemma3_matches_greedy_prompt_ids() {
    check_greedy_prompts(gemma3(), "gemma3");
}

#[test]
fn tokenizer_gemma3_add_bos_matches_refdata() {
    let tok = gemma3();
    for line in jsonl(&util::refdata_dir("gemma3").join("tokenize.jsonl")) {
        if let Some(add_bos) = line["add_bos"].as_bool() {
            assert_eq!(tok.add_bos(), add_bos);
        }
    }
}

#[test]
fn tokenizer_gemma3_decode_round_trips() {
    // Gemma 3 has byte-fallback tokens for every byte, so text survives a round trip.
    let tok = gemma3();
    for line in jsonl(&util::refdata_dir("gemma3").join("tokenize.jsonl")) {
        let text = line["text"].as_str().expect("text");
        for key in ["ids", "ids_no_special"] {
            let decoded = tok.decode(&ids_of(&line, key)).expect("decode");
            assert_eq!(decoded, text, "decode({key}) of {text:?}");
        }
    }
}

/// The SmolLM2 file's metadata with some keys replaced (`None` removes the key), rebuilt
/// as an in-memory GGUF.
fn smollm2_with(overrides: &[(&str, Option<gguf::Value>)]) -> Vec<u8> {
    let bytes = util::model_bytes(util::SMOLLM2_FILE);
    let file = GgufFile::parse(&bytes).expect("parse gguf");
    let mut w = GgufWriter::new();
    for (key, value) in file.metadata() {
        if overrides.iter().all(|(k, _)| k != key) {
            w.add(key, value.clone());
        }
    }
    for (key, value) in overrides {
        if let Some(v) = value {
            w.add(key, v.clone());
        }
    }
    w.to_bytes()
}

fn load_bytes(bytes: &[u8]) -> wasm_chord_core::Result<Tokenizer> {
    Tokenizer::from_gguf(&GgufFile::parse(bytes).expect("parse rebuilt gguf"))
}

fn strings(v: &[&str]) -> gguf::Value {
    gguf::Value::Array(gguf::Array::String(
        v.iter().map(|s| s.to_string()).collect(),
    ))
}

#[test]
fn tokenizer_rejects_unsupported_model() {
    let bytes = smollm2_with(&[(
        keys::TOKENIZER_MODEL,
        Some(gguf::Value::String("bert".into())),
    )]);
    assert!(matches!(
        load_bytes(&bytes),
        Err(Error::UnsupportedTokenizer(name)) if name == "bert"
    ));
}

#[test]
fn tokenizer_reports_missing_keys() {
    for key in [
        keys::TOKENIZER_MODEL,
        keys::TOKENIZER_TOKENS,
        keys::TOKENIZER_MERGES,
    ] {
        let bytes = smollm2_with(&[(key, None)]);
        assert!(
            matches!(load_bytes(&bytes), Err(Error::MissingKey(k)) if k == key),
            "without {key}"
        );
    }
}

#[test]
fn tokenizer_rejects_bad_vocabularies() {
    let cases = [
        vec![(keys::TOKENIZER_TOKENS, Some(strings(&["a", "b", "a"])))],
        vec![(keys::TOKENIZER_TOKENS, Some(strings(&[])))],
        // Fewer token types than tokens.
        vec![(
            keys::TOKENIZER_TOKEN_TYPE,
            Some(gguf::Value::Array(gguf::Array::I32(vec![1; 10]))),
        )],
        // BOS requested, but the BOS id is outside the vocabulary.
        vec![
            (keys::TOKENIZER_BOS_ID, None),
            (keys::TOKENIZER_ADD_BOS, Some(gguf::Value::Bool(true))),
            (keys::TOKENIZER_TOKENS, Some(strings(&["a", "b", "c"]))),
            (keys::TOKENIZER_TOKEN_TYPE, None),
        ],
    ];
    for overrides in cases {
        let bytes = smollm2_with(&overrides);
        let err = load_bytes(&bytes).err();
        assert!(
            matches!(err, Some(Error::BadTokenizer(_))),
            "{:?}: got {err:?}",
            overrides.iter().map(|(k, _)| k).collect::<Vec<_>>()
        );
    }
    let bytes = smollm2_with(&[(keys::TOKENIZER_SCORES, Some(strings(&["x"])))]);
    assert!(matches!(
        load_bytes(&bytes),
        Err(Error::WrongKeyType { .. })
    ));
}

#[test]
fn tokenizer_other_pre_tokenizers_load_and_round_trip() {
    // No llama.cpp reference for these on this vocabulary: they must load (unknown names fall
    // back to llama.cpp's default list) and byte-level BPE must stay lossless.
    let lines = jsonl(&util::refdata_dir("smollm2").join("tokenize.jsonl"));
    for pre in [
        Some("gpt-2"),
        Some("llama3"),
        Some("qwen2"),
        Some("default"),
        Some("no-such-pre"),
        None,
    ] {
        let bytes = smollm2_with(&[(
            keys::TOKENIZER_PRE,
            pre.map(|p| gguf::Value::String(p.into())),
        )]);
        let tok = load_bytes(&bytes).unwrap_or_else(|e| panic!("pre {pre:?}: {e}"));
        for line in &lines {
            let text = line["text"].as_str().unwrap();
            let ids = tok.encode(text, false);
            let mut bytes = Vec::new();
            for &id in &ids {
                bytes.extend(tok.token_to_piece(id).unwrap());
            }
            assert_eq!(String::from_utf8_lossy(&bytes), text, "pre {pre:?}");
        }
    }
}
