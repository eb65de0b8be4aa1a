//! A fixed-size pool for splitting matmuls and attention heads, with the `threads` feature:
//! natively our spinning pool (`spin_pool.rs`: a decode step has hundreds of short sections),
//! in the wasm build for cross-origin isolated pages rayon's pool over Web Workers. Without the
//! feature everything runs on the calling thread.

#[cfg(feature = "threads")]
pub struct ThreadPool {
    pool: Pool,
    n_threads: usize,
}

#[cfg(feature = "threads")]
enum Pool {
    /// One thread: everything runs on the caller.
    Inline,
    /// A pool of our own (native builds).
    #[cfg(not(target_arch = "wasm32"))]
    Own(super::spin_pool::SpinPool),
    /// rayon's global pool. In wasm a thread is a Web Worker, which only JS can start: the
    /// binding builds the global pool over workers (wasm/src/threads.rs) before loading.
    Global,
}

#[cfg(feature = "threads")]
impl ThreadPool {
    /// `n_threads == 0` means one per available core (in wasm: every thread of the pool).
    pub fn new(n_threads: usize) -> ThreadPool {
        if cfg!(target_arch = "wasm32") {
            let available = rayon::current_num_threads();
            let n = if n_threads == 0 {
                available
            } else {
                n_threads.min(available)
            };
            let pool = if n > 1 { Pool::Global } else { Pool::Inline };
            return ThreadPool {
                pool,
                n_threads: n.max(1),
            };
        }
        let n = if n_threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            n_threads
        };
        // A pool that cannot start (thread limits) degrades to running inline.
        #[cfg(not(target_arch = "wasm32"))]
        let pool = if n > 1 {
            super::spin_pool::SpinPool::new(n)
        } else {
            None
        };
        #[cfg(target_arch = "wasm32")]
        let pool: Option<std::convert::Infallible> = None;
        match pool {
            #[cfg(not(target_arch = "wasm32"))]
            Some(p) => ThreadPool {
                pool: Pool::Own(p),
                n_threads: n,
            },
            #[cfg(target_arch = "wasm32")]
            Some(never) => match never {},
            None => ThreadPool {
                pool: Pool::Inline,
                n_threads: 1,
            },
        }
    }

    pub fn n_threads(&self) -> usize {
        self.n_threads
    }

    /// Runs `f(i)` for every `i` in `0..n`, split across the pool.
    pub fn for_each(&self, n: usize, f: impl Fn(usize) + Sync + Send) {
        use rayon::prelude::*;
        match &self.pool {
            #[cfg(not(target_arch = "wasm32"))]
            Pool::Own(pool) if n > 1 => pool.for_each(n, &f),
            Pool::Global if n > 1 => (0..n).into_par_iter().for_each(f),
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
