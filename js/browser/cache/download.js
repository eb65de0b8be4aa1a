// Downloads a model over HTTP(S) into the browser cache, with the semantics of the Node
// downloader (js/fetch.js): resumable (the partial download and its metadata, validators and
// hash state persist in the store, so a later call, even after a reload, continues with a
// Range + If-Range request), checksummed (the caller's sha256, else one the server states in a
// header), shared (concurrent calls for one URL in one context wait on one download; across
// tabs and workers a Web Lock per URL runs one download at a time, and the later ones find the
// cached entry) and cancellable (AbortSignal; the bytes received so far are kept).
//
// The body is hashed as it arrives (no long task per chunk) and cut into chunks of
// CHUNK_BYTES: each full chunk is stored, then the partial record (bytes, chunk count, hash
// state, which at that moment covers exactly the stored bytes) is updated, so the record never
// claims more than the store holds. A cut or an abort stores the unfinished chunk first.
// What this shares with the Node downloader is in js/download-common.js.
import { sha256 } from '@noble/hashes/sha2.js';
import {
  Retryable,
  SharedDownloads,
  checkDownloadArgs,
  fetchVerified,
  fileNameFor,
  invalidArgument,
  readReply,
  resumeHeaders,
  serverSha,
  wantedSha,
  withSuffix,
} from '../../download-common.js';
import { WasmChordError, abortErrorFor } from '../../errors.js';
import { openStore } from './backend.js';
import { deleteBlobs, intact, nextUse, prune, readIndex, touch, updateIndex, usedKeys, inUse } from './entries.js';
import { hex, newHash, restoreHash, saveHash } from './hash-state.js';
import { withLock } from './locks.js';

/** Bytes per stored chunk (one IndexedDB record / one OPFS file). */
export const CHUNK_BYTES = 16 * 1024 * 1024;

const newBlobId = () =>
  globalThis.crypto?.randomUUID?.() ?? hex(globalThis.crypto.getRandomValues(new Uint8Array(16)));

/** Records partial download `part` (written before any of its chunks). */
function putPartial(s, part) {
  return updateIndex(s, (index) => {
    index.partials[part.url] = { ...part };
  });
}

/** Deletes the partial download of `href`: its chunks first, then its record. */
async function dropPartial(s, href) {
  const part = (await readIndex(s)).partials[href];
  if (!part) return;
  await s.store.deleteBlob(part.blob);
  await updateIndex(s, (index) => {
    if (index.partials[href]?.blob !== part.blob) return { write: false };
    delete index.partials[href];
  });
}

/** SHA-256 of `chunks` chunks of `blob`; resolves `{ hasher, bytes }`. */
async function rehash(s, blob, chunks) {
  const hasher = newHash();
  let bytes = 0;
  for (let i = 0; i < chunks; i++) {
    const c = await s.store.getChunk(blob, i);
    hasher.update(c);
    bytes += c.byteLength;
  }
  return { hasher, bytes };
}

/** The hasher of partial `part`: its saved state, else a rehash of its stored chunks. */
async function resumeHash(s, part, opts) {
  const restored = opts._rehash ? null : restoreHash(part.hash, part.bytes);
  if (restored) return restored;
  const { hasher, bytes } = await rehash(s, part.blob, part.chunks);
  if (bytes !== part.bytes) {
    await dropPartial(s, part.url);
    throw new Retryable('the stored partial download does not match its record; starting over');
  }
  return hasher;
}

function tooLarge(url, bytes, max) {
  return new WasmChordError(
    'ERR_MODEL_TOO_LARGE',
    `${url.href} is ${bytes} bytes or more; this browser can load at most ${max} bytes into wasm memory`,
  );
}

/** One pass of HTTP: continues the partial download when it can. Resolves `{ sha256, size, serverSha, part }`. */
async function fetchOnce(s, url, name, signal, emit, opts) {
  let part = (await readIndex(s)).partials[url.href] ?? null;
  if (part) {
    if (part.encoded || !(await s.store.hasChunks(part.blob, part.chunks))) {
      await dropPartial(s, url.href); // bytes of a compressed response (no Range), or chunks lost
      part = null;
    } else {
      // A chunk stored after the record's last update (the page died in between) is rewritten
      // anyway; deleting it is only tidying.
      await s.store.deleteBlob(part.blob, part.chunks).catch(() => {});
    }
  }
  const have = part?.bytes ?? 0;
  const headers = { ...opts.headers, ...resumeHeaders(have, part) };
  let res;
  try {
    // no-store: the browser's HTTP cache must not keep a second copy of the model.
    res = await fetch(url, { headers, signal, cache: 'no-store', redirect: 'follow' });
  } catch (e) {
    if (signal.aborted) throw abortErrorFor(signal);
    throw new Retryable(e?.message ?? String(e), { cause: e });
  }
  const reply = await readReply(res, url, have, {
    savedTotal: part?.total,
    restart: () => dropPartial(s, url.href),
  });
  if (reply.complete) {
    const hasher = await resumeHash(s, part, opts);
    emit(have, have);
    return { sha256: hex(hasher.digest()), size: have, serverSha: part.sha256 ?? undefined, part };
  }
  const append = reply.ranged && have > 0;
  const enc = reply.ranged ? null : res.headers.get('content-encoding');
  const encoded = Boolean(enc && enc !== 'identity');
  // A compressed body arrives decoded: its Content-Length is not the size, and Range would
  // count compressed bytes.
  const total = encoded ? 0 : reply.total;
  // A model that cannot be loaded anyway (loadModel passes what wasm memory can hold) is refused
  // before anything of it is stored.
  if (opts._maxBytes !== undefined && total > opts._maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge(url, total, opts._maxBytes);
  }
  if (part && !append) await s.store.deleteBlob(part.blob); // the server sent the whole file again
  const stated = serverSha(res.headers) ?? (append ? part.sha256 : undefined);
  part = {
    url: url.href,
    name,
    blob: part?.blob ?? newBlobId(),
    etag: res.headers.get('etag') ?? (append ? part.etag : null),
    lastModified: res.headers.get('last-modified') ?? (append ? part.lastModified : null),
    total,
    sha256: stated ?? null,
    encoded,
    bytes: append ? part.bytes : 0,
    chunks: append ? part.chunks : 0,
    hash: append ? part.hash : null,
  };
  await putPartial(s, part);
  const hasher = append ? await resumeHash(s, part, opts) : newHash();
  const chunkBytes = opts._chunkBytes ?? CHUNK_BYTES;
  const buf = new Uint8Array(chunkBytes);
  let fill = 0;
  const flush = async () => {
    if (fill === 0) return;
    const bytes = fill === buf.length ? buf : buf.slice(0, fill);
    await s.store.putChunk(part.blob, part.chunks, bytes);
    part.chunks += 1;
    part.bytes += fill;
    part.hash = saveHash(hasher);
    fill = 0;
    await putPartial(s, part);
  };
  let loaded = part.bytes;
  emit(loaded, total);
  try {
    const reader = res.body?.getReader();
    for (;;) {
      const { done, value } = reader ? await reader.read() : { done: true };
      if (done) break;
      for (let off = 0; off < value.byteLength; ) {
        const n = Math.min(buf.length - fill, value.byteLength - off);
        const piece = value.subarray(off, off + n);
        buf.set(piece, fill);
        hasher.update(piece); // hashed as it arrives, so the state always matches buf's end
        fill += n;
        off += n;
        if (fill === buf.length) await flush();
      }
      loaded += value.byteLength;
      if (opts._maxBytes !== undefined && loaded > opts._maxBytes) {
        await reader.cancel().catch(() => {});
        await dropPartial(s, url.href);
        throw tooLarge(url, loaded, opts._maxBytes);
      }
      emit(loaded, Math.max(total, loaded));
    }
  } catch (e) {
    if (e instanceof WasmChordError) throw e; // storage failure
    await flush(); // keep what arrived for a resume
    if (signal.aborted) throw abortErrorFor(signal);
    throw new Retryable(e?.message ?? String(e), { cause: e });
  }
  await flush();
  if (total && loaded !== total) throw new Retryable(`connection closed after ${loaded} of ${total} bytes`);
  emit(loaded, loaded);
  return { sha256: hex(hasher.digest()), size: loaded, serverSha: stated, part };
}

/** A cached entry for `url` (or for the wanted hash) that is still intact, or null. */
async function cacheHit(s, url, want, opts) {
  const index = await readIndex(s);
  const byUrl = Object.values(index.entries).find((x) => x.url === url.href);
  for (const e of [byUrl, want ? index.entries[want] : undefined]) {
    if (!e || (want && e.sha256 !== want)) continue;
    if ((await intact(s, e)) && (!opts.verify || hex((await rehash(s, e.blob, e.chunks)).hasher.digest()) === e.sha256)) {
      return touch(s, e.sha256);
    }
  }
  if (byUrl) {
    // Corrupt, gone or superseded by the wanted hash: drop it (unless a model uses it) and fetch again.
    const { anywhere } = await usedKeys();
    if (!inUse(byUrl, anywhere)) {
      await updateIndex(s, (ix) => {
        if (ix.entries[byUrl.sha256]?.blob !== byUrl.blob) return { write: false };
        delete ix.entries[byUrl.sha256];
      });
      await deleteBlobs(s, [byUrl.blob]);
    }
  }
  return null;
}

/** The file name for `url`: suffixed with a tag of the URL when another URL owns the name. */
async function chooseName(s, url, opts) {
  const index = await readIndex(s);
  const name = fileNameFor(url, opts);
  const others = [...Object.values(index.entries), ...Object.values(index.partials)];
  if (!others.some((x) => x.name === name && x.url !== url.href)) return name;
  return withSuffix(name, hex(sha256(new TextEncoder().encode(url.href))).slice(0, 8));
}

/** Records the verified download as an entry, in the same index write that drops its partial record. */
async function commit(s, url, name, got) {
  const { anywhere } = await usedKeys();
  const drop = [];
  const entry = await updateIndex(s, async (index) => {
    delete index.partials[url.href];
    let { blob, chunks } = got.part;
    const same = index.entries[got.sha256];
    if (same && (await intact(s, same))) {
      drop.push(blob); // these bytes are stored already
      ({ blob, chunks } = same);
    } else if (same) {
      drop.push(same.blob);
    }
    for (const e of Object.values(index.entries)) {
      if (e.sha256 === got.sha256 || e.name !== name || inUse(e, anywhere)) continue;
      delete index.entries[e.sha256]; // an older version of this file
      drop.push(e.blob);
    }
    const e = {
      sha256: got.sha256,
      name,
      url: url.href,
      size: got.size,
      blob,
      chunks,
      addedAt: same?.addedAt ?? Date.now(),
      lastUsed: nextUse(index),
    };
    index.entries[got.sha256] = e;
    return { value: e };
  });
  await deleteBlobs(s, drop);
  return entry;
}

const result = (e) => ({ name: e.name, path: null, url: e.url, size: e.size, sha256: e.sha256 });

async function download(s, url, opts, signal, emit) {
  const want = wantedSha(opts);
  const hit = await cacheHit(s, url, want, opts);
  if (hit) {
    emit(hit.size, hit.size);
    return result(hit);
  }
  const name = await chooseName(s, url, opts);
  const got = await fetchVerified(url, want, opts, signal, {
    fetchOnce: () =>
      fetchOnce(s, url, name, signal, emit, opts).catch(async (e) => {
        if (e instanceof WasmChordError && e.code === 'ERR_STORAGE_QUOTA') {
          await dropPartial(s, url.href).catch(() => {}); // nothing half-written stays behind
        }
        throw e;
      }),
    discard: () => dropPartial(s, url.href),
  });
  const e = await commit(s, url, name, got);
  if (opts.maxCacheBytes !== undefined && opts.maxCacheBytes !== null) await prune(s, opts.maxCacheBytes, [e.sha256]);
  return result(e);
}

/** Downloads in flight in this context, by cache and URL. */
const downloads = new SharedDownloads();

/**
 * Downloads `url` into the browser cache (or finds it there) and resolves its entry
 * `{ name, path: null, url, size, sha256 }`. Options as the Node downloadModel, plus
 * `cacheBackend` and `cacheName` (backend.js).
 */
export async function downloadModel(source, opts = {}) {
  const url = checkDownloadArgs(source, opts, globalThis.location?.href);
  if (opts._chunkBytes !== undefined && !(Number.isSafeInteger(opts._chunkBytes) && opts._chunkBytes > 0)) {
    throw invalidArgument('_chunkBytes', 'expected a positive integer');
  }
  if (opts._maxBytes !== undefined && !(Number.isSafeInteger(opts._maxBytes) && opts._maxBytes >= 0)) {
    throw invalidArgument('_maxBytes', 'expected a non-negative integer');
  }
  const s = await openStore(opts);
  if (opts.signal?.aborted) throw abortErrorFor(opts.signal);
  const key = `${s.lockPrefix}\n${url.href}`;
  // One download per URL across tabs and workers: a second context waits here, then finds the entry.
  return downloads.join(key, opts, (signal, emit) =>
    withLock(`${s.lockPrefix}:download:${url.href}`, { signal }, () => download(s, url, opts, signal, emit)),
  );
}
