// How closely the browser module's greedy continuations follow llama.cpp's: runs the prompts of
// ../shared/refdata/<model>/greedy.jsonl through the wasm build (js/browser/wasm/ unless
// --wasm-dir) in Node and prints, per prompt, the common prefix with llama.cpp's tokens (the
// same informative "free-running" figure the native conformance runner prints as
// greedy_prefix). Near-tie tokens follow the summation order: see core/src/quant/simd128.rs.
//   node wasm/examples/greedy-check.mjs [--wasm-dir DIR] [--model FILE] [--refdata DIR]
import { readFileSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const wasmDir = path.resolve(arg('wasm-dir', path.join(root, 'js', 'browser', 'wasm')));
const shared = process.env.WASM_CHORD_SHARED ?? path.join(root, '..', 'shared');
const refdata = arg('refdata', path.join(shared, 'refdata', 'smollm2'));
const model = arg(
  'model',
  path.join(process.env.WASM_CHORD_MODELS ?? path.join(os.homedir(), '.cache', 'wasm-chord', 'models'), 'SmolLM2-135M-Instruct.Q4_1.gguf'),
);

globalThis.__wasmChordPanic = (m) => console.error(`panic: ${m}`);
const glue = await import(pathToFileURL(path.join(wasmDir, 'wasm_chord.js')).href);
await glue.default({ module_or_path: readFileSync(path.join(wasmDir, 'wasm_chord_bg.wasm')) });
glue.installPanicHook();

const fd = openSync(model, 'r');
const size = fstatSync(fd).size;
const loader = new glue.WasmLoader(size);
const buf = Buffer.alloc(16 << 20);
for (let off = 0; off < size; ) {
  const n = readSync(fd, buf, 0, buf.length, off);
  loader.write(buf.subarray(0, n));
  off += n;
}
closeSync(fd);
const m = loader.finish(1, 0, 'false');

const lines = readFileSync(path.join(refdata, 'greedy.jsonl'), 'utf8').split('\n').filter(Boolean);
let sum = 0;
for (const line of lines) {
  const ref = JSON.parse(line);
  const opts = { maxTokens: ref.generated_ids.length, temperature: 0, repeatPenalty: 1, special: true };
  const g = m.generate(ref.prompt, JSON.stringify(opts));
  const ids = [];
  for (let c; (c = g.step()); ) if (c.token !== undefined) ids.push(c.token);
  g.close();
  let k = 0;
  while (k < ids.length && k < ref.generated_ids.length && ids[k] === ref.generated_ids[k]) k++;
  sum += k;
  console.log(`${String(k).padStart(3)}/${ref.generated_ids.length}  ${JSON.stringify(ref.prompt.slice(0, 50))}`);
}
console.log(`kernels ${glue.cpuKernels()}: mean common prefix with llama.cpp ${(sum / lines.length).toFixed(4)} tokens over ${lines.length} prompts`);
