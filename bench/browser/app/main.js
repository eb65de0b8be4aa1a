// Our side of the browser benchmark: a Vite app that imports 'wasm-chord' as a user does
// (the package's `browser` export condition: a module worker per model, the .wasm bundled).
// bench.mjs drives it through window.prep() and window.bench(); timing is performance.now()
// around the engine calls only (loading the model is not timed).
import { loadModel } from 'wasm-chord';

/** The same ordinary text as bench/engines.mjs, repeated and cut to nPrompt tokens. */
const TEXT = 'The history of science is the study of the development of science and scientific knowledge, '
  + 'including both the natural and social sciences. Science is a body of empirical, theoretical, and practical '
  + 'knowledge about the natural world, produced by scientists who emphasize the observation, explanation, and '
  + 'prediction of real-world phenomena. ';

/**
 * Picks the prompt: the text of `nPrompt` token ids that tokenizes back to exactly those ids
 * (both engines get this text; bench.mjs checks both counted `nPrompt` prompt tokens), plus a
 * short warm-up prompt.
 */
window.prep = async ({ url, nPrompt }) => {
  const model = await loadModel(url);
  try {
    let text = TEXT;
    while (model.tokenize(text).length < nPrompt) text += TEXT;
    const ids = model.tokenize(text).slice(0, nPrompt);
    const prompt = model.detokenize(ids);
    const again = model.tokenize(prompt);
    if (again.length !== nPrompt || again.some((id, i) => id !== ids[i])) {
      throw new Error(`the ${nPrompt}-token prompt does not tokenize back to the same ids`);
    }
    const warm = 'Warm-up: the quick brown fox jumps over the lazy dog.';
    return { ids, prompt, warmPrompt: warm, info: model.info, ua: navigator.userAgent };
  } finally {
    model.dispose();
  }
};

/** One measured run: load (untimed), a short warm-up generation, then the timed one. */
window.bench = async ({ url, threads, prompt, warmPrompt, nGen, contextSize }) => {
  const model = await loadModel(url, { threads, contextSize });
  try {
    const nPromptTokens = model.tokenize(prompt).length;
    for await (const _ of model.generate(warmPrompt, { temperature: 0, maxTokens: 4 })) {
      // warm-up: the same short prompt and 4 tokens for both engines (wasm tier-up, allocations)
    }
    const tokens = [];
    let text = '';
    let tFirst = 0;
    const t0 = performance.now();
    for await (const chunk of model.generate(prompt, { temperature: 0, maxTokens: nGen })) {
      text += chunk.text;
      if (chunk.token === undefined) continue;
      if (tokens.length === 0) tFirst = performance.now();
      tokens.push(chunk.token);
    }
    const tEnd = performance.now();
    const n = tokens.length;
    return {
      threads_requested: threads,
      threads_used: model.info.threads,
      cross_origin_isolated: self.crossOriginIsolated,
      n_prompt: nPromptTokens,
      n_generated: n,
      ttft_ms: tFirst - t0,
      decode_ms: tEnd - tFirst,
      prefill_tps: nPromptTokens / ((tFirst - t0) / 1000),
      decode_tps: (n - 1) / ((tEnd - tFirst) / 1000),
      text,
    };
  } finally {
    model.dispose();
  }
};

window.ready = true;
