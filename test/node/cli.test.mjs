// The `wasm-chord` command (js/cli.js) as a user runs it: info, run, pull, ls, rm, against a
// temporary cache (WASM_CHORD_CACHE) and a local HTTP server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelPath } from './models.mjs';
import { serve, sha256 } from './serve.mjs';

const cli = fileURLToPath(new URL('../../js/cli.js', import.meta.url));
let tmp;
let server;
const payload = Buffer.from('GGUF not really, but bytes to cache '.repeat(1000));

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-cli-'));
  server = await serve({ '/tiny.gguf': payload });
});
after(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs the CLI; resolves { code, stdout, stderr } (never rejects on a non-zero exit). */
function run(args, env = {}) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, WASM_CHORD_CACHE: path.join(tmp, 'cache'), ...env }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('cli_info_prints_arch_llama', async () => {
  const r = await run(['info', modelPath()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^arch\s+llama$/m);
  const j = await run(['info', modelPath(), '--json']);
  assert.equal(JSON.parse(j.stdout).arch, 'llama');
});

test('cli_run_prints_text', async () => {
  const r = await run(['run', modelPath(), 'Hello', '--max-tokens', '5', '--temperature', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.trim().length > 0, `printed: ${JSON.stringify(r.stdout)}`);
});

test('cli_missing_default_model_says_how_to_fetch', async () => {
  const r = await run(['run', 'Hello'], { WASM_CHORD_CACHE: path.join(tmp, 'empty') });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /npm run fetch-models/);
});

test('cli_pull_ls_rm', async () => {
  const url = server.url('/tiny.gguf');
  const pull = await run(['pull', url, '--sha256', sha256(payload)]);
  assert.equal(pull.code, 0, pull.stderr);
  const file = path.join(tmp, 'cache', 'tiny.gguf');
  assert.equal(sha256(readFileSync(file)), sha256(payload));

  const ls = await run(['ls']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /tiny\.gguf/);
  assert.ok(ls.stdout.includes(sha256(payload).slice(0, 12)));
  const lsJson = JSON.parse((await run(['ls', '--json'])).stdout);
  assert.deepEqual(lsJson.map((e) => [e.name, e.url, e.size]), [['tiny.gguf', url, payload.length]]);

  const rm = await run(['rm', 'tiny.gguf']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.ok(!existsSync(file));
  assert.match((await run(['ls'])).stdout, /no models/);
  const again = await run(['rm', 'tiny.gguf']);
  assert.equal(again.code, 1);
});

test('cli_usage_errors_exit_2', async () => {
  assert.equal((await run(['frobnicate'])).code, 2);
  assert.equal((await run(['run', '--max-tokens', 'many', 'x'])).code, 2);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: wasm-chord/);
});

test('cli_run_ctrl_c_stops_generation_cleanly', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [cli, 'run', modelPath(), 'Once upon a time', '--max-tokens', '2000', '--temperature', '0'], {
    env: { ...process.env, WASM_CHORD_CACHE: path.join(tmp, 'cache') },
  });
  let stdout = '';
  const t0 = Date.now();
  let sentAt = 0;
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!sentAt && stdout.length > 20) {
      sentAt = Date.now();
      child.kill('SIGINT'); // Ctrl-C mid-generation
    }
  });
  const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? sig)));
  assert.ok(sentAt > 0, 'the CLI printed tokens before the interrupt');
  assert.equal(code, 130, 'exit code 130 after Ctrl-C');
  // Stopped at once: far less than the time 2000 tokens would take.
  assert.ok(Date.now() - sentAt < 5_000, `exited ${Date.now() - sentAt} ms after Ctrl-C (run took ${Date.now() - t0} ms)`);
});
