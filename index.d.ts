/**
 * wasm-chord: run GGUF language models (llama.cpp's file format) in Node and in the browser
 * from one Rust core.
 *
 * ```js
 * import { loadModel } from 'wasm-chord';
 * const model = await loadModel('SmolLM2-135M-Instruct.Q4_1.gguf');
 * for await (const chunk of model.chat([{ role: 'user', content: 'Hi!' }], { maxTokens: 64 })) {
 *   process.stdout.write(chunk.text);
 * }
 * model.dispose();
 * ```
 *
 * Generation is pull-based: each step of a `for await` loop computes one token on a worker
 * thread, so the event loop keeps running and nothing is computed ahead of the consumer.
 * `break` ends a generation and frees its KV cache at once; an `AbortSignal` rejects the
 * pending step at once with an {@link AbortError}.
 *
 * In a browser (the package's `browser` export condition, which Vite picks) the same API runs
 * each model in its own module Web Worker on the wasm build of the core: the page thread never
 * runs inference, `tokenize`/`detokenize`/`applyChatTemplate` stay synchronous (the page holds
 * the model's vocabulary), and the cache lives in OPFS or IndexedDB. What only exists in Node
 * (file paths, mmap, `cacheDir`) rejects with `ERR_UNSUPPORTED_IN_BROWSER` there.
 *
 * This file is the hand-written contract; `js/` implements it.
 */

/** Stable machine-readable codes of {@link WasmChordError}. */
export type ErrorCode =
  // The model file
  | 'ERR_FILE_NOT_FOUND'
  | 'ERR_FILE_READ'
  | 'ERR_GGUF_BAD_MAGIC'
  | 'ERR_GGUF_UNSUPPORTED_VERSION'
  | 'ERR_GGUF_TRUNCATED'
  | 'ERR_GGUF_CORRUPT'
  | 'ERR_UNSUPPORTED_TENSOR_TYPE'
  | 'ERR_TENSOR_OUT_OF_BOUNDS'
  | 'ERR_SHAPE_MISMATCH'
  | 'ERR_MISSING_TENSOR'
  | 'ERR_UNSUPPORTED_ARCH'
  | 'ERR_MISSING_KEY'
  | 'ERR_WRONG_KEY_TYPE'
  | 'ERR_UNSUPPORTED_TOKENIZER'
  | 'ERR_BAD_TOKENIZER'
  // Using the model
  | 'ERR_INVALID_TOKEN'
  | 'ERR_CONTEXT_OVERFLOW'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_MODEL_TOO_LARGE' // the file cannot fit in this build's memory (wasm32: 4 GiB less 256 MiB), checked before allocating
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_TEMPLATE'
  | 'ERR_MODEL_DISPOSED'
  // The GPU (`gpu: true`; with `'auto'` these become a CPU fallback)
  | 'ERR_GPU_UNAVAILABLE' // no adapter (or only a software one for 'auto'), or no device from it
  | 'ERR_GPU_OUT_OF_MEMORY' // a GPU buffer could not be allocated
  | 'ERR_GPU_LIMIT' // the adapter's limits are too small for this model
  | 'ERR_GPU_UNSUPPORTED' // a tensor type or shape the GPU kernels do not cover
  | 'ERR_GPU_LOST' // the device was lost, or a GPU command failed
  // Downloads and the model cache
  | 'ERR_DOWNLOAD_FAILED'
  | 'ERR_CHECKSUM_MISMATCH'
  | 'ERR_MODEL_IN_USE'
  | 'ERR_STORAGE_QUOTA' // browser cache: storage quota exceeded, a write to OPFS/IndexedDB failed, or no usable storage
  // The package itself
  | 'ERR_ADDON_NOT_FOUND'
  | 'ERR_WASM_LOAD' // browser: the .wasm module or the worker script could not be fetched or compiled
  | 'ERR_UNSUPPORTED_IN_BROWSER' // browser: file paths, file: URLs, the cacheDir option and cacheDir()
  | 'ERR_INTERNAL';

/** Every failure other than an abort: `code` says which (the message is for humans). */
export declare class WasmChordError extends Error {
  readonly name: 'WasmChordError';
  readonly code: ErrorCode;
}

/**
 * An aborted operation (its `AbortSignal` fired), as `fetch` and `node:fs` report it:
 * test with `err.name === 'AbortError'`. `cause` is the signal's reason.
 */
export declare class AbortError extends Error {
  readonly name: 'AbortError';
  readonly code: 'ABORT_ERR';
}

export interface LoadProgress {
  /** Bytes ready so far. */
  loaded: number;
  /** Size of the model in bytes (0 when unknown). */
  total: number;
  /**
   * Browser only: `'download'` (into the cache), `'cache'` (read from the cache into the
   * model's memory) or `'load'` (a File, Blob or bytes copied into the model's memory).
   */
  phase?: 'download' | 'cache' | 'load';
}

/**
 * Where and how a model is downloaded and cached. The cache directory is `cacheDir`, else
 * `$WASM_CHORD_CACHE`, else `$WASM_CHORD_MODELS`, else `$XDG_CACHE_HOME/wasm-chord/models`, else
 * `~/.cache/wasm-chord/models` (where `npm run fetch-models` puts the test models). Files keep
 * their original names; `index.json` there records each entry's URL, size, sha256 and last use.
 */
export interface CacheOptions {
  /** The cache directory (see above). */
  cacheDir?: string;
}

export interface DownloadOptions extends CacheOptions {
  /**
   * Expected sha256 (hex). Without it, a sha256 the server states (`X-Checksum-Sha256`,
   * `X-Linked-Etag`, `Repr-Digest`) is checked. A mismatch deletes the file and fetches it once
   * more, then rejects with `ERR_CHECKSUM_MISMATCH`. A cached file changed since it was
   * verified is rehashed and refetched when it no longer matches.
   */
  sha256?: string;
  /** Name of the file in the cache. Default: the URL's last path segment. */
  fileName?: string;
  /** Rehash a cached file even when its size and mtime are unchanged. */
  verify?: boolean;
  /** After adding a file, evict least-recently-used entries not in use until the cache fits. */
  maxCacheBytes?: number;
  /** Immediate resumes (Range requests) after a cut connection. Default 3. */
  retries?: number;
  /** Extra request headers (e.g. authorization). */
  headers?: Record<string, string>;
  /**
   * Cancels this caller's wait (AbortError). The transfer stops once no caller waits for it;
   * the partial file (`<name>.partial`) stays and a later call resumes it.
   */
  signal?: AbortSignal;
  /** Bytes downloaded so far (including resumed ones) and the size (0 while unknown). */
  onProgress?: (progress: LoadProgress) => void;
}

/** A model file in the cache. */
export interface CachedModel {
  /** File name in the cache directory. */
  readonly name: string;
  readonly path: string;
  /** Where it was downloaded from (null for files the index does not know). */
  readonly url: string | null;
  readonly size: number;
  /** null for unindexed files whose hash is not known. */
  readonly sha256: string | null;
}

export interface CacheEntry extends CachedModel {
  /** Milliseconds since the epoch. */
  readonly addedAt: number | null;
  readonly lastUsed: number | null;
  /** In the index (false: a `.gguf` file found in the directory, e.g. from the fetch script; never evicted). */
  readonly managed: boolean;
  /** Loaded by a live Model of this process (not evicted, not removable). */
  readonly inUse: boolean;
}

export interface LoadOptions extends Omit<DownloadOptions, 'signal' | 'onProgress'> {
  /**
   * Threads for matrix products; 0 or absent: one per core. Shared by all generations. In the
   * browser, threads need a cross-origin isolated page (COOP `same-origin` + COEP
   * `require-corp`, so `SharedArrayBuffer` exists): there the threads build of the wasm module
   * runs a pool of that many Web Workers; elsewhere the model runs on one thread.
   * `info.threads` says what is in use.
   */
  threads?: number;
  /**
   * Positions each generation's KV cache holds (prompt + generated tokens). Absent: the
   * training context, capped at 2048. Each generation allocates its whole cache up front.
   */
  contextSize?: number;
  /**
   * Where the model runs. `false` (the default): the CPU. `'auto'`: a hardware GPU when there is
   * one (Vulkan, Metal or DX12 through wgpu in Node, WebGPU in the browser; software adapters
   * such as lavapipe or SwiftShader are skipped), else the CPU, with the reason in
   * {@link ModelInfo.gpuFallback}. `true`: the best GPU adapter there is, software ones
   * included, or an `ERR_GPU_*` error. In the browser WebGPU runs in the one-thread build, so
   * `threads` does not apply to a model on the GPU.
   */
  gpu?: 'auto' | boolean;
  /**
   * Browser only: `false` streams a URL straight into memory without caching it (the server
   * must send `Content-Length`). Default true.
   */
  cache?: boolean;
  /** Aborts the load: the promise rejects with an {@link AbortError}. */
  signal?: AbortSignal;
  /**
   * Called with `loaded: 0` before the load and `loaded === total` once done. A file is
   * memory-mapped, so there are no intermediate steps yet.
   */
  onProgress?: (progress: LoadProgress) => void;
}

export interface ModelInfo {
  /** `general.architecture`: `'llama'`, `'gemma3'`. */
  readonly arch: string;
  /** `general.name`, when the file has one. */
  readonly name?: string;
  /** `general.file_type` as llama.cpp names it (`'Q4_1'`, `'Q4_K_M'`, ...), when present. */
  readonly fileType?: string;
  /** Parameters: the element count of all tensors. */
  readonly nParams: number;
  readonly tensorCount: number;
  /** The context the model was trained with (`{arch}.context_length`). */
  readonly contextLength: number;
  /** Positions each generation holds ({@link LoadOptions.contextSize}). */
  readonly contextSize: number;
  readonly vocabSize: number;
  readonly embeddingLength: number;
  readonly layerCount: number;
  readonly headCount: number;
  readonly headCountKv: number;
  /** Threads the model computes with. */
  readonly threads: number;
  /** Where the forward passes run. */
  readonly backend: 'cpu' | 'gpu';
  /** The GPU adapter in use, when {@link backend} is `'gpu'`. */
  readonly gpu?: GpuInfo;
  /** Why `gpu: 'auto'` runs on the CPU (an `ERR_GPU_*` code and message). */
  readonly gpuFallback?: string;
}

export interface GpuInfo {
  /** The adapter's name, e.g. `'NVIDIA H200'`, `'llvmpipe (LLVM 15.0.6, 256 bits)'`. */
  readonly adapter: string;
  /** The API wgpu drives it through: `'vulkan'`, `'metal'`, `'dx12'`, or `'webgpu'` in the browser. */
  readonly api: string;
  /**
   * `'discrete'`, `'integrated'`, `'virtual'`, `'cpu'` (a software adapter) or `'other'` (a
   * hardware WebGPU adapter: browsers do not say which kind).
   */
  readonly deviceType: string;
}

export interface GenerateOptions {
  /** Most tokens to generate; 0 = until the context is full. Default 256. */
  maxTokens?: number;
  /** Sampling temperature; `<= 0` is greedy (argmax). Default 0.8. */
  temperature?: number;
  /** Keep the k most likely tokens; `<= 0` turns it off. Default 40. */
  topK?: number;
  /** Nucleus sampling mass in [0, 1]; 1 turns it off. Default 0.95. */
  topP?: number;
  /** Minimum probability relative to the best token, in [0, 1]; 0 turns it off. Default 0.05. */
  minP?: number;
  /** Penalty on recent tokens (llama.cpp's repeat_penalty); 1 turns it off. Default 1. */
  repeatPenalty?: number;
  /** Subtracted per occurrence of a recent token; 0 turns it off. Default 0. */
  frequencyPenalty?: number;
  /** Subtracted once if a token occurred recently; 0 turns it off. Default 0. */
  presencePenalty?: number;
  /** How many recent tokens the penalties see. Default 64. */
  penaltyLastN?: number;
  /** Seed of the draw (a non-negative safe integer): same seed, same tokens. */
  seed?: number;
  /** Generation ends before any of these strings; they are not part of the output. */
  stop?: string | string[];
  /**
   * `generate()` only: parse control-token text such as `<|im_start|>` in the prompt into
   * its token (chat prompts always are). Default false.
   */
  special?: boolean;
  /** Aborts the generation: the pending and later steps reject with an {@link AbortError}. */
  signal?: AbortSignal;
}

export interface ChatMessage {
  /** `'system'`, `'user'`, `'assistant'`, ...: the template decides which roles it accepts. */
  role: string;
  content: string;
}

/** One generated token and the text it completed. */
export interface Chunk {
  /**
   * Text completed by this token. May be empty while an incomplete UTF-8 character or a
   * possible start of a stop string is held back; held text comes with a later chunk.
   */
  text: string;
  /** The token id; absent on a final chunk that only flushes held-back text. */
  token?: number;
}

/**
 * A running generation: iterate it with `for await`. Single-use. `break` (or any early exit
 * of the loop) frees its session; errors, including {@link AbortError}, reject a step.
 */
export interface TokenStream extends AsyncIterableIterator<Chunk> {
  /** `'stop'` (end-of-generation token or stop string) or `'length'` once ended by itself. */
  readonly finishReason: 'stop' | 'length' | null;
  /** Consumes the rest of the stream and returns its text. */
  text(): Promise<string>;
  /** Ends the stream: frees the session; later steps resolve as done. */
  return(value?: unknown): Promise<IteratorResult<Chunk>>;
}

export interface ChatTemplateOptions {
  /** Append the opening of an assistant turn. Default true. */
  addGenerationPrompt?: boolean;
}

/** An OpenAI Chat Completions request (the fields a local model can honour). */
export interface ChatCompletionRequest {
  messages: readonly ChatMessage[];
  stream?: boolean;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  stop?: string | string[];
  frequency_penalty?: number;
  presence_penalty?: number;
  /** Not OpenAI's: aborts the generation. */
  signal?: AbortSignal;
}

/** `chat.completion`, as the OpenAI API returns it. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{ index: number; message: { role: 'assistant'; content: string }; finish_reason: 'stop' | 'length' }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** `chat.completion.chunk`: the first carries the role, the last the finish reason. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{ index: number; delta: { role?: 'assistant'; content?: string }; finish_reason: 'stop' | 'length' | null }>;
}

export declare class Model implements Disposable {
  private constructor();
  /** Facts about the model, read once at load. */
  readonly info: ModelInfo;
  /** Whether {@link Model.dispose} was called. */
  readonly disposed: boolean;

  /**
   * Streams a continuation of `prompt` (BOS is prepended when the model asks for it).
   * Nothing runs until the first step; errors such as `ERR_CONTEXT_OVERFLOW` reject it.
   * Several generations may run at once, each with its own KV cache.
   */
  generate(prompt: string, options?: GenerateOptions): TokenStream;

  /** Streams the assistant's reply to `messages`, rendered with the model's chat template. */
  chat(messages: readonly ChatMessage[], options?: GenerateOptions): TokenStream;

  /**
   * OpenAI-shaped chat completion over {@link Model.chat}: resolves to a `chat.completion`, or,
   * with `stream: true`, yields `chat.completion.chunk` objects.
   */
  createChatCompletion(request: ChatCompletionRequest & { stream?: false }): Promise<ChatCompletion>;
  createChatCompletion(request: ChatCompletionRequest & { stream: true }): AsyncIterable<ChatCompletionChunk>;

  /** The prompt `chat()` would feed, as text. */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;

  /**
   * Token ids of `text`, without BOS. With `special`, control-token text such as
   * `<|im_start|>` becomes its token; otherwise it is plain text.
   */
  tokenize(text: string, options?: { special?: boolean }): number[];

  /** Text of token ids (control tokens as their text). */
  detokenize(ids: Iterable<number>): string;

  /**
   * Releases the model: running generations fail with `ERR_MODEL_DISPOSED`, and later calls
   * throw (or, for streams, reject) with that code. Safe to call more than once. The file's
   * memory map is released once the last running step has finished.
   */
  dispose(): void;
  [Symbol.dispose](): void;
}

/**
 * Loads a GGUF model from a file path or `file:` URL, an `http(s):` URL (downloaded into the
 * cache first, see {@link downloadModel}; `onProgress` reports the download), a file name or
 * sha256 found in the cache (when no such path exists), (memory-mapped: do not modify or truncate
 * the file while the model is alive) or from bytes (copied once). Parsing and weight binding
 * run on a worker thread. Rejects with a {@link WasmChordError} (`ERR_FILE_NOT_FOUND`,
 * `ERR_GGUF_BAD_MAGIC`, `ERR_GGUF_TRUNCATED`, `ERR_UNSUPPORTED_ARCH`, ...) or an
 * {@link AbortError}.
 *
 * In the browser: an `http(s):` URL or a URL relative to the page (`/models/x.gguf`,
 * `./x.gguf`) is downloaded into the browser cache and read from it (`cache: false` streams it
 * straight into memory instead); a `File` or `Blob`, or bytes, are copied into the model's
 * memory in chunks; any other string names a cached model. The model must fit in wasm32's
 * memory (`ERR_MODEL_TOO_LARGE` before anything big is allocated).
 */
export declare function loadModel(
  source: string | URL | ArrayBuffer | ArrayBufferView | Blob,
  options?: LoadOptions,
): Promise<Model>;

/**
 * Downloads `url` into the model cache, or finds it there. Resumes an interrupted download with
 * a Range request; concurrent calls for one URL share one transfer. Rejects with
 * `ERR_DOWNLOAD_FAILED`, `ERR_CHECKSUM_MISMATCH`, `ERR_INVALID_ARGUMENT` or an AbortError.
 */
export declare function downloadModel(url: string | URL, options?: DownloadOptions): Promise<CachedModel>;

/** The cache's entries, most recently used first; unindexed `.gguf` files last. */
export declare function listCached(options?: CacheOptions): Promise<CacheEntry[]>;

/**
 * Removes a cached model (by file name, URL or sha256 prefix of >= 8 digits) with any partial
 * download; resolves whether anything was removed. `ERR_MODEL_IN_USE` when loaded here.
 */
export declare function removeCached(nameOrSha: string, options?: CacheOptions): Promise<boolean>;

/** Evicts least-recently-used indexed entries not in use until they total <= `maxBytes`; resolves their names. */
export declare function pruneCache(maxBytes: number, options?: CacheOptions): Promise<string[]>;

/** The cache directory that `options` select. */
export declare function cacheDir(options?: CacheOptions): string;
