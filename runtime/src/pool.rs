//! [`Pool`]: Python's `multiprocessing.Pool` for wasm tasks — `map`, `imap`, `imap_unordered`,
//! `starmap`, `apply`, `apply_async` — on a work-stealing scheduler, every task in a fresh instance.

use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::map::{
    Chunking, MapSettings, MapShared, MapStream, MapTasks, Outcome, Prepared, Runner,
};
use crate::module::Module;
use crate::numeric::{Numbers, NumericTasks};
use crate::sandbox::{CancelFlag, Capabilities, Limits, Policy};
use crate::scheduler::Scheduler;
use crate::task::{self, Call, CommandInput, CommandStdio, JsonTasks, TaskOutput};
use crate::{Engine, Error, Isolation, TaskError};

/// The environment variable that sets the default number of workers.
pub const WORKERS_ENV: &str = "HECATON_WORKERS";

/// A pool of worker threads running tasks, each in a fresh instance of its module.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hecaton::{Engine, Module, Pool};
///
/// let wat = r#"(module (func (export "square") (param i64) (result i64)
///     local.get 0 local.get 0 i64.mul))"#;
/// let module = Module::from_bytes(&Engine::shared()?, "square.wat", wat.as_bytes())?;
/// let pool = Pool::builder().workers(2).build()?;
/// let squares: Vec<i64> = pool.map(&module, "square", [1, 2, 3, 4, 5])?;
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// # Ok(()) }
/// ```
///
/// **Dropping a pool** closes it and waits for the work already queued (every `apply_async` not
/// yet finished) to end; iterators of a map borrow the pool, so they are gone by then, and a map
/// dropped before its end cancels its remaining items. Call [`Pool::terminate`] first to
/// interrupt running tasks instead of waiting for them.
#[derive(Debug)]
pub struct Pool {
    scheduler: Scheduler,
    workers: usize,
    policy: Policy,
    retries: u32,
    chunking: Chunking,
    isolation: Isolation,
    cancel: CancelFlag,
    engine: Engine,
}

/// Settings for a [`Pool`]; made by [`Pool::builder`].
#[derive(Clone, Debug)]
pub struct PoolBuilder {
    workers: Option<usize>,
    policy: Policy,
    retries: u32,
    chunksize: Option<usize>,
    isolation: Isolation,
}

impl Pool {
    /// A builder with the defaults: workers from `HECATON_WORKERS` or the available parallelism,
    /// [`Limits::default`], automatic chunk size.
    pub fn builder() -> PoolBuilder {
        PoolBuilder {
            workers: None,
            policy: Policy::default(),
            retries: 0,
            chunksize: None,
            isolation: Isolation::Task,
        }
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// A job of task `task` of `module`, to set per-job options (chunk size) before mapping.
    ///
    /// # Errors
    /// [`Error::UnknownTask`], [`Error::Input`] for a command (use [`Pool::command_job`]),
    /// [`Error::Closed`].
    pub fn job(&self, module: &Module, task: &str) -> Result<Job<'_>, Error> {
        let call = Call::json(module, task)?;
        self.new_job(module, task, call)
    }

    /// A job of the module's WASI command: each input becomes its stdin or its last argument.
    ///
    /// In `args`, GNU parallel's placeholders stand for the input: `{}` itself, `{.}` without
    /// its extension, `{/}` its last path component, `{//}` the path before it, `{/.}` the last
    /// component without extension; `{#}` for its index (from 0): `["-o", "/out/{/.}.png",
    /// "{}"]`. With [`CommandInput::Arg`], an input no argument places is appended as the last
    /// argument. An input placed in an
    /// argument is text: bytes that are not UTF-8 are replaced there (the CLI refuses such a line).
    ///
    /// # Errors
    /// [`Error::UnknownTask`] when the module is not a command, [`Error::Closed`].
    pub fn command_job(
        &self,
        module: &Module,
        args: Vec<String>,
        input: CommandInput,
    ) -> Result<Job<'_>, Error> {
        let call = Call::command(module, args, CommandStdio::PerItem(input))?;
        self.new_job(module, hecaton_abi::START_EXPORT, call)
    }

    fn new_job(&self, module: &Module, task: &str, call: Call) -> Result<Job<'_>, Error> {
        if self.scheduler.is_closed() || self.cancel.is_cancelled() {
            return Err(Error::Closed);
        }
        self.policy.check(module.engine(), module.path())?;
        Ok(Job {
            pool: self,
            module: module.clone(),
            task: task.to_owned(),
            call,
            chunking: self.chunking,
            isolation: self.isolation,
        })
    }

    /// Runs `task` on every input and returns the outputs in input order. Fail-fast: the first
    /// failure by index stops scheduling, cancels what is left and is returned.
    ///
    /// # Errors
    /// [`Error::Task`] with the failing index, or a job error as [`Pool::job`].
    pub fn map<I, O>(
        &self,
        module: &Module,
        task: &str,
        inputs: impl IntoIterator<Item = I>,
    ) -> Result<Vec<O>, Error>
    where
        I: Serialize,
        O: DeserializeOwned,
    {
        self.job(module, task)?.map(inputs)
    }

    /// [`Pool::map`] for tasks of several arguments, given as tuples (Python's `starmap`). A tuple
    /// is encoded as a JSON array, which is how a task of several parameters takes them.
    ///
    /// # Errors
    /// As [`Pool::map`].
    pub fn starmap<I, O>(
        &self,
        module: &Module,
        task: &str,
        inputs: impl IntoIterator<Item = I>,
    ) -> Result<Vec<O>, Error>
    where
        I: Serialize,
        O: DeserializeOwned,
    {
        self.map(module, task, inputs)
    }

    /// Runs `task` on every input and returns every outcome in input order: nothing is lost to a
    /// failure.
    ///
    /// # Errors
    /// Only job errors, as [`Pool::job`]; task failures are in the vector.
    pub fn map_all<I, O>(
        &self,
        module: &Module,
        task: &str,
        inputs: impl IntoIterator<Item = I>,
    ) -> Result<Vec<Result<O, TaskError>>, Error>
    where
        I: Serialize,
        O: DeserializeOwned,
    {
        Ok(self.job(module, task)?.map_all(inputs))
    }

    /// A lazy, ordered iterator of outcomes that reads its inputs as it goes (a few chunks per
    /// worker ahead), so an endless input runs in bounded memory. Dropping it cancels the rest.
    ///
    /// # Errors
    /// As [`Pool::job`].
    pub fn imap<'p, I, O>(
        &'p self,
        module: &Module,
        task: &str,
        inputs: impl IntoIterator<Item = I> + 'p,
    ) -> Result<Imap<'p, O>, Error>
    where
        I: Serialize + 'p,
        O: DeserializeOwned,
    {
        Ok(self.job(module, task)?.imap(inputs))
    }

    /// As [`Pool::imap`], but outcomes come as tasks complete, with their input index.
    ///
    /// # Errors
    /// As [`Pool::job`].
    pub fn imap_unordered<'p, I, O>(
        &'p self,
        module: &Module,
        task: &str,
        inputs: impl IntoIterator<Item = I> + 'p,
    ) -> Result<ImapUnordered<'p, O>, Error>
    where
        I: Serialize + 'p,
        O: DeserializeOwned,
    {
        Ok(self.job(module, task)?.imap_unordered(inputs))
    }

    /// Runs one task on the pool and waits for its output.
    ///
    /// # Errors
    /// [`Error::Task`] (index 0) when the task fails, or a job error as [`Pool::job`].
    pub fn apply<I, O>(&self, module: &Module, task: &str, input: &I) -> Result<O, Error>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        self.apply_async(module, task, input)?
            .get()
            .map_err(|source| Error::Task { index: 0, source })
    }

    /// Queues one task and returns a handle to its outcome at once.
    ///
    /// # Errors
    /// As [`Pool::job`], and [`Error::Input`] when the input cannot be encoded.
    pub fn apply_async<I, O>(
        &self,
        module: &Module,
        task: &str,
        input: &I,
    ) -> Result<AsyncResult<O>, Error>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        let job = self.job(module, task)?;
        let input = task::encode_input(task, input)?;
        let (sender, receiver) = mpsc::channel();
        // One task through the same per-item path as a map's (retries, attempts, cancellation).
        let shared = MapShared::new(job.tasks(job.json_tasks(), Delivery::ORDERED), 1);
        self.scheduler.push(Box::new(move || {
            // The handle may have been dropped: nobody wants the outcome.
            let _ = sender.send(shared.run_item(0, &input, &mut None, &mut Instant::now()).0);
        }));
        Ok(AsyncResult {
            receiver,
            outcome: None,
            _output: PhantomData,
        })
    }

    /// Takes no new jobs; maps already running go on. See also [`Pool::join`].
    pub fn close(&self) {
        self.scheduler.close();
    }

    /// Closes the pool and waits for every queued task to end and every worker to stop.
    pub fn join(&self) {
        self.scheduler.close_and_join();
    }

    /// A handle that terminates the pool's tasks from anywhere (a signal handler, another
    /// thread): running tasks are interrupted, queued ones cancelled, maps stop reading input.
    pub fn canceller(&self) -> Canceller {
        Canceller {
            cancel: self.cancel.clone(),
            engine: self.engine.clone(),
        }
    }

    /// Interrupts every running task (they end with [`TaskError::Cancelled`]), cancels every
    /// queued one, and stops the workers.
    pub fn terminate(&self) {
        self.cancel.cancel_now(&self.engine);
        self.scheduler.close_and_join();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.scheduler.close_and_join();
    }
}

impl PoolBuilder {
    /// Worker threads (default: `HECATON_WORKERS`, else the available parallelism).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// Each task's limits (default: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.policy.limits = limits;
        self
    }

    /// The directories and variables every task sees (default: none).
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.policy.capabilities = std::sync::Arc::new(capabilities);
        self
    }

    /// Runs a failed task again, in a fresh instance, up to `retries` more times (default 0).
    /// The guest sees its attempt number; a map's [`Outcome`] says how many attempts were made.
    /// A cancelled task is not retried.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Items per chunk for every map of the pool (default: automatic — Python's rule for inputs of
    /// known length, four chunks per worker, at most 16 384 items each; adaptive to task time for
    /// streams).
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunksize = Some(chunksize);
        self
    }

    /// How many tasks share an instance, for every map of the pool (default: [`Isolation::Task`],
    /// a fresh instance for every task). See [`Isolation`] for what each level shares.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    /// [`Error::Config`] when `workers` or `chunksize` is 0 or `HECATON_WORKERS` is not a positive
    /// number; [`Error::Thread`]; [`Error::Engine`].
    pub fn build(self) -> Result<Pool, Error> {
        let workers = match self.workers {
            Some(workers) => workers,
            None => default_workers()?,
        };
        let invalid = |message: &str| Error::Config(message.into());
        if workers == 0 {
            return Err(invalid("a pool needs at least one worker"));
        }
        let chunking = match self.chunksize {
            Some(0) => return Err(invalid("chunksize must be at least 1")),
            Some(size) => Chunking::Fixed(size),
            None => Chunking::Auto,
        };
        Ok(Pool {
            scheduler: Scheduler::new(workers)?,
            workers,
            policy: self.policy,
            retries: self.retries,
            chunking,
            isolation: self.isolation,
            cancel: CancelFlag::default(),
            engine: Engine::shared()?,
        })
    }
}

fn default_workers() -> Result<usize, Error> {
    match std::env::var(WORKERS_ENV) {
        Ok(value) => value
            .trim()
            .parse::<NonZeroUsize>()
            .map(NonZeroUsize::get)
            .map_err(|_| {
                Error::Config(format!(
                    "{WORKERS_ENV}={value:?}: the variable must be a whole number of workers, at \
                     least 1"
                ))
            }),
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, NonZeroUsize::get)),
    }
}

/// Cancels every task of a [`Pool`]; made by [`Pool::canceller`]. Cheap to clone, `Send` and
/// `Sync`.
#[derive(Clone, Debug)]
pub struct Canceller {
    cancel: CancelFlag,
    engine: Engine,
}

impl Canceller {
    /// Interrupts running tasks and cancels queued ones; maps stop reading input and end with
    /// their remaining items [`TaskError::Cancelled`]. The pool takes no new jobs.
    pub fn cancel(&self) {
        self.cancel.cancel_now(&self.engine);
    }
}

/// One task of one module on a pool, with per-job options; made by [`Pool::job`].
#[derive(Debug)]
pub struct Job<'p> {
    pool: &'p Pool,
    module: Module,
    /// The task's name.
    task: String,
    call: Call,
    chunking: Chunking,
    isolation: Isolation,
}

impl<'p> Job<'p> {
    /// Items per chunk for this job (default: the pool's).
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunking = Chunking::Fixed(chunksize.max(1));
        self
    }

    /// How many tasks share an instance in this job (default: the pool's). A WASI command
    /// always runs in a fresh instance.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// For a command job: a fresh, empty read-write folder for each input, as
    /// [`Scratch`](crate::Scratch) describes (default: none). Its root folder is made now.
    ///
    /// # Errors
    /// [`Error::Input`] for a job that is not a command's, [`Error::Capability`] when the root
    /// folder cannot be made.
    pub fn scratch(mut self, scratch: crate::Scratch) -> Result<Self, Error> {
        let Call::Command { scratch: slot, .. } = &mut self.call else {
            return Err(Error::Input {
                task: self.task.clone(),
                message: "a scratch folder is for a WASI command's job".into(),
            });
        };
        scratch.create_root().map_err(|error| {
            Error::Capability(format!(
                "cannot make the scratch folder {}: {error}",
                scratch.root().display()
            ))
        })?;
        *slot = Some(scratch);
        Ok(self)
    }

    /// For a command job: whether a non-zero exit code is a failure of that input,
    /// [`TaskError::NonZeroExit`](crate::TaskError::NonZeroExit) holding what the command wrote
    /// (default: no, the exit code is part of the output). A failure is retried, and stops a
    /// fail-fast map, as any other.
    pub fn fail_nonzero(mut self, fail: bool) -> Self {
        if let Call::Command { fail_nonzero, .. } = &mut self.call {
            *fail_nonzero = fail;
        }
        self
    }

    /// Runs a numeric task on every input with typed values — no JSON on the way in or out, the
    /// fast path for tiny tasks — and returns the outputs in input order. Fail-fast as
    /// [`Pool::map`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use hecaton::{Engine, Isolation, Module, Pool};
    ///
    /// let wat = r#"(module (func (export "square") (param i64) (result i64)
    ///     local.get 0 local.get 0 i64.mul))"#;
    /// let module = Module::from_bytes(&Engine::shared()?, "square.wat", wat.as_bytes())?;
    /// let pool = Pool::builder().workers(2).build()?;
    /// let squares: Vec<i64> = pool
    ///     .job(&module, "square")?
    ///     .isolation(Isolation::Chunk)
    ///     .map_numeric(1..=5_i64)?;
    /// assert_eq!(squares, [1, 4, 9, 16, 25]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::WrongSignature`] when the export's types are not `P` → `R` and [`Error::Input`]
    /// when the task is not a numeric export (both before anything runs); [`Error::Task`] with
    /// the index of the first failure.
    pub fn map_numeric<P: Numbers, R: Numbers>(
        self,
        inputs: impl IntoIterator<Item = P>,
    ) -> Result<Vec<R>, Error> {
        let runner = NumericTasks::<P, R>::new(&self.module, &self.task, self.pool.policy.clone())?;
        let inputs = inputs.into_iter();
        let mut outputs = Vec::with_capacity(inputs.size_hint().0);
        for Outcome { index, result, .. } in
            self.stream(runner, Box::new(inputs.map(Ok)), Delivery::FAIL_FAST)
        {
            outputs.push(result.map_err(|source| Error::Task { index, source })?);
        }
        Ok(outputs)
    }

    /// As [`Job::map_numeric`], but lazy and ordered like [`Pool::imap`]: the inputs are read as
    /// the outcomes are consumed (a bounded read-ahead), so an endless input runs in bounded
    /// memory; every input gets its outcome. Dropping the iterator cancels the rest.
    ///
    /// # Errors
    /// As [`Job::map_numeric`], for the checks made before anything runs.
    pub fn imap_numeric<P: Numbers, R: Numbers>(
        self,
        inputs: impl IntoIterator<Item = P> + 'p,
    ) -> Result<NumericImap<'p, P, R>, Error> {
        let runner = NumericTasks::<P, R>::new(&self.module, &self.task, self.pool.policy.clone())?;
        let inputs = inputs.into_iter().map(Ok);
        Ok(NumericImap {
            stream: self.stream(runner, Box::new(inputs), Delivery::ORDERED),
        })
    }

    /// As [`Pool::map`].
    ///
    /// # Errors
    /// [`Error::Task`] with the index of the first failure.
    pub fn map<I: Serialize, O: DeserializeOwned>(
        self,
        inputs: impl IntoIterator<Item = I>,
    ) -> Result<Vec<O>, Error> {
        let inputs: Vec<Prepared> = inputs.into_iter().map(|input| encode(&input)).collect();
        let mut outputs = Vec::with_capacity(inputs.len());
        let runner = self.json_tasks();
        for Outcome { index, result, .. } in
            self.stream(runner, Box::new(inputs.into_iter()), Delivery::FAIL_FAST)
        {
            let output = result
                .and_then(|output| output.decode())
                .map_err(|source| Error::Task { index, source })?;
            outputs.push(output);
        }
        Ok(outputs)
    }

    /// As [`Pool::map_all`].
    pub fn map_all<I: Serialize, O: DeserializeOwned>(
        self,
        inputs: impl IntoIterator<Item = I>,
    ) -> Vec<Result<O, TaskError>> {
        let inputs: Vec<Prepared> = inputs.into_iter().map(|input| encode(&input)).collect();
        let runner = self.json_tasks();
        self.stream(runner, Box::new(inputs.into_iter()), Delivery::ORDERED)
            .map(|outcome| outcome.result.and_then(|output| output.decode()))
            .collect()
    }

    /// As [`Pool::imap`].
    pub fn imap<I, O>(self, inputs: impl IntoIterator<Item = I> + 'p) -> Imap<'p, O>
    where
        I: Serialize + 'p,
        O: DeserializeOwned,
    {
        let inputs = inputs.into_iter().map(|input| encode(&input));
        Imap {
            stream: self.stream(self.json_tasks(), Box::new(inputs), Delivery::ORDERED),
            _output: PhantomData,
        }
    }

    /// As [`Pool::imap_unordered`].
    pub fn imap_unordered<I, O>(
        self,
        inputs: impl IntoIterator<Item = I> + 'p,
    ) -> ImapUnordered<'p, O>
    where
        I: Serialize + 'p,
        O: DeserializeOwned,
    {
        let inputs = inputs.into_iter().map(|input| encode(&input));
        ImapUnordered {
            stream: self.stream(self.json_tasks(), Box::new(inputs), Delivery::UNORDERED),
            _output: PhantomData,
        }
    }

    /// The untyped map the CLI streams: inputs are JSON bytes (or a failure known up front, such
    /// as a malformed input line, which becomes that input's outcome), outcomes are undecoded.
    ///
    /// `batches` yields the inputs in batches, in order: a batch is what the source has at hand
    /// together (the lines a reader's buffer holds, up to a few thousand), so that a fast source
    /// costs one hand-over per batch, and a slow one hands over each line as it comes. The
    /// batches are read by a thread of their own, as the map needs them (never more than it
    /// may hold in flight, plus one batch): a source that blocks, such as stdin fed by a slow
    /// producer, does not hold back the outcomes of the inputs already read. The thread ends at
    /// the end of the batches, or, after the map is dropped, once the batch it waits for arrives.
    ///
    /// # Errors
    /// [`Error::Thread`] when the input thread cannot start.
    pub fn imap_raw(
        self,
        batches: impl Iterator<Item = Vec<Result<Vec<u8>, TaskError>>> + Send + 'static,
        ordered: bool,
    ) -> Result<RawImap<'p>, Error> {
        let delivery = Delivery {
            ordered,
            fail_fast: false,
            timed: true,
        };
        let settings = self.settings(self.json_tasks(), delivery);
        let stream = MapStream::fed(&self.pool.scheduler, settings, Box::new(batches))?;
        Ok(RawImap { stream })
    }

    /// The JSON calls of this job, each run under the pool's policy.
    fn json_tasks(&self) -> JsonTasks {
        JsonTasks {
            module: self.module.clone(),
            call: self.call.clone(),
            policy: self.pool.policy.clone(),
        }
    }

    /// The tasks of this job run by `runner`, cancelled with the pool.
    fn tasks<R: Runner>(&self, runner: R, delivery: Delivery) -> MapTasks<R> {
        MapTasks {
            runner,
            isolation: self.isolation,
            retries: self.pool.retries,
            cancel: self.pool.cancel.child(),
            fail_fast: delivery.fail_fast,
            timed: delivery.timed,
        }
    }

    fn stream<R: Runner>(
        &self,
        runner: R,
        inputs: Box<dyn Iterator<Item = Prepared<R::Input>> + 'p>,
        delivery: Delivery,
    ) -> MapStream<'p, R> {
        MapStream::new(
            &self.pool.scheduler,
            self.settings(runner, delivery),
            inputs,
        )
    }

    /// The settings of a map of this job run by `runner`.
    fn settings<R: Runner>(&self, runner: R, delivery: Delivery) -> MapSettings<R> {
        MapSettings {
            tasks: self.tasks(runner, delivery),
            chunking: self.chunking,
            ordered: delivery.ordered,
            workers: self.pool.workers,
        }
    }
}

/// How a map hands its outcomes back.
#[derive(Clone, Copy, Debug)]
struct Delivery {
    /// In input order, or as they complete.
    ordered: bool,
    /// The first failure stops the map.
    fail_fast: bool,
    /// Each outcome carries its task's duration (one clock read per task).
    timed: bool,
}

impl Delivery {
    /// `map`: ordered, fail-fast; durations unused.
    const FAIL_FAST: Self = Self {
        ordered: true,
        fail_fast: true,
        timed: false,
    };
    /// `map_all`, `imap`: ordered, every outcome; durations unused.
    const ORDERED: Self = Self {
        ordered: true,
        fail_fast: false,
        timed: false,
    };
    /// `imap_unordered`: as completed, every outcome; durations unused.
    const UNORDERED: Self = Self {
        ordered: false,
        fail_fast: false,
        timed: false,
    };
}

fn encode<I: Serialize>(input: &I) -> Prepared {
    serde_json::to_vec(input).map_err(|error| TaskError::BadInput {
        message: format!("cannot encode the input as JSON: {error}"),
    })
}

/// The lazy ordered iterator of [`Pool::imap`]: one outcome per input, in input order.
pub struct Imap<'p, O> {
    stream: MapStream<'p, JsonTasks>,
    _output: PhantomData<fn() -> O>,
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

/// The lazy ordered iterator of [`Job::imap_numeric`]: one typed outcome per input, in input
/// order.
pub struct NumericImap<'p, P: Numbers, R: Numbers> {
    stream: MapStream<'p, NumericTasks<P, R>>,
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

/// The iterator of [`Pool::imap_unordered`]: `(input index, outcome)` as tasks complete.
pub struct ImapUnordered<'p, O> {
    stream: MapStream<'p, JsonTasks>,
    _output: PhantomData<fn() -> O>,
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

/// The untyped iterator of [`Job::imap_raw`]: one [`Outcome`] per input.
pub struct RawImap<'p> {
    stream: MapStream<'p, JsonTasks>,
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

/// The handle of [`Pool::apply_async`].
#[derive(Debug)]
pub struct AsyncResult<O> {
    receiver: mpsc::Receiver<Result<TaskOutput, TaskError>>,
    outcome: Option<Result<TaskOutput, TaskError>>,
    _output: PhantomData<fn() -> O>,
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
