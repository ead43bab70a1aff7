//! The threads that run [`Process`](crate::process::Process)es. A thread that finished a process waits a while for
//! the next one, so that a spawn costs a wake-up (a few microseconds) instead of starting an OS
//! thread (tens); a thread idle for [`IDLE_TIMEOUT`] exits. A thread is sized for the wasm
//! stack limit of the engine it was started for (`stack`), and serves only processes whose
//! limit it holds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::error::Error;
use crate::stack;

/// How long a process thread waits for the next process before it exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The work of one process.
pub(crate) type ProcessJob = Box<dyn FnOnce() + Send + 'static>;

/// A thread waiting for a process.
struct Idle {
    id: u64,
    /// The wasm stack limit the thread holds.
    max_stack: usize,
    /// Where it receives its next job.
    sender: mpsc::Sender<ProcessJob>,
}

/// The threads waiting for a process.
static IDLE: Mutex<Vec<Idle>> = Mutex::new(Vec::new());

/// Runs `job`, whose wasm stack limit is `max_stack`, on an idle process thread that holds it,
/// or on a new one.
pub(crate) fn run(max_stack: usize, job: ProcessJob) -> Result<(), Error> {
    let mut job = job;
    loop {
        let idle = {
            let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
            let fits = idle
                .iter()
                .rposition(|thread| thread.max_stack >= max_stack);
            fits.map(|position| idle.swap_remove(position))
        };
        let Some(Idle { sender, .. }) = idle else {
            break;
        };
        // A thread that already exited hands the job back: try the next one.
        match sender.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(returned)) => job = returned,
        }
    }
    let (sender, receiver) = mpsc::channel();
    // The channel is the thread's own; sending on it right after creating it cannot fail.
    let _ = sender.send(job);
    static NEXT_THREAD: AtomicU64 = AtomicU64::new(0);
    let id = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
    stack::spawn("hecaton-process".into(), max_stack, move || {
        serve(id, max_stack, &sender, &receiver)
    })
    .map(drop)
}

/// Runs jobs as they come, offering the thread again after each, until it is idle too long.
fn serve(
    id: u64,
    max_stack: usize,
    sender: &mpsc::Sender<ProcessJob>,
    receiver: &mpsc::Receiver<ProcessJob>,
) {
    let offer = || Idle {
        id,
        max_stack,
        sender: sender.clone(),
    };
    loop {
        match receiver.recv_timeout(IDLE_TIMEOUT) {
            Ok(job) => run_and_offer(job, offer()),
            Err(RecvTimeoutError::Timeout) => {
                let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
                match idle.iter().position(|thread| thread.id == id) {
                    Some(position) => {
                        idle.swap_remove(position);
                        return;
                    }
                    // A spawner took this thread off the list just now: its job is coming.
                    None => {
                        drop(idle);
                        if let Ok(job) = receiver.recv() {
                            run_and_offer(job, offer());
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Runs `job`, then offers the thread for the next process.
fn run_and_offer(job: ProcessJob, thread: Idle) {
    job();
    IDLE.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(thread);
}
