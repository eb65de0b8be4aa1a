// Which store the browser cache uses, and the one interface both stores implement.
//
// 'auto' picks OPFS when navigator.storage.getDirectory() works and a probe file can be written
// with createWritable (the way a Window writes, so a Window and its workers pick the same
// store), else IndexedDB. `cacheBackend: 'opfs' | 'indexeddb'` forces one; the two are separate
// caches. `cacheName` (default 'wasm-chord') names the IndexedDB database / the OPFS folder.
//
// The store interface (store-opfs.js, store-idb.js); a blob is one stored model or partial
// download, a sequence of chunks 0..n-1, each at most the download's chunk size:
//   kind                        'opfs' | 'indexeddb'
//   readIndex()                 the index record, or null
//   writeIndex(index)           replaces it (atomically)
//   putChunk(blob, i, bytes)    stores chunk i; durable once it resolves
//   getChunk(blob, i)           its bytes (a fresh Uint8Array); rejects when missing
//   hasChunks(blob, n)          whether chunks 0..n-1 are all stored
//   deleteBlob(blob, from = 0)  removes chunks from..end (the whole blob for 0)
//   listBlobs()                 the ids of all stored blobs
// Writes that fail (a QuotaExceededError, or anything else) reject with ERR_STORAGE_QUOTA.
import { WasmChordError } from '../../errors.js';
import { openIdbStore } from './store-idb.js';
import { openOpfsStore, opfsUsable } from './store-opfs.js';

export const DEFAULT_CACHE_NAME = 'wasm-chord';
const BACKENDS = ['auto', 'opfs', 'indexeddb'];

function invalid(name, why) {
  return new WasmChordError('ERR_INVALID_ARGUMENT', `invalid argument '${name}': ${why}`);
}

/** A write to storage failed: ERR_STORAGE_QUOTA, with the DOMException as `cause`. */
export function storageError(e, what) {
  if (e instanceof WasmChordError) return e;
  const why = e?.name === 'QuotaExceededError' ? 'storage quota exceeded' : `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
  return new WasmChordError('ERR_STORAGE_QUOTA', `${what} failed: ${why}`, { cause: e });
}

let autoChoice = null;
let opfsForced = null;

/** Resolves 'opfs' or 'indexeddb': the store `opts.cacheBackend` ('auto' by default) selects. */
export async function cacheBackend(opts = {}) {
  const want = opts.cacheBackend ?? 'auto';
  if (!BACKENDS.includes(want)) throw invalid('cacheBackend', `expected one of ${BACKENDS.join(', ')}, got ${want}`);
  const hasIdb = typeof indexedDB !== 'undefined';
  if (want === 'indexeddb') {
    if (!hasIdb) throw invalid('cacheBackend', 'IndexedDB is not available in this context');
    return 'indexeddb';
  }
  if (want === 'opfs') {
    opfsForced ??= opfsUsable({ forced: true });
    if (!(await opfsForced)) throw invalid('cacheBackend', 'OPFS is not usable in this context');
    return 'opfs';
  }
  autoChoice ??= opfsUsable().then((ok) => (ok ? 'opfs' : hasIdb ? 'indexeddb' : null));
  const kind = await autoChoice;
  if (!kind) throw new WasmChordError('ERR_STORAGE_QUOTA', 'no usable storage here: neither OPFS nor IndexedDB');
  return kind;
}

function cacheName(opts) {
  const name = opts.cacheName ?? DEFAULT_CACHE_NAME;
  if (typeof name !== 'string' || !/^[\w.-]{1,100}$/.test(name) || name.startsWith('.')) {
    throw invalid('cacheName', 'expected 1-100 letters, digits, _ . -');
  }
  return name;
}

/** Open raw stores, by `${kind}\n${name}` (one per context). */
const stores = new Map();

/** Maps write failures of `store` to ERR_STORAGE_QUOTA. */
function guarded(store) {
  const wrap =
    (method, what) =>
    async (...args) => {
      try {
        return await store[method](...args);
      } catch (e) {
        throw storageError(e, what);
      }
    };
  return {
    ...store,
    readIndex: () => store.readIndex(),
    getChunk: (b, i) => store.getChunk(b, i),
    hasChunks: (b, n) => store.hasChunks(b, n),
    deleteBlob: (b, from) => store.deleteBlob(b, from),
    listBlobs: () => store.listBlobs(),
    putChunk: wrap('putChunk', 'writing a chunk of the model'),
    writeIndex: wrap('writeIndex', 'writing the cache index'),
  };
}

/**
 * The cache `opts` select: `{ kind, name, store, lockPrefix }`. `opts._wrapStore(store)` (a
 * test hook) may return a wrapper of the raw store, e.g. one that fails writes.
 */
export async function openStore(opts = {}) {
  const kind = await cacheBackend(opts);
  const name = cacheName(opts);
  const key = `${kind}\n${name}`;
  let p = stores.get(key);
  if (!p) {
    p = kind === 'opfs' ? openOpfsStore(name) : openIdbStore(name);
    stores.set(key, p);
    p.catch(() => stores.delete(key));
  }
  let raw;
  try {
    raw = await p;
  } catch (e) {
    throw storageError(e, `opening the ${kind} cache '${name}'`);
  }
  if (typeof opts._wrapStore === 'function') raw = opts._wrapStore(raw);
  return { kind, name, store: guarded(raw), lockPrefix: `wasm-chord-cache:${kind}:${name}` };
}
