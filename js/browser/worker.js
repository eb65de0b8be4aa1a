// The model's Web Worker: one per loaded model, so inference never runs on the page thread,
// a crash (a wasm trap) takes down only this model, and dispose() returns all of its memory
// (wasm memory never shrinks; terminating the worker frees it).
//
// Protocol (js/browser/worker-model.js is the other side): requests `{ req, op, ...args }`,
// answered by `{ req, ok: true, value }` or `{ req, ok: false, error: { name, code, message } }`;
// a load also posts `{ req, progress: { phase, loaded, total } }`. `cancel` and `close` are
// not answered. Steps run one per request, so a cancel posted during a step is seen before
// the next one. Load and step are promises in the module (WebGPU answers asynchronously); a
// generation may be closed while its step is pending: the step's own reference keeps it alive.
import { downloadModel, findCached, readCached } from './cache/index.js';

/** Chunk size for copying bytes into wasm memory. */
const CHUNK = 16 << 20;

let lastPanic = null;
globalThis.__wasmChordPanic = (message) => {
  lastPanic = message;
};

/** The wasm-bindgen glue of the build in use (one thread, or threads). */
let wasm = null;
/** The thread pool's starter and workers, kept for the worker's lifetime. */
let threadPool = null;

/** Set once the instance trapped: every later request fails with it. */
let crashed = null;
let model = null;
const generations = new Map();

function errorData(e) {
  if (e instanceof WebAssembly.RuntimeError) {
    crashed ??= {
      name: 'WasmChordError',
      code: 'ERR_INTERNAL',
      message: `internal error (a bug in wasm-chord): ${lastPanic ?? e.message}; load the model again`,
    };
    return crashed;
  }
  if (e?.name === 'AbortError') return { name: 'AbortError', code: 'ABORT_ERR', message: e.message };
  if (typeof e?.code === 'string') return { name: e.name, code: e.code, message: e.message };
  return { name: 'WasmChordError', code: 'ERR_INTERNAL', message: String(e?.message ?? e) };
}

function notFound(what) {
  const e = new Error(what);
  e.code = 'ERR_FILE_NOT_FOUND';
  return e;
}

/** Copies a stream of byte chunks into a fresh loader, reporting progress. */
async function fill(loader, chunks, size, report) {
  let loaded = 0;
  report(0, size);
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; at += CHUNK) {
      loader.write(chunk.subarray(at, Math.min(chunk.byteLength, at + CHUNK)));
    }
    loaded += chunk.byteLength;
    report(loaded, size);
  }
  // A short stream: finish() reports the shortfall as ERR_GGUF_TRUNCATED.
}

async function* streamChunks(stream) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value instanceof Uint8Array ? value : new Uint8Array(value);
    }
  } finally {
    reader.releaseLock();
  }
}

function* sliceChunks(bytes) {
  for (let at = 0; at < bytes.byteLength; at += CHUNK) yield bytes.subarray(at, at + CHUNK);
}

/** Resolves `{ chunks, size, phase, entry? }` for a load source. */
async function open(source, progress) {
  switch (source.kind) {
    case 'bytes': {
      const bytes = new Uint8Array(source.bytes);
      return { chunks: sliceChunks(bytes), size: bytes.byteLength, phase: 'load' };
    }
    case 'stream':
      return { chunks: streamChunks(source.stream), size: source.size, phase: 'load' };
    case 'blob':
      return { chunks: streamChunks(source.blob.stream()), size: source.blob.size, phase: 'load' };
    case 'cached': {
      const entry = await findCached(source.key, source.cacheOptions);
      if (!entry) throw notFound(`${source.key} is not in the browser model cache`);
      return { chunks: readCached(entry, { chunkBytes: CHUNK }), size: entry.size, phase: 'cache', entry };
    }
    case 'url': {
      if (source.cache === false) {
        const res = await fetch(source.url, { headers: source.headers });
        if (!res.ok || !res.body) {
          const e = new Error(`download of ${source.url} failed: HTTP ${res.status}`);
          e.code = 'ERR_DOWNLOAD_FAILED';
          throw e;
        }
        const size = Number(res.headers.get('content-length') ?? NaN);
        if (!Number.isFinite(size)) {
          const e = new Error(`${source.url}: the server sent no Content-Length (needed to reserve memory); load it with the cache on`);
          e.code = 'ERR_DOWNLOAD_FAILED';
          throw e;
        }
        return { chunks: streamChunks(res.body), size, phase: 'download' };
      }
      const opts = source.downloadOptions ?? {};
      // A plain cache hit is read at once (no 'download' phase); a wanted sha256 or `verify`
      // goes through downloadModel, which checks the cached copy.
      const hit = !opts.sha256 && !opts.verify ? await findCached(source.url, opts) : null;
      if (hit) return { chunks: readCached(hit, { chunkBytes: CHUNK }), size: hit.size, phase: 'cache', entry: hit };
      const entry = await downloadModel(source.url, {
        ...source.downloadOptions,
        _maxBytes: wasm.maxModelBytes(),
        onProgress: (p) => progress('download', p.loaded, p.total),
      });
      return { chunks: readCached(entry, { chunkBytes: CHUNK }), size: entry.size, phase: 'cache', entry };
    }
    default:
      throw new Error(`unknown source kind ${source.kind}`);
  }
}

/** Starts `n` thread workers over this instance's shared memory and makes them the pool. */
async function startThreads(module, n) {
  const starter = wasm.threadPool(n);
  const memory = wasm.sharedMemory();
  const workers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(new URL('./thread-worker.js', import.meta.url), { type: 'module', name: 'wasm-chord-thread' });
          w.onmessage = ({ data }) => (data === 'ready' ? resolve(w) : reject(new Error(data?.error)));
          w.onerror = (e) => reject(new Error(e.message || 'a thread worker failed to start'));
          w.postMessage({ module, memory, address: starter.address });
        }),
    ),
  );
  starter.build();
  threadPool = { starter, workers };
}

/**
 * A name for the WebGPU adapter when wgpu has none (it reads only `info.description`, which
 * browsers often leave empty): its vendor and architecture, e.g. `'google swiftshader'`.
 */
async function adapterName() {
  const info = (await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' }))?.info;
  const name = [info?.vendor, info?.architecture, info?.device].filter(Boolean).join(' ');
  return name || 'WebGPU adapter';
}

const ops = {
  /** `threads`: 0 for the one-thread build, else the pool size (the module is the threads build). */
  async init({ module, threads }) {
    wasm = threads > 0 ? await import('./wasm-mt/wasm_chord.js') : await import('./wasm/wasm_chord.js');
    await wasm.default({ module_or_path: module });
    wasm.installPanicHook();
    if (threads > 0) await startThreads(module, threads);
    return { maxModelBytes: wasm.maxModelBytes() };
  },

  async load({ source, contextSize, gpu }, progress) {
    if (model) throw new Error('this worker already holds a model');
    const { chunks, size, phase, entry } = await open(source, progress);
    const loader = new wasm.WasmLoader(size);
    try {
      await fill(loader, chunks, size, (loaded, total) => progress(phase, loaded, total));
      model = await loader.finish(0, contextSize ?? 0, gpu ?? 'false');
    } finally {
      loader.free();
    }
    const header = model.header();
    const info = JSON.parse(model.infoJson());
    if (info.gpu && !info.gpu.adapter) info.gpu.adapter = await adapterName();
    return {
      value: { info, header: header.buffer, size, entry: entry ?? null },
      transfer: [header.buffer],
    };
  },

  start({ gen, kind, prompt, messages, options }) {
    if (!model) throw Object.assign(new Error('the model was disposed'), { code: 'ERR_MODEL_DISPOSED' });
    const opts = JSON.stringify(options ?? {});
    const g = kind === 'chat' ? model.chat(JSON.stringify(messages), opts) : model.generate(prompt, opts);
    generations.set(gen, g);
  },

  async step({ gen }) {
    const g = generations.get(gen);
    if (!g) return { chunk: null, finishReason: null };
    const c = await g.step();
    const chunk = c ? { text: c.text, token: c.token } : null;
    c?.free();
    const out = { chunk, finishReason: g.finishReason ?? null, promptTokens: g.promptTokens ?? null };
    if (!chunk) {
      generations.delete(gen);
      g.free();
    }
    return out;
  },

  cancel({ gen }) {
    generations.get(gen)?.cancel();
  },

  close({ gen }) {
    const g = generations.get(gen);
    if (!g) return;
    generations.delete(gen);
    g.close();
    g.free();
  },
};

const silent = new Set(['cancel', 'close']);

self.onmessage = async ({ data }) => {
  const { req, op } = data;
  const progress = (phase, loaded, total) => self.postMessage({ req, progress: { phase, loaded, total } });
  try {
    if (crashed) throw Object.assign(new Error(crashed.message), { code: crashed.code });
    const fn = ops[op];
    if (!fn) throw new Error(`unknown op ${op}`);
    const result = await fn(data, progress);
    if (silent.has(op)) return;
    if (result && result.transfer) self.postMessage({ req, ok: true, value: result.value }, result.transfer);
    else self.postMessage({ req, ok: true, value: result });
  } catch (e) {
    if (!silent.has(op)) self.postMessage({ req, ok: false, error: errorData(e) });
  }
};
