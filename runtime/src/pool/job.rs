//! [`Job`]: one task of one module on a pool, with per-job options, and the maps it runs.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::abi::Numbers;
use crate::error::{Error, TaskError};
use crate::isolation::Isolation;
use crate::map::{Chunking, Executor, MapPlan, MapSettings, MapStream, Outcome, Prepared, Threads};
use crate::module::Module;
use crate::placeholders::Placeholders;
use crate::pool::Pool;
use crate::pool::iter::{Imap, ImapUnordered, NumericImap, RawImap};
use crate::run::Runner;
use crate::run::json::{Call, JsonRunner};
use crate::run::typed::TypedRunner;
use crate::sandbox::Scratch;

/// One task of one module on a pool, with per-job options; made by [`Pool::job`].
#[derive(Debug)]
pub struct Job<'p> {
    pub(super) pool: &'p Pool,
    pub(super) module: Module,
    /// The task's name.
    pub(super) task: String,
    pub(super) call: Call,
    pub(super) chunking: Chunking,
    pub(super) isolation: Isolation,
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

    /// For a command job: fresh, empty read-write folders for each input, as [`Scratch`]
    /// describes (default: none). Its root folder is made now.
    ///
    /// # Errors
    /// [`Error::Input`] for a job that is not a command's, [`Error::Capability`] when two of its
    /// guest paths overlap, a granted directory is at one of them, or the root folder cannot be
    /// made.
    pub fn scratch(mut self, scratch: Scratch) -> Result<Self, Error> {
        let Call::Command { scratch: slot, .. } = &mut self.call else {
            return Err(Error::Input {
                task: self.task.clone(),
                message: "a scratch folder is for a WASI command's job".into(),
            });
        };
        if let Some((first, second)) = scratch.overlap() {
            return Err(Error::Capability(format!(
                "--scratch {first} and --scratch {second}: one is the other or inside it (one \
                 guest path, one folder)"
            )));
        }
        for guest in scratch.guests() {
            if let Some(granted) = self.pool.policy.capabilities.granted_at(guest) {
                return Err(Error::Capability(format!(
                    "--scratch {guest}: --dir {}::{} is granted at the same guest path (one \
                     guest path, one folder)",
                    granted.host.display(),
                    granted.guest
                )));
            }
        }
        scratch.create_root().map_err(|error| {
            Error::Capability(format!(
                "cannot make the scratch folder {}: {error}",
                scratch.root().display()
            ))
        })?;
        *slot = Some(scratch);
        Ok(self)
    }

    /// For a command job: which strings of its fixed arguments stand for each input (default:
    /// GNU parallel's, [`Placeholders::Parallel`]); [`Placeholders::Input`] is parallel's
    /// `-I STR`, for arguments that hold braces of their own.
    pub fn placeholders(mut self, chosen: Placeholders) -> Self {
        if let Call::Command { placeholders, .. } = &mut self.call {
            *placeholders = chosen;
        }
        self
    }

    /// For a command job: whether a non-zero exit code is a failure of that input,
    /// [`TaskError::NonZeroExit`] holding what the command wrote
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
        self.check_local()?;
        let runner = TypedRunner::<P, R>::new(&self.module, &self.task, self.pool.policy.clone())?;
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
        self.check_local()?;
        let runner = TypedRunner::<P, R>::new(&self.module, &self.task, self.pool.policy.clone())?;
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
        for Outcome { index, result, .. } in
            self.json_stream(Box::new(inputs.into_iter()), Delivery::FAIL_FAST)
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
        self.json_stream(Box::new(inputs.into_iter()), Delivery::ORDERED)
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
            stream: self.json_stream(Box::new(inputs), Delivery::ORDERED),
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
            stream: self.json_stream(Box::new(inputs), Delivery::UNORDERED),
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
        let settings = self.settings(self.json_runner(), delivery);
        let stream = MapStream::fed(self.json_executor(), settings, Box::new(batches))?;
        Ok(RawImap { stream })
    }

    /// The JSON calls of this job, each run under the pool's policy.
    pub(super) fn json_runner(&self) -> JsonRunner {
        JsonRunner {
            module: self.module.clone(),
            call: self.call.clone(),
            policy: self.pool.policy.clone(),
        }
    }

    /// The plan of a map of this job run by `runner`, cancelled with the pool.
    fn plan<R: Runner>(&self, runner: R, delivery: Delivery) -> MapPlan<R> {
        MapPlan {
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
            Box::new(Threads::new(&self.pool.scheduler)),
            self.settings(runner, delivery),
            inputs,
        )
    }

    /// A map of JSON inputs: on the cluster's workers when the pool is a cluster's, else on
    /// the pool's threads.
    fn json_stream(
        &self,
        inputs: Box<dyn Iterator<Item = Prepared> + 'p>,
        delivery: Delivery,
    ) -> MapStream<'p, JsonRunner> {
        let settings = self.settings(self.json_runner(), delivery);
        MapStream::new(self.json_executor(), settings, inputs)
    }

    fn json_executor(&self) -> Box<dyn Executor<JsonRunner> + 'p> {
        match &self.pool.remote {
            Some(remote) => Arc::clone(remote).executor(&self.task),
            None => Box::new(Threads::new(&self.pool.scheduler)),
        }
    }

    /// Typed maps run on a pool's own threads only.
    fn check_local(&self) -> Result<(), Error> {
        if self.pool.remote.is_some() {
            return Err(Error::Input {
                task: self.task.clone(),
                message: "a numeric map runs on a local pool; a cluster maps JSON (map, imap)"
                    .into(),
            });
        }
        Ok(())
    }

    /// The settings of a map of this job run by `runner`.
    fn settings<R: Runner>(&self, runner: R, delivery: Delivery) -> MapSettings<R> {
        let workers = match &self.pool.remote {
            Some(remote) => remote.workers(),
            None => self.pool.workers,
        };
        MapSettings {
            plan: self.plan(runner, delivery),
            chunking: self.chunking,
            ordered: delivery.ordered,
            workers,
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
