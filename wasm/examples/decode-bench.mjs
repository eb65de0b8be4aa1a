// Single-thread decode speed of the browser module, in Node: loads a GGUF into the wasm build
// (`node scripts/build-wasm.mjs` writes js/browser/wasm/), prefills a short prompt, then times
// greedy `step()`s. A benchmark, not a test.
//   node wasm/examples/decode-bench.mjs [--wasm-dir DIR] [--model FILE] [--tokens N] [--runs R]
// Prints prefill and decode tok/s per run, wall clock and per second of this process's CPU
// time (what a busy machine's other processes do not steal), and the medians.
import { arg, loadWasmModel } from './wasm-node.mjs';

const nTokens = Number(arg('tokens', '64'));
const runs = Number(arg('runs', '3'));
const prompt = arg('prompt', 'The history of the printing press begins');
const { glue, model: m, wasmDir } = await loadWasmModel();
console.log(`kernels: ${glue.cpuKernels()}  module: ${wasmDir}`);

const decode = [];
const decodeCpu = [];
const cpuMs = () => process.cpuUsage().user / 1e3;
for (let r = 0; r < runs; r++) {
  const g = m.generate(prompt, JSON.stringify({ maxTokens: nTokens + 1, temperature: 0 }));
  let t0 = performance.now();
  await g.step(); // prefill + first token
  const prefillMs = performance.now() - t0;
  const nPrompt = g.promptTokens;
  t0 = performance.now();
  const c0 = cpuMs();
  let n = 0;
  let text = '';
  for (let c; n < nTokens && (c = await g.step()); ) {
    if (c.token !== undefined) n++;
    text += c.text;
  }
  const ms = performance.now() - t0;
  const cms = cpuMs() - c0;
  g.close();
  decode.push((n / ms) * 1000);
  decodeCpu.push((n / cms) * 1000);
  console.log(
    `run ${r + 1}: prefill ${nPrompt} tok ${((nPrompt / prefillMs) * 1000).toFixed(1)} tok/s, ` +
      `decode ${n} tok ${decode.at(-1).toFixed(2)} tok/s (${decodeCpu.at(-1).toFixed(2)} per CPU s)` +
      (r === 0 ? `  ${JSON.stringify(text.slice(0, 60))}` : ''),
  );
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)].toFixed(2);
const best = (v) => Math.max(...v).toFixed(2);
console.log(
  `decode: median ${median(decode)} tok/s wall (${median(decodeCpu)} per CPU s), ` +
    `best ${best(decode)} (${best(decodeCpu)} per CPU s)`,
);
