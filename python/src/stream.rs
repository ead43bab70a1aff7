//! A map's outcomes, from the library to Python without holding the GIL while tasks run.
//!
//! ```text
//! inputs: JSON bytes made up front (map), or a Python iterator pulled in batches by the
//!         library's input thread, which attaches to the interpreter for each batch (imap)
//!   -> Job::imap_raw, iterated by a driver thread of the map's own, which decodes each
//!      outcome's JSON and sends batches of outcomes on a bounded channel
//!   -> the caller's thread waits on that channel detached from the interpreter, in slices of
//!      POLL, checking for Ctrl-C between slices; it converts outcomes to Python objects
//! ```
//! The library's lazy [`Job::imap_raw`] is the one map whose outcomes carry their attempts and
//! that reads its inputs on a thread of its own, so a slow Python generator never holds back the
//! outcomes already made. Its [`RawImap`](hecaton::RawImap) borrows the pool, so it lives on a
//! driver thread that owns the pool's `Arc`; the caller cannot block inside it (a Ctrl-C could
//! not be seen), hence the channel. Dropping the receiving end (the Python iterator is dropped
//! or closed, or a fail-fast map failed) makes the driver drop the stream at its next outcome,
//! which cancels the map's remaining items.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hecaton::{CommandInput, CommandOutput, Error, Outcome, TaskError, TaskOutput};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyIterator, PyString};
use serde_json::Value;

use crate::errors::{self, IntoPyResult};
use crate::json;
use crate::shared::PoolShared;

/// How long a wait lasts before the waiting thread checks for Ctrl-C.
pub(crate) const POLL: Duration = Duration::from_millis(20);
/// When a wait of `timeout` seconds (Python's `timeout=` argument) ends: `None` for no timeout,
/// or one too long to represent (a wait forever); a negative timeout is no wait.
pub(crate) fn deadline(timeout: Option<f64>) -> Option<Instant> {
    let duration = Duration::try_from_secs_f64(timeout?.max(0.0)).ok()?;
    Instant::now().checked_add(duration)
}

/// The next slice of a wait that ends at `deadline`.
pub(crate) fn slice(deadline: Option<Instant>) -> Duration {
    deadline.map_or(POLL, |deadline| {
        POLL.min(deadline.saturating_duration_since(Instant::now()))
    })
}

/// Outcomes sent to the caller in one message, at most.
const MAX_BATCH: usize = 1024;
/// Messages in flight between the driver and the caller: with `MAX_BATCH`, the memory a slow
/// consumer can make a map hold beyond the library's own bound.
const CHANNEL_BOUND: usize = 4;
/// Items pulled from a Python iterator per attachment to the interpreter, at most, and the time
/// a batch may take: a fast generator is read in batches, a slow one item by item.
const FEED_BATCH: usize = 256;
const FEED_BATCH_TIME: Duration = Duration::from_millis(1);

/// A task's output, decoded off the interpreter.
pub(crate) enum Output {
    Json(Value),
    Command(CommandOutput),
}

impl Output {
    /// The output of a task, decoded: JSON into a value, a command's as it is.
    pub(crate) fn decode(output: TaskOutput) -> Result<Self, TaskError> {
        match output {
            TaskOutput::Command(output) => Ok(Self::Command(output)),
            json => json.decode().map(Self::Json),
        }
    }

    /// As a Python object.
    pub(crate) fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Self::Json(value) => json::to_python(py, value),
            Self::Command(output) => {
                Ok(Bound::new(py, crate::command_result::CommandResult::from(output))?.into_any())
            }
        }
    }
}

/// One input's outcome, decoded.
pub(crate) struct Item {
    pub(crate) index: usize,
    pub(crate) attempts: u32,
    pub(crate) result: Result<Output, TaskError>,
}

impl Item {
    fn new(outcome: Outcome) -> Self {
        Self {
            index: outcome.index,
            attempts: outcome.attempts,
            result: outcome.result.and_then(Output::decode),
        }
    }

    /// The value, or the task's failure as its exception (raised or, with `keep_going`,
    /// returned).
    pub(crate) fn to_python<'py>(
        &self,
        py: Python<'py>,
        keep_going: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        match &self.result {
            Ok(output) => output.to_python(py),
            Err(error) if keep_going => {
                errors::task_error_value(py, error, Some(self.index), Some(self.attempts))
            }
            Err(error) => Err(errors::task_error(
                py,
                error,
                Some(self.index),
                Some(self.attempts),
            )),
        }
    }
}

/// What a map runs: a task's JSON calls, or a command's.
#[derive(Clone)]
pub(crate) enum Call {
    Json(String),
    Command {
        args: Vec<String>,
        input: CommandInput,
        fail_nonzero: bool,
    },
}

/// Everything a map's driver needs.
#[derive(Clone)]
pub(crate) struct MapSpec {
    pub(crate) pool: Arc<hecaton::Pool>,
    pub(crate) module: hecaton::Module,
    pub(crate) call: Call,
    pub(crate) chunksize: Option<usize>,
    pub(crate) ordered: bool,
    /// Stop at the first failure (by index, in an ordered map).
    pub(crate) fail_fast: bool,
}

impl MapSpec {
    /// The library's job for this map.
    fn job(&self) -> Result<hecaton::Job<'_>, Error> {
        let job = match &self.call {
            Call::Json(task) => self.pool.job(&self.module, task)?,
            Call::Command {
                args,
                input,
                fail_nonzero,
            } => self
                .pool
                .command_job(&self.module, args.clone(), input.clone())?
                .fail_nonzero(*fail_nonzero),
        };
        Ok(match self.chunksize {
            Some(size) => job.chunksize(size),
            None => job,
        })
    }

    /// Checks the job before anything runs, so that an unknown task or a closed pool raises
    /// from the call that asked for it.
    pub(crate) fn check(&self, py: Python<'_>) -> PyResult<()> {
        self.job().map(drop).py(py)
    }

    /// Runs the map over `inputs`, handing each batch of outcomes to `sink` until it returns
    /// false; a fail-fast map stops after its first failure. Dropping the stream on return
    /// cancels what is left. `submitted` is called once the pool has taken the map (or refused
    /// it), before any outcome.
    pub(crate) fn drive(
        &self,
        inputs: Batches,
        submitted: impl FnOnce(),
        mut sink: impl FnMut(Result<Vec<Item>, Error>) -> bool,
    ) {
        let stream = self
            .job()
            .and_then(|job| job.imap_raw(inputs, self.ordered));
        submitted();
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(error) => {
                sink(Err(error));
                return;
            }
        };
        // One blocking wait per batch, then whatever else is ready.
        while let Some(first) = stream.next() {
            let mut failed = first.result.is_err();
            let mut batch = vec![Item::new(first)];
            while batch.len() < MAX_BATCH && !(failed && self.fail_fast) {
                let Some(outcome) = stream.try_next() else {
                    break;
                };
                failed |= outcome.result.is_err();
                batch.push(Item::new(outcome));
            }
            if !sink(Ok(batch)) || (failed && self.fail_fast) {
                return;
            }
        }
    }
}

/// A map's inputs, in batches, as the library's input thread reads them.
pub(crate) type Batches = Box<dyn Iterator<Item = Vec<Result<Vec<u8>, TaskError>>> + Send>;

/// Inputs encoded up front, handed over in batches.
pub(crate) fn ready_inputs(inputs: Vec<Vec<u8>>) -> Batches {
    let mut inputs = inputs.into_iter();
    Box::new(std::iter::from_fn(move || {
        let batch: Vec<_> = inputs.by_ref().take(4096).map(Ok).collect();
        (!batch.is_empty()).then_some(batch)
    }))
}

/// How a Python item becomes a task's input.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Encode {
    /// The item is the task's one argument.
    Json,
    /// The item is a tuple of the task's arguments (`starmap`).
    Star,
    /// The item is a command's input: `bytes`, or `str` (as UTF-8).
    Bytes,
}

impl Encode {
    pub(crate) fn encode(self, item: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        match self {
            Self::Json => json::to_json(item),
            Self::Star => json::args_to_json(item),
            Self::Bytes => command_input(item),
        }
    }
}

/// A command's input as bytes.
fn command_input(item: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = item.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(text) = item.cast::<PyString>() {
        return Ok(text.to_cow()?.as_bytes().to_vec());
    }
    if let Ok(bytes) = item.cast::<PyByteArray>() {
        return Ok(bytes.to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "a command's input is bytes or str, not {}",
        item.get_type().name()?
    )))
}

/// Every item of `iterable`, encoded now (multiprocessing's `map` also makes a list first).
pub(crate) fn encode_all(iterable: &Bound<'_, PyAny>, encode: Encode) -> PyResult<Vec<Vec<u8>>> {
    let mut inputs = Vec::with_capacity(iterable.len().unwrap_or(0));
    for item in iterable.try_iter()? {
        inputs.push(encode.encode(&item?)?);
    }
    Ok(inputs)
}

/// What a Python input's feed and its map's caller share: the error that ended the iterator
/// (or an item that could not be encoded), raised after the outcomes of the items before it;
/// and whether the caller closed the map, after which the feed reads nothing more.
#[derive(Default)]
pub(crate) struct FeedState {
    error: Mutex<Option<PyErr>>,
    closed: AtomicBool,
}

/// A [`FeedState`], shared.
pub(crate) type InputError = Arc<FeedState>;

/// A Python iterator read lazily by the library's input thread, a batch per attachment.
pub(crate) struct PyFeed {
    iterator: Option<Py<PyIterator>>,
    encode: Encode,
    error: InputError,
}

impl PyFeed {
    pub(crate) fn new(iterable: &Bound<'_, PyAny>, encode: Encode) -> PyResult<(Self, InputError)> {
        let error = InputError::default();
        let feed = Self {
            iterator: Some(iterable.try_iter()?.unbind()),
            encode,
            error: Arc::clone(&error),
        };
        Ok((feed, error))
    }
}

impl Iterator for PyFeed {
    type Item = Vec<Result<Vec<u8>, TaskError>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.iterator.as_ref()?;
        if self.error.closed.load(Ordering::SeqCst) {
            return None;
        }
        // `None` when the interpreter is shutting down: the input ends.
        let batch = Python::try_attach(|py| {
            let started = Instant::now();
            let mut batch = Vec::new();
            let mut iterator = self.iterator.as_ref()?.bind(py).clone();
            let mut ended = None;
            while batch.len() < FEED_BATCH && started.elapsed() < FEED_BATCH_TIME {
                match iterator.next() {
                    None => {
                        ended = Some(None);
                        break;
                    }
                    Some(Err(error)) => {
                        ended = Some(Some(error));
                        break;
                    }
                    Some(Ok(item)) => match self.encode.encode(&item) {
                        Ok(input) => batch.push(Ok(input)),
                        Err(error) => {
                            ended = Some(Some(error));
                            break;
                        }
                    },
                }
            }
            if let Some(error) = ended {
                // Released while attached.
                self.iterator = None;
                *self
                    .error
                    .error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = error;
            }
            Some(batch)
        })
        .flatten();
        match batch {
            Some(batch) if !batch.is_empty() => Some(batch),
            _ => {
                self.iterator = None;
                None
            }
        }
    }
}

/// A message from a driver: a batch of outcomes, or the error that stopped the map.
type Message = Result<Vec<Item>, Error>;

/// The caller's end of a running map.
pub(crate) struct Outcomes {
    /// `None` once the map has ended (or been closed).
    receiver: Option<Receiver<Message>>,
    buffered: VecDeque<Item>,
    input_error: Option<InputError>,
    pool: Arc<PoolShared>,
}

impl Outcomes {
    /// Starts `spec`'s map of `inputs` on a driver thread of its own.
    pub(crate) fn start(
        spec: MapSpec,
        inputs: Batches,
        input_error: Option<InputError>,
        pool: Arc<PoolShared>,
    ) -> PyResult<Self> {
        let (sender, receiver) = mpsc::sync_channel(CHANNEL_BOUND);
        std::thread::Builder::new()
            .name("hecaton-py-map".into())
            .spawn(move || drive_into(&spec, inputs, &sender))
            .map_err(errors::thread_error)?;
        Ok(Self {
            receiver: Some(receiver),
            buffered: VecDeque::new(),
            input_error,
            pool,
        })
    }

    /// The next outcome, waiting detached from the interpreter; `None` at the end.
    ///
    /// # Errors
    /// `KeyboardInterrupt` (or another signal handler's exception) while waiting, after
    /// cancelling the pool's tasks; a map error; the error that ended a Python input.
    pub(crate) fn next(&mut self, py: Python<'_>) -> PyResult<Option<Item>> {
        loop {
            if let Some(item) = self.buffered.pop_front() {
                return Ok(Some(item));
            }
            let Some(receiver) = self.receiver.take() else {
                return self.end();
            };
            let (receiver, message) = py.detach(move || {
                let message = receiver.recv_timeout(POLL);
                (receiver, message)
            });
            match message {
                Ok(Ok(batch)) => self.buffered.extend(batch),
                Ok(Err(error)) => return Err(errors::error(py, &error)),
                Err(RecvTimeoutError::Disconnected) => return self.end(),
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(interrupt) = py.check_signals() {
                        drop(receiver);
                        self.pool.interrupt(py);
                        return Err(interrupt);
                    }
                }
            }
            self.receiver = Some(receiver);
        }
    }

    /// The end of the outcomes: the input's error if one ended it.
    fn end(&mut self) -> PyResult<Option<Item>> {
        let error = self.input_error.take().and_then(|state| {
            state
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
        });
        match error {
            Some(error) => Err(error),
            None => Ok(None),
        }
    }

    /// Stops the map: its remaining items are cancelled.
    pub(crate) fn close(&mut self) {
        if let Some(state) = &self.input_error {
            state.closed.store(true, Ordering::SeqCst);
        }
        self.receiver = None;
        self.buffered.clear();
        self.input_error = None;
    }
}

/// The driver thread's loop: every batch to `sender`, until the caller hangs up.
fn drive_into(spec: &MapSpec, inputs: Batches, sender: &SyncSender<Message>) {
    spec.drive(inputs, || (), |message| sender.send(message).is_ok());
}
