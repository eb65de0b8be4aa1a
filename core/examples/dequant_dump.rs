//! Debug: dequantizes one tensor of a GGUF file to raw f32 (little endian) on stdout.
use std::io::Write;
use wasm_chord_core::gguf::GgufFile;
use wasm_chord_core::quant;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&a[1]).unwrap();
    let g = GgufFile::parse(&bytes).unwrap();
    let t = g.tensor(&a[2]).unwrap();
    let data = g.tensor_data(&bytes, t).unwrap();
    let k = quant::scalar_kernels(t.ty).unwrap();
    let mut out = vec![0f32; t.n_elements() as usize];
    let row_bytes = t.ty.row_bytes(t.dims[0]).unwrap() as usize;
    for (r, o) in out.chunks_mut(t.dims[0] as usize).enumerate() {
        (k.dequantize_row)(&data[r * row_bytes..(r + 1) * row_bytes], o);
    }
    let raw: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::io::stdout().write_all(&raw).unwrap();
}
