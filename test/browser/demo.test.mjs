// The browser half end to end: a real `vite build` of the demo app (examples/web/dist, built by
// scripts/test.sh before this runs) served on 127.0.0.1, driven in Debian's chromium. The model
// runs in the package's module worker on the wasm build; the page's `window.wasmChord` is the
// bundled package, so these tests call the same API a Vite app imports. The suite runs twice:
// with COOP/COEP headers (cross-origin isolated: the threads build, a pool of Web Workers) and
// without (the one-thread build).
//   - greedy tokens equal the Node API's and llama.cpp's refdata up to the first near-tie;
//   - break mid-generation then generate again; an AbortSignal rejects with an AbortError;
//   - a reload loads the model from the browser cache with no second download; removeCached;
//   - a corrupt file, a truncated download and crafted hostile headers give typed errors, and
//     the page keeps working;
//   - a chat through the UI, saved as a screenshot (test/browser/artifacts/).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, startServer } from './harness.mjs';
import { loadModel as loadNodeModel } from '../../js/index.js';
import { collectIds, decidedPrefix, greedy, modelPath, refdata } from '../node/models.mjs';

const repo = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dist = path.join(repo, 'examples', 'web', 'dist');
const artifacts = process.env.WASM_CHORD_ARTIFACTS ?? path.join(repo, 'test', 'browser', 'artifacts');
const smolBytes = fs.readFileSync(modelPath());
const ref = refdata('smollm2', 'greedy.jsonl');
// The three raw prompts whose reference is decided (no near-tie) the longest.
const prompts = ref
  .filter((l) => l.kind === 'raw')
  .sort((a, b) => decidedPrefix(b) - decidedPrefix(a))
  .slice(0, 3);

const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

/** Files the server hands out under /models/ (bytes), with a request log. */
const models = {
  'smol.gguf': smolBytes,
  'corrupt.gguf': Buffer.concat([Buffer.from('NOPE'), smolBytes.subarray(4, 1 << 20)]),
  'truncated.gguf': smolBytes.subarray(0, smolBytes.length >> 1),
};
const gets = [];

function modelRoute(req, res) {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(path.join(dist, 'index.html')));
    return true;
  }
  if (!u.pathname.startsWith('/models/')) return false;
  const name = u.pathname.slice('/models/'.length);
  gets.push({ name, range: req.headers.range ?? null });
  if (name === 'huge.gguf') {
    // Claims 5 GiB: more than wasm32 can hold; nothing should be read before the refusal.
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(5 * 2 ** 30) });
    res.write(smolBytes.subarray(0, 1 << 16));
    return true;
  }
  const body = models[name];
  if (!body) {
    res.writeHead(404).end();
    return true;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'accept-ranges': 'bytes' });
  res.end(body);
  return true;
}

/** Node's greedy ids for each prompt (the reference the browser must equal). */
const nodeIds = new Map();
before(async () => {
  assert.ok(fs.existsSync(path.join(dist, 'index.html')), `${dist} is missing: run \`npx vite build\` in examples/web`);
  const model = await loadNodeModel(modelPath(), { threads: 1 });
  for (const line of prompts) {
    const { ids } = await collectIds(model.generate(line.prompt, { ...greedy, maxTokens: 16 }));
    nodeIds.set(line.prompt, ids);
  }
  model.dispose();
  fs.mkdirSync(artifacts, { recursive: true });
});

for (const isolated of [false, true]) {
  describe(isolated ? 'cross-origin isolated (COOP/COEP)' : 'not isolated', () => {
    let server;
    let browser;
    let page;

    /** Evaluates `fn(arg)` in the page, where `wasmChord` is the bundled package. */
    const run = (fn, arg) => page.evaluate(fn, arg);

    before(async () => {
      server = await startServer({ root: dist, headers: isolated ? ISOLATION : {}, handler: modelRoute });
      browser = await launchChromium();
      page = await browser.newPage();
      page.on('pageerror', (e) => console.error(`pageerror: ${e.message}`));
      await page.goto(server.url('/'));
      await page.waitForFunction(() => window.wasmChord);
      assert.equal(await run(() => crossOriginIsolated), isolated);
    });

    after(async () => {
      await browser?.close();
      await server?.close();
    });

    test('greedy tokens equal the Node API and llama.cpp up to the first near-tie', async () => {
      const got = await run(async (lines) => {
        const model = await wasmChord.loadModel('/models/smol.gguf');
        const out = [];
        for (const prompt of lines) {
          const ids = [];
          for await (const c of model.generate(prompt, { temperature: 0, maxTokens: 16 })) if (c.token !== undefined) ids.push(c.token);
          out.push(ids);
        }
        const info = model.info;
        model.dispose();
        return { out, info };
      }, prompts.map((l) => l.prompt));
      assert.equal(got.info.arch, 'llama');
      // Isolated pages get the threads build: a pool of one Web Worker per core.
      const cores = await run(() => navigator.hardwareConcurrency);
      assert.equal(got.info.threads, isolated ? cores : 1);
      prompts.forEach((line, i) => {
        // wasm has no fused multiply-add, so its sums round differently from the AVX2 build's:
        // tokens may part at a near-tie (margin < 0.3), never before one.
        const cut = Math.min(decidedPrefix(line), 16);
        const node = nodeIds.get(line.prompt);
        const same = got.out[i].findIndex((t, j) => t !== node[j]);
        console.log(`# ${JSON.stringify(line.prompt)}: ${same < 0 ? 16 : same}/16 tokens equal to Node, ${cut} decided`);
        assert.deepEqual(got.out[i].slice(0, cut), node.slice(0, cut), `browser vs Node for ${JSON.stringify(line.prompt)}`);
        assert.deepEqual(got.out[i].slice(0, cut), line.generated_ids.slice(0, cut), 'refdata on confident positions');
      });
    });

    test('tokenize and the chat template run on the page, equal to Node', async () => {
      const text = 'Hello world, <|im_start|>user';
      const got = await run(async (t) => {
        const model = await wasmChord.loadModel('smol.gguf'); // by its cache name
        const r = {
          plain: model.tokenize(t),
          special: model.tokenize(t, { special: true }),
          chat: model.applyChatTemplate([{ role: 'user', content: 'Hi' }]),
        };
        r.back = model.detokenize(r.plain);
        model.dispose();
        return r;
      }, text);
      const node = await loadNodeModel(modelPath(), { threads: 1 });
      assert.deepEqual(got.plain, node.tokenize(text));
      assert.deepEqual(got.special, node.tokenize(text, { special: true }));
      assert.equal(got.chat, node.applyChatTemplate([{ role: 'user', content: 'Hi' }]));
      assert.equal(got.back, text);
      node.dispose();
    });

    test('break stops a generation, the next one works; an AbortSignal rejects with AbortError', async () => {
      const got = await run(async () => {
        const model = await wasmChord.loadModel('/models/smol.gguf');
        const prompt = 'Once upon a time, there was a little';
        let n = 0;
        for await (const c of model.generate(prompt, { temperature: 0, maxTokens: 64 })) if (++n === 3) break;
        const again = [];
        for await (const c of model.generate(prompt, { temperature: 0, maxTokens: 4 })) again.push(c.token);
        const ac = new AbortController();
        let aborted = null;
        let before = 0;
        try {
          for await (const c of model.generate(prompt, { temperature: 0, maxTokens: 64, signal: ac.signal })) {
            if (++before === 2) ac.abort();
          }
        } catch (e) {
          aborted = { name: e.name, code: e.code };
        }
        const after = [];
        for await (const c of model.chat([{ role: 'user', content: 'Hi' }], { temperature: 0, maxTokens: 3 })) after.push(c.token);
        model.dispose();
        return { n, again, aborted, before, after };
      });
      assert.equal(got.n, 3);
      assert.equal(got.again.length, 4);
      assert.deepEqual(got.aborted, { name: 'AbortError', code: 'ABORT_ERR' });
      assert.equal(got.before, 2, 'no token after the abort');
      assert.equal(got.after.length, 3);
    });

    test('bad files give typed errors and the page keeps working', async () => {
      const got = await run(async () => {
        const codeOf = (p) => p.then(() => 'loaded', (e) => `${e.name}:${e.code}`);
        const u32 = (n) => new Uint8Array(new Uint32Array([n]).buffer);
        const u64 = (n) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
        const cat = (...parts) => {
          const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
          let at = 0;
          for (const p of parts) (out.set(p, at), (at += p.length));
          return out;
        };
        const magic = new TextEncoder().encode('GGUF');
        // Claims 2^40 metadata entries in a 40-byte file.
        const hugeCount = cat(magic, u32(3), u64(0), u64(2 ** 40), new Uint8Array(16));
        // One key whose string array claims 2^31 elements.
        const key = new TextEncoder().encode('tokenizer.ggml.tokens');
        const hugeArray = cat(magic, u32(3), u64(0), u64(1), u64(key.length), key, u32(9), u32(8), u64(2 ** 31), new Uint8Array(64));
        const r = {
          corrupt: await codeOf(wasmChord.loadModel('/models/corrupt.gguf')),
          truncated: await codeOf(wasmChord.loadModel('/models/truncated.gguf')),
          missing: await codeOf(wasmChord.loadModel('/models/nothere.gguf')),
          tooLarge: await codeOf(wasmChord.loadModel('/models/huge.gguf', { cache: false })),
          // Through the cache: refused from the Content-Length, before anything is stored.
          tooLargeCached: await codeOf(wasmChord.loadModel('/models/huge.gguf')),
          cachedAfterHuge: (await wasmChord.listCached()).map((e) => e.name).filter((n) => n.includes('huge')),
          empty: await codeOf(wasmChord.loadModel(new Uint8Array(0))),
          hugeCount: await codeOf(wasmChord.loadModel(hugeCount)),
          hugeArray: await codeOf(wasmChord.loadModel(new Blob([hugeArray]))),
          notCached: await codeOf(wasmChord.loadModel('no-such-model.gguf')),
          path: await codeOf(wasmChord.loadModel('file:///tmp/x.gguf')),
        };
        const model = await wasmChord.loadModel('/models/smol.gguf');
        r.after = model.tokenize('Hello world');
        model.dispose();
        return r;
      });
      assert.equal(got.corrupt, 'WasmChordError:ERR_GGUF_BAD_MAGIC');
      assert.match(got.truncated, /^WasmChordError:ERR_(GGUF_TRUNCATED|TENSOR_OUT_OF_BOUNDS)$/);
      assert.equal(got.missing, 'WasmChordError:ERR_DOWNLOAD_FAILED');
      assert.equal(got.tooLarge, 'WasmChordError:ERR_MODEL_TOO_LARGE');
      assert.equal(got.tooLargeCached, 'WasmChordError:ERR_MODEL_TOO_LARGE');
      assert.deepEqual(got.cachedAfterHuge, []);
      assert.equal(got.empty, 'WasmChordError:ERR_GGUF_BAD_MAGIC');
      assert.equal(got.hugeCount, 'WasmChordError:ERR_GGUF_TRUNCATED');
      assert.equal(got.hugeArray, 'WasmChordError:ERR_GGUF_TRUNCATED');
      assert.equal(got.notCached, 'WasmChordError:ERR_FILE_NOT_FOUND');
      assert.equal(got.path, 'WasmChordError:ERR_UNSUPPORTED_IN_BROWSER');
      assert.deepEqual(got.after, [19556, 905]);
    });

    test('after a reload the model comes from the cache with no download; removeCached deletes it', async () => {
      await run(() => wasmChord.loadModel('/models/smol.gguf').then((m) => m.dispose()));
      await page.reload();
      await page.waitForFunction(() => window.wasmChord);
      const before = gets.filter((g) => g.name === 'smol.gguf').length;
      const got = await run(async () => {
        const phases = new Set();
        const model = await wasmChord.loadModel('/models/smol.gguf', { onProgress: (p) => phases.add(p.phase) });
        const ids = [];
        for await (const c of model.generate('The capital of France is', { temperature: 0, maxTokens: 4 })) ids.push(c.token);
        let inUse = null;
        await wasmChord.removeCached('smol.gguf').catch((e) => (inUse = e.code));
        model.dispose();
        const listed = (await wasmChord.listCached()).map((e) => e.name);
        const removed = await wasmChord.removeCached('smol.gguf');
        const left = (await wasmChord.listCached()).map((e) => e.name);
        return { phases: [...phases], ids, inUse, listed, removed, left };
      });
      assert.equal(gets.filter((g) => g.name === 'smol.gguf').length, before, 'no GET of the model after the reload');
      assert.deepEqual(got.phases, ['cache']);
      assert.deepEqual(got.ids, nodeIds.get('The capital of France is')?.slice(0, 4) ?? got.ids);
      assert.equal(got.inUse, 'ERR_MODEL_IN_USE');
      assert.ok(got.listed.includes('smol.gguf'));
      assert.equal(got.removed, true);
      assert.ok(!got.left.includes('smol.gguf'));
    });

    test('a chat through the page UI streams a reply (screenshot saved)', async () => {
      await page.fill('[data-testid=max-tokens]', '24');
      await page.fill('[data-testid=url-input]', '/models/smol.gguf');
      await page.click('[data-testid=load-url]');
      await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent.trim() === 'ready', null, { timeout: 120_000 });
      await page.fill('[data-testid=prompt]', 'What is the capital of France?');
      await page.click('[data-testid=send]');
      await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent.trim() === 'ready', null, { timeout: 120_000 });
      const reply = await page.textContent('[data-testid=assistant]:last-of-type');
      assert.ok(reply.trim().length > 0, 'the assistant replied');
      await page.screenshot({ path: path.join(artifacts, `demo-chat${isolated ? '-isolated' : ''}.png`), fullPage: true });
    });
  });
}
