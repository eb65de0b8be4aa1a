// What the wasm examples share: their command-line flags, and the browser module (the web glue
// of js/browser/wasm/ unless --wasm-dir) loaded in Node with a GGUF streamed into it.
import { readFileSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The value after `--name`, else `dflt`. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

/** `{ glue, model, wasmDir }`: the module of --wasm-dir and --model (SmolLM2 from the cache) loaded on 1 thread. */
export async function loadWasmModel() {
  const wasmDir = path.resolve(arg('wasm-dir', path.join(root, 'js', 'browser', 'wasm')));
  const models = process.env.WASM_CHORD_MODELS ?? path.join(os.homedir(), '.cache', 'wasm-chord', 'models');
  const file = arg('model', path.join(models, 'SmolLM2-135M-Instruct.Q4_1.gguf'));
  globalThis.__wasmChordPanic = (m) => console.error(`panic: ${m}`);
  const glue = await import(pathToFileURL(path.join(wasmDir, 'wasm_chord.js')).href);
  await glue.default({ module_or_path: readFileSync(path.join(wasmDir, 'wasm_chord_bg.wasm')) });
  glue.installPanicHook();
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  const loader = new glue.WasmLoader(size);
  const buf = Buffer.alloc(16 << 20);
  for (let off = 0; off < size; ) {
    const n = readSync(fd, buf, 0, buf.length, off);
    loader.write(buf.subarray(0, n));
    off += n;
  }
  closeSync(fd);
  return { glue, model: await loader.finish(1, 0, 'false'), wasmDir };
}
