// llama.cpp's own `llama-bench`, built once from the llama.cpp source inside PyPI's
// llama-cpp-python sdist (vendor/llama.cpp) into a cache outside the repository, then reused.
// Nothing of llama.cpp is committed or shipped. The recipe is shared/TOOLCHAIN.md's
// "llama.cpp as a benchmark peer": CMake and Ninja from PyPI wheels in a private venv,
// -DGGML_NATIVE=ON, no CURL/OpenSSL; plus AMX off (-mno-amx-*, a no-op on CPUs without it):
// on AMX machines ggml's AMX matmul segfaults or hits SIGILL (seen here on a Xeon VM;
// upstream ggml-org/llama.cpp#20824, unfixed), and the AVX2/AVX-512 paths are what we compare.
//
// Cache: $WASM_CHORD_LLAMA_CPP, else $XDG_CACHE_HOME/wasm-chord/llama.cpp, else
// ~/.cache/wasm-chord/llama.cpp. A build is done when its `build.json` stamp names the current
// flags; an interrupted build resumes (each step is skipped when its output exists, Ninja is
// incremental). Delete the version's directory to start over.
//
// `node bench/llama-bench.mjs` builds (if needed) and prints the binary's path.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SDIST = 'llama-cpp-python';
const VERSION = '0.3.36';
const NO_AMX = '-mno-amx-tile -mno-amx-int8 -mno-amx-bf16';
const CMAKE_FLAGS = [
  '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=ON', '-DLLAMA_CURL=OFF', '-DLLAMA_OPENSSL=OFF',
  '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', '-DLLAMA_BUILD_SERVER=OFF',
  `-DCMAKE_C_FLAGS=${NO_AMX}`, `-DCMAKE_CXX_FLAGS=${NO_AMX}`,
];

export function cacheDir() {
  if (process.env.WASM_CHORD_LLAMA_CPP) return process.env.WASM_CHORD_LLAMA_CPP;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'wasm-chord/llama.cpp');
}

/** Runs one build step with its output on stderr (stdout stays free for `--json`). */
function step(log, what, cmd, argv, env) {
  log(`llama.cpp: ${what}`);
  const t = Date.now();
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 2, 2], env: { ...process.env, ...env } });
  if (r.error) throw new Error(`llama.cpp build: ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`llama.cpp build: \`${cmd} ${argv.join(' ')}\` exited with ${r.status}`);
  log(`llama.cpp: ${what}: done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
}

/**
 * The path of a built `llama-bench`, building it first when the cache lacks one
 * (~5 min on 2 idle cores). `log` receives progress lines.
 */
export function ensureLlamaBench(log = console.error) {
  const dir = join(cacheDir(), `${SDIST}-${VERSION}`);
  const build = join(dir, 'build');
  const bin = join(build, 'bin/llama-bench');
  const stamp = join(dir, 'build.json');
  const built = existsSync(stamp) && JSON.parse(readFileSync(stamp, 'utf8'));
  if (built && JSON.stringify(built.cmake_flags) === JSON.stringify(CMAKE_FLAGS) && existsSync(bin)) return bin;

  log(`llama.cpp: building llama-bench once into ${dir} from PyPI's ${SDIST}==${VERSION} sdist (~5 min on 2 idle cores)`);
  mkdirSync(dir, { recursive: true });
  const venv = join(dir, 'venv');
  const py = join(venv, 'bin/python');
  const cmake = join(venv, 'bin/cmake');
  const env = { PATH: `${join(venv, 'bin')}:${process.env.PATH}` };
  const base = `${SDIST.replaceAll('-', '_')}-${VERSION}`;
  const tarball = join(dir, `${base}.tar.gz`);
  const src = join(dir, base, 'vendor/llama.cpp');
  if (!existsSync(py)) step(log, 'creating a Python venv for the CMake and Ninja wheels', 'python3', ['-m', 'venv', venv]);
  if (!existsSync(cmake) || !existsSync(join(venv, 'bin/ninja'))) {
    step(log, 'installing cmake, ninja, scikit-build-core from PyPI', py,
      ['-m', 'pip', 'install', '--disable-pip-version-check', 'cmake', 'ninja', 'scikit-build-core'], env);
  }
  // Without --no-build-isolation, pip download builds the sdist's metadata in a fresh env
  // and compiles CMake from source.
  if (!existsSync(tarball)) {
    step(log, `downloading the ${SDIST}==${VERSION} sdist`, py,
      ['-m', 'pip', 'download', '--disable-pip-version-check', '--no-deps', '--no-build-isolation',
        `${SDIST}==${VERSION}`, '-d', dir], env);
  }
  if (!existsSync(join(src, 'CMakeLists.txt'))) step(log, 'unpacking', 'tar', ['xzf', tarball, '-C', dir]);
  step(log, 'configuring (CMake, GGML_NATIVE=ON, AMX off)', cmake, ['-S', src, '-B', build, ...CMAKE_FLAGS], env);
  step(log, `compiling llama-bench (Ninja, ${availableParallelism()} jobs)`, cmake,
    ['--build', build, '--target', 'llama-bench', `-j${availableParallelism()}`], env);
  if (!existsSync(bin)) throw new Error(`llama.cpp build finished without ${bin}`);
  const tools = spawnSync(py, ['-m', 'pip', 'list', '--format=freeze'], { encoding: 'utf8' }).stdout.trim().split('\n');
  writeFileSync(stamp, `${JSON.stringify({ sdist: `${SDIST}==${VERSION}`, cmake_flags: CMAKE_FLAGS, tools, built: new Date().toISOString() }, null, 2)}\n`);
  log(`llama.cpp: built ${bin}`);
  return bin;
}

/**
 * One `llama-bench -p <nPrompt> -n <nGen> -r <reps> -o json` run. llama-bench warms up,
 * then times `reps` repetitions of each test on an empty context; `avg_ts` is their mean.
 * Returns { prefill_tps, decode_tps, build_commit }.
 */
export function runLlamaBench(bin, { model, threads, nPrompt, nGen, reps = 1 }) {
  const argv = ['-m', model, '-t', String(threads), '-p', String(nPrompt), '-n', String(nGen), '-r', String(reps), '-o', 'json'];
  const r = spawnSync(bin, argv, {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    env: { ...process.env, LD_LIBRARY_PATH: join(bin, '..') + (process.env.LD_LIBRARY_PATH ? `:${process.env.LD_LIBRARY_PATH}` : '') },
  });
  if (r.status !== 0) throw new Error(`llama-bench ${argv.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
  const tests = JSON.parse(r.stdout);
  const pp = tests.find((t) => t.n_prompt === nPrompt && t.n_gen === 0);
  const tg = tests.find((t) => t.n_prompt === 0 && t.n_gen === nGen);
  if (!pp || !tg) throw new Error(`llama-bench output lacks pp${nPrompt} or tg${nGen}:\n${r.stdout}`);
  return { prefill_tps: pp.avg_ts, decode_tps: tg.avg_ts, build_commit: pp.build_commit };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureLlamaBench());
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
