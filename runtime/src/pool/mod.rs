//! [`Pool`]: Python's `multiprocessing.Pool` for wasm tasks — `map`, `imap`, `imap_unordered`,
//! `starmap`, `apply`, `apply_async` — on a work-stealing scheduler, every task in a fresh
//! instance. A pool is built for an engine ([`PoolBuilder::engine`]); its maps are [`Job`]s
//! (`job.rs`), whose outcomes come through the iterators of `iter.rs`.

mod iter;
mod job;

use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::{Arc, mpsc};
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::engine::Engine;
use crate::error::{Error, TaskError};
use crate::isolation::Isolation;
use crate::map::{Chunking, RemoteMaps};
use crate::module::Module;
use crate::run::attempt::{Attempts, Who};
use crate::run::json::{Call, CommandInput, CommandStdio, encode_input};
use crate::sandbox::{CancelFlag, Capabilities, Limits, Policy, Prints};
use crate::scheduler::Scheduler;
pub use iter::{AsyncResult, Imap, ImapUnordered, NumericImap, RawImap};
pub use job::Job;

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
    /// Where its JSON maps run when it is a cluster's (`None`: on its own threads).
    remote: Option<Arc<dyn RemoteMaps>>,
}

/// Settings for a [`Pool`]; made by [`Pool::builder`].
#[derive(Clone, Debug)]
pub struct PoolBuilder {
    engine: Option<Engine>,
    workers: Option<usize>,
    policy: Policy,
    retries: u32,
    chunksize: Option<usize>,
    isolation: Isolation,
    remote: Option<Arc<dyn RemoteMaps>>,
}

impl Pool {
    /// A builder with the defaults: workers from `HECATON_WORKERS` or the available parallelism,
    /// [`Limits::default`], automatic chunk size.
    pub fn builder() -> PoolBuilder {
        PoolBuilder {
            engine: None,
            workers: None,
            policy: Policy::default(),
            retries: 0,
            chunksize: None,
            isolation: Isolation::Task,
            remote: None,
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
        module.check_starts_within(&self.policy.limits)?;
        if module.engine().max_stack() > self.engine.max_stack() {
            return Err(Error::Config(format!(
                "{} was compiled for a wasm stack of {} bytes, more than this pool's threads hold \
                 ({}): build the pool for the module's engine (PoolBuilder::engine)",
                module.path().display(),
                module.engine().max_stack(),
                self.engine.max_stack()
            )));
        }
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
        let input = encode_input(task, input)?;
        let (sender, receiver) = mpsc::channel();
        // One task through the attempt loop a map's inputs take (retries, attempts,
        // cancellation with the pool), as input 0.
        let (runner, cancel, retries) = (job.json_runner(), self.cancel.child(), self.retries);
        self.scheduler.push(Box::new(move || {
            let attempts = Attempts {
                retries,
                cancel: &cancel,
                timed: false,
            };
            let who = Who {
                input: Some(0),
                task_id: None,
            };
            let clock = &mut Instant::now();
            let (result, _) = attempts.run(&runner, &input, who, &mut None, clock, || false);
            // The handle may have been dropped: nobody wants the outcome.
            let _ = sender.send(result);
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
    /// The engine whose modules the pool runs (default: [`Engine::shared`], the one
    /// [`Module::from_file`] compiles for). [`Pool::terminate`], a [`Canceller`] and a dropped
    /// map interrupt this engine's running tasks at once; a module compiled for another engine
    /// still runs, its tasks stopping at their next epoch tick
    /// ([`EPOCH_TICK`](crate::engine::EPOCH_TICK)) instead.
    pub fn engine(mut self, engine: &Engine) -> Self {
        self.engine = Some(engine.clone());
        self
    }

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

    /// Where function tasks' prints go (default: [`Prints::Prefixed`], the host's stderr).
    pub fn prints(mut self, prints: Prints) -> Self {
        self.policy.prints = prints;
        self
    }

    /// Runs a failed task again, in a fresh instance, up to `retries` more times (default 0).
    /// The guest sees its attempt number; a map's [`Outcome`](crate::map::Outcome) says how many attempts were made.
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

    /// The pool's JSON maps run on `remote` (a cluster's workers), not on its own threads.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn remote(mut self, remote: Arc<dyn RemoteMaps>) -> Self {
        self.remote = Some(remote);
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
        let engine = match self.engine {
            Some(engine) => engine,
            None => Engine::shared()?,
        };
        Ok(Pool {
            scheduler: Scheduler::new(workers, engine.max_stack())?,
            workers,
            policy: self.policy,
            retries: self.retries,
            chunking,
            isolation: self.isolation,
            cancel: CancelFlag::default(),
            engine,
            remote: self.remote,
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
