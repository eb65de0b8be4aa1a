// Finds and loads the napi addon (`wasm-chord.<platform>.node`), in this order:
//   1. WASM_CHORD_NATIVE, a path to the .node file;
//   2. the prebuilt platform package `wasm-chord-<platform>` (an optionalDependency of the
//      published package; npm installs only the one matching os/cpu/libc);
//   3. the build from source in a clone: node/ (`npm install`, `npm run build`,
//      `node node/build-addon.mjs`).
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

/** The prebuilt package for this platform: `wasm-chord-linux-x64-gnu`, ... */
export const platformPackage = `wasm-chord-${platformSuffix()}`;

/** The platform package's .node file when it is installed, else undefined. */
export function resolvePlatformPackage() {
  try {
    return require.resolve(platformPackage);
  } catch {
    return undefined;
  }
}

/** Where the addon is looked for, in order. */
export function addonCandidates() {
  const list = [];
  if (process.env.WASM_CHORD_NATIVE) list.push(path.resolve(process.env.WASM_CHORD_NATIVE));
  const prebuilt = resolvePlatformPackage();
  if (prebuilt) list.push(prebuilt);
  list.push(path.join(root, 'node', addonFile), path.join(root, addonFile));
  return list;
}

let native;
let loadedFrom;

/** The path of the loaded addon, or undefined before the first {@link loadNative}. */
export function addonPath() {
  return loadedFrom;
}

/** The addon's exports; throws an error with code ERR_ADDON_NOT_FOUND naming what is missing. */
export function loadNative() {
  if (native) return native;
  const tried = addonCandidates();
  const found = tried.find((p) => existsSync(p));
  if (!found) {
    throw new WasmChordError(
      'ERR_ADDON_NOT_FOUND',
      `wasm-chord: native addon ${addonFile} not found: install the prebuilt package for this ` +
        `platform with \`npm install ${platformPackage}\` (npm skips it when optional ` +
        'dependencies are omitted), or in a clone build it with `node node/build-addon.mjs` ' +
        '(needs Rust >= 1.91), or set WASM_CHORD_NATIVE to the .node file. ' +
        `Looked in: ${tried.join(', ')}.`,
    );
  }
  native = require(found);
  loadedFrom = found;
  return native;
}
