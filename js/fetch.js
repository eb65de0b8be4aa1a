// Downloads a model over HTTP(S) into the cache (./cache/): resumable (`<name>.partial` plus
// `<name>.partial.json` with the URL and validators; a later call continues with a Range
// request), checksummed (the caller's sha256, else one the server states in a header), shared
// (concurrent calls for one URL wait on one download) and cancellable (AbortSignal; the partial
// file stays for a later resume).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AbortError, WasmChordError, abortErrorFor } from './errors.js';
import { PARTIAL_META_SUFFIX, PARTIAL_SUFFIX, cacheDir } from './cache/dir.js';
import { addEntry, dropEntry, pruneCache, readIndex, sha256File, touch } from './cache/index.js';

const SHA256_RE = /^[0-9a-f]{64}$/;

function invalid(name, why) {
  return new WasmChordError('ERR_INVALID_ARGUMENT', `invalid argument '${name}': ${why}`);
}

function downloadFailed(url, why, cause) {
  return new WasmChordError('ERR_DOWNLOAD_FAILED', `download of ${url} failed: ${why}`, { cause });
}

/** A failure worth another try with Range (connection cut, reset, premature end). */
class Retryable extends Error {}

/** `sha256` option → lowercase hex, or undefined. */
function wantedSha(opts) {
  if (opts.sha256 === undefined || opts.sha256 === null) return undefined;
  const s = String(opts.sha256).toLowerCase();
  if (!SHA256_RE.test(s)) throw invalid('sha256', 'expected 64 hex digits');
  return s;
}

/** The sha256 a response states for the whole file, if any. */
function serverSha(headers) {
  const hex = (v) => (v && SHA256_RE.test(v.trim().toLowerCase().replace(/"/g, '')) ? v.trim().toLowerCase().replace(/"/g, '') : undefined);
  const direct = hex(headers.get('x-checksum-sha256')) ?? hex(headers.get('x-linked-etag'));
  if (direct) return direct;
  for (const name of ['repr-digest', 'digest']) {
    const v = headers.get(name);
    const m = v && /sha-256=:?([A-Za-z0-9+/=]+):?/i.exec(v);
    if (m) {
      const buf = Buffer.from(m[1], 'base64');
      if (buf.length === 32) return buf.toString('hex');
    }
  }
  return undefined;
}

/** File name for `url`: its last path segment, made safe. */
function fileNameFor(url, opts) {
  let name = opts.fileName;
  if (!name) {
    const seg = url.pathname.split('/').filter(Boolean).pop() ?? '';
    try {
      name = decodeURIComponent(seg);
    } catch {
      name = seg;
    }
  }
  name = String(name).replace(/[\\/:*?"<>|\x00-\x1f]/g, '_');
  if (!name || name.startsWith('.')) name = `model${name}.gguf`.replace('..', '.');
  return name;
}

function withSuffix(name, tag) {
  const ext = path.extname(name);
  return `${name.slice(0, name.length - ext.length)}-${tag}${ext}`;
}

const readJson = (f) =>
  fs
    .readFile(f, 'utf8')
    .then(JSON.parse)
    .catch(() => null);

/** One pass of HTTP: continues `partial` when it can. Resolves { sha256, size, serverSha }. */
async function fetchOnce(url, partial, signal, emit, headersOpt) {
  const metaFile = `${partial.slice(0, -PARTIAL_SUFFIX.length)}${PARTIAL_META_SUFFIX}`;
  const meta = await readJson(metaFile);
  let have = (await fs.stat(partial).catch(() => null))?.size ?? 0;
  if (have > 0 && meta?.url !== url.href) {
    await fs.rm(partial, { force: true });
    have = 0;
  }
  const headers = { 'accept-encoding': 'identity', ...headersOpt };
  if (have > 0) {
    headers.range = `bytes=${have}-`;
    const validator = meta.etag && !meta.etag.startsWith('W/') ? meta.etag : meta.lastModified;
    if (validator) headers['if-range'] = validator;
  }
  let res;
  try {
    res = await fetch(url, { headers, signal, redirect: 'follow' });
  } catch (e) {
    if (signal.aborted) throw abortErrorFor(signal);
    throw new Retryable(e?.cause?.message ?? e?.message ?? String(e), { cause: e });
  }
  let append = false;
  let total = 0;
  if (res.status === 416 && have > 0) {
    await res.body?.cancel().catch(() => {});
    if (meta?.total && meta.total === have) {
      // Already complete: the cut came after the last byte.
      emit(have, have);
      return { ...(await hashFile(partial)), serverSha: meta.sha256 };
    }
    await fs.rm(partial, { force: true });
    throw new Retryable('server refused the resume range; starting over');
  } else if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      await res.body?.cancel().catch(() => {});
      await fs.rm(partial, { force: true });
      throw new Retryable(`unexpected Content-Range ${res.headers.get('content-range')}; starting over`);
    }
    append = true;
    total = m[3] === '*' ? 0 : Number(m[3]);
  } else if (res.ok) {
    total = Number(res.headers.get('content-length') ?? 0) || 0;
  } else {
    await res.body?.cancel().catch(() => {});
    throw downloadFailed(url.href, `HTTP ${res.status} ${res.statusText}`.trim());
  }
  const stated = serverSha(res.headers) ?? (append ? meta?.sha256 : undefined);
  await fs.writeFile(
    metaFile,
    JSON.stringify({
      url: url.href,
      etag: res.headers.get('etag') ?? (append ? meta?.etag : undefined),
      lastModified: res.headers.get('last-modified') ?? (append ? meta?.lastModified : undefined),
      total,
      sha256: stated,
    }),
  );
  const hash = createHash('sha256');
  let loaded = 0;
  if (append) {
    for await (const chunk of createReadStream(partial, { end: have - 1 })) hash.update(chunk);
    loaded = have;
  }
  emit(loaded, total);
  const fh = await fs.open(partial, append ? 'a' : 'w');
  try {
    for await (const chunk of res.body ?? []) {
      await fh.write(chunk);
      hash.update(chunk);
      loaded += chunk.byteLength;
      emit(loaded, Math.max(total, loaded));
    }
  } catch (e) {
    if (signal.aborted) throw abortErrorFor(signal);
    throw new Retryable(e?.cause?.message ?? e?.message ?? String(e), { cause: e });
  } finally {
    await fh.close();
  }
  if (total && loaded !== total) throw new Retryable(`connection closed after ${loaded} of ${total} bytes`);
  emit(loaded, loaded);
  return { sha256: hash.digest('hex'), size: loaded, serverSha: stated };
}

async function hashFile(file) {
  const st = await fs.stat(file);
  return { sha256: await sha256File(file), size: st.size };
}

/** A cached entry for `url` (or for the wanted hash) that is still intact, or null. */
async function cacheHit(dir, url, want, opts) {
  const index = await readIndex(dir);
  const entries = Object.values(index.entries);
  const e = entries.find((x) => x.url === url.href) ?? (want ? entries.find((x) => x.sha256 === want) : undefined);
  if (!e) return null;
  const file = path.join(dir, e.file);
  const st = await fs.stat(file).catch(() => null);
  const stale = want && e.sha256 !== want;
  if (st?.isFile() && !stale) {
    // Rehash only when the file changed since it was verified (or when asked to).
    if (!opts.verify && st.size === e.size && st.mtimeMs === e.mtimeMs) return { entry: e, file };
    const got = await sha256File(file);
    if (got === e.sha256) {
      await addEntry(dir, { ...e, size: st.size, mtimeMs: st.mtimeMs });
      return { entry: e, file };
    }
  }
  // Corrupt, changed or superseded: drop it and fetch again.
  if (e.url === url.href) {
    await fs.rm(file, { force: true });
    await dropEntry(dir, e.sha256);
  }
  return null;
}

async function chooseName(dir, url, want, opts) {
  const index = await readIndex(dir);
  let name = fileNameFor(url, opts);
  const owner = Object.values(index.entries).find((e) => e.file === name);
  const tag = createHash('sha256').update(url.href).digest('hex').slice(0, 8);
  if (owner && owner.url !== url.href) return { name: withSuffix(name, tag) };
  if (!owner) {
    const st = await fs.stat(path.join(dir, name)).catch(() => null);
    if (st?.isFile()) {
      // A file the index does not know (e.g. from `npm run fetch-models`): adopt it when it is
      // the wanted one, else keep it and download beside it.
      if (want && (await sha256File(path.join(dir, name))) === want) return { name, adopt: st };
      return { name: withSuffix(name, tag) };
    }
  }
  return { name };
}

function publicResult(dir, file, e) {
  return { name: e.file, path: file, url: e.url, size: e.size, sha256: e.sha256 };
}

async function download(url, opts, signal, emit) {
  const dir = cacheDir(opts);
  await fs.mkdir(dir, { recursive: true });
  const want = wantedSha(opts);
  const hit = await cacheHit(dir, url, want, opts);
  if (hit) {
    await touch(dir, hit.entry.sha256);
    emit(hit.entry.size, hit.entry.size);
    return publicResult(dir, hit.file, hit.entry);
  }
  const { name, adopt } = await chooseName(dir, url, want, opts);
  const dest = path.join(dir, name);
  if (adopt) {
    const e = { file: name, url: url.href, size: adopt.size, sha256: want, mtimeMs: adopt.mtimeMs };
    await addEntry(dir, e);
    emit(adopt.size, adopt.size);
    return publicResult(dir, dest, e);
  }
  const partial = `${dest}${PARTIAL_SUFFIX}`;
  const metaFile = `${dest}${PARTIAL_META_SUFFIX}`;
  const maxRetries = opts.retries ?? 3;
  let retries = 0;
  let refetched = false;
  for (;;) {
    if (signal.aborted) throw abortErrorFor(signal);
    let got;
    try {
      got = await fetchOnce(url, partial, signal, emit, opts.headers);
    } catch (e) {
      if (!(e instanceof Retryable)) throw e;
      if (retries >= maxRetries) throw downloadFailed(url.href, e.message, e.cause);
      retries++;
      continue;
    }
    const expected = want ?? got.serverSha;
    if (expected && got.sha256 !== expected) {
      await fs.rm(partial, { force: true });
      await fs.rm(metaFile, { force: true });
      if (!refetched) {
        refetched = true;
        continue;
      }
      throw new WasmChordError(
        'ERR_CHECKSUM_MISMATCH',
        `${url.href}: sha256 ${got.sha256}, expected ${expected} (fetched twice)`,
      );
    }
    await fs.rename(partial, dest);
    await fs.rm(metaFile, { force: true });
    const st = await fs.stat(dest);
    const e = { file: name, url: url.href, size: st.size, sha256: got.sha256, mtimeMs: st.mtimeMs };
    await addEntry(dir, e);
    if (opts.maxCacheBytes !== undefined && opts.maxCacheBytes !== null) {
      await pruneCache(opts.maxCacheBytes, { cacheDir: dir }, [name]);
    }
    return publicResult(dir, dest, e);
  }
}

/** Downloads in flight, by cache directory and URL. */
const inflight = new Map();

/**
 * Downloads `url` into the cache (or finds it there) and resolves its entry
 * `{ name, path, url, size, sha256 }`. See index.d.ts for the options.
 */
export async function downloadModel(source, opts = {}) {
  let url;
  try {
    url = source instanceof URL ? source : new URL(String(source));
  } catch {
    throw invalid('url', `not a URL: ${source}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('url', `expected http: or https:, got ${url.protocol}`);
  const { signal, onProgress } = opts;
  if (signal?.aborted) throw abortErrorFor(signal);
  wantedSha(opts);
  if (opts.maxCacheBytes !== undefined && opts.maxCacheBytes !== null && !(opts.maxCacheBytes >= 0)) {
    throw invalid('maxCacheBytes', `expected a non-negative number, got ${opts.maxCacheBytes}`);
  }
  const key = `${cacheDir(opts)}\n${url.href}`;
  let job = inflight.get(key);
  while (job?.controller.signal.aborted) {
    await job.promise.catch(() => {});
    job = inflight.get(key);
  }
  if (!job) {
    const controller = new AbortController();
    const listeners = new Set();
    let last = null;
    const emit = (loaded, total) => {
      last = { loaded, total };
      for (const l of listeners) l({ loaded, total });
    };
    job = { controller, listeners, subscribers: 0, last: () => last };
    const created = job;
    job.promise = download(url, opts, controller.signal, emit).finally(() => {
      if (inflight.get(key) === created) inflight.delete(key);
    });
    inflight.set(key, job);
  }
  const listener = onProgress
    ? (p) => {
        try {
          onProgress(p);
        } catch {
          // a throwing progress callback must not break the shared download
        }
      }
    : null;
  if (listener) {
    job.listeners.add(listener);
    const last = job.last();
    if (last) listener(last);
  }
  job.subscribers++;
  const theJob = job;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = () => {
      done = true;
      if (listener) theJob.listeners.delete(listener);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = async () => {
      if (done) return;
      finish();
      theJob.subscribers--;
      if (theJob.subscribers === 0) {
        // The last waiter left: stop the transfer, and settle once the partial file is closed.
        theJob.controller.abort(signal.reason);
        await theJob.promise.catch(() => {});
      }
      reject(abortErrorFor(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    theJob.promise.then(
      (v) => {
        if (done) return;
        finish();
        resolve(v);
      },
      (e) => {
        if (done) return;
        finish();
        reject(e instanceof AbortError && signal?.aborted ? abortErrorFor(signal) : e);
      },
    );
  });
}

/** Whether `source` is an http(s) URL string or URL. */
export function isHttpUrl(source) {
  if (source instanceof URL) return source.protocol === 'http:' || source.protocol === 'https:';
  return typeof source === 'string' && /^https?:\/\//i.test(source);
}
