// Failures reach JS as WasmChordError with a stable `code`; dispose is idempotent and later
// use fails with ERR_MODEL_DISPOSED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, readSync, closeSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, WasmChordError } from '../../js/index.js';
import { modelPath } from './models.mjs';

let dir;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The first `n` bytes of the SmolLM2 file. */
function head(n) {
  const fd = openSync(modelPath(), 'r');
  try {
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 0);
    return buf;
  } finally {
    closeSync(fd);
  }
}

const code = (c) => (e) => {
  assert.ok(e instanceof WasmChordError, `${e?.name}: ${e?.message}`);
  assert.equal(e.code, c, e.message);
  return true;
};

test('load_missing_file_is_err_file_not_found', async () => {
  await assert.rejects(loadModel(path.join(dir, 'nope.gguf')), code('ERR_FILE_NOT_FOUND'));
});

test('load_non_gguf_is_err_gguf_bad_magic', async () => {
  const p = path.join(dir, 'not-a-model.gguf');
  writeFileSync(p, '{"this": "is json, not GGUF"}\n');
  await assert.rejects(loadModel(p), code('ERR_GGUF_BAD_MAGIC'));
  await assert.rejects(loadModel(new TextEncoder().encode('hello')), code('ERR_GGUF_BAD_MAGIC'));
});

test('load_empty_file_is_err_gguf_bad_magic', async () => {
  const p = path.join(dir, 'empty.gguf');
  writeFileSync(p, '');
  await assert.rejects(loadModel(p), code('ERR_GGUF_BAD_MAGIC'));
});

test('load_truncated_gguf_is_err_gguf_truncated', async () => {
  // 64 KiB ends inside the metadata (the tokenizer's token list).
  const bytes = head(64 * 1024);
  const p = path.join(dir, 'truncated.gguf');
  writeFileSync(p, bytes);
  await assert.rejects(loadModel(p), code('ERR_GGUF_TRUNCATED'));
  await assert.rejects(loadModel(bytes), code('ERR_GGUF_TRUNCATED'));
});

test('load_rejects_bad_options_with_err_invalid_argument', async () => {
  await assert.rejects(loadModel(modelPath(), { contextSize: 0 }), code('ERR_INVALID_ARGUMENT'));
  await assert.rejects(loadModel(modelPath(), { threads: -1 }), code('ERR_INVALID_ARGUMENT'));
  await assert.rejects(loadModel(42), code('ERR_INVALID_ARGUMENT'));
});

test('load_with_aborted_signal_rejects_with_abort_error', async () => {
  await assert.rejects(loadModel(modelPath(), { signal: AbortSignal.abort() }), {
    name: 'AbortError',
  });
});

test('load_reports_progress_from_zero_to_file_size', async () => {
  const seen = [];
  const m = await loadModel(modelPath(), { onProgress: (p) => seen.push(p) });
  m.dispose();
  assert.equal(seen.length, 2);
  assert.equal(seen[0].loaded, 0);
  assert.ok(seen[1].total > 90e6);
  assert.equal(seen[1].loaded, seen[1].total);
});

test('generate_prompt_longer_than_context_is_err_context_overflow', async () => {
  const m = await loadModel(modelPath(), { contextSize: 4 });
  try {
    assert.equal(m.info.contextSize, 4);
    // "The capital of France is" is 5 tokens (refdata).
    assert.equal(m.tokenize('The capital of France is').length, 5);
    const stream = m.generate('The capital of France is', { maxTokens: 4 });
    await assert.rejects(stream.next(), code('ERR_CONTEXT_OVERFLOW'));
  } finally {
    m.dispose();
  }
});

test('generate_bad_sampler_values_are_err_invalid_argument', async () => {
  const m = await loadModel(modelPath());
  try {
    await assert.rejects(m.generate('Hi', { topP: 2 }).next(), code('ERR_INVALID_ARGUMENT'));
    await assert.rejects(m.generate('Hi', { maxTokens: -1 }).next(), code('ERR_INVALID_ARGUMENT'));
    await assert.rejects(m.generate('Hi', { seed: 1.5 }).next(), code('ERR_INVALID_ARGUMENT'));
    assert.throws(() => m.detokenize([1e9]), code('ERR_INVALID_TOKEN'));
  } finally {
    m.dispose();
  }
});

test('dispose_twice_is_ok_and_later_use_is_err_model_disposed', async () => {
  const m = await loadModel(modelPath());
  const live = m.generate('Once upon a time', { maxTokens: 0 });
  assert.ok((await live.next()).value.token >= 0);
  m.dispose();
  m.dispose();
  assert.equal(m.disposed, true);
  // A generation running at dispose time fails, as does every later call.
  await assert.rejects(live.next(), code('ERR_MODEL_DISPOSED'));
  assert.throws(() => m.tokenize('hello'), code('ERR_MODEL_DISPOSED'));
  assert.throws(() => m.detokenize([1]), code('ERR_MODEL_DISPOSED'));
  assert.throws(() => m.applyChatTemplate([{ role: 'user', content: 'x' }]), code('ERR_MODEL_DISPOSED'));
  await assert.rejects(m.generate('hello').next(), code('ERR_MODEL_DISPOSED'));
  await assert.rejects(m.chat([{ role: 'user', content: 'x' }]).next(), code('ERR_MODEL_DISPOSED'));
  assert.equal(m.info.arch, 'llama');
});
