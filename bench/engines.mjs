// Informational rows of `npm run bench -- --node` (not in the ratio): one run of our Node addon or of
// node-llama-cpp, each driven token by token from JS, in its own process so its peak RSS is its own.
// Prefill is timed to the first generated token; decode continues after the prompt.
// argv: <engine: ours|llama.cpp> <model path> <threads> <prompt tokens> <gen tokens>
// Prints one JSON line: {engine, load_ms, prefill_tps, decode_tps, n_prompt, n_decoded, rss_mb}.
import { performance } from 'node:perf_hooks';

const [engine, modelPath, threadsArg, promptArg, genArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const nPrompt = Number(promptArg);
const nGen = Number(genArg);

/** The same ordinary text for both engines, cut to `nPrompt` tokens by each tokenizer. */
const TEXT = 'The history of science is the study of the development of science and scientific knowledge, '
  + 'including both the natural and social sciences. Science is a body of empirical, theoretical, and practical '
  + 'knowledge about the natural world, produced by scientists who emphasize the observation, explanation, and '
  + 'prediction of real-world phenomena. ';

function promptTokens(tokenize) {
  let text = TEXT;
  while (tokenize(text).length < nPrompt) text += TEXT;
  return tokenize(text).slice(0, nPrompt);
}

function peakRssMb() {
  return process.resourceUsage().maxRSS / 1024;
}

async function runOurs() {
  const { loadModel } = await import('../js/index.js');
  let t = performance.now();
  const model = await loadModel(modelPath, { threads, contextSize: nPrompt + nGen + 8 });
  const loadMs = performance.now() - t;
  const ids = promptTokens((s) => model.tokenize(s));
  const prompt = model.detokenize(ids);
  t = performance.now();
  let first = 0;
  let n = 0;
  for await (const chunk of model.generate(prompt, { maxTokens: nGen, temperature: 0 })) {
    if (chunk.token === undefined) continue;
    if (n === 0) first = performance.now();
    n++;
  }
  const end = performance.now();
  model.dispose();
  return { load_ms: loadMs, prefill_tps: nPrompt / ((first - t) / 1000), decode_tps: (n - 1) / ((end - first) / 1000), n_decoded: n - 1 };
}

async function runLlamaCpp() {
  const { getLlama } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false });
  let t = performance.now();
  const model = await llama.loadModel({ modelPath });
  const ctx = await model.createContext({ contextSize: nPrompt + nGen + 8, threads, batchSize: 512 });
  const loadMs = performance.now() - t;
  const seq = ctx.getSequence();
  const ids = promptTokens((s) => model.tokenize(s));
  t = performance.now();
  const out = await seq.controlledEvaluate(ids.map((id, i) => (i === ids.length - 1 ? [id, { generateNext: { token: true } }] : id)));
  let token = out[ids.length - 1].next.token;
  const first = performance.now();
  let n = 0;
  for (; n < nGen - 1; n++) {
    const o = await seq.controlledEvaluate([[token, { generateNext: { token: true } }]]);
    token = o[0].next.token;
  }
  const end = performance.now();
  await ctx.dispose();
  await model.dispose();
  return { load_ms: loadMs, prefill_tps: nPrompt / ((first - t) / 1000), decode_tps: n / ((end - first) / 1000), n_decoded: n };
}

const result = engine === 'ours' ? await runOurs() : await runLlamaCpp();
console.log(JSON.stringify({ engine, n_prompt: nPrompt, ...result, rss_mb: peakRssMb() }));
process.exit(0);
