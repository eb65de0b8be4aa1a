// Packs the prebuilt addon package for this platform (npm/<platform>/, napi-rs layout) and,
// with --main, the main package as it is published: with "optionalDependencies" on every
// platform package (added here at pack time, like `napi pre-publish`, so the repository's own
// package.json and lockfile never name packages that `npm ci` would have to resolve; npm 11
// skips an optional dependency missing from the registry on `npm install`, but `npm ci` then
// fails: the lockfile has no entry for it), and without the source-build install hook.
//   node scripts/pack-platform.mjs [--main] [--out DIR]     (npm run pack:platform)
// Needs the addon built first (node node/build-addon.mjs). Prints the tarball paths, one a line.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { addonFile, platformSuffix } from '../js/native.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npmDir = path.join(root, 'npm');
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const out = outArg >= 0 ? path.resolve(args[outArg + 1] ?? '.') : undefined;
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const main = readJson(path.join(root, 'package.json'));

/** `npm pack` of a directory into dest; returns the tarball's path. */
function pack(dir, dest) {
  mkdirSync(dest, { recursive: true });
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    // The platform package has no scripts; the main one's are not run by pack.
    env: { ...process.env, npm_config_ignore_scripts: 'true' },
  });
  return path.join(dest, JSON.parse(json)[0].filename);
}

function die(message) {
  console.error(`pack-platform: ${message}`);
  process.exit(1);
}

// The platform package.
const suffix = platformSuffix();
const pkgDir = path.join(npmDir, suffix);
if (!existsSync(path.join(pkgDir, 'package.json'))) die(`no package for this platform: npm/${suffix}/package.json`);
const pkg = readJson(path.join(pkgDir, 'package.json'));
if (pkg.version !== main.version) die(`npm/${suffix} is version ${pkg.version}, the main package ${main.version}`);
if (pkg.main !== addonFile) die(`npm/${suffix}/package.json "main" is ${pkg.main}, expected ${addonFile}`);
const built = path.join(root, 'node', addonFile);
if (!existsSync(built)) die(`${path.relative(root, built)} is missing: build it with \`node node/build-addon.mjs\``);
copyFileSync(built, path.join(pkgDir, addonFile));
console.log(pack(pkgDir, out ?? pkgDir));

// The main package, staged with the publish-time optionalDependencies.
if (args.includes('--main')) {
  const listed = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, npm_config_ignore_scripts: 'true' },
    }),
  )[0].files.map((f) => f.path);
  const stage = mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-pack-'));
  try {
    for (const file of listed) cpSync(path.join(root, file), path.join(stage, file), { recursive: true });
    const optionalDependencies = {};
    for (const dir of readdirSync(npmDir).sort()) {
      const manifest = path.join(npmDir, dir, 'package.json');
      if (existsSync(manifest)) optionalDependencies[readJson(manifest).name] = main.version;
    }
    // No install hook in the published package: it ships no Rust sources, so there is nothing
    // to build, and npm >= 11 warns about (and may block) dependencies' install scripts.
    const scripts = { ...main.scripts };
    delete scripts.install;
    const published = { ...main, scripts, optionalDependencies };
    writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
    console.log(pack(stage, out ?? npmDir));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
