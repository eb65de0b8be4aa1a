// The compiled wasm module and the page's own instance of it. The page compiles the module
// once and hands the compiled `WebAssembly.Module` to every model worker (no second download
// or compile); its own instance only holds each model's vocabulary (tokenizer + chat
// template) for the synchronous calls. `wasm/` is built by `npm run build:wasm`.
import init, { WasmVocab, installPanicHook } from './wasm/wasm_chord.js';
import { WasmChordError } from '../errors.js';

const wasmUrl = new URL('./wasm/wasm_chord_bg.wasm', import.meta.url);

let compiled;

/** The compiled module (compiled on first use). */
export function wasmModule() {
  compiled ??= (async () => {
    const res = await fetch(wasmUrl);
    if (!res.ok) throw new WasmChordError('ERR_WASM_LOAD', `cannot fetch ${wasmUrl}: HTTP ${res.status}`);
    if (typeof WebAssembly.compileStreaming === 'function' && /wasm/.test(res.headers.get('content-type') ?? '')) {
      return WebAssembly.compileStreaming(res);
    }
    return WebAssembly.compile(await res.arrayBuffer());
  })().catch((e) => {
    compiled = undefined;
    throw e instanceof WasmChordError ? e : new WasmChordError('ERR_WASM_LOAD', `cannot load ${wasmUrl}: ${e?.message ?? e}`, { cause: e });
  });
  return compiled;
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
