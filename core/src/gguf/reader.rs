//! Bounded little-endian cursor over the file bytes. Every read checks the bytes left first,
//! so a hostile length can never make us read past the end or allocate more than the file.

use crate::error::{Error, Result};

/// Most bytes a container reserves before its items have parsed. A count read from the file is
/// only a claim: reserving for all of it would let a lying count allocate several times the
/// file (a `String` takes 24 bytes of memory for 8 bytes of file, a map entry more). Beyond this
/// the container grows with the items actually read, so memory follows the bytes consumed.
const MAX_RESERVE_BYTES: usize = 64 << 10;

/// Capacity to reserve for `n` items of `T` that the file claims to hold.
pub(crate) fn reserve<T>(n: usize) -> usize {
    n.min(MAX_RESERVE_BYTES / std::mem::size_of::<T>().max(1))
}

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::Truncated {
                offset: self.pos as u64,
                needed: n as u64,
                len: self.bytes.len() as u64,
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A count or length: u32 in GGUF v1, u64 from v2 on.
    pub fn len(&mut self, version: u32) -> Result<u64> {
        if version == 1 {
            Ok(self.u32()? as u64)
        } else {
            self.u64()
        }
    }

    /// A count of items each at least `min_item_bytes` long: rejected before any allocation
    /// when the items could not fit in the bytes left.
    pub fn count(&mut self, version: u32, min_item_bytes: usize) -> Result<usize> {
        let at = self.pos as u64;
        let n = self.len(version)?;
        let need = n.saturating_mul(min_item_bytes.max(1) as u64);
        if need > self.remaining() as u64 {
            return Err(Error::Truncated {
                offset: at,
                needed: need,
                len: self.bytes.len() as u64,
            });
        }
        Ok(n as usize)
    }

    pub fn string(&mut self, version: u32) -> Result<String> {
        let at = self.pos as u64;
        let n = self.count(version, 1)?;
        let raw = self.take(n)?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_owned()),
            // GGUF says UTF-8; some converters wrote lone bytes into vocab strings. Keep the
            // file loadable like llama.cpp does (it never validates), lossily.
            Err(_) if n > 0 => Ok(String::from_utf8_lossy(raw).into_owned()),
            Err(_) => Err(Error::Corrupt {
                offset: at,
                what: "string",
            }),
        }
    }
}
