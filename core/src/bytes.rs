//! Where model bytes come from. Parsing and inference only ever see `&[u8]`; the owner
//! decides how they got there (an mmap in Node, an ArrayBuffer copy in wasm, a Vec in tests).

use crate::error::{Error, Result};

/// Bytes of a whole GGUF file, kept alive as long as a model uses them.
pub trait ModelBytes: Send + Sync {
    fn as_bytes(&self) -> &[u8];

    /// The same bytes, writable by this process alone (its own buffer, or a copy-on-write
    /// map), or `None`. The CPU backend repacks some weights in place through it at load.
    fn as_bytes_mut(&mut self) -> Option<&mut [u8]> {
        None
    }
}

impl ModelBytes for Vec<u8> {
    fn as_bytes(&self) -> &[u8] {
        self
    }

    fn as_bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(self)
    }
}

impl ModelBytes for &'static [u8] {
    fn as_bytes(&self) -> &[u8] {
        self
    }
}

/// A model's bytes filled chunk by chunk (a network stream, a cache read, a `File`) into one
/// buffer reserved up front: the copy into wasm memory is the only copy, and a file that
/// cannot fit is an error before any chunk arrives, never an allocation abort.
pub struct ModelBuffer {
    bytes: Vec<u8>,
    size: usize,
}

impl ModelBuffer {
    /// Reserves `size` bytes, or fails with `ModelTooLarge` when this build's address space
    /// (4 GiB on wasm32, less what the runtime needs) or the allocator cannot give them.
    pub fn new(size: u64) -> Result<ModelBuffer> {
        let limit = max_model_bytes();
        let too_large = || Error::ModelTooLarge { size, limit };
        if size > limit {
            return Err(too_large());
        }
        let size = usize::try_from(size).map_err(|_| too_large())?;
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(size).map_err(|_| too_large())?;
        Ok(ModelBuffer { bytes, size })
    }

    /// Appends the next chunk; more bytes than announced is an error.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if chunk.len() > self.size - self.bytes.len() {
            return Err(Error::InvalidArgument {
                name: "chunk",
                why: format!(
                    "{} bytes past the announced size of {}",
                    self.bytes.len() + chunk.len() - self.size,
                    self.size
                ),
            });
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The whole file; fewer bytes than announced is `Truncated`.
    pub fn finish(self) -> Result<Vec<u8>> {
        if self.bytes.len() != self.size {
            return Err(Error::Truncated {
                offset: self.bytes.len() as u64,
                needed: (self.size - self.bytes.len()) as u64,
                len: self.bytes.len() as u64,
            });
        }
        Ok(self.bytes)
    }
}

/// Largest model this build accepts in memory. On wasm32 the whole address space is 4 GiB;
/// 256 MiB of it stay free for the KV cache, scratch buffers and the runtime.
pub fn max_model_bytes() -> u64 {
    if cfg!(target_pointer_width = "32") {
        (4u64 << 30) - (256 << 20)
    } else {
        isize::MAX as u64
    }
}
