#!/usr/bin/env node
// `npm run bench [-- --model <file.gguf>] [--threads 2 | 1,2] [--runs 3] [--prompt-tokens 256]
//  [--gen-tokens 128] [--node] [--json]`
//
// wasm-chord's core against llama.cpp's own `llama-bench`, on the same file and thread count,
// measured the same way: a warm-up, then prefill of one `--prompt-tokens` batch (pp256) and
// `--gen-tokens` single-token decode steps from an empty context (tg128).
// - ours: core/examples/bench.rs (`cargo build --release`), one process per run, `--runs 1`;
// - llama.cpp: llama-bench built once into a cache outside the repo (bench/llama-bench.mjs),
//   one process per run, `-r 1 -o json`, its `avg_ts` per test.
// The engines alternate run by run (and the order flips every run); the figures are medians over
// `--runs` processes of each engine, the ratio is ours/llama.cpp. `--node` adds informational
// rows (not in the ratio): our Node addon and node-llama-cpp, both driven token by token from JS.
// This is a benchmark, not a test: on shared cores single runs are noisy, read the medians.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLlamaBench, runLlamaBench } from './llama-bench.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const models = process.env.WASM_CHORD_MODELS ?? join(homedir(), '.cache/wasm-chord/models');
const modelPath = opt('model', join(models, 'SmolLM2-135M-Instruct.Q4_1.gguf'));
const threadCounts = opt('threads', '2').split(',').map(Number);
const runs = Math.max(1, Number(opt('runs', '3')));
const nPrompt = Number(opt('prompt-tokens', '256'));
const nGen = Number(opt('gen-tokens', '128'));
const withNode = args.includes('--node');
const json = args.includes('--json');
const log = json ? (...a) => console.error(...a) : (...a) => console.log(...a);

if (!existsSync(modelPath)) {
  console.error(`${modelPath} is missing: run \`npm run fetch-models\` first`);
  process.exit(1);
}
if (threadCounts.some((t) => !Number.isInteger(t) || t < 1)) {
  console.error(`--threads wants positive integers, e.g. 2 or 1,2`);
  process.exit(1);
}

/** Builds the core bench example (release) and returns its executable's path. */
function buildOurs() {
  log('ours: cargo build --release -p wasm-chord-core --example bench');
  const out = execFileSync('cargo', ['build', '--release', '-p', 'wasm-chord-core', '--example', 'bench',
    '--message-format=json-render-diagnostics'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 2] });
  const artifact = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
    .find((m) => m.reason === 'compiler-artifact' && m.target?.name === 'bench' && m.executable);
  if (!artifact) throw new Error('cargo built no bench example');
  return artifact.executable;
}

const oursBin = buildOurs();
const llamaBin = ensureLlamaBench(log);
if (withNode && !existsSync(join(here, 'node_modules/node-llama-cpp'))) {
  log('installing node-llama-cpp into bench/ for --node (first run only; ~650 MB)...');
  execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: ['ignore', 2, 2] });
}

/** Last JSON line of a child process's stdout. */
function spawnJson(what, cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) throw new Error(`${what} failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(line);
}

const ENGINES = {
  ours: (t) => {
    const out = spawnJson('core bench', oursBin, ['--model', modelPath, '--threads', String(t), '--runs', '1',
      '--prompt-tokens', String(nPrompt), '--gen-tokens', String(nGen), '--json']);
    return out.results[0];
  },
  'llama.cpp': (t) => runLlamaBench(llamaBin, { model: modelPath, threads: t, nPrompt, nGen, reps: 1 }),
};
const INFO = {
  'ours (node addon)': (t) => spawnJson('node addon run', process.execPath,
    [join(here, 'engines.mjs'), 'ours', modelPath, String(t), String(nPrompt), String(nGen)]),
  'llama.cpp (node-llama-cpp)': (t) => spawnJson('node-llama-cpp run', process.execPath,
    [join(here, 'engines.mjs'), 'llama.cpp', modelPath, String(t), String(nPrompt), String(nGen)]),
};
const engines = { ...ENGINES, ...(withNode ? INFO : {}) };

const model = modelPath.split('/').pop();
log(`${model}: pp${nPrompt} tg${nGen}, threads ${threadCounts.join(',')}, ${runs} alternating runs per engine; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const samples = {}; // `${engine}@${threads}` -> [{prefill_tps, decode_tps}]
for (let i = 0; i < runs; i++) {
  for (const t of threadCounts) {
    const names = Object.keys(engines);
    for (const name of i % 2 === 0 ? names : names.reverse()) {
      const s = engines[name](t);
      (samples[`${name}@${t}`] ??= []).push(s);
      log(`run ${i + 1}/${runs} ${t} thr ${name.padEnd(26)} prefill ${s.prefill_tps.toFixed(1).padStart(7)} tok/s, decode ${s.decode_tps.toFixed(1).padStart(6)} tok/s`);
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (engine, threads) => {
  const xs = samples[`${engine}@${threads}`];
  return {
    engine,
    threads,
    prefill_tps: +median(xs.map((s) => s.prefill_tps)).toFixed(1),
    decode_tps: +median(xs.map((s) => s.decode_tps)).toFixed(1),
  };
};
const results = threadCounts.flatMap((t) => Object.keys(ENGINES).map((e) => row(e, t)));
const info = withNode ? threadCounts.flatMap((t) => Object.keys(INFO).map((e) => ({ ...row(e, t), informational: true }))) : [];
const ratioAt = (t) => {
  const [ours, theirs] = results.filter((r) => r.threads === t);
  return { decode: ours.decode_tps / theirs.decode_tps, prefill: ours.prefill_tps / theirs.prefill_tps };
};
const round = (r) => ({ decode: +r.decode.toFixed(3), prefill: +r.prefill.toFixed(3) });
const byThreads = Object.fromEntries(threadCounts.map((t) => [String(t), ratioAt(t)]));
// Several thread counts: the top-level ratios are the geometric means of the per-count ones.
const geomean = (k) => Math.exp(threadCounts.reduce((a, t) => a + Math.log(byThreads[t][k]), 0) / threadCounts.length);
const ratios = round({ decode: geomean('decode'), prefill: geomean('prefill') });
if (threadCounts.length > 1) ratios.by_threads = Object.fromEntries(Object.entries(byThreads).map(([t, r]) => [t, round(r)]));

const commit = samples[`llama.cpp@${threadCounts[0]}`][0].build_commit;
log(`\n${model}, pp${nPrompt} / tg${nGen}, median of ${runs} alternating runs, llama.cpp ${commit}; load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
log('| engine                     | threads | prefill tok/s | decode tok/s |');
log('|----------------------------|--------:|--------------:|-------------:|');
for (const r of [...results, ...info]) {
  const name = r.informational ? `${r.engine} (info)` : r.engine;
  log(`| ${name.padEnd(26)} | ${String(r.threads).padStart(7)} | ${String(r.prefill_tps).padStart(13)} | ${String(r.decode_tps).padStart(12)} |`);
}
for (const t of threadCounts) {
  const r = round(byThreads[t]);
  log(`ratio ours/llama.cpp at ${t} thread${t > 1 ? 's' : ''}: prefill ${r.prefill}, decode ${r.decode}`);
}
if (withNode) log('(info) rows: driven token by token from JS, prefill timed to the first token, decode after the prompt; not in the ratio.');
if (json) console.log(JSON.stringify({ results: [...results, ...info], ratios }));
