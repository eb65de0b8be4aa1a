// Where the node tests find models and reference data (no tests here). Models come from the
// fetch script's cache; reference data from the shared/ checkout beside the repository.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const modelsDir =
  process.env.WASM_CHORD_MODELS ?? path.join(os.homedir(), '.cache', 'wasm-chord', 'models');
export const sharedDir = process.env.WASM_CHORD_SHARED ?? path.join(repo, '..', 'shared');

export const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';
export const GEMMA3 = 'gemma-3-270m-q4_k_m.gguf';

/** Path of a cached model; throws with a hint when it is missing. */
export function modelPath(file = SMOLLM2) {
  const p = path.join(modelsDir, file);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run fetch-models\``);
  return p;
}

/** Lines of a refdata JSONL file, e.g. refdata('smollm2', 'greedy.jsonl'). */
export function refdata(model, file) {
  const p = path.join(sharedDir, 'refdata', model, file);
  return readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

/**
 * How many leading reference tokens are decided by a clear margin: generation is compared up
 * to the first near-tie, where ln(top1 / top2) < 0.3 (shared/refdata/README.md).
 */
export function decidedPrefix(line, minMargin = 0.3) {
  const n = line.generated_ids.length;
  for (let i = 0; i < n; i++) {
    const margin =
      line.top1_margin?.[i] ?? Math.log(line.top1_prob[i] / line.top2_prob[i]);
    if (margin < minMargin) return i;
  }
  return n;
}

/** Token ids of a stream's chunks (the final flush chunk has none). */
export async function collectIds(stream) {
  const ids = [];
  let text = '';
  for await (const c of stream) {
    if (c.token !== undefined) ids.push(c.token);
    text += c.text;
  }
  return { ids, text };
}

export const greedy = { temperature: 0 };
