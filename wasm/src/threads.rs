//! Threads for cross-origin isolated pages (the `threads` build: shared memory, atomics).
//! A wasm thread is a Web Worker that instantiates this same module over the same memory;
//! only JS can start one. The model's worker (js/browser/worker.js) calls [`thread_pool`],
//! starts that many thread workers (js/browser/thread-worker.js), each of which calls
//! [`ThreadPoolStarter::run_thread`] and stays there, then calls [`ThreadPoolStarter::build`],
//! which makes them rayon's global pool: the core's `ThreadPool` splits matmuls over it.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

use wasm_bindgen::prelude::*;

use crate::error::js_error;

/// Hands rayon's thread bodies to the thread workers waiting for them.
#[wasm_bindgen]
pub struct ThreadPoolStarter {
    n_threads: usize,
    sender: Sender<rayon::ThreadBuilder>,
    receiver: Mutex<Receiver<rayon::ThreadBuilder>>,
}

/// A starter for a pool of `n_threads` (>= 1). It must outlive the pool: the JS side keeps it
/// for the worker's lifetime (the pool lives until the worker is terminated).
#[wasm_bindgen(js_name = threadPool)]
pub fn thread_pool(n_threads: usize) -> ThreadPoolStarter {
    let (sender, receiver) = channel();
    ThreadPoolStarter {
        n_threads: n_threads.max(1),
        sender,
        receiver: Mutex::new(receiver),
    }
}

#[wasm_bindgen]
impl ThreadPoolStarter {
    #[wasm_bindgen(getter, js_name = nThreads)]
    pub fn n_threads(&self) -> usize {
        self.n_threads
    }

    /// The address thread workers pass to [`ThreadPoolStarter::run_thread`].
    #[wasm_bindgen(getter)]
    pub fn address(&self) -> usize {
        self as *const ThreadPoolStarter as usize
    }

    /// Makes the waiting thread workers rayon's global pool (once all have called
    /// `run_thread`).
    pub fn build(&self) -> Result<(), JsValue> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.n_threads)
            .spawn_handler(|thread| {
                self.sender
                    .send(thread)
                    .map_err(|_| std::io::Error::other("thread workers are gone"))
            })
            .build_global()
            .map_err(|e| {
                js_error(
                    "ERR_INTERNAL",
                    &format!("cannot start the thread pool: {e}"),
                )
            })
    }

    /// A thread worker's body: waits for its rayon thread and runs it (forever).
    #[wasm_bindgen(js_name = runThread)]
    pub fn run_thread(address: usize) {
        // SAFETY: `address` is `ThreadPoolStarter::address` of a starter the model's worker
        // keeps alive for as long as the pool exists (until the worker is terminated), and
        // all access through it is `&self` (the receiver behind a Mutex).
        let starter = unsafe { &*(address as *const ThreadPoolStarter) };
        let next = starter.receiver.lock().map(|r| r.recv());
        if let Ok(Ok(thread)) = next {
            thread.run();
        }
    }
}
