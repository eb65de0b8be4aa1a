// Builds the napi addon with cargo and puts it where js/native.js looks:
// node/wasm-chord.<platform>.node. Plain cargo (not the napi CLI, which builds into a separate
// --target tree) so the addon shares the release build of the core with `cargo test --release`.
//   node node/build-addon.mjs               build (incremental; a no-op when up to date)
//   node node/build-addon.mjs --if-missing  npm's install hook: nothing to do when the prebuilt
//                                           package wasm-chord-<platform> or a built addon is
//                                           there; never fails the install (a missing addon is
//                                           reported when the package is loaded)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import process from 'node:process';
import { addonFile, platformPackage, resolvePlatformPackage } from '../js/native.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dest = path.join(root, 'node', addonFile);
const ifMissing = process.argv.includes('--if-missing');

if (ifMissing) {
  const prebuilt = resolvePlatformPackage();
  if (prebuilt) {
    console.log(`wasm-chord: using the prebuilt addon from ${platformPackage}, not building`);
    process.exit(0);
  }
  if (existsSync(dest)) {
    console.log(`wasm-chord: ${path.relative(root, dest)} present, not rebuilding`);
    process.exit(0);
  }
}

/** A failed build: fatal when asked for, only a notice in the install hook. */
function fail(message) {
  if (!ifMissing) {
    console.error(message);
    process.exit(1);
  }
  console.warn(
    `${message}\nwasm-chord: no native addon for this platform. Install the prebuilt package ` +
      `(npm install ${platformPackage}) or Rust >= 1.91 and run \`node node/build-addon.mjs\` ` +
      'in a clone; until then loading wasm-chord fails with ERR_ADDON_NOT_FOUND.',
  );
  process.exit(0);
}

const manifest = path.join(root, 'Cargo.toml');
// The published package ships no Rust sources: there is nothing to build from.
if (!existsSync(manifest)) fail(`wasm-chord: ${platformPackage} is not installed and there are no sources to build from`);
// Where cargo puts artefacts (CARGO_TARGET_DIR, a cargo config, or <repo>/target).
const meta = spawnSync('cargo', ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', manifest], {
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
if (meta.error || meta.status !== 0) {
  fail(
    'wasm-chord: cannot build the native addon: `cargo metadata` failed' +
      (meta.error ? ` (${meta.error.message}: is Rust >= 1.91 installed? see https://rustup.rs)` : `:\n${meta.stderr}`),
  );
}
const targetDir = JSON.parse(meta.stdout).target_directory;
const cargo = spawnSync(
  'cargo',
  ['build', '--release', '-p', 'wasm-chord-node', '--manifest-path', manifest],
  { stdio: 'inherit' },
);
if (cargo.error || cargo.status !== 0) {
  fail(
    'wasm-chord: building the native addon failed' +
      (cargo.error ? ` (${cargo.error.message}: is Rust >= 1.91 installed? see https://rustup.rs)` : ''),
  );
}
const lib = {
  linux: 'libwasm_chord_node.so',
  darwin: 'libwasm_chord_node.dylib',
  win32: 'wasm_chord_node.dll',
}[process.platform] ?? 'libwasm_chord_node.so';
// Copy then rename, so a running process never sees a half-written addon.
const tmp = `${dest}.tmp`;
copyFileSync(path.join(targetDir, 'release', lib), tmp);
renameSync(tmp, dest);
console.log(`wasm-chord: built ${path.relative(root, dest)}`);
