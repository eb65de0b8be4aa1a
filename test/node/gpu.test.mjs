// The `gpu` load option through the Node addon, on whatever adapter the machine has (lavapipe
// in CI, from mesa-vulkan-drivers): `true` runs on it and follows llama.cpp's greedy tokens up
// to the first near-tie, as the CPU does; `'auto'` skips software adapters and says why it
// fell back; bad values are typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '../../js/index.js';
import { collectIds, decidedPrefix, greedy, modelPath, refdata } from './models.mjs';

// The three prompts the reference decides longest by >= 1.0 logit (lavapipe is slow).
const ref = refdata('smollm2', 'greedy.jsonl')
  .sort((a, b) => decidedPrefix(b, 1.0) - decidedPrefix(a, 1.0))
  .slice(0, 3);

test('gpu_true_runs_on_the_gpu_and_follows_llama_cpp', async () => {
  const model = await loadModel(modelPath(), { gpu: true });
  try {
    assert.equal(model.info.backend, 'gpu');
    assert.ok(model.info.gpu?.adapter, 'the adapter is named');
    assert.match(model.info.gpu.api, /^(vulkan|metal|dx12|gl)$/);
    // The GPU's arithmetic differs from llama.cpp's CPU kernels, so free-running tokens are
    // compared up to the first position the reference decides by less than 1.0 logit (the
    // GPU conformance rules: every position with margin >= 1.0 agrees).
    let compared = 0;
    for (const line of ref) {
      const cut = decidedPrefix(line, 1.0);
      const { ids } = await collectIds(model.generate(line.prompt, { ...greedy, maxTokens: Math.max(cut, 1) }));
      assert.deepEqual(ids.slice(0, cut), line.generated_ids.slice(0, cut), line.prompt);
      compared += cut;
    }
    assert.ok(compared >= 8, `only ${compared} decided tokens compared`);
  } finally {
    model.dispose();
  }
});

test('gpu_auto_falls_back_to_the_cpu_and_says_why', async () => {
  const model = await loadModel(modelPath(), { gpu: 'auto' });
  try {
    if (model.info.backend === 'gpu') {
      assert.notEqual(model.info.gpu.deviceType, 'cpu', "'auto' never picks a software adapter");
    } else {
      assert.equal(model.info.gpu, undefined);
      assert.match(model.info.gpuFallback, /^ERR_GPU_/);
    }
  } finally {
    model.dispose();
  }
});

test('gpu_false_is_the_cpu_and_bad_values_are_typed_errors', async () => {
  const model = await loadModel(modelPath(), { gpu: false });
  assert.equal(model.info.backend, 'cpu');
  assert.equal(model.info.gpuFallback, undefined);
  model.dispose();
  for (const gpu of ['yes', 1, {}]) {
    await assert.rejects(loadModel(modelPath(), { gpu }), { code: 'ERR_INVALID_ARGUMENT' });
  }
});
