//! The threads that run [`Process`](crate::process::Process)es. A thread that finished a process waits a while for
//! the next one, so that a spawn costs a wake-up (a few microseconds) instead of starting an OS
//! thread (tens); a thread idle for [`IDLE_TIMEOUT`] exits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use crate::error::Error;

/// How long a process thread waits for the next process before it exits.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The work of one process.
pub(crate) type ProcessJob = Box<dyn FnOnce() + Send + 'static>;

/// The threads waiting for a process: each one's id and the sender it receives its job on.
static IDLE: Mutex<Vec<(u64, mpsc::Sender<ProcessJob>)>> = Mutex::new(Vec::new());

/// Runs `job` on an idle process thread, or on a new one.
pub(crate) fn run(job: ProcessJob) -> Result<(), Error> {
    let mut job = job;
    loop {
        let idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let Some((_, sender)) = idle else {
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
    thread::Builder::new()
        .name("hecaton-process".into())
        .spawn(move || serve(id, &sender, &receiver))
        .map(drop)
        .map_err(Error::Thread)
}

/// Runs jobs as they come, offering the thread again after each, until it is idle too long.
fn serve(id: u64, sender: &mpsc::Sender<ProcessJob>, receiver: &mpsc::Receiver<ProcessJob>) {
    loop {
        match receiver.recv_timeout(IDLE_TIMEOUT) {
            Ok(job) => run_and_offer(id, sender, job),
            Err(RecvTimeoutError::Timeout) => {
                let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
                match idle.iter().position(|(idle_id, _)| *idle_id == id) {
                    Some(position) => {
                        idle.swap_remove(position);
                        return;
                    }
                    // A spawner took this thread off the list just now: its job is coming.
                    None => {
                        drop(idle);
                        if let Ok(job) = receiver.recv() {
                            run_and_offer(id, sender, job);
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Runs `job`, then offers the thread for the next process.
fn run_and_offer(id: u64, sender: &mpsc::Sender<ProcessJob>, job: ProcessJob) {
    job();
    IDLE.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((id, sender.clone()));
}
