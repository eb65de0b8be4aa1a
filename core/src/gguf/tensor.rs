//! Tensor infos: name, shape, type and where the bytes are. Data is never copied: a model
//! slices it out of the caller's bytes (an mmap or an ArrayBuffer).

use super::reader::Reader;
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// ggml's GGML_MAX_DIMS.
pub const MAX_DIMS: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// ggml order: `dims[0]` is the contiguous (row) length.
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// Byte offset inside the data section.
    pub offset: u64,
    /// Byte length, from shape and type.
    pub size: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Rows of `dims[0]` elements.
    pub fn n_rows(&self) -> u64 {
        self.dims.iter().skip(1).product()
    }

    pub(crate) fn read(r: &mut Reader<'_>, version: u32) -> Result<TensorInfo> {
        let name = r.string(version)?;
        let at = r.pos() as u64;
        let n_dims = r.u32()? as usize;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(Error::Corrupt {
                offset: at,
                what: "tensor dimension count must be 1..=4",
            });
        }
        let mut dims = Vec::with_capacity(n_dims);
        for _ in 0..n_dims {
            dims.push(r.len(version)?);
        }
        let id = r.u32()?;
        let ty = GgmlType::from_id(id).ok_or_else(|| Error::UnsupportedTensorType {
            tensor: name.clone(),
            id,
        })?;
        let offset = r.u64()?;
        let size = tensor_size(&name, &dims, ty)?;
        Ok(TensorInfo {
            name,
            dims,
            ty,
            offset,
            size,
        })
    }
}

/// Bytes of a tensor of this shape and type; shape errors and overflow are typed errors.
pub fn tensor_size(name: &str, dims: &[u64], ty: GgmlType) -> Result<u64> {
    let overflow = || Error::Corrupt {
        offset: 0,
        what: "tensor size overflows",
    };
    let row = ty.checked_row_bytes(name, dims.first().copied().unwrap_or(0))?;
    let mut size = row;
    for &d in dims.iter().skip(1) {
        size = size.checked_mul(d).ok_or_else(overflow)?;
    }
    Ok(size)
}
