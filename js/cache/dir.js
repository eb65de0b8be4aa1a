// Where the model cache lives: an option, else $WASM_CHORD_CACHE, else $WASM_CHORD_MODELS (the
// fetch script's variable), else $XDG_CACHE_HOME/wasm-chord/models, else ~/.cache/wasm-chord/models.
// Files keep their original names there, so `npm run fetch-models` and the cache share one folder.
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

/** The cache directory for `opts.cacheDir` (absolute). */
export function cacheDir(opts = {}) {
  if (opts.cacheDir) return path.resolve(String(opts.cacheDir));
  const env = process.env;
  if (env.WASM_CHORD_CACHE) return path.resolve(env.WASM_CHORD_CACHE);
  if (env.WASM_CHORD_MODELS) return path.resolve(env.WASM_CHORD_MODELS);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'wasm-chord', 'models');
}

export const INDEX_FILE = 'index.json';
export const PARTIAL_SUFFIX = '.partial';
/** Beside `<name>.partial`: the URL and validators it was fetched with. */
export const PARTIAL_META_SUFFIX = '.partial.json';
