/**
 * Hands rayon's thread bodies to the thread workers waiting for them.
 */
export class ThreadPoolStarter {
    static __wrap(ptr) {
        const obj = Object.create(ThreadPoolStarter.prototype);
        obj.__wbg_ptr = ptr;
        ThreadPoolStarterFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        ThreadPoolStarterFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_threadpoolstarter_free(ptr, 0);
    }
    /**
     * The address thread workers pass to [`ThreadPoolStarter::run_thread`].
     * @returns {number}
     */
    get address() {
        const ret = wasm.threadpoolstarter_address(this.__wbg_ptr);
        return ret >>> 0;
    }
    /**
     * Makes the waiting thread workers rayon's global pool (once all have called
     * `run_thread`).
     */
    build() {
        const ret = wasm.threadpoolstarter_build(this.__wbg_ptr);
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * @returns {number}
     */
    get nThreads() {
        const ret = wasm.threadpoolstarter_nThreads(this.__wbg_ptr);
        return ret >>> 0;
    }
    /**
     * A thread worker's body: waits for its rayon thread and runs it (forever).
     * @param {number} address
     */
    static runThread(address) {
        wasm.threadpoolstarter_runThread(address);
    }
}
if (Symbol.dispose) ThreadPoolStarter.prototype[Symbol.dispose] = ThreadPoolStarter.prototype.free;

export class WasmChunk {
    static __wrap(ptr) {
        const obj = Object.create(WasmChunk.prototype);
        obj.__wbg_ptr = ptr;
        WasmChunkFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        WasmChunkFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_wasmchunk_free(ptr, 0);
    }
    /**
     * @returns {string}
     */
    get text() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.wasmchunk_text(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Absent on a final chunk that only flushes held-back text.
     * @returns {number | undefined}
     */
    get token() {
        const ret = wasm.wasmchunk_token(this.__wbg_ptr);
        return ret === Number.MAX_SAFE_INTEGER ? undefined : ret;
    }
}
if (Symbol.dispose) WasmChunk.prototype[Symbol.dispose] = WasmChunk.prototype.free;

export class WasmGeneration {
    static __wrap(ptr) {
        const obj = Object.create(WasmGeneration.prototype);
        obj.__wbg_ptr = ptr;
        WasmGenerationFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        WasmGenerationFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_wasmgeneration_free(ptr, 0);
    }
    /**
     * Stops at the next check; the step after it fails with code `ABORT_ERR`.
     */
    cancel() {
        wasm.wasmgeneration_cancel(this.__wbg_ptr);
    }
    /**
     * Ends the generation and frees its KV cache.
     */
    close() {
        wasm.wasmgeneration_close(this.__wbg_ptr);
    }
    /**
     * `stop` or `length` once finished, else `undefined`.
     * @returns {string | undefined}
     */
    get finishReason() {
        const ret = wasm.wasmgeneration_finishReason(this.__wbg_ptr);
        let v1;
        if (ret[0] !== 0) {
            v1 = getStringFromWasm0(ret[0], ret[1]);
            wasm.__wbindgen_free(ret[0], ret[1] * 1, 1);
        }
        return v1;
    }
    /**
     * Prompt tokens (BOS included), known after the first step.
     * @returns {number | undefined}
     */
    get promptTokens() {
        const ret = wasm.wasmgeneration_promptTokens(this.__wbg_ptr);
        return ret === Number.MAX_SAFE_INTEGER ? undefined : ret;
    }
    /**
     * Runs one step, resolving to the next chunk, or `undefined` when finished (a promise:
     * on WebGPU each token waits for the device).
     * @returns {Promise<any>}
     */
    step() {
        const ret = wasm.wasmgeneration_step(this.__wbg_ptr);
        return ret;
    }
}
if (Symbol.dispose) WasmGeneration.prototype[Symbol.dispose] = WasmGeneration.prototype.free;

/**
 * A model's bytes, copied into wasm memory chunk by chunk: the buffer is reserved whole by
 * the constructor (`ERR_MODEL_TOO_LARGE` before any chunk when it cannot fit).
 */
export class WasmLoader {
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        WasmLoaderFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_wasmloader_free(ptr, 0);
    }
    /**
     * Parses and binds the model (the buffer moves into it; this loader is spent), resolving
     * to a [`WasmModel`]. `gpu` is JS `gpu` as a string (`"auto"`, `"true"`, `"false"`); with
     * WebGPU the device and the uploads are awaited.
     * @param {number} threads
     * @param {number} context_size
     * @param {string} gpu
     * @returns {Promise<any>}
     */
    finish(threads, context_size, gpu) {
        const val2 = +threads;
        const val3 = +context_size;
        const ptr0 = passStringToWasm0(gpu, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.wasmloader_finish(this.__wbg_ptr, val2, val3, ptr0, len0);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return takeFromExternrefTable0(ret[0]);
    }
    /**
     * `size`: the file's length in bytes (a JS number; files over 2 GiB are fine).
     * @param {number} size
     */
    constructor(size) {
        const ret = wasm.wasmloader_new(size);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        this.__wbg_ptr = ret[0];
        WasmLoaderFinalization.register(this, this.__wbg_ptr, this);
        return this;
    }
    /**
     * Appends the next chunk of the file.
     * @param {Uint8Array | number[]} chunk
     */
    write(chunk) {
        const ptr0 = passArray8ToWasm0(chunk, wasm.__wbindgen_malloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.wasmloader_write(this.__wbg_ptr, ptr0, len0);
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * Bytes written so far.
     * @returns {number}
     */
    get written() {
        const ret = wasm.wasmloader_written(this.__wbg_ptr);
        return ret;
    }
}
if (Symbol.dispose) WasmLoader.prototype[Symbol.dispose] = WasmLoader.prototype.free;

export class WasmModel {
    static __wrap(ptr) {
        const obj = Object.create(WasmModel.prototype);
        obj.__wbg_ptr = ptr;
        WasmModelFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        WasmModelFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_wasmmodel_free(ptr, 0);
    }
    /**
     * @param {string} messages_json
     * @param {boolean} add_generation_prompt
     * @returns {string}
     */
    applyChatTemplate(messages_json, add_generation_prompt) {
        let deferred4_0;
        let deferred4_1;
        try {
            const val2 = +add_generation_prompt;
            const ptr0 = passStringToWasm0(messages_json, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.wasmmodel_applyChatTemplate(this.__wbg_ptr, ptr0, len0, val2);
            var ptr3 = ret[0];
            var len3 = ret[1];
            if (ret[3]) {
                ptr3 = 0; len3 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred4_0 = ptr3;
            deferred4_1 = len3;
            return getStringFromWasm0(ptr3, len3);
        } finally {
            wasm.__wbindgen_free(deferred4_0, deferred4_1, 1);
        }
    }
    /**
     * A generation answering `messages` through the chat template.
     * @param {string} messages_json
     * @param {string} options_json
     * @returns {WasmGeneration}
     */
    chat(messages_json, options_json) {
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(messages_json, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(options_json, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.wasmmodel_chat(this.__wbg_ptr, ptr0, len0, ptr1, len1);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return WasmGeneration.__wrap(ret[0]);
    }
    /**
     * @param {Uint32Array | number[]} ids
     * @returns {string}
     */
    detokenize(ids) {
        let deferred3_0;
        let deferred3_1;
        try {
            const ptr0 = passArray32ToWasm0(ids, wasm.__wbindgen_malloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.wasmmodel_detokenize(this.__wbg_ptr, ptr0, len0);
            var ptr2 = ret[0];
            var len2 = ret[1];
            if (ret[3]) {
                ptr2 = 0; len2 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred3_0 = ptr2;
            deferred3_1 = len2;
            return getStringFromWasm0(ptr2, len2);
        } finally {
            wasm.__wbindgen_free(deferred3_0, deferred3_1, 1);
        }
    }
    /**
     * Drops this handle's reference; the weights are freed once running generations end.
     */
    dispose() {
        wasm.wasmmodel_dispose(this.__wbg_ptr);
    }
    /**
     * A generation after `prompt`; nothing runs until the first `step()`.
     * @param {string} prompt
     * @param {string} options_json
     * @returns {WasmGeneration}
     */
    generate(prompt, options_json) {
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(prompt, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(options_json, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.wasmmodel_generate(this.__wbg_ptr, ptr0, len0, ptr1, len1);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return WasmGeneration.__wrap(ret[0]);
    }
    /**
     * The file's header (metadata and tensor infos): what [`WasmVocab`] is built from.
     * @returns {Uint8Array}
     */
    header() {
        const ret = wasm.wasmmodel_header(this.__wbg_ptr);
        if (ret[3]) {
            throw takeFromExternrefTable0(ret[2]);
        }
        var v1 = getArrayU8FromWasm0(ret[0], ret[1]).slice();
        wasm.__wbindgen_free(ret[0], ret[1] * 1, 1);
        return v1;
    }
    /**
     * `ModelInfo` (index.d.ts) as JSON.
     * @returns {string}
     */
    infoJson() {
        let deferred2_0;
        let deferred2_1;
        try {
            const ret = wasm.wasmmodel_infoJson(this.__wbg_ptr);
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
        }
    }
    /**
     * @param {string} text
     * @param {boolean} special
     * @returns {Uint32Array}
     */
    tokenize(text, special) {
        const val2 = +special;
        const ptr0 = passStringToWasm0(text, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.wasmmodel_tokenize(this.__wbg_ptr, ptr0, len0, val2);
        if (ret[3]) {
            throw takeFromExternrefTable0(ret[2]);
        }
        var v3 = getArrayU32FromWasm0(ret[0], ret[1]).slice();
        wasm.__wbindgen_free(ret[0], ret[1] * 4, 4);
        return v3;
    }
}
if (Symbol.dispose) WasmModel.prototype[Symbol.dispose] = WasmModel.prototype.free;

/**
 * The text half of a model (tokenizer + chat template), built from its header, for the
 * page thread's synchronous `tokenize` / `detokenize` / `applyChatTemplate`.
 */
export class WasmVocab {
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        WasmVocabFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_wasmvocab_free(ptr, 0);
    }
    /**
     * @param {string} messages_json
     * @param {boolean} add_generation_prompt
     * @returns {string}
     */
    applyChatTemplate(messages_json, add_generation_prompt) {
        let deferred4_0;
        let deferred4_1;
        try {
            const val2 = +add_generation_prompt;
            const ptr0 = passStringToWasm0(messages_json, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.wasmvocab_applyChatTemplate(this.__wbg_ptr, ptr0, len0, val2);
            var ptr3 = ret[0];
            var len3 = ret[1];
            if (ret[3]) {
                ptr3 = 0; len3 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred4_0 = ptr3;
            deferred4_1 = len3;
            return getStringFromWasm0(ptr3, len3);
        } finally {
            wasm.__wbindgen_free(deferred4_0, deferred4_1, 1);
        }
    }
    /**
     * @param {Uint32Array | number[]} ids
     * @returns {string}
     */
    detokenize(ids) {
        let deferred3_0;
        let deferred3_1;
        try {
            const ptr0 = passArray32ToWasm0(ids, wasm.__wbindgen_malloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.wasmvocab_detokenize(this.__wbg_ptr, ptr0, len0);
            var ptr2 = ret[0];
            var len2 = ret[1];
            if (ret[3]) {
                ptr2 = 0; len2 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred3_0 = ptr2;
            deferred3_1 = len2;
            return getStringFromWasm0(ptr2, len2);
        } finally {
            wasm.__wbindgen_free(deferred3_0, deferred3_1, 1);
        }
    }
    /**
     * @param {Uint8Array | number[]} header
     * @param {number} file_len
     */
    constructor(header, file_len) {
        const val2 = +file_len;
        const ptr0 = passArray8ToWasm0(header, wasm.__wbindgen_malloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.wasmvocab_new(ptr0, len0, val2);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        this.__wbg_ptr = ret[0];
        WasmVocabFinalization.register(this, this.__wbg_ptr, this);
        return this;
    }
    /**
     * @param {string} text
     * @param {boolean} special
     * @returns {Uint32Array}
     */
    tokenize(text, special) {
        const val2 = +special;
        const ptr0 = passStringToWasm0(text, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.wasmvocab_tokenize(this.__wbg_ptr, ptr0, len0, val2);
        if (ret[3]) {
            throw takeFromExternrefTable0(ret[2]);
        }
        var v3 = getArrayU32FromWasm0(ret[0], ret[1]).slice();
        wasm.__wbindgen_free(ret[0], ret[1] * 4, 4);
        return v3;
    }
}
if (Symbol.dispose) WasmVocab.prototype[Symbol.dispose] = WasmVocab.prototype.free;

/**
 * Which CPU kernels this build uses (`simd128` or `scalar`).
 * @returns {string}
 */
export function cpuKernels() {
    let deferred1_0;
    let deferred1_1;
    try {
        const ret = wasm.cpuKernels();
        deferred1_0 = ret[0];
        deferred1_1 = ret[1];
        return getStringFromWasm0(ret[0], ret[1]);
    } finally {
        wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
    }
}

/**
 * Installs the panic hook (idempotent; the JS glue calls it right after instantiating).
 */
export function installPanicHook() {
    wasm.installPanicHook();
}

/**
 * Largest model this build can hold (bytes): wasm32's 4 GiB less room for the runtime.
 * @returns {number}
 */
export function maxModelBytes() {
    const ret = wasm.maxModelBytes();
    return ret;
}

/**
 * The shared memory of a `threads` build, which thread workers instantiate over.
 * @returns {any}
 */
export function sharedMemory() {
    const ret = wasm.sharedMemory();
    return ret;
}

/**
 * A starter for a pool of `n_threads` (>= 1). It must outlive the pool: the JS side keeps it
 * for the worker's lifetime (the pool lives until the worker is terminated).
 * @param {number} n_threads
 * @returns {ThreadPoolStarter}
 */
export function threadPool(n_threads) {
    const ret = wasm.threadPool(n_threads);
    return ThreadPoolStarter.__wrap(ret);
}
function __wbg_get_imports(memory) {
    const import0 = {
        __proto__: null,
        __wbg___wasmChordPanic_9c4e0fe75ccef682: function(arg0, arg1) {
            globalThis.__wasmChordPanic(getStringFromWasm0(arg0, arg1));
        },
        __wbg___wbindgen_is_function_741ff2bb612836f5: function(arg0) {
            const ret = typeof(arg0) === 'function';
            return ret;
        },
        __wbg___wbindgen_is_undefined_be5b34249ff1fc15: function(arg0) {
            const ret = arg0 === undefined;
            return ret;
        },
        __wbg___wbindgen_memory_17a1178bc3328ea3: function() {
            const ret = wasm.memory;
            return ret;
        },
        __wbg___wbindgen_rethrow_d953c34c2e20677f: function(arg0) {
            throw arg0;
        },
        __wbg___wbindgen_throw_4c88d8bf264fd984: function(arg0, arg1) {
            throw new Error(getStringFromWasm0(arg0, arg1));
        },
        __wbg__wbg_cb_unref_09736879a3f67559: function(arg0) {
            arg0._wbg_cb_unref();
        },
        __wbg_async_d07a488424b248e8: function(arg0) {
            const ret = arg0.async;
            return ret;
        },
        __wbg_buffer_0eaa216bac6b8749: function(arg0) {
            const ret = arg0.buffer;
            return ret;
        },
        __wbg_call_a410eb4b59ed5965: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = arg0.call(arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_data_6d94f1893c1a6f56: function(arg0) {
            const ret = arg0.data;
            return ret;
        },
        __wbg_new_68957d2a912dfa0a: function(arg0) {
            const ret = new Int32Array(arg0);
            return ret;
        },
        __wbg_new_787b9fb330d55d78: function(arg0, arg1) {
            const ret = new Error(getStringFromWasm0(arg0, arg1));
            return ret;
        },
        __wbg_new_ba40181b3f24ac80: function(arg0, arg1) {
            try {
                var state0 = {a: arg0, b: arg1};
                var cb0 = (arg0, arg1) => {
                    const a = state0.a;
                    state0.a = 0;
                    try {
                        return wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___js_sys_e98a0ab04fa4a916___Function_fn_wasm_bindgen_d1d36bc1c0d5b9c3___JsValue_____wasm_bindgen_d1d36bc1c0d5b9c3___sys__Undefined___js_sys_e98a0ab04fa4a916___Function_fn_wasm_bindgen_d1d36bc1c0d5b9c3___JsValue_____wasm_bindgen_d1d36bc1c0d5b9c3___sys__Undefined_______true_(a, state0.b, arg0, arg1);
                    } finally {
                        state0.a = a;
                    }
                };
                const ret = new Promise(cb0);
                return ret;
            } finally {
                state0.a = 0;
            }
        },
        __wbg_new_typed_e09da9dae6ee5935: function(arg0, arg1) {
            try {
                var state0 = {a: arg0, b: arg1};
                var cb0 = (arg0, arg1) => {
                    const a = state0.a;
                    state0.a = 0;
                    try {
                        return wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___js_sys_e98a0ab04fa4a916___Function_fn_wasm_bindgen_d1d36bc1c0d5b9c3___JsValue_____wasm_bindgen_d1d36bc1c0d5b9c3___sys__Undefined___js_sys_e98a0ab04fa4a916___Function_fn_wasm_bindgen_d1d36bc1c0d5b9c3___JsValue_____wasm_bindgen_d1d36bc1c0d5b9c3___sys__Undefined_______true_(a, state0.b, arg0, arg1);
                    } finally {
                        state0.a = a;
                    }
                };
                const ret = new Promise(cb0);
                return ret;
            } finally {
                state0.a = 0;
            }
        },
        __wbg_new_worker_ab40b804322ae831: function(arg0, arg1) {
            const ret = new Worker(getStringFromWasm0(arg0, arg1));
            return ret;
        },
        __wbg_of_4cc373bef1f715a4: function(arg0, arg1, arg2) {
            const ret = Array.of(arg0, arg1, arg2);
            return ret;
        },
        __wbg_postMessage_a8a190b3536a4954: function() { return handleError(function (arg0, arg1) {
            arg0.postMessage(arg1);
        }, arguments); },
        __wbg_queueMicrotask_1e8503a8a690f0a3: function(arg0) {
            const ret = arg0.queueMicrotask;
            return ret;
        },
        __wbg_queueMicrotask_4a1a4d8dd332373b: function(arg0) {
            queueMicrotask(arg0);
        },
        __wbg_resolve_dbf78ab4942478b0: function(arg0) {
            const ret = Promise.resolve(arg0);
            return ret;
        },
        __wbg_set_2793479888329cb6: function() { return handleError(function (arg0, arg1, arg2) {
            const ret = Reflect.set(arg0, arg1, arg2);
            return ret;
        }, arguments); },
        __wbg_set_onmessage_2c118f9979657ab3: function(arg0, arg1) {
            arg0.onmessage = arg1;
        },
        __wbg_static_accessor_GLOBAL_THIS_003ee833af9699fc: function() {
            const ret = typeof globalThis === 'undefined' ? undefined : globalThis;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_static_accessor_GLOBAL_e4293fb22cbe77da: function() {
            const ret = typeof global === 'undefined' ? undefined : global;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_static_accessor_SELF_53bb20457401453d: function() {
            const ret = typeof self === 'undefined' ? undefined : self;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_static_accessor_WINDOW_b5e0810bfecb7feb: function() {
            const ret = typeof window === 'undefined' ? undefined : window;
            return isLikeNone(ret) ? 0 : addToExternrefTable0(ret);
        },
        __wbg_then_3a4f899454bcf8c9: function(arg0, arg1) {
            const ret = arg0.then(arg1);
            return ret;
        },
        __wbg_then_e3f7f2d365708be8: function(arg0, arg1) {
            const ret = arg0.then(arg1);
            return ret;
        },
        __wbg_value_bfe4d7d3c9cebaa6: function(arg0) {
            const ret = arg0.value;
            return ret;
        },
        __wbg_waitAsync_44d21aa5306efd6b: function() {
            const ret = Atomics.waitAsync;
            return ret;
        },
        __wbg_waitAsync_8fcbe0cb448a7f98: function(arg0, arg1, arg2) {
            const ret = Atomics.waitAsync(arg0, arg1 >>> 0, arg2);
            return ret;
        },
        __wbg_wasmchunk_new: function(arg0) {
            const ret = WasmChunk.__wrap(arg0);
            return ret;
        },
        __wbg_wasmmodel_new: function(arg0) {
            const ret = WasmModel.__wrap(arg0);
            return ret;
        },
        __wbindgen_generic_0000000000000001: function(arg0, arg1) {
            // Cast intrinsic for `Closure(Closure { owned: true, function: Function { arguments: [Externref], shim_idx: 2, ret: Unit, inner_ret: Some(Unit) }, mutable: true }) -> Externref`.
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___wasm_bindgen_d1d36bc1c0d5b9c3___JsValue______true_);
            return ret;
        },
        __wbindgen_generic_0000000000000002: function(arg0, arg1) {
            // Cast intrinsic for `Closure(Closure { owned: true, function: Function { arguments: [Externref], shim_idx: 57, ret: Result(Unit), inner_ret: Some(Result(Unit)) }, mutable: true }) -> Externref`.
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___wasm_bindgen_d1d36bc1c0d5b9c3___JsValue__core_c4124321cdeb024c___result__Result_____wasm_bindgen_d1d36bc1c0d5b9c3___JsError___true_);
            return ret;
        },
        __wbindgen_generic_0000000000000003: function(arg0, arg1) {
            // Cast intrinsic for `Closure(Closure { owned: true, function: Function { arguments: [Externref], shim_idx: 59, ret: Unit, inner_ret: Some(Unit) }, mutable: true }) -> Externref`.
            const ret = makeMutClosure(arg0, arg1, wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___js_sys_e98a0ab04fa4a916___futures__task__wait_async_polyfill__MessageEvent______true_);
            return ret;
        },
        __wbindgen_generic_0000000000000004: function(arg0) {
            // Cast intrinsic for `F64 -> Externref`.
            const ret = arg0;
            return ret;
        },
        __wbindgen_generic_0000000000000005: function(arg0, arg1) {
            // Cast intrinsic for `Ref(String) -> Externref`.
            const ret = getStringFromWasm0(arg0, arg1);
            return ret;
        },
        __wbindgen_init_externref_table: function() {
            const table = wasm.__wbindgen_externrefs;
            table.set(0, undefined);
            table.set(1024, undefined);
            table.set(1025, null);
            table.set(1026, true);
            table.set(1027, false);
        },
        __wbindgen_link_bdfdbb5f216b9442: function(arg0) {
            const val = `onmessage = function (ev) {
                let [ia, index, value] = ev.data;
                ia = new Int32Array(ia.buffer);
                let result = Atomics.wait(ia, index, value);
                postMessage(result);
            };
            `;
            const ret = typeof URL.createObjectURL === 'undefined' ? "data:application/javascript," + encodeURIComponent(val) : URL.createObjectURL(new Blob([val], { type: "text/javascript" }));
            const ptr1 = passStringToWasm0(ret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len1 = WASM_VECTOR_LEN;
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 1, len1, true);
            getDataViewMemory0().setInt32((arg0 >>> 0) + 4 * 0, ptr1, true);
        },
        memory: memory || new WebAssembly.Memory({initial:24,maximum:65536,shared:true}),
    };
    return {
        __proto__: null,
        "./wasm_chord_bg.js": import0,
    };
}

function wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___wasm_bindgen_d1d36bc1c0d5b9c3___JsValue______true_(arg0, arg1, arg2) {
    wasm.wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___wasm_bindgen_d1d36bc1c0d5b9c3___JsValue______true_(arg0, arg1, arg2);
}

function wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___js_sys_e98a0ab04fa4a916___futures__task__wait_async_polyfill__MessageEvent______true_(arg0, arg1, arg2) {
    wasm.wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___js_sys_e98a0ab04fa4a916___futures__task__wait_async_polyfill__MessageEvent______true_(arg0, arg1, arg2);
}

function wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___wasm_bindgen_d1d36bc1c0d5b9c3___JsValue__core_c4124321cdeb024c___result__Result_____wasm_bindgen_d1d36bc1c0d5b9c3___JsError___true_(arg0, arg1, arg2) {
    const ret = wasm.wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___wasm_bindgen_d1d36bc1c0d5b9c3___JsValue__core_c4124321cdeb024c___result__Result_____wasm_bindgen_d1d36bc1c0d5b9c3___JsError___true_(arg0, arg1, arg2);
    if (ret[1]) {
        throw takeFromExternrefTable0(ret[0]);
    }
}

function wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___js_sys_e98a0ab04fa4a916___Function_fn_wasm_bindgen_d1d36bc1c0d5b9c3___JsValue_____wasm_bindgen_d1d36bc1c0d5b9c3___sys__Undefined___js_sys_e98a0ab04fa4a916___Function_fn_wasm_bindgen_d1d36bc1c0d5b9c3___JsValue_____wasm_bindgen_d1d36bc1c0d5b9c3___sys__Undefined_______true_(arg0, arg1, arg2, arg3) {
    wasm.wasm_bindgen_d1d36bc1c0d5b9c3___convert__closures_____invoke___js_sys_e98a0ab04fa4a916___Function_fn_wasm_bindgen_d1d36bc1c0d5b9c3___JsValue_____wasm_bindgen_d1d36bc1c0d5b9c3___sys__Undefined___js_sys_e98a0ab04fa4a916___Function_fn_wasm_bindgen_d1d36bc1c0d5b9c3___JsValue_____wasm_bindgen_d1d36bc1c0d5b9c3___sys__Undefined_______true_(arg0, arg1, arg2, arg3);
}

const ThreadPoolStarterFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_threadpoolstarter_free(ptr, 1));
const WasmChunkFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_wasmchunk_free(ptr, 1));
const WasmGenerationFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_wasmgeneration_free(ptr, 1));
const WasmLoaderFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_wasmloader_free(ptr, 1));
const WasmModelFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_wasmmodel_free(ptr, 1));
const WasmVocabFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_wasmvocab_free(ptr, 1));

function addToExternrefTable0(obj) {
    const idx = wasm.__externref_table_alloc();
    wasm.__wbindgen_externrefs.set(idx, obj);
    return idx;
}

const CLOSURE_DTORS = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(state => wasm.__wbindgen_destroy_closure(state.a, state.b));

function getArrayU32FromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return getUint32ArrayMemory0().subarray(ptr / 4, ptr / 4 + len);
}

function getArrayU8FromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);
}

let cachedDataViewMemory0 = null;
function getDataViewMemory0() {
    if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer !== wasm.memory.buffer) {
        cachedDataViewMemory0 = new DataView(wasm.memory.buffer);
    }
    return cachedDataViewMemory0;
}

function getStringFromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return decodeText(getUint8ArrayMemory0().subarray(ptr, ptr + len));
}

let cachedUint32ArrayMemory0 = null;
function getUint32ArrayMemory0() {
    if (cachedUint32ArrayMemory0 === null || cachedUint32ArrayMemory0.buffer !== wasm.memory.buffer) {
        cachedUint32ArrayMemory0 = new Uint32Array(wasm.memory.buffer);
    }
    return cachedUint32ArrayMemory0;
}

let cachedUint8ArrayMemory0 = null;
function getUint8ArrayMemory0() {
    if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.buffer !== wasm.memory.buffer) {
        cachedUint8ArrayMemory0 = new Uint8Array(wasm.memory.buffer);
    }
    return cachedUint8ArrayMemory0;
}

function handleError(f, args) {
    try {
        return f.apply(this, args);
    } catch (e) {
        const idx = addToExternrefTable0(e);
        wasm.__wbindgen_exn_store(idx);
    }
}

function isLikeNone(x) {
    return x === undefined || x === null;
}

function makeMutClosure(arg0, arg1, f) {
    const state = { a: arg0, b: arg1, cnt: 1 };
    const real = (...args) => {

        // First up with a closure we increment the internal reference
        // count. This ensures that the Rust closure environment won't
        // be deallocated while we're invoking it.
        state.cnt++;
        const a = state.a;
        state.a = 0;
        try {
            return f(a, state.b, ...args);
        } finally {
            state.a = a;
            real._wbg_cb_unref();
        }
    };
    real._wbg_cb_unref = () => {
        if (--state.cnt === 0) {
            wasm.__wbindgen_destroy_closure(state.a, state.b);
            state.a = 0;
            CLOSURE_DTORS.unregister(state);
        }
    };
    CLOSURE_DTORS.register(real, state, state);
    return real;
}

function passArray32ToWasm0(arg, malloc) {
    const ptr = malloc(arg.length * 4, 4) >>> 0;
    getUint32ArrayMemory0().set(arg, ptr / 4);
    WASM_VECTOR_LEN = arg.length;
    return ptr;
}

function passArray8ToWasm0(arg, malloc) {
    const ptr = malloc(arg.length * 1, 1) >>> 0;
    getUint8ArrayMemory0().set(arg, ptr / 1);
    WASM_VECTOR_LEN = arg.length;
    return ptr;
}

function passStringToWasm0(arg, malloc, realloc) {
    if (realloc === undefined) {
        const buf = cachedTextEncoder.encode(arg);
        const ptr = malloc(buf.length, 1) >>> 0;
        getUint8ArrayMemory0().subarray(ptr, ptr + buf.length).set(buf);
        WASM_VECTOR_LEN = buf.length;
        return ptr;
    }

    let len = arg.length;
    let ptr = malloc(len, 1) >>> 0;

    const mem = getUint8ArrayMemory0();

    let offset = 0;

    for (; offset < len; offset++) {
        const code = arg.charCodeAt(offset);
        if (code > 0x7F) break;
        mem[ptr + offset] = code;
    }
    if (offset !== len) {
        if (offset !== 0) {
            arg = arg.slice(offset);
        }
        ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
        const view = getUint8ArrayMemory0().subarray(ptr + offset, ptr + len);
        const ret = cachedTextEncoder.encodeInto(arg, view);

        offset += ret.written;
        ptr = realloc(ptr, len, offset, 1) >>> 0;
    }

    WASM_VECTOR_LEN = offset;
    return ptr;
}

function takeFromExternrefTable0(idx) {
    const value = wasm.__wbindgen_externrefs.get(idx);
    wasm.__externref_table_dealloc(idx);
    return value;
}

let cachedTextDecoder = (typeof TextDecoder !== 'undefined' ? new TextDecoder('utf-8', { ignoreBOM: true }) : undefined);
if (cachedTextDecoder) cachedTextDecoder.decode();

const MAX_SAFARI_DECODE_BYTES = 2146435072;
let numBytesDecoded = 0;
function decodeText(bytes) {
    numBytesDecoded += bytes.length;
    if (numBytesDecoded >= MAX_SAFARI_DECODE_BYTES) {
        cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
        cachedTextDecoder.decode();
        numBytesDecoded = bytes.length;
    }
    return cachedTextDecoder.decode(bytes.slice());
}

const cachedTextEncoder = (typeof TextEncoder !== 'undefined' ? new TextEncoder() : undefined);

if (cachedTextEncoder) {
    cachedTextEncoder.encodeInto = function (arg, view) {
        const buf = cachedTextEncoder.encode(arg);
        view.set(buf);
        return {
            read: arg.length,
            written: buf.length
        };
    };
}

let WASM_VECTOR_LEN = 0;

let wasmModule, wasmInstance, wasm;
function __wbg_finalize_init(instance, module, thread_stack_size) {
    wasmInstance = instance;
    wasm = instance.exports;
    wasmModule = module;
    cachedDataViewMemory0 = null;
    cachedUint32ArrayMemory0 = null;
    cachedUint8ArrayMemory0 = null;
    if (typeof thread_stack_size !== 'undefined' && (typeof thread_stack_size !== 'number' || thread_stack_size === 0 || thread_stack_size % 65536 !== 0)) {
        throw new Error('invalid stack size');
    }

    wasm.__wbindgen_start(thread_stack_size);
    return wasm;
}

async function __wbg_load(module, imports) {
    if (typeof Response === 'function' && module instanceof Response) {
        if (!module.ok) {
            throw new Error(`failed to fetch Wasm: ${module.status} ${module.statusText} fetching '${module.url}'`);
        }

        if (typeof WebAssembly.instantiateStreaming === 'function') {
            try {
                return await WebAssembly.instantiateStreaming(module, imports);
            } catch (e) {
                const validResponse = expectedResponseType(module.type);

                if (validResponse && module.headers.get('Content-Type') !== 'application/wasm') {
                    console.warn("`WebAssembly.instantiateStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.instantiate` which is slower. Original error:\n", e);

                } else { throw e; }
            }
        }

        const bytes = await module.arrayBuffer();
        return await WebAssembly.instantiate(bytes, imports);
    } else {
        const instance = await WebAssembly.instantiate(module, imports);

        if (instance instanceof WebAssembly.Instance) {
            return { instance, module };
        } else {
            return instance;
        }
    }

    function expectedResponseType(type) {
        switch (type) {
            case 'basic': case 'cors': case 'default': return true;
        }
        return false;
    }
}

function initSync(module, memory) {
    if (wasm !== undefined) return wasm;

    let thread_stack_size
    if (module !== undefined) {
        if (Object.getPrototypeOf(module) === Object.prototype) {
            ({module, memory, thread_stack_size} = module)
        } else {
            console.warn('using deprecated parameters for `initSync()`; pass a single object instead')
        }
    }

    const imports = __wbg_get_imports(memory);
    if (!(module instanceof WebAssembly.Module)) {
        module = new WebAssembly.Module(module);
    }
    const instance = new WebAssembly.Instance(module, imports);
    return __wbg_finalize_init(instance, module, thread_stack_size);
}

let __wbg_init_promise;
async function __wbg_init(module_or_path, memory) {
    if (wasm !== undefined) return wasm;
    if (__wbg_init_promise === undefined) {
        __wbg_init_promise = __wbg_init_once(module_or_path, memory);
        __wbg_init_promise.catch(() => { __wbg_init_promise = undefined; });
    }
    return __wbg_init_promise;
}

async function __wbg_init_once(module_or_path, memory) {
    let thread_stack_size
    if (module_or_path !== undefined) {
        if (Object.getPrototypeOf(module_or_path) === Object.prototype) {
            ({module_or_path, memory, thread_stack_size} = module_or_path)
        } else {
            console.warn('using deprecated parameters for the initialization function; pass a single object instead')
        }
    }

    if (module_or_path === undefined) {
        module_or_path = new URL('wasm_chord_bg.wasm', import.meta.url);
    }
    const imports = __wbg_get_imports(memory);

    if (typeof module_or_path === 'string' || (typeof Request === 'function' && module_or_path instanceof Request) || (typeof URL === 'function' && module_or_path instanceof URL)) {
        module_or_path = fetch(module_or_path);
    }

    const { instance, module } = await __wbg_load(await module_or_path, imports);

    return __wbg_finalize_init(instance, module, thread_stack_size);
}

export { initSync, __wbg_init as default };
