//! The attempt loop: how one input becomes one outcome, whoever asked for it — a map's chunk, an
//! `apply_async`, a [`Process`](crate::process::Process). Each attempt gets its identity (a task
//! id and an attempt number the guest can read) and a tracing span; a failed attempt's instance
//! serves no other task, and a failure is run again in a fresh instance while retries remain; a
//! cancelled input is not retried.

use std::time::{Duration, Instant};

use crate::error::TaskError;
use crate::run::{Runner, guarded, next_task_id};
use crate::sandbox::{CancelFlag, Identity};

/// How one input's attempts run.
pub(crate) struct Attempts<'a> {
    /// Failures run again, each in a fresh instance, up to this many times.
    pub(crate) retries: u32,
    /// Stops the attempts (a map dropped, a pool terminated, a process killed).
    pub(crate) cancel: &'a CancelFlag,
    /// Whether each attempt is timed (a clock read costs as much as a tiny task's call).
    pub(crate) timed: bool,
}

/// Who the task is: a map's input (by index), or a process (by the id it was given).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Who {
    /// The input's index in its map.
    pub(crate) input: Option<usize>,
    /// The task id every attempt has (a process's); `None`: a fresh id per attempt.
    pub(crate) task_id: Option<u64>,
}

/// How one input ran: the [`Outcome`](crate::map::Outcome) fields besides its result.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Details {
    pub(crate) attempts: u32,
    pub(crate) duration: Duration,
    pub(crate) peak_memory: u64,
}

impl Attempts<'_> {
    /// Runs `input` in `session`'s instance (or a fresh one), again in a fresh instance after
    /// each failure while retries remain, until it succeeds, fails for good, is cancelled, or
    /// `skipped` says it is no longer wanted (a fail-fast map past its first failure). `clock`
    /// is when the input started; a timed run leaves it at when the input ended.
    pub(crate) fn run<R: Runner>(
        &self,
        runner: &R,
        input: &R::Input,
        who: Who,
        session: &mut Option<R::Session>,
        clock: &mut Instant,
        skipped: impl Fn() -> bool,
    ) -> (Result<R::Output, TaskError>, Details) {
        let mut details = Details::default();
        let result = loop {
            if skipped() || self.cancel.is_cancelled() {
                break Err(TaskError::Cancelled);
            }
            details.attempts += 1;
            let started = *clock;
            let identity = Identity {
                task_id: who.task_id.unwrap_or_else(next_task_id),
                attempt: details.attempts,
                input: who.input,
            };
            let span = tracing::debug_span!(
                "task",
                index = who.input,
                attempt = details.attempts,
                id = identity.task_id
            );
            let _entered = span.enter();
            let ran = guarded(|| runner.run(session, input, identity, self.cancel));
            let elapsed = if self.timed {
                *clock = Instant::now();
                clock.duration_since(started)
            } else {
                Duration::ZERO
            };
            details.duration += elapsed;
            details.peak_memory = details.peak_memory.max(ran.memory);
            match &ran.result {
                Ok(_) => tracing::trace!(?elapsed, memory = ran.memory, "task done"),
                Err(error) => {
                    // A failed task's instance (even one a host panic left behind) serves no
                    // other task.
                    *session = None;
                    tracing::debug!(?elapsed, kind = error.kind(), %error, "task failed");
                }
            }
            match ran.result {
                Err(ref error)
                    if *error != TaskError::Cancelled && details.attempts <= self.retries =>
                {
                    continue;
                }
                result => break result,
            }
        };
        (result, details)
    }
}
