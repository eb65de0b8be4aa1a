// One human sentence per wasm-chord error code (index.d.ts lists them all); the code and the
// library's own message are shown under it in small print.

const SENTENCES = {
  ERR_GGUF_BAD_MAGIC: 'This is not a GGUF model file. Pick a .gguf file (llama.cpp’s format).',
  ERR_GGUF_TRUNCATED: 'The model file is incomplete: it ends before all of its data. The download or copy was probably cut short.',
  ERR_GGUF_UNSUPPORTED_VERSION: 'This GGUF file uses a format version wasm-chord does not read (it reads versions 1 to 3).',
  ERR_GGUF_CORRUPT: 'The model file is damaged: its header contradicts itself.',
  ERR_UNSUPPORTED_ARCH: 'This model’s architecture is not supported yet (wasm-chord runs llama and gemma3 models).',
  ERR_UNSUPPORTED_TENSOR_TYPE: 'The model is quantized with a tensor type wasm-chord cannot read yet; try a Q4_0, Q4_1, Q8_0 or K-quant file.',
  ERR_TENSOR_OUT_OF_BOUNDS: 'The model file is cut short or damaged: its tensors reach past the end of the data.',
  ERR_SHAPE_MISMATCH: 'The model file is inconsistent: a tensor has the wrong shape for this architecture.',
  ERR_MISSING_TENSOR: 'The model file lacks a tensor its architecture needs.',
  ERR_MISSING_KEY: 'The model file lacks a metadata entry its architecture needs.',
  ERR_WRONG_KEY_TYPE: 'The model file has a metadata entry of the wrong type.',
  ERR_UNSUPPORTED_TOKENIZER: 'This model’s tokenizer is not supported yet.',
  ERR_BAD_TOKENIZER: 'The model’s tokenizer data is damaged.',
  ERR_MODEL_TOO_LARGE: 'This model is too large for the browser’s WebAssembly memory (under 4 GB); pick a smaller or more quantized file.',
  ERR_OUT_OF_MEMORY: 'The browser ran out of memory for this model. Close other tabs or pick a smaller model.',
  ERR_DOWNLOAD_FAILED: 'The model could not be downloaded. Check the URL, your connection, and that the server allows cross-origin requests (CORS).',
  ERR_CHECKSUM_MISMATCH: 'The downloaded file does not match its checksum, so it was discarded.',
  ERR_STORAGE_QUOTA: 'The browser would not store the model: its storage is full or unavailable here.',
  ERR_FILE_NOT_FOUND: 'No model by that name is cached in this browser. Enter a full URL to download one.',
  ERR_FILE_READ: 'The file could not be read.',
  ERR_MODEL_IN_USE: 'That cached model is in use (loaded here or in another tab), so it cannot be removed now.',
  ERR_CONTEXT_OVERFLOW: 'The conversation no longer fits in the model’s context. Start a new chat.',
  ERR_TEMPLATE: 'The model’s chat template could not format this conversation.',
  ERR_INVALID_TOKEN: 'The model produced or received a token outside its vocabulary.',
  ERR_INVALID_ARGUMENT: 'A setting has a value the library does not accept.',
  ERR_MODEL_DISPOSED: 'The model was unloaded. Load it again.',
  ERR_WASM_LOAD: 'The WebAssembly module or its worker could not be loaded. Check that the page was built and served correctly.',
  ERR_UNSUPPORTED_IN_BROWSER: 'That only works in Node, not in a browser (file paths, for one). Use a URL or pick the file instead.',
  ERR_INTERNAL: 'wasm-chord hit an internal error (a bug). Load the model again; if it repeats, please report it.',
};

/** `{ sentence, code, message }` for an error thrown by wasm-chord (or anything else). */
export function describeError(error) {
  const code = typeof error?.code === 'string' ? error.code : error?.name || 'Error';
  const sentence = SENTENCES[code] ?? 'Something went wrong.';
  return { sentence, code, message: String(error?.message ?? error) };
}

/** Whether `error` is an abort (a Stop or a cancelled load), which is not shown as a failure. */
export function isAbort(error) {
  return error?.name === 'AbortError';
}
