//! GGUF parsing (v2 and v3; v1 counts are read too). `GgufFile::parse` reads the header,
//! metadata and tensor infos from a `&[u8]`, checks every tensor lies inside the file, and
//! copies no tensor data. See <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>.

pub mod keys;
mod reader;
mod tensor;
mod value;
pub mod writer;

use std::collections::HashMap;

use crate::error::{Error, Result};
use reader::{reserve, Reader};
pub use tensor::{tensor_size, TensorInfo, MAX_DIMS};
pub use value::{type_id, Array, Value};
pub use writer::GgufWriter;

pub const MAGIC: [u8; 4] = *b"GGUF";
pub const DEFAULT_ALIGNMENT: u64 = 32;

#[derive(Debug, Clone)]
pub struct GgufFile {
    pub version: u32,
    pub alignment: u64,
    /// Absolute file offset of the tensor data section.
    pub data_offset: u64,
    pub tensors: Vec<TensorInfo>,
    metadata: Vec<(String, Value)>,
    key_index: HashMap<String, usize>,
    tensor_index: HashMap<String, usize>,
}

impl GgufFile {
    /// Parses header, metadata and tensor infos. Whole or nothing: any inconsistency is an
    /// `Err`, and nothing is allocated beyond what the file's bytes could hold.
    pub fn parse(bytes: &[u8]) -> Result<GgufFile> {
        Self::parse_header(bytes, bytes.len() as u64)
    }

    /// Parses from `header`, the first bytes of a file of `file_len` bytes: enough for the
    /// metadata and tensor infos ([`GgufFile::header_len`]); tensors are checked against
    /// `file_len`. Used where the text half of a model is wanted without its weights.
    pub fn parse_header(header: &[u8], file_len: u64) -> Result<GgufFile> {
        let bytes = header;
        let mut r = Reader::new(bytes);
        let magic = r.take(4).map_err(|_| Error::BadMagic {
            found: first4(bytes),
        })?;
        if magic != MAGIC {
            return Err(Error::BadMagic {
                found: first4(bytes),
            });
        }
        let version = r.u32()?;
        if !(1..=3).contains(&version) {
            return Err(Error::UnsupportedVersion(version));
        }
        // A tensor info takes at least 8 (name len) + 4 + 8 + 4 + 8 bytes; a KV at least 8 + 4 + 1.
        let n_tensors = r.count(version, 32)?;
        let n_kv = r.count(version, 13)?;

        let mut metadata = Vec::with_capacity(reserve::<(String, Value)>(n_kv));
        let mut key_index = HashMap::with_capacity(reserve::<(String, usize)>(n_kv));
        for _ in 0..n_kv {
            let at = r.pos() as u64;
            let key = r.string(version)?;
            let ty = r.u32()?;
            let value = Value::read(&mut r, version, ty, 0)?;
            if key_index.insert(key.clone(), metadata.len()).is_some() {
                return Err(Error::Corrupt {
                    offset: at,
                    what: "duplicate metadata key",
                });
            }
            metadata.push((key, value));
        }

        let alignment = match metadata.get(
            key_index
                .get(keys::GENERAL_ALIGNMENT)
                .copied()
                .unwrap_or(usize::MAX),
        ) {
            None => DEFAULT_ALIGNMENT,
            Some((_, v)) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() && a <= 1 << 20 => a,
                _ => {
                    return Err(Error::Corrupt {
                        offset: 0,
                        what: "general.alignment must be a power of two",
                    })
                }
            },
        };

        let mut tensors = Vec::with_capacity(reserve::<TensorInfo>(n_tensors));
        let mut tensor_index = HashMap::with_capacity(reserve::<(String, usize)>(n_tensors));
        for _ in 0..n_tensors {
            let at = r.pos() as u64;
            let info = TensorInfo::read(&mut r, version)?;
            if info.offset % alignment != 0 {
                return Err(Error::Corrupt {
                    offset: at,
                    what: "tensor offset is not aligned",
                });
            }
            if tensor_index
                .insert(info.name.clone(), tensors.len())
                .is_some()
            {
                return Err(Error::Corrupt {
                    offset: at,
                    what: "duplicate tensor name",
                });
            }
            tensors.push(info);
        }

        let data_offset = align_up(r.pos() as u64, alignment);
        let data_len = file_len.saturating_sub(data_offset);
        if !tensors.is_empty() && data_offset > file_len {
            return Err(Error::Truncated {
                offset: r.pos() as u64,
                needed: data_offset - r.pos() as u64,
                len: file_len,
            });
        }
        for t in &tensors {
            let end = t.offset.checked_add(t.size);
            match end {
                Some(end) if end <= data_len => {}
                _ => {
                    return Err(Error::TensorOutOfBounds {
                        tensor: t.name.clone(),
                        start: t.offset,
                        end: end.unwrap_or(u64::MAX),
                        len: data_len,
                    })
                }
            }
        }
        Ok(GgufFile {
            version,
            alignment,
            data_offset,
            tensors,
            metadata,
            key_index,
            tensor_index,
        })
    }

    /// Bytes before the tensor data: what [`GgufFile::parse_header`] needs.
    pub fn header_len(&self) -> u64 {
        self.data_offset
    }

    /// Metadata in file order.
    pub fn metadata(&self) -> &[(String, Value)] {
        &self.metadata
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.key_index
            .get(key)
            .and_then(|&i| self.metadata.get(i))
            .map(|(_, v)| v)
    }

    fn require(&self, key: &str) -> Result<&Value> {
        self.get(key)
            .ok_or_else(|| Error::MissingKey(key.to_string()))
    }

    fn wrong(key: &str, expected: &'static str) -> Error {
        Error::WrongKeyType {
            key: key.to_string(),
            expected,
        }
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        match self.require(key)? {
            Value::String(s) => Ok(s),
            _ => Err(Self::wrong(key, "string")),
        }
    }

    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.require(key)?
            .as_u64()
            .ok_or_else(|| Self::wrong(key, "unsigned integer"))
    }

    pub fn get_u32(&self, key: &str) -> Result<u32> {
        let v = self.get_u64(key)?;
        u32::try_from(v).map_err(|_| Self::wrong(key, "u32"))
    }

    pub fn get_f32(&self, key: &str) -> Result<f32> {
        self.require(key)?
            .as_f64()
            .map(|v| v as f32)
            .ok_or_else(|| Self::wrong(key, "float"))
    }

    pub fn get_bool(&self, key: &str) -> Result<bool> {
        match self.require(key)? {
            Value::Bool(b) => Ok(*b),
            _ => Err(Self::wrong(key, "bool")),
        }
    }

    pub fn get_array(&self, key: &str) -> Result<&Array> {
        match self.require(key)? {
            Value::Array(a) => Ok(a),
            _ => Err(Self::wrong(key, "array")),
        }
    }

    pub fn get_str_array(&self, key: &str) -> Result<&[String]> {
        match self.get_array(key)? {
            Array::String(v) => Ok(v),
            _ => Err(Self::wrong(key, "array of strings")),
        }
    }

    pub fn get_f32_array(&self, key: &str) -> Result<&[f32]> {
        match self.get_array(key)? {
            Array::F32(v) => Ok(v),
            _ => Err(Self::wrong(key, "array of f32")),
        }
    }

    pub fn get_i32_array(&self, key: &str) -> Result<&[i32]> {
        match self.get_array(key)? {
            Array::I32(v) => Ok(v),
            _ => Err(Self::wrong(key, "array of i32")),
        }
    }

    /// Turns a missing key into `Ok(None)`; a present key of the wrong type stays an error.
    pub fn opt<T>(r: Result<T>) -> Result<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(Error::MissingKey(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn architecture(&self) -> Result<&str> {
        self.get_str(keys::GENERAL_ARCHITECTURE)
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index
            .get(name)
            .and_then(|&i| self.tensors.get(i))
    }

    /// The bytes of tensor `t` inside `file` (the same bytes `parse` saw).
    pub fn tensor_data<'b>(&self, file: &'b [u8], t: &TensorInfo) -> Result<&'b [u8]> {
        let start = self.data_offset.checked_add(t.offset);
        let end = start.and_then(|s| s.checked_add(t.size));
        match (start, end) {
            (Some(s), Some(e)) if e <= file.len() as u64 => Ok(&file[s as usize..e as usize]),
            _ => Err(Error::TensorOutOfBounds {
                tensor: t.name.clone(),
                start: t.offset,
                end: t.offset.saturating_add(t.size),
                len: (file.len() as u64).saturating_sub(self.data_offset),
            }),
        }
    }
}

pub fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

fn first4(bytes: &[u8]) -> [u8; 4] {
    let mut m = [0u8; 4];
    for (d, s) in m.iter_mut().zip(bytes) {
        *d = *s;
    }
    m
}
