//! A persistent pool for the many short parallel sections of a forward pass (a SmolLM2 decode
//! step has about 300, most a few microseconds long). Between sections its workers spin for a
//! while instead of sleeping, so handing out a section costs an atomic store, not a thread
//! wake-up; the calling thread takes tasks too. A worker idle for longer than [`SPIN_FOR`]
//! parks until the next section (between tokens, or when nothing runs).
//!
//! Tasks are handed out one index at a time from an atomic counter, so uneven tasks balance.
//! One section runs at a time: a caller that finds the pool busy (another session's forward
//! pass) runs its section on its own thread.
//!
//! Natively the workers are threads of their own. In the wasm threads build a thread is a Web
//! Worker only JS can start, so the workers are long-running jobs on rayon's pool over those
//! workers (`wasm/src/threads.rs`), and the spin is counted rather than timed (wasm32 has no
//! clock in std).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long an idle worker spins before parking.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
const SPIN_FOR: Duration = Duration::from_micros(300);

/// A clock for the spin, natively; in wasm32 a count of spins standing in for [`SPIN_FOR`].
#[cfg(not(target_arch = "wasm32"))]
struct SpinBudget(std::time::Instant);
#[cfg(target_arch = "wasm32")]
struct SpinBudget(u32);

impl SpinBudget {
    #[cfg(not(target_arch = "wasm32"))]
    fn start() -> SpinBudget {
        SpinBudget(std::time::Instant::now())
    }

    /// Checked every 1024 spins.
    #[cfg(not(target_arch = "wasm32"))]
    fn spent(&mut self) -> bool {
        self.0.elapsed() >= SPIN_FOR
    }

    #[cfg(target_arch = "wasm32")]
    fn start() -> SpinBudget {
        SpinBudget(0)
    }

    /// About 300 us of spinning (a spin-loop hint costs a few ns).
    #[cfg(target_arch = "wasm32")]
    fn spent(&mut self) -> bool {
        self.0 += 1;
        self.0 > 64
    }
}

/// A section's work: `f(i)` for `i in 0..n`. `f` borrows the caller's stack; see `for_each`
/// for why the erased lifetime is sound.
#[derive(Clone, Copy)]
struct Job {
    f: *const (dyn Fn(usize) + Sync + 'static),
    n: usize,
}

struct Shared {
    /// Written by the caller holding `busy` before it bumps `epoch` (Release), read by workers
    /// after they see the new epoch (Acquire); never written while a worker may read it.
    job: UnsafeCell<Job>,
    /// Bumped once per section.
    epoch: AtomicU64,
    /// The next task index to take.
    next: AtomicUsize,
    /// Workers that have not yet finished the current section.
    pending: AtomicUsize,
    /// A task panicked in the current section.
    panicked: AtomicBool,
    shutdown: AtomicBool,
    /// Parked workers, and what they wait on.
    sleepers: AtomicUsize,
    park: Mutex<()>,
    wake: Condvar,
    /// Held by the caller of the section in progress.
    busy: Mutex<()>,
}

// SAFETY: `job` is the only non-Sync field. It is written only by the thread holding `busy`,
// and only while no worker is inside a section (the previous caller waited for `pending` to
// reach 0 before releasing `busy`); workers read it only after an Acquire load of the epoch
// that the write happened before (Release).
unsafe impl Sync for Shared {}
// SAFETY: the raw pointer in `job` is only dereferenced under the protocol above.
unsafe impl Send for Shared {}

fn lock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Takes task indices until none are left.
    fn run(&self, job: Job) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= job.n {
                return;
            }
            // SAFETY: `f` is alive: its caller waits for every worker to finish the section
            // (`pending == 0`) before returning, and it is Sync, so shared calls are fine.
            let f = unsafe { &*job.f };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(i)));
            if r.is_err() {
                self.panicked.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Waits (spinning, then parked) for an epoch other than `seen`; `None` on shutdown.
    fn next_epoch(&self, seen: u64) -> Option<u64> {
        let mut budget = SpinBudget::start();
        let mut spins = 0u32;
        loop {
            let e = self.epoch.load(Ordering::Acquire);
            if e != seen {
                return Some(e);
            }
            if self.shutdown.load(Ordering::Acquire) {
                return None;
            }
            spins += 1;
            if !spins.is_multiple_of(1024) || !budget.spent() {
                std::hint::spin_loop();
                continue;
            }
            // Park. SeqCst on `sleepers` and `epoch` on both sides: either this thread sees
            // the new epoch, or the caller sees a sleeper and notifies under `park`.
            let mut g = lock(&self.park);
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            while self.epoch.load(Ordering::SeqCst) == seen && !self.shutdown.load(Ordering::SeqCst)
            {
                g = self.wake.wait(g).unwrap_or_else(|p| p.into_inner());
            }
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            spins = 0;
            budget = SpinBudget::start();
        }
    }

    fn wake_sleepers(&self) {
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _g = lock(&self.park);
            self.wake.notify_all();
        }
    }
}

pub struct SpinPool {
    shared: Arc<Shared>,
    n_workers: usize,
    /// Natively, to join on drop (rayon's jobs in wasm just return).
    #[cfg(not(target_arch = "wasm32"))]
    workers: Vec<std::thread::JoinHandle<()>>,
}

/// A worker's life: each section once, until shutdown.
fn work(sh: Arc<Shared>) {
    let mut seen = 0;
    while let Some(e) = sh.next_epoch(seen) {
        seen = e;
        // SAFETY: see `Shared`: the job was written before this epoch.
        let job = unsafe { *sh.job.get() };
        sh.run(job);
        sh.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SpinPool {
    fn shared() -> Arc<Shared> {
        Arc::new(Shared {
            job: UnsafeCell::new(Job { f: &|_| {}, n: 0 }),
            epoch: AtomicU64::new(0),
            next: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            park: Mutex::new(()),
            wake: Condvar::new(),
            busy: Mutex::new(()),
        })
    }

    /// `n_threads` in all: the caller and `n_threads - 1` workers on rayon's (global) pool,
    /// which must have at least that many threads.
    #[cfg(target_arch = "wasm32")]
    pub fn on_rayon(n_threads: usize) -> SpinPool {
        let shared = Self::shared();
        for _ in 1..n_threads {
            let sh = shared.clone();
            rayon::spawn(move || work(sh));
        }
        SpinPool {
            shared,
            n_workers: n_threads.saturating_sub(1),
        }
    }

    /// `n_threads` in all: the caller and `n_threads - 1` workers. `None` when a thread
    /// cannot be started.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(n_threads: usize) -> Option<SpinPool> {
        let mut pool = SpinPool {
            shared: Self::shared(),
            n_workers: 0,
            workers: Vec::new(),
        };
        for i in 1..n_threads {
            let sh = pool.shared.clone();
            let w = std::thread::Builder::new()
                .name(format!("wasm-chord-{i}"))
                .spawn(move || work(sh))
                .ok()?;
            pool.workers.push(w);
            pool.n_workers += 1;
        }
        Some(pool)
    }

    /// Runs `f(i)` for every `i` in `0..n` across the pool and the calling thread; returns
    /// once all have run. A panic in a task is re-raised here, after the section ends.
    pub fn for_each(&self, n: usize, f: &(dyn Fn(usize) + Sync)) {
        let sh = &*self.shared;
        let guard = match sh.busy.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                (0..n).for_each(f);
                return;
            }
        };
        // SAFETY: only the lifetime is erased. Every use of the pointer ends before this
        // function returns: workers take tasks only during this section, and we wait below
        // until each has finished it (`pending == 0`), even if a task panicked.
        let f: *const (dyn Fn(usize) + Sync + 'static) = unsafe { std::mem::transmute(f) };
        let job = Job { f, n };
        // SAFETY: we hold `busy` and no worker is in a section (see `Shared`).
        unsafe { *sh.job.get() = job };
        sh.next.store(0, Ordering::Relaxed);
        sh.pending.store(self.n_workers, Ordering::Relaxed);
        sh.epoch.fetch_add(1, Ordering::SeqCst);
        sh.wake_sleepers();
        sh.run(job);
        while sh.pending.load(Ordering::Acquire) != 0 {
            std::hint::spin_loop();
        }
        let panicked = sh.panicked.swap(false, Ordering::Relaxed);
        drop(guard);
        if panicked {
            panic!("a task of the thread pool panicked");
        }
    }
}

impl Drop for SpinPool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        {
            let _g = lock(&self.shared.park);
            self.shared.wake.notify_all();
        }
        #[cfg(not(target_arch = "wasm32"))]
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn every_index_runs_once_across_sections_and_after_parking() {
        let pool = SpinPool::new(3).expect("pool");
        for round in 0..200 {
            let n = round % 37;
            let hits: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
            pool.for_each(n, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
                "round {round}"
            );
            if round % 50 == 0 {
                // Long enough for the workers to park.
                std::thread::sleep(SPIN_FOR * 4);
            }
        }
    }

    #[test]
    fn concurrent_callers_each_get_all_their_tasks() {
        let pool = Arc::new(SpinPool::new(2).expect("pool"));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        let sum = AtomicUsize::new(0);
                        pool.for_each(64, &|i| {
                            sum.fetch_add(i, Ordering::Relaxed);
                        });
                        assert_eq!(sum.load(Ordering::Relaxed), 64 * 63 / 2);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("caller");
        }
    }

    #[test]
    fn a_panicking_task_panics_the_caller_and_the_pool_still_works() {
        let pool = SpinPool::new(2).expect("pool");
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.for_each(16, &|i| assert_ne!(i, 7));
        }));
        assert!(r.is_err());
        let count = AtomicUsize::new(0);
        pool.for_each(16, &|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 16);
    }
}
