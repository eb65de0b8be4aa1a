// A generation as a pull-based AsyncIterable: each `next()` asks the addon for one token
// (computed on a worker thread), so nothing runs ahead of the consumer. `break` (which calls
// `return()`) frees the session at once; an AbortSignal rejects the pending `next()` at once
// with an AbortError and stops the native step at its next check.
import { WasmChordError, abortErrorFor, fromNative } from './errors.js';

export class TokenStream {
  /** @type {any} native generation, or null once closed */
  #native;
  #signal;
  #onClose;
  /** Serializes next() calls: the addon takes one step at a time. */
  #queue = Promise.resolve();
  /** Rejects the pending next() early (abort, dispose). */
  #rejectPending = null;
  /** Error every later next() rejects with (after an abort or a dispose). */
  #error = null;
  #finishReason = null;
  #abortListener = null;

  /**
   * @param {() => any} start creates the native generation (may throw, e.g. disposed model)
   * @param {{ signal?: AbortSignal, onClose?: (s: TokenStream) => void }} opts
   */
  constructor(start, { signal, onClose } = {}) {
    this.#signal = signal;
    this.#onClose = onClose;
    try {
      this.#native = start();
    } catch (e) {
      this.#native = null;
      this.#error = fromNative(e);
      return;
    }
    if (signal) {
      this.#abortListener = () => this.fail(abortErrorFor(signal));
      signal.addEventListener('abort', this.#abortListener, { once: true });
    }
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** Whether the native generation is still open. */
  get live() {
    return this.#native !== null;
  }

  /** `stop` or `length` once the stream ended by itself; null before or after an error. */
  get finishReason() {
    return this.#finishReason;
  }

  next() {
    const p = this.#queue.then(() => this.#step());
    this.#queue = p.catch(() => {});
    return p;
  }

  async #step() {
    if (this.#error) throw this.#error;
    if (this.#signal?.aborted) {
      this.fail(abortErrorFor(this.#signal));
      throw this.#error;
    }
    if (!this.#native) return { done: true, value: undefined };
    const native = this.#native;
    const early = new Promise((_, reject) => {
      this.#rejectPending = reject;
    });
    const step = native.next();
    step.catch(() => {}); // may settle after an early rejection
    let chunk;
    try {
      chunk = await Promise.race([step, early]);
    } catch (e) {
      const err = this.#error ?? fromNative(e);
      this.fail(err);
      throw err;
    } finally {
      this.#rejectPending = null;
    }
    if (chunk === null) {
      this.#finishReason = native.finishReason ?? null;
      this.#close();
      return { done: true, value: undefined };
    }
    const value = { text: chunk.text };
    if (chunk.token !== undefined && chunk.token !== null) value.token = chunk.token;
    return { done: false, value };
  }

  /** Called by `break` / early exit from `for await`: frees the session. */
  async return(value) {
    this.#close();
    return { done: true, value };
  }

  async throw(err) {
    this.#close();
    throw err;
  }

  /** All remaining text, concatenated. */
  async text() {
    let out = '';
    for await (const c of this) out += c.text;
    return out;
  }

  /** Ends the stream with `err`: the pending and every later next() reject with it. */
  fail(err) {
    if (!this.#error) this.#error = err;
    this.#native?.cancel();
    this.#rejectPending?.(this.#error);
    this.#close();
  }

  #close() {
    if (this.#abortListener) {
      this.#signal.removeEventListener('abort', this.#abortListener);
      this.#abortListener = null;
    }
    if (!this.#native) return;
    this.#native.close();
    this.#native = null;
    this.#onClose?.(this);
  }
}

/** The error live streams get when their model is disposed. */
export function disposedError() {
  return new WasmChordError('ERR_MODEL_DISPOSED', 'the model was disposed');
}
