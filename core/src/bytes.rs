//! Where model bytes come from. Parsing and inference only ever see `&[u8]`; the owner
//! decides how they got there (an mmap in Node, an ArrayBuffer copy in wasm, a Vec in tests).

/// Bytes of a whole GGUF file, kept alive as long as a model uses them.
pub trait ModelBytes: Send + Sync {
    fn as_bytes(&self) -> &[u8];
}

impl ModelBytes for Vec<u8> {
    fn as_bytes(&self) -> &[u8] {
        self
    }
}

impl ModelBytes for &'static [u8] {
    fn as_bytes(&self) -> &[u8] {
        self
    }
}
