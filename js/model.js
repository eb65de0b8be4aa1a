// The Model class and argument checks shared by the Node and browser entries. A Model wraps a
// "native" handle with one interface in both places: the napi addon in Node (js/native.js),
// a proxy to the model's Web Worker in the browser (js/browser/worker-model.js):
//   info · tokenize(text, special) · detokenize(ids) · applyChatTemplate(messages, addGen)
//   generate(prompt, opts) / chat(messages, opts) → { next(): Promise<chunk|null>, cancel(),
//   close(), finishReason } · dispose()
import { WasmChordError, abortErrorFor, wrapSync } from './errors.js';
import { completion, completionChunks } from './openai.js';
import { TokenStream, disposedError } from './stream.js';

export function invalid(name, why) {
  return new WasmChordError('ERR_INVALID_ARGUMENT', `invalid argument '${name}': ${why}`);
}

export function optInt(opts, name, min, max = 2 ** 32 - 1) {
  const v = opts?.[name];
  if (v === undefined || v === null) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw invalid(name, `expected an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}

/** `gpu` as the bindings take it: `'auto'`, `'true'`, `'false'` (absent: `'false'`). */
export function optGpu(opts) {
  const v = opts?.gpu;
  if (v === undefined || v === null) return 'false';
  if (v === 'auto' || v === true || v === false) return String(v);
  throw invalid('gpu', `expected 'auto', true or false, got ${typeof v === 'string' ? `'${v}'` : v}`);
}

export function optNum(opts, name) {
  const v = opts?.[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(name, `expected a finite number, got ${v}`);
  return v;
}

function nativeGenerateOptions(opts = {}) {
  let stop = opts.stop;
  if (typeof stop === 'string') stop = [stop];
  if (stop !== undefined && (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string'))) {
    throw invalid('stop', 'expected a string or an array of strings');
  }
  return {
    maxTokens: optInt(opts, 'maxTokens', 0),
    temperature: optNum(opts, 'temperature'),
    topK: optInt(opts, 'topK', -(2 ** 31), 2 ** 31 - 1),
    topP: optNum(opts, 'topP'),
    minP: optNum(opts, 'minP'),
    repeatPenalty: optNum(opts, 'repeatPenalty'),
    frequencyPenalty: optNum(opts, 'frequencyPenalty'),
    presencePenalty: optNum(opts, 'presencePenalty'),
    penaltyLastN: optInt(opts, 'penaltyLastN', 0),
    seed: optInt(opts, 'seed', 0, Number.MAX_SAFE_INTEGER),
    stop,
    special: opts.special === undefined ? undefined : Boolean(opts.special),
  };
}

function nativeMessages(messages) {
  if (!Array.isArray(messages)) throw invalid('messages', 'expected an array of { role, content }');
  return messages.map((m, i) => {
    if (typeof m?.role !== 'string' || typeof m?.content !== 'string') {
      throw invalid('messages', `message ${i} needs string 'role' and 'content'`);
    }
    return { role: m.role, content: m.content };
  });
}

/** Rejects with an AbortError as soon as `signal` fires; `onLate` gets a result that came too late. */
export function raceSignal(promise, signal, onLate) {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortErrorFor(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) onLate?.(v);
        else resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export class Model {
  #native;
  #info;
  #disposed = false;
  /** Live streams, failed with ERR_MODEL_DISPOSED by dispose(). */
  #streams = new Set();

  #onDispose;

  /** @internal use loadModel() */
  constructor(native, onDispose) {
    this.#native = native;
    this.#onDispose = onDispose;
    this.#info = Object.freeze({ ...native.info });
  }

  get info() {
    return this.#info;
  }

  get disposed() {
    return this.#disposed;
  }

  #check() {
    if (this.#disposed) throw disposedError();
  }

  tokenize(text, opts = {}) {
    this.#check();
    if (typeof text !== 'string') throw invalid('text', 'expected a string');
    return wrapSync(() => this.#native.tokenize(text, Boolean(opts.special)));
  }

  detokenize(ids) {
    this.#check();
    const list = Array.from(ids ?? [], Number);
    if (list.some((id) => !Number.isInteger(id) || id < 0 || id > 2 ** 32 - 1)) {
      throw invalid('ids', 'expected token ids (non-negative integers)');
    }
    return wrapSync(() => this.#native.detokenize(list));
  }

  applyChatTemplate(messages, opts = {}) {
    this.#check();
    const msgs = nativeMessages(messages);
    return wrapSync(() => this.#native.applyChatTemplate(msgs, opts.addGenerationPrompt ?? true));
  }

  generate(prompt, opts = {}) {
    return this.#stream(opts, () => {
      this.#check();
      if (typeof prompt !== 'string') throw invalid('prompt', 'expected a string');
      return this.#native.generate(prompt, nativeGenerateOptions(opts));
    });
  }

  chat(messages, opts = {}) {
    return this.#stream(opts, () => {
      this.#check();
      return this.#native.chat(nativeMessages(messages), nativeGenerateOptions(opts));
    });
  }

  /**
   * OpenAI-shaped chat completion: `{ messages, stream, max_tokens, temperature, top_p, seed,
   * stop, ... }`. Resolves to a `chat.completion`, or with `stream: true` returns an async
   * iterable of `chat.completion.chunk` objects.
   */
  createChatCompletion(request) {
    this.#check();
    if (!request || !Array.isArray(request.messages)) throw invalid('messages', 'expected an array of messages');
    return request.stream ? completionChunks(this, request) : completion(this, request);
  }

  #stream(opts, start) {
    const stream = new TokenStream(start, {
      signal: opts?.signal,
      onClose: (s) => this.#streams.delete(s),
    });
    if (stream.live) this.#streams.add(stream);
    return stream;
  }

  /** Frees the model; safe to call twice. Live generations fail with ERR_MODEL_DISPOSED. */
  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const s of [...this.#streams]) s.fail(disposedError());
    this.#streams.clear();
    this.#native.dispose();
    this.#onDispose?.();
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Model.prototype[Symbol.dispose] = function dispose() {
    this.dispose();
  };
}
