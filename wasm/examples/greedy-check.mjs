// How closely the browser module's greedy continuations follow llama.cpp's: runs the prompts of
// ../shared/refdata/<model>/greedy.jsonl through the wasm build (js/browser/wasm/ unless
// --wasm-dir) in Node and prints, per prompt, the common prefix with llama.cpp's tokens (the
// same informative "free-running" figure the native conformance runner prints as
// greedy_prefix). Near-tie tokens follow the summation order: see core/src/quant/simd128.rs.
//   node wasm/examples/greedy-check.mjs [--wasm-dir DIR] [--model FILE] [--refdata DIR]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { arg, loadWasmModel, root } from './wasm-node.mjs';

const shared = process.env.WASM_CHORD_SHARED ?? path.join(root, '..', 'shared');
const refdata = arg('refdata', path.join(shared, 'refdata', 'smollm2'));
const { glue, model: m } = await loadWasmModel();

const lines = readFileSync(path.join(refdata, 'greedy.jsonl'), 'utf8').split('\n').filter(Boolean);
let sum = 0;
for (const line of lines) {
  const ref = JSON.parse(line);
  const opts = { maxTokens: ref.generated_ids.length, temperature: 0, repeatPenalty: 1, special: true };
  const g = m.generate(ref.prompt, JSON.stringify(opts));
  const ids = [];
  for (let c; (c = await g.step()); ) if (c.token !== undefined) ids.push(c.token);
  g.close();
  let k = 0;
  while (k < ids.length && k < ref.generated_ids.length && ids[k] === ref.generated_ids[k]) k++;
  sum += k;
  console.log(`${String(k).padStart(3)}/${ref.generated_ids.length}  ${JSON.stringify(ref.prompt.slice(0, 50))}`);
}
console.log(`kernels ${glue.cpuKernels()}: mean common prefix with llama.cpp ${(sum / lines.length).toFixed(4)} tokens over ${lines.length} prompts`);
