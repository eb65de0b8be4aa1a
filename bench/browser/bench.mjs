#!/usr/bin/env node
// `node bench/browser/bench.mjs [--model <file.gguf>] [--threads 1,2] [--runs 3]
//  [--prompt-tokens 256] [--gen-tokens 128] [--json]`
//
// wasm-chord against wllama (llama.cpp's wasm build, @wllama/wllama 3.8.1) in headless Debian
// chromium (/usr/bin/chromium through playwright-core), same file, same thread count, CPU only.
// A benchmark, not a test (not part of `npm test`): two shared cores are noisy, so it takes
// medians over --runs, with the engines alternating and each run in a fresh page.
//
// - Ours: a tiny Vite app (bench/browser/app/) importing 'wasm-chord' from the repository as a
//   user's app does (node_modules/wasm-chord links to the repo, as `npm i <path>` would), built
//   with the repo's vite; the public API only: loadModel(url), model.generate(prompt, ...).
// - wllama: installed into bench/browser/node_modules on first run (its own package.json, never
//   a dependency of the package); its ES module and .wasm served from there as is.
// - The server sends COOP/COEP to every page (cross-origin isolated: both engines' multi-thread
//   builds need SharedArrayBuffer); each reports the threads it really ran on (ours:
//   info.threads; wllama: getNumThreads()).
// - Same prompt tokens for both: ours tokenizes ordinary text to --prompt-tokens ids whose text
//   tokenizes back to the same ids; our page gets that text, wllama gets the ids.
// - Timing inside the page with performance.now() around the generation only (not the load),
//   after a 4-token warm-up generation on both: prefill tok/s = prompt tokens / time to the
//   first generated token; decode tok/s = (n - 1) / (time from the first token to the end).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { launchChromium, mimeType, startServer } from '../../test/browser/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const WLLAMA_VERSION = '3.8.1';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const models = process.env.WASM_CHORD_MODELS ?? path.join(os.homedir(), '.cache/wasm-chord/models');
const modelPath = path.resolve(opt('model', path.join(models, 'SmolLM2-135M-Instruct.Q4_1.gguf')));
const threadList = opt('threads', '1,2').split(',').map(Number);
const runs = Number(opt('runs', '3'));
const nPrompt = Number(opt('prompt-tokens', '256'));
const nGen = Number(opt('gen-tokens', '128'));
const json = args.includes('--json');
const engineList = opt('engines', 'ours,wllama').split(',');
const log = json ? (...a) => console.error(...a) : (...a) => console.log(...a);
const contextSize = nPrompt + nGen + 64;

function die(msg) {
  console.error(msg);
  process.exit(1);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 24, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) die(`${cmd} ${argv.join(' ')} failed (exit ${r.status}):\n${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  return r.stdout;
}

// --package <dir>: bundle another copy of the package (default: this repository).
const pkgDir = path.resolve(opt('package', repo));
const wasmFile = path.join(pkgDir, 'js/browser/wasm/wasm_chord_bg.wasm');
if (!fs.existsSync(modelPath)) die(`${modelPath} is missing: run \`npm run fetch-models\` first`);
if (!fs.existsSync(wasmFile)) die(`${wasmFile} is missing: run \`node scripts/build-wasm.mjs\` first`);
const vite = path.join(repo, 'node_modules/vite/bin/vite.js');
if (!fs.existsSync(vite)) die('the repository\'s devDependencies are missing: run `npm install` at the repository root');

// wllama, into bench/browser/node_modules (first run, or a different version there).
const wllamaDir = path.join(here, 'node_modules/@wllama/wllama');
const installed = fs.existsSync(path.join(wllamaDir, 'package.json'))
  ? JSON.parse(fs.readFileSync(path.join(wllamaDir, 'package.json'), 'utf8')).version
  : null;
if (installed !== WLLAMA_VERSION) {
  log(`installing @wllama/wllama ${WLLAMA_VERSION} into bench/browser/ (first run only; ~10 MB)...`);
  run('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: ['ignore', 2, 2] });
}

// Our app: node_modules/wasm-chord -> the repository (what `npm i ../..` makes), then vite build.
const link = path.join(here, 'node_modules/wasm-chord');
const target = path.relative(path.dirname(link), pkgDir);
let linked = null;
try {
  linked = fs.readlinkSync(link);
} catch {}
if (linked !== target) {
  fs.rmSync(link, { force: true, recursive: true });
  fs.symlinkSync(target, link, 'dir');
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-browser-bench-'));
const dist = path.join(tmp, 'dist');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
run(process.execPath, [vite, 'build', path.join(here, 'app'), '--base', '/ours/', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'], {
  cwd: here,
});
const bundledWasm = fs.readdirSync(path.join(dist, 'assets')).filter((f) => f.endsWith('.wasm'));
if (bundledWasm.length === 0) die(`no .wasm bundled in ${dist}/assets`);

// Sizes of our wasm module.
const wasmBytes = fs.readFileSync(wasmFile);
const wasmSize = {
  file: path.relative(pkgDir, wasmFile),
  raw_bytes: wasmBytes.length,
  gzip_bytes: zlib.gzipSync(wasmBytes, { level: 9 }).length,
  brotli_bytes: zlib.brotliCompressSync(wasmBytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
};
const mtFile = path.join(pkgDir, 'js/browser/wasm-mt/wasm_chord_bg.wasm');
if (fs.existsSync(mtFile)) {
  const mt = fs.readFileSync(mtFile);
  wasmSize.threads_build = { file: path.relative(pkgDir, mtFile), raw_bytes: mt.length, gzip_bytes: zlib.gzipSync(mt, { level: 9 }).length };
}
const wllamaWasm = path.join(wllamaDir, 'esm/wasm/wllama.wasm');
const wllamaSize = fs.existsSync(wllamaWasm) ? fs.statSync(wllamaWasm).size : null;
const mib = (b) => `${(b / 1048576).toFixed(2)} MiB`;
log(`our wasm: ${wasmSize.file} ${mib(wasmSize.raw_bytes)} raw, ${mib(wasmSize.gzip_bytes)} gzip -9, ${mib(wasmSize.brotli_bytes)} brotli -11`
  + (wasmSize.threads_build ? `; threads build ${wasmSize.threads_build.file} ${mib(wasmSize.threads_build.raw_bytes)} raw, ${mib(wasmSize.threads_build.gzip_bytes)} gzip -9` : '')
  + (wllamaSize ? ` (wllama.wasm ${mib(wllamaSize)} raw)` : ''));

// One origin for both engines: COOP/COEP on every response.
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const modelSize = fs.statSync(modelPath).size;

function sendFile(res, file, req) {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': mimeType(file), 'content-length': st.size, 'cache-control': 'no-store' });
  if (req.method === 'HEAD') res.end();
  else fs.createReadStream(file).pipe(res);
}

/** `base` + the request path, or null when it leaves `base`. */
function inside(base, rel) {
  const file = path.join(base, rel);
  return file === base || file.startsWith(base + path.sep) ? file : null;
}

const server = await startServer({
  headers: ISOLATION,
  handler(req, res) {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = null;
    if (p === '/model.gguf') file = modelPath;
    else if (p === '/wllama.html' || p === '/wllama-page.js') file = path.join(here, p);
    else if (p.startsWith('/wllama/')) file = inside(wllamaDir, p.slice('/wllama/'.length));
    else if (p.startsWith('/ours/')) file = inside(dist, p.slice('/ours/'.length) || 'index.html');
    if (!file) {
      res.writeHead(404).end('not found');
      return true;
    }
    sendFile(res, file, req);
    return true;
  },
});

const browser = await launchChromium();
const engines = { ours: '/ours/index.html', wllama: '/wllama.html' };

async function inPage(engine, fn, arg) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(server.url(engines[engine]));
    await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
    return await page.evaluate(fn, arg);
  } catch (e) {
    throw new Error(`${engine}: ${e.message}${errors.length ? `\npage errors: ${errors.join('\n')}` : ''}`);
  } finally {
    await page.close();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

let results;
let ratios;
const sameText = {};
let promptInfo;
try {
  const prep = await inPage('ours', (a) => window.prep(a), { url: '/model.gguf', nPrompt });
  promptInfo = { n_prompt: prep.ids.length, model_info: prep.info };
  log(`model ${path.basename(modelPath)} (${mib(modelSize)}, ${prep.info.arch}, ${prep.info.fileType ?? '?'}); `
    + `prompt ${prep.ids.length} tokens (the same text for both; each engine's tokenizer must count ${prep.ids.length}), ${nGen} generated, greedy; `
    + `${prep.ua.match(/Chrome\/[\d.]+/)?.[0] ?? 'chromium'}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`);

  const samples = {};
  for (const threads of threadList) {
    for (let i = 0; i < runs; i++) {
      const order = (i % 2 === 0 ? ['ours', 'wllama'] : ['wllama', 'ours']).filter((e) => engineList.includes(e));
      for (const engine of order) {
        const arg = { url: '/model.gguf', threads, nGen, contextSize, prompt: prep.prompt, warmPrompt: prep.warmPrompt };
        const s = await inPage(engine, (a) => window.bench(a), arg);
        if (s.n_prompt !== prep.ids.length) throw new Error(`${engine} saw ${s.n_prompt} prompt tokens, not ${prep.ids.length}`);
        if (s.n_cached) throw new Error(`${engine} reused ${s.n_cached} cached prompt tokens`);
        (samples[`${engine}/${threads}`] ??= []).push(s);
        log(`threads ${threads} run ${i + 1}/${runs} ${engine.padEnd(6)} prefill ${s.prefill_tps.toFixed(1).padStart(6)} tok/s `
          + `(${s.ttft_ms.toFixed(0)} ms to the first token), decode ${s.decode_tps.toFixed(1).padStart(6)} tok/s `
          + `(${s.n_generated} tokens), ran on ${s.threads_used} thread${s.threads_used === 1 ? '' : 's'}`
          + (s.internal ? ` [llama-server's own: prefill ${s.internal.prompt_tps.toFixed(1)}, decode ${s.internal.decode_tps.toFixed(1)}]` : ''));
      }
    }
  }

  results = Object.entries(samples).map(([key, xs]) => {
    const [engine, threads] = key.split('/');
    return {
      engine: engine === 'ours' ? 'wasm-chord' : `wllama ${WLLAMA_VERSION}`,
      threads: Number(threads),
      threads_used: median(xs.map((s) => s.threads_used)),
      prefill_tps: +median(xs.map((s) => s.prefill_tps)).toFixed(1),
      decode_tps: +median(xs.map((s) => s.decode_tps)).toFixed(1),
      n_prompt: xs[0].n_prompt,
      n_generated: median(xs.map((s) => s.n_generated)),
      runs: xs.length,
      samples: xs.map((s) => ({ prefill_tps: +s.prefill_tps.toFixed(2), decode_tps: +s.decode_tps.toFixed(2) })),
    };
  });
  ratios = {};
  for (const threads of threadList) {
    const ours = results.find((r) => r.engine === 'wasm-chord' && r.threads === threads);
    const theirs = results.find((r) => r.engine !== 'wasm-chord' && r.threads === threads);
    if (!ours || !theirs) continue;
    ratios[`threads_${threads}`] = {
      decode: +(ours.decode_tps / theirs.decode_tps).toFixed(2),
      prefill: +(ours.prefill_tps / theirs.prefill_tps).toFixed(2),
    };
    // Greedy on the same prompt: both engines should write (nearly) the same continuation.
    const a = samples[`ours/${threads}`]?.[0].text ?? '';
    const b = samples[`wllama/${threads}`]?.[0].text ?? '';
    let same = 0;
    while (same < Math.min(a.length, b.length) && a[same] === b[same]) same++;
    sameText[`threads_${threads}`] = { same_chars: same, ours_chars: a.length, wllama_chars: b.length };
    if (args.includes('--verbose')) log(`threads ${threads} continuations:\n  ours:   ${JSON.stringify(a)}\n  wllama: ${JSON.stringify(b)}`);
  }
} finally {
  await browser.close();
  await server.close();
}

// Native llama.cpp for context (optional): a llama-bench built by bench/llama-bench.mjs.
let native = null;
const llamaBench = findLlamaBench();
if (llamaBench && !args.includes('--no-native')) {
  const r = spawnSync(llamaBench, ['-m', modelPath, '-t', '1', '-p', String(nPrompt), '-n', String(nGen), '-r', String(Math.max(1, runs)), '-o', 'json'], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  try {
    const rows = JSON.parse(r.stdout);
    const pp = rows.find((x) => x.n_prompt > 0 && x.n_gen === 0);
    const tg = rows.find((x) => x.n_gen > 0 && x.n_prompt === 0);
    native = { binary: llamaBench, threads: 1, prefill_tps: +pp.avg_ts.toFixed(1), decode_tps: +tg.avg_ts.toFixed(1) };
  } catch {
    log(`(native llama-bench at ${llamaBench} did not run: exit ${r.status})`);
  }
}

function findLlamaBench() {
  const base = process.env.WASM_CHORD_LLAMA_CPP ?? path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'wasm-chord/llama.cpp');
  if (!fs.existsSync(base)) return null;
  for (const d of fs.readdirSync(base)) {
    const bin = path.join(base, d, 'build/bin/llama-bench');
    if (fs.existsSync(bin) && fs.existsSync(path.join(base, d, 'build.json'))) return bin;
  }
  return null;
}

const cell = (v, w) => String(v).padStart(w);
log(`\n${path.basename(modelPath)}, prompt ${nPrompt} tokens, ${nGen} generated, greedy, median of ${runs} runs, headless chromium, cross-origin isolated`);
log('| engine        | threads asked | threads used | prefill tok/s | decode tok/s |');
log('|---------------|--------------:|-------------:|--------------:|-------------:|');
for (const r of results) {
  log(`| ${r.engine.padEnd(13)} | ${cell(r.threads, 13)} | ${cell(r.threads_used, 12)} | ${cell(r.prefill_tps, 13)} | ${cell(r.decode_tps, 12)} |`);
}
for (const [k, v] of Object.entries(ratios)) {
  const t = k.replace('threads_', '');
  log(`ratio ours/wllama at ${t} thread${t === '1' ? '' : 's'}: decode ${v.decode}x, prefill ${v.prefill}x `
    + `(greedy continuations agree on their first ${sameText[k].same_chars} of ${sameText[k].ours_chars}/${sameText[k].wllama_chars} characters)`);
}
const oursThreads = results.filter((r) => r.engine === 'wasm-chord').map((r) => r.threads_used);
if (oursThreads.every((t) => t === 1) && threadList.some((t) => t > 1)) {
  log('note: wasm-chord in the browser is single-threaded today: asked for more, it ran on 1 thread (info.threads)');
}
if (native) {
  const ours1 = results.find((r) => r.engine === 'wasm-chord' && r.threads === 1);
  log(`native llama.cpp (llama-bench, 1 thread, for context; not in the browser): prefill ${native.prefill_tps} tok/s, decode ${native.decode_tps} tok/s`
    + (ours1 ? `; ours (browser, 1 thread) / native: decode ${(ours1.decode_tps / native.decode_tps).toFixed(2)}x, prefill ${(ours1.prefill_tps / native.prefill_tps).toFixed(2)}x` : ''));
}
log(`our wasm (${wasmSize.file}): ${mib(wasmSize.raw_bytes)} raw (${wasmSize.raw_bytes} bytes), ${mib(wasmSize.gzip_bytes)} gzip -9 (${wasmSize.gzip_bytes} bytes)`
  + (wasmSize.threads_build ? `; ${wasmSize.threads_build.file}: ${wasmSize.threads_build.raw_bytes} raw, ${wasmSize.threads_build.gzip_bytes} gzip -9` : ''));
if (json) {
  console.log(JSON.stringify({ model: path.basename(modelPath), n_prompt: nPrompt, n_gen: nGen, results, ratios, same_greedy_text: sameText, wasm_size: wasmSize, wllama_wasm_bytes: wllamaSize, native_llama_cpp: native }));
}
