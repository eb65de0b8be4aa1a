// The model cache and downloads against a local HTTP server (127.0.0.1, no network): resume
// after a cut connection, checksum mismatch and refetch, shared concurrent downloads, LRU
// eviction, progress events, abort and resume, loading by URL and by cached name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  WasmChordError,
  downloadModel,
  listCached,
  loadModel,
  pruneCache,
  removeCached,
} from '../../js/index.js';
import { modelPath } from './models.mjs';
import { serve, sha256 } from './serve.mjs';

const blob = randomBytes(3 * 1024 * 1024 + 17);
const blobSha = sha256(blob);
let server;
let tmp;
let n = 0;
/** A fresh empty cache directory. */
const freshDir = () => path.join(tmp, `cache${n++}`);

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-cache-'));
  server = await serve({
    '/blob.bin': blob,
    '/b1.bin': blob.subarray(0, 1000),
    '/b2.bin': blob.subarray(0, 2000),
    '/b3.bin': blob.subarray(0, 3000),
    '/smol.gguf': readFileSync(modelPath()),
  });
});
after(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const code = (c) => (e) => {
  assert.ok(e instanceof WasmChordError, `${e?.name}: ${e?.message}`);
  assert.equal(e.code, c, e.message);
  return true;
};

test('download_resumes_after_cut_connection_byte_identical', async () => {
  const dir = freshDir();
  const p = '/blob.bin';
  const before = server.gets(p).length;
  // Without retries, the cut fails the call and keeps the partial file.
  server.plan(p, { cutAfter: 1234567 });
  await assert.rejects(downloadModel(server.url(p), { cacheDir: dir, retries: 0 }), code('ERR_DOWNLOAD_FAILED'));
  const partial = path.join(dir, 'blob.bin.partial');
  // fetch drops body chunks it had queued but not yet handed over when the stream errors, so
  // the partial file holds what was consumed: up to the cut, never more.
  const kept = statSync(partial).size;
  assert.ok(kept > 0 && kept <= 1234567, `partial file of ${kept} bytes`);
  // The next call continues with a Range request from exactly there.
  const e = await downloadModel(server.url(p), { cacheDir: dir });
  const reqs = server.gets(p).slice(before);
  assert.equal(reqs.length, 2);
  assert.equal(reqs[1].range, `bytes=${kept}-`);
  assert.equal(e.sha256, blobSha);
  assert.equal(sha256(readFileSync(e.path)), blobSha);
  assert.ok(!existsSync(partial));
  // With retries (the default) one call survives the cut by itself.
  const dir2 = freshDir();
  server.plan(p, { cutAfter: 500000 });
  const e2 = await downloadModel(server.url(p), { cacheDir: dir2 });
  assert.equal(sha256(readFileSync(e2.path)), blobSha);
  const resumed = /^bytes=(\d+)-$/.exec(server.gets(p).at(-1).range ?? '');
  assert.ok(resumed && Number(resumed[1]) > 0 && Number(resumed[1]) <= 500000, `resumed with ${server.gets(p).at(-1).range}`);
});

test('corrupt_cache_entry_is_detected_and_refetched', async () => {
  const dir = freshDir();
  const p = '/blob.bin';
  server.plan(p, {});
  const e = await downloadModel(server.url(p), { cacheDir: dir, sha256: blobSha });
  const bytes = readFileSync(e.path);
  bytes[1000] ^= 0xff;
  writeFileSync(e.path, bytes);
  const before = server.gets(p).length;
  const again = await downloadModel(server.url(p), { cacheDir: dir, sha256: blobSha });
  assert.equal(server.gets(p).length, before + 1, 'refetched once');
  assert.equal(sha256(readFileSync(again.path)), blobSha);
  // Intact and unchanged: no request at all.
  await downloadModel(server.url(p), { cacheDir: dir, sha256: blobSha });
  assert.equal(server.gets(p).length, before + 1);
});

test('checksum_mismatch_refetches_once_then_fails', async () => {
  const dir = freshDir();
  const p = '/b1.bin';
  const before = server.gets(p).length;
  const wrong = sha256(Buffer.from('something else'));
  await assert.rejects(downloadModel(server.url(p), { cacheDir: dir, sha256: wrong }), code('ERR_CHECKSUM_MISMATCH'));
  assert.equal(server.gets(p).length, before + 2);
  assert.deepEqual(await listCached({ cacheDir: dir }), []);
  assert.ok(!existsSync(path.join(dir, 'b1.bin')) && !existsSync(path.join(dir, 'b1.bin.partial')));
});

test('server_stated_sha256_is_verified', async () => {
  const dir = freshDir();
  const p = '/b2.bin';
  server.plan(p, { headers: { 'x-checksum-sha256': sha256(Buffer.from('not it')) } });
  await assert.rejects(downloadModel(server.url(p), { cacheDir: dir }), code('ERR_CHECKSUM_MISMATCH'));
  server.plan(p, { headers: { 'x-checksum-sha256': sha256(blob.subarray(0, 2000)) } });
  const e = await downloadModel(server.url(p), { cacheDir: dir });
  assert.equal(e.size, 2000);
});

test('concurrent_loads_of_one_url_share_one_download', async () => {
  const dir = freshDir();
  const p = '/smol.gguf';
  const before = server.gets(p).length;
  const [a, b] = await Promise.all([
    loadModel(server.url(p), { cacheDir: dir }),
    loadModel(server.url(p), { cacheDir: dir }),
  ]);
  try {
    assert.equal(server.gets(p).length, before + 1, 'one GET for the body');
    assert.equal(a.info.arch, 'llama');
    assert.deepEqual(a.tokenize('Hello world'), b.tokenize('Hello world'));
    const [entry] = await listCached({ cacheDir: dir });
    assert.equal(entry.name, 'smol.gguf');
    assert.equal(entry.sha256, sha256(readFileSync(modelPath())));
    assert.ok(entry.inUse);
    // A loaded model is not removed.
    await assert.rejects(removeCached('smol.gguf', { cacheDir: dir }), code('ERR_MODEL_IN_USE'));
  } finally {
    a.dispose();
    b.dispose();
  }
  // By name from the cache, without a request.
  const byName = await loadModel('smol.gguf', { cacheDir: dir });
  byName.dispose();
  assert.equal(server.gets(p).length, before + 1);
  assert.equal(await removeCached('smol.gguf', { cacheDir: dir }), true);
  assert.deepEqual(await listCached({ cacheDir: dir }), []);
  await assert.rejects(loadModel('smol.gguf', { cacheDir: dir }), code('ERR_FILE_NOT_FOUND'));
});

test('lru_eviction_under_size_cap', async () => {
  const dir = freshDir();
  const opts = { cacheDir: dir };
  await downloadModel(server.url('/b1.bin'), opts);
  await downloadModel(server.url('/b2.bin'), opts);
  // Using b1 again makes b2 the least recently used.
  await downloadModel(server.url('/b1.bin'), opts);
  await downloadModel(server.url('/b3.bin'), { ...opts, maxCacheBytes: 4500 });
  const names = (await listCached(opts)).map((e) => e.name);
  assert.deepEqual(names.sort(), ['b1.bin', 'b3.bin']);
  // An explicit prune keeps the most recent under the cap.
  assert.deepEqual(await pruneCache(3000, opts), ['b1.bin']);
  assert.deepEqual((await listCached(opts)).map((e) => e.name), ['b3.bin']);
});

test('progress_events_are_monotonic_and_end_at_total', async () => {
  const dir = freshDir();
  server.plan('/blob.bin', { cutAfter: 700000 });
  const events = [];
  await downloadModel(server.url('/blob.bin'), { cacheDir: dir, onProgress: (e) => events.push(e) });
  assert.ok(events.length > 2);
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i].loaded >= events[i - 1].loaded, `event ${i} goes back`);
  }
  assert.deepEqual(events.at(-1), { loaded: blob.length, total: blob.length });
  assert.ok(events.every((e) => e.total === blob.length || e.total === 0));
});

test('abort_mid_download_is_abort_error_and_later_call_resumes', async () => {
  const dir = freshDir();
  const p = '/blob.bin';
  server.plan(p, { stallAfter: 1000000 });
  const ac = new AbortController();
  const started = server.gets(p).length;
  const promise = downloadModel(server.url(p), {
    cacheDir: dir,
    signal: ac.signal,
    onProgress: ({ loaded }) => {
      if (loaded >= 1000000) ac.abort();
    },
  });
  await assert.rejects(promise, (e) => e.name === 'AbortError');
  assert.equal(statSync(path.join(dir, 'blob.bin.partial')).size, 1000000);
  server.plan(p, {});
  const e = await downloadModel(server.url(p), { cacheDir: dir });
  assert.equal(server.gets(p).length, started + 2);
  assert.equal(server.gets(p).at(-1).range, 'bytes=1000000-');
  assert.equal(e.sha256, blobSha);
  // An already-aborted signal rejects at once.
  await assert.rejects(downloadModel(server.url(p), { cacheDir: dir, signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
});

test('http_errors_are_err_download_failed', async () => {
  await assert.rejects(downloadModel(server.url('/missing.gguf'), { cacheDir: freshDir() }), (e) => {
    code('ERR_DOWNLOAD_FAILED')(e);
    assert.match(e.message, /404/);
    return true;
  });
  await assert.rejects(downloadModel('ftp://example.invalid/x', { cacheDir: freshDir() }), code('ERR_INVALID_ARGUMENT'));
});

test('index_is_json_with_source_size_sha_last_use', async () => {
  const dir = freshDir();
  await downloadModel(server.url('/b2.bin'), { cacheDir: dir });
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
  const e = index.entries[sha256(blob.subarray(0, 2000))];
  assert.equal(e.url, server.url('/b2.bin'));
  assert.equal(e.file, 'b2.bin');
  assert.equal(e.size, 2000);
  assert.ok(e.lastUsed > 0);
  // Unindexed .gguf files (as the fetch script leaves them) are listed, not managed.
  writeFileSync(path.join(dir, 'other.gguf'), 'x');
  const list = await listCached({ cacheDir: dir });
  assert.deepEqual(list.map((x) => [x.name, x.managed]), [['b2.bin', true], ['other.gguf', false]]);
});
