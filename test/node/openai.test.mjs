// createChatCompletion: the OpenAI Chat Completions shapes over chat(). Greedy content equals
// chat()'s text; streamed deltas add up to the same; usage counts the template's prompt tokens.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../js/index.js';
import { modelPath } from './models.mjs';

const model = await loadModel(modelPath());
after(() => model.dispose());

const messages = [{ role: 'user', content: 'What is the capital of France?' }];
const request = { messages, max_tokens: 12, temperature: 0 };

async function chatText() {
  let text = '';
  let n = 0;
  for await (const c of model.chat(messages, { maxTokens: 12, temperature: 0 })) {
    text += c.text;
    if (c.token !== undefined) n++;
  }
  return { text, n };
}

test('openai_completion_matches_chat_and_counts_usage', async () => {
  const want = await chatText();
  const res = await model.createChatCompletion(request);
  assert.equal(res.object, 'chat.completion');
  assert.match(res.id, /^chatcmpl-/);
  assert.equal(res.choices[0].message.role, 'assistant');
  assert.equal(res.choices[0].message.content, want.text);
  assert.ok(['stop', 'length'].includes(res.choices[0].finish_reason));
  const prompt = model.tokenize(model.applyChatTemplate(messages), { special: true }).length;
  assert.deepEqual(res.usage, { prompt_tokens: prompt, completion_tokens: want.n, total_tokens: prompt + want.n });
});

test('openai_stream_deltas_add_up_to_the_completion', async () => {
  const want = await chatText();
  const chunks = [];
  for await (const c of model.createChatCompletion({ ...request, stream: true })) chunks.push(c);
  assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id));
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  const last = chunks.at(-1).choices[0];
  assert.ok(['stop', 'length'].includes(last.finish_reason));
  assert.ok(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null));
  assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), want.text);
});

test('openai_rejects_a_request_without_messages', () => {
  assert.throws(() => model.createChatCompletion({}), (e) => e.code === 'ERR_INVALID_ARGUMENT');
});
