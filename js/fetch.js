// Downloads a model over HTTP(S) into the cache (./cache/): resumable (`<name>.partial` plus
// `<name>.partial.json` with the URL and validators; a later call continues with a Range
// request), checksummed (the caller's sha256, else one the server states in a header), shared
// (concurrent calls for one URL wait on one download) and cancellable (AbortSignal; the partial
// file stays for a later resume). What this shares with the browser cache's downloader is in
// download-common.js; the files and node:crypto hashing are here.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { abortErrorFor } from './errors.js';
import { PARTIAL_META_SUFFIX, PARTIAL_SUFFIX, cacheDir } from './cache/dir.js';
import { addEntry, dropEntry, pruneCache, readIndex, sha256File, touch } from './cache/index.js';
import {
  Retryable,
  SharedDownloads,
  checkDownloadArgs,
  fetchVerified,
  fileNameFor,
  readReply,
  resumeHeaders,
  serverSha,
  wantedSha,
  withSuffix,
} from './download-common.js';

const readJson = (f) =>
  fs
    .readFile(f, 'utf8')
    .then(JSON.parse)
    .catch(() => null);

/** One pass of HTTP: continues `partial` when it can. Resolves { sha256, size, serverSha }. */
async function fetchOnce(url, partial, signal, emit, headersOpt) {
  const metaFile = `${partial.slice(0, -PARTIAL_SUFFIX.length)}${PARTIAL_META_SUFFIX}`;
  const meta = await readJson(metaFile);
  let have = (await fs.stat(partial).catch(() => null))?.size ?? 0;
  if (have > 0 && meta?.url !== url.href) {
    await fs.rm(partial, { force: true });
    have = 0;
  }
  const headers = { 'accept-encoding': 'identity', ...headersOpt, ...resumeHeaders(have, meta) };
  let res;
  try {
    res = await fetch(url, { headers, signal, redirect: 'follow' });
  } catch (e) {
    if (signal.aborted) throw abortErrorFor(signal);
    throw new Retryable(e?.cause?.message ?? e?.message ?? String(e), { cause: e });
  }
  const reply = await readReply(res, url, have, {
    savedTotal: meta?.total,
    restart: () => fs.rm(partial, { force: true }),
  });
  if (reply.complete) {
    emit(have, have);
    return { ...(await hashFile(partial)), serverSha: meta.sha256 };
  }
  const { ranged: append, total } = reply;
  const stated = serverSha(res.headers) ?? (append ? meta?.sha256 : undefined);
  await fs.writeFile(
    metaFile,
    JSON.stringify({
      url: url.href,
      etag: res.headers.get('etag') ?? (append ? meta?.etag : undefined),
      lastModified: res.headers.get('last-modified') ?? (append ? meta?.lastModified : undefined),
      total,
      sha256: stated,
    }),
  );
  const hash = createHash('sha256');
  let loaded = 0;
  if (append) {
    for await (const chunk of createReadStream(partial, { end: have - 1 })) hash.update(chunk);
    loaded = have;
  }
  emit(loaded, total);
  const fh = await fs.open(partial, append ? 'a' : 'w');
  try {
    for await (const chunk of res.body ?? []) {
      await fh.write(chunk);
      hash.update(chunk);
      loaded += chunk.byteLength;
      emit(loaded, Math.max(total, loaded));
    }
  } catch (e) {
    if (signal.aborted) throw abortErrorFor(signal);
    throw new Retryable(e?.cause?.message ?? e?.message ?? String(e), { cause: e });
  } finally {
    await fh.close();
  }
  if (total && loaded !== total) throw new Retryable(`connection closed after ${loaded} of ${total} bytes`);
  emit(loaded, loaded);
  return { sha256: hash.digest('hex'), size: loaded, serverSha: stated };
}

async function hashFile(file) {
  const st = await fs.stat(file);
  return { sha256: await sha256File(file), size: st.size };
}

/** A cached entry for `url` (or for the wanted hash) that is still intact, or null. */
async function cacheHit(dir, url, want, opts) {
  const index = await readIndex(dir);
  const entries = Object.values(index.entries);
  const e = entries.find((x) => x.url === url.href) ?? (want ? entries.find((x) => x.sha256 === want) : undefined);
  if (!e) return null;
  const file = path.join(dir, e.file);
  const st = await fs.stat(file).catch(() => null);
  const stale = want && e.sha256 !== want;
  if (st?.isFile() && !stale) {
    // Rehash only when the file changed since it was verified (or when asked to).
    if (!opts.verify && st.size === e.size && st.mtimeMs === e.mtimeMs) return { entry: e, file };
    const got = await sha256File(file);
    if (got === e.sha256) {
      await addEntry(dir, { ...e, size: st.size, mtimeMs: st.mtimeMs });
      return { entry: e, file };
    }
  }
  // Corrupt, changed or superseded: drop it and fetch again.
  if (e.url === url.href) {
    await fs.rm(file, { force: true });
    await dropEntry(dir, e.sha256);
  }
  return null;
}

async function chooseName(dir, url, want, opts) {
  const index = await readIndex(dir);
  let name = fileNameFor(url, opts);
  const owner = Object.values(index.entries).find((e) => e.file === name);
  const tag = createHash('sha256').update(url.href).digest('hex').slice(0, 8);
  if (owner && owner.url !== url.href) return { name: withSuffix(name, tag) };
  if (!owner) {
    const st = await fs.stat(path.join(dir, name)).catch(() => null);
    if (st?.isFile()) {
      // A file the index does not know (e.g. from `npm run fetch-models`): adopt it when it is
      // the wanted one, else keep it and download beside it.
      if (want && (await sha256File(path.join(dir, name))) === want) return { name, adopt: st };
      return { name: withSuffix(name, tag) };
    }
  }
  return { name };
}

function publicResult(dir, file, e) {
  return { name: e.file, path: file, url: e.url, size: e.size, sha256: e.sha256 };
}

async function download(url, opts, signal, emit) {
  const dir = cacheDir(opts);
  await fs.mkdir(dir, { recursive: true });
  const want = wantedSha(opts);
  const hit = await cacheHit(dir, url, want, opts);
  if (hit) {
    await touch(dir, hit.entry.sha256);
    emit(hit.entry.size, hit.entry.size);
    return publicResult(dir, hit.file, hit.entry);
  }
  const { name, adopt } = await chooseName(dir, url, want, opts);
  const dest = path.join(dir, name);
  if (adopt) {
    const e = { file: name, url: url.href, size: adopt.size, sha256: want, mtimeMs: adopt.mtimeMs };
    await addEntry(dir, e);
    emit(adopt.size, adopt.size);
    return publicResult(dir, dest, e);
  }
  const partial = `${dest}${PARTIAL_SUFFIX}`;
  const metaFile = `${dest}${PARTIAL_META_SUFFIX}`;
  const got = await fetchVerified(url, want, opts, signal, {
    fetchOnce: () => fetchOnce(url, partial, signal, emit, opts.headers),
    discard: async () => {
      await fs.rm(partial, { force: true });
      await fs.rm(metaFile, { force: true });
    },
  });
  await fs.rename(partial, dest);
  await fs.rm(metaFile, { force: true });
  const st = await fs.stat(dest);
  const e = { file: name, url: url.href, size: st.size, sha256: got.sha256, mtimeMs: st.mtimeMs };
  await addEntry(dir, e);
  if (opts.maxCacheBytes !== undefined && opts.maxCacheBytes !== null) {
    await pruneCache(opts.maxCacheBytes, { cacheDir: dir }, [name]);
  }
  return publicResult(dir, dest, e);
}

/** Downloads in flight, by cache directory and URL. */
const downloads = new SharedDownloads();

/**
 * Downloads `url` into the cache (or finds it there) and resolves its entry
 * `{ name, path, url, size, sha256 }`. See index.d.ts for the options.
 */
export async function downloadModel(source, opts = {}) {
  const url = checkDownloadArgs(source, opts);
  const key = `${cacheDir(opts)}\n${url.href}`;
  return downloads.join(key, opts, (signal, emit) => download(url, opts, signal, emit));
}

/** Whether `source` is an http(s) URL string or URL. */
export function isHttpUrl(source) {
  if (source instanceof URL) return source.protocol === 'http:' || source.protocol === 'https:';
  return typeof source === 'string' && /^https?:\/\//i.test(source);
}
