// Web Locks for the browser cache. Locks are shared by every tab and worker of the origin, so
// they serialise what two contexts do to one cache: index updates (`<prefix>:index`), one
// download per URL (`<prefix>:download:<url>`), and mark models in use (`wasm-chord-cache:use:<key>`,
// held in shared mode by retain()). Without navigator.locks (old browsers) an in-context queue
// stands in, which serialises only this context.
import { abortErrorFor } from '../../errors.js';

const locks = () => globalThis.navigator?.locks ?? null;

/** Stand-in exclusive queues, by lock name (only when navigator.locks is missing). */
const queues = new Map();

function queued(name, fn) {
  const prev = queues.get(name) ?? Promise.resolve();
  const run = prev.then(() => fn());
  const settled = run.catch(() => {});
  queues.set(name, settled);
  settled.then(() => {
    if (queues.get(name) === settled) queues.delete(name);
  });
  return run;
}

/**
 * Runs `fn` holding lock `name` (exclusive unless `mode: 'shared'`). Waiting for the lock ends
 * with an AbortError when `signal` fires.
 */
export async function withLock(name, { mode = 'exclusive', signal } = {}, fn) {
  const l = locks();
  if (!l) return mode === 'shared' ? fn() : queued(name, fn);
  try {
    return await l.request(name, signal ? { mode, signal } : { mode }, () => fn());
  } catch (e) {
    // A DOMException from the lock manager itself (aborted while waiting) becomes ours.
    if (signal?.aborted && e instanceof DOMException && e.name === 'AbortError') throw abortErrorFor(signal);
    throw e;
  }
}

/** Names of the locks held or requested in any context of this origin that start with `prefix`. */
export async function lockNames(prefix) {
  const l = locks();
  if (!l?.query) return [];
  const { held = [], pending = [] } = await l.query();
  return [...held, ...pending].map((x) => x.name).filter((n) => n?.startsWith(prefix));
}

/** Takes lock `name` in shared mode until the returned function is called. */
export function holdShared(name) {
  const l = locks();
  if (!l) return () => {};
  let release;
  const until = new Promise((resolve) => {
    release = resolve;
  });
  l.request(name, { mode: 'shared' }, () => until).catch(() => {});
  return release;
}
