//! Work stealing over OS threads, in the crossbeam-deque idiom (see `README.md` beside this file).
//!
//! A [`Scheduler`] owns `n` worker threads named `hecaton-worker-N`. Work items (a pool's chunks of
//! items) are pushed into one global [`Injector`]; each worker has its own [`Worker`] deque and
//! finds work in this order:
//!
//! 1. pop from its own deque;
//! 2. take a batch from the injector into its deque and pop one;
//! 3. steal one work item from another worker's deque ([`Stealer`]);
//!
//! retrying the whole search only when a steal returned [`Steal::Retry`] (a lost race, not an
//! empty queue). A worker that finds nothing parks on a condition variable; a push wakes one.
//! Workers stop only when the scheduler is closed, no producer is active and every queue is
//! empty, so a stopping worker never leaves a work item behind.

use std::cell::Cell;
use std::iter;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use crate::error::Error;
use crate::stack;

thread_local! {
    /// The index of the worker running on this thread, if it is one.
    static WORKER_INDEX: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The index (from 0) of the worker thread calling, or `None` on any other thread.
pub(crate) fn current_worker() -> Option<usize> {
    WORKER_INDEX.get()
}

/// A unit of work: a chunk of a map, or one `apply`.
pub(crate) type Work = Box<dyn FnOnce() + Send + 'static>;

/// A set of worker threads sharing a global injector, each with its own deque.
pub(crate) struct Scheduler {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

struct Shared {
    injector: Injector<Work>,
    stealers: Vec<Stealer<Work>>,
    /// Whether new work may come: false once closed.
    sleep: Mutex<Gate>,
    wake: Condvar,
    /// Producers that may still push (a lazy map that has not read its whole input).
    producers: AtomicUsize,
}

struct Gate {
    closed: bool,
}

/// Holds the scheduler open while a producer may push; dropping it lets workers stop once the
/// scheduler is closed and drained.
pub(crate) struct Producer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("workers", &self.shared.stealers.len())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// Starts `workers` threads, each able to run wasm whose stack limit is at most
    /// `max_stack` (see `stack`).
    pub(crate) fn new(workers: usize, max_stack: usize) -> Result<Self, Error> {
        let deques: Vec<Worker<Work>> = (0..workers).map(|_| Worker::new_fifo()).collect();
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            stealers: deques.iter().map(Worker::stealer).collect(),
            sleep: Mutex::new(Gate { closed: false }),
            wake: Condvar::new(),
            producers: AtomicUsize::new(0),
        });
        let mut threads = Vec::with_capacity(workers);
        for (index, deque) in deques.into_iter().enumerate() {
            let worker_shared = Arc::clone(&shared);
            let thread = stack::spawn(format!("hecaton-worker-{index}"), max_stack, move || {
                WORKER_INDEX.set(Some(index));
                worker_shared.work(&deque);
            });
            match thread {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    let scheduler = Self {
                        shared,
                        threads: Mutex::new(threads),
                    };
                    scheduler.close_and_join();
                    return Err(error);
                }
            }
        }
        Ok(Self {
            shared,
            threads: Mutex::new(threads),
        })
    }

    /// Queues a work item and wakes a parked worker.
    pub(crate) fn push(&self, work: Work) {
        self.shared.injector.push(work);
        self.shared.wake_one();
    }

    /// Registers a producer; workers do not stop while it lives.
    pub(crate) fn producer(&self) -> Producer {
        self.shared.producers.fetch_add(1, Ordering::SeqCst);
        Producer {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Whether [`Scheduler::close_and_join`] (or `close`) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.gate().closed
    }

    /// No more producers may register; workers stop once the queues are drained.
    pub(crate) fn close(&self) {
        self.shared.gate().closed = true;
        self.shared.wake.notify_all();
    }

    /// Closes, then waits for every worker to finish the queued work and stop.
    pub(crate) fn close_and_join(&self) {
        self.close();
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for thread in threads {
            // A worker never panics (work items catch their own panics); nothing to report if
            // one did.
            let _ = thread.join();
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.shared.producers.fetch_sub(1, Ordering::SeqCst);
        // A parked worker may now be allowed to stop.
        let _gate = self.shared.gate();
        self.shared.wake.notify_all();
    }
}

impl Shared {
    fn gate(&self) -> MutexGuard<'_, Gate> {
        self.sleep.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake_one(&self) {
        // Taking the lock orders this wake-up after a worker's last look at the queues (which it
        // makes holding the lock), so a worker about to park cannot miss the new work item.
        drop(self.gate());
        self.wake.notify_one();
    }

    /// A worker's loop: run work items while there are any, park when there are none, stop when
    /// closed and drained.
    fn work(&self, local: &Worker<Work>) {
        tracing::trace!("worker started");
        loop {
            // Phase 1: find a work item and run it.
            if let Some(work) = self.find_work(local) {
                // A batch taken from the injector may have left work items in this deque that a
                // parked worker could steal: wake one.
                if !local.is_empty() {
                    self.wake.notify_one();
                }
                work();
                continue;
            }
            // Phase 2: nothing found; look again holding the lock, then stop or park.
            let gate = self.gate();
            if self.has_work() {
                continue;
            }
            if gate.closed && self.producers.load(Ordering::SeqCst) == 0 {
                tracing::trace!("worker stopped");
                return;
            }
            drop(self.wake.wait(gate).unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// Local pop, then a batch from the injector, then a steal from another worker; retried only
    /// when some steal reported [`Steal::Retry`].
    fn find_work(&self, local: &Worker<Work>) -> Option<Work> {
        local.pop().or_else(|| {
            iter::repeat_with(|| {
                self.injector
                    .steal_batch_and_pop(local)
                    .or_else(|| self.stealers.iter().map(Stealer::steal).collect())
            })
            .find(|steal| !steal.is_retry())
            .and_then(Steal::success)
        })
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|stealer| !stealer.is_empty())
    }
}
