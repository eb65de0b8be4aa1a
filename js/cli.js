#!/usr/bin/env node
// The `wasm-chord` command: run, chat, pull, ls, rm, info, bench. `wasm-chord help` lists them.
import process from 'node:process';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import {
  cacheDir,
  downloadModel,
  listCached,
  loadModel,
  removeCached,
  WasmChordError,
} from './index.js';
import { isHttpUrl } from './fetch.js';
import { findCached } from './cache/index.js';

const DEFAULT_MODEL = 'SmolLM2-135M-Instruct.Q4_1.gguf';

const USAGE = `usage: wasm-chord <command> [options]

  run [model] "<prompt>"   stream a completion (--chat: as a chat turn)
  chat [model]             interactive chat with the model's template (Ctrl-C stops a reply; at the prompt, exits)
  pull <url>               download a model into the cache (--sha256 HEX, --name FILE)
  ls                       list cached models (--json)
  rm <name|sha256|url>     remove a cached model
  info <model>             print the model's facts (--json)
  bench <model>            prefill and decode speed (--prompt-tokens N, --gen-tokens N)

model: a file path, an http(s) URL (downloaded into the cache), or a file name in the cache.
Default: ${DEFAULT_MODEL} from the cache (fill it with \`npm run fetch-models\`).

options: --max-tokens N  --temperature T  --seed S  --threads N  --ctx N  --gpu auto|on|off  --cache-dir DIR
cache: --cache-dir, else $WASM_CHORD_CACHE, else $XDG_CACHE_HOME/wasm-chord/models or ~/.cache/wasm-chord/models`;

const OPTIONS = {
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  seed: { type: 'string' },
  threads: { type: 'string' },
  gpu: { type: 'string' },
  ctx: { type: 'string' },
  chat: { type: 'boolean' },
  sha256: { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  'prompt-tokens': { type: 'string' },
  'gen-tokens': { type: 'string' },
  'cache-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

class UsageError extends Error {}

function num(values, name, { int = true, min = 0 } = {}) {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min) {
    throw new UsageError(`--${name} expects ${int ? 'an integer' : 'a number'} >= ${min}, got '${v}'`);
  }
  return n;
}

function fmtBytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** A download progress callback: a cli-progress bar when stdout is a terminal, else nothing. */
async function progressBar(label) {
  if (!process.stdout.isTTY) return { onProgress: undefined, stop() {} };
  let cliProgress;
  try {
    cliProgress = (await import('cli-progress')).default;
  } catch {
    return { onProgress: undefined, stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {bar} {percentage}% | {done}/{size}`,
      hideCursor: true,
      stream: process.stdout,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress({ loaded, total }) {
      const payload = { done: fmtBytes(loaded), size: total ? fmtBytes(total) : '?' };
      if (!started) {
        started = true;
        bar.start(total || loaded || 1, loaded, payload);
      }
      if (total) bar.setTotal(total);
      bar.update(loaded, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** `--gpu` (alone: on), `--gpu auto|on|off` → the `gpu` load option. */
function gpuOption(v) {
  if (v === undefined) return undefined;
  const modes = { '': true, on: true, true: true, auto: 'auto', off: false, false: false };
  if (!(v in modes)) throw new UsageError(`--gpu takes auto, on or off, got '${v}'`);
  return modes[v];
}

/** Loads the model named on the command line (or the default one from the cache). */
async function openModel(arg, values) {
  const opts = {
    cacheDir: values['cache-dir'],
    threads: num(values, 'threads'),
    contextSize: num(values, 'ctx', { min: 1 }),
    gpu: gpuOption(values.gpu),
  };
  if (arg === undefined) {
    const file = await findCached(DEFAULT_MODEL, opts);
    if (!file) {
      throw new UsageError(
        `the default model ${DEFAULT_MODEL} is not in the cache (${cacheDir(opts)}).\n` +
          'Fetch it with `npm run fetch-models` (in a wasm-chord checkout), or name a model: ' +
          '`wasm-chord run <file.gguf|url> "<prompt>"` / `wasm-chord pull <url>`.',
      );
    }
    arg = file;
  }
  if (isHttpUrl(arg)) {
    const bar = await progressBar('download');
    try {
      return await loadModel(arg, { ...opts, onProgress: bar.onProgress });
    } finally {
      bar.stop();
    }
  }
  try {
    return await loadModel(arg, opts);
  } catch (e) {
    if (e?.code === 'ERR_FILE_NOT_FOUND') {
      throw new UsageError(`${arg}: no such file, and no model of that name in the cache (${cacheDir(opts)})`);
    }
    throw e;
  }
}

function genOptions(values, signal) {
  return {
    maxTokens: num(values, 'max-tokens'),
    temperature: num(values, 'temperature', { int: false, min: -Infinity }),
    seed: num(values, 'seed'),
    signal,
  };
}

/** An AbortController fired by Ctrl-C (SIGINT) while `fn` runs. */
async function withInterrupt(fn) {
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.on('SIGINT', onSig);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', onSig);
  }
}

async function cmdRun(pos, values) {
  if (pos.length === 0) throw new UsageError('run needs a prompt: wasm-chord run [model] "<prompt>"');
  const [modelArg, prompt] = pos.length === 1 ? [undefined, pos[0]] : [pos[0], pos.slice(1).join(' ')];
  const model = await openModel(modelArg, values);
  try {
    await withInterrupt(async (signal) => {
      const opts = genOptions(values, signal);
      const stream = values.chat ? model.chat([{ role: 'user', content: prompt }], opts) : model.generate(prompt, opts);
      for await (const c of stream) process.stdout.write(c.text);
      process.stdout.write('\n');
    });
  } finally {
    model.dispose();
  }
}

async function cmdChat(pos, values) {
  const model = await openModel(pos[0], values);
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  const messages = [];
  let generating = null;
  const onInterrupt = () => {
    if (generating) generating.abort();
    else rl.close();
  };
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  if (process.stdin.isTTY) {
    console.log(`${model.info.name ?? model.info.arch}: type a message; /reset clears the chat; Ctrl-C or Ctrl-D exits.`);
  }
  rl.setPrompt('> ');
  const ask = () => process.stdin.isTTY && rl.prompt();
  ask();
  try {
    for await (const line of rl) {
      const text = line.trim();
      if (text === '/exit' || text === '/quit') break;
      if (text === '/reset') {
        messages.length = 0;
      } else if (text) {
        messages.push({ role: 'user', content: text });
        generating = new AbortController();
        let reply = '';
        try {
          for await (const c of model.chat(messages, genOptions(values, generating.signal))) {
            reply += c.text;
            process.stdout.write(c.text);
          }
          messages.push({ role: 'assistant', content: reply });
          process.stdout.write('\n');
        } catch (e) {
          if (e?.name !== 'AbortError') throw e;
          messages.pop(); // the interrupted turn is dropped
          process.stdout.write(' [stopped]\n');
        } finally {
          generating = null;
        }
      }
      ask();
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    rl.close();
    model.dispose();
  }
}

async function cmdPull(pos, values) {
  const url = pos[0];
  if (!url || !isHttpUrl(url)) throw new UsageError('pull needs an http(s) URL: wasm-chord pull <url> [--sha256 HEX]');
  const bar = await progressBar('pull');
  let entry;
  try {
    entry = await withInterrupt((signal) =>
      downloadModel(url, {
        cacheDir: values['cache-dir'],
        sha256: values.sha256,
        fileName: values.name,
        signal,
        onProgress: bar.onProgress,
      }),
    );
  } finally {
    bar.stop();
  }
  console.log(`${entry.name}  ${fmtBytes(entry.size)}  sha256 ${entry.sha256}\n→ ${entry.path}`);
}

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

async function cmdLs(pos, values) {
  const opts = { cacheDir: values['cache-dir'] };
  const list = await listCached(opts);
  if (values.json) {
    console.log(JSON.stringify(list, null, 2));
    return;
  }
  if (list.length === 0) {
    console.log(`no models in ${cacheDir(opts)}`);
    return;
  }
  const rows = [['NAME', 'SIZE', 'LAST USED', 'SHA256', 'SOURCE']];
  for (const e of list) {
    rows.push([
      e.name,
      fmtBytes(e.size),
      e.lastUsed ? new Date(e.lastUsed).toISOString().slice(0, 16).replace('T', ' ') : '-',
      e.sha256 ? e.sha256.slice(0, 12) : '-',
      e.url ?? (e.managed ? '-' : '(not indexed)'),
    ]);
  }
  console.log(`${cacheDir(opts)}\n${table(rows)}`);
}

async function cmdRm(pos, values) {
  if (pos.length === 0) throw new UsageError('rm needs a model name, sha256 or URL');
  let failed = false;
  for (const name of pos) {
    if (await removeCached(name, { cacheDir: values['cache-dir'] })) console.log(`removed ${name}`);
    else {
      console.error(`wasm-chord: ${name} is not in the cache`);
      failed = true;
    }
  }
  if (failed) process.exitCode = 1;
}

async function cmdInfo(pos, values) {
  const model = await openModel(pos[0], values);
  try {
    const info = { ...model.info };
    if (values.json) console.log(JSON.stringify(info, null, 2));
    else console.log(table(Object.entries(info).map(([k, v]) => [k, v])));
  } finally {
    model.dispose();
  }
}

async function cmdBench(pos, values) {
  const nPrompt = num(values, 'prompt-tokens', { min: 1 }) ?? 128;
  const nGen = num(values, 'gen-tokens', { min: 2 }) ?? 64;
  if (values.ctx === undefined) values = { ...values, ctx: String(nPrompt + nGen + 8) };
  const model = await openModel(pos[0], values);
  try {
    const base = 'The quick brown fox jumps over the lazy dog while the river runs to the sea. ';
    let text = base;
    while (model.tokenize(text).length < nPrompt) text += base;
    const prompt = model.detokenize(model.tokenize(text).slice(0, nPrompt));
    const promptTokens = model.tokenize(prompt).length;
    // One warm-up token, then the measured run.
    await model.generate('Hello', { temperature: 0, maxTokens: 1 }).text();
    const t0 = performance.now();
    let tFirst = 0;
    let tLast = 0;
    let n = 0;
    for await (const c of model.generate(prompt, { temperature: 0, maxTokens: nGen })) {
      if (c.token === undefined) continue;
      tLast = performance.now();
      if (n === 0) tFirst = tLast;
      n++;
    }
    const prefill = promptTokens / ((tFirst - t0) / 1000);
    const decode = n > 1 ? (n - 1) / ((tLast - tFirst) / 1000) : 0;
    const result = {
      model: model.info.name ?? model.info.arch,
      fileType: model.info.fileType ?? null,
      threads: model.info.threads,
      backend: model.info.backend,
      adapter: model.info.gpu?.adapter ?? null,
      promptTokens,
      generatedTokens: n,
      prefillTokPerSec: Number(prefill.toFixed(2)),
      decodeTokPerSec: Number(decode.toFixed(2)),
    };
    if (values.json) console.log(JSON.stringify(result));
    else {
      console.log(
        `${result.model} ${result.fileType ?? ''} (${result.adapter ? `GPU: ${result.adapter}` : `${result.threads} threads`})\n` +
          `prefill: ${promptTokens} tokens, ${result.prefillTokPerSec} tok/s\n` +
          `decode:  ${n} tokens, ${result.decodeTokPerSec} tok/s`,
      );
    }
  } finally {
    model.dispose();
  }
}

const COMMANDS = { run: cmdRun, chat: cmdChat, pull: cmdPull, ls: cmdLs, rm: cmdRm, info: cmdInfo, bench: cmdBench };

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
  const [cmd, ...pos] = parsed.positionals;
  if (parsed.values.help || !cmd || cmd === 'help') {
    console.log(USAGE);
    return;
  }
  const f = COMMANDS[cmd];
  if (!f) throw new UsageError(`unknown command '${cmd}'`);
  await f(pos, parsed.values);
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`wasm-chord: ${e.message}`);
    process.exitCode = 2;
  } else if (e?.name === 'AbortError') {
    process.stdout.write('\n');
    process.exitCode = 130;
  } else {
    console.error(`wasm-chord: ${e instanceof WasmChordError ? `${e.message} (${e.code})` : (e?.stack ?? e)}`);
    process.exitCode = 1;
  }
}
