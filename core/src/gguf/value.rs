//! GGUF metadata values: the 13 value types, arrays possibly nested.

use super::reader::{reserve, Reader};
use crate::error::{Error, Result};

/// Nested arrays deeper than this are rejected: real files use at most 2.
const MAX_ARRAY_DEPTH: u32 = 8;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Array),
}

/// A typed array: one allocation per array, not one enum per element (vocabularies hold
/// 262k strings).
#[derive(Debug, Clone, PartialEq)]
pub enum Array {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
    String(Vec<String>),
    Array(Vec<Array>),
}

/// GGUF value type ids (gguf.md).
pub mod type_id {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

impl Value {
    pub fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => type_id::U8,
            Value::I8(_) => type_id::I8,
            Value::U16(_) => type_id::U16,
            Value::I16(_) => type_id::I16,
            Value::U32(_) => type_id::U32,
            Value::I32(_) => type_id::I32,
            Value::U64(_) => type_id::U64,
            Value::I64(_) => type_id::I64,
            Value::F32(_) => type_id::F32,
            Value::F64(_) => type_id::F64,
            Value::Bool(_) => type_id::BOOL,
            Value::String(_) => type_id::STRING,
            Value::Array(_) => type_id::ARRAY,
        }
    }

    /// Any integer value that fits in a u64 (negative → None).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v as u64),
            Value::U16(v) => Some(v as u64),
            Value::U32(v) => Some(v as u64),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub(crate) fn read(r: &mut Reader<'_>, version: u32, ty: u32, depth: u32) -> Result<Value> {
        Ok(match ty {
            type_id::U8 => Value::U8(r.u8()?),
            type_id::I8 => Value::I8(r.u8()? as i8),
            type_id::U16 => Value::U16(r.u16()?),
            type_id::I16 => Value::I16(r.u16()? as i16),
            type_id::U32 => Value::U32(r.u32()?),
            type_id::I32 => Value::I32(r.u32()? as i32),
            type_id::U64 => Value::U64(r.u64()?),
            type_id::I64 => Value::I64(r.u64()? as i64),
            type_id::F32 => Value::F32(r.f32()?),
            type_id::F64 => Value::F64(r.f64()?),
            type_id::BOOL => Value::Bool(read_bool(r)?),
            type_id::STRING => Value::String(r.string(version)?),
            type_id::ARRAY => Value::Array(Array::read(r, version, depth)?),
            id => {
                return Err(Error::UnknownValueType {
                    offset: r.pos() as u64 - 4,
                    id,
                })
            }
        })
    }
}

fn read_bool(r: &mut Reader<'_>) -> Result<bool> {
    let at = r.pos() as u64;
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Error::Corrupt {
            offset: at,
            what: "bool is neither 0 nor 1",
        }),
    }
}

/// Smallest encoded size of one element of type `ty`, used to reject impossible counts.
fn min_elem_bytes(ty: u32, version: u32) -> usize {
    let len_bytes = if version == 1 { 4 } else { 8 };
    match ty {
        type_id::U8 | type_id::I8 | type_id::BOOL => 1,
        type_id::U16 | type_id::I16 => 2,
        type_id::U32 | type_id::I32 | type_id::F32 => 4,
        type_id::U64 | type_id::I64 | type_id::F64 => 8,
        type_id::STRING => len_bytes,
        type_id::ARRAY => 4 + len_bytes,
        _ => 1,
    }
}

impl Array {
    pub fn len(&self) -> usize {
        match self {
            Array::U8(v) => v.len(),
            Array::I8(v) => v.len(),
            Array::U16(v) => v.len(),
            Array::I16(v) => v.len(),
            Array::U32(v) => v.len(),
            Array::I32(v) => v.len(),
            Array::U64(v) => v.len(),
            Array::I64(v) => v.len(),
            Array::F32(v) => v.len(),
            Array::F64(v) => v.len(),
            Array::Bool(v) => v.len(),
            Array::String(v) => v.len(),
            Array::Array(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn elem_type_id(&self) -> u32 {
        match self {
            Array::U8(_) => type_id::U8,
            Array::I8(_) => type_id::I8,
            Array::U16(_) => type_id::U16,
            Array::I16(_) => type_id::I16,
            Array::U32(_) => type_id::U32,
            Array::I32(_) => type_id::I32,
            Array::U64(_) => type_id::U64,
            Array::I64(_) => type_id::I64,
            Array::F32(_) => type_id::F32,
            Array::F64(_) => type_id::F64,
            Array::Bool(_) => type_id::BOOL,
            Array::String(_) => type_id::STRING,
            Array::Array(_) => type_id::ARRAY,
        }
    }

    fn read(r: &mut Reader<'_>, version: u32, depth: u32) -> Result<Array> {
        if depth >= MAX_ARRAY_DEPTH {
            return Err(Error::Corrupt {
                offset: r.pos() as u64,
                what: "arrays nested too deep",
            });
        }
        let ty_at = r.pos() as u64;
        let ty = r.u32()?;
        let n = r.count(version, min_elem_bytes(ty, version))?;
        fn many<T>(n: usize, mut f: impl FnMut() -> Result<T>) -> Result<Vec<T>> {
            let mut v = Vec::with_capacity(reserve::<T>(n));
            for _ in 0..n {
                // Items can take more memory than their bytes in the file (an empty string: 8
                // bytes there, 24 here), so growth is fallible: a hostile file gets an error,
                // not an allocation abort (which in wasm would trap).
                if v.len() == v.capacity() {
                    let more = v.len().max(16).min(n - v.len());
                    v.try_reserve(more).map_err(|_| Error::OutOfMemory {
                        needed: ((v.len() + more) * std::mem::size_of::<T>()) as u64,
                        available: 0,
                    })?;
                }
                v.push(f()?);
            }
            Ok(v)
        }
        Ok(match ty {
            type_id::U8 => Array::U8(r.take(n)?.to_vec()),
            type_id::I8 => Array::I8(r.take(n)?.iter().map(|&b| b as i8).collect()),
            type_id::U16 => Array::U16(many(n, || r.u16())?),
            type_id::I16 => Array::I16(many(n, || Ok(r.u16()? as i16))?),
            type_id::U32 => Array::U32(many(n, || r.u32())?),
            type_id::I32 => Array::I32(many(n, || Ok(r.u32()? as i32))?),
            type_id::U64 => Array::U64(many(n, || r.u64())?),
            type_id::I64 => Array::I64(many(n, || Ok(r.u64()? as i64))?),
            type_id::F32 => Array::F32(many(n, || r.f32())?),
            type_id::F64 => Array::F64(many(n, || r.f64())?),
            type_id::BOOL => Array::Bool(many(n, || read_bool(r))?),
            type_id::STRING => Array::String(many(n, || r.string(version))?),
            type_id::ARRAY => Array::Array(many(n, || Array::read(r, version, depth + 1))?),
            id => return Err(Error::UnknownValueType { offset: ty_at, id }),
        })
    }
}
