//! Errors crossing into JS: a JS `Error` whose `code` is the core's stable `ERR_*` string
//! (`Error::code()`, the single source of those strings). The worker posts `{code, message}`
//! and the page rebuilds a `WasmChordError`. A cancelled generation carries `ABORT_ERR`.

use wasm_bindgen::JsValue;
use wasm_chord_core::Error as CoreError;

pub const ERR_MODEL_DISPOSED: &str = "ERR_MODEL_DISPOSED";
pub const ERR_INVALID_ARGUMENT: &str = "ERR_INVALID_ARGUMENT";

/// A JS `Error` with `code` set.
pub fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

pub fn core_error(e: CoreError) -> JsValue {
    js_error(e.code().as_str(), &e.to_string())
}

pub fn disposed() -> JsValue {
    js_error(ERR_MODEL_DISPOSED, "the model was disposed")
}

/// A JSON argument from the JS glue that does not parse (a bug in the glue, or a caller
/// bypassing it).
pub fn bad_json(name: &str, e: serde_json::Error) -> JsValue {
    js_error(
        ERR_INVALID_ARGUMENT,
        &format!("invalid argument '{name}': {e}"),
    )
}
