// OpenAI-shaped chat completions over Model.chat(): the request and response objects of the
// Chat Completions API, so code written against it (or its SDK types) runs on a local model.
// crypto.randomUUID is a global in Node >= 19 and in browsers (secure contexts).
const randomUUID = () => globalThis.crypto.randomUUID();

/** Maps OpenAI request fields onto GenerateOptions (unknown fields are ignored, as servers do). */
export function generateOptionsOf(request) {
  const opts = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens != null) opts.maxTokens = maxTokens;
  if (request.temperature != null) opts.temperature = request.temperature;
  if (request.top_p != null) opts.topP = request.top_p;
  if (request.seed != null) opts.seed = request.seed;
  if (request.stop != null) opts.stop = request.stop;
  if (request.frequency_penalty != null) opts.frequencyPenalty = request.frequency_penalty;
  if (request.presence_penalty != null) opts.presencePenalty = request.presence_penalty;
  if (request.signal != null) opts.signal = request.signal;
  return opts;
}

function envelope(model, object) {
  return { id: `chatcmpl-${randomUUID()}`, object, created: Math.floor(Date.now() / 1000), model: model.info.name || model.info.arch };
}

/** Whole completion: resolves once generation ends. */
export async function completion(model, request) {
  const head = envelope(model, 'chat.completion');
  const promptTokens = model.tokenize(model.applyChatTemplate(request.messages), { special: true }).length;
  const stream = model.chat(request.messages, generateOptionsOf(request));
  let content = '';
  let completionTokens = 0;
  for await (const chunk of stream) {
    content += chunk.text;
    if (chunk.token !== undefined) completionTokens++;
  }
  return {
    ...head,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: stream.finishReason ?? 'stop' }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** Streamed completion: `chat.completion.chunk` objects, the last one carrying `finish_reason`. */
export async function* completionChunks(model, request) {
  const head = envelope(model, 'chat.completion.chunk');
  const stream = model.chat(request.messages, generateOptionsOf(request));
  yield { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
  try {
    for await (const chunk of stream) {
      if (chunk.text) yield { ...head, choices: [{ index: 0, delta: { content: chunk.text }, finish_reason: null }] };
    }
  } finally {
    await stream.return();
  }
  yield { ...head, choices: [{ index: 0, delta: {}, finish_reason: stream.finishReason ?? 'stop' }] };
}
