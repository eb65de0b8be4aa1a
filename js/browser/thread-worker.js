// One thread of a model's wasm thread pool (the `threads` build, cross-origin isolated pages):
// instantiates the module over the model worker's shared memory, says it is ready, then runs
// its rayon thread until the model worker is terminated (js/browser/worker.js starts these;
// wasm/src/threads.rs is the other side).
import init, { ThreadPoolStarter, installPanicHook } from './wasm-mt/wasm_chord.js';

globalThis.__wasmChordPanic = (message) => console.error(`wasm-chord thread: ${message}`);

self.onmessage = async ({ data: { module, memory, address } }) => {
  try {
    await init({ module_or_path: module, memory });
    installPanicHook();
  } catch (e) {
    self.postMessage({ error: String(e?.message ?? e) });
    return;
  }
  self.postMessage('ready');
  ThreadPoolStarter.runThread(address);
};
