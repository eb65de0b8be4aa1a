// The cache index (one record in the store) and what is done with it: lookups, LRU times,
// in-use marks, eviction. The record:
//
//   { version: 1,
//     entries:  { <sha256>: { sha256, name, url, size, blob, chunks, addedAt, lastUsed } },
//     partials: { <url>: { url, name, blob, chunks, bytes, total, etag, lastModified,
//                          sha256 (stated by the server), encoded, hash (hash-state.js) } } }
//
// `entries` holds only complete, verified models; `partials` the resumable downloads, which
// listCached never shows. Every read-modify-write runs under the `<prefix>:index` Web Lock, so
// tabs and workers of one origin never lose each other's updates. Blobs are deleted after the
// index stops naming them; a blob no record names (left by a crash) is collected by pruneCache.
import { WasmChordError } from '../../errors.js';
import { holdShared, lockNames, withLock } from './locks.js';

const INDEX_VERSION = 1;
const USE_PREFIX = 'wasm-chord-cache:use:';
const SHA_PREFIX_RE = /^[0-9a-f]{8,64}$/;

function normalized(index) {
  if (!index || typeof index !== 'object' || index.version !== INDEX_VERSION) {
    return { version: INDEX_VERSION, entries: {}, partials: {} };
  }
  index.entries ??= {};
  index.partials ??= {};
  return index;
}

/** The index of cache `s` (from backend.openStore), read without the lock (a snapshot). */
export async function readIndex(s) {
  return normalized(await s.store.readIndex());
}

/**
 * Runs `fn(index)` under the index lock; the index is written back unless fn returns
 * `{ write: false }`. Resolves fn's `value`.
 */
export async function updateIndex(s, fn) {
  return withLock(`${s.lockPrefix}:index`, {}, async () => {
    const index = normalized(await s.store.readIndex());
    const result = await fn(index);
    if (result?.write !== false) await s.store.writeIndex(index);
    return result?.value;
  });
}

/** A last-used time later than every other in `index` (LRU order must not tie). */
export function nextUse(index) {
  let t = Date.now();
  for (const e of Object.values(index.entries)) if (e.lastUsed >= t) t = e.lastUsed + 1;
  return t;
}

/** Whether `key` (a file name, URL, or sha256 prefix of >= 8 hex digits) names entry `e`. */
export function keyMatches(e, key) {
  const k = String(key);
  if (e.name === k || e.url === k) return true;
  const lower = k.toLowerCase();
  return SHA_PREFIX_RE.test(lower) && e.sha256.startsWith(lower);
}

/** The entry `key` names (by file name, then URL, then sha256 prefix; the most recently used of ties). */
export function matchEntry(index, key) {
  const entries = Object.values(index.entries).sort((a, b) => b.lastUsed - a.lastUsed);
  const k = String(key);
  const lower = k.toLowerCase();
  return (
    entries.find((e) => e.name === k) ??
    entries.find((e) => e.url === k) ??
    (SHA_PREFIX_RE.test(lower) ? entries.find((e) => e.sha256.startsWith(lower)) : undefined) ??
    null
  );
}

/** Whether all of `e`'s chunks are in the store. */
export async function intact(s, e) {
  return s.store.hasChunks(e.blob, e.chunks);
}

// In-use marks: counts of this context, by key; each also holds a shared Web Lock named after
// the key, so other tabs and workers see the mark too (lockNames).
const retained = new Map();

/** Marks the model `key` names (name, URL, sha256 prefix, or an entry) in use until the returned function is called. */
export function retain(key) {
  const k = typeof key === 'object' && key !== null ? String(key.sha256) : String(key);
  retained.set(k, (retained.get(k) ?? 0) + 1);
  const unlock = holdShared(`${USE_PREFIX}${k}`);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    unlock();
    const n = (retained.get(k) ?? 1) - 1;
    if (n <= 0) retained.delete(k);
    else retained.set(k, n);
  };
}

/** Keys marked in use: `{ here }` in this context, `{ anywhere }` in any context of the origin. */
export async function usedKeys() {
  const here = [...retained.keys()];
  const anywhere = new Set(here);
  for (const n of await lockNames(USE_PREFIX)) anywhere.add(n.slice(USE_PREFIX.length));
  return { here, anywhere: [...anywhere] };
}

export const inUse = (e, keys) => keys.some((k) => keyMatches(e, k));

/** The public shape of entry `e`. */
export function publicEntry(e, used) {
  return {
    name: e.name,
    path: null,
    url: e.url ?? null,
    size: e.size,
    sha256: e.sha256,
    addedAt: e.addedAt ?? null,
    lastUsed: e.lastUsed ?? null,
    managed: true,
    inUse: used,
  };
}

/** Sets the last-used time of the entry with `sha256`; resolves the updated entry or null. */
export async function touch(s, sha256) {
  return updateIndex(s, (index) => {
    const e = index.entries[sha256];
    if (!e) return { write: false, value: null };
    e.lastUsed = nextUse(index);
    return { value: { ...e } };
  });
}

/** Deletes blobs (best effort: a blob left behind is collected by prune). */
export async function deleteBlobs(s, blobs) {
  for (const b of blobs) await s.store.deleteBlob(b).catch(() => {});
}

/**
 * Evicts least-recently-used entries (not in use anywhere, sha256 not in `keep`) until the
 * entries total at most `maxBytes`; drops entries whose chunks are gone and blobs no record
 * names. Resolves the evicted names.
 */
export async function prune(s, maxBytes, keep = []) {
  if (typeof maxBytes !== 'number' || !(maxBytes >= 0)) {
    throw new WasmChordError('ERR_INVALID_ARGUMENT', `invalid argument 'maxCacheBytes': ${maxBytes}`);
  }
  const { anywhere } = await usedKeys();
  const drop = [];
  const removed = await updateIndex(s, async (index) => {
    let changed = false;
    const live = [];
    for (const e of Object.values(index.entries)) {
      if (await intact(s, e)) {
        live.push(e);
      } else {
        delete index.entries[e.sha256];
        drop.push(e.blob);
        changed = true;
      }
    }
    live.sort((a, b) => a.lastUsed - b.lastUsed);
    let total = live.reduce((n, e) => n + e.size, 0);
    const names = [];
    for (const e of live) {
      if (total <= maxBytes) break;
      if (keep.includes(e.sha256) || inUse(e, anywhere)) continue;
      delete index.entries[e.sha256];
      drop.push(e.blob);
      total -= e.size;
      names.push(e.name);
      changed = true;
    }
    const named = new Set([...Object.values(index.entries), ...Object.values(index.partials)].map((x) => x.blob));
    for (const b of await s.store.listBlobs()) if (!named.has(b)) drop.push(b);
    return { write: changed, value: names };
  });
  await deleteBlobs(s, drop);
  return removed;
}
