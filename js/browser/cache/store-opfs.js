// The OPFS store of the browser cache (navigator.storage.getDirectory()):
//
//   <cache name>/index.json          the index record
//   <cache name>/blobs/<blobId>/<i>  chunk i of a model, one file per chunk
//
// A model is a folder of chunk files rather than one file because a Window can only write OPFS
// through createWritable, whose data lands in a swap file and becomes visible only on close():
// appending to one big file would either lose everything since the last close on a reload or
// copy the whole file at every commit. A chunk file is written once and is durable when its
// write resolves, so a reload loses at most the chunk in flight. In a dedicated worker chunks
// are written with createSyncAccessHandle (in place, no swap file) when it exists.
// Implements the store interface described in backend.js.

const INDEX_FILE = 'index.json';
const BLOBS = 'blobs';

/** Whether this context can write OPFS with sync access handles (dedicated workers). */
const HAS_SYNC_HANDLE =
  typeof FileSystemFileHandle !== 'undefined' && typeof FileSystemFileHandle.prototype.createSyncAccessHandle === 'function';
const HAS_WRITABLE =
  typeof FileSystemFileHandle !== 'undefined' && typeof FileSystemFileHandle.prototype.createWritable === 'function';

/** Writes `bytes` as the whole content of `fh`. `atomic`: prefer createWritable (swap file + rename). */
export async function writeWhole(fh, bytes, { atomic = false } = {}) {
  if (HAS_SYNC_HANDLE && !(atomic && HAS_WRITABLE)) {
    const h = await fh.createSyncAccessHandle();
    try {
      h.truncate(0);
      let at = 0;
      while (at < bytes.byteLength) {
        const n = h.write(bytes.subarray(at), { at });
        if (n <= 0) throw new DOMException('short write', 'QuotaExceededError');
        at += n;
      }
      h.flush();
    } finally {
      h.close();
    }
    return;
  }
  if (!HAS_WRITABLE) throw new DOMException('OPFS cannot be written in this context', 'NotSupportedError');
  const w = await fh.createWritable({ keepExistingData: false });
  try {
    await w.write(bytes);
    await w.close();
  } catch (e) {
    await w.abort().catch(() => {});
    throw e;
  }
}

/** Whether OPFS is usable for the 'auto' choice: readable and writable from a Window and a worker alike. */
export async function opfsUsable({ forced = false } = {}) {
  if (!globalThis.navigator?.storage?.getDirectory) return false;
  // 'auto' asks for createWritable, the way a Window writes, so that a Window and its workers
  // pick the same store; forcing 'opfs' in a worker also accepts sync access handles.
  if (!HAS_WRITABLE && !(forced && HAS_SYNC_HANDLE)) return false;
  try {
    const root = await navigator.storage.getDirectory();
    const name = `.wasm-chord-probe-${Math.random().toString(36).slice(2)}`;
    const fh = await root.getFileHandle(name, { create: true });
    try {
      await writeWhole(fh, new Uint8Array([1]));
    } finally {
      await root.removeEntry(name).catch(() => {});
    }
    return true;
  } catch {
    return false;
  }
}

const isNotFound = (e) => e?.name === 'NotFoundError' || e?.name === 'TypeMismatchError';

/** Opens the store for cache `name` (a folder at the OPFS root). */
export async function openOpfsStore(name) {
  const root = await navigator.storage.getDirectory();
  const top = await root.getDirectoryHandle(name, { create: true });
  const blobs = await top.getDirectoryHandle(BLOBS, { create: true });

  const blobDir = (blob, create) => blobs.getDirectoryHandle(blob, { create });

  async function chunkNames(blob) {
    let dir;
    try {
      dir = await blobDir(blob, false);
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
    const out = [];
    for await (const k of dir.keys()) if (/^\d+$/.test(k)) out.push(Number(k));
    return out;
  }

  return {
    kind: 'opfs',

    async readIndex() {
      for (let attempt = 0; ; attempt++) {
        try {
          const file = await (await top.getFileHandle(INDEX_FILE)).getFile();
          return JSON.parse(await file.text());
        } catch (e) {
          if (isNotFound(e) || e instanceof SyntaxError) return null;
          // Another context replaced the file between getFile() and the read: read the new one.
          if (e?.name !== 'NotReadableError' || attempt >= 20) throw e;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    },

    async writeIndex(index) {
      const fh = await top.getFileHandle(INDEX_FILE, { create: true });
      await writeWhole(fh, new TextEncoder().encode(JSON.stringify(index)), { atomic: true });
    },

    async putChunk(blob, i, bytes) {
      const dir = await blobDir(blob, true);
      const fh = await dir.getFileHandle(String(i), { create: true });
      try {
        await writeWhole(fh, bytes);
      } catch (e) {
        await dir.removeEntry(String(i)).catch(() => {});
        throw e;
      }
    },

    async getChunk(blob, i) {
      const dir = await blobDir(blob, false);
      const file = await (await dir.getFileHandle(String(i))).getFile();
      return new Uint8Array(await file.arrayBuffer());
    },

    async hasChunks(blob, n) {
      if (n === 0) return true;
      const have = new Set(await chunkNames(blob));
      for (let i = 0; i < n; i++) if (!have.has(i)) return false;
      return true;
    },

    async deleteBlob(blob, from = 0) {
      if (from === 0) {
        await blobs.removeEntry(blob, { recursive: true }).catch((e) => {
          if (!isNotFound(e)) throw e;
        });
        return;
      }
      const dir = await blobDir(blob, false).catch(() => null);
      if (!dir) return;
      for (const i of await chunkNames(blob)) if (i >= from) await dir.removeEntry(String(i));
    },

    async listBlobs() {
      const out = [];
      for await (const k of blobs.keys()) out.push(k);
      return out;
    },
  };
}
