// wllama's side of the browser benchmark, served as is (no bundler): @wllama/wllama's ES module
// and its .wasm straight from bench/browser/node_modules (its README's "Simple usage with ES6
// module"). bench.mjs drives it through window.bench(); timing is performance.now() around the
// engine calls only (loading the model is not timed).
import { Wllama, LoggerWithoutDebug } from '/wllama/esm/index.js';

const quiet = { ...LoggerWithoutDebug, log: () => {}, warn: (...a) => console.warn(...a) };

/**
 * One measured run: load (untimed; CPU only, `n_gpu_layers: 0`), a short warm-up completion,
 * then the timed one. The prompt is the same text our side gets (wllama 3.8's completion takes
 * text only, no token array); bench.mjs checks that llama.cpp's tokenizer made the same number
 * of prompt tokens (timings.prompt_n). `cache_prompt: false` so nothing of the warm-up is reused.
 */
window.bench = async ({ url, threads, prompt, warmPrompt, nGen, contextSize }) => {
  const blob = await (await fetch(url)).blob();
  const wllama = new Wllama({ default: '/wllama/esm/wasm/wllama.wasm' }, { logger: quiet, suppressNativeLog: true });
  await wllama.loadModel([blob], { n_threads: threads, n_ctx: contextSize, n_gpu_layers: 0, n_parallel: 1 });
  try {
    const common = { temperature: 0, cache_prompt: false, stream: true };
    for await (const _ of await wllama.createCompletion({ ...common, prompt: warmPrompt, max_tokens: 4 })) {
      // warm-up: the same short prompt and 4 tokens for both engines
    }
    let text = '';
    let tFirst = 0;
    let last = null;
    const t0 = performance.now();
    const stream = await wllama.createCompletion({ ...common, prompt, max_tokens: nGen, ignore_eos: true });
    for await (const chunk of stream) {
      // One chunk per token (text only: wllama's OAI-shaped chunks carry no token ids); the
      // last one also carries llama-server's timings.
      const piece = chunk.choices?.[0]?.text ?? '';
      if (piece && !text) tFirst = performance.now();
      text += piece;
      last = chunk;
    }
    const tEnd = performance.now();
    const timings = last?.timings ?? null;
    const n = timings?.predicted_n ?? null;
    const nPrompt = timings?.prompt_n ?? last?.usage?.prompt_tokens ?? null;
    return {
      threads_requested: threads,
      threads_used: wllama.getNumThreads(),
      multithread_build: wllama.isMultithread(),
      cross_origin_isolated: self.crossOriginIsolated,
      libllama: Wllama.getLibllamaVersion(),
      n_prompt: nPrompt,
      add_bos: wllama.mustAddBosToken(),
      n_cached: timings?.cache_n ?? null,
      n_generated: n,
      ttft_ms: tFirst - t0,
      decode_ms: tEnd - tFirst,
      prefill_tps: nPrompt / ((tFirst - t0) / 1000),
      decode_tps: (n - 1) / ((tEnd - tFirst) / 1000),
      // llama-server's own counters, for reference only (not what the table reports)
      internal: timings && { prompt_tps: timings.prompt_per_second, decode_tps: timings.predicted_per_second },
      text,
    };
  } finally {
    await wllama.exit();
  }
};

window.ready = true;
