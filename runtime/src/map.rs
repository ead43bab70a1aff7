//! The map's stream: reads inputs lazily, cuts them into chunks, keeps a bounded number of items
//! in flight on the scheduler, and hands outcomes back in input order (through a bounded reorder
//! buffer) or as they complete.
//!
//! Memory is bounded whatever the input's length: at most `4 × workers` chunks are queued, and
//! the outcomes not yet handed back (waiting for a slow consumer, or behind a slow item of an
//! ordered map) are at most 64 Ki items or four chunks per worker, whichever is more.
//!
//! Inputs are pulled on the map's own thread when it needs more ([`MapStream::new`]), or, for a
//! source that may block (stdin, a pipe, a socket), read by a thread of their own that the map
//! asks for so many items at a time ([`MapStream::fed`]): while that thread waits for the next
//! line, outcomes go on flowing to the consumer. The thread hands inputs over in batches (what the
//! source had at hand together), so a fast source costs one channel message per batch, not per
//! input. The same bound holds: the map asks for no more than it may have in flight, and a batch
//! passes it by at most its own length.
//!
//! Where a chunk runs is its [`Executor`]'s business: this process's worker threads
//! ([`Threads`], the scheduler's work stealing), or a cluster's workers on other machines
//! (`cluster`, which runs each chunk there through [`MapShared::run_chunk`], the same path). The
//! stream above it (reading, chunking, the in-flight bound, fail-fast, reordering) is one.

use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use crate::error::{Error, TaskError};
use crate::isolation::Isolation;
use crate::output::TaskOutput;
use crate::run::Runner;
use crate::run::attempt::{Attempts, Details, Who};
use crate::run::json::JsonRunner;
use crate::sandbox::CancelFlag;
use crate::scheduler::{self, Producer, Scheduler};

/// Chunks in flight per worker: enough that a worker finishing a chunk finds the next one queued.
const CHUNKS_PER_WORKER: usize = 4;
/// The duration an adaptive chunk aims at: long enough to amortize scheduling, short enough to
/// balance and to stream.
const TARGET_CHUNK_TIME: Duration = Duration::from_millis(2);
/// The largest adaptive chunk.
const MAX_ADAPTIVE_CHUNK: usize = 4096;
/// Outcomes a map may hold for a slow consumer (or behind a slow first item, in order) while
/// workers go on: enough to keep them busy past a heavy item, bounded whatever the input.
const MAX_UNYIELDED: usize = 64 * 1024;
/// The largest automatic chunk of an input of known length: Python's rule cuts a long input into
/// huge chunks, whose outcome buffers would be fresh memory (page faults) every time; chunks of
/// this size reuse the allocator's memory and still amortize scheduling.
const MAX_AUTO_CHUNK: usize = 16 * 1024;

/// One input's outcome in a map.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome<T = TaskOutput> {
    /// The input's index, from 0.
    pub index: usize,
    /// How many times the task was run (1, or more with retries; 0 when it never ran).
    pub attempts: u32,
    /// What the last attempt produced.
    pub result: Result<T, TaskError>,
    /// Wall-clock time of all attempts.
    pub duration: Duration,
    /// The most linear memory an attempt's instance had, in bytes.
    pub peak_memory: u64,
}

/// How a map cuts its input into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chunking {
    /// This many items per chunk.
    Fixed(usize),
    /// Python's rule for a known length, adaptive (by measured task time) for a stream.
    Auto,
}

/// The plan of one map: what runs, how instances are shared, how it stops.
pub(crate) struct MapPlan<R> {
    pub(crate) runner: R,
    pub(crate) isolation: Isolation,
    /// Failed tasks are run again, each time in a fresh instance, up to this many times.
    pub(crate) retries: u32,
    /// Cancelled when the map is dropped or its pool terminated: remaining items are skipped,
    /// running ones interrupted.
    pub(crate) cancel: CancelFlag,
    /// Fail-fast maps skip items after the first failure by index.
    pub(crate) fail_fast: bool,
    /// Whether each outcome carries its attempts, duration and peak memory (else they are 0: a
    /// clock read costs as much as a tiny task's call, and the map's thread reads less).
    pub(crate) timed: bool,
}

/// A worker's kept instance under [`Isolation::Worker`], and how many tasks it has served.
struct WorkerSession<S> {
    session: Option<S>,
    tasks: usize,
}

/// What every chunk of one map shares: its tasks, the instances its workers keep, and what the
/// workers learn as they run them.
pub(crate) struct MapShared<R: Runner> {
    plan: MapPlan<R>,
    /// One kept instance per worker thread ([`Isolation::Worker`]); dropped with the map.
    worker_sessions: Vec<Mutex<WorkerSession<R::Session>>>,
    /// The first failure by index of a fail-fast map (`usize::MAX`: none yet).
    first_failure: AtomicUsize,
    /// Mean task time in nanoseconds (exponentially weighted over chunks), for adaptive chunks.
    mean_task_nanos: AtomicU64,
}

impl<R: Runner> MapShared<R> {
    /// The shared state of a map run by `workers` worker threads.
    pub(crate) fn new(plan: MapPlan<R>, workers: usize) -> Self {
        let worker_sessions = match plan.isolation {
            Isolation::Worker { .. } => (0..workers)
                .map(|_| {
                    Mutex::new(WorkerSession {
                        session: None,
                        tasks: 0,
                    })
                })
                .collect(),
            Isolation::Task | Isolation::Chunk => Vec::new(),
        };
        Self {
            plan,
            worker_sessions,
            first_failure: AtomicUsize::new(usize::MAX),
            mean_task_nanos: AtomicU64::new(0),
        }
    }

    /// The map's plan.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn plan(&self) -> &MapPlan<R> {
        &self.plan
    }

    /// Runs one chunk's items in order on the calling worker, in the instances its isolation
    /// asks for.
    pub(crate) fn run_chunk(&self, chunk: Chunk<R::Input>) -> Batch<R::Output> {
        let started = Instant::now();
        // One clock read per task: a task's end is the next one's start.
        let mut clock = started;
        let count = chunk.inputs.len();
        let mut batch = Batch {
            first: chunk.first,
            results: Vec::with_capacity(count),
            details: Vec::with_capacity(if self.plan.timed { count } else { 0 }),
        };
        let mut run = |index, input: Prepared<R::Input>, session: &mut Option<R::Session>| {
            let (result, details) = match input {
                Ok(input) => self.run_item(index, &input, session, &mut clock),
                Err(error) => (Err(error), Details::default()),
            };
            batch.results.push(result.map_err(Box::new));
            if self.plan.timed {
                batch.details.push(details);
            }
        };
        let indexed = (chunk.first..).zip(chunk.inputs);
        let worker_slot = scheduler::current_worker().and_then(|w| self.worker_sessions.get(w));
        match (self.plan.isolation, worker_slot) {
            (
                Isolation::Worker {
                    max_tasks_per_instance,
                },
                Some(slot),
            ) => {
                let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
                let limit = max_tasks_per_instance.map(NonZeroUsize::get);
                let slot = &mut *slot;
                for (index, input) in indexed {
                    if limit.is_some_and(|limit| slot.tasks >= limit) || slot.session.is_none() {
                        slot.session = None;
                        slot.tasks = 0;
                    }
                    slot.tasks += 1;
                    run(index, input, &mut slot.session);
                }
            }
            (Isolation::Task, _) => {
                for (index, input) in indexed {
                    run(index, input, &mut None);
                }
            }
            // A chunk's instance, or a worker's outside a worker thread (never: maps run on
            // workers).
            _ => {
                let mut session = None;
                for (index, input) in indexed {
                    run(index, input, &mut session);
                }
            }
        }
        self.record_task_time(started.elapsed(), count);
        batch
    }

    /// Runs one item through the attempt loop; a fail-fast map skips it past its first failure,
    /// and records it when it is the first.
    fn run_item(
        &self,
        index: usize,
        input: &R::Input,
        session: &mut Option<R::Session>,
        clock: &mut Instant,
    ) -> (Result<R::Output, TaskError>, Details) {
        let attempts = Attempts {
            retries: self.plan.retries,
            cancel: &self.plan.cancel,
            timed: self.plan.timed,
        };
        let who = Who {
            input: Some(index),
            task_id: None,
        };
        let fail_fast = self.plan.fail_fast;
        let skipped = || fail_fast && index > self.first_failure.load(Ordering::Relaxed);
        let (result, details) =
            attempts.run(&self.plan.runner, input, who, session, clock, skipped);
        if fail_fast && matches!(&result, Err(error) if *error != TaskError::Cancelled) {
            self.first_failure.fetch_min(index, Ordering::Relaxed);
        }
        (result, details)
    }

    /// Folds a chunk's mean task time into the map's (an executor that runs chunks elsewhere
    /// reports what they took there).
    pub(crate) fn record_task_time(&self, elapsed: Duration, tasks: usize) {
        let Some(nanos) = u64::try_from(elapsed.as_nanos())
            .unwrap_or(u64::MAX)
            .checked_div(tasks as u64)
        else {
            return;
        };
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

/// An input prepared for a map: an input to run, or an outcome known without running (an input
/// that could not be encoded or parsed).
pub(crate) type Prepared<I = Vec<u8>> = Result<I, TaskError>;

/// A chunk of a map: consecutive inputs, the first at index `first`.
pub(crate) struct Chunk<I> {
    pub(crate) first: usize,
    pub(crate) inputs: Vec<Prepared<I>>,
}

/// What a chunk produced, kept small because it crosses from a worker's cache to the map's
/// thread: one result per input in order (errors boxed), and, for a timed map only, each
/// input's [`Details`].
pub(crate) struct Batch<T> {
    pub(crate) first: usize,
    pub(crate) results: Vec<Result<T, Box<TaskError>>>,
    pub(crate) details: Vec<Details>,
}

/// Where a map's chunks run. Every chunk submitted gives back exactly one [`Batch`] on its
/// [`BatchSender`], with one result per input (a chunk that could not run gives its inputs'
/// failures): the stream counts on it to end.
pub(crate) trait Executor<R: Runner> {
    /// Runs `chunk` of the map whose state is `shared`, and sends its batch on `done`.
    fn submit(&self, shared: &Arc<MapShared<R>>, chunk: Chunk<R::Input>, done: BatchSender<R>);

    /// The time an adaptive chunk aims at: long enough to amortize what handing a chunk over
    /// costs this executor.
    fn target_chunk_time(&self) -> Duration {
        TARGET_CHUNK_TIME
    }
}

/// Where a pool's JSON maps run when it is a cluster's: the workers on other machines
/// (`cluster`). Every other map, and every map of a local pool, runs on [`Threads`].
pub(crate) trait RemoteMaps: Send + Sync + std::fmt::Debug {
    /// The executor of one map of task `task`.
    fn executor(self: Arc<Self>, task: &str) -> Box<dyn Executor<JsonRunner>>;

    /// The worker threads a map counts on, to size its chunks and what it keeps in flight.
    fn workers(&self) -> usize;
}

/// Sends a chunk's batch to its map's stream.
pub(crate) struct BatchSender<R: Runner>(mpsc::Sender<Event<R::Input, R::Output>>);

impl<R: Runner> BatchSender<R> {
    /// Hands the batch to the map; nothing happens when the map was dropped (nobody wants it).
    pub(crate) fn send(&self, batch: Batch<R::Output>) {
        let _ = self.0.send(Event::Batch(batch));
    }
}

/// The executor of a pool: its worker threads, which the map keeps awake while it runs.
pub(crate) struct Threads<'p> {
    scheduler: &'p Scheduler,
    _producer: Producer,
}

impl<'p> Threads<'p> {
    /// The worker threads of `scheduler`.
    pub(crate) fn new(scheduler: &'p Scheduler) -> Self {
        Self {
            scheduler,
            _producer: scheduler.producer(),
        }
    }
}

impl<R: Runner> Executor<R> for Threads<'_> {
    fn submit(&self, shared: &Arc<MapShared<R>>, chunk: Chunk<R::Input>, done: BatchSender<R>) {
        let shared = Arc::clone(shared);
        self.scheduler.push(Box::new(move || {
            done.send(shared.run_chunk(chunk));
        }));
    }
}

/// The outcomes of one [`Batch`], in order.
struct BatchOutcomes<T> {
    next_index: usize,
    results: std::vec::IntoIter<Result<T, Box<TaskError>>>,
    details: std::vec::IntoIter<Details>,
}

impl<T> BatchOutcomes<T> {
    fn new(batch: Batch<T>) -> Self {
        Self {
            next_index: batch.first,
            results: batch.results.into_iter(),
            details: batch.details.into_iter(),
        }
    }

    fn empty() -> Self {
        Self::new(Batch {
            first: 0,
            results: Vec::new(),
            details: Vec::new(),
        })
    }
}

impl<T> Iterator for BatchOutcomes<T> {
    type Item = Outcome<T>;

    fn next(&mut self) -> Option<Outcome<T>> {
        let result = self.results.next()?.map_err(|error| *error);
        let index = self.next_index;
        self.next_index += 1;
        // An untimed map records no details: its consumers read the result alone.
        let details = self.details.next().unwrap_or_default();
        Some(Outcome {
            index,
            attempts: details.attempts,
            result,
            duration: details.duration,
            peak_memory: details.peak_memory,
        })
    }
}

/// The map's side of an input thread: what it asked for, and what arrived.
struct Feed<I> {
    /// Asks the input thread for this many more inputs.
    requests: mpsc::Sender<usize>,
    /// Inputs that arrived and are not in a chunk yet.
    buffered: VecDeque<Prepared<I>>,
    /// Inputs asked for that have not arrived.
    requested: usize,
    /// The input thread reached the end of its iterator.
    ended: bool,
}

/// What reaches a map's thread: a chunk's outcomes, or, from its input thread, an input or the
/// end of them.
enum Event<I, O> {
    Batch(Batch<O>),
    Inputs(Vec<Prepared<I>>),
    InputsEnd,
}

/// Both ends of a map's event channel.
type EventChannel<R> = (
    mpsc::Sender<Event<<R as Runner>::Input, <R as Runner>::Output>>,
    mpsc::Receiver<Event<<R as Runner>::Input, <R as Runner>::Output>>,
);

/// The length of an iterator whose size hint is exact.
fn exact_length(size_hint: (usize, Option<usize>)) -> Option<usize> {
    match size_hint {
        (low, Some(high)) if low == high => Some(low),
        _ => None,
    }
}

/// A running map: an iterator of outcomes that pulls its inputs as it goes.
pub(crate) struct MapStream<'p, R: Runner> {
    executor: Box<dyn Executor<R> + 'p>,
    shared: Arc<MapShared<R>>,
    /// Each queued chunk sends its outcomes with a clone of this; so does the input thread.
    sender: mpsc::Sender<Event<R::Input, R::Output>>,
    events: mpsc::Receiver<Event<R::Input, R::Output>>,
    /// Pulled inputs (`None` once the map reads from a [`Feed`]).
    pulled: Option<Box<dyn Iterator<Item = Prepared<R::Input>> + 'p>>,
    feed: Option<Feed<R::Input>>,
    inputs_done: bool,
    /// A fail-fast map stops reading once an outcome failed.
    stopped: bool,
    ordered: bool,
    chunking: Chunking,
    known_length: Option<usize>,
    workers: usize,
    next_index: usize,
    next_to_yield: usize,
    /// Inputs read and not yet yielded (running, or done and waiting in `ready` or `yielding`):
    /// the read-ahead bound counts them all, so a slow consumer stops the reading.
    in_flight: usize,
    /// Chunks queued and not yet received.
    running: usize,
    /// Outcomes received and not yet yielded, a chunk's at a time: every chunk is a run of
    /// consecutive indexes, keyed by its first. Bounded by the chunks in flight.
    ready: BTreeMap<usize, Batch<R::Output>>,
    /// The chunk being yielded.
    yielding: BatchOutcomes<R::Output>,
}

/// The settings of one map.
pub(crate) struct MapSettings<R> {
    pub(crate) plan: MapPlan<R>,
    pub(crate) chunking: Chunking,
    pub(crate) ordered: bool,
    pub(crate) workers: usize,
}

impl<'p, R: Runner> MapStream<'p, R> {
    /// A map of `inputs`, pulled on the caller's thread.
    pub(crate) fn new(
        executor: Box<dyn Executor<R> + 'p>,
        settings: MapSettings<R>,
        inputs: Box<dyn Iterator<Item = Prepared<R::Input>> + 'p>,
    ) -> Self {
        let (sender, events) = mpsc::channel();
        let known_length = exact_length(inputs.size_hint());
        Self::with_inputs(
            executor,
            settings,
            (sender, events),
            known_length,
            Some(inputs),
            None,
        )
    }

    /// A map of `inputs`, read by an input thread of their own as the map needs them.
    ///
    /// # Errors
    /// [`Error::Thread`] when the input thread cannot start.
    pub(crate) fn fed(
        executor: Box<dyn Executor<R> + 'p>,
        settings: MapSettings<R>,
        inputs: Box<dyn Iterator<Item = Vec<Prepared<R::Input>>> + Send>,
    ) -> Result<Self, Error> {
        let (sender, events) = mpsc::channel();
        let known_length = None;
        let feed = spawn_feed(inputs, sender.clone())?;
        let channel = (sender, events);
        Ok(Self::with_inputs(
            executor,
            settings,
            channel,
            known_length,
            None,
            Some(feed),
        ))
    }

    fn with_inputs(
        executor: Box<dyn Executor<R> + 'p>,
        settings: MapSettings<R>,
        (sender, events): EventChannel<R>,
        known_length: Option<usize>,
        pulled: Option<Box<dyn Iterator<Item = Prepared<R::Input>> + 'p>>,
        feed: Option<Feed<R::Input>>,
    ) -> Self {
        let workers = settings.workers.max(1);
        let shared = Arc::new(MapShared::new(settings.plan, workers));
        Self {
            executor,
            shared,
            sender,
            events,
            pulled,
            feed,
            inputs_done: false,
            stopped: false,
            ordered: settings.ordered,
            chunking: settings.chunking,
            known_length,
            workers,
            next_index: 0,
            next_to_yield: 0,
            in_flight: 0,
            running: 0,
            ready: BTreeMap::new(),
            yielding: BatchOutcomes::empty(),
        }
    }

    /// The next outcome if one is ready now, without waiting.
    pub(crate) fn try_next(&mut self) -> Option<Outcome<R::Output>> {
        // Events first: inputs that arrived are chunked by this `fill`, never left waiting
        // while the map blocks for an event that will not come.
        self.receive_ready();
        self.fill();
        self.pop_ready()
    }

    /// The chunk size for the next chunk.
    fn chunk_size(&self) -> usize {
        match (self.chunking, self.known_length) {
            (Chunking::Fixed(size), _) => size.max(1),
            // Python's rule: four chunks per worker, up to a bound.
            (Chunking::Auto, Some(length)) => length
                .div_ceil(self.workers * CHUNKS_PER_WORKER)
                .clamp(1, MAX_AUTO_CHUNK),
            (Chunking::Auto, None) => {
                let mean = self.shared.mean_task_nanos.load(Ordering::Relaxed);
                let target = self.executor.target_chunk_time().as_nanos() as u64;
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
        self.stopped |= self.shared.plan.cancel.is_cancelled();
        while !self.inputs_done && !self.stopped {
            let size = self.chunk_size();
            let queue_full = self.running >= CHUNKS_PER_WORKER * self.workers;
            let bound = self.unyielded_bound(size);
            self.request_inputs(bound);
            if queue_full || self.in_flight + size > bound {
                return;
            }
            let Some(inputs) = self.next_chunk_inputs(size) else {
                return;
            };
            if inputs.is_empty() {
                continue;
            }
            let chunk = Chunk {
                first: self.next_index,
                inputs,
            };
            self.next_index += chunk.inputs.len();
            self.in_flight += chunk.inputs.len();
            self.running += 1;
            let done = BatchSender(self.sender.clone());
            self.executor.submit(&self.shared, chunk, done);
        }
    }

    /// How many inputs may be read and not yet yielded, with chunks of `size`.
    fn unyielded_bound(&self, size: usize) -> usize {
        (size * CHUNKS_PER_WORKER * self.workers).max(MAX_UNYIELDED)
    }

    /// Asks the input thread for inputs up to the read-ahead bound, in large requests.
    fn request_inputs(&mut self, bound: usize) {
        let in_flight = self.in_flight;
        let Some(feed) = self.feed.as_mut().filter(|feed| !feed.ended) else {
            return;
        };
        let wanted = bound.saturating_sub(in_flight + feed.buffered.len() + feed.requested);
        if wanted > 0 && (feed.requested == 0 || wanted >= bound / 4) {
            // A closed channel means the input thread ended; its last event says so.
            if feed.requests.send(wanted).is_ok() {
                feed.requested += wanted;
            }
        }
    }

    /// The inputs of the next chunk, at most `size`; `None` when the next chunk must wait for
    /// inputs still to arrive. Sets `inputs_done` at the end of the inputs.
    fn next_chunk_inputs(&mut self, size: usize) -> Option<Vec<Prepared<R::Input>>> {
        let fail_fast = self.shared.plan.fail_fast;
        let mut inputs = Vec::with_capacity(size);
        // An input that cannot run stops a fail-fast map's reading; its chunk reports it.
        let push = |inputs: &mut Vec<_>, input: Prepared<R::Input>, stopped: &mut bool| {
            *stopped |= fail_fast && input.is_err();
            inputs.push(input);
        };
        match (&mut self.pulled, &mut self.feed) {
            (Some(pulled), _) => {
                while inputs.len() < size && !self.stopped {
                    let Some(input) = pulled.next() else {
                        self.inputs_done = true;
                        break;
                    };
                    push(&mut inputs, input, &mut self.stopped);
                }
            }
            (None, Some(feed)) => {
                // A short chunk only when a worker would otherwise wait: a slow source's
                // inputs run as they come, a fast one's in full chunks; a chunk size that was
                // asked for is always kept.
                let short_chunk = self.running < self.workers && self.chunking == Chunking::Auto;
                if feed.buffered.len() < size && !feed.ended && !short_chunk {
                    return None;
                }
                if feed.buffered.is_empty() {
                    self.inputs_done = feed.ended;
                    return if feed.ended { Some(inputs) } else { None };
                }
                while inputs.len() < size && !self.stopped {
                    let Some(input) = feed.buffered.pop_front() else {
                        break;
                    };
                    push(&mut inputs, input, &mut self.stopped);
                }
                self.inputs_done = feed.ended && feed.buffered.is_empty();
            }
            (None, None) => self.inputs_done = true,
        }
        Some(inputs)
    }

    fn receive_ready(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            self.accept(event);
        }
    }

    fn accept(&mut self, event: Event<R::Input, R::Output>) {
        let batch = match event {
            Event::Batch(batch) => batch,
            Event::Inputs(inputs) => {
                if let Some(feed) = &mut self.feed {
                    feed.requested = feed.requested.saturating_sub(inputs.len());
                    feed.buffered.extend(inputs);
                }
                return;
            }
            Event::InputsEnd => {
                if let Some(feed) = &mut self.feed {
                    feed.ended = true;
                    feed.requested = 0;
                }
                return;
            }
        };
        self.running -= 1;
        if self.shared.plan.fail_fast
            && batch
                .results
                .iter()
                .any(|result| matches!(result, Err(error) if **error != TaskError::Cancelled))
        {
            self.stopped = true;
        }
        if !batch.results.is_empty() {
            self.ready.insert(batch.first, batch);
        }
    }

    fn pop_ready(&mut self) -> Option<Outcome<R::Output>> {
        if let Some(outcome) = self.pop_yielding() {
            return Some(outcome);
        }
        let batch = if self.ordered {
            self.ready.remove(&self.next_to_yield)?
        } else {
            self.ready.pop_first()?.1
        };
        self.next_to_yield = batch.first + batch.results.len();
        self.yielding = BatchOutcomes::new(batch);
        self.pop_yielding()
    }

    /// The next outcome of the chunk being yielded.
    fn pop_yielding(&mut self) -> Option<Outcome<R::Output>> {
        let outcome = self.yielding.next()?;
        self.in_flight -= 1;
        Some(outcome)
    }
}

impl<R: Runner> Iterator for MapStream<'_, R> {
    type Item = Outcome<R::Output>;

    fn next(&mut self) -> Option<Self::Item> {
        // The chunk being yielded first: reading inputs and results once per chunk is enough.
        if let Some(outcome) = self.pop_yielding() {
            return Some(outcome);
        }
        loop {
            if let Some(outcome) = self.try_next() {
                return Some(outcome);
            }
            // Nothing ready: every chunk read was received and yielded.
            if self.running == 0 && (self.inputs_done || self.stopped) {
                return None;
            }
            // Pulled inputs are read by `fill`, on the next turn.
            if self.running == 0 && self.feed.is_none() {
                continue;
            }
            // Every queued chunk sends its outcomes (a task's panic is its outcome, never the
            // worker's), an input thread asked for inputs sends them or their end, and the
            // stream holds a sender itself, so this waits, never disconnects.
            let Ok(event) = self.events.recv() else {
                return None;
            };
            self.accept(event);
        }
    }
}

impl<R: Runner> Drop for MapStream<'_, R> {
    fn drop(&mut self) {
        // Outcomes nobody will read: skip what has not started and interrupt what runs.
        if self.running > 0 {
            self.shared
                .plan
                .cancel
                .cancel_now(self.shared.plan.runner.module().engine());
        }
    }
}

/// Starts the thread that reads `inputs` as the map asks for them and sends each to the map.
/// It ends at the end of the inputs, or when the map is dropped (after the input it waits for).
fn spawn_feed<I: Send + 'static, O: Send + 'static>(
    mut inputs: Box<dyn Iterator<Item = Vec<Prepared<I>>> + Send>,
    events: mpsc::Sender<Event<I, O>>,
) -> Result<Feed<I>, Error> {
    let (requests, asked) = mpsc::channel::<usize>();
    std::thread::Builder::new()
        .name("hecaton-input".into())
        .spawn(move || {
            while let Ok(wanted) = asked.recv() {
                let mut left = wanted;
                while left > 0 {
                    let Some(batch) = inputs.next() else {
                        let _ = events.send(Event::InputsEnd);
                        return;
                    };
                    left = left.saturating_sub(batch.len());
                    if !batch.is_empty() && events.send(Event::Inputs(batch)).is_err() {
                        return;
                    }
                }
            }
        })
        .map_err(Error::Thread)?;
    Ok(Feed {
        requests,
        buffered: VecDeque::new(),
        requested: 0,
        ended: false,
    })
}
