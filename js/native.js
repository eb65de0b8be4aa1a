// Finds and loads the napi addon (`wasm-chord.<platform>.node`), built by `npm install`,
// `npm run build` or `node node/build-addon.mjs`. WASM_CHORD_NATIVE may name the file.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import process from 'node:process';
import { WasmChordError } from './errors.js';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** napi-rs platform suffix: `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, ... */
export function platformSuffix() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const glibc = process.report?.getReport?.().header?.glibcVersionRuntime;
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

export const addonFile = `wasm-chord.${platformSuffix()}.node`;

/** Where the addon is looked for, in order. */
export function addonCandidates() {
  const list = [];
  if (process.env.WASM_CHORD_NATIVE) list.push(path.resolve(process.env.WASM_CHORD_NATIVE));
  list.push(path.join(root, 'node', addonFile), path.join(root, addonFile));
  return list;
}

let native;

/** The addon's exports; throws an error with code ERR_ADDON_NOT_FOUND naming what is missing. */
export function loadNative() {
  if (native) return native;
  const tried = addonCandidates();
  const found = tried.find((p) => existsSync(p));
  if (!found) {
    throw new WasmChordError(
      'ERR_ADDON_NOT_FOUND',
      `wasm-chord: native addon ${addonFile} not found (looked in ${tried.join(', ')}). ` +
        'Build it with `npm run build` or `node node/build-addon.mjs` (needs Rust >= 1.88), ' +
        'or set WASM_CHORD_NATIVE to the .node file.',
    );
  }
  native = require(found);
  return native;
}
