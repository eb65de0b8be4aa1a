// CommonJS consumers (VS Code extensions, Electron main processes built as CJS) `require` the
// package: the ESM build has no top-level await, so Node's require(esm) (>= 20.19, >= 22.12)
// loads it synchronously. Same tokens as the ESM import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../js/index.js';
import { collectIds, modelPath } from './models.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('cjs_require_of_the_package_generates_like_esm', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-cjs-'));
  const script = path.join(dir, 'use.cjs');
  writeFileSync(script, `
    const { loadModel, WasmChordError, AbortError } = require(${JSON.stringify(repo)});
    if (typeof WasmChordError !== 'function' || typeof AbortError !== 'function') throw new Error('classes missing');
    loadModel(${JSON.stringify(modelPath())}).then(async (model) => {
      const ids = [];
      for await (const c of model.generate('The capital of France is', { temperature: 0, maxTokens: 6 })) {
        if (c.token !== undefined) ids.push(c.token);
      }
      model.dispose();
      console.log(JSON.stringify(ids));
    });
  `);
  const out = execFileSync(process.execPath, [script], { encoding: 'utf8' });
  const viaRequire = JSON.parse(out.trim().split('\n').pop());
  const model = await loadModel(modelPath());
  const viaImport = (await collectIds(model.generate('The capital of France is', { temperature: 0, maxTokens: 6 }))).ids;
  model.dispose();
  assert.equal(viaRequire.length, 6);
  assert.deepEqual(viaRequire, viaImport);
});
