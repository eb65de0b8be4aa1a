// What the two model downloaders share: the Node cache's (js/fetch.js: files, node:crypto) and
// the browser cache's (js/browser/cache/download.js: chunk stores, @noble/hashes, Web Locks).
// Here: argument checks and errors, the file name for a URL, the sha256 a server states, the
// Range/If-Range resume and how its reply is read, the retry-and-verify loop, and one shared
// download per key with its subscribers. Storage and hashing stay with each caller, so this
// module has no Node or DOM imports: it runs in Node, a Window and a module Worker.
import { AbortError, WasmChordError, abortErrorFor } from './errors.js';

const SHA256_RE = /^[0-9a-f]{64}$/;
const CONTENT_RANGE_RE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

export function invalidArgument(name, why) {
  return new WasmChordError('ERR_INVALID_ARGUMENT', `invalid argument '${name}': ${why}`);
}

function downloadFailed(url, why, cause) {
  return new WasmChordError('ERR_DOWNLOAD_FAILED', `download of ${url} failed: ${why}`, { cause });
}

/** A failure worth another try with Range (connection cut, reset, premature end). */
export class Retryable extends Error {}

/** `sha256` option → lowercase hex, or undefined. */
export function wantedSha(opts) {
  if (opts.sha256 === undefined || opts.sha256 === null) return undefined;
  const s = String(opts.sha256).toLowerCase();
  if (!SHA256_RE.test(s)) throw invalidArgument('sha256', 'expected 64 hex digits');
  return s;
}

/**
 * Checks downloadModel's `source` and options before any I/O; returns the http(s) URL.
 * `base` resolves a relative source (a page's location; none in Node).
 */
export function checkDownloadArgs(source, opts, base) {
  let url;
  try {
    url = source instanceof URL ? source : new URL(String(source), base);
  } catch {
    throw invalidArgument('url', `not a URL: ${source}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidArgument('url', `expected http: or https:, got ${url.protocol}`);
  }
  if (opts.signal?.aborted) throw abortErrorFor(opts.signal);
  wantedSha(opts);
  if (opts.maxCacheBytes !== undefined && opts.maxCacheBytes !== null && !(opts.maxCacheBytes >= 0)) {
    throw invalidArgument('maxCacheBytes', `expected a non-negative number, got ${opts.maxCacheBytes}`);
  }
  return url;
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Bytes of base64 `s` read as Node's Buffer reads it (the digits before the first '='), or null. */
function base64Bytes(s) {
  try {
    return Uint8Array.from(atob(s.split('=')[0]), (c) => c.charCodeAt(0));
  } catch {
    return null; // a length no base64 text has
  }
}

/** The sha256 a response states for the whole file, if any. */
export function serverSha(headers) {
  const clean = (v) => v?.trim().toLowerCase().replace(/"/g, '');
  const hexOf = (v) => (v && SHA256_RE.test(clean(v)) ? clean(v) : undefined);
  const direct = hexOf(headers.get('x-checksum-sha256')) ?? hexOf(headers.get('x-linked-etag'));
  if (direct) return direct;
  for (const name of ['repr-digest', 'digest']) {
    const v = headers.get(name);
    const m = v && /sha-256=:?([A-Za-z0-9+/=]+):?/i.exec(v);
    const bytes = m && base64Bytes(m[1]);
    if (bytes?.length === 32) return toHex(bytes);
  }
  return undefined;
}

/** File name for `url`: its last path segment (or opts.fileName), made safe. */
export function fileNameFor(url, opts) {
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

/** `name` with `-tag` before its extension (names from fileNameFor never start with a dot). */
export function withSuffix(name, tag) {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}-${tag}${name.slice(dot)}` : `${name}-${tag}`;
}

/**
 * Request headers that continue a download at byte `have` (none when have is 0). `saved` holds
 * the validators of the saved bytes; If-Range makes a changed file come back whole (200).
 */
export function resumeHeaders(have, saved) {
  if (have === 0) return {};
  const headers = { range: `bytes=${have}-` };
  // A weak ETag may not be used in If-Range.
  const validator = saved.etag && !saved.etag.startsWith('W/') ? saved.etag : saved.lastModified;
  if (validator) headers['if-range'] = validator;
  return headers;
}

/**
 * Reads the status of the reply to a request for the bytes from `have` on. Resolves
 * `{ complete: true }` for a 416 when `savedTotal` says the saved bytes are the whole file,
 * `{ ranged: true, total }` for a 206 that continues at `have`, `{ ranged: false, total }` for
 * the whole file (total 0: unknown). A resume that went wrong calls `restart()` (drop the saved
 * bytes) and throws a Retryable; an HTTP error throws ERR_DOWNLOAD_FAILED. The body is
 * cancelled unless it is to be read.
 */
export async function readReply(res, url, have, { savedTotal, restart }) {
  const cancel = () => res.body?.cancel().catch(() => {});
  if (res.status === 416 && have > 0) {
    await cancel();
    if (savedTotal && savedTotal === have) return { complete: true }; // the cut came after the last byte
    await restart();
    throw new Retryable('server refused the resume range; starting over');
  }
  if (res.status === 206) {
    const m = CONTENT_RANGE_RE.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      await cancel();
      await restart();
      throw new Retryable(`unexpected Content-Range ${res.headers.get('content-range')}; starting over`);
    }
    return { ranged: true, total: m[3] === '*' ? 0 : Number(m[3]) };
  }
  if (res.ok) return { ranged: false, total: Number(res.headers.get('content-length') ?? 0) || 0 };
  await cancel();
  throw downloadFailed(url.href, `HTTP ${res.status} ${res.statusText}`.trim());
}

/**
 * Runs `fetchOnce()` (one HTTP pass, resolving `{ sha256, serverSha, ... }`) until its bytes
 * check out against `want`, else the server's sha256: a Retryable failure is retried up to
 * `opts.retries` (3) times, each continuing from the saved bytes; a checksum mismatch calls
 * `discard()` and fetches once more from scratch before ERR_CHECKSUM_MISMATCH.
 */
export async function fetchVerified(url, want, opts, signal, { fetchOnce, discard }) {
  const maxRetries = opts.retries ?? 3;
  let retries = 0;
  let refetched = false;
  for (;;) {
    if (signal.aborted) throw abortErrorFor(signal);
    let got;
    try {
      got = await fetchOnce();
    } catch (e) {
      if (!(e instanceof Retryable)) throw e;
      if (retries >= maxRetries) throw downloadFailed(url.href, e.message, e.cause);
      retries++;
      continue;
    }
    const expected = want ?? got.serverSha;
    if (!expected || got.sha256 === expected) return got;
    await discard();
    if (!refetched) {
      refetched = true;
      continue;
    }
    throw new WasmChordError(
      'ERR_CHECKSUM_MISMATCH',
      `${url.href}: sha256 ${got.sha256}, expected ${expected} (fetched twice)`,
    );
  }
}

/**
 * Downloads in flight, one per key (cache + URL). A call for a running key joins it: it gets
 * the latest progress at once, then every event, and its abort only detaches it; the abort of
 * the last caller stops the transfer.
 */
export class SharedDownloads {
  #jobs = new Map();

  /** Joins the download for `key`, starting it with `start(signal, emit)` when none runs. */
  async join(key, { signal, onProgress }, start) {
    let job = this.#jobs.get(key);
    // A stopped download is still settling (storing what arrived): wait, then start afresh.
    while (job?.controller.signal.aborted) {
      await job.promise.catch(() => {});
      job = this.#jobs.get(key);
    }
    job ??= this.#start(key, start);
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
          // The last waiter left: stop the transfer, and settle once the partial data is saved.
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

  #start(key, start) {
    const controller = new AbortController();
    const listeners = new Set();
    let last = null;
    const emit = (loaded, total) => {
      last = { loaded, total };
      for (const l of listeners) l({ loaded, total });
    };
    const job = { controller, listeners, subscribers: 0, last: () => last };
    job.promise = start(controller.signal, emit).finally(() => {
      if (this.#jobs.get(key) === job) this.#jobs.delete(key);
    });
    this.#jobs.set(key, job);
    return job;
  }
}
