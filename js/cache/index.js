// The model cache on disk: model files under their original names plus `index.json`, which
// records for each entry (keyed by sha256) its source URL, file name, size, sha256, and when it
// was added and last used. The index is rewritten atomically (temp file + rename); writes within
// a process are serialized. Files the index does not know (e.g. put there by
// `npm run fetch-models`) are listed as unmanaged entries and never evicted.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WasmChordError } from '../errors.js';
import { INDEX_FILE, PARTIAL_META_SUFFIX, PARTIAL_SUFFIX, cacheDir } from './dir.js';

export { cacheDir };

const INDEX_VERSION = 1;

/** sha256 of a file, hex. */
export async function sha256File(file) {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

function emptyIndex() {
  return { version: INDEX_VERSION, entries: {} };
}

/** The index of `dir` (an empty one when missing or unreadable). */
export async function readIndex(dir) {
  try {
    const data = JSON.parse(await fs.readFile(path.join(dir, INDEX_FILE), 'utf8'));
    if (data && typeof data.entries === 'object' && data.entries) return data;
  } catch {
    // missing or corrupt: start over (the model files are still found by name)
  }
  return emptyIndex();
}

async function writeIndex(dir, index) {
  const file = path.join(dir, INDEX_FILE);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(index, null, 2)}\n`);
  await fs.rename(tmp, file);
}

/** Per-directory queue: index read-modify-writes of this process run one at a time. */
const queues = new Map();

/** Runs `fn(index)` under the directory's lock and writes the index back when fn returns true. */
export async function updateIndex(dir, fn) {
  const prev = queues.get(dir) ?? Promise.resolve();
  const run = prev.then(async () => {
    await fs.mkdir(dir, { recursive: true });
    const index = await readIndex(dir);
    const result = await fn(index);
    if (result?.write !== false) await writeIndex(dir, index);
    return result?.value;
  });
  const settled = run.catch(() => {});
  queues.set(dir, settled);
  settled.then(() => {
    if (queues.get(dir) === settled) queues.delete(dir);
  });
  return run;
}

// In-process use counts of cached files (absolute path → count): loaded models are not evicted.
const inUse = new Map();

/** Marks `file` in use until the returned function is called (once). */
export function retain(file) {
  const key = path.resolve(file);
  inUse.set(key, (inUse.get(key) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (inUse.get(key) ?? 1) - 1;
    if (n <= 0) inUse.delete(key);
    else inUse.set(key, n);
  };
}

export function isInUse(file) {
  return inUse.has(path.resolve(file));
}

function publicEntry(dir, e, managed) {
  const file = path.join(dir, e.file);
  return {
    name: e.file,
    path: file,
    url: e.url ?? null,
    size: e.size,
    sha256: e.sha256 ?? null,
    addedAt: e.addedAt ?? null,
    lastUsed: e.lastUsed ?? null,
    managed,
    inUse: isInUse(file),
  };
}

/** Entries of the cache, most recently used first; unindexed `.gguf` files come last. */
export async function listCached(opts = {}) {
  const dir = cacheDir(opts);
  const index = await readIndex(dir);
  const out = [];
  const known = new Set();
  for (const e of Object.values(index.entries)) {
    const st = await fs.stat(path.join(dir, e.file)).catch(() => null);
    if (!st?.isFile()) continue; // deleted behind our back
    known.add(e.file);
    out.push(publicEntry(dir, { ...e, size: st.size }, true));
  }
  out.sort((a, b) => (b.lastUsed ?? 0) - (a.lastUsed ?? 0));
  const names = await fs.readdir(dir).catch(() => []);
  for (const name of names.sort()) {
    if (!name.endsWith('.gguf') || known.has(name)) continue;
    const st = await fs.stat(path.join(dir, name)).catch(() => null);
    if (!st?.isFile()) continue;
    // The fetch script's stamp `<file>.sha256-ok` gives the hash when it still matches.
    const stamp = await fs
      .readFile(path.join(dir, `${name}.sha256-ok`), 'utf8')
      .then(JSON.parse)
      .catch(() => null);
    const sha256 = stamp && stamp.size === st.size && stamp.mtimeMs === st.mtimeMs ? stamp.sha256 : null;
    out.push(publicEntry(dir, { file: name, size: st.size, sha256, lastUsed: st.atimeMs }, false));
  }
  return out;
}

/** The index entry (raw) matching a file name, a URL, or a sha256 (or a prefix of >= 8 hex digits). */
export function matchEntry(index, key) {
  const entries = Object.values(index.entries);
  const k = String(key);
  const lower = k.toLowerCase();
  return (
    entries.find((e) => e.file === k) ??
    entries.find((e) => e.url === k) ??
    (/^[0-9a-f]{8,64}$/.test(lower) ? entries.find((e) => e.sha256?.startsWith(lower)) : undefined)
  );
}

/**
 * The path of a cached model named by file name, URL or sha256 (prefix), or null. Records the
 * use (last-used time) of indexed entries.
 */
export async function findCached(key, opts = {}) {
  const dir = cacheDir(opts);
  const index = await readIndex(dir);
  const e = matchEntry(index, key);
  if (e) {
    const file = path.join(dir, e.file);
    if (await isFile(file)) {
      await touch(dir, e.sha256);
      return file;
    }
  }
  const name = String(key);
  if (name && path.basename(name) === name && !name.startsWith('.')) {
    const file = path.join(dir, name);
    if (await isFile(file)) return file;
  }
  return null;
}

async function isFile(file) {
  return (await fs.stat(file).catch(() => null))?.isFile() ?? false;
}

/** Sets the last-used time of the entry with `sha256`. */
export async function touch(dir, sha256, when = Date.now()) {
  await updateIndex(dir, (index) => {
    const e = index.entries[sha256];
    if (!e) return { write: false };
    e.lastUsed = Math.max(when, (e.lastUsed ?? 0) + 1);
    return {};
  });
}

/**
 * Removes a cached model by file name, URL or sha256 (prefix), with its index entry and any
 * partial download. Resolves true when something was removed. A model loaded in this process
 * is not removed (ERR_MODEL_IN_USE).
 */
export async function removeCached(nameOrSha, opts = {}) {
  const dir = cacheDir(opts);
  return updateIndex(dir, async (index) => {
    const e = matchEntry(index, nameOrSha);
    let name = e?.file;
    if (!name) {
      const n = String(nameOrSha);
      if (path.basename(n) !== n || n.startsWith('.') || n === INDEX_FILE) return { write: false, value: false };
      name = n;
    }
    const file = path.join(dir, name);
    if (isInUse(file)) {
      throw new WasmChordError('ERR_MODEL_IN_USE', `${name} is loaded in this process; dispose it first`);
    }
    let removed = false;
    for (const f of [file, `${file}.sha256-ok`, `${file}${PARTIAL_SUFFIX}`, `${file}${PARTIAL_META_SUFFIX}`]) {
      removed = (await fs.rm(f).then(() => true, () => false)) || removed;
    }
    if (e) {
      delete index.entries[e.sha256];
      removed = true;
    }
    return { write: Boolean(e), value: removed };
  });
}

/**
 * Evicts least-recently-used indexed entries (not in use, not in `keep`) until the indexed
 * entries total at most `maxBytes`. Resolves the removed entries' names.
 */
export async function pruneCache(maxBytes, opts = {}, keep = []) {
  if (!Number.isFinite(maxBytes) || maxBytes < 0) {
    throw new WasmChordError('ERR_INVALID_ARGUMENT', `invalid argument 'maxCacheBytes': ${maxBytes}`);
  }
  const dir = cacheDir(opts);
  return updateIndex(dir, async (index) => {
    const live = [];
    let total = 0;
    let changed = false;
    for (const e of Object.values(index.entries)) {
      const st = await fs.stat(path.join(dir, e.file)).catch(() => null);
      if (!st?.isFile()) {
        delete index.entries[e.sha256];
        changed = true;
        continue;
      }
      total += st.size;
      live.push({ e, size: st.size });
    }
    live.sort((a, b) => (a.e.lastUsed ?? 0) - (b.e.lastUsed ?? 0));
    const removed = [];
    for (const { e, size } of live) {
      if (total <= maxBytes) break;
      const file = path.join(dir, e.file);
      if (keep.includes(e.file) || isInUse(file)) continue;
      await fs.rm(file, { force: true });
      await fs.rm(`${file}.sha256-ok`, { force: true });
      delete index.entries[e.sha256];
      total -= size;
      removed.push(e.file);
      changed = true;
    }
    return { write: changed, value: removed };
  });
}

/** Records a verified file in the index (replacing entries of the same file name). */
export async function addEntry(dir, { file, url, size, sha256, mtimeMs }) {
  const now = Date.now();
  await updateIndex(dir, (index) => {
    for (const [k, e] of Object.entries(index.entries)) if (e.file === file) delete index.entries[k];
    const old = index.entries[sha256];
    index.entries[sha256] = { sha256, file, url: url ?? null, size, mtimeMs, addedAt: old?.addedAt ?? now, lastUsed: now };
    return {};
  });
}

/** Drops the index entry of `sha256`. */
export async function dropEntry(dir, sha256) {
  await updateIndex(dir, (index) => {
    if (!index.entries[sha256]) return { write: false };
    delete index.entries[sha256];
    return {};
  });
}
