// Packaging the napi-rs way, as a user installs it: the published main package (packed by
// scripts/pack-platform.mjs --main, with its optionalDependencies) plus the prebuilt platform
// package, installed into a scratch project with no Rust toolchain on PATH, must load its addon
// from node_modules/wasm-chord-<platform> and generate llama.cpp's greedy tokens. Without the
// platform package (and without cargo) `npm install` of the repository's own tarball must still
// succeed, and loading must fail with ERR_ADDON_NOT_FOUND naming the package to install.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonFile, platformSuffix } from '../../js/native.js';
import { decidedPrefix, modelPath, refdata } from './models.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const suffix = platformSuffix();
const platformPkg = `wasm-chord-${suffix}`;
const skip = suffix === 'linux-x64-gnu' ? false : `packs the linux-x64-gnu package only; this is ${suffix}`;
let tmp;
let shims;

/** Where `cmd` is on PATH. */
function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
  }
  throw new Error(`${cmd} not found on PATH`);
}

/**
 * The environment of a machine without Rust: PATH keeps only directories without cargo, plus
 * one holding links to node, npm and sh (which may share /usr/bin with cargo), CARGO unusable.
 */
function noRustEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    // npm_* comes from `npm test`; WASM_CHORD_NATIVE would bypass the lookup under test.
    if (!k.startsWith('npm_') && k !== 'WASM_CHORD_NATIVE') env[k] = v;
  }
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  env.PATH = [shims, ...dirs.filter((dir) => dir && !existsSync(path.join(dir, 'cargo')))].join(path.delimiter);
  env.CARGO = '/nonexistent';
  return env;
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...opts });
  if (r.error) throw r.error;
  return r;
}

/** A scratch project with `specs` installed by npm; returns its directory and npm's output. */
function scratchInstall(name, specs) {
  const dir = path.join(tmp, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }));
  const r = run(path.join(shims, 'npm'), ['install', ...specs, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'], {
    cwd: dir,
    env: noRustEnv(),
  });
  assert.equal(r.status, 0, `npm install in ${dir} failed:\n${r.stdout}\n${r.stderr}`);
  return { dir, output: r.stdout + r.stderr };
}

/** Runs an ES module in the scratch project (so `wasm-chord` resolves from its node_modules). */
function runIn(dir, source) {
  writeFileSync(path.join(dir, 'check.mjs'), source);
  const r = run(process.execPath, ['check.mjs'], { cwd: dir, env: noRustEnv() });
  assert.equal(r.status, 0, `check.mjs failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

before(() => {
  if (skip) return;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-pack-'));
  shims = path.join(tmp, 'bin');
  mkdirSync(shims);
  symlinkSync(process.execPath, path.join(shims, 'node'));
  for (const cmd of ['npm', 'sh']) symlinkSync(realpathSync(which(cmd)), path.join(shims, cmd));
  if (!existsSync(path.join(repo, 'node', addonFile))) {
    const b = run(process.execPath, [path.join(repo, 'node', 'build-addon.mjs')], { stdio: 'inherit', timeout: 900_000 });
    assert.equal(b.status, 0, 'building the addon failed');
  }
  assert.equal(spawnSync('cargo', ['--version'], { env: noRustEnv() }).error?.code, 'ENOENT', 'cargo still on PATH');
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('published_package_loads_the_prebuilt_platform_package_without_rust', { skip }, () => {
  const out = path.join(tmp, 'tgz');
  const packed = run(process.execPath, [path.join(repo, 'scripts', 'pack-platform.mjs'), '--main', '--out', out], { cwd: repo });
  assert.equal(packed.status, 0, packed.stderr);
  const [platformTgz, mainTgz] = packed.stdout.trim().split('\n');
  assert.equal(path.basename(platformTgz), `${platformPkg}-${readJson(repo).version}.tgz`);

  const { dir } = scratchInstall('with-prebuilt', [mainTgz, platformTgz]);
  const installed = readJson(path.join(dir, 'node_modules', 'wasm-chord'));
  assert.equal(installed.optionalDependencies[platformPkg], installed.version);
  assert.equal(installed.scripts?.install, undefined, 'the published package has no install hook');
  assert.ok(!existsSync(path.join(dir, 'node_modules', 'wasm-chord', 'Cargo.toml')), 'no Rust sources shipped');

  const france = refdata('smollm2', 'greedy.jsonl').find((l) => l.prompt === 'The capital of France is');
  const got = runIn(
    dir,
    `import { loadModel } from 'wasm-chord';
const model = await loadModel(${JSON.stringify(modelPath())}, { threads: 2 });
const ids = [];
let text = '';
for await (const c of model.generate(${JSON.stringify(france.prompt)}, { temperature: 0, maxTokens: 8 })) {
  if (c.token !== undefined) ids.push(c.token);
  text += c.text;
}
model.dispose();
// The addons the process really loaded (dlopen'ed shared objects).
const addons = process.report.getReport().sharedObjects.filter((p) => p.endsWith('.node'));
console.log(JSON.stringify({ ids, text, addons }));
`,
  );
  assert.ok(got.text.length > 0, 'generated text is empty');
  const cut = Math.min(8, decidedPrefix(france));
  assert.deepEqual(got.ids.slice(0, cut), france.generated_ids.slice(0, cut));
  const pkgDir = realpathSync(path.join(dir, 'node_modules', platformPkg));
  assert.deepEqual(got.addons, [path.join(pkgDir, addonFile)]);
});

test('without_prebuilt_or_rust_install_succeeds_and_loading_names_the_package', { skip }, () => {
  const out = path.join(tmp, 'plain');
  mkdirSync(out);
  // The repository's own tarball: it keeps the source-build install hook, which must give up quietly.
  const packed = run('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: repo,
    env: { ...process.env, npm_config_ignore_scripts: 'true' },
  });
  assert.equal(packed.status, 0, packed.stderr);
  const tgz = path.join(out, JSON.parse(packed.stdout)[0].filename);

  const { dir, output } = scratchInstall('without-prebuilt', [tgz]);
  assert.match(output, new RegExp(`npm install ${platformPkg}`));
  assert.ok(!existsSync(path.join(dir, 'node_modules', platformPkg)));
  const got = runIn(
    dir,
    `import { loadModel } from 'wasm-chord';
try {
  await loadModel(${JSON.stringify(modelPath())});
  console.log(JSON.stringify({ loaded: true }));
} catch (e) {
  console.log(JSON.stringify({ code: e.code, message: e.message }));
}
`,
  );
  assert.equal(got.code, 'ERR_ADDON_NOT_FOUND');
  assert.match(got.message, new RegExp(`npm install ${platformPkg}\\b`));
});

function readJson(dir) {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
}
