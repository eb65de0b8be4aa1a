// Embedding lookup: out[t, i] = W[ids[t], i] for the ids inside this part of the matrix
// (rows row0 .. row0 + rows). The type file before this one defines `value(block_byte_offset,
// index_in_block)`.

struct GetRowsParams {
    rows: u32,
    row0: u32,
    cols: u32,
    n_tok: u32,
}

@group(0) @binding(0) var<uniform> p: GetRowsParams;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> ids: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let t = gid.y;
    if i >= p.cols || t >= p.n_tok {
        return;
    }
    let id = ids[t];
    if id < p.row0 || id >= p.row0 + p.rows {
        return;
    }
    let nb = p.cols / BLOCK_VALUES;
    let b = i / BLOCK_VALUES;
    out[t * p.cols + i] = value(((id - p.row0) * nb + b) * BLOCK_BYTES, i % BLOCK_VALUES);
}
