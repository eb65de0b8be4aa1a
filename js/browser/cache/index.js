// The browser model cache: the API of the Node cache (js/fetch.js, js/cache/index.js) over
// OPFS or IndexedDB, for a Window and a module Worker alike (no DOM APIs). Models are stored in
// chunks under an index keyed by sha256 (entries.js); downloads resume across reloads
// (download.js); `readCached` streams a model chunk by chunk, so it never sits in one JS buffer.
//
//   index.js       this API
//   download.js    downloadModel: fetch, Range resume, checksum, one download per URL
//   entries.js     the index record, LRU times, in-use marks, eviction
//   hash-state.js  SHA-256 whose state is saved with a partial download
//   locks.js       Web Locks (index updates, downloads, in-use marks)
//   backend.js     OPFS or IndexedDB, and the store interface both implement
//   store-opfs.js  store-idb.js
//
// Every option bag takes `cacheBackend` ('auto' | 'opfs' | 'indexeddb') and `cacheName`.
import { WasmChordError } from '../../errors.js';
import { openStore } from './backend.js';
import {
  deleteBlobs,
  inUse,
  intact,
  matchEntry,
  prune,
  publicEntry,
  readIndex,
  retain,
  touch,
  updateIndex,
  usedKeys,
} from './entries.js';
import { lockNames } from './locks.js';

export { cacheBackend } from './backend.js';
export { downloadModel } from './download.js';
export { retain };

/** The cache's entries (complete, verified models only), most recently used first. */
export async function listCached(opts = {}) {
  const s = await openStore(opts);
  const index = await readIndex(s);
  const { anywhere } = await usedKeys();
  const out = [];
  for (const e of Object.values(index.entries)) {
    if (await intact(s, e)) out.push(publicEntry(e, inUse(e, anywhere)));
  }
  return out.sort((a, b) => b.lastUsed - a.lastUsed);
}

/**
 * The entry named by `key` (file name, URL, or sha256 prefix of >= 8 hex digits), or null.
 * Records the use (lastUsed), so the entry is the last to be evicted.
 */
export async function findCached(key, opts = {}) {
  const s = await openStore(opts);
  const e = matchEntry(await readIndex(s), key);
  if (!e || !(await intact(s, e))) return null;
  const touched = await touch(s, e.sha256);
  if (!touched) return null;
  const { anywhere } = await usedKeys();
  return publicEntry(touched, inUse(touched, anywhere));
}

/**
 * Removes a cached model (by file name, URL or sha256 prefix) with any partial download of it
 * not in progress; resolves whether anything was removed. Rejects with ERR_MODEL_IN_USE while
 * a retain() in this or another context of the origin holds it.
 */
export async function removeCached(nameOrSha, opts = {}) {
  const s = await openStore(opts);
  const key = String(nameOrSha);
  const { anywhere, here } = await usedKeys();
  const dl = `${s.lockPrefix}:download:`;
  const downloading = new Set((await lockNames(dl)).map((n) => n.slice(dl.length)));
  const drop = [];
  const removed = await updateIndex(s, (index) => {
    const e = matchEntry(index, key);
    if (e && inUse(e, anywhere)) {
      const where = inUse(e, here) ? 'in this context' : 'in another tab or worker';
      throw new WasmChordError('ERR_MODEL_IN_USE', `${e.name} is in use ${where}; release it first`);
    }
    if (e) {
      delete index.entries[e.sha256];
      drop.push(e.blob);
    }
    for (const p of Object.values(index.partials)) {
      const named = p.name === key || p.url === key || (e && (p.name === e.name || p.url === e.url));
      if (!named || downloading.has(p.url)) continue;
      delete index.partials[p.url];
      drop.push(p.blob);
    }
    return { write: drop.length > 0, value: drop.length > 0 };
  });
  await deleteBlobs(s, drop);
  return removed;
}

/**
 * Evicts least-recently-used entries not in use until they total <= `maxBytes`; resolves their
 * names. Also deletes stored data no index record names (left by an interrupted operation).
 */
export async function pruneCache(maxBytes, opts = {}) {
  return prune(await openStore(opts), maxBytes);
}

/**
 * The stored bytes of `entry` (an entry from this API, or a key as findCached takes) as an
 * async iterable of Uint8Array pieces, in order, each at most `chunkBytes` (default: the
 * stored chunk, 16 MiB). Pieces of one stored chunk are views of one buffer (don't transfer
 * one while reading the next). The entry counts as in use while the iteration runs.
 */
export async function* readCached(entry, opts = {}) {
  const { chunkBytes } = opts;
  if (chunkBytes !== undefined && !(Number.isSafeInteger(chunkBytes) && chunkBytes > 0)) {
    throw new WasmChordError('ERR_INVALID_ARGUMENT', `invalid argument 'chunkBytes': expected a positive integer, got ${chunkBytes}`);
  }
  const s = await openStore(opts);
  const index = await readIndex(s);
  const key = typeof entry === 'object' && entry !== null ? entry.sha256 : entry;
  const e = (typeof entry === 'object' && entry !== null ? index.entries[entry.sha256] : null) ?? matchEntry(index, key);
  if (!e) throw new WasmChordError('ERR_FILE_NOT_FOUND', `${entry?.name ?? key} is not in the ${s.kind} cache`);
  const release = retain(e.sha256);
  const get = (i) => {
    const p = s.store.getChunk(e.blob, i);
    p.catch(() => {}); // a read-ahead the consumer never reaches must not go unhandled
    return p;
  };
  try {
    let read = 0;
    let next = e.chunks > 0 ? get(0) : null;
    for (let i = 0; i < e.chunks; i++) {
      let c;
      try {
        c = await next;
      } catch (err) {
        throw new WasmChordError('ERR_FILE_READ', `${e.name}: chunk ${i} of the cached model is unreadable (${err?.name})`, { cause: err });
      }
      next = i + 1 < e.chunks ? get(i + 1) : null; // read ahead while the consumer works
      read += c.byteLength;
      const step = chunkBytes ?? c.byteLength;
      for (let off = 0; off < c.byteLength; off += step) yield c.subarray(off, Math.min(c.byteLength, off + step));
    }
    if (read !== e.size) throw new WasmChordError('ERR_FILE_READ', `${e.name}: read ${read} bytes, the index says ${e.size}`);
  } finally {
    release();
  }
}
