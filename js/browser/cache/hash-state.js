// Incremental SHA-256 whose state survives a page reload: the partial download's metadata keeps
// the hasher's eight state words, the byte count and the bytes of the unfinished 64-byte block,
// so a resumed download continues hashing without reading the stored bytes back.
//
// @noble/hashes (pinned 2.4.0) has no public export/import of the state; this uses the fields
// its SHA-256 class keeps (`get()`/`set()` of the words A..H, `length`, `pos`, `buffer`), and a
// self-test at load checks that a saved-and-restored hasher gives the one-shot digest. When the
// check fails (a library change), saveHash returns null and the download rehashes the stored
// chunks on resume instead.
import { sha256 } from '@noble/hashes/sha2.js';

const BLOCK = 64;

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

/** Lowercase hex of a digest. */
export const hex = toHex;

function save(h) {
  if (typeof h.get !== 'function' || !Number.isSafeInteger(h.length) || !Number.isInteger(h.pos)) return null;
  if (!(h.buffer instanceof Uint8Array) || h.finished || h.destroyed) return null;
  const words = h.get();
  if (!Array.isArray(words) || words.length !== 8) return null;
  return { v: 1, words: words.map((w) => w >>> 0), length: h.length, tail: toHex(h.buffer.subarray(0, h.pos)) };
}

function restore(s) {
  if (s?.v !== 1 || !Array.isArray(s.words) || s.words.length !== 8 || typeof s.tail !== 'string') return null;
  const tail = fromHex(s.tail);
  const aligned = s.length - tail.length;
  if (!Number.isSafeInteger(aligned) || aligned < 0 || aligned % BLOCK !== 0 || tail.length >= BLOCK) return null;
  const h = sha256.create();
  h.set(...s.words);
  h.length = aligned;
  h.pos = 0;
  h.update(tail);
  return h;
}

function selfTest() {
  try {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff);
    const whole = toHex(sha256(data));
    const a = sha256.create().update(data.subarray(0, 173));
    const b = restore(JSON.parse(JSON.stringify(save(a))));
    return b !== null && toHex(b.update(data.subarray(173)).digest()) === whole;
  } catch {
    return false;
  }
}

const SUPPORTED = selfTest();

/** The hasher's state as JSON-able data, or null when it cannot be saved. */
export function saveHash(h) {
  return SUPPORTED ? save(h) : null;
}

/** A hasher continuing from `state` (from saveHash) that has hashed `bytes` bytes, or null. */
export function restoreHash(state, bytes) {
  if (!SUPPORTED || state?.length !== bytes) return null;
  try {
    return restore(state);
  } catch {
    return null;
  }
}

/** A fresh SHA-256 hasher. */
export const newHash = () => sha256.create();
