// Streaming generation through the public API against llama.cpp's greedy runs, plus the
// stream's lifecycle: break, abort, the event loop staying free, concurrent generations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../js/index.js';
import { GEMMA3, collectIds, decidedPrefix, greedy, modelPath, refdata } from './models.mjs';

let model;
const ref = refdata('smollm2', 'greedy.jsonl');
const france = ref.find((l) => l.prompt === 'The capital of France is');

before(async () => {
  model = await loadModel(modelPath());
});
after(() => model?.dispose());

test('generate_greedy_matches_llama_cpp_up_to_first_near_tie', async () => {
  assert.ok(france, 'refdata line for "The capital of France is"');
  const cut = decidedPrefix(france);
  assert.ok(cut >= 5, `the reference decides ${cut} tokens`);
  const { ids, text } = await collectIds(
    model.generate(france.prompt, { ...greedy, maxTokens: france.n_predict }),
  );
  assert.deepEqual(ids.slice(0, cut), france.generated_ids.slice(0, cut));
  // The streamed text is the detokenized stream.
  assert.equal(text, model.detokenize(ids));
  assert.ok(text.startsWith(model.detokenize(france.generated_ids.slice(0, cut))));
});

test('generate_prompt_tokens_match_llama_cpp', () => {
  for (const line of ref) {
    assert.deepEqual(model.tokenize(line.prompt), line.prompt_ids, line.prompt);
  }
});

test('generate_every_raw_prompt_matches_up_to_first_near_tie', async () => {
  for (const line of ref.slice(1, 4)) {
    const cut = decidedPrefix(line);
    const { ids } = await collectIds(
      model.generate(line.prompt, { ...greedy, maxTokens: Math.max(cut, 1) }),
    );
    assert.deepEqual(ids.slice(0, cut), line.generated_ids.slice(0, cut), line.prompt);
  }
});

test('generate_break_frees_and_next_generation_works', async () => {
  const stream = model.generate(france.prompt, { ...greedy, maxTokens: 32 });
  const first = [];
  for await (const c of stream) {
    first.push(c.token);
    if (first.length === 3) break;
  }
  assert.equal(first.length, 3);
  // After break the stream is done.
  assert.deepEqual(await stream.next(), { done: true, value: undefined });
  const { ids } = await collectIds(model.generate(france.prompt, { ...greedy, maxTokens: 6 }));
  assert.deepEqual(ids.slice(0, 3), first);
  assert.equal(ids.length, 6);
});

test('generate_abort_signal_rejects_with_abort_error_mid_generation', async () => {
  const ac = new AbortController();
  const seen = [];
  await assert.rejects(
    (async () => {
      for await (const c of model.generate('Once upon a time', {
        maxTokens: 0,
        signal: ac.signal,
      })) {
        seen.push(c);
        if (seen.length === 4) ac.abort();
      }
    })(),
    (e) => e.name === 'AbortError' && e.code === 'ABORT_ERR',
  );
  assert.equal(seen.length, 4);
});

test('generate_abort_while_a_step_is_in_flight_rejects_at_once', async () => {
  const ac = new AbortController();
  // A long prompt makes the first step (prefill) slow.
  const prompt = 'The quick brown fox jumps over the lazy dog. '.repeat(60);
  const stream = model.generate(prompt, { ...greedy, maxTokens: 8, signal: ac.signal });
  const pending = stream.next();
  const t0 = performance.now();
  setTimeout(() => ac.abort(new Error('stop')), 5);
  await assert.rejects(pending, { name: 'AbortError' });
  assert.ok(performance.now() - t0 < 1000);
  await assert.rejects(stream.next(), { name: 'AbortError' });
});

test('generate_with_already_aborted_signal_rejects', async () => {
  const stream = model.generate('Hello', { signal: AbortSignal.abort() });
  await assert.rejects(stream.next(), { name: 'AbortError' });
});

test('generate_keeps_the_event_loop_free', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const { ids } = await collectIds(
      model.generate('Once upon a time, there was a little', { ...greedy, maxTokens: 64 }),
    );
    assert.equal(ids.length, 64);
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 0, `interval ticked ${ticks} times during generation`);
});

test('generate_eight_concurrent_equal_sequential', async () => {
  const prompts = ref.slice(0, 8).map((l) => l.prompt);
  assert.equal(prompts.length, 8);
  const opts = { ...greedy, maxTokens: 12 };
  const sequential = [];
  for (const p of prompts) sequential.push((await collectIds(model.generate(p, opts))).ids);
  const concurrent = await Promise.all(
    prompts.map(async (p) => (await collectIds(model.generate(p, opts))).ids),
  );
  assert.deepEqual(concurrent, sequential);
});

test('generate_sampling_is_reproducible_by_seed', async () => {
  const opts = { temperature: 0.9, topK: 40, topP: 0.95, seed: 1234, maxTokens: 16 };
  const a = await collectIds(model.generate('Hello', opts));
  const b = await collectIds(model.generate('Hello', opts));
  assert.deepEqual(a.ids, b.ids);
});

test('generate_stop_string_ends_before_it', async () => {
  const stream = model.generate(france.prompt, { ...greedy, maxTokens: 32, stop: ['\n'] });
  const text = await stream.text();
  // The reference continues " Paris." then "\n" (ids 7042, 30, 198).
  assert.deepEqual(france.generated_ids.slice(0, 3), [7042, 30, 198]);
  assert.equal(text, model.detokenize(france.generated_ids.slice(0, 2)));
  assert.equal(stream.finishReason, 'stop');
});

test('chat_renders_the_gguf_template_and_ends_by_itself', async () => {
  const messages = [{ role: 'user', content: 'Say hi.' }];
  const rendered = model.applyChatTemplate(messages);
  assert.ok(rendered.includes('<|im_start|>user\nSay hi.<|im_end|>\n'), rendered);
  assert.ok(rendered.endsWith('<|im_start|>assistant\n'), rendered);
  const stream = model.chat(messages, { ...greedy, maxTokens: 64 });
  const chat = await collectIds(stream);
  assert.equal(stream.finishReason, 'stop');
  assert.ok(!chat.text.includes('<|im_end|>'));
  // chat() is the rendered template with control tokens parsed.
  const raw = await collectIds(model.generate(rendered, { ...greedy, maxTokens: 64, special: true }));
  assert.deepEqual(chat.ids, raw.ids);
});

test('tokenize_matches_llama_cpp_with_and_without_special', () => {
  for (const line of refdata('smollm2', 'tokenize.jsonl')) {
    assert.deepEqual(model.tokenize(line.text, { special: true }), line.ids, line.text);
    assert.deepEqual(model.tokenize(line.text), line.ids_no_special, line.text);
  }
});

test('model_info_matches_the_file', () => {
  const i = model.info;
  assert.equal(i.arch, 'llama');
  assert.equal(i.fileType, 'Q4_1');
  assert.equal(i.layerCount, 30);
  assert.equal(i.embeddingLength, 576);
  assert.equal(i.headCount, 9);
  assert.equal(i.headCountKv, 3);
  assert.equal(i.vocabSize, 49152);
  assert.equal(i.contextLength, 8192);
});

test('generate_gemma3_adds_bos_and_matches_llama_cpp_up_to_first_near_tie', async () => {
  const g = await loadModel(modelPath(GEMMA3));
  try {
    assert.equal(g.info.arch, 'gemma3');
    assert.equal(g.info.fileType, 'Q4_K_M');
    for (const line of refdata('gemma3', 'greedy.jsonl').slice(0, 2)) {
      // prompt_ids include the BOS the model adds for generation; tokenize() never does.
      assert.deepEqual(g.tokenize(line.prompt), line.prompt_ids.slice(1), line.prompt);
      const cut = decidedPrefix(line);
      const { ids } = await collectIds(
        g.generate(line.prompt, { ...greedy, maxTokens: Math.max(cut, 1) }),
      );
      assert.deepEqual(ids.slice(0, cut), line.generated_ids.slice(0, cut), line.prompt);
    }
  } finally {
    g.dispose();
  }
});
