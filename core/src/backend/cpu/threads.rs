//! A fixed-size pool for splitting matmuls and attention heads. Native builds use rayon;
//! without the `threads` feature (wasm) everything runs on the calling thread.

#[cfg(feature = "threads")]
pub struct ThreadPool {
    pool: Option<rayon::ThreadPool>,
    n_threads: usize,
}

#[cfg(feature = "threads")]
impl ThreadPool {
    /// `n_threads == 0` means one per available core.
    pub fn new(n_threads: usize) -> ThreadPool {
        let n = if n_threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            n_threads
        };
        // A pool that cannot start (thread limits) degrades to running inline.
        let pool = if n > 1 {
            rayon::ThreadPoolBuilder::new().num_threads(n).build().ok()
        } else {
            None
        };
        let n_threads = if pool.is_some() { n } else { 1 };
        ThreadPool { pool, n_threads }
    }

    pub fn n_threads(&self) -> usize {
        self.n_threads
    }

    /// Runs `f(i)` for every `i` in `0..n`, split across the pool.
    pub fn for_each(&self, n: usize, f: impl Fn(usize) + Sync + Send) {
        match &self.pool {
            Some(pool) if n > 1 => pool.install(|| {
                use rayon::prelude::*;
                (0..n).into_par_iter().for_each(f)
            }),
            _ => (0..n).for_each(f),
        }
    }
}

#[cfg(not(feature = "threads"))]
pub struct ThreadPool;

#[cfg(not(feature = "threads"))]
impl ThreadPool {
    pub fn new(_n_threads: usize) -> ThreadPool {
        ThreadPool
    }

    pub fn n_threads(&self) -> usize {
        1
    }

    pub fn for_each(&self, n: usize, f: impl Fn(usize) + Sync + Send) {
        (0..n).for_each(f)
    }
}

/// A `*mut T` that may cross threads. Used where each task writes a disjoint part of one
/// output buffer that cannot be split into `chunks_mut` (e.g. a column of a row-major matrix).
#[derive(Clone, Copy)]
pub struct SharedMut<T>(*mut T);

// SAFETY: SharedMut is only a pointer; callers guarantee that concurrent tasks write
// disjoint elements and that the buffer outlives the parallel section (see `write`).
unsafe impl<T: Send> Send for SharedMut<T> {}
// SAFETY: as above: shared access only ever writes disjoint indices.
unsafe impl<T: Send> Sync for SharedMut<T> {}

impl<T> SharedMut<T> {
    pub fn new(slice: &mut [T]) -> Self {
        SharedMut(slice.as_mut_ptr())
    }

    /// # Safety
    /// `i` is in bounds of the slice this was made from, that slice is still borrowed
    /// mutably by the caller for the whole parallel section, and no other task writes `i`.
    pub unsafe fn write(self, i: usize, v: T) {
        // SAFETY: guaranteed by the caller per the contract above.
        unsafe { self.0.add(i).write(v) }
    }
}

impl<T> SharedMut<T> {
    /// # Safety
    /// `start + len` is within the slice this was made from, that slice is still borrowed
    /// mutably for the whole parallel section, and no other task touches this range.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice<'a>(self, start: usize, len: usize) -> &'a mut [T] {
        // SAFETY: guaranteed by the caller per the contract above.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}
