//! A fixed-size pool for splitting matmuls and attention heads, with the `threads` feature
//! (native builds, and the wasm build for cross-origin isolated pages): our spinning pool
//! (`spin_pool.rs`: a decode step has hundreds of short sections), whose workers in wasm run
//! on rayon's pool over Web Workers. Without the feature everything runs on the calling thread.

#[cfg(feature = "threads")]
pub struct ThreadPool {
    /// `None`: one thread, everything runs on the caller.
    pool: Option<super::spin_pool::SpinPool>,
    n_threads: usize,
}

#[cfg(feature = "threads")]
impl ThreadPool {
    /// `n_threads == 0` means one per available core (in wasm: every thread of rayon's pool,
    /// which the binding builds over Web Workers before loading, wasm/src/threads.rs).
    pub fn new(n_threads: usize) -> ThreadPool {
        #[cfg(target_arch = "wasm32")]
        let available = rayon::current_num_threads();
        #[cfg(not(target_arch = "wasm32"))]
        let available = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let n = match n_threads {
            0 => available,
            // In wasm the pool's workers are all there is.
            n if cfg!(target_arch = "wasm32") => n.min(available),
            n => n,
        };
        #[cfg(target_arch = "wasm32")]
        let pool = (n > 1).then(|| super::spin_pool::SpinPool::on_rayon(n));
        // A pool that cannot start (thread limits) degrades to running inline.
        #[cfg(not(target_arch = "wasm32"))]
        let pool = if n > 1 {
            super::spin_pool::SpinPool::new(n)
        } else {
            None
        };
        ThreadPool {
            n_threads: if pool.is_some() { n } else { 1 },
            pool,
        }
    }

    pub fn n_threads(&self) -> usize {
        self.n_threads
    }

    /// Runs `f(i)` for every `i` in `0..n`, split across the pool.
    pub fn for_each(&self, n: usize, f: impl Fn(usize) + Sync + Send) {
        match &self.pool {
            Some(pool) if n > 1 => pool.for_each(n, &f),
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

/// Rows per task below which a row-wise op stays on the calling thread: a dispatch costs
/// more than a few rows of norm or activation (decode has one).
const MIN_ROWS_PER_TASK: usize = 4;

/// Runs `f(rows, first)` over chunks of whole rows of `x` (rows `width` long; `first` is the
/// chunk's first row index), split across `pool` when there are enough rows to pay for it.
/// Each row is in exactly one chunk, so a row-wise op gives the same bits however it is split.
pub fn for_row_chunks(
    pool: &ThreadPool,
    x: &mut [f32],
    width: usize,
    f: impl Fn(&mut [f32], usize) + Sync + Send,
) {
    let n_rows = x.len().checked_div(width).unwrap_or(0);
    let tasks = pool.n_threads().min(n_rows / MIN_ROWS_PER_TASK);
    if tasks <= 1 {
        return f(x, 0);
    }
    let per_task = n_rows.div_ceil(tasks);
    let rows = SharedMut::new(x);
    pool.for_each(tasks, |i| {
        let (r0, r1) = (i * per_task, ((i + 1) * per_task).min(n_rows));
        if r0 < r1 {
            // SAFETY: r1 <= n_rows, so the range is inside `x`, which stays mutably borrowed
            // until for_each returns; tasks have disjoint row ranges.
            f(unsafe { rows.slice(r0 * width, (r1 - r0) * width) }, r0);
        }
    });
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
