// Public API in the browser (the `browser` export condition). The same contract as Node
// (../../index.d.ts): loadModel, Model (generate, chat, createChatCompletion, tokenize, ...),
// the cache functions, WasmChordError and AbortError. Each model runs in its own module Web
// Worker (js/browser/worker.js) on the wasm build of the core; the page thread never runs
// inference. Sources: an http(s) or relative URL (downloaded into the browser cache, then
// read from it), a File or Blob, an ArrayBuffer or typed array, or the name of a cached model.
// Paths and mmap do not exist here: `file:` URLs and `cacheDir` are ERR_UNSUPPORTED_IN_BROWSER.
import { AbortError, WasmChordError, abortErrorFor, wrapAsync } from '../errors.js';
import { Model, invalid, optGpu, optInt } from '../model.js';
import { WorkerModel } from './worker-model.js';
import { downloadModel, listCached, pruneCache, removeCached, retain } from './cache/index.js';

export { AbortError, WasmChordError, Model };
export { downloadModel, listCached, pruneCache, removeCached };

function unsupported(what) {
  return new WasmChordError('ERR_UNSUPPORTED_IN_BROWSER', `${what} is not available in the browser`);
}

/** Node only: the browser cache lives in OPFS or IndexedDB, not in a directory. */
export function cacheDir() {
  throw unsupported('cacheDir() (a file system directory)');
}

/** Whether `s` reads as a URL (absolute, or relative to the page) rather than a cache name. */
function looksLikeUrl(s) {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) || s.startsWith('/') || s.startsWith('./') || s.startsWith('../');
}

const DOWNLOAD_KEYS = ['sha256', 'fileName', 'verify', 'maxCacheBytes', 'retries', 'headers', 'cacheBackend'];

function downloadOptions(opts) {
  const out = {};
  for (const k of DOWNLOAD_KEYS) if (opts[k] !== undefined) out[k] = opts[k];
  return out;
}

function urlSource(href, opts) {
  const url = new URL(href, globalThis.location?.href);
  if (url.protocol === 'file:') throw unsupported('loading a file: URL (a path)');
  if (url.protocol === 'blob:' || url.protocol === 'data:') return { kind: 'url', url: url.href, cache: false };
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid('source', `expected an http(s) URL, got ${url.protocol}`);
  }
  return { kind: 'url', url: url.href, cache: opts.cache !== false, headers: opts.headers, downloadOptions: downloadOptions(opts) };
}

/** The worker's description of `source`. */
function describe(source, opts) {
  if (opts.cacheDir !== undefined) throw unsupported("the 'cacheDir' option");
  if (source instanceof URL) return urlSource(source.href, opts);
  if (typeof source === 'string') {
    if (/^[a-z]:[\\/]/i.test(source) || source.startsWith('\\\\')) throw unsupported('loading a file path');
    if (looksLikeUrl(source)) return urlSource(source, opts);
    return { kind: 'cached', key: source, cacheOptions: downloadOptions(opts) };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) return { kind: 'blob', blob: source };
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes =
      source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return { kind: 'bytes', bytes };
  }
  throw invalid('source', 'expected a URL, a File or Blob, an ArrayBuffer or typed array, or a cached model name');
}

export async function loadModel(source, opts = {}) {
  const { signal, onProgress } = opts;
  if (signal?.aborted) throw abortErrorFor(signal);
  const loadOpts = {
    threads: optInt(opts, 'threads', 0),
    contextSize: optInt(opts, 'contextSize', 1),
    gpu: optGpu(opts),
  };
  const desc = describe(source, opts);
  const report = onProgress
    ? (p) => {
        try {
          onProgress(p);
        } catch {
          // a throwing progress callback must not break the load
        }
      }
    : undefined;
  const native = await wrapAsync(WorkerModel.load(desc, loadOpts, { onProgress: report, signal }));
  const release = native.entry ? retain(native.entry) : () => {};
  return new Model(native, release);
}
