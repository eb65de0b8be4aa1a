// Error classes of the public API. Native errors carry a stable `code` (`ERR_*`); a
// cancelled generation (`ABORT_ERR`) becomes an AbortError, as `fetch` and `fs` throw.

/** Every failure the API reports: `code` is a stable ERR_* string (see index.d.ts). */
export class WasmChordError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'WasmChordError';
    this.code = code;
  }
}

/** Thrown when an AbortSignal fires or a generation is cancelled (`name === 'AbortError'`). */
export class AbortError extends Error {
  constructor(message = 'The operation was aborted', options) {
    super(message, options);
    this.name = 'AbortError';
    this.code = 'ABORT_ERR';
  }
}

/** The AbortError for `signal` (its reason as `cause`). */
export function abortErrorFor(signal) {
  return new AbortError('The operation was aborted', { cause: signal?.reason });
}

/** Rebuilds an error thrown by the addon as one of ours (other errors pass through). */
export function fromNative(e) {
  if (!(e instanceof Error) || typeof e.code !== 'string') return e;
  if (e.code === 'ABORT_ERR') return new AbortError(e.message);
  if (e.code.startsWith('ERR_')) return new WasmChordError(e.code, e.message);
  return e;
}

/** Calls `f`, rethrowing addon errors as ours. */
export function wrapSync(f) {
  try {
    return f();
  } catch (e) {
    throw fromNative(e);
  }
}

/** Awaits `p`, rethrowing addon errors as ours. */
export async function wrapAsync(p) {
  try {
    return await p;
  } catch (e) {
    throw fromNative(e);
  }
}
