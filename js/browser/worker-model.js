// The page side of a model's worker (js/browser/worker.js): the same "native" interface the
// napi addon gives js/model.js in Node. Text calls (tokenize, detokenize, applyChatTemplate)
// are synchronous on the page through the model's vocabulary (js/browser/wasm-module.js);
// generation steps are requests to the worker, one per token, so nothing runs ahead of the
// consumer and a cancel lands between two tokens.
import { WasmChordError, abortErrorFor } from '../errors.js';
import { pageVocab, wasmModule } from './wasm-module.js';

/** A worker and its pending requests. */
class WorkerRpc {
  #worker;
  #next = 1;
  #pending = new Map();
  #dead = null;

  constructor() {
    this.#worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'wasm-chord' });
    this.#worker.onmessage = ({ data }) => {
      const p = this.#pending.get(data.req);
      if (!p) return;
      if (data.progress) return p.onProgress?.(data.progress);
      this.#pending.delete(data.req);
      if (data.ok) p.resolve(data.value);
      else p.reject(rebuildError(data.error));
    };
    this.#worker.onerror = (ev) => {
      ev.preventDefault?.();
      this.terminate(
        new WasmChordError('ERR_WASM_LOAD', `wasm-chord worker failed: ${ev.message || 'could not start the worker script'}`),
      );
    };
  }

  /** Sends a request; resolves its answer. */
  call(op, args = {}, { transfer = [], onProgress } = {}) {
    if (this.#dead) return Promise.reject(this.#dead);
    const req = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(req, { resolve, reject, onProgress });
      this.#worker.postMessage({ req, op, ...args }, transfer);
    });
  }

  /** Sends a request that has no answer. */
  send(op, args = {}) {
    if (!this.#dead) this.#worker.postMessage({ req: 0, op, ...args });
  }

  /** Stops the worker (frees all its memory); pending requests reject with `reason`. */
  terminate(reason = disposed()) {
    if (this.#dead) return;
    this.#dead = reason;
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(reason);
    this.#pending.clear();
  }
}

function disposed() {
  return new WasmChordError('ERR_MODEL_DISPOSED', 'the model was disposed');
}

/** `{ name, code, message }` from the worker → an Error the shared layer maps (fromNative). */
function rebuildError({ name, code, message }) {
  const e = new Error(message);
  e.code = code;
  if (name === 'AbortError') e.name = name;
  return e;
}

/** Can this browser transfer a ReadableStream to a worker? (Chromium, Firefox: yes.) */
function canTransferStreams() {
  try {
    const { port1 } = new MessageChannel();
    const s = new ReadableStream();
    port1.postMessage(s, [s]);
    port1.close();
    return true;
  } catch {
    return false;
  }
}

const SLICE = 16 << 20;

/** A load source as worker arguments, streaming caller bytes rather than cloning them whole. */
function transferable(source) {
  if (source.kind !== 'bytes' || !canTransferStreams()) return { source, transfer: [] };
  const bytes = source.bytes;
  let at = 0;
  const stream = new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      // A copy of one slice at a time: the caller's buffer stays theirs.
      controller.enqueue(bytes.slice(at, at + SLICE));
      at += SLICE;
    },
  }, { highWaterMark: 1 });
  return { source: { kind: 'stream', stream, size: bytes.byteLength }, transfer: [stream] };
}

/**
 * Whether a load with `gpu` goes to WebGPU: `true` always tries (a software adapter such as
 * SwiftShader included; the worker reports failure as ERR_GPU_*); `'auto'` only when the page
 * sees a hardware adapter, else the CPU (threads where the page allows) with the reason.
 */
async function gpuPlan(gpu) {
  if (gpu === true || gpu === 'true') return { use: true };
  if (gpu !== 'auto') return { use: false };
  let adapter = null;
  try {
    adapter = await globalThis.navigator?.gpu?.requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    adapter = null;
  }
  if (!adapter) return { use: false, fallback: 'ERR_GPU_UNAVAILABLE: no WebGPU adapter (navigator.gpu is missing or gave none)' };
  if (adapter.info?.isFallbackAdapter) {
    return { use: false, fallback: 'ERR_GPU_UNAVAILABLE: only a software WebGPU adapter (pass gpu: true to use it)' };
  }
  return { use: true };
}

let genIds = 0;

export class WorkerModel {
  #rpc;
  #vocab;
  info;
  /** The cache entry the model came from (or null). */
  entry;

  constructor(rpc, vocab, value) {
    this.#rpc = rpc;
    this.#vocab = vocab;
    this.info = value.info;
    this.entry = value.entry;
  }

  /**
   * Starts a worker and loads `source` (`{ kind: 'bytes'|'blob'|'url'|'cached', ... }`) into it.
   * An abort terminates the worker at once.
   */
  static async load(source, { threads, contextSize, gpu }, { onProgress, signal } = {}) {
    const rpc = new WorkerRpc();
    const onAbort = () => rpc.terminate(abortErrorFor(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const webgpu = await gpuPlan(gpu);
      // Threads need shared memory, which only a cross-origin isolated page has. WebGPU lives
      // in the one-thread build (wgpu's handles cannot be shared between threads).
      const pool = globalThis.crossOriginIsolated && threads !== 1 ? threads || navigator.hardwareConcurrency || 1 : 0;
      const threaded = pool > 1 && !webgpu.use ? pool : 0;
      await rpc.call('init', { module: await wasmModule(threaded ? 'wasm-mt' : 'wasm'), threads: threaded });
      const args = transferable(source);
      const value = await rpc.call(
        'load',
        { source: args.source, contextSize, gpu: webgpu.use ? String(gpu) : 'false' },
        { transfer: args.transfer, onProgress },
      );
      if (webgpu.fallback) value.info.gpuFallback = webgpu.fallback;
      const vocab = await pageVocab(new Uint8Array(value.header), value.size);
      if (signal?.aborted) throw abortErrorFor(signal);
      return new WorkerModel(rpc, vocab, value);
    } catch (e) {
      rpc.terminate(e);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  tokenize(text, special) {
    return Array.from(this.#vocab.tokenize(text, special));
  }

  detokenize(ids) {
    return this.#vocab.detokenize(Uint32Array.from(ids));
  }

  applyChatTemplate(messages, addGenerationPrompt) {
    return this.#vocab.applyChatTemplate(JSON.stringify(messages), addGenerationPrompt);
  }

  generate(prompt, options) {
    return new WorkerGeneration(this.#rpc, { kind: 'text', prompt, options: plain(options) });
  }

  chat(messages, options) {
    return new WorkerGeneration(this.#rpc, { kind: 'chat', messages, options: plain(options) });
  }

  dispose() {
    this.#rpc.terminate();
    this.#vocab.free();
  }
}

/** Options without undefined fields (the core reads absent and undefined alike). */
function plain(options) {
  return JSON.parse(JSON.stringify(options ?? {}));
}

/** One generation in the worker, stepped by `next()`. */
class WorkerGeneration {
  #rpc;
  #id = ++genIds;
  #started;
  finishReason = null;
  promptTokens = null;

  constructor(rpc, args) {
    this.#rpc = rpc;
    this.#started = rpc.call('start', { gen: this.#id, ...args });
    this.#started.catch(() => {}); // reported by the first next()
  }

  async next() {
    await this.#started;
    const { chunk, finishReason, promptTokens } = await this.#rpc.call('step', { gen: this.#id });
    this.finishReason = finishReason;
    this.promptTokens = promptTokens;
    return chunk;
  }

  cancel() {
    this.#rpc.send('cancel', { gen: this.#id });
  }

  close() {
    this.#rpc.send('close', { gen: this.#id });
  }
}
