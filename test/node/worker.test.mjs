// The addon loads and generates inside worker_threads (one napi env per thread), giving the
// same tokens as the main thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { loadModel } from '../../js/index.js';
import { collectIds, modelPath } from './models.mjs';

const workerSource = `
  import { parentPort, workerData } from 'node:worker_threads';
  const { loadModel } = await import(workerData.api);
  const model = await loadModel(workerData.model);
  const ids = [];
  for await (const c of model.generate(workerData.prompt, { temperature: 0, maxTokens: 8 })) {
    if (c.token !== undefined) ids.push(c.token);
  }
  model.dispose();
  parentPort.postMessage(ids);
`;

function runWorker(prompt) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(workerSource)}`), {
      workerData: {
        api: new URL('../../js/index.js', import.meta.url).href,
        model: modelPath(),
        prompt,
      },
    });
    let result;
    w.once('message', (m) => (result = m));
    w.once('error', reject);
    w.once('exit', (c) => (c === 0 ? resolve(result) : reject(new Error(`worker exit ${c}`))));
  });
}

test('worker_threads_generate_the_same_tokens_as_the_main_thread', async () => {
  const prompt = 'The capital of France is';
  const model = await loadModel(modelPath());
  const { ids } = await collectIds(model.generate(prompt, { temperature: 0, maxTokens: 8 }));
  model.dispose();
  const [a, b] = await Promise.all([runWorker(prompt), runWorker(prompt)]);
  assert.deepEqual(a, ids);
  assert.deepEqual(b, ids);
});
