// A browser app as a user builds one: a fresh Vite project outside the repository installs the
// packed tarball (`npm pack`, which must hold the built .wasm: no Rust needed), imports
// `wasm-chord` with no Vite plugin and no config, `vite build`s, and runs in chromium: the
// worker and the wasm module are bundled by Vite's `new URL(..., import.meta.url)` handling.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, startServer } from './harness.mjs';
import { decidedPrefix, modelPath, refdata } from '../node/models.mjs';

const repo = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const vite = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).devDependencies.vite;
const france = refdata('smollm2', 'greedy.jsonl').find((l) => l.prompt === 'The capital of France is');
const smol = fs.readFileSync(modelPath());
let tmp;

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...opts });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const APP_HTML = `<!doctype html><meta charset="utf-8"><title>app</title>
<script type="module" src="/main.js"></script>`;

const APP_JS = `import { loadModel } from 'wasm-chord';
window.generate = async (url, prompt, maxTokens) => {
  const model = await loadModel(url);
  const ids = [];
  for await (const c of model.generate(prompt, { temperature: 0, maxTokens })) ids.push(c.token);
  model.dispose();
  return ids;
};
window.ready = true;
`;

before(() => {
  assert.ok(fs.existsSync(path.join(repo, 'js', 'browser', 'wasm', 'wasm_chord_bg.wasm')), 'run `npm run build:wasm` first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-vite-'));
  const out = run('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: repo });
  const tarball = path.join(tmp, out.trim().split('\n').at(-1));
  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  fs.writeFileSync(path.join(app, 'index.html'), APP_HTML);
  fs.writeFileSync(path.join(app, 'main.js'), APP_JS);
  run('npm', ['install', tarball, `vite@${vite}`, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app });
  run(process.execPath, [path.join(app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: app });
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('a fresh Vite app with the packed tarball bundles the worker and wasm and generates', async () => {
  const dist = path.join(tmp, 'app', 'dist');
  const assets = fs.readdirSync(path.join(dist, 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `the .wasm is bundled: ${assets}`);
  const server = await startServer({
    root: dist,
    handler(req, res) {
      const u = new URL(req.url, 'http://x');
      if (u.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(fs.readFileSync(path.join(dist, 'index.html')));
        return true;
      }
      if (u.pathname !== '/smol.gguf') return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': smol.length }).end(smol);
      return true;
    },
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(server.url('/'));
    await page.waitForFunction(() => window.ready);
    const cut = decidedPrefix(france);
    const ids = await page.evaluate(([p, n]) => window.generate('/smol.gguf', p, n), [france.prompt, cut]);
    assert.deepEqual(ids, france.generated_ids.slice(0, cut));
  } finally {
    await browser.close();
    await server.close();
  }
});
