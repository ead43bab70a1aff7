//! The iterators of a pool's maps, and the handle of `apply_async`.

use std::marker::PhantomData;
use std::sync::mpsc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::abi::Numbers;
use crate::error::TaskError;
use crate::map::{MapStream, Outcome};
use crate::output::TaskOutput;
use crate::run::json::JsonRunner;
use crate::run::typed::TypedRunner;

/// The lazy ordered iterator of [`Pool::imap`](crate::pool::Pool::imap): one outcome per input, in input order.
pub struct Imap<'p, O> {
    pub(super) stream: MapStream<'p, JsonRunner>,
    pub(super) _output: PhantomData<fn() -> O>,
}

impl<O: DeserializeOwned> Iterator for Imap<'_, O> {
    type Item = Result<O, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        let outcome = self.stream.next()?;
        Some(outcome.result.and_then(|output| output.decode()))
    }
}

impl<O> std::fmt::Debug for Imap<'_, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imap").finish_non_exhaustive()
    }
}

/// The lazy ordered iterator of [`Job::imap_numeric`](crate::pool::Job::imap_numeric): one typed outcome per input, in input
/// order.
pub struct NumericImap<'p, P: Numbers, R: Numbers> {
    pub(super) stream: MapStream<'p, TypedRunner<P, R>>,
}

impl<P: Numbers, R: Numbers> Iterator for NumericImap<'_, P, R> {
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.stream.next()?.result)
    }
}

impl<P: Numbers, R: Numbers> std::fmt::Debug for NumericImap<'_, P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumericImap").finish_non_exhaustive()
    }
}

/// The iterator of [`Pool::imap_unordered`](crate::pool::Pool::imap_unordered): `(input index, outcome)` as tasks complete.
pub struct ImapUnordered<'p, O> {
    pub(super) stream: MapStream<'p, JsonRunner>,
    pub(super) _output: PhantomData<fn() -> O>,
}

impl<O: DeserializeOwned> Iterator for ImapUnordered<'_, O> {
    type Item = (usize, Result<O, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        let outcome = self.stream.next()?;
        Some((
            outcome.index,
            outcome.result.and_then(|output| output.decode()),
        ))
    }
}

impl<O> std::fmt::Debug for ImapUnordered<'_, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapUnordered").finish_non_exhaustive()
    }
}

/// The untyped iterator of [`Job::imap_raw`](crate::pool::Job::imap_raw): one [`Outcome`] per input.
pub struct RawImap<'p> {
    pub(super) stream: MapStream<'p, JsonRunner>,
}

impl RawImap<'_> {
    /// The next outcome if one is ready now, without waiting (to flush output before blocking).
    pub fn try_next(&mut self) -> Option<Outcome> {
        self.stream.try_next()
    }
}

impl Iterator for RawImap<'_> {
    type Item = Outcome;

    fn next(&mut self) -> Option<Self::Item> {
        self.stream.next()
    }
}

impl std::fmt::Debug for RawImap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawImap").finish_non_exhaustive()
    }
}

/// The handle of [`Pool::apply_async`](crate::pool::Pool::apply_async).
#[derive(Debug)]
pub struct AsyncResult<O> {
    pub(super) receiver: mpsc::Receiver<Result<TaskOutput, TaskError>>,
    pub(super) outcome: Option<Result<TaskOutput, TaskError>>,
    pub(super) _output: PhantomData<fn() -> O>,
}

impl<O: DeserializeOwned> AsyncResult<O> {
    /// Waits for the outcome and returns it.
    ///
    /// # Errors
    /// The task's failure.
    pub fn get(mut self) -> Result<O, TaskError> {
        self.wait();
        self.take()
    }

    /// Waits at most `timeout`; `None` when the task has not ended by then (the handle stays
    /// usable).
    pub fn get_timeout(&mut self, timeout: Duration) -> Option<Result<O, TaskError>> {
        if self.outcome.is_none() {
            match self.receiver.recv_timeout(timeout) {
                Ok(outcome) => self.outcome = Some(outcome),
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.outcome = Some(Err(TaskError::Cancelled))
                }
            }
        }
        Some(self.take())
    }

    /// Whether the task has ended.
    pub fn ready(&mut self) -> bool {
        if self.outcome.is_none() {
            match self.receiver.try_recv() {
                Ok(outcome) => self.outcome = Some(outcome),
                Err(mpsc::TryRecvError::Empty) => return false,
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.outcome = Some(Err(TaskError::Cancelled))
                }
            }
        }
        true
    }

    /// Waits until the task has ended.
    pub fn wait(&mut self) {
        if self.outcome.is_none() {
            self.outcome = Some(self.receiver.recv().unwrap_or(Err(TaskError::Cancelled)));
        }
    }

    fn take(&mut self) -> Result<O, TaskError> {
        match self.outcome.as_ref() {
            Some(outcome) => outcome.clone().and_then(|output| output.decode()),
            None => Err(TaskError::Cancelled),
        }
    }
}
