#!/usr/bin/env node
// `npm run bench [-- --model <file.gguf>] [--threads 2] [--runs 3] [--prompt-tokens 256]
//  [--gen-tokens 128] [--json]`
//
// wasm-chord against llama.cpp (node-llama-cpp's CPU prebuilt) on the same file and thread count.
// The engines alternate, each run in a fresh process (so peak RSS is per engine); medians are
// reported, with the ratio ours/theirs. This is a benchmark, not a test: two threads on two
// shared cores are noisy, so read the medians, not single runs.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const models = process.env.WASM_CHORD_MODELS ?? join(homedir(), '.cache/wasm-chord/models');
const modelPath = opt('model', join(models, 'SmolLM2-135M-Instruct.Q4_1.gguf'));
const threads = Number(opt('threads', '2'));
const runs = Number(opt('runs', '3'));
const nPrompt = Number(opt('prompt-tokens', '256'));
const nGen = Number(opt('gen-tokens', '128'));
const json = args.includes('--json');
const log = json ? (...a) => console.error(...a) : (...a) => console.log(...a);

if (!existsSync(modelPath)) {
  console.error(`${modelPath} is missing: run \`npm run fetch-models\` first`);
  process.exit(1);
}
if (!existsSync(join(here, 'node_modules/node-llama-cpp'))) {
  log('installing node-llama-cpp into bench/ (first run only; ~650 MB)...');
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: ['ignore', 'inherit', 'inherit'] });
}

function once(engine) {
  const r = spawnSync(process.execPath, [join(here, 'engines.mjs'), engine, modelPath, String(threads), String(nPrompt), String(nGen)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) throw new Error(`${engine} run failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(line);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const samples = { ours: [], 'llama.cpp': [] };
for (let i = 0; i < runs; i++) {
  for (const engine of i % 2 === 0 ? ['ours', 'llama.cpp'] : ['llama.cpp', 'ours']) {
    const s = once(engine);
    samples[engine].push(s);
    log(`run ${i + 1}/${runs} ${engine.padEnd(9)} load ${s.load_ms.toFixed(0)} ms, prefill ${s.prefill_tps.toFixed(1)} tok/s, decode ${s.decode_tps.toFixed(1)} tok/s, rss ${s.rss_mb.toFixed(0)} MB`);
  }
}

const model = modelPath.split('/').pop();
const results = Object.entries(samples).map(([engine, xs]) => ({
  engine,
  model,
  threads,
  load_ms: +median(xs.map((s) => s.load_ms)).toFixed(1),
  prefill_tps: +median(xs.map((s) => s.prefill_tps)).toFixed(1),
  decode_tps: +median(xs.map((s) => s.decode_tps)).toFixed(1),
  rss_mb: +median(xs.map((s) => s.rss_mb)).toFixed(1),
}));
const [ours, theirs] = results;
const ratios = {
  decode: +(ours.decode_tps / theirs.decode_tps).toFixed(3),
  prefill: +(ours.prefill_tps / theirs.prefill_tps).toFixed(3),
};

log(`\n${model}, ${threads} threads, prompt ${nPrompt} tokens, ${nGen} generated, median of ${runs} runs`);
log('| engine    | load ms | prefill tok/s | decode tok/s | peak RSS MB |');
log('|-----------|--------:|--------------:|-------------:|------------:|');
for (const r of results) {
  log(`| ${r.engine.padEnd(9)} | ${String(r.load_ms).padStart(7)} | ${String(r.prefill_tps).padStart(13)} | ${String(r.decode_tps).padStart(12)} | ${String(r.rss_mb).padStart(11)} |`);
}
log(`ratio ours/llama.cpp: decode ${ratios.decode}, prefill ${ratios.prefill}`);
if (json) console.log(JSON.stringify({ results, ratios }));
