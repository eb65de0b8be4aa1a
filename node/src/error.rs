//! Errors crossing into JS. Every failure becomes a JS `Error` whose `code` is a stable
//! `ERR_*` string: core errors take `Error::code()` (the single source of those strings),
//! and the few failures that only the addon can have get codes here. A cancelled generation
//! carries `ABORT_ERR`; the JS layer turns it into an `AbortError`.

use napi::bindgen_prelude::{Env, JsError};
use wasm_chord_core::Error as CoreError;

/// Codes of failures that happen outside the core.
pub const ERR_FILE_NOT_FOUND: &str = "ERR_FILE_NOT_FOUND";
pub const ERR_FILE_READ: &str = "ERR_FILE_READ";
pub const ERR_MODEL_DISPOSED: &str = "ERR_MODEL_DISPOSED";
pub const ERR_INTERNAL: &str = "ERR_INTERNAL";

#[derive(Debug)]
pub enum NodeError {
    Core(CoreError),
    /// Opening or mapping the model file failed.
    File {
        path: String,
        source: std::io::Error,
    },
    /// The model was disposed before this call.
    Disposed,
    /// A panic was caught before it could cross into JS (a bug: please report it).
    Internal(String),
}

impl From<CoreError> for NodeError {
    fn from(e: CoreError) -> Self {
        NodeError::Core(e)
    }
}

impl NodeError {
    pub fn code(&self) -> &'static str {
        match self {
            NodeError::Core(e) => e.code().as_str(),
            NodeError::File { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ERR_FILE_NOT_FOUND
            }
            NodeError::File { .. } => ERR_FILE_READ,
            NodeError::Disposed => ERR_MODEL_DISPOSED,
            NodeError::Internal(_) => ERR_INTERNAL,
        }
    }

    pub fn message(&self) -> String {
        match self {
            NodeError::Core(e) => e.to_string(),
            NodeError::File { path, source } => format!("{path}: {source}"),
            NodeError::Disposed => "the model was disposed".into(),
            NodeError::Internal(what) => format!("internal error (a bug in wasm-chord): {what}"),
        }
    }

    /// Builds the JS error object (code + message) for a promise rejection. `Task::resolve`
    /// must return `napi::Error<Status>`, whose own `code` is a napi status name; an error made
    /// from a JS value keeps that value, so we build the object ourselves.
    pub fn into_js(self, env: &Env) -> napi::Error {
        let err = napi::Error::new(self.code(), self.message());
        napi::Error::from(JsError::from(err).into_unknown(*env))
    }
}

/// Sync `#[napi]` methods return `napi::Result<T, &'static str>` (spelled out: the derive
/// macro only recognises `Result` by name); napi throws it with our code as `code`.
impl From<NodeError> for napi::Error<&'static str> {
    fn from(e: NodeError) -> Self {
        napi::Error::new(e.code(), e.message())
    }
}

/// Runs `f`, turning a panic into `NodeError::Internal` so no unwind crosses napi (the core's
/// entry points catch their own; this guards the addon's file handling around them).
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T, NodeError>) -> Result<T, NodeError> {
    let mut out = None;
    let caught = wasm_chord_core::engine::catch_panic(|| {
        out = Some(f());
        Ok(())
    });
    match (caught, out) {
        (Ok(()), Some(r)) => r,
        (Err(e), _) => Err(NodeError::Core(e)),
        (Ok(()), None) => Err(NodeError::Internal("no result".into())),
    }
}
