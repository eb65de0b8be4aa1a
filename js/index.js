// Public API for Node (ESM). The contract, with docs, is ../index.d.ts.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative } from './native.js';
import { AbortError, WasmChordError, abortErrorFor, wrapAsync } from './errors.js';
import { Model, invalid, optGpu, optInt, raceSignal } from './model.js';
import { downloadModel, isHttpUrl } from './fetch.js';
import { cacheDir, findCached, listCached, pruneCache, removeCached, retain } from './cache/index.js';

export { AbortError, WasmChordError, Model };
export { cacheDir, downloadModel, listCached, pruneCache, removeCached };

/** A file path to load: downloads http(s) URLs, looks bare names up in the cache. */
async function resolveFile(source, opts, onProgress) {
  if (isHttpUrl(source)) {
    const entry = await downloadModel(source, { ...opts, onProgress });
    return { file: entry.path, downloaded: true };
  }
  const file = source instanceof URL ? fileURLToPath(source) : source;
  if (typeof source === 'string' && path.basename(source) === source) {
    const exists = await stat(file).then(
      () => true,
      () => false,
    );
    if (!exists) {
      const cached = await findCached(source, opts);
      if (cached) return { file: cached };
    }
  }
  return { file };
}

export async function loadModel(source, opts = {}) {
  const { signal, onProgress } = opts;
  if (signal?.aborted) throw abortErrorFor(signal);
  const nativeOpts = {
    threads: optInt(opts, 'threads', 0),
    contextSize: optInt(opts, 'contextSize', 1),
    gpu: optGpu(opts),
  };
  const native = loadNative();
  let promise;
  let total;
  let release = () => {};
  if (typeof source === 'string' || source instanceof URL) {
    const { file, downloaded } = await resolveFile(source, opts, onProgress);
    total = await stat(file).then(
      (s) => s.size,
      () => undefined, // the addon reports the error with its code
    );
    // A download reported its progress already; a file is ready at once.
    if (!downloaded) onProgress?.({ loaded: 0, total });
    release = retain(file);
    promise = native.loadModel(file, nativeOpts);
  } else if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes =
      source instanceof Uint8Array
        ? source
        : ArrayBuffer.isView(source)
          ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
          : new Uint8Array(source);
    total = bytes.byteLength;
    onProgress?.({ loaded: 0, total });
    promise = native.loadModelFromBytes(bytes, nativeOpts);
  } else {
    throw invalid('source', 'expected a file path, a file:/http(s): URL, an ArrayBuffer or a Uint8Array');
  }
  let nm;
  try {
    nm = await raceSignal(wrapAsync(promise), signal, (late) => late.dispose());
  } catch (e) {
    release();
    throw e;
  }
  onProgress?.({ loaded: total ?? 0, total: total ?? 0 });
  return new Model(nm, release);
}

