// Builds the browser modules: the core (wasm/ crate) for wasm32-unknown-unknown with SIMD128,
// wasm-bindgen's web glue, then wasm-opt, twice: js/browser/wasm/ (one thread, any page) and
// js/browser/wasm-mt/ (threads over shared memory, for cross-origin isolated pages). npm pack
// ships both.
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
const noOpt = process.argv.includes('--no-opt');
const alreadyBuilt = ['wasm', 'wasm-mt'].every((d) => existsSync(path.join(root, 'js', 'browser', d, 'wasm_chord_bg.wasm')));
if (process.argv.includes('--if-missing') && alreadyBuilt) {
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

const baseTarget =
  process.env.WASM_CHORD_WASM_TARGET_DIR ??
  (process.env.CARGO_TARGET_DIR ? `${process.env.CARGO_TARGET_DIR}-web` : path.join(os.homedir(), '.cache', 'wasm-chord', 'target-web'));

/** The two builds: one thread (any page), and threads (cross-origin isolated pages). */
const VARIANTS = [
  { name: 'wasm', features: ['gpu'], rustflags: '-C target-feature=+simd128', targetDir: baseTarget },
  {
    name: 'wasm-mt',
    features: ['threads'],
    // std itself is rebuilt with atomics (build-std); the memory may grow to wasm32's 4 GiB.
    rustflags:
      '-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals -C link-arg=--max-memory=4294967296',
    // Shared, imported memory and the TLS exports wasm-bindgen's threads transform needs. Given
    // to the final link only (`cargo rustc -- ...`): in RUSTFLAGS they would rebuild std.
    linkArgs: ['--shared-memory', '--import-memory', '--export=__wasm_init_tls', '--export=__tls_size', '--export=__tls_align', '--export=__tls_base'],
    targetDir: `${baseTarget}-mt`,
  },
];

const useRustup = rustupHasTarget();
if (!useRustup && !(existsSync('/usr/bin/rustc') && existsSync('/usr/lib/rustlib/src/rust/library'))) {
  console.error(
    `wasm-chord: no wasm32 toolchain: \`rustup target add ${target}\`, or on Debian ` +
      '`apt-get install rustc-web cargo-web rust-web-src rust-web-llvm lld-22` (shared/TOOLCHAIN.md)',
  );
  process.exit(1);
}

for (const v of VARIANTS) {
  const args = [v.linkArgs ? 'rustc' : 'build', '--profile', profile, '--lib', '-p', 'wasm-chord-wasm', '--target', target];
  if (v.features.length) args.push('--features', v.features.join(','));
  const linkArgs = (v.linkArgs ?? []).flatMap((a) => ['-C', `link-arg=${a}`]);
  const env = { CARGO_TARGET_DIR: v.targetDir, RUSTFLAGS: v.rustflags };
  // Threads need std rebuilt with atomics, so that build always builds std itself.
  if (useRustup && !v.features.includes('threads')) {
    run('cargo', [...args, ...(linkArgs.length ? ['--', ...linkArgs] : [])], env);
  } else {
    run('/usr/bin/cargo', [...args, '-Zbuild-std=std,panic_abort', ...(linkArgs.length ? ['--', ...linkArgs] : [])], {
      ...env,
      RUSTC: '/usr/bin/rustc',
      RUSTDOC: '/usr/bin/rustdoc',
      RUSTC_BOOTSTRAP: '1',
    });
  }
  const dest = path.join(root, 'js', 'browser', v.name);
  const built = path.join(v.targetDir, target, profile, 'wasm_chord.wasm');
  const tmp = `${dest}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  run('wasm-bindgen', ['--target', 'web', '--no-typescript', '--out-dir', tmp, built]);
  const wasm = path.join(tmp, 'wasm_chord_bg.wasm');
  if (!noOpt) {
    const wasmOpt = path.join(root, 'node_modules', '.bin', 'wasm-opt');
    // -O3: speed first (the kernels); the module stays under 1 MB gzipped.
    const features = ['--enable-simd', '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals'];
    if (v.features.includes('threads')) features.push('--enable-threads');
    run(wasmOpt, ['-O3', ...features, wasm, '-o', wasm]);
  }
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  report(path.join(dest, 'wasm_chord_bg.wasm'));
}

function report(file) {
  const bytes = readFileSync(file);
  console.log(
    `wasm-chord: ${path.relative(root, file)} ${(bytes.length / 1024).toFixed(0)} KiB, ` +
      `${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(0)} KiB gzipped`,
  );
}
