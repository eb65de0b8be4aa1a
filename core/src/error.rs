//! One error type for the whole core. Every failure a user can cause (a bad file, a bad
//! argument, a too-long prompt) is a variant here with data, never a panic. `code()` is the
//! single source of the `ERR_*` strings the JS bindings expose.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("not a GGUF file: magic bytes are {found:02x?}, expected \"GGUF\"")]
    BadMagic { found: [u8; 4] },

    #[error("unsupported GGUF version {0} (supported: 2, 3)")]
    UnsupportedVersion(u32),

    #[error("GGUF file is truncated: reading {needed} bytes at offset {offset}, but the file is {len} bytes")]
    Truncated { offset: u64, needed: u64, len: u64 },

    #[error("GGUF field at offset {offset} is invalid: {what}")]
    Corrupt { offset: u64, what: &'static str },

    #[error("GGUF value type {id} at offset {offset} is unknown")]
    UnknownValueType { offset: u64, id: u32 },

    #[error("tensor '{tensor}' has unknown or unsupported type id {id}")]
    UnsupportedTensorType { tensor: String, id: u32 },

    #[error(
        "tensor '{tensor}' data [{start}, {end}) lies outside the data section of {len} bytes"
    )]
    TensorOutOfBounds {
        tensor: String,
        start: u64,
        end: u64,
        len: u64,
    },

    #[error("tensor '{tensor}' has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        tensor: String,
        expected: Vec<u64>,
        found: Vec<u64>,
    },

    #[error("tensor '{0}' is missing from the model file")]
    MissingTensor(String),

    #[error("unsupported model architecture '{0}'")]
    UnsupportedArch(String),

    #[error("metadata key '{0}' is missing")]
    MissingKey(String),

    #[error("metadata key '{key}' has the wrong type: expected {expected}")]
    WrongKeyType { key: String, expected: &'static str },

    #[error("unsupported tokenizer model '{0}'")]
    UnsupportedTokenizer(String),

    #[error("tokenizer data is invalid: {0}")]
    BadTokenizer(&'static str),

    #[error("token id {id} is outside the vocabulary of {n_vocab}")]
    InvalidToken { id: u32, n_vocab: usize },

    #[error("prompt and generation need {tokens} tokens, but the context holds {n_ctx}")]
    ContextOverflow { tokens: usize, n_ctx: usize },

    #[error("not enough memory: {needed} bytes needed, {available} available")]
    OutOfMemory { needed: u64, available: u64 },

    #[error("invalid argument '{name}': {why}")]
    InvalidArgument { name: &'static str, why: String },

    #[error("chat template error: {0}")]
    Template(String),

    #[error("generation was cancelled")]
    Cancelled,

    #[error(
        "the model is {size} bytes, more than the {limit} bytes this build can hold in memory"
    )]
    ModelTooLarge { size: u64, limit: u64 },

    #[error("internal error (a bug in wasm-chord): {0}")]
    Internal(String),

    #[error("GPU: {message}")]
    Gpu { kind: GpuErrorKind, message: String },
}

/// What went wrong on the GPU (each its own `ERR_GPU_*` code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuErrorKind {
    /// No adapter (or only a software one that was not asked for), or no device from it.
    Unavailable,
    /// A buffer could not be allocated.
    OutOfMemory,
    /// The adapter's limits are too small for this model (a binding, a dispatch).
    Limit,
    /// The model uses a tensor type or shape the GPU kernels do not cover.
    Unsupported,
    /// The device was lost, or a command failed validation.
    Lost,
}

/// Stable machine-readable error codes, shared with the JS API (`err.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    GgufBadMagic,
    GgufUnsupportedVersion,
    GgufTruncated,
    GgufCorrupt,
    UnsupportedTensorType,
    TensorOutOfBounds,
    ShapeMismatch,
    MissingTensor,
    UnsupportedArch,
    MissingKey,
    WrongKeyType,
    UnsupportedTokenizer,
    BadTokenizer,
    InvalidToken,
    ContextOverflow,
    OutOfMemory,
    InvalidArgument,
    Template,
    Aborted,
    ModelTooLarge,
    Internal,
    GpuUnavailable,
    GpuOutOfMemory,
    GpuLimit,
    GpuUnsupported,
    GpuLost,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::GgufBadMagic => "ERR_GGUF_BAD_MAGIC",
            ErrorCode::GgufUnsupportedVersion => "ERR_GGUF_UNSUPPORTED_VERSION",
            ErrorCode::GgufTruncated => "ERR_GGUF_TRUNCATED",
            ErrorCode::GgufCorrupt => "ERR_GGUF_CORRUPT",
            ErrorCode::UnsupportedTensorType => "ERR_UNSUPPORTED_TENSOR_TYPE",
            ErrorCode::TensorOutOfBounds => "ERR_TENSOR_OUT_OF_BOUNDS",
            ErrorCode::ShapeMismatch => "ERR_SHAPE_MISMATCH",
            ErrorCode::MissingTensor => "ERR_MISSING_TENSOR",
            ErrorCode::UnsupportedArch => "ERR_UNSUPPORTED_ARCH",
            ErrorCode::MissingKey => "ERR_MISSING_KEY",
            ErrorCode::WrongKeyType => "ERR_WRONG_KEY_TYPE",
            ErrorCode::UnsupportedTokenizer => "ERR_UNSUPPORTED_TOKENIZER",
            ErrorCode::BadTokenizer => "ERR_BAD_TOKENIZER",
            ErrorCode::InvalidToken => "ERR_INVALID_TOKEN",
            ErrorCode::ContextOverflow => "ERR_CONTEXT_OVERFLOW",
            ErrorCode::OutOfMemory => "ERR_OUT_OF_MEMORY",
            ErrorCode::InvalidArgument => "ERR_INVALID_ARGUMENT",
            ErrorCode::Template => "ERR_TEMPLATE",
            ErrorCode::Aborted => "ABORT_ERR",
            ErrorCode::ModelTooLarge => "ERR_MODEL_TOO_LARGE",
            ErrorCode::Internal => "ERR_INTERNAL",
            ErrorCode::GpuUnavailable => "ERR_GPU_UNAVAILABLE",
            ErrorCode::GpuOutOfMemory => "ERR_GPU_OUT_OF_MEMORY",
            ErrorCode::GpuLimit => "ERR_GPU_LIMIT",
            ErrorCode::GpuUnsupported => "ERR_GPU_UNSUPPORTED",
            ErrorCode::GpuLost => "ERR_GPU_LOST",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::BadMagic { .. } => ErrorCode::GgufBadMagic,
            Error::UnsupportedVersion(_) => ErrorCode::GgufUnsupportedVersion,
            Error::Truncated { .. } => ErrorCode::GgufTruncated,
            Error::Corrupt { .. } | Error::UnknownValueType { .. } => ErrorCode::GgufCorrupt,
            Error::UnsupportedTensorType { .. } => ErrorCode::UnsupportedTensorType,
            Error::TensorOutOfBounds { .. } => ErrorCode::TensorOutOfBounds,
            Error::ShapeMismatch { .. } => ErrorCode::ShapeMismatch,
            Error::MissingTensor(_) => ErrorCode::MissingTensor,
            Error::UnsupportedArch(_) => ErrorCode::UnsupportedArch,
            Error::MissingKey(_) => ErrorCode::MissingKey,
            Error::WrongKeyType { .. } => ErrorCode::WrongKeyType,
            Error::UnsupportedTokenizer(_) => ErrorCode::UnsupportedTokenizer,
            Error::BadTokenizer(_) => ErrorCode::BadTokenizer,
            Error::InvalidToken { .. } => ErrorCode::InvalidToken,
            Error::ContextOverflow { .. } => ErrorCode::ContextOverflow,
            Error::OutOfMemory { .. } => ErrorCode::OutOfMemory,
            Error::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Error::Template(_) => ErrorCode::Template,
            Error::Cancelled => ErrorCode::Aborted,
            Error::ModelTooLarge { .. } => ErrorCode::ModelTooLarge,
            Error::Internal(_) => ErrorCode::Internal,
            Error::Gpu { kind, .. } => match kind {
                GpuErrorKind::Unavailable => ErrorCode::GpuUnavailable,
                GpuErrorKind::OutOfMemory => ErrorCode::GpuOutOfMemory,
                GpuErrorKind::Limit => ErrorCode::GpuLimit,
                GpuErrorKind::Unsupported => ErrorCode::GpuUnsupported,
                GpuErrorKind::Lost => ErrorCode::GpuLost,
            },
        }
    }
}

impl Error {
    /// A GPU error of `kind`.
    pub fn gpu(kind: GpuErrorKind, message: impl Into<String>) -> Error {
        Error::Gpu {
            kind,
            message: message.into(),
        }
    }
}
