//! Weights on the GPU: each matrix's bytes copied once, in the file's own block layout, from
//! the file bytes (an mmap natively) straight into mapped GPU buffers, no host copy between.
//! A matrix bigger than the adapter's binding limit is split into parts of whole rows.

use super::device::GpuDevice;
use super::shaders;
use crate::backend::cpu::QMatrix;
use crate::error::{Error, GpuErrorKind, Result};

/// Whole rows `row0 .. row0 + rows` of a matrix, from row `w_row0` of `buf` on (0 but in a
/// stack of matrices, see [`upload_stacked`]).
pub struct Part {
    pub buf: wgpu::Buffer,
    pub row0: usize,
    pub rows: usize,
    pub w_row0: usize,
}

pub struct GpuMatrix {
    pub ty: crate::quant::GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub parts: Vec<Part>,
}

/// `bytes` in a new storage buffer, padded to whole words plus one (the shaders read a word
/// at any byte offset, so the last block's may reach 3 bytes past its end).
pub fn upload_bytes(dev: &GpuDevice, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer> {
    upload_as(dev, label, bytes, wgpu::BufferUsages::STORAGE)
}

/// [`upload_bytes`] into a buffer of `usage`.
pub fn upload_as(
    dev: &GpuDevice,
    label: &str,
    bytes: &[u8],
    usage: wgpu::BufferUsages,
) -> Result<wgpu::Buffer> {
    upload_pieces(dev, label, &[bytes], usage)
}

/// `pieces` one after another in a new buffer, padded as [`upload_bytes`] pads.
fn upload_pieces(
    dev: &GpuDevice,
    label: &str,
    pieces: &[&[u8]],
    usage: wgpu::BufferUsages,
) -> Result<wgpu::Buffer> {
    let len: usize = pieces.iter().map(|p| p.len()).sum();
    let size = (len as u64).next_multiple_of(4) + 4;
    let buf = dev.checked(label, || {
        dev.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: true,
        })
    })?;
    {
        let mut view = buf
            .slice(..)
            .get_mapped_range_mut()
            .map_err(|e| Error::gpu(GpuErrorKind::OutOfMemory, format!("{label}: {e}")))?;
        // The padding stays zero: wgpu zeroes buffers mapped at creation.
        let mut at = 0;
        for p in pieces {
            view.slice(at..at + p.len()).copy_from_slice(p);
            at += p.len();
        }
    }
    buf.unmap();
    Ok(buf)
}

/// f32 values (norm weights) in a storage buffer.
pub fn upload_f32(dev: &GpuDevice, label: &str, v: &[f32]) -> Result<wgpu::Buffer> {
    upload_bytes(dev, label, bytemuck::cast_slice(v))
}

/// Why the GPU kernels cannot take `m`, if they cannot.
fn no_kernel(m: &QMatrix) -> Option<String> {
    if !shaders::gpu_types().any(|t| t == m.ty) {
        return Some(format!("no GPU kernel for type {}", m.ty));
    }
    if !m.cols.is_multiple_of(shaders::block_values(m.ty)) {
        return Some(format!("{} columns", m.cols));
    }
    None
}

/// Matrix `m` (named `label`) of `file` on the GPU, in parts that fit the binding limit.
pub fn upload_matrix(dev: &GpuDevice, label: &str, file: &[u8], m: &QMatrix) -> Result<GpuMatrix> {
    if let Some(why) = no_kernel(m) {
        return Err(Error::gpu(
            GpuErrorKind::Unsupported,
            format!("{label}: {why}"),
        ));
    }
    let limit = dev.max_binding().saturating_sub(8) as usize;
    let per_part = (limit / m.row_bytes.max(1)).min(m.rows.max(1));
    if per_part == 0 {
        return Err(Error::gpu(
            GpuErrorKind::Limit,
            format!("{label}: one row is over the binding limit"),
        ));
    }
    let mut parts = Vec::new();
    for row0 in (0..m.rows).step_by(per_part) {
        let rows = per_part.min(m.rows - row0);
        let start = m.offset + row0 * m.row_bytes;
        let bytes = &file[start..start + rows * m.row_bytes];
        parts.push(Part {
            buf: upload_bytes(dev, label, bytes)?,
            row0,
            rows,
            w_row0: 0,
        });
    }
    Ok(GpuMatrix {
        ty: m.ty,
        rows: m.rows,
        cols: m.cols,
        parts,
    })
}

/// Matrices `ms` (Q, K and V; gate and up) stacked row by row in one buffer, so that one
/// dispatch can read them all, each returned as a view of its rows; `None` (nothing uploaded)
/// when they differ in type or width, or together pass the binding limit.
pub fn upload_stacked(
    dev: &GpuDevice,
    label: &str,
    file: &[u8],
    ms: &[&QMatrix],
) -> Result<Option<Vec<GpuMatrix>>> {
    let first = ms[0];
    let same = ms.iter().all(|m| m.ty == first.ty && m.cols == first.cols);
    let bytes: usize = ms.iter().map(|m| m.rows * m.row_bytes).sum();
    let fits = bytes as u64 + 8 <= dev.max_binding();
    if !same || !fits || no_kernel(first).is_some() {
        return Ok(None);
    }
    let pieces: Vec<&[u8]> = ms
        .iter()
        .map(|m| &file[m.offset..m.offset + m.rows * m.row_bytes])
        .collect();
    let buf = upload_pieces(dev, label, &pieces, wgpu::BufferUsages::STORAGE)?;
    let mut w_row0 = 0;
    let mut views = Vec::with_capacity(ms.len());
    for m in ms {
        views.push(GpuMatrix {
            ty: m.ty,
            rows: m.rows,
            cols: m.cols,
            parts: vec![Part {
                buf: buf.clone(),
                row0: 0,
                rows: m.rows,
                w_row0,
            }],
        });
        w_row0 += m.rows;
    }
    Ok(Some(views))
}
