//! Integration tests: gguf. Hostile files are built in memory (with `GgufWriter` and by byte
//! surgery at offsets found by an independent layout walker written here), and every failure is
//! checked by error variant, never by message text. The real SmolLM2 file is checked against
//! facts read from it independently (see `gguf_parses_smollm2`), then mutated a few thousand
//! times to show the parser never panics and never allocates far beyond its input.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use wasm_chord_core::gguf::{type_id, Array, GgufFile, GgufWriter, Value};
use wasm_chord_core::quant::GgmlType;
use wasm_chord_core::Error;

use crate::util;

// ---------------------------------------------------------------------------------------------
// Allocation accounting: counts bytes only on a thread that asked for it, so the other tests of
// this binary (running on other threads) are not affected.

struct CountingAlloc;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let live = LIVE.get() + delta;
            LIVE.set(live);
            if live > PEAK.get() {
                PEAK.set(live);
            }
        }
    });
}

// SAFETY: every call forwards to `System` with the caller's arguments unchanged; the counters
// are plain thread-local cells (const-initialised, no destructor, never allocate).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract of GlobalAlloc::alloc.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract of GlobalAlloc::alloc_zeroed.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract of GlobalAlloc::dealloc.
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract of GlobalAlloc::realloc.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the peak of bytes allocated (and not yet freed) on this
/// thread while it ran. A panic inside `f` is caught and returned as `Err(message)`.
fn with_peak<T>(f: impl FnOnce() -> T) -> (std::thread::Result<T>, usize) {
    LIVE.set(0);
    PEAK.set(0);
    TRACKING.set(true);
    let out = catch_unwind(AssertUnwindSafe(f));
    TRACKING.set(false);
    (out, PEAK.get().max(0) as usize)
}

/// `GgufFile::parse` with its peak allocation; panics (failing the test) if parse panicked.
fn parse_peak(bytes: &[u8]) -> (Result<GgufFile, Error>, usize) {
    let (out, peak) = with_peak(|| GgufFile::parse(bytes));
    match out {
        Ok(r) => (r, peak),
        Err(_) => panic!("GgufFile::parse panicked on {} bytes", bytes.len()),
    }
}

// ---------------------------------------------------------------------------------------------
// An independent walker of the GGUF v2/v3 layout (gguf.md), used to find fields for byte
// surgery and to cross-check the parser. It trusts the file: only run it on valid files.

#[derive(Debug, Default)]
struct Fields {
    /// Per KV: (offset of key length, offset of value type, offset of value).
    kvs: Vec<(usize, usize, usize)>,
    tensors: Vec<TensorFields>,
    /// Every u64 length/count/dim/offset field.
    u64s: Vec<usize>,
    /// Every u32 type/n_dims field.
    u32s: Vec<usize>,
    /// End of the tensor infos (before alignment padding).
    end: usize,
}

#[derive(Debug, Default)]
struct TensorFields {
    name: String,
    name_len: usize,
    n_dims: usize,
    dims: Vec<usize>,
    ty: usize,
    offset: usize,
}

fn rd_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn rd_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

fn wr_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn wr_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn walk(b: &[u8]) -> Fields {
    assert_eq!(&b[..4], b"GGUF");
    // n_tensors at 8 and n_kv at 16.
    let mut f = Fields {
        u64s: vec![8, 16],
        ..Fields::default()
    };
    let mut p = 24;
    fn string(b: &[u8], p: &mut usize, f: &mut Fields) -> String {
        f.u64s.push(*p);
        let n = rd_u64(b, *p) as usize;
        let s = String::from_utf8_lossy(&b[*p + 8..*p + 8 + n]).into_owned();
        *p += 8 + n;
        s
    }
    fn value(b: &[u8], p: &mut usize, ty: u32, f: &mut Fields) {
        match ty {
            0 | 1 | 7 => *p += 1,
            2 | 3 => *p += 2,
            4..=6 => *p += 4,
            10..=12 => *p += 8,
            8 => {
                string(b, p, f);
            }
            9 => {
                f.u32s.push(*p);
                let et = rd_u32(b, *p);
                f.u64s.push(*p + 4);
                let n = rd_u64(b, *p + 4);
                *p += 12;
                for _ in 0..n {
                    value(b, p, et, f);
                }
            }
            _ => panic!("walker: unknown type {ty}"),
        }
    }
    for _ in 0..rd_u64(b, 16) {
        let key_at = p;
        string(b, &mut p, &mut f);
        let ty_at = p;
        f.u32s.push(p);
        let ty = rd_u32(b, p);
        p += 4;
        f.kvs.push((key_at, ty_at, p));
        value(b, &mut p, ty, &mut f);
    }
    for _ in 0..rd_u64(b, 8) {
        let mut t = TensorFields {
            name_len: p,
            ..Default::default()
        };
        t.name = string(b, &mut p, &mut f);
        t.n_dims = p;
        f.u32s.push(p);
        let nd = rd_u32(b, p) as usize;
        p += 4;
        for _ in 0..nd {
            t.dims.push(p);
            f.u64s.push(p);
            p += 8;
        }
        t.ty = p;
        f.u32s.push(p);
        t.offset = p + 4;
        f.u64s.push(p + 4);
        p += 12;
        f.tensors.push(t);
    }
    f.end = p;
    f
}

// ---------------------------------------------------------------------------------------------
// Small valid files.

/// Tensor data with a recognisable byte pattern.
fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}

/// A small valid file: three KVs and two tensors, an F32 [4, 2] (4 * 2 * 4 = 32 bytes) and a
/// Q4_0 [32] (one block of 18 bytes, ggml-common.h `block_q4_0`).
fn small_writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.add_str("general.architecture", "llama")
        .add_u32("llama.block_count", 2)
        .add_f32("llama.rope.freq_base", 10000.0)
        .add_tensor("a.weight", &[4, 2], GgmlType::F32, pattern(32, 1))
        .add_tensor("b.weight", &[32], GgmlType::Q4_0, pattern(18, 2));
    w
}

fn small_file() -> Vec<u8> {
    small_writer().to_bytes()
}

/// A file holding one tensor named "t" and no metadata.
fn one_tensor(dims: &[u64], ty: GgmlType, data_len: usize) -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.add_tensor("t", dims, ty, vec![0; data_len]);
    w.to_bytes()
}

fn err(bytes: &[u8]) -> Error {
    match parse_peak(bytes).0 {
        Ok(_) => panic!("parse accepted a hostile file"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// Header.

#[test]
fn gguf_small_file_parses_and_slices_tensor_data() {
    let bytes = small_file();
    let f = GgufFile::parse(&bytes).unwrap();
    let w = walk(&bytes);
    assert_eq!(f.version, 3);
    assert_eq!(f.alignment, 32);
    assert_eq!(f.data_offset, w.end.div_ceil(32) as u64 * 32);
    assert_eq!(f.metadata().len(), 3);
    assert_eq!(f.architecture().unwrap(), "llama");
    assert_eq!(f.get_u32("llama.block_count").unwrap(), 2);
    assert_eq!(f.get_f32("llama.rope.freq_base").unwrap(), 10000.0);
    assert_eq!(f.tensors.len(), 2);
    let a = f.tensor("a.weight").unwrap();
    assert_eq!(
        (a.dims.as_slice(), a.ty, a.offset, a.size),
        (&[4, 2][..], GgmlType::F32, 0, 32)
    );
    assert_eq!((a.n_elements(), a.n_rows()), (8, 2));
    let b = f.tensor("b.weight").unwrap();
    assert_eq!(
        (b.dims.as_slice(), b.ty, b.offset, b.size),
        (&[32][..], GgmlType::Q4_0, 32, 18)
    );
    assert_eq!(f.tensor_data(&bytes, a).unwrap(), pattern(32, 1).as_slice());
    assert_eq!(f.tensor_data(&bytes, b).unwrap(), pattern(18, 2).as_slice());
    assert!(f.tensor("c.weight").is_none());
    // tensor_data on a shorter buffer is an error, not a panic.
    assert!(matches!(
        f.tensor_data(&bytes[..bytes.len() - 1], b),
        Err(Error::TensorOutOfBounds { .. })
    ));
}

#[test]
fn gguf_rejects_bad_magic() {
    let mut bytes = small_file();
    bytes[3] = b'G';
    assert!(matches!(err(&bytes), Error::BadMagic { found } if &found == b"GGUG"));
    assert!(matches!(err(b"GGU"), Error::BadMagic { found } if found == *b"GGU\0"));
    assert!(matches!(err(b""), Error::BadMagic { .. }));
    // A little-endian-swapped magic (big-endian writer confusion) is still not GGUF.
    assert!(matches!(err(b"FUGG\x03\0\0\0"), Error::BadMagic { .. }));
}

#[test]
fn gguf_rejects_unsupported_version() {
    for v in [0u32, 4, 0x0300_0000, u32::MAX] {
        let mut bytes = small_file();
        wr_u32(&mut bytes, 4, v);
        assert!(
            matches!(err(&bytes), Error::UnsupportedVersion(found) if found == v),
            "version {v}"
        );
    }
}

#[test]
fn gguf_parses_v2_and_v3() {
    for v in [2u32, 3] {
        let bytes = small_writer().version(v).to_bytes();
        assert_eq!(rd_u32(&bytes, 4), v);
        let f = GgufFile::parse(&bytes).unwrap();
        assert_eq!(f.version, v);
        assert_eq!(f.tensors.len(), 2);
        assert_eq!(f.get_u32("llama.block_count").unwrap(), 2);
    }
}

/// GGUF v1 wrote counts and lengths as u32 (gguf.md history); built by hand since the writer
/// only writes v2/v3.
#[test]
fn gguf_parses_v1_u32_lengths() {
    let mut b = b"GGUF".to_vec();
    let u32le = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_le_bytes());
    u32le(&mut b, 1); // version
    u32le(&mut b, 1); // n_tensors
    u32le(&mut b, 1); // n_kv
    u32le(&mut b, 4);
    b.extend_from_slice(b"name");
    u32le(&mut b, type_id::STRING);
    u32le(&mut b, 2);
    b.extend_from_slice(b"v1");
    u32le(&mut b, 1);
    b.extend_from_slice(b"t");
    u32le(&mut b, 1); // n_dims
    u32le(&mut b, 8); // dims[0] (u32 in v1)
    u32le(&mut b, GgmlType::F32.id());
    b.extend_from_slice(&0u64.to_le_bytes()); // offset stays u64
    b.resize(b.len().div_ceil(32) * 32, 0);
    let data_at = b.len();
    b.extend_from_slice(&pattern(32, 9));
    let f = GgufFile::parse(&b).unwrap();
    assert_eq!(f.version, 1);
    assert_eq!(f.get_str("name").unwrap(), "v1");
    assert_eq!(f.data_offset, data_at as u64);
    let t = f.tensor("t").unwrap();
    assert_eq!((t.dims.as_slice(), t.size), (&[8][..], 32));
}

#[test]
fn gguf_truncated_at_every_offset_is_an_error() {
    let bytes = small_file();
    let header_end = walk(&bytes).end;
    for cut in 0..bytes.len() {
        let e = err(&bytes[..cut]);
        let ok = if cut < 4 {
            matches!(e, Error::BadMagic { .. })
        } else if cut < header_end {
            matches!(e, Error::Truncated { len, .. } if len == cut as u64)
        } else {
            matches!(e, Error::Truncated { .. } | Error::TensorOutOfBounds { .. })
        };
        assert!(ok, "cut at {cut}: {e:?}");
    }
    assert!(GgufFile::parse(&bytes).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Hostile lengths and counts: rejected before allocating.

/// Asserts `bytes` is rejected as `Truncated` having allocated almost nothing.
fn assert_truncated_cheaply(bytes: &[u8], what: &str) {
    let t = std::time::Instant::now();
    let (r, peak) = parse_peak(bytes);
    assert!(
        matches!(r, Err(Error::Truncated { .. })),
        "{what}: {:?}",
        r.err()
    );
    assert!(peak < 64 << 10, "{what}: allocated {peak} bytes");
    assert!(
        t.elapsed().as_millis() < 500,
        "{what}: took {:?}",
        t.elapsed()
    );
}

#[test]
fn gguf_rejects_huge_string_length() {
    let bytes = small_file();
    let w = walk(&bytes);
    let remaining = |at: usize| (bytes.len() - at - 8) as u64;
    // Key length, string value length, tensor name length.
    let (key_at, _, val_at) = w.kvs[0];
    for at in [key_at, val_at, w.tensors[1].name_len] {
        for v in [u64::MAX, 1 << 62, remaining(at) + 1] {
            let mut b = bytes.clone();
            wr_u64(&mut b, at, v);
            assert_truncated_cheaply(&b, &format!("length {v} at {at}"));
        }
    }
}

#[test]
fn gguf_rejects_huge_array_count() {
    let cases: [(&str, Array); 4] = [
        ("u8", Array::U8(vec![1, 2, 3])),
        ("u64", Array::U64(vec![1, 2, 3])),
        ("string", Array::String(vec!["a".into(), "b".into()])),
        ("array", Array::Array(vec![Array::Bool(vec![true])])),
    ];
    for (name, arr) in cases {
        let mut w = GgufWriter::new();
        w.add("arr", Value::Array(arr));
        let bytes = w.to_bytes();
        let count_at = walk(&bytes).kvs[0].2 + 4;
        for v in [u64::MAX, u64::MAX / 8, 1 << 40, bytes.len() as u64] {
            let mut b = bytes.clone();
            wr_u64(&mut b, count_at, v);
            assert_truncated_cheaply(&b, &format!("{name} array count {v}"));
        }
    }
}

#[test]
fn gguf_rejects_huge_tensor_and_kv_counts() {
    let bytes = small_file();
    for (at, what) in [(8, "n_tensors"), (16, "n_kv")] {
        for v in [u64::MAX, 1 << 40, 1 << 20, bytes.len() as u64] {
            let mut b = bytes.clone();
            wr_u64(&mut b, at, v);
            assert_truncated_cheaply(&b, &format!("{what} = {v}"));
        }
    }
}

/// Counts that fit the bytes left only if items had their minimum size must not make the
/// parser reserve memory for all of them up front: a count that lies is caught as soon as the
/// items run out, having allocated in proportion to what was read (here ~100 bytes of header
/// followed by 4 MiB of 0xff, where the first "item" already fails), not to the claimed count.
#[test]
fn gguf_lying_counts_do_not_reserve_for_the_claimed_count() {
    let mut w = GgufWriter::new();
    w.add_str("general.architecture", "llama");
    w.add("arr", Value::Array(Array::String(vec!["x".into()])));
    w.add("arr2", Value::Array(Array::Array(vec![Array::U8(vec![1])])));
    let mut bytes = w.to_bytes();
    let fields = walk(&bytes);
    bytes.resize(bytes.len() + (4 << 20), 0xff);
    let len = bytes.len();
    let cases = [
        (16, "n_kv"),
        (8, "n_tensors"),
        (fields.kvs[1].2 + 4, "string array count"),
        (fields.kvs[2].2 + 4, "array-of-arrays count"),
    ];
    for (at, what) in cases {
        for div in [1u64, 8, 12, 13, 24, 32] {
            let mut b = bytes.clone();
            let v = (len - at) as u64 / div;
            wr_u64(&mut b, at, v);
            let (r, peak) = parse_peak(&b);
            assert!(r.is_err(), "{what} = {v}");
            assert!(
                peak < 1 << 20,
                "{what} = {v}: allocated {peak} bytes for a {len}-byte file"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile types and shapes.

#[test]
fn gguf_rejects_unknown_value_type() {
    let bytes = small_file();
    let w = walk(&bytes);
    for id in [13u32, 99, u32::MAX] {
        let mut b = bytes.clone();
        let ty_at = w.kvs[1].1;
        wr_u32(&mut b, ty_at, id);
        assert!(
            matches!(err(&b), Error::UnknownValueType { offset, id: found }
                if found == id && offset == ty_at as u64),
            "kv type {id}"
        );
    }
    // Unknown element type of an array.
    let mut wr = GgufWriter::new();
    wr.add("arr", Value::Array(Array::U32(vec![1, 2])));
    let mut b = wr.to_bytes();
    let elem_at = walk(&b).kvs[0].2;
    wr_u32(&mut b, elem_at, 13);
    assert!(
        matches!(err(&b), Error::UnknownValueType { id: 13, offset } if offset == elem_at as u64)
    );
}

#[test]
fn gguf_rejects_bool_other_than_0_or_1() {
    let mut w = GgufWriter::new();
    w.add("flag", Value::Bool(true));
    let mut b = w.to_bytes();
    let at = walk(&b).kvs[0].2;
    b[at] = 2;
    assert!(matches!(err(&b), Error::Corrupt { offset, .. } if offset == at as u64));
}

#[test]
fn gguf_rejects_unknown_tensor_type() {
    let bytes = one_tensor(&[32], GgmlType::F32, 128);
    let ty_at = walk(&bytes).tensors[0].ty;
    // 4 and 5 were Q4_2/Q4_3 (removed from ggml); 99 never existed.
    for id in [4u32, 5, 99, u32::MAX] {
        let mut b = bytes.clone();
        wr_u32(&mut b, ty_at, id);
        assert!(
            matches!(err(&b), Error::UnsupportedTensorType { ref tensor, id: found }
                if tensor == "t" && found == id),
            "type {id}"
        );
    }
}

#[test]
fn gguf_rejects_tensor_data_past_the_end() {
    // Data one byte short.
    let bytes = small_file();
    assert!(matches!(
        err(&bytes[..bytes.len() - 1]),
        Error::TensorOutOfBounds { ref tensor, start: 32, end: 50, len: 49 } if tensor == "b.weight"
    ));
    // Offsets far away, and offset + size overflowing u64 (both aligned to 32).
    let off_at = walk(&bytes).tensors[0].offset;
    for off in [1u64 << 40, u64::MAX - 31] {
        let mut b = bytes.clone();
        wr_u64(&mut b, off_at, off);
        assert!(
            matches!(err(&b), Error::TensorOutOfBounds { ref tensor, start, .. }
                if tensor == "a.weight" && start == off),
            "offset {off}"
        );
    }
    // Dims so large the size overflows u64.
    let b = one_tensor(&[1 << 32, 1 << 32, 1 << 32], GgmlType::F32, 4);
    assert!(matches!(err(&b), Error::Corrupt { .. }));
}

#[test]
fn gguf_rejects_misaligned_tensor_offset() {
    let bytes = small_file();
    let off_at = walk(&bytes).tensors[1].offset;
    for off in [1u64, 16, 33] {
        let mut b = bytes.clone();
        wr_u64(&mut b, off_at, off);
        assert!(matches!(err(&b), Error::Corrupt { .. }), "offset {off}");
    }
}

#[test]
fn gguf_honours_and_checks_general_alignment() {
    let mut w = GgufWriter::new();
    w.add("general.alignment", Value::U32(64))
        .add_tensor("a", &[3], GgmlType::F32, pattern(12, 3))
        .add_tensor("b", &[5], GgmlType::F32, pattern(20, 4));
    let bytes = w.to_bytes();
    let f = GgufFile::parse(&bytes).unwrap();
    assert_eq!(f.alignment, 64);
    assert_eq!(f.data_offset % 64, 0);
    assert_eq!(f.tensor("b").unwrap().offset, 64);
    assert_eq!(
        f.tensor_data(&bytes, f.tensor("b").unwrap()).unwrap(),
        pattern(20, 4).as_slice()
    );
    let val_at = walk(&bytes).kvs[0].2;
    for bad in [0u32, 3, 48, u32::MAX] {
        let mut b = bytes.clone();
        wr_u32(&mut b, val_at, bad);
        assert!(matches!(err(&b), Error::Corrupt { .. }), "alignment {bad}");
    }
}

#[test]
fn gguf_rejects_bad_dimension_count() {
    let bytes = one_tensor(&[32], GgmlType::F32, 128);
    let nd_at = walk(&bytes).tensors[0].n_dims;
    for nd in [0u32, 5, u32::MAX] {
        let mut b = bytes.clone();
        wr_u32(&mut b, nd_at, nd);
        assert!(
            matches!(err(&b), Error::Corrupt { offset, .. } if offset == nd_at as u64),
            "n_dims {nd}"
        );
    }
    // 4 dims is the maximum and fine.
    let b = one_tensor(&[2, 3, 4, 5], GgmlType::F32, 2 * 3 * 4 * 5 * 4);
    assert_eq!(GgufFile::parse(&b).unwrap().tensors[0].dims, [2, 3, 4, 5]);
}

#[test]
fn gguf_rejects_row_not_a_whole_number_of_blocks() {
    // Q4_0 blocks hold 32 values: a 33-column row cannot be stored.
    let b = one_tensor(&[33, 2], GgmlType::Q4_0, 2 * 2 * 18);
    assert!(matches!(err(&b), Error::ShapeMismatch { ref tensor, .. } if tensor == "t"));
    // K-quants: 256 per block.
    let b = one_tensor(&[128], GgmlType::Q4_K, 144);
    assert!(matches!(err(&b), Error::ShapeMismatch { .. }));
    // Whole blocks are fine: 64 columns of Q4_0 = 2 blocks * 18 bytes per row.
    let b = one_tensor(&[64, 3], GgmlType::Q4_0, 3 * 2 * 18);
    assert_eq!(GgufFile::parse(&b).unwrap().tensors[0].size, 3 * 2 * 18);
}

#[test]
fn gguf_rejects_duplicate_key_and_tensor_name() {
    let mut w = GgufWriter::new();
    w.add_u32("k", 1).add_u32("k", 2);
    assert!(matches!(err(&w.to_bytes()), Error::Corrupt { .. }));

    let mut w = GgufWriter::new();
    w.add_tensor("t", &[8], GgmlType::F32, vec![0; 32])
        .add_tensor("t", &[8], GgmlType::F32, vec![0; 32]);
    assert!(matches!(err(&w.to_bytes()), Error::Corrupt { .. }));
}

#[test]
fn gguf_rejects_arrays_nested_too_deep() {
    // 1000 levels, built by hand: must be a typed error, not a stack overflow.
    let mut a = Array::U8(vec![7]);
    for _ in 0..1000 {
        a = Array::Array(vec![a]);
    }
    let mut w = GgufWriter::new();
    w.add("deep", Value::Array(a));
    assert!(matches!(err(&w.to_bytes()), Error::Corrupt { .. }));
}

// ---------------------------------------------------------------------------------------------
// Round trips and typed getters.

fn every_value() -> Vec<(&'static str, Value)> {
    vec![
        ("u8", Value::U8(200)),
        ("i8", Value::I8(-100)),
        ("u16", Value::U16(60000)),
        ("i16", Value::I16(-30000)),
        ("u32", Value::U32(4_000_000_000)),
        ("i32", Value::I32(-2_000_000_000)),
        ("u64", Value::U64(u64::MAX - 1)),
        ("i64", Value::I64(i64::MIN + 1)),
        ("f32", Value::F32(-1.5e-7)),
        ("f64", Value::F64(std::f64::consts::PI)),
        ("bool_t", Value::Bool(true)),
        ("bool_f", Value::Bool(false)),
        ("str", Value::String("héllo ▁wörld 🦀".into())),
        ("str_empty", Value::String(String::new())),
        ("a_u8", Value::Array(Array::U8(vec![0, 1, 255]))),
        ("a_i8", Value::Array(Array::I8(vec![-128, 0, 127]))),
        ("a_u16", Value::Array(Array::U16(vec![0, 65535]))),
        ("a_i16", Value::Array(Array::I16(vec![-32768, 32767]))),
        ("a_u32", Value::Array(Array::U32(vec![0, u32::MAX]))),
        (
            "a_i32",
            Value::Array(Array::I32(vec![i32::MIN, -1, i32::MAX])),
        ),
        ("a_u64", Value::Array(Array::U64(vec![u64::MAX, 0]))),
        ("a_i64", Value::Array(Array::I64(vec![i64::MIN, i64::MAX]))),
        (
            "a_f32",
            Value::Array(Array::F32(vec![0.25, -3.0, f32::MAX])),
        ),
        ("a_f64", Value::Array(Array::F64(vec![1e300, -0.0]))),
        ("a_bool", Value::Array(Array::Bool(vec![true, false, true]))),
        (
            "a_str",
            Value::Array(Array::String(vec!["a".into(), String::new(), "ü".into()])),
        ),
        ("a_empty", Value::Array(Array::F32(vec![]))),
        (
            "a_nested",
            Value::Array(Array::Array(vec![
                Array::String(vec!["x".into(), "yz".into()]),
                Array::String(vec![]),
                Array::String(vec!["<|im_start|>".into()]),
            ])),
        ),
        (
            "a_mixed_nested",
            Value::Array(Array::Array(vec![
                Array::Array(vec![Array::I32(vec![1, -2]), Array::Bool(vec![false])]),
                Array::Array(vec![]),
            ])),
        ),
    ]
}

#[test]
fn gguf_every_value_type_round_trips() {
    for version in [2u32, 3] {
        let mut w = GgufWriter::new().version(version);
        for (k, v) in every_value() {
            w.add(k, v);
        }
        let bytes = w.to_bytes();
        // Type ids on disk are gguf.md's, checked by the independent walker.
        let fields = walk(&bytes);
        let f = GgufFile::parse(&bytes).unwrap();
        assert_eq!(f.metadata().len(), every_value().len());
        for (i, (k, v)) in every_value().into_iter().enumerate() {
            assert_eq!(f.get(k), Some(&v), "{k} (v{version})");
            assert_eq!(f.metadata()[i].0, k);
            assert_eq!(rd_u32(&bytes, fields.kvs[i].1), v.type_id(), "{k}");
        }
        assert_eq!(f.data_offset, fields.end.div_ceil(32) as u64 * 32);
    }
    // The ids themselves, from gguf.md's `gguf_metadata_value_type`.
    let ids = [
        type_id::U8,
        type_id::I8,
        type_id::U16,
        type_id::I16,
        type_id::U32,
        type_id::I32,
        type_id::F32,
        type_id::BOOL,
        type_id::STRING,
        type_id::ARRAY,
        type_id::U64,
        type_id::I64,
        type_id::F64,
    ];
    assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
}

#[test]
fn gguf_typed_getters() {
    let mut w = GgufWriter::new();
    for (k, v) in every_value() {
        w.add(k, v);
    }
    let bytes = w.to_bytes();
    let f = GgufFile::parse(&bytes).unwrap();

    // Integers widen; getters only accept what fits.
    assert_eq!(f.get_u32("u8").unwrap(), 200);
    assert_eq!(f.get_u32("u32").unwrap(), 4_000_000_000);
    assert_eq!(f.get_u64("u64").unwrap(), u64::MAX - 1);
    assert!(matches!(f.get_u32("u64"), Err(Error::WrongKeyType { ref key, .. }) if key == "u64"));
    assert!(matches!(f.get_u64("i8"), Err(Error::WrongKeyType { .. })));
    assert!(matches!(f.get_u32("str"), Err(Error::WrongKeyType { ref key, .. }) if key == "str"));
    assert!(matches!(f.get_u32("f32"), Err(Error::WrongKeyType { .. })));
    assert_eq!(f.get_f32("f32").unwrap(), -1.5e-7);
    assert_eq!(f.get_f32("f64").unwrap(), std::f64::consts::PI as f32);
    assert!(matches!(f.get_f32("str"), Err(Error::WrongKeyType { .. })));
    assert!(f.get_bool("bool_t").unwrap());
    assert!(!f.get_bool("bool_f").unwrap());
    assert!(matches!(f.get_bool("u8"), Err(Error::WrongKeyType { .. })));
    assert_eq!(f.get_str("str").unwrap(), "héllo ▁wörld 🦀");
    assert!(matches!(
        f.get_str("a_str"),
        Err(Error::WrongKeyType { .. })
    ));
    assert_eq!(f.get_str_array("a_str").unwrap(), ["a", "", "ü"]);
    assert_eq!(f.get_f32_array("a_f32").unwrap(), [0.25, -3.0, f32::MAX]);
    assert_eq!(f.get_i32_array("a_i32").unwrap(), [i32::MIN, -1, i32::MAX]);
    assert!(matches!(
        f.get_f32_array("a_i32"),
        Err(Error::WrongKeyType { .. })
    ));
    assert!(matches!(f.get_array("u8"), Err(Error::WrongKeyType { .. })));
    assert_eq!(f.get_array("a_nested").unwrap().len(), 3);

    // Missing keys.
    assert!(matches!(f.get_u32("nope"), Err(Error::MissingKey(ref k)) if k == "nope"));
    assert!(matches!(f.get_str("nope"), Err(Error::MissingKey(_))));
    assert!(matches!(f.get_str_array("nope"), Err(Error::MissingKey(_))));
    assert!(f.get("nope").is_none());
    assert!(
        matches!(f.architecture(), Err(Error::MissingKey(ref k)) if k == "general.architecture")
    );

    // opt: missing → None, present → Some, wrong type stays an error.
    assert_eq!(GgufFile::opt(f.get_u32("nope")).unwrap(), None);
    assert_eq!(GgufFile::opt(f.get_u32("u16")).unwrap(), Some(60000));
    assert!(matches!(
        GgufFile::opt(f.get_u32("str")),
        Err(Error::WrongKeyType { .. })
    ));
}

#[test]
fn gguf_writer_round_trips_tensors_of_every_type() {
    // One row of each type, sized from ggml-common.h block sizes (elements, bytes).
    let types = [
        (GgmlType::F32, 1, 4),
        (GgmlType::F16, 1, 2),
        (GgmlType::BF16, 1, 2),
        (GgmlType::Q4_0, 32, 18),
        (GgmlType::Q4_1, 32, 20),
        (GgmlType::Q5_0, 32, 22),
        (GgmlType::Q5_1, 32, 24),
        (GgmlType::Q8_0, 32, 34),
        (GgmlType::Q8_1, 32, 36),
        (GgmlType::Q2_K, 256, 84),
        (GgmlType::Q3_K, 256, 110),
        (GgmlType::Q4_K, 256, 144),
        (GgmlType::Q5_K, 256, 176),
        (GgmlType::Q6_K, 256, 210),
        (GgmlType::Q8_K, 256, 292),
    ];
    let mut w = GgufWriter::new();
    for (i, &(ty, block, bytes)) in types.iter().enumerate() {
        w.add_tensor(
            &format!("t{i}"),
            &[2 * block, 3],
            ty,
            pattern(6 * bytes as usize, i as u8),
        );
    }
    let file = w.to_bytes();
    let f = GgufFile::parse(&file).unwrap();
    for (i, &(ty, block, bytes)) in types.iter().enumerate() {
        let t = f.tensor(&format!("t{i}")).unwrap();
        assert_eq!((t.ty, t.dims.as_slice()), (ty, &[2 * block, 3][..]));
        assert_eq!(t.size, 6 * bytes);
        assert_eq!(t.offset % 32, 0);
        assert_eq!(
            f.tensor_data(&file, t).unwrap(),
            pattern(6 * bytes as usize, i as u8).as_slice()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The real SmolLM2 file.

/// Facts checked independently of our parser: the tensor count was read from the header with a
/// separate Python walker of gguf.md (272 = 30 blocks * 9 tensors + token_embd + output_norm;
/// the output projection is tied), and shapes/types match refdata/README.md and the walker.
#[test]
fn gguf_parses_smollm2() {
    let bytes = util::model_bytes(util::SMOLLM2_FILE);
    let f = GgufFile::parse(&bytes).unwrap();
    let w = walk(&bytes);
    assert_eq!(f.version, 3);
    assert_eq!(f.architecture().unwrap(), "llama");
    assert_eq!(f.get_u32("llama.block_count").unwrap(), 30);
    assert_eq!(f.get_u32("llama.embedding_length").unwrap(), 576);
    assert_eq!(f.get_u32("llama.attention.head_count").unwrap(), 9);
    assert_eq!(f.get_u32("llama.attention.head_count_kv").unwrap(), 3);
    assert_eq!(f.tensors.len(), 272);
    assert_eq!(f.tensors.len(), w.tensors.len());
    assert_eq!(f.metadata().len(), rd_u64(&bytes, 16) as usize);
    assert_eq!(f.data_offset, w.end.div_ceil(32) as u64 * 32);
    for (t, wt) in f.tensors.iter().zip(&w.tensors) {
        assert_eq!(t.name, wt.name);
        assert_eq!(t.offset, rd_u64(&bytes, wt.offset));
        assert_eq!(t.ty.id(), rd_u32(&bytes, wt.ty));
    }
    let e = f.tensor("token_embd.weight").unwrap();
    assert_eq!(e.ty, GgmlType::Q8_0);
    assert_eq!(e.dims, [576, 49152]);
    assert_eq!(e.size, 576 / 32 * 34 * 49152);
    assert_eq!(
        f.get_str_array("tokenizer.ggml.tokens").unwrap().len(),
        49152
    );
    // The last tensor ends inside the file, at most one alignment step before its end.
    let end = f
        .tensors
        .iter()
        .map(|t| f.data_offset + t.offset + t.size)
        .max()
        .unwrap();
    assert!(end <= bytes.len() as u64 && bytes.len() as u64 - end < 32);
}

// ---------------------------------------------------------------------------------------------
// Mutation test: thousands of corrupted copies of the real header.

/// splitmix64: a tiny seeded generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// A hostile value for a u64 field at `at` in a file of `len` bytes: the extremes, and counts
/// that would just fit the bytes left if items had their minimum encoded size.
fn hostile_u64(rng: &mut Rng, at: usize, len: usize) -> u64 {
    let left = len.saturating_sub(at + 8) as u64;
    match rng.below(8) {
        0 => rng.pick(&[
            u64::MAX,
            u64::MAX / 2,
            1 << 63,
            1 << 32,
            u32::MAX as u64 + 1,
        ]),
        1 => left / rng.pick(&[1, 2, 4, 8, 12, 13, 24, 32]),
        2 => left + rng.below(3) as u64,
        3 => rng.next() % (2 * len as u64),
        4 => rng.next() % 64,
        5 => rng.next() >> rng.below(64),
        _ => rng.next(),
    }
}

/// Applies 1 to 3 random mutations to `buf` (a copy of the real header plus some data) and
/// returns the length to parse and a description of what was done.
fn mutate(buf: &mut [u8], fields: &Fields, rng: &mut Rng) -> (usize, Vec<String>) {
    let header_len = fields.end;
    let mut len = buf.len();
    let mut what = Vec::new();
    for _ in 0..1 + rng.below(3) {
        match rng.below(6) {
            0 => {
                // Flip bytes: two thirds of the time in the structural parts (the first 4 KiB
                // hold the header and the small KVs, the last 24 KiB the tensor infos).
                let at = match rng.below(3) {
                    0 => rng.below(4096),
                    1 => header_len - 1 - rng.below(24 << 10),
                    _ => rng.below(header_len),
                };
                let x = 1 + rng.below(255) as u8;
                buf[at] ^= x;
                what.push(format!("xor {x:#04x} at {at}"));
            }
            1 | 2 => {
                let at = rng.pick(&fields.u64s);
                let v = hostile_u64(rng, at, len);
                wr_u64(buf, at, v);
                what.push(format!("u64 {v} at {at}"));
            }
            3 => {
                let at = rng.pick(&fields.u32s);
                let v = if rng.below(2) == 0 {
                    rng.below(40) as u32
                } else {
                    rng.next() as u32
                };
                wr_u32(buf, at, v);
                what.push(format!("u32 {v} at {at}"));
            }
            4 => {
                let at = rng.below(header_len - 8);
                let v = hostile_u64(rng, at, len);
                wr_u64(buf, at, v);
                what.push(format!("unaligned u64 {v} at {at}"));
            }
            _ => {
                len = rng.below(len);
                what.push(format!("truncate to {len}"));
            }
        }
    }
    (len, what)
}

/// 3000 corrupted copies of the real SmolLM2 header: parse returns Ok or a typed Err, never
/// panics, and never holds more than 8x its input (+1 MiB) at once. Mutation `i` uses its own
/// seed, so a failure names the mutation and reproduces alone.
#[test]
fn gguf_mutated_smollm2_headers_never_panic_or_overallocate() {
    const N: usize = 3000;
    const SEED: u64 = 0x5eed_9e0f_2025;
    let real = util::model_bytes(util::SMOLLM2_FILE);
    let fields = walk(&real);
    // The header plus 64 KiB of tensor data: every byte of the header is still parsed (the
    // bounds check comes last), and the allocation bound is relative to this length.
    let base = &real[..fields.end + (64 << 10)];
    assert!(matches!(
        GgufFile::parse(base),
        Err(Error::TensorOutOfBounds { .. })
    ));
    let threads = 2;
    let start = std::time::Instant::now();
    let outcomes: Vec<Vec<String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let fields = &fields;
                s.spawn(move || {
                    let mut buf = base.to_vec();
                    let mut outcomes = Vec::new();
                    for i in (t..N).step_by(threads) {
                        buf.copy_from_slice(base);
                        let mut rng = Rng(SEED ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
                        let (len, what) = mutate(&mut buf, fields, &mut rng);
                        let input = &buf[..len];
                        let (r, peak) = with_peak(|| GgufFile::parse(input));
                        let Ok(r) = r else {
                            panic!("mutation {i} panicked: {}", what.join(", "));
                        };
                        assert!(
                            peak <= 8 * len + (1 << 20),
                            "mutation {i} allocated {peak} bytes for {len} bytes: {}",
                            what.join(", ")
                        );
                        outcomes.push(match r {
                            Ok(_) => "Ok".to_string(),
                            Err(e) => e.code().to_string(),
                        });
                    }
                    outcomes
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for o in outcomes.iter().flatten() {
        *counts.entry(o).or_default() += 1;
    }
    assert_eq!(counts.values().sum::<usize>(), N);
    eprintln!("{N} mutations in {:?}: {counts:?}", start.elapsed());
}
