//! The map engine: reads inputs lazily, cuts them into chunks, keeps a bounded number of items
//! in flight on the scheduler, and hands outcomes back in input order (through a bounded reorder
//! buffer) or as they complete.
//!
//! Memory is bounded whatever the input's length: at most `4 × workers` chunks are in flight, and
//! an ordered map holds at most the in-flight items in its reorder buffer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::TaskError;
use crate::module::Module;
use crate::sandbox::{CancelFlag, Identity, Policy};
use crate::scheduler::{Producer, Scheduler};
use crate::task::{self, Call, TaskOutput};

/// Chunks in flight per worker: enough that a worker finishing a chunk finds the next one queued.
const CHUNKS_PER_WORKER: usize = 4;
/// The duration an adaptive chunk aims at: long enough to amortize scheduling, short enough to
/// balance and to stream.
const TARGET_CHUNK_TIME: Duration = Duration::from_millis(2);
/// The largest adaptive chunk.
const MAX_ADAPTIVE_CHUNK: usize = 4096;

/// One input's outcome in a map.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The input's index, from 0.
    pub index: usize,
    /// How many times the task was run (1, or more with retries; 0 when it never ran).
    pub attempts: u32,
    /// What the last attempt produced.
    pub result: Result<TaskOutput, TaskError>,
    /// Wall-clock time of all attempts.
    pub duration: Duration,
    /// The most linear memory an attempt had, in bytes.
    pub peak_memory: u64,
}

impl Outcome {
    /// The outcome of an input that was never run (it could not be encoded, or was cancelled
    /// before it started).
    pub(crate) fn not_run(index: usize, error: TaskError) -> Self {
        Self {
            index,
            attempts: 0,
            result: Err(error),
            duration: Duration::ZERO,
            peak_memory: 0,
        }
    }
}

/// How a map cuts its input into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chunking {
    /// This many items per chunk.
    Fixed(usize),
    /// Python's rule for a known length, adaptive (by measured task time) for a stream.
    Auto,
}

/// The tasks of one map (or one `apply`): what runs, under which policy, and how it stops.
pub(crate) struct MapTasks {
    pub(crate) module: Module,
    pub(crate) call: Call,
    pub(crate) policy: Policy,
    /// Failed tasks are run again, each time in a fresh instance, up to this many times.
    pub(crate) retries: u32,
    /// Cancelled when the map is dropped or its pool terminated: remaining items are skipped,
    /// running ones interrupted.
    pub(crate) cancel: CancelFlag,
    /// Fail-fast maps skip items after the first failure by index.
    pub(crate) fail_fast: bool,
}

/// What every chunk of one map shares: its tasks, and what the workers learn as they run them.
pub(crate) struct MapShared {
    tasks: MapTasks,
    /// The first failure by index of a fail-fast map (`usize::MAX`: none yet).
    first_failure: AtomicUsize,
    /// Mean task time in nanoseconds (exponentially weighted), for adaptive chunks.
    mean_task_nanos: AtomicU64,
}

impl MapShared {
    pub(crate) fn new(tasks: MapTasks) -> Self {
        Self {
            tasks,
            first_failure: AtomicUsize::new(usize::MAX),
            mean_task_nanos: AtomicU64::new(0),
        }
    }

    /// Runs one chunk's items in order on the calling worker.
    fn run_chunk(&self, items: Vec<(usize, Vec<u8>)>) -> Vec<Outcome> {
        items
            .into_iter()
            .map(|(index, input)| self.run_item(index, &input))
            .collect()
    }

    /// Runs one item, again in a fresh instance after each failure while retries remain.
    pub(crate) fn run_item(&self, index: usize, input: &[u8]) -> Outcome {
        let (mut attempts, mut duration, mut peak_memory) = (0, Duration::ZERO, 0);
        let result = loop {
            let skipped =
                self.tasks.fail_fast && index > self.first_failure.load(Ordering::Relaxed);
            if skipped || self.tasks.cancel.is_cancelled() {
                break Err(TaskError::Cancelled);
            }
            attempts += 1;
            let started = Instant::now();
            let identity = Identity {
                task_id: task::next_task_id(),
                attempt: attempts,
            };
            let span =
                tracing::debug_span!("task", index, attempt = attempts, id = identity.task_id);
            let _entered = span.enter();
            let ran = task::run(
                &self.tasks.module,
                &self.tasks.call,
                input,
                &self.tasks.policy,
                identity,
                self.tasks.cancel.clone(),
            );
            let elapsed = started.elapsed();
            self.record_task_time(elapsed);
            duration += elapsed;
            peak_memory = peak_memory.max(ran.memory);
            match &ran.result {
                Ok(_) => tracing::trace!(?elapsed, memory = ran.memory, "task done"),
                Err(error) => tracing::debug!(?elapsed, kind = error.kind(), %error, "task failed"),
            }
            match ran.result {
                Err(ref error)
                    if *error != TaskError::Cancelled && attempts <= self.tasks.retries =>
                {
                    continue;
                }
                result => break result,
            }
        };
        if self.tasks.fail_fast && matches!(&result, Err(error) if *error != TaskError::Cancelled) {
            self.first_failure.fetch_min(index, Ordering::Relaxed);
        }
        Outcome {
            index,
            attempts,
            result,
            duration,
            peak_memory,
        }
    }

    fn record_task_time(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let mean = self.mean_task_nanos.load(Ordering::Relaxed);
        let updated = if mean == 0 {
            nanos
        } else {
            (mean * 7 + nanos) / 8
        };
        self.mean_task_nanos
            .store(updated.max(1), Ordering::Relaxed);
    }
}

/// An input prepared for a map: bytes to run, or an outcome known without running (an input
/// that could not be encoded or parsed).
pub(crate) type Prepared = Result<Vec<u8>, TaskError>;

/// A running map: an iterator of outcomes that pulls its inputs as it goes.
pub(crate) struct MapStream<'p> {
    scheduler: &'p Scheduler,
    shared: Arc<MapShared>,
    /// Each queued chunk sends its outcomes with a clone of this.
    sender: mpsc::Sender<Vec<Outcome>>,
    results: mpsc::Receiver<Vec<Outcome>>,
    inputs: Box<dyn Iterator<Item = Prepared> + 'p>,
    inputs_done: bool,
    /// A fail-fast map stops reading once an outcome failed.
    stopped: bool,
    ordered: bool,
    chunking: Chunking,
    known_length: Option<usize>,
    workers: usize,
    next_index: usize,
    next_to_yield: usize,
    in_flight: usize,
    ready: BTreeMap<usize, Outcome>,
    _producer: Producer,
}

/// The settings of one map.
pub(crate) struct MapSettings {
    pub(crate) tasks: MapTasks,
    pub(crate) chunking: Chunking,
    pub(crate) ordered: bool,
    pub(crate) workers: usize,
}

impl<'p> MapStream<'p> {
    pub(crate) fn new(
        scheduler: &'p Scheduler,
        settings: MapSettings,
        inputs: Box<dyn Iterator<Item = Prepared> + 'p>,
    ) -> Self {
        let (sender, results) = mpsc::channel();
        let known_length = match inputs.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        };
        let shared = Arc::new(MapShared::new(settings.tasks));
        Self {
            scheduler,
            shared,
            sender,
            results,
            inputs,
            inputs_done: false,
            stopped: false,
            ordered: settings.ordered,
            chunking: settings.chunking,
            known_length,
            workers: settings.workers.max(1),
            next_index: 0,
            next_to_yield: 0,
            in_flight: 0,
            ready: BTreeMap::new(),
            _producer: scheduler.producer(),
        }
    }

    /// The next outcome if one is ready now, without waiting.
    pub(crate) fn try_next(&mut self) -> Option<Outcome> {
        self.fill();
        self.receive_ready();
        self.pop_ready()
    }

    /// The chunk size for the next chunk.
    fn chunk_size(&self) -> usize {
        match (self.chunking, self.known_length) {
            (Chunking::Fixed(size), _) => size.max(1),
            // Python's rule: four chunks per worker.
            (Chunking::Auto, Some(length)) => {
                length.div_ceil(self.workers * CHUNKS_PER_WORKER).max(1)
            }
            (Chunking::Auto, None) => {
                let mean = self.shared.mean_task_nanos.load(Ordering::Relaxed);
                let target = TARGET_CHUNK_TIME.as_nanos() as u64;
                // No measurement yet: one item, to measure quickly.
                target.checked_div(mean).map_or(1, |size| {
                    usize::try_from(size)
                        .unwrap_or(MAX_ADAPTIVE_CHUNK)
                        .clamp(1, MAX_ADAPTIVE_CHUNK)
                })
            }
        }
    }

    /// Reads inputs and queues chunks until the read-ahead bound is reached.
    fn fill(&mut self) {
        // A cancelled map (its pool terminated) reads no more input.
        self.stopped |= self.shared.tasks.cancel.is_cancelled();
        while !self.inputs_done && !self.stopped {
            let size = self.chunk_size();
            if self.in_flight + size > size * CHUNKS_PER_WORKER * self.workers {
                return;
            }
            let mut items = Vec::with_capacity(size);
            while items.len() < size {
                let Some(input) = self.inputs.next() else {
                    self.inputs_done = true;
                    break;
                };
                let index = self.next_index;
                self.next_index += 1;
                match input {
                    Ok(bytes) => items.push((index, bytes)),
                    Err(error) => {
                        self.stopped |= self.shared.tasks.fail_fast;
                        self.ready.insert(index, Outcome::not_run(index, error));
                        if self.stopped {
                            break;
                        }
                    }
                }
            }
            if items.is_empty() {
                continue;
            }
            self.in_flight += items.len();
            let (shared, sender) = (Arc::clone(&self.shared), self.sender.clone());
            self.scheduler.push(Box::new(move || {
                // The receiver is gone when the map was dropped: nobody wants the outcomes.
                let _ = sender.send(shared.run_chunk(items));
            }));
        }
    }

    fn receive_ready(&mut self) {
        while let Ok(batch) = self.results.try_recv() {
            self.accept(batch);
        }
    }

    fn accept(&mut self, batch: Vec<Outcome>) {
        for outcome in batch {
            self.in_flight -= 1;
            if self.shared.tasks.fail_fast
                && matches!(&outcome.result, Err(error) if *error != TaskError::Cancelled)
            {
                self.stopped = true;
            }
            self.ready.insert(outcome.index, outcome);
        }
    }

    fn pop_ready(&mut self) -> Option<Outcome> {
        let index = if self.ordered {
            self.next_to_yield
        } else {
            *self.ready.keys().next()?
        };
        let outcome = self.ready.remove(&index)?;
        if self.ordered {
            self.next_to_yield += 1;
        }
        Some(outcome)
    }
}

impl Iterator for MapStream<'_> {
    type Item = Outcome;

    fn next(&mut self) -> Option<Outcome> {
        loop {
            if let Some(outcome) = self.try_next() {
                return Some(outcome);
            }
            if self.in_flight == 0 && (self.inputs_done || self.stopped) {
                // An ordered map that stopped early may hold outcomes past a gap of unread
                // inputs; they are yielded in order.
                return self.ready.pop_first().map(|(_, outcome)| outcome);
            }
            if self.in_flight == 0 {
                continue;
            }
            // Every queued chunk sends its outcomes (a task's panic is its outcome, never the
            // worker's), and the stream holds a sender itself, so this waits, never disconnects.
            let Ok(batch) = self.results.recv() else {
                return None;
            };
            self.accept(batch);
        }
    }
}

impl Drop for MapStream<'_> {
    fn drop(&mut self) {
        // Outcomes nobody will read: skip what has not started and interrupt what runs.
        if self.in_flight > 0 {
            self.shared
                .tasks
                .cancel
                .cancel_now(self.shared.tasks.module.engine());
        }
    }
}
