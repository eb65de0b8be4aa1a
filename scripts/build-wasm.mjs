// Builds the browser module: the core (wasm/ crate) for wasm32-unknown-unknown with SIMD128,
// wasm-bindgen's web glue, then wasm-opt; output in js/browser/wasm/ (what npm pack ships).
//   node scripts/build-wasm.mjs            build (cargo is incremental)
//   node scripts/build-wasm.mjs --no-opt   skip wasm-opt (faster, for development)
//   node scripts/build-wasm.mjs --if-missing  nothing to do when js/browser/wasm/ is built
// Toolchain (shared/TOOLCHAIN.md): rustup's wasm32 target when installed, else Debian's
// rustc-web with -Zbuild-std; wasm-bindgen-cli =0.2.130 (same version as the crate);
// wasm-opt from the binaryen npm package. The build dir is $WASM_CHORD_WASM_TARGET_DIR, else
// $CARGO_TARGET_DIR-web, else ~/.cache/wasm-chord/target-web (one per toolchain: Debian's and
// rustup's artefacts are incompatible).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'js', 'browser', 'wasm');
const noOpt = process.argv.includes('--no-opt');
if (process.argv.includes('--if-missing') && existsSync(path.join(out, 'wasm_chord_bg.wasm'))) {
  console.log('wasm-chord: js/browser/wasm/ is built, not rebuilding');
  process.exit(0);
}
const target = 'wasm32-unknown-unknown';
const profile = 'wasm-release';

function run(cmd, args, env = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ...env } });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function rustupHasTarget() {
  const r = spawnSync('rustup', ['target', 'list', '--installed'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.split('\n').includes(target);
}

const targetDir =
  process.env.WASM_CHORD_WASM_TARGET_DIR ??
  (process.env.CARGO_TARGET_DIR ? `${process.env.CARGO_TARGET_DIR}-web` : path.join(os.homedir(), '.cache', 'wasm-chord', 'target-web'));
const cargoArgs = ['build', '--profile', profile, '--lib', '-p', 'wasm-chord-wasm', '--target', target];
const env = { CARGO_TARGET_DIR: targetDir, RUSTFLAGS: '-C target-feature=+simd128' };
if (rustupHasTarget()) {
  run('cargo', cargoArgs, env);
} else if (existsSync('/usr/bin/rustc') && existsSync('/usr/lib/rustlib/src/rust/library') ) {
  run('/usr/bin/cargo', [...cargoArgs, '-Zbuild-std=std,panic_abort'], {
    ...env,
    RUSTC: '/usr/bin/rustc',
    RUSTDOC: '/usr/bin/rustdoc',
    RUSTC_BOOTSTRAP: '1',
  });
} else {
  console.error(
    `wasm-chord: no wasm32 toolchain: \`rustup target add ${target}\`, or on Debian ` +
      '`apt-get install rustc-web cargo-web rust-web-src` (shared/TOOLCHAIN.md)',
  );
  process.exit(1);
}

const built = path.join(targetDir, target, profile, 'wasm_chord.wasm');
const tmp = `${out}.tmp`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
run('wasm-bindgen', ['--target', 'web', '--no-typescript', '--out-dir', tmp, built]);
const wasm = path.join(tmp, 'wasm_chord_bg.wasm');
if (!noOpt) {
  const wasmOpt = path.join(root, 'node_modules', '.bin', 'wasm-opt');
  // -O3: speed first (the kernels); the module stays well under 1 MB gzipped.
  run(wasmOpt, ['-O3', '--enable-simd', '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals', wasm, '-o', wasm]);
}
rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
const bytes = readFileSync(path.join(out, 'wasm_chord_bg.wasm'));
console.log(
  `wasm-chord: ${path.relative(root, out)}/wasm_chord_bg.wasm ${(bytes.length / 1024).toFixed(0)} KiB, ` +
    `${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(0)} KiB gzipped`,
);
