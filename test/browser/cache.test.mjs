// The browser model cache (js/browser/cache/) in headless chromium, for both stores (OPFS and
// IndexedDB), against a local HTTP server that counts requests and can cut, stall or throttle
// a response: cache hits without a second GET, checksum refetch, Range resume after a cut, a
// page reload and a browser restart, abort, LRU eviction, removal, in-use refusal (also from
// another tab), two tabs downloading one URL, quota failure, and a module worker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, startServer } from './harness.mjs';

const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** Stored chunk size for the tests: a 3 MB payload spans 12 chunks. */
const CHUNK = 256 * 1024;
const big = randomBytes(3 * 1024 * 1024 + 17);
const files = {
  '/m/big.bin': big,
  '/m/b1.bin': big.subarray(0, 1000),
  '/m/b2.bin': big.subarray(0, 2000),
  '/m/b3.bin': big.subarray(0, 3000),
};
const bigSha = sha256(big);

const log = [];
const plans = new Map();
const stalled = new Set();

/**
 * Serves `files` under /m/ with Range/If-Range; `plans` (by request URL) stall, throttle or add
 * headers. GET /control/cut destroys the stalled responses: a page cuts its download once it
 * has consumed the bytes (helpers.cutWhen), so what it kept does not depend on timing.
 */
function fileRoute(req, res) {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/control/cut') {
    for (const r of stalled) r.destroy();
    res.writeHead(204).end();
    return true;
  }
  if (!u.pathname.startsWith('/m/')) return false;
  log.push({ url: req.url, method: req.method, range: req.headers.range ?? null, ifRange: req.headers['if-range'] ?? null });
  const body = files[u.pathname];
  if (!body) {
    res.writeHead(404).end('not found');
    return true;
  }
  const etag = `"${sha256(body).slice(0, 16)}"`;
  let start = 0;
  let end = body.length - 1;
  let status = 200;
  const headers = { 'accept-ranges': 'bytes', etag, 'content-type': 'application/octet-stream' };
  const range = req.headers.range && /^bytes=(\d+)-(\d*)$/.exec(req.headers.range);
  const ifRange = req.headers['if-range'];
  if (range && (!ifRange || ifRange === etag)) {
    start = Number(range[1]);
    if (range[2]) end = Math.min(end, Number(range[2]));
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return true;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
  }
  const plan = plans.get(req.url) ?? {};
  Object.assign(headers, plan.headers);
  // noLength: a chunked reply, so the client learns the size only by counting.
  if (!plan.noLength) headers['content-length'] = end - start + 1;
  res.writeHead(status, headers);
  const slice = body.subarray(start, end + 1);
  const once = (plan.times ?? 1) > 0;
  if (plan.stallAfter !== undefined && once) {
    plan.times = (plan.times ?? 1) - 1;
    res.write(slice.subarray(0, plan.stallAfter));
    stalled.add(res);
    res.on('close', () => stalled.delete(res));
  } else if (plan.throttle) {
    let at = 0;
    const step = () => {
      if (res.destroyed) return;
      if (at >= slice.length) return void res.end();
      res.write(slice.subarray(at, at + plan.throttle.bytes));
      at += plan.throttle.bytes;
      setTimeout(step, plan.throttle.ms);
    };
    step();
  } else {
    res.end(slice);
  }
  return true;
}

let server;
let browser;
let n = 0;

/** A URL no other test used (a fresh partial-download key) for file `name`. */
const fresh = (name) => server.url(`/m/${name}?t=${n++}`);
/** Sets the server's behaviour for requests of exactly `url`. */
const plan = (url, p) => plans.set(new URL(url).pathname + new URL(url).search, p);
/** GET requests for exactly `url`. */
const gets = (url) => log.filter((r) => r.method === 'GET' && server.url(r.url) === url);

/** Polls `pred` in Node until it holds; fails after `ms` naming what was awaited. */
async function until(pred, what, ms = 10_000) {
  for (const end = Date.now() + ms; !pred(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

before(async () => {
  server = await startServer({
    root,
    handler: fileRoute,
    importMap: { '@noble/hashes/': '/node_modules/@noble/hashes/' },
  });
  browser = await launchChromium();
});

after(async () => {
  for (const r of stalled) r.destroy();
  await browser?.close();
  await server?.close();
});

async function openPage(b = browser) {
  const page = await b.newPage();
  await page.goto(server.url('/__harness/blank.html'));
  return page;
}

/**
 * Runs `fn(cache, arg, helpers)` in `page` (or, with `{ worker: true }`, in a module worker
 * the page starts) and resolves its value; a thrown error rejects with its name, code, message.
 */
async function run(page, fn, arg, { worker = false } = {}) {
  const out = await page.evaluate(
    async ([src, arg, worker]) => {
      if (worker) {
        const w = new Worker('/test/browser/fixtures/cache-worker.js', { type: 'module' });
        try {
          return await new Promise((resolve, reject) => {
            w.onmessage = (e) => resolve(e.data);
            w.onerror = (e) => reject(new Error(`worker: ${e.message}`));
            w.postMessage({ src, arg });
          });
        } finally {
          w.terminate();
        }
      }
      const cache = await import('/js/browser/cache/index.js');
      const { runSource } = await import('/test/browser/fixtures/cache-helpers.js');
      return runSource(cache, src, arg);
    },
    [fn.toString(), arg, worker],
  );
  if (out.ok) return out.value;
  const e = new Error(`${out.error.name}: ${out.error.message}`);
  Object.assign(e, { browserName: out.error.name, code: out.error.code, browserCause: out.error.cause });
  throw e;
}

const code = (c) => (e) => {
  assert.equal(e.code, c, e.message);
  return true;
};

for (const backend of ['opfs', 'indexeddb']) {
  describe(`browser cache (${backend})`, () => {
    let page;
    let cacheN = 0;
    /** Options selecting a fresh, empty cache of this backend. */
    const freshOpts = () => ({ cacheBackend: backend, cacheName: `t-${backend}-${cacheN++}`, _chunkBytes: CHUNK });

    before(async () => {
      page = await openPage();
    });
    after(async () => {
      await page?.close();
    });

    test('download_then_cache_hit_without_second_get_and_readCached_bytes_equal', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      const r = await run(
        page,
        async (c, { url, opts }, h) => {
          const prog = [];
          const first = await c.downloadModel(url, { ...opts, onProgress: (p) => prog.push(p) });
          const prog2 = [];
          const second = await c.downloadModel(url, { ...opts, onProgress: (p) => prog2.push(p) });
          const list = await c.listCached(opts);
          const read = await h.digest(c.readCached(first, { ...opts, chunkBytes: 100000 }));
          const whole = await h.digest(c.readCached('big.bin', opts));
          const { blobs } = await h.inspect(opts);
          return { first, second, last: prog.at(-1), count: prog.length, prog2, list, read, whole, blobs, kind: await c.cacheBackend(opts) };
        },
        { url, opts },
      );
      assert.equal(r.kind, backend);
      assert.equal(gets(url).length, 1, 'the hit made no request');
      assert.deepEqual(r.first, { name: 'big.bin', path: null, url, size: big.length, sha256: bigSha });
      assert.deepEqual(r.second, r.first);
      assert.deepEqual(r.last, { loaded: big.length, total: big.length });
      assert.ok(r.count > 2, 'progress while downloading');
      assert.deepEqual(r.prog2, [{ loaded: big.length, total: big.length }]);
      assert.equal(r.list.length, 1);
      assert.equal(r.list[0].name, 'big.bin');
      assert.equal(r.list[0].managed, true);
      assert.equal(r.list[0].inUse, false);
      assert.equal(r.list[0].path, null);
      assert.ok(r.list[0].addedAt > 0 && r.list[0].lastUsed >= r.list[0].addedAt);
      assert.equal(r.read.sha256, bigSha);
      assert.equal(r.read.bytes, big.length);
      assert.ok(r.read.max <= 100000);
      assert.equal(r.whole.sha256, bigSha);
      assert.equal(r.whole.max, CHUNK, 'stored in chunks of _chunkBytes');
      assert.equal(r.whole.pieces, Math.ceil(big.length / CHUNK));
      assert.equal(r.blobs.length, 1);
    });

    test('sha256_mismatch_refetches_once_then_rejects_with_nothing_stored', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      const wrong = 'ab'.repeat(32);
      const r = await run(
        page,
        async (c, { url, opts, wrong }, h) => {
          const err = await c.downloadModel(url, { ...opts, sha256: wrong }).catch((e) => ({ code: e.code, name: e.name }));
          return { err, list: await c.listCached(opts), raw: await h.inspect(opts) };
        },
        { url, opts, wrong },
      );
      assert.deepEqual(r.err, { code: 'ERR_CHECKSUM_MISMATCH', name: 'WasmChordError' });
      assert.equal(gets(url).length, 2, 'deleted and fetched once more');
      assert.deepEqual(r.list, []);
      assert.deepEqual(r.raw.index.partials, {});
      assert.deepEqual(r.raw.blobs, []);

      // A sha256 the server states: wrong → the same; right (Repr-Digest) → stored.
      const url2 = fresh('big.bin');
      plan(url2, { headers: { 'x-checksum-sha256': wrong }, times: 0 });
      const url3 = fresh('big.bin');
      const digest = `sha-256=:${createHash('sha256').update(big).digest('base64')}:`;
      plan(url3, { headers: { 'repr-digest': digest }, times: 0 });
      const r2 = await run(
        page,
        async (c, { url2, url3, opts }) => {
          const err = await c.downloadModel(url2, opts).catch((e) => e.code);
          const ok = await c.downloadModel(url3, opts);
          return { err, ok };
        },
        { url2, url3, opts },
      );
      assert.equal(r2.err, 'ERR_CHECKSUM_MISMATCH');
      assert.equal(gets(url2).length, 2);
      assert.equal(r2.ok.sha256, bigSha);
    });

    test('verify_rehashes_a_hit_and_refetches_a_corrupt_entry', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      const r = await run(
        page,
        async (c, { url, opts }, h) => {
          const e = await c.downloadModel(url, opts);
          await c.downloadModel(url, { ...opts, verify: true }); // intact: a hit
          await h.corrupt(opts, e.sha256, 3);
          const stale = await h.digest(c.readCached(e, opts));
          const again = await c.downloadModel(url, { ...opts, verify: true });
          return { e, stale, again, read: await h.digest(c.readCached(again, opts)), raw: await h.inspect(opts) };
        },
        { url, opts },
      );
      assert.notEqual(r.stale.sha256, bigSha, 'the chunk was corrupted');
      assert.equal(gets(url).length, 2, 'one GET, then one after the corruption was found');
      assert.deepEqual(r.again, r.e);
      assert.equal(r.read.sha256, bigSha);
      assert.equal(r.raw.blobs.length, 1, 'the corrupt copy was deleted');
    });

    test('http_error_rejects_download_failed', async () => {
      const url = server.url(`/m/missing.bin?t=${n++}`);
      const err = await run(page, (c, { url, opts }) => c.downloadModel(url, opts), { url, opts: freshOpts() }).catch((e) => e);
      assert.equal(err.code, 'ERR_DOWNLOAD_FAILED');
    });

    test('range_resume_after_cut_connection_byte_identical', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      plan(url, { stallAfter: 1234567 });
      const r = await run(
        page,
        async (c, { url, opts }, h) => {
          const err = await c.downloadModel(url, { ...opts, retries: 0, onProgress: h.cutWhen(1234567) }).catch((e) => e.code);
          const part = (await h.inspect(opts)).index.partials[url];
          const listed = await c.listCached(opts);
          const e = await c.downloadModel(url, opts);
          const read = await h.digest(c.readCached(e, opts));
          return { err, part, listed, e, read, raw: await h.inspect(opts) };
        },
        { url, opts },
      );
      assert.equal(r.err, 'ERR_DOWNLOAD_FAILED');
      assert.deepEqual(r.listed, [], 'a partial download is not listed');
      assert.equal(r.part.bytes, 1234567, 'kept every byte that arrived');
      assert.ok(r.part.hash, 'hash state saved');
      const reqs = gets(url);
      assert.equal(reqs.length, 2);
      assert.equal(reqs[1].range, `bytes=${r.part.bytes}-`);
      assert.match(reqs[1].ifRange, /^"[0-9a-f]{16}"$/);
      assert.equal(r.e.sha256, bigSha);
      assert.equal(r.read.sha256, bigSha);
      assert.deepEqual(r.raw.index.partials, {});
      assert.equal(r.raw.blobs.length, 1);

      // With retries (the default) one call survives the cut; `_rehash` resumes the hash by
      // reading the stored chunks back instead of from the saved state.
      const url2 = fresh('big.bin');
      plan(url2, { stallAfter: 500000 });
      const e2 = await run(
        page,
        (c, { url2, opts }, h) => c.downloadModel(url2, { ...opts, _rehash: true, onProgress: h.cutWhen(500000) }),
        { url2, opts: freshOpts() },
      );
      assert.equal(e2.sha256, bigSha);
      assert.equal(gets(url2).length, 2);
      assert.equal(gets(url2).at(-1).range, 'bytes=500000-');
    });

    test('range_resume_after_page_reload', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      const stallAfter = 5 * CHUNK + 1000;
      plan(url, { stallAfter });
      const p = await openPage();
      try {
        await run(
          p,
          async (c, { url, opts, stallAfter }, h) => {
            c.downloadModel(url, opts).catch(() => {});
            // Wait until the five full chunks are stored and recorded, then reload mid-download.
            await h.until(async () => (await h.inspect(opts)).index?.partials?.[url]?.bytes >= stallAfter - 1000);
          },
          { url, opts, stallAfter },
        );
        await p.reload();
        const r = await run(
          p,
          async (c, { url, opts }, h) => {
            const part = (await h.inspect(opts)).index.partials[url];
            const e = await c.downloadModel(url, opts);
            return { part, e, read: await h.digest(c.readCached(e, opts)) };
          },
          { url, opts },
        );
        // The sixth chunk was in memory: it is lost with the page, or stored if the page's
        // dying fetch rejected in time for the abort path to store it.
        assert.ok([5 * CHUNK, stallAfter].includes(r.part.bytes), `resumes after ${r.part.bytes} bytes`);
        const reqs = gets(url);
        assert.equal(reqs.length, 2);
        assert.equal(reqs[1].range, `bytes=${r.part.bytes}-`);
        assert.equal(r.e.sha256, bigSha);
        assert.equal(r.read.sha256, bigSha);
      } finally {
        await p.close();
      }
    });

    test('abort_keeps_partial_data_and_a_later_call_resumes', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      plan(url, { stallAfter: 700000 });
      const r = await run(
        page,
        async (c, { url, opts }, h) => {
          const ac = new AbortController();
          const err = await c
            .downloadModel(url, { ...opts, signal: ac.signal, onProgress: (p) => p.loaded >= 700000 && ac.abort() })
            .catch((e) => ({ name: e.name, code: e.code }));
          const part = (await h.inspect(opts)).index.partials[url];
          const listed = await c.listCached(opts);
          const e = await c.downloadModel(url, opts);
          return { err, part, listed, e };
        },
        { url, opts },
      );
      assert.deepEqual(r.err, { name: 'AbortError', code: 'ABORT_ERR' });
      assert.equal(r.part.bytes, 700000, 'the unfinished chunk was stored on abort');
      assert.deepEqual(r.listed, []);
      assert.equal(gets(url).at(-1).range, 'bytes=700000-');
      assert.equal(r.e.sha256, bigSha);
    });

    test('lru_prune_with_maxCacheBytes_keeps_new_entry_skips_in_use', async () => {
      const [u1, u2, u3] = ['b1.bin', 'b2.bin', 'b3.bin'].map(fresh);
      const r = await run(
        page,
        async (c, { u1, u2, u3, opts }) => {
          await c.downloadModel(u1, opts);
          await c.downloadModel(u2, opts);
          await c.findCached('b1.bin', opts); // b1 is now more recent than b2
          await c.downloadModel(u3, { ...opts, maxCacheBytes: 4500 });
          const afterAdd = (await c.listCached(opts)).map((e) => e.name);
          const release = c.retain('b1.bin');
          const pruned = await c.pruneCache(0, opts);
          const kept = (await c.listCached(opts)).map((e) => [e.name, e.inUse]);
          release();
          const pruned2 = await c.pruneCache(0, opts);
          return { afterAdd, pruned, kept, pruned2, left: await c.listCached(opts) };
        },
        { u1, u2, u3, opts: freshOpts() },
      );
      assert.deepEqual(r.afterAdd, ['b3.bin', 'b1.bin'], 'b2 (least recently used) evicted');
      assert.deepEqual(r.pruned, ['b3.bin']);
      assert.deepEqual(r.kept, [['b1.bin', true]]);
      assert.deepEqual(r.pruned2, ['b1.bin']);
      assert.deepEqual(r.left, []);
    });

    test('find_remove_and_in_use_refusal_here_and_in_another_tab', async () => {
      const url = fresh('b2.bin');
      const opts = freshOpts();
      const other = await openPage();
      try {
        const r = await run(
          page,
          async (c, { url, opts }) => {
            const e = await c.downloadModel(url, opts);
            const byName = await c.findCached('b2.bin', opts);
            const byUrl = await c.findCached(url, opts);
            const byPrefix = await c.findCached(e.sha256.slice(0, 8).toUpperCase(), opts);
            const short = await c.findCached(e.sha256.slice(0, 7), opts);
            const none = await c.findCached('nope.gguf', opts);
            globalThis.release = c.retain(e.sha256);
            const listed = await c.listCached(opts);
            const err = await c.removeCached('b2.bin', opts).catch((x) => x.code);
            return { e, byName, byUrl, byPrefix, short, none, listed, err };
          },
          { url, opts },
        );
        assert.equal(r.byName.sha256, r.e.sha256);
        assert.equal(r.byUrl.sha256, r.e.sha256);
        assert.equal(r.byPrefix.sha256, r.e.sha256);
        assert.ok(r.byPrefix.lastUsed > r.byName.lastUsed, 'findCached records the use');
        assert.equal(r.short, null);
        assert.equal(r.none, null);
        assert.equal(r.listed[0].inUse, true);
        assert.equal(r.err, 'ERR_MODEL_IN_USE');
        // Another tab sees the mark (a shared Web Lock) and is refused too.
        const fromOther = await run(other, async (c, { opts }) => ({
          listed: await c.listCached(opts),
          err: await c.removeCached('b2.bin', opts).catch((x) => x.message),
        }), { opts });
        assert.equal(fromOther.listed[0].inUse, true);
        assert.match(fromOther.err, /in another tab or worker/);
        const r2 = await run(
          page,
          async (c, { opts, sha }, h) => {
            globalThis.release();
            const removed = await c.removeCached(sha.slice(0, 12), opts);
            const again = await c.removeCached(sha.slice(0, 12), opts);
            return { removed, again, list: await c.listCached(opts), raw: await h.inspect(opts) };
          },
          { opts, sha: r.e.sha256 },
        );
        assert.equal(r2.removed, true);
        assert.equal(r2.again, false);
        assert.deepEqual(r2.list, []);
        assert.deepEqual(r2.raw.blobs, []);
      } finally {
        await other.close();
      }
    });

    test('two_tabs_downloading_one_url_yield_one_intact_entry', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      plan(url, { throttle: { bytes: 64 * 1024, ms: 10 } });
      const [a, b, c] = await Promise.all([openPage(), openPage(), openPage()]);
      try {
        // Two calls in tab a share one download; tab b waits for the URL's lock; tab c gives
        // up while waiting.
        const twice = (c, { url, opts }) => Promise.all([c.downloadModel(url, opts), c.downloadModel(url, opts)]);
        const once = (c, { url, opts }) => c.downloadModel(url, opts);
        const giveUp = async (c, { url, opts }) => {
          const t = Date.now();
          const err = await c.downloadModel(url, { ...opts, signal: AbortSignal.timeout(100) }).catch((e) => e.name);
          return { err, ms: Date.now() - t };
        };
        const pa = run(a, twice, { url, opts });
        const pb = run(b, once, { url, opts });
        // Tab c starts only once a download is under way, so it waits for a held lock: on a
        // slow machine it could otherwise take the lock first and make a GET of its own.
        await until(() => gets(url).length > 0, 'a GET of the shared URL');
        const [[ea, ea2], eb, ec] = await Promise.all([pa, pb, run(c, giveUp, { url, opts })]);
        assert.equal(ea.sha256, bigSha);
        assert.deepEqual(ea2, ea);
        assert.deepEqual(eb, ea);
        assert.equal(ec.err, 'AbortError');
        assert.ok(ec.ms < 400, `abort while waiting for the lock took ${ec.ms} ms`);
        assert.equal(gets(url).length, 1, 'the second tab waited for the first and found its entry');
        const r = await run(
          b,
          async (c, { opts }, h) => {
            const list = await c.listCached(opts);
            return { list, read: await h.digest(c.readCached(list[0], opts)), raw: await h.inspect(opts) };
          },
          { opts },
        );
        assert.equal(r.list.length, 1);
        assert.equal(r.read.sha256, bigSha);
        assert.equal(r.raw.blobs.length, 1);
        assert.deepEqual(r.raw.index.partials, {});
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('quota_failure_rejects_storage_quota_and_leaves_no_entry', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      const r = await run(
        page,
        async (c, { url, opts }, h) => {
          const err = await c
            .downloadModel(url, { ...opts, _wrapStore: h.quotaAfter(1000000) })
            .catch((e) => ({ code: e.code, cause: e.cause?.name }));
          return { err, list: await c.listCached(opts), raw: await h.inspect(opts) };
        },
        { url, opts },
      );
      assert.deepEqual(r.err, { code: 'ERR_STORAGE_QUOTA', cause: 'QuotaExceededError' });
      assert.deepEqual(r.list, []);
      assert.deepEqual(r.raw.index.entries, {});
      assert.deepEqual(r.raw.index.partials, {});
      assert.deepEqual(r.raw.blobs, [], 'the stored chunks were deleted');
    });

    test('a_download_without_content_length_past_max_bytes_is_refused_and_its_partial_dropped', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      plan(url, { noLength: true });
      // Past two stored chunks, so something of it was written before the limit was seen.
      const max = 2 * CHUNK + 1;
      const r = await run(
        page,
        async (c, { url, opts, max }, h) => {
          const err = await c.downloadModel(url, { ...opts, _maxBytes: max }).catch((e) => e.code);
          return { err, list: await c.listCached(opts), raw: await h.inspect(opts) };
        },
        { url, opts, max },
      );
      assert.equal(gets(url).length, 1);
      assert.equal(r.err, 'ERR_MODEL_TOO_LARGE');
      assert.deepEqual(r.list, []);
      assert.deepEqual(r.raw.index.partials, {});
      assert.deepEqual(r.raw.blobs, [], 'the stored chunks were deleted');
    });

    test('module_worker_downloads_and_the_window_reads_the_same_entry', async () => {
      const url = fresh('big.bin');
      const opts = freshOpts();
      plan(url, { stallAfter: 3 * CHUNK + 77 });
      const w = await run(
        page,
        async (c, { url, opts, cut }, h) => {
          const e = await c.downloadModel(url, { ...opts, onProgress: h.cutWhen(cut) });
          return { e, kind: await c.cacheBackend({}), read: await h.digest(c.readCached(e, opts)) };
        },
        { url, opts, cut: 3 * CHUNK + 77 },
        { worker: true },
      );
      assert.equal(w.kind, 'opfs', "'auto' picks OPFS in a chromium worker");
      assert.equal(w.e.sha256, bigSha);
      assert.equal(w.read.sha256, bigSha);
      assert.deepEqual(gets(url).map((r) => r.range), [null, `bytes=${3 * CHUNK + 77}-`], 'resumed once after the cut');
      const r = await run(
        page,
        async (c, { opts }, h) => {
          const list = await c.listCached(opts);
          return { list, read: await h.digest(c.readCached(list[0], opts)) };
        },
        { opts },
      );
      assert.equal(r.list.length, 1);
      assert.equal(r.read.sha256, bigSha);
    });
  });
}

test('range_resume_after_browser_restart_same_profile', async () => {
  // Both stores in one restart: a cut download in the first browser, resumed in the second.
  const cases = ['opfs', 'indexeddb'].map((backend) => ({
    url: fresh('big.bin'),
    opts: { cacheBackend: backend, cacheName: `restart-${backend}`, _chunkBytes: CHUNK },
  }));
  for (const { url } of cases) plan(url, { stallAfter: 2 * CHUNK + 5 });
  const b1 = await launchChromium();
  let b2;
  try {
    const p1 = await openPage(b1);
    for (const { url, opts } of cases) {
      const cut = (c, { url, opts, at }, h) => c.downloadModel(url, { ...opts, retries: 0, onProgress: h.cutWhen(at) });
      const err = await run(p1, cut, { url, opts, at: 2 * CHUNK + 5 }).catch((e) => e);
      assert.equal(err.code, 'ERR_DOWNLOAD_FAILED');
    }
    await b1.close({ keepProfile: true });
    b2 = await launchChromium({ userDataDir: b1.userDataDir });
    const p2 = await openPage(b2);
    for (const { url, opts } of cases) {
      const r = await run(
        p2,
        async (c, { url, opts }, h) => {
          const e = await c.downloadModel(url, opts);
          return { e, read: await h.digest(c.readCached(e, opts)) };
        },
        { url, opts },
      );
      assert.equal(r.e.sha256, bigSha, opts.cacheBackend);
      assert.equal(r.read.sha256, bigSha);
      const reqs = gets(url);
      assert.equal(reqs.length, 2);
      assert.equal(reqs[1].range, `bytes=${2 * CHUNK + 5}-`);
    }
  } finally {
    await (b2 ?? b1).close();
  }
});

test('cacheBackend_auto_picks_opfs_and_rejects_unknown_values', async () => {
  const page = await openPage();
  try {
    const r = await run(page, async (c) => ({
      auto: await c.cacheBackend(),
      opfs: await c.cacheBackend({ cacheBackend: 'opfs' }),
      idb: await c.cacheBackend({ cacheBackend: 'indexeddb' }),
      bad: await c.cacheBackend({ cacheBackend: 'floppy' }).catch((e) => e.code),
      badName: await c.listCached({ cacheName: '../x' }).catch((e) => e.code),
    }));
    assert.deepEqual(r, { auto: 'opfs', opfs: 'opfs', idb: 'indexeddb', bad: 'ERR_INVALID_ARGUMENT', badName: 'ERR_INVALID_ARGUMENT' });
  } finally {
    await page.close();
  }
});
