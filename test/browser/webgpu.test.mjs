// WebGPU in the browser: the demo's `vite build` (examples/web/dist) in Debian's chromium, whose
// WebGPU runs on SwiftShader (a software adapter, so only `gpu: true` takes it). The model runs
// in the package's worker on the one-thread wasm build, through wgpu's WebGPU backend and the
// same WGSL shaders as the native GPU path:
//   - `gpu: true` runs on WebGPU and follows llama.cpp's greedy tokens wherever the reference
//     decides by >= 1.0 logit (the GPU rules; SwiftShader takes ~10 s a token, so few tokens);
//   - `gpu: 'auto'` never takes a software adapter: the CPU, with the reason in gpuFallback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, startServer } from './harness.mjs';
import { decidedPrefix, modelPath, refdata } from '../node/models.mjs';

const repo = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dist = path.join(repo, 'examples', 'web', 'dist');
const smolBytes = fs.readFileSync(modelPath());
// The shortest prompt the reference decides by >= 1.0 logit for a few tokens.
const line = refdata('smollm2', 'greedy.jsonl')
  .filter((l) => decidedPrefix(l, 1.0) >= 3)
  .sort((a, b) => a.prompt.length - b.prompt.length)[0];
const decided = Math.min(decidedPrefix(line, 1.0), 4);

let server;
let browser;
let page;

before(async () => {
  assert.ok(fs.existsSync(path.join(dist, 'index.html')), `${dist} is missing: run \`npx vite build\` in examples/web`);
  server = await startServer({
    root: dist,
    handler: (req, res) => {
      if (req.url !== '/models/smol.gguf') return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': smolBytes.length });
      res.end(smolBytes);
      return true;
    },
  });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(server.url('/index.html'));
  await page.waitForFunction(() => window.wasmChord);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('gpu_true_runs_on_webgpu_in_the_worker_and_follows_llama_cpp', { timeout: 300_000 }, async () => {
  const got = await page.evaluate(
    async ({ prompt, n }) => {
      const model = await wasmChord.loadModel('/models/smol.gguf', { gpu: true, cache: false });
      const ids = [];
      for await (const c of model.generate(prompt, { temperature: 0, maxTokens: n })) if (c.token !== undefined) ids.push(c.token);
      const info = model.info;
      model.dispose();
      return { ids, info };
    },
    { prompt: line.prompt, n: decided },
  );
  assert.equal(got.info.backend, 'gpu');
  assert.equal(got.info.gpu.api, 'webgpu');
  assert.ok(got.info.gpu.adapter, 'the adapter is named');
  assert.equal(got.info.gpu.deviceType, 'cpu', 'SwiftShader is a software adapter');
  assert.equal(got.info.threads, 1, 'WebGPU runs in the one-thread build');
  console.log(`# ${JSON.stringify(line.prompt)}: ${got.ids.join(',')} (reference ${line.generated_ids.slice(0, decided).join(',')})`);
  assert.deepEqual(got.ids, line.generated_ids.slice(0, decided));
});

test('gpu_auto_skips_a_software_adapter_and_says_why', async () => {
  const got = await page.evaluate(async () => {
    const model = await wasmChord.loadModel('/models/smol.gguf', { gpu: 'auto', cache: false });
    const ids = [];
    for await (const c of model.generate('Hello', { temperature: 0, maxTokens: 2 })) ids.push(c.token);
    const info = model.info;
    model.dispose();
    return { ids, info };
  });
  assert.equal(got.info.backend, 'cpu');
  assert.match(got.info.gpuFallback, /^ERR_GPU_UNAVAILABLE: .*software/);
  assert.equal(got.ids.length, 2);
});
