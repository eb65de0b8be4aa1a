// Type-level test of the public contract (`npm run typecheck`, tsc --noEmit --strict): typical
// usage must compile, and misuse must not (each `@ts-expect-error` fails the check if the line
// below it becomes valid).
import {
  AbortError,
  loadModel,
  listCached,
  WasmChordError,
  type Chunk,
  type ErrorCode,
  type GenerateOptions,
  type Model,
} from '../../index.js';

export async function usage(path: string): Promise<string> {
  const controller = new AbortController();
  const model: Model = await loadModel(path, { threads: 2, contextSize: 512, signal: controller.signal });
  const opts: GenerateOptions = { maxTokens: 16, temperature: 0, stop: ['\n'], signal: controller.signal };
  let text = '';
  for await (const chunk of model.generate('Hello', opts)) {
    const c: Chunk = chunk;
    const id: number | undefined = c.token;
    text += c.text;
    if (id === 0) break;
  }
  const stream = model.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 8 });
  const reason: 'stop' | 'length' | null = stream.finishReason;
  text += (await stream.text()) + String(reason);
  const ids: number[] = model.tokenize('Hello world', { special: false });
  text += model.detokenize(ids);
  const arch: string = model.info.arch;
  const cached = await listCached();
  text += arch + cached.length;
  model.dispose();
  return text;
}

export function errors(e: unknown): string {
  if (e instanceof AbortError) return e.name;
  if (e instanceof WasmChordError) {
    const code: ErrorCode = e.code;
    return code;
  }
  return 'other';
}

export async function misuse(model: Model): Promise<void> {
  // @ts-expect-error: the prompt is text, not token ids
  model.generate([1, 2, 3]);
  // @ts-expect-error: maxTokens is a number
  model.generate('x', { maxTokens: '16' });
  // @ts-expect-error: chat takes messages
  model.chat('hello');
  // @ts-expect-error: not an error code
  const bad: ErrorCode = 'ERR_NOT_A_CODE';
  // @ts-expect-error: loadModel needs a source
  await loadModel();
  void bad;
}

export async function openAiShaped(model: Model): Promise<string> {
  const done = await model.createChatCompletion({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8 });
  let text: string = done.choices[0].message.content + done.usage.total_tokens;
  for await (const chunk of model.createChatCompletion({ messages: [{ role: 'user', content: 'Hi' }], stream: true })) {
    text += chunk.choices[0].delta.content ?? '';
  }
  return text;
}
