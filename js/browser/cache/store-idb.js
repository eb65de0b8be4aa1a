// The IndexedDB store of the browser cache: one database per cache name with two object stores,
// `meta` (the index record, key 'index') and `chunks` (one record per stored chunk, key
// [blobId, chunkIndex], value a Uint8Array of at most the download's chunk size, so no record
// holds a whole model). Implements the store interface described in backend.js.

const DB_VERSION = 1;
const META = 'meta';
const CHUNKS = 'chunks';
const INDEX_KEY = 'index';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Resolves when `tx` commits; rejects with its error (e.g. a QuotaExceededError) when it aborts. */
function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('transaction aborted', 'AbortError'));
    tx.onerror = () => {}; // the abort event follows with tx.error
  });
}

function openDb(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
      if (!db.objectStoreNames.contains(CHUNKS)) db.createObjectStore(CHUNKS);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new DOMException(`IndexedDB ${name} is blocked by another connection`, 'InvalidStateError'));
  });
}

/** A view that owns its whole buffer (a structured clone of a subarray would copy the whole buffer). */
function exact(bytes) {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

const blobRange = (blob, from = 0) => IDBKeyRange.bound([blob, from], [blob, Infinity]);

/** Opens the store for cache `name` (the database name). */
export async function openIdbStore(name) {
  let dbp = null;
  const db = () => {
    dbp ??= openDb(name).then((d) => {
      // Let a newer version (another tab) upgrade; reopen on next use.
      d.onversionchange = () => {
        d.close();
        dbp = null;
      };
      d.onclose = () => {
        dbp = null;
      };
      return d;
    });
    dbp.catch(() => {
      dbp = null;
    });
    return dbp;
  };
  await db();

  async function tx(names, mode, fn) {
    const t = (await db()).transaction(names, mode);
    const finished = done(t);
    const value = await fn(t);
    await finished;
    return value;
  }

  return {
    kind: 'indexeddb',

    async readIndex() {
      return tx([META], 'readonly', (t) => request(t.objectStore(META).get(INDEX_KEY))).then((v) => v ?? null);
    },

    async writeIndex(index) {
      await tx([META], 'readwrite', (t) => {
        t.objectStore(META).put(index, INDEX_KEY);
      });
    },

    async putChunk(blob, i, bytes) {
      await tx([CHUNKS], 'readwrite', (t) => {
        t.objectStore(CHUNKS).put(exact(bytes), [blob, i]);
      });
    },

    async getChunk(blob, i) {
      const v = await tx([CHUNKS], 'readonly', (t) => request(t.objectStore(CHUNKS).get([blob, i])));
      if (v === undefined) throw new DOMException(`chunk ${i} of ${blob} is missing`, 'NotFoundError');
      return v instanceof Uint8Array ? v : new Uint8Array(v);
    },

    async hasChunks(blob, n) {
      if (n === 0) return true;
      const range = IDBKeyRange.bound([blob, 0], [blob, n - 1]);
      return (await tx([CHUNKS], 'readonly', (t) => request(t.objectStore(CHUNKS).count(range)))) === n;
    },

    async deleteBlob(blob, from = 0) {
      await tx([CHUNKS], 'readwrite', (t) => {
        t.objectStore(CHUNKS).delete(blobRange(blob, from));
      });
    },

    async listBlobs() {
      return tx([CHUNKS], 'readonly', (t) => {
        const ids = [];
        const cursorReq = t.objectStore(CHUNKS).openKeyCursor();
        return new Promise((resolve, reject) => {
          cursorReq.onerror = () => reject(cursorReq.error);
          cursorReq.onsuccess = () => {
            const c = cursorReq.result;
            if (!c) return resolve(ids);
            const id = c.key[0];
            ids.push(id);
            c.continue([id, Infinity]); // skip the rest of this blob's chunks
          };
        });
      });
    },
  };
}
