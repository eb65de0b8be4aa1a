// Builds the napi addon with cargo and puts it where js/native.js looks:
// node/wasm-chord.<platform>.node. Plain cargo (not the napi CLI, which builds into a separate
// --target tree) so the addon shares the release build of the core with `cargo test --release`.
//   node node/build-addon.mjs               build (incremental; a no-op when up to date)
//   node node/build-addon.mjs --if-missing  only when no addon is there (npm's install hook)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import process from 'node:process';
import { addonFile } from '../js/native.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dest = path.join(root, 'node', addonFile);

if (process.argv.includes('--if-missing') && existsSync(dest)) {
  console.log(`wasm-chord: ${path.relative(root, dest)} present, not rebuilding`);
  process.exit(0);
}

const manifest = path.join(root, 'Cargo.toml');
// Where cargo puts artefacts (CARGO_TARGET_DIR, a cargo config, or <repo>/target).
const meta = spawnSync('cargo', ['metadata', '--format-version', '1', '--no-deps', '--manifest-path', manifest], {
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
if (meta.error || meta.status !== 0) {
  console.error(
    'wasm-chord: cannot build the native addon: `cargo metadata` failed' +
      (meta.error ? ` (${meta.error.message}: is Rust >= 1.88 installed? see https://rustup.rs)` : `:\n${meta.stderr}`),
  );
  process.exit(1);
}
const targetDir = JSON.parse(meta.stdout).target_directory;
const cargo = spawnSync(
  'cargo',
  ['build', '--release', '-p', 'wasm-chord-node', '--manifest-path', manifest],
  { stdio: 'inherit' },
);
if (cargo.error || cargo.status !== 0) {
  console.error(
    'wasm-chord: building the native addon failed' +
      (cargo.error ? ` (${cargo.error.message}: is Rust >= 1.88 installed? see https://rustup.rs)` : ''),
  );
  process.exit(1);
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
