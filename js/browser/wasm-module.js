// The compiled wasm modules and the page's own instance. The page compiles a module once and
// hands the compiled `WebAssembly.Module` to every model worker (no second download or
// compile): the one-thread build (wasm/), or on a cross-origin isolated page the threads build
// (wasm-mt/: shared memory, a pool of thread workers). The page's own instance (one-thread
// build) only holds each model's vocabulary (tokenizer + chat template) for the synchronous
// calls. Both are built by `npm run build:wasm`.
import init, { WasmVocab, installPanicHook } from './wasm/wasm_chord.js';
import { WasmChordError } from '../errors.js';

const urls = {
  wasm: new URL('./wasm/wasm_chord_bg.wasm', import.meta.url),
  'wasm-mt': new URL('./wasm-mt/wasm_chord_bg.wasm', import.meta.url),
};

const compiled = {};

/** The compiled module of a build, `'wasm'` or `'wasm-mt'` (compiled on first use). */
export function wasmModule(build = 'wasm') {
  const wasmUrl = urls[build];
  compiled[build] ??= (async () => {
    const res = await fetch(wasmUrl);
    if (!res.ok) throw new WasmChordError('ERR_WASM_LOAD', `cannot fetch ${wasmUrl}: HTTP ${res.status}`);
    if (typeof WebAssembly.compileStreaming === 'function' && /wasm/.test(res.headers.get('content-type') ?? '')) {
      return WebAssembly.compileStreaming(res);
    }
    return WebAssembly.compile(await res.arrayBuffer());
  })().catch((e) => {
    delete compiled[build];
    throw e instanceof WasmChordError ? e : new WasmChordError('ERR_WASM_LOAD', `cannot load ${wasmUrl}: ${e?.message ?? e}`, { cause: e });
  });
  return compiled[build];
}

let instance;

/** The page's instance (for vocabularies). */
async function pageInstance() {
  instance ??= (async () => {
    const module = await wasmModule();
    globalThis.__wasmChordPanic ??= (message) => console.error(`wasm-chord: ${message}`);
    await init({ module_or_path: module });
    installPanicHook();
  })().catch((e) => {
    instance = undefined;
    throw e;
  });
  return instance;
}

/** A model's vocabulary on the page thread, from its header bytes. */
export async function pageVocab(header, fileSize) {
  await pageInstance();
  return new WasmVocab(header, fileSize);
}
