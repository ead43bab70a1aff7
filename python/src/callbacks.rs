//! The pool's callback thread: it runs each finished async result's callbacks (a job made by
//! `async_result`) in the order results complete, as multiprocessing's result handler does, and
//! counts those still to run, for the pool's `join`.

use std::sync::mpsc::{self, Sender};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// What the thread runs for one result: its callbacks, then making it ready.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The pool's callback thread, started on first use.
#[derive(Default)]
pub(crate) struct CallbackThread {
    queue: OnceLock<Mutex<Sender<Job>>>,
    /// Results with callbacks whose callbacks have not run yet.
    pending: Mutex<usize>,
    /// Signalled when `pending` falls to 0.
    idle: Condvar,
}

impl CallbackThread {
    /// Counts a result whose callbacks are to run.
    pub(crate) fn expect_one(&self) {
        *self.pending.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    }

    /// Counts a result whose callbacks have run.
    pub(crate) fn done_one(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        *pending = pending.saturating_sub(1);
        if *pending == 0 {
            self.idle.notify_all();
        }
    }

    /// Waits up to `slice` until every callback expected has run; whether they have.
    pub(crate) fn wait_idle(&self, slice: Duration) -> bool {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let (pending, _) = self
            .idle
            .wait_timeout_while(pending, slice, |pending| *pending > 0)
            .unwrap_or_else(PoisonError::into_inner);
        *pending == 0
    }

    /// Hands `job` to the thread, starting it on first use; the job back when there is no
    /// thread (it could not start: said on stderr).
    pub(crate) fn queue(&self, job: Job) -> Result<(), Job> {
        let sender = self.queue.get_or_init(|| {
            let (sender, jobs) = mpsc::channel::<Job>();
            let started = std::thread::Builder::new()
                .name("hecaton-py-callbacks".into())
                .spawn(move || {
                    for job in jobs {
                        job();
                    }
                });
            if let Err(error) = started {
                eprintln!("hecaton: cannot start the callback thread: {error}");
            }
            Mutex::new(sender)
        });
        sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .map_err(|mpsc::SendError(job)| job)
    }
}
