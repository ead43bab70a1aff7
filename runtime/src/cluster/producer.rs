//! The producer's side: [`Cluster`], a pool whose JSON maps run on the cluster's workers, and
//! the executor of one such map, which publishes its chunks and turns the outcomes workers
//! publish back into the batches of the one map stream (`map.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{AckPolicy, pull};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc as channel;

use super::broker::{Broker, CHUNK_ACK_WAIT, Connection, RENEWAL, cluster_error, unique_id};
use super::wire::{
    DirRequest, EnvRequest, MapSpec, RUN_NANOS_HEADER, SlotOutcome, WIRE_VERSION, WireCall,
    WireLimits, WorkerInfo, decode_results, encode_chunk,
};
use crate::engine::Engine;
use crate::error::{Error, TaskError};
use crate::isolation::Isolation;
use crate::map::{Batch, BatchSender, Chunk, Executor, MapShared, RemoteMaps};
use crate::module::Module;
use crate::placeholders::Placeholders;
use crate::pool::{Canceller, Imap, Job, Pool, PoolBuilder};
use crate::run::attempt::Details;
use crate::run::json::{Call, CommandInput, CommandStdio, JsonRunner};
use crate::sandbox::{Access, Limits};

/// The time an adaptive chunk of a cluster map aims at: long enough to amortize a round trip
/// through the broker, short enough to spread a map over many workers.
const REMOTE_CHUNK_TIME: Duration = Duration::from_millis(50);
/// A map with no worker to take its chunks says so after this long.
const WAITING_NOTICE: Duration = Duration::from_secs(3);
/// The threads a map counts on when no worker is registered yet.
const DEFAULT_REMOTE_WORKERS: usize = 4;
/// How often a map looks for chunks acknowledged without their outcomes, and how old a chunk
/// must be to be looked at.
const AUDIT: Duration = Duration::from_secs(5);
/// How long a map's periodic questions to the server (renewing its specification, auditing its
/// chunks, listing workers) may take: a server lost meanwhile holds up nothing else.
const ASK_TIME: Duration = Duration::from_secs(2);
/// How long dropping a map waits for its leftovers to be removed from the broker.
const CLEANUP_TIME: Duration = Duration::from_secs(10);

/// Says something to the user of a map (the CLI writes it on stderr).
pub type Notices = Arc<dyn Fn(&str) + Send + Sync>;

/// A pool whose maps run on the workers of a NATS JetStream cluster (`hecaton worker`,
/// [`Worker`](super::Worker)) instead of on threads of this process: the same [`Job`]s, the
/// same iterators and outcomes as [`Pool`]'s, the same chunking, in-flight bound, ordering,
/// fail-fast, retries and limits; only where each chunk runs differs.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hecaton::cluster::{Cluster, Connection};
/// use hecaton::Module;
///
/// let module = Module::from_file("square.wasm")?;
/// let cluster = Cluster::builder(Connection::new("nats://127.0.0.1:4222")).connect()?;
/// let squares: Vec<i64> = cluster.map(&module, "square", 1..=100_i64)?;
/// # Ok(()) }
/// ```
///
/// Numeric maps ([`Job::map_numeric`]) and single tasks (`apply`) run on a local [`Pool`].
pub struct Cluster {
    pool: Pool,
    maps: Arc<ClusterMaps>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("servers", &self.maps.broker.servers)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Cluster`]; made by [`Cluster::builder`].
pub struct ClusterBuilder {
    connection: Connection,
    /// The local pool's settings, which the cluster's maps take (its threads run none).
    pool: PoolBuilder,
    requests: Requests,
    notices: Option<Notices>,
}

/// The directories and variables a cluster's maps ask workers to grant.
#[derive(Clone, Debug, Default)]
struct Requests {
    dirs: Vec<DirRequest>,
    env: Vec<EnvRequest>,
}

impl std::fmt::Debug for ClusterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterBuilder")
            .field("servers", &self.connection.display_servers())
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A builder for the cluster at `connection`, with a local pool's defaults.
    pub fn builder(connection: Connection) -> ClusterBuilder {
        ClusterBuilder {
            connection,
            pool: Pool::builder().workers(1),
            requests: Requests::default(),
            notices: None,
        }
    }

    /// A job of task `task` of `module`, as [`Pool::job`]. The module is stored in the
    /// cluster's object store under its SHA-256 unless it is there already.
    ///
    /// # Errors
    /// As [`Pool::job`]; [`Error::Cluster`] when the module cannot be stored,
    /// [`Error::Capability`] when workers are registered and none grants what the cluster's
    /// maps ask for.
    pub fn job(&self, module: &Module, task: &str) -> Result<Job<'_>, Error> {
        let job = self.pool.job(module, task)?;
        self.maps.prepare(module)?;
        Ok(job)
    }

    /// A job of the module's WASI command, as [`Pool::command_job`].
    ///
    /// # Errors
    /// As [`Cluster::job`].
    pub fn command_job(
        &self,
        module: &Module,
        args: Vec<String>,
        input: CommandInput,
    ) -> Result<Job<'_>, Error> {
        let job = self.pool.command_job(module, args, input)?;
        self.maps.prepare(module)?;
        Ok(job)
    }

    /// As [`Pool::map`].
    ///
    /// # Errors
    /// As [`Pool::map`] and [`Cluster::job`].
    pub fn map<I, O>(
        &self,
        module: &Module,
        task: &str,
        inputs: impl IntoIterator<Item = I>,
    ) -> Result<Vec<O>, Error>
    where
        I: serde::Serialize,
        O: serde::de::DeserializeOwned,
    {
        self.job(module, task)?.map(inputs)
    }

    /// As [`Pool::imap`].
    ///
    /// # Errors
    /// As [`Cluster::job`].
    pub fn imap<'p, I, O>(
        &'p self,
        module: &Module,
        task: &str,
        inputs: impl IntoIterator<Item = I> + 'p,
    ) -> Result<Imap<'p, O>, Error>
    where
        I: serde::Serialize + 'p,
        O: serde::de::DeserializeOwned,
    {
        Ok(self.job(module, task)?.imap(inputs))
    }

    /// Cancels every map of this cluster, as [`Pool::canceller`]: workers stop their chunks,
    /// and the maps end with their remaining items [`TaskError::Cancelled`].
    pub fn canceller(&self) -> Canceller {
        self.pool.canceller()
    }

    /// The worker threads registered now, all workers together.
    ///
    /// # Errors
    /// [`Error::Cluster`] when the broker cannot be asked.
    pub fn registered_threads(&self) -> Result<usize, Error> {
        let broker = &self.maps.broker;
        let workers = broker
            .runtime
            .block_on(registered_workers(broker))
            .map_err(|error| cluster_error(&broker.servers, error))?;
        Ok(workers.iter().map(|worker| worker.threads as usize).sum())
    }
}

impl ClusterBuilder {
    /// The engine modules are compiled for here (default: [`Engine::shared`]); workers use an
    /// engine of the same settings (fuel metering, stack size).
    pub fn engine(mut self, engine: &Engine) -> Self {
        self.pool = self.pool.engine(engine);
        self
    }

    /// Per-task limits, which every worker enforces.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.pool = self.pool.limits(limits);
        self
    }

    /// Failed tasks are run again, each time in a fresh instance, up to `retries` times.
    pub fn retries(mut self, retries: u32) -> Self {
        self.pool = self.pool.retries(retries);
        self
    }

    /// Items per chunk (default: adaptive, aiming at chunks of about 50 ms).
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.pool = self.pool.chunksize(chunksize);
        self
    }

    /// How many tasks share an instance (default: [`Isolation::Task`]).
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.pool = self.pool.isolation(isolation);
        self
    }

    /// Asks workers for host directory `host` (spelled as their `--allow-dir`) at `guest`:
    /// only a worker that allows it, with at least this access, takes the maps.
    pub fn request_dir(
        mut self,
        host: impl Into<String>,
        guest: impl Into<String>,
        access: Access,
    ) -> Self {
        self.requests.dirs.push(DirRequest {
            host: host.into(),
            guest: guest.into(),
            writable: access == Access::ReadWrite,
        });
        self
    }

    /// Sets variable `key` in every task: to `value`, or with `None` to the worker's own value,
    /// which only a worker started with `--allow-env KEY` grants.
    pub fn request_env(mut self, key: impl Into<String>, value: Option<String>) -> Self {
        self.requests.env.push(EnvRequest {
            key: key.into(),
            value,
        });
        self
    }

    /// Where the cluster's notices go, such as a map waiting for a worker (default: nowhere).
    pub fn notices(mut self, notices: Notices) -> Self {
        self.notices = Some(notices);
        self
    }

    /// Connects, and makes the cluster's streams and stores that are not there yet.
    ///
    /// # Errors
    /// [`Error::Cluster`] for a refused connection, a wrong password, a server without
    /// JetStream; [`Error::Config`] as [`PoolBuilder::build`](crate::PoolBuilder::build).
    pub fn connect(self) -> Result<Cluster, Error> {
        let broker = Arc::new(Broker::connect(&self.connection, 2)?);
        let maps = Arc::new(ClusterMaps {
            broker,
            requests: self.requests,
            notices: self.notices,
            workers: Mutex::new(DEFAULT_REMOTE_WORKERS),
            module: Mutex::new(None),
        });
        let remote: Arc<dyn RemoteMaps> = maps.clone();
        Ok(Cluster {
            pool: self.pool.remote(remote).build()?,
            maps,
        })
    }
}

/// What a cluster's maps share: the broker, the requests, and the module last stored.
struct ClusterMaps {
    broker: Arc<Broker>,
    requests: Requests,
    notices: Option<Notices>,
    /// The threads registered when the last job was made.
    workers: Mutex<usize>,
    /// The module stored last: its file and hash (a job of the same module stores nothing).
    module: Mutex<Option<(std::path::PathBuf, String)>>,
}

impl std::fmt::Debug for ClusterMaps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterMaps")
            .field("broker", &self.broker)
            .finish_non_exhaustive()
    }
}

impl ClusterMaps {
    /// Stores `module` under its hash, and refuses the job when workers are registered and none
    /// grants the requests.
    fn prepare(&self, module: &Module) -> Result<(), Error> {
        let broker = &self.broker;
        let Some(binary) = module.binary() else {
            return Err(Error::Input {
                task: module.path().display().to_string(),
                message: "a precompiled module cannot travel to a cluster's workers (they \
                          compile the wasm themselves)"
                    .into(),
            });
        };
        let hash = sha256_hex(binary);
        broker.runtime.block_on(async {
            let stored = broker.modules.info(&hash).await.is_ok();
            if !stored {
                let mut reader = binary;
                broker
                    .modules
                    .put(hash.as_str(), &mut reader)
                    .await
                    .map_err(|error| {
                        cluster_error(
                            &broker.servers,
                            format!("cannot store {}: {error}", module.path().display()),
                        )
                    })?;
            }
            let workers = registered_workers(broker)
                .await
                .map_err(|error| cluster_error(&broker.servers, error))?;
            let Requests { dirs, env } = &self.requests;
            let max_stack = module.engine().max_stack() as u64;
            let refusals: Vec<String> = workers
                .iter()
                .filter_map(|worker| {
                    worker
                        .refusal(dirs, env)
                        .or_else(|| worker.stack_refusal(max_stack))
                })
                .collect();
            if !workers.is_empty() && refusals.len() == workers.len() {
                return Err(Error::Capability(format!(
                    "no worker grants {}: the {} worker(s) registered on NATS at {} do not allow \
                     it (start one with `hecaton worker --allow-dir HOST::GUEST`, \
                     `--allow-env KEY` or `--max-stack SIZE`)",
                    refusals[0],
                    workers.len(),
                    broker.servers
                )));
            }
            let threads: usize = workers.iter().map(|worker| worker.threads as usize).sum();
            *self.workers.lock().unwrap_or_else(PoisonError::into_inner) =
                threads.max(DEFAULT_REMOTE_WORKERS);
            Ok::<_, Error>(())
        })?;
        *self.module.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((module.path().to_owned(), hash));
        Ok(())
    }

    /// The specification of a map whose state is `shared`.
    fn spec(&self, task: &str, shared: &MapShared<JsonRunner>) -> Result<MapSpec, String> {
        let plan = shared.plan();
        let runner = &plan.runner;
        let module = &runner.module;
        let hash = match &*self.module.lock().unwrap_or_else(PoisonError::into_inner) {
            Some((path, hash)) if path == module.path() => hash.clone(),
            _ => sha256_hex(module.binary().unwrap_or_default()),
        };
        let call = match &runner.call {
            Call::Json(_) => WireCall::Task(task.to_owned()),
            Call::Command {
                args,
                stdio,
                scratch,
                fail_nonzero,
                placeholders,
            } => WireCall::Command {
                args: args.clone(),
                input_is_arg: match stdio {
                    CommandStdio::PerItem(CommandInput::Arg) => true,
                    CommandStdio::PerItem(CommandInput::Stdin) => false,
                    CommandStdio::Fixed(_) => {
                        return Err("a command of fixed streams is not a map's".into());
                    }
                },
                fail_nonzero: *fail_nonzero,
                replace: match placeholders {
                    Placeholders::Parallel => None,
                    Placeholders::Input(token) => Some(token.clone()),
                },
                scratch: scratch
                    .as_ref()
                    .map_or_else(Vec::new, |scratch| scratch.guests().to_vec()),
            },
        };
        Ok(MapSpec {
            version: WIRE_VERSION,
            module: hash,
            module_name: module_name(module.path()),
            fuel_metering: module.engine().fuel_enabled(),
            max_stack: module.engine().max_stack() as u64,
            limits: WireLimits::from(&runner.policy.limits),
            call,
            dirs: self.requests.dirs.clone(),
            env: self.requests.env.clone(),
            retries: plan.retries,
            isolation: plan.isolation.into(),
            timed: plan.timed,
            fail_fast: plan.fail_fast,
        })
    }
}

impl RemoteMaps for ClusterMaps {
    fn executor(self: Arc<Self>, task: &str) -> Box<dyn Executor<JsonRunner>> {
        Box::new(RemoteExecutor {
            maps: self,
            task: task.to_owned(),
            driver: Mutex::new(None),
        })
    }

    fn workers(&self) -> usize {
        *self.workers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The hex SHA-256 of `bytes`: a module's name in the modules store.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The name a module goes by in workers' messages: its file name.
fn module_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || "module.wasm".into(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// The workers registered now (each refreshes its registration; a silent one expires).
pub(crate) async fn registered_workers(broker: &Broker) -> Result<Vec<WorkerInfo>, String> {
    let mut subjects = broker
        .workers
        .info_with_subjects("hecaton.workers.>")
        .await
        .map_err(|error| format!("cannot list the workers: {error}"))?;
    let mut names = Vec::new();
    while let Some(entry) = subjects.next().await {
        let (subject, _) = entry.map_err(|error| format!("cannot list the workers: {error}"))?;
        names.push(subject);
    }
    let mut workers = Vec::new();
    for subject in names {
        // Gone between the listing and now: it deregistered.
        let Ok(message) = broker
            .workers
            .get_last_raw_message_by_subject(&subject)
            .await
        else {
            continue;
        };
        if let Ok(worker) = serde_json::from_slice::<WorkerInfo>(&message.payload) {
            workers.push(worker);
        }
    }
    Ok(workers)
}

/// The executor of one cluster map: it hands each chunk to the map's driver, a task on the
/// broker's runtime, started with the first chunk.
struct RemoteExecutor {
    maps: Arc<ClusterMaps>,
    task: String,
    driver: Mutex<Option<DriverHandle>>,
}

/// The map's side of its driver: closing `chunks` stops it, and it says on `finished` once the
/// map's leftovers are gone from the broker.
struct DriverHandle {
    chunks: channel::UnboundedSender<(Chunk<Vec<u8>>, BatchSender<JsonRunner>)>,
    finished: mpsc::Receiver<()>,
}

impl Executor<JsonRunner> for RemoteExecutor {
    fn submit(
        &self,
        shared: &Arc<MapShared<JsonRunner>>,
        chunk: Chunk<Vec<u8>>,
        done: BatchSender<JsonRunner>,
    ) {
        let mut driver = self.driver.lock().unwrap_or_else(PoisonError::into_inner);
        let driver = driver.get_or_insert_with(|| self.start(shared));
        if let Err(channel::error::SendError((chunk, done))) = driver.chunks.send((chunk, done)) {
            // The driver ended before its map (its runtime is gone): the chunk's inputs say so.
            let mut pending = Pending::new(&chunk, done);
            pending.fill_rest(&|| {
                TaskError::WorkerLost("the connection to the cluster was lost".into())
            });
            pending.finish(shared);
        }
    }

    fn target_chunk_time(&self) -> Duration {
        REMOTE_CHUNK_TIME
    }
}

impl RemoteExecutor {
    fn start(&self, shared: &Arc<MapShared<JsonRunner>>) -> DriverHandle {
        let (chunks, submitted) = channel::unbounded_channel();
        let (finish, finished) = mpsc::channel();
        let driver = Driver {
            maps: Arc::clone(&self.maps),
            id: unique_id(),
            spec: self.maps.spec(&self.task, shared),
            shared: Arc::clone(shared),
            pending: BTreeMap::new(),
            started: Instant::now(),
            renewed: Instant::now(),
            audited: Instant::now(),
            heard: false,
            last_heard: Instant::now(),
            checked: Instant::now(),
            noticed: false,
            cancelled: false,
            disconnected: false,
        };
        self.maps.broker.runtime.spawn(async move {
            driver.run(submitted).await;
            let _ = finish.send(());
        });
        DriverHandle { chunks, finished }
    }
}

impl Drop for RemoteExecutor {
    fn drop(&mut self) {
        if let Some(driver) = self
            .driver
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            drop(driver.chunks);
            let _ = driver.finished.recv_timeout(CLEANUP_TIME);
        }
    }
}

/// A chunk published and not yet whole: a slot per input, filled once (a redelivered chunk's
/// second outcome for an input is dropped).
struct Pending {
    first: usize,
    slots: Vec<Option<SlotOutcome>>,
    empty: usize,
    done: BatchSender<JsonRunner>,
    /// What the chunk took on its worker, in nanoseconds.
    run_nanos: u64,
    timed: bool,
    /// Its message's sequence in the chunks' stream (0: not published).
    sequence: u64,
    published: Instant,
}

impl Pending {
    /// A chunk's pending slots, its holes (inputs known to fail) filled already.
    fn new(chunk: &Chunk<Vec<u8>>, done: BatchSender<JsonRunner>) -> Self {
        let slots: Vec<_> = chunk
            .inputs
            .iter()
            .map(|input| match input {
                Ok(_) => None,
                Err(error) => Some((Err(Box::new(error.clone())), Details::default())),
            })
            .collect();
        Self {
            first: chunk.first,
            empty: slots.iter().filter(|slot| slot.is_none()).count(),
            slots,
            done,
            run_nanos: 0,
            timed: true,
            sequence: 0,
            published: Instant::now(),
        }
    }

    fn is_whole(&self) -> bool {
        self.empty == 0
    }

    /// Fills every empty slot with `error()`.
    fn fill_rest(&mut self, error: &dyn Fn() -> TaskError) {
        for slot in self.slots.iter_mut().filter(|slot| slot.is_none()) {
            *slot = Some((Err(Box::new(error())), Details::default()));
        }
        self.empty = 0;
    }

    /// Hands the whole chunk to the map, its time to the map's adaptive chunking.
    fn finish(self, shared: &MapShared<JsonRunner>) {
        let count = self.slots.len();
        if self.run_nanos > 0 {
            shared.record_task_time(Duration::from_nanos(self.run_nanos), count);
        }
        let mut batch = Batch {
            first: self.first,
            results: Vec::with_capacity(count),
            details: Vec::with_capacity(if self.timed { count } else { 0 }),
        };
        for (result, details) in self.slots.into_iter().flatten() {
            batch.results.push(result);
            if self.timed {
                batch.details.push(details);
            }
        }
        self.done.send(batch);
    }
}

/// One map's traffic with the broker: publishes its chunks, collects its outcomes, watches
/// for Ctrl-C and for a cluster without workers, and removes what the map leaves.
struct Driver {
    maps: Arc<ClusterMaps>,
    id: String,
    spec: Result<MapSpec, String>,
    shared: Arc<MapShared<JsonRunner>>,
    /// Published chunks not yet whole, by first index.
    pending: BTreeMap<usize, Pending>,
    started: Instant,
    /// When the specification was last published (it expires unless renewed).
    renewed: Instant,
    /// When the pending chunks were last audited for outcomes that will not come.
    audited: Instant,
    /// An outcome arrived: a worker took the map.
    heard: bool,
    /// When the last outcome arrived (or the map started).
    last_heard: Instant,
    /// When the registered workers were last looked at.
    checked: Instant,
    /// The map said it waits for a worker, since the last outcome.
    noticed: bool,
    /// The map was cancelled: its pending chunks were handed back.
    cancelled: bool,
    /// The map said it lost its server, and has not been connected since.
    disconnected: bool,
}

impl Driver {
    fn subject(&self, what: &str) -> String {
        format!("hecaton.{what}.{}", self.id)
    }

    async fn run(
        mut self,
        mut submitted: channel::UnboundedReceiver<(Chunk<Vec<u8>>, BatchSender<JsonRunner>)>,
    ) {
        let broker = Arc::clone(&self.maps.broker);
        let outcomes = match self.open(&broker).await {
            Ok(outcomes) => Some(outcomes),
            Err(error) => {
                self.spec = Err(error);
                None
            }
        };
        let mut outcomes = outcomes.map(Box::pin);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        // Chunks are published by tasks of their own, so that a server out of reach holds up
        // nothing else; each says here how it went.
        let (published, mut acked) = channel::unbounded_channel();
        loop {
            tokio::select! {
                chunk = submitted.recv() => match chunk {
                    Some((chunk, done)) => self.publish(&broker, chunk, done, &published),
                    None => break,
                },
                Some((first, result)) = acked.recv() => self.published(first, result),
                Some(message) = next_outcome(&mut outcomes) => self.accept(&broker, message).await,
                _ = tick.tick() => self.watch(&broker).await,
            }
        }
        self.clean_up(&broker).await;
    }

    /// Makes the map's consumers and publishes its specification; the map's outcomes.
    async fn open(&self, broker: &Broker) -> Result<pull::Stream, String> {
        self.spec.as_ref().map_err(String::clone)?;
        broker
            .chunks
            .create_consumer(pull::Config {
                durable_name: Some(format!("chunks-{}", self.id)),
                filter_subject: self.subject("chunks"),
                ack_policy: AckPolicy::Explicit,
                ack_wait: CHUNK_ACK_WAIT,
                // A worker receiving a chunk too often reports its inputs lost (`worker.rs`).
                max_deliver: -1,
                inactive_threshold: Duration::from_secs(3600),
                ..Default::default()
            })
            .await
            .map_err(|error| format!("cannot make the map's chunk consumer: {error}"))?;
        let results = broker
            .results
            .create_consumer(pull::Config {
                durable_name: Some(format!("results-{}", self.id)),
                filter_subject: self.subject("results"),
                ack_policy: AckPolicy::Explicit,
                inactive_threshold: Duration::from_secs(3600),
                ..Default::default()
            })
            .await
            .map_err(|error| format!("cannot make the map's outcome consumer: {error}"))?;
        self.publish_spec(broker).await?;
        results
            .messages()
            .await
            .map_err(|error| format!("cannot read the map's outcomes: {error}"))
    }

    /// Publishes (or renews) the map's specification.
    async fn publish_spec(&self, broker: &Broker) -> Result<u64, String> {
        let spec = self.spec.as_ref().map_err(String::clone)?;
        let body = serde_json::to_vec(spec).map_err(|error| error.to_string())?;
        let id = format!("{}.spec.{}", self.id, self.started.elapsed().as_millis());
        broker.publish(self.subject("maps"), &id, "-", body).await
    }

    /// Records a chunk as pending, and starts publishing it: a server out of reach is waited
    /// for, and only the map's cancellation gives up.
    fn publish(
        &mut self,
        broker: &Arc<Broker>,
        chunk: Chunk<Vec<u8>>,
        done: BatchSender<JsonRunner>,
        published: &channel::UnboundedSender<(usize, Result<u64, String>)>,
    ) {
        let mut pending = Pending::new(&chunk, done);
        pending.timed = self.shared.plan().timed;
        let failure = match (&self.spec, self.cancelled) {
            (_, true) => Some(TaskError::Cancelled),
            (Err(error), _) => Some(TaskError::WorkerLost(format!(
                "the map could not be handed to the cluster: {error}"
            ))),
            (Ok(_), false) => None,
        };
        if let Some(failure) = failure {
            pending.fill_rest(&|| failure.clone());
        }
        if pending.is_whole() {
            pending.finish(&self.shared);
            return;
        }
        let id = format!("{}.{}", self.id, chunk.first);
        let body = encode_chunk(chunk.first, &chunk.inputs);
        let (broker, subject, first) = (Arc::clone(broker), self.subject("chunks"), chunk.first);
        let (cancel, published) = (self.shared.plan().cancel.clone(), published.clone());
        self.pending.insert(first, pending);
        tokio::spawn(async move {
            let result = loop {
                match broker
                    .publish(subject.clone(), &id, &id, body.clone())
                    .await
                {
                    Ok(sequence) => break Ok(sequence),
                    Err(error) if cancel.is_cancelled() => break Err(error),
                    Err(error) => tracing::debug!("{error}; trying again"),
                }
            };
            let _ = published.send((first, result));
        });
    }

    /// A chunk's publication ended: its sequence in the stream, or (the map cancelled) its
    /// inputs handed back.
    fn published(&mut self, first: usize, result: Result<u64, String>) {
        match result {
            Ok(sequence) => {
                if let Some(pending) = self.pending.get_mut(&first) {
                    pending.sequence = sequence;
                }
            }
            Err(_) => {
                if let Some(mut pending) = self.pending.remove(&first) {
                    pending.fill_rest(&|| TaskError::Cancelled);
                    pending.finish(&self.shared);
                }
            }
        }
    }

    /// Fills the slots a worker's outcomes are for; hands back each chunk made whole.
    async fn accept(&mut self, broker: &Broker, message: async_nats::jetstream::Message) {
        let Some(body) = broker.body_or_again(&message).await else {
            return;
        };
        let run_nanos = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(RUN_NANOS_HEADER))
            .and_then(|value| value.as_str().parse::<u64>().ok())
            .unwrap_or(0);
        match decode_results(&body) {
            Ok((first, outcomes)) => {
                self.heard = true;
                self.last_heard = Instant::now();
                self.noticed = false;
                let Some((&start, _)) = self.pending.range(..=first).next_back() else {
                    let _ = message.ack().await;
                    return;
                };
                if let Some(pending) = self.pending.get_mut(&start) {
                    for (offset, outcome) in outcomes.into_iter().enumerate() {
                        let Some(slot) = pending.slots.get_mut(first - start + offset) else {
                            break;
                        };
                        if slot.is_none() {
                            *slot = Some((outcome.result.map_err(Box::new), outcome.details));
                            pending.empty -= 1;
                        }
                    }
                    pending.run_nanos = pending.run_nanos.max(run_nanos);
                    if pending.is_whole()
                        && let Some(pending) = self.pending.remove(&start)
                    {
                        pending.finish(&self.shared);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(map = %self.id, "an outcome message that is not one: {error}");
            }
        }
        let _ = message.ack().await;
    }

    /// Every 100 ms: hands pending chunks back as cancelled after Ctrl-C, and says when no
    /// worker takes the map.
    async fn watch(&mut self, broker: &Broker) {
        if !self.cancelled && self.shared.plan().cancel.is_cancelled() {
            self.cancelled = true;
            for (_, mut pending) in std::mem::take(&mut self.pending) {
                pending.fill_rest(&|| TaskError::Cancelled);
                pending.finish(&self.shared);
            }
            // Workers stop the map's chunks when its specification goes (cut off from the
            // server, it expires instead).
            if broker.connected() {
                let _ = tokio::time::timeout(ASK_TIME, self.withdraw(broker)).await;
            }
        }
        // Cut off from the server: said once, and nothing asked of it until it is back.
        if !broker.connected() {
            if !self.disconnected
                && let Some(notices) = &self.maps.notices
            {
                notices(&format!(
                    "waiting for the NATS server at {}: the connection is lost (the client \
                     reconnects by itself)",
                    broker.servers
                ));
            }
            self.disconnected = true;
            return;
        }
        self.disconnected = false;
        if !self.cancelled && self.spec.is_ok() && self.renewed.elapsed() >= RENEWAL {
            self.renewed = Instant::now();
            // Bounded: a server lost meanwhile holds up nothing (the next renewal tries again).
            match tokio::time::timeout(ASK_TIME, self.publish_spec(broker)).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::warn!(map = %self.id, "cannot renew the map's specification: {error}");
                }
                Err(_) => tracing::debug!(map = %self.id, "renewing the specification timed out"),
            }
        }
        if self.audited.elapsed() >= AUDIT {
            self.audited = Instant::now();
            let _ = tokio::time::timeout(ASK_TIME, self.audit(broker)).await;
        }
        // Nothing heard for a while with chunks pending: say why, once each time it happens.
        if self.noticed
            || self.pending.is_empty()
            || self.last_heard.elapsed() < WAITING_NOTICE
            || self.checked.elapsed() < Duration::from_secs(1)
        {
            return;
        }
        self.checked = Instant::now();
        let Some(notices) = &self.maps.notices else {
            return;
        };
        let servers = &broker.servers;
        let asked = tokio::time::timeout(ASK_TIME, registered_workers(broker)).await;
        let workers = match asked.unwrap_or_else(|_| Err("no answer in 2 s".into())) {
            Ok(workers) => workers,
            Err(error) => {
                self.noticed = true;
                notices(&format!(
                    "waiting for the NATS server at {servers}: {error} (the client reconnects by \
                     itself)"
                ));
                return;
            }
        };
        let refusals: Vec<String> = match &self.spec {
            Ok(spec) => workers
                .iter()
                .filter_map(|worker| worker.spec_refusal(spec))
                .collect(),
            Err(_) => Vec::new(),
        };
        let message = match (workers.len(), refusals.first(), self.heard) {
            (0, _, _) => format!(
                "waiting for a worker: none is registered on NATS at {servers} (start one with \
                 `hecaton worker --nats URL`)"
            ),
            (count, Some(refusal), _) if refusals.len() == count => format!(
                "waiting for a worker that grants {refusal}: the {count} registered on NATS at \
                 {servers} do not"
            ),
            (count, _, false) => format!(
                "waiting for a worker: {count} registered on NATS at {servers}, none has taken \
                 a chunk yet"
            ),
            // Workers busy with long chunks.
            (_, _, true) => return,
        };
        self.noticed = true;
        notices(&message);
    }

    /// Gives the inputs of a chunk that a worker acknowledged without their outcomes (its
    /// message is gone from the work queue, and no outcome is left to read) `worker_lost`
    /// records: a pending chunk never waits for what will not come.
    async fn audit(&mut self, broker: &Broker) {
        let mut gone = Vec::new();
        for (&first, pending) in self.pending.iter().take(64) {
            if pending.sequence == 0 || pending.published.elapsed() < AUDIT {
                continue;
            }
            if let Err(error) = broker.chunks.get_raw_message(pending.sequence).await {
                use async_nats::jetstream::stream::RawMessageErrorKind;
                if matches!(error.kind(), RawMessageErrorKind::NoMessageFound) {
                    gone.push(first);
                }
            }
        }
        if gone.is_empty() {
            return;
        }
        // Outcomes published before the acknowledgement may still wait to be read.
        let name = format!("results-{}", self.id);
        let Ok(info) = broker.results.consumer_info(&name).await else {
            return;
        };
        if info.num_pending > 0 || info.num_ack_pending > 0 {
            return;
        }
        for first in gone {
            if let Some(mut pending) = self.pending.remove(&first) {
                pending.fill_rest(&|| {
                    TaskError::WorkerLost(
                        "a worker acknowledged its chunk without publishing its outcome".into(),
                    )
                });
                pending.finish(&self.shared);
            }
        }
    }

    /// Takes the map's specification away: workers stop its chunks.
    async fn withdraw(&self, broker: &Broker) {
        // An empty specification is the map's end; the subject is then purged.
        let _ = broker
            .publish(
                self.subject("maps"),
                &format!("{}.end", self.id),
                "-",
                Vec::new(),
            )
            .await;
        let _ = broker.maps.purge().filter(self.subject("maps")).await;
    }

    /// Removes what the map leaves on the broker: its specification, consumers, chunks,
    /// outcomes and payloads.
    async fn clean_up(&mut self, broker: &Broker) {
        // Cut off from the server, nothing can be removed: the map's specification expires,
        // and its workers remove what it left.
        if !broker.connected() {
            return;
        }
        if !self.cancelled {
            self.withdraw(broker).await;
        }
        let _ = broker
            .chunks
            .delete_consumer(&format!("chunks-{}", self.id))
            .await;
        let _ = broker
            .results
            .delete_consumer(&format!("results-{}", self.id))
            .await;
        let _ = broker.chunks.purge().filter(self.subject("chunks")).await;
        let _ = broker.results.purge().filter(self.subject("results")).await;
        if let Ok(mut objects) = broker.payloads.list().await {
            let prefix = format!("{}.", self.id);
            let mut names = Vec::new();
            while let Some(Ok(object)) = objects.next().await {
                if object.name.starts_with(&prefix) {
                    names.push(object.name);
                }
            }
            for name in names {
                let _ = broker.payloads.delete(&name).await;
            }
        }
        // Chunks still pending (the map was dropped before its end) are nobody's now.
        self.pending.clear();
    }
}

/// The next outcome message, or never when the map has no outcome stream; a read error
/// (a server lost, the client reconnecting) is skipped.
async fn next_outcome(
    outcomes: &mut Option<std::pin::Pin<Box<pull::Stream>>>,
) -> Option<async_nats::jetstream::Message> {
    let Some(outcomes) = outcomes else {
        return std::future::pending().await;
    };
    loop {
        match outcomes.next().await {
            Some(Ok(message)) => return Some(message),
            Some(Err(error)) => {
                tracing::debug!("reading outcomes: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            None => return std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt;

    use super::super::broker::tests::TestServer;
    use super::*;

    const SQUARE: &str = r#"(module (func (export "square") (param i64) (result i64)
        local.get 0 local.get 0 i64.mul))"#;

    #[test]
    fn a_chunk_acknowledged_without_its_outcomes_becomes_a_worker_lost_record() {
        let server = TestServer::start(None);
        let cluster = Cluster::builder(Connection::new(server.url()))
            .connect()
            .unwrap();
        let module =
            Module::from_bytes(&Engine::shared().unwrap(), "square.wat", SQUARE.as_bytes())
                .unwrap();
        // A rogue worker: it takes the map's chunk and acknowledges it, publishing nothing.
        let broker = Arc::clone(&cluster.maps.broker);
        let rogue = std::thread::spawn(move || {
            broker.runtime.block_on(async {
                loop {
                    let names: Vec<String> = broker
                        .chunks
                        .consumer_names()
                        .try_collect()
                        .await
                        .unwrap_or_default();
                    if let Some(name) = names.iter().find(|name| name.starts_with("chunks-")) {
                        let consumer = broker
                            .chunks
                            .get_consumer::<pull::Config>(name)
                            .await
                            .unwrap();
                        let mut batch = consumer.fetch().max_messages(1).messages().await.unwrap();
                        if let Some(Ok(message)) = batch.next().await {
                            message.double_ack().await.unwrap();
                            return;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        });
        let started = Instant::now();
        let outcomes = cluster
            .job(&module, "square")
            .unwrap()
            .map_all::<_, i64>([3_i64]);
        rogue.join().unwrap();
        assert!(
            matches!(&outcomes[..], [Err(TaskError::WorkerLost(message))] if message.contains("without")),
            "{outcomes:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
