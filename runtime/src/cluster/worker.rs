//! The worker's side: [`Worker`] registers what it may grant, watches the maps, and runs the
//! chunks of each map it can grant on its own scheduler, through the same
//! `MapShared::run_chunk` as a local map. It acknowledges a chunk only after its outcomes are
//! stored, and says every [`HEARTBEAT`] that it is still running one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::message::Message;
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::broker::{Broker, Connection, HEARTBEAT, RENEWAL, cluster_error, unique_id};
use super::producer::sha256_hex;
use super::wire::{
    DirRequest, FrameWriter, MapSpec, RUN_NANOS_HEADER, SlotOutcome, WIRE_VERSION, WireCall,
    WorkerInfo, decode_chunk, encode_outcome, results_header,
};
use crate::cache::ModuleCache;
use crate::engine::Engine;
use crate::error::{Error, TaskError};
use crate::map::{Chunk, MapPlan, MapShared};
use crate::module::Module;
use crate::placeholders::Placeholders;
use crate::run::attempt::Details;
use crate::run::json::{Call, CommandInput, CommandStdio, JsonRunner};
use crate::sandbox::{Access, CancelFlag, Capabilities, Policy, Scratch};
use crate::scheduler::Scheduler;

/// A chunk delivered this many times was taken by workers that all died or stopped before
/// finishing it: its inputs are reported lost rather than run again.
pub(crate) const MAX_DELIVERIES: i64 = 3;
/// The largest module a worker fetches.
const MAX_MODULE: usize = 1 << 30;

/// A worker of a cluster: it runs the chunks of the cluster's maps on its own threads, under
/// each map's limits, granting only the directories and variables it was allowed. Made by
/// [`Worker::builder`]; it serves from [`WorkerBuilder::start`] until [`Worker::stop`].
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hecaton::cluster::{Connection, Worker};
///
/// let worker = Worker::builder(Connection::new("nats://127.0.0.1:4222"))
///     .threads(4)
///     .allow_env("LANG")
///     .start()?;
/// // … until the host is done:
/// worker.stop();
/// # Ok(()) }
/// ```
pub struct Worker {
    shared: Arc<WorkerShared>,
    serving: Option<std::sync::mpsc::Receiver<()>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.shared.info.name)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Worker`]; made by [`Worker::builder`].
pub struct WorkerBuilder {
    connection: Connection,
    threads: Option<usize>,
    dirs: Vec<Grant>,
    env: Vec<String>,
    max_stack: usize,
    max_memory: Option<u64>,
    cache: Option<ModuleCache>,
    notices: Option<super::Notices>,
}

impl std::fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("servers", &self.connection.display_servers())
            .finish_non_exhaustive()
    }
}

/// A directory a worker may grant: its host path as the map spells it, the path it opens.
#[derive(Clone, Debug)]
struct Grant {
    request: DirRequest,
    path: PathBuf,
}

impl Worker {
    /// A builder for a worker of the cluster at `connection`: as many threads as cores,
    /// granting nothing, compiling through the per-user compile cache.
    pub fn builder(connection: Connection) -> WorkerBuilder {
        WorkerBuilder {
            connection,
            threads: None,
            dirs: Vec::new(),
            env: Vec::new(),
            max_stack: crate::stack::MAX_STACK,
            max_memory: None,
            cache: ModuleCache::per_user(),
            notices: None,
        }
    }

    /// The name it registered under: its host name, process id and a unique suffix.
    pub fn name(&self) -> &str {
        &self.shared.info.name
    }

    /// Its worker threads.
    pub fn threads(&self) -> usize {
        self.shared.info.threads as usize
    }

    /// Stops taking chunks, hands back those it runs (the broker gives them to other workers at
    /// once), deregisters, and returns once done.
    pub fn stop(mut self) {
        self.stop_serving();
    }

    fn stop_serving(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(serving) = self.serving.take() {
            let _ = serving.recv_timeout(Duration::from_secs(15));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop_serving();
    }
}

impl WorkerBuilder {
    /// Its worker threads (default: the number of cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self
    }

    /// Allows maps to ask for host directory `host` at guest path `guest`, with at most
    /// `access`. A map spells `host` as it is given here (`--dir HOST::GUEST`).
    ///
    /// # Errors
    /// [`Error::Capability`] when `host` is not a directory.
    pub fn allow_dir(
        mut self,
        host: impl AsRef<Path>,
        guest: impl Into<String>,
        access: Access,
    ) -> Result<Self, Error> {
        let host = host.as_ref();
        if !host.is_dir() {
            return Err(Error::Capability(format!(
                "--allow-dir {}: not a directory",
                host.display()
            )));
        }
        self.dirs.push(Grant {
            request: DirRequest {
                host: host.display().to_string(),
                guest: guest.into(),
                writable: access == Access::ReadWrite,
            },
            path: host.to_owned(),
        });
        Ok(self)
    }

    /// The largest wasm stack limit a map may ask for (default and at most
    /// [`MAX_STACK`](crate::MAX_STACK)): the worker's threads are sized for it, and a map asking
    /// for more is not taken (its producer says why).
    ///
    /// # Errors
    /// [`Error::Config`] for 0 or more than [`MAX_STACK`](crate::MAX_STACK).
    pub fn max_stack(mut self, bytes: usize) -> Result<Self, Error> {
        crate::stack::check_limit(bytes)?;
        self.max_stack = bytes;
        Ok(self)
    }

    /// The largest memory limit per task a map may ask for (default: any); a map asking for
    /// more is not taken (its producer says why).
    pub fn max_memory(mut self, bytes: Option<u64>) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Allows maps to set variable `key` to this host's value of it.
    pub fn allow_env(mut self, key: impl Into<String>) -> Self {
        self.env.push(key.into());
        self
    }

    /// Where compiled modules are cached (default: [`ModuleCache::per_user`]; `None`: compile
    /// every module afresh).
    pub fn cache(mut self, cache: Option<ModuleCache>) -> Self {
        self.cache = cache;
        self
    }

    /// Where the worker's notices go, such as a map it does not take (default: nowhere).
    pub fn notices(mut self, notices: super::Notices) -> Self {
        self.notices = Some(notices);
        self
    }

    /// Connects, registers and starts serving on threads of its own.
    ///
    /// # Errors
    /// [`Error::Cluster`] for a refused connection, a wrong password, a server without
    /// JetStream; [`Error::Thread`].
    pub fn start(self) -> Result<Worker, Error> {
        let threads = match self.threads {
            Some(threads) => threads,
            None => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        };
        let broker = Arc::new(Broker::connect(&self.connection, 2)?);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        let id = unique_id();
        let info = WorkerInfo {
            version: WIRE_VERSION,
            threads: u32::try_from(threads).unwrap_or(u32::MAX),
            dirs: self
                .dirs
                .iter()
                .map(|grant| grant.request.clone())
                .collect(),
            env: self.env.clone(),
            name: format!("{host}.{}.{}", std::process::id(), &id[id.len() - 4..]),
            max_stack: self.max_stack as u64,
            max_memory: self.max_memory,
        };
        let shared = Arc::new(WorkerShared {
            scheduler: Scheduler::new(threads, self.max_stack)?,
            slots: Arc::new(Semaphore::new(threads * 2)),
            stopping: AtomicBool::new(false),
            subject: format!("hecaton.workers.{id}"),
            info,
            grants: self.dirs,
            cache: self.cache,
            notices: self.notices,
            engines: Mutex::new(HashMap::new()),
            broker,
        });
        shared
            .broker
            .runtime
            .block_on(shared.register())
            .map_err(|error| cluster_error(&shared.broker.servers, error))?;
        let (served, serving) = std::sync::mpsc::channel();
        let serve = Arc::clone(&shared);
        shared.broker.runtime.spawn(async move {
            serve.serve().await;
            let _ = served.send(());
        });
        Ok(Worker {
            shared,
            serving: Some(serving),
        })
    }
}

/// What a worker's maps share.
struct WorkerShared {
    broker: Arc<Broker>,
    scheduler: Scheduler,
    /// Chunks taken and not yet acknowledged: two per thread, so that a thread finishing one
    /// finds the next one here.
    slots: Arc<Semaphore>,
    stopping: AtomicBool,
    /// Its registration's subject.
    subject: String,
    info: WorkerInfo,
    grants: Vec<Grant>,
    cache: Option<ModuleCache>,
    notices: Option<super::Notices>,
    /// An engine per (fuel metering, stack size), made on first use.
    engines: Mutex<HashMap<(bool, usize), Engine>>,
}

/// A map the worker serves: how to stop it.
struct Served {
    cancel: CancelFlag,
    engine: Option<Engine>,
}

impl WorkerShared {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn notice(&self, text: &str) {
        if let Some(notices) = &self.notices {
            notices(text);
        }
    }

    async fn register(&self) -> Result<u64, String> {
        let body = serde_json::to_vec(&self.info).map_err(|error| error.to_string())?;
        let id = format!("{}.{}", self.subject, unique_id());
        self.broker
            .publish(self.subject.clone(), &id, "-", body)
            .await
    }

    /// Serves until stopped: renews the registration, starts and stops maps as their
    /// specifications come and go; then deregisters.
    async fn serve(self: Arc<Self>) {
        let mut maps: HashMap<String, Served> = HashMap::new();
        let mut running = tokio::task::JoinSet::new();
        let mut specs = None;
        let mut renew = tokio::time::interval(RENEWAL);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        while !self.stopping() {
            if specs.is_none() {
                specs = self.watch_specs().await.map(Box::pin);
            }
            tokio::select! {
                _ = renew.tick() => {
                    // Bounded: a server lost meanwhile holds up nothing (not even a stop).
                    let renewed = tokio::time::timeout(Duration::from_secs(2), self.register());
                    if let Ok(Err(error)) = renewed.await {
                        tracing::warn!("cannot renew the registration: {error}");
                    }
                }
                _ = tick.tick() => {}
                message = next_spec(&mut specs) => match message {
                    Some(message) => self.on_spec(message, &mut maps, &mut running),
                    None => specs = None,
                },
            }
            while running.try_join_next().is_some() {}
        }
        for served in maps.values() {
            match &served.engine {
                Some(engine) => served.cancel.cancel_now(engine),
                None => served.cancel.cancel(),
            }
        }
        // Cut off from the server, nothing can be handed back or deregistered: the chunks
        // come back after their ack wait, and the registration expires.
        if !self.broker.connected() {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while running.join_next().await.is_some() {}
        })
        .await;
        let _ = self
            .broker
            .workers
            .purge()
            .filter(self.subject.clone())
            .await;
    }

    /// The maps' specifications: the last of each, then each as it comes.
    async fn watch_specs(&self) -> Option<pull::Ordered> {
        let consumer = self
            .broker
            .maps
            .create_consumer(pull::OrderedConfig {
                filter_subject: "hecaton.maps.>".into(),
                deliver_policy: DeliverPolicy::LastPerSubject,
                ..Default::default()
            })
            .await;
        match consumer {
            Ok(consumer) => consumer.messages().await.ok(),
            Err(error) => {
                tracing::warn!("cannot watch the maps: {error}");
                tokio::time::sleep(Duration::from_millis(500)).await;
                None
            }
        }
    }

    /// A map's specification came (a map to serve) or went (an empty one: stop its chunks).
    fn on_spec(
        self: &Arc<Self>,
        message: Message,
        maps: &mut HashMap<String, Served>,
        running: &mut tokio::task::JoinSet<()>,
    ) {
        let Some(id) = message.subject.as_str().strip_prefix("hecaton.maps.") else {
            return;
        };
        let id = id.to_owned();
        if message.payload.is_empty() {
            if let Some(served) = maps.remove(&id) {
                match &served.engine {
                    Some(engine) => served.cancel.cancel_now(engine),
                    None => served.cancel.cancel(),
                }
            }
            return;
        }
        if maps.contains_key(&id) {
            return;
        }
        let spec = match serde_json::from_slice::<MapSpec>(&message.payload) {
            Ok(spec) if spec.version == WIRE_VERSION => spec,
            Ok(spec) => {
                self.notice(&format!(
                    "not taking map {id}: its wire version is {}, this worker's {WIRE_VERSION}",
                    spec.version
                ));
                return;
            }
            Err(error) => {
                self.notice(&format!(
                    "not taking map {id}: its specification is not one ({error})"
                ));
                return;
            }
        };
        if let Some(refusal) = self.info.spec_refusal(&spec) {
            self.notice(&format!(
                "not taking map {id}: it asks for {refusal}, which this worker does not allow"
            ));
            return;
        }
        let cancel = CancelFlag::default();
        let engine = self.engine(&spec).ok();
        maps.insert(
            id.clone(),
            Served {
                cancel: cancel.clone(),
                engine,
            },
        );
        let task = match &spec.call {
            WireCall::Task(name) => name.as_str(),
            WireCall::Command { .. } => hecaton_abi::START_EXPORT,
        };
        self.notice(&format!("map {id}: {} `{task}`", spec.module_name));
        running.spawn(Arc::clone(self).serve_map(id, spec, cancel));
    }

    fn engine(&self, spec: &MapSpec) -> Result<Engine, Error> {
        let max_stack = usize::try_from(spec.max_stack)
            .map_err(|_| Error::Config(format!("a stack of {} bytes", spec.max_stack)))?;
        let key = (spec.fuel_metering, max_stack);
        let mut engines = self.engines.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(engine) = engines.get(&key) {
            return Ok(engine.clone());
        }
        let engine = Engine::builder()
            .fuel(spec.fuel_metering)
            .max_stack(max_stack)
            .build()?;
        engines.insert(key, engine.clone());
        Ok(engine)
    }

    /// Serves one map: prepares it, then takes its chunks one per free slot until it ends or
    /// the worker stops.
    async fn serve_map(self: Arc<Self>, id: String, spec: MapSpec, cancel: CancelFlag) {
        let name = format!("chunks-{id}");
        let Ok(consumer) = self.broker.chunks.get_consumer::<pull::Config>(&name).await else {
            // A map whose producer is gone (its consumer with it).
            return;
        };
        let prepared = self.prepare(&id, &spec, cancel.clone()).await;
        let prepared = Arc::new(prepared);
        let mut running = tokio::task::JoinSet::new();
        let mut checked = Instant::now();
        let mut chunks = 0u64;
        // Checks in a row that found no specification: a server that was down longer than its
        // expiry lost it, and its producer renews it within one renewal of coming back.
        let mut missing = 0;
        while !cancel.is_cancelled() && !self.stopping() {
            if checked.elapsed() >= RENEWAL {
                checked = Instant::now();
                missing = if self.map_lives(&id).await {
                    0
                } else {
                    missing + 1
                };
                if missing >= 3 {
                    self.notice(&format!(
                        "map {id}: its producer is gone without a word; its leftovers are removed"
                    ));
                    cancel.cancel();
                    self.remove_leftovers(&id).await;
                    break;
                }
            }
            let permit = tokio::select! {
                permit = Arc::clone(&self.slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                _ = tokio::time::sleep(Duration::from_millis(200)) => continue,
            };
            let batch = consumer
                .fetch()
                .max_messages(1)
                .expires(Duration::from_millis(500))
                .messages()
                .await;
            let message = match batch {
                Ok(mut messages) => messages.next().await,
                Err(error) => {
                    tracing::debug!(map = %id, "fetching a chunk: {error}");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
            };
            match message {
                Some(Ok(message)) => {
                    let chunk = ChunkRun {
                        worker: Arc::clone(&self),
                        map: id.clone(),
                        prepared: Arc::clone(&prepared),
                        cancel: cancel.clone(),
                    };
                    chunks += 1;
                    running.spawn(chunk.run(message, permit));
                }
                Some(Err(error)) => {
                    tracing::debug!(map = %id, "fetching a chunk: {error}");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                // Nothing to take now.
                None => {}
            }
            while running.try_join_next().is_some() {}
        }
        while running.join_next().await.is_some() {}
        self.notice(&format!("map {id} ended here: {chunks} chunks taken"));
        if let Ok(shared) = &*prepared
            && let Call::Command {
                scratch: Some(scratch),
                ..
            } = &shared.plan().runner.call
        {
            let _ = std::fs::remove_dir_all(scratch.root());
        }
    }

    /// Whether map `id`'s specification is still there: its producer renews it while it runs,
    /// and withdraws it when it ends; it expires when the producer dies.
    async fn map_lives(&self, id: &str) -> bool {
        match self
            .broker
            .maps
            .get_last_raw_message_by_subject(&format!("hecaton.maps.{id}"))
            .await
        {
            Ok(message) => !message.payload.is_empty(),
            Err(error) => {
                use async_nats::jetstream::stream::LastRawMessageErrorKind;
                // Only an answer that there is none means it is gone: a server lost is not.
                !matches!(error.kind(), LastRawMessageErrorKind::NoMessageFound)
            }
        }
    }

    /// Removes what a dead producer's map left: its consumers, chunks and outcomes.
    async fn remove_leftovers(&self, id: &str) {
        let broker = &self.broker;
        let _ = broker.chunks.delete_consumer(&format!("chunks-{id}")).await;
        let _ = broker
            .results
            .delete_consumer(&format!("results-{id}"))
            .await;
        let _ = broker
            .chunks
            .purge()
            .filter(format!("hecaton.chunks.{id}"))
            .await;
        let _ = broker
            .results
            .purge()
            .filter(format!("hecaton.results.{id}"))
            .await;
    }

    /// Fetches, checks and compiles the map's module, and grants what it asks: the map's
    /// shared state, or why it cannot run here (its chunks then say so as their outcomes).
    async fn prepare(
        self: &Arc<Self>,
        id: &str,
        spec: &MapSpec,
        cancel: CancelFlag,
    ) -> Result<Arc<MapShared<JsonRunner>>, String> {
        let bytes = self.fetch_module(spec).await?;
        let worker = Arc::clone(self);
        let spec = spec.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || worker.build(&id, &spec, &bytes, cancel))
            .await
            .map_err(|error| format!("preparing the map failed: {error}"))?
            .map(Arc::new)
            .map_err(|error| error.to_string())
    }

    /// The map's module, fetched through a server's loss (retried for 15 s), and checked.
    async fn fetch_module(&self, spec: &MapSpec) -> Result<Vec<u8>, String> {
        let mut tries = 0;
        let bytes = loop {
            match self.fetch_module_once(spec).await {
                Ok(bytes) => break bytes,
                Err(error) if tries >= 30 => return Err(error),
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        if bytes.len() > MAX_MODULE {
            return Err(format!("module {} is over 1 GiB", spec.module));
        }
        if sha256_hex(&bytes) != spec.module {
            return Err(format!(
                "module {} does not have the hash it is stored under",
                spec.module
            ));
        }
        Ok(bytes)
    }

    /// The module's bytes, at most one more than [`MAX_MODULE`].
    async fn fetch_module_once(&self, spec: &MapSpec) -> Result<Vec<u8>, String> {
        use tokio::io::AsyncReadExt;
        let object = self
            .broker
            .modules
            .get(spec.module.as_str())
            .await
            .map_err(|error| format!("cannot fetch module {}: {error}", spec.module))?;
        let mut bytes = Vec::new();
        object
            .take(MAX_MODULE as u64 + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| format!("cannot read module {}: {error}", spec.module))?;
        Ok(bytes)
    }

    fn build(
        &self,
        id: &str,
        spec: &MapSpec,
        bytes: &[u8],
        cancel: CancelFlag,
    ) -> Result<MapShared<JsonRunner>, Error> {
        let engine = self.engine(spec)?;
        let module = match &self.cache {
            Some(cache) => Module::from_bytes_cached(&engine, &spec.module_name, bytes, cache)?,
            None => Module::from_bytes(&engine, &spec.module_name, bytes)?,
        };
        let mut capabilities = Capabilities::new();
        for dir in &spec.dirs {
            let Some(grant) = self.grants.iter().find(|grant| {
                grant.request.host == dir.host
                    && grant.request.guest == dir.guest
                    && (grant.request.writable || !dir.writable)
            }) else {
                return Err(Error::Capability(format!(
                    "--dir {dir} is not allowed here"
                )));
            };
            let access = if dir.writable {
                Access::ReadWrite
            } else {
                Access::ReadOnly
            };
            capabilities = capabilities.dir(&grant.path, dir.guest.clone(), access)?;
        }
        for variable in &spec.env {
            capabilities = match &variable.value {
                Some(value) => capabilities.env(variable.key.clone(), value.clone()),
                None if self.info.env.contains(&variable.key) => {
                    capabilities.inherit_env(&variable.key)
                }
                None => {
                    return Err(Error::Capability(format!(
                        "--env {} is not allowed here",
                        variable.key
                    )));
                }
            };
        }
        let policy = Policy {
            limits: (&spec.limits).into(),
            capabilities: Arc::new(capabilities),
            // A worker's tasks print to the worker's stderr, marked with their input.
            prints: crate::sandbox::Prints::Prefixed,
        };
        policy.check(&engine, module.path())?;
        module.check_starts_within(&policy.limits)?;
        let call = match &spec.call {
            WireCall::Task(name) => Call::json(&module, name)?,
            WireCall::Command {
                args,
                input_is_arg,
                fail_nonzero,
                replace,
                scratch,
            } => {
                let input = if *input_is_arg {
                    CommandInput::Arg
                } else {
                    CommandInput::Stdin
                };
                let mut call = Call::command(&module, args.clone(), CommandStdio::PerItem(input))?;
                if let Call::Command {
                    scratch: slot,
                    fail_nonzero: fail,
                    placeholders,
                    ..
                } = &mut call
                {
                    *fail = *fail_nonzero;
                    *placeholders = match replace {
                        Some(token) => Placeholders::Input(token.clone()),
                        None => Placeholders::Parallel,
                    };
                    if let Some((first, more)) = scratch.split_first() {
                        let root = std::env::temp_dir()
                            .join(format!("hecaton-worker-{}-{id}", std::process::id()));
                        let made = more
                            .iter()
                            .fold(Scratch::new(first.clone(), root), |made, guest| {
                                made.also(guest.clone())
                            });
                        if let Some((one, other)) = made.overlap() {
                            return Err(Error::Capability(format!(
                                "--scratch {one} and --scratch {other} overlap"
                            )));
                        }
                        made.create_root().map_err(|error| {
                            Error::Capability(format!("cannot make a scratch folder: {error}"))
                        })?;
                        *slot = Some(made);
                    }
                }
                call
            }
        };
        let plan = MapPlan {
            runner: JsonRunner {
                module,
                call,
                policy,
            },
            isolation: spec.isolation.into(),
            retries: spec.retries,
            cancel,
            fail_fast: spec.fail_fast,
            timed: spec.timed,
        };
        Ok(MapShared::new(plan, self.info.threads as usize))
    }
}

/// The next message of the maps' watch; `None` when it broke (it is then made again).
async fn next_spec(specs: &mut Option<std::pin::Pin<Box<pull::Ordered>>>) -> Option<Message> {
    let Some(stream) = specs else {
        tokio::time::sleep(Duration::from_millis(500)).await;
        return None;
    };
    match stream.next().await {
        Some(Ok(message)) => Some(message),
        Some(Err(error)) => {
            tracing::debug!("watching the maps: {error}");
            None
        }
        None => None,
    }
}

/// One chunk taken by a worker.
struct ChunkRun {
    worker: Arc<WorkerShared>,
    map: String,
    prepared: Arc<Result<Arc<MapShared<JsonRunner>>, String>>,
    cancel: CancelFlag,
}

impl ChunkRun {
    /// Runs the chunk (or reports it lost, or unpreparable), publishes its outcomes, then
    /// acknowledges it; a chunk the worker stopped before finishing goes back to the broker.
    async fn run(self, message: Message, _slot: OwnedSemaphorePermit) {
        let broker = &self.worker.broker;
        let delivered = message.info().map_or(1, |info| info.delivered);
        let Some(body) = broker.body_or_again(&message).await else {
            return;
        };
        let (first, inputs) = match decode_chunk(&body) {
            Ok(chunk) => chunk,
            Err(error) => {
                tracing::warn!(map = %self.map, "a chunk that is not one: {error}");
                let _ = message.ack_with(AckKind::Term).await;
                return;
            }
        };
        let count = inputs.len();
        tracing::debug!(map = %self.map, first, count, delivered, "running a chunk");
        let started = Instant::now();
        let outcomes = match (&*self.prepared, delivered > MAX_DELIVERIES) {
            (_, true) => failures(
                count,
                TaskError::WorkerLost(format!(
                    "its chunk was handed to workers {MAX_DELIVERIES} times and none finished \
                     it (each died or lost its connection first)"
                )),
            ),
            (Err(error), false) => failures(
                count,
                TaskError::Instantiate(format!(
                    "worker {} cannot run this map: {error}",
                    self.worker.info.name
                )),
            ),
            (Ok(shared), false) => match self.run_here(shared, &message, first, inputs).await {
                Some(outcomes) => outcomes,
                None => {
                    // Stopped: another worker takes the chunk at once.
                    let _ = message.ack_with(AckKind::Nak(None)).await;
                    return;
                }
            },
        };
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if let Err(error) = self.publish(first, &outcomes, nanos).await {
            tracing::warn!(map = %self.map, "cannot publish outcomes: {error}");
            let _ = message.ack_with(AckKind::Nak(None)).await;
            return;
        }
        // Lost acknowledgements only mean a redelivery, whose outcomes the producer drops.
        let _ = message.double_ack().await;
    }

    /// Runs the chunk on the worker's threads, sending heartbeats while it runs; `None` when
    /// the worker stopped or the map ended meanwhile.
    async fn run_here(
        &self,
        shared: &Arc<MapShared<JsonRunner>>,
        message: &Message,
        first: usize,
        inputs: Vec<Result<Vec<u8>, TaskError>>,
    ) -> Option<Outcomes> {
        let (sender, mut receiver) = oneshot::channel();
        let map = Arc::clone(shared);
        self.worker.scheduler.push(Box::new(move || {
            let _ = sender.send(map.run_chunk(Chunk { first, inputs }));
        }));
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.tick().await;
        let batch = loop {
            tokio::select! {
                batch = &mut receiver => break batch.ok()?,
                _ = beat.tick() => {
                    let _ = message.ack_with(AckKind::Progress).await;
                }
            }
        };
        if self.worker.stopping() || self.cancel.is_cancelled() {
            return None;
        }
        let timed = !batch.details.is_empty();
        let mut details = batch.details.into_iter();
        Some(
            batch
                .results
                .into_iter()
                .map(|result| {
                    let details = if timed {
                        details.next().unwrap_or_default()
                    } else {
                        Details::default()
                    };
                    (result, details)
                })
                .collect(),
        )
    }

    /// Publishes the outcomes in messages of at most the broker's body size (one larger
    /// outcome goes through the payloads store).
    async fn publish(&self, first: usize, outcomes: &Outcomes, nanos: u64) -> Result<(), String> {
        let broker = &self.worker.broker;
        let limit = broker.max_body / 2;
        let subject = format!("hecaton.results.{}", self.map);
        let mut start = first;
        let mut body = FrameWriter::default();
        let mut count = 0;
        for (offset, (result, details)) in outcomes.iter().enumerate() {
            encode_outcome(&mut body, result, details);
            count += 1;
            if body.len() >= limit || offset + 1 == outcomes.len() {
                let mut frame = FrameWriter::default();
                results_header(&mut frame, start, count);
                frame.append(&body);
                let id = format!("{}.r{start}", self.map);
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(RUN_NANOS_HEADER, nanos.to_string().as_str());
                broker
                    .publish_with(subject.clone(), &id, &id, frame.finish(), headers)
                    .await?;
                start += count;
                count = 0;
                body = FrameWriter::default();
            }
        }
        Ok(())
    }
}

/// A chunk's outcomes, each with its details.
type Outcomes = Vec<SlotOutcome>;

fn failures(count: usize, error: TaskError) -> Outcomes {
    (0..count)
        .map(|_| (Err(Box::new(error.clone())), Details::default()))
        .collect()
}
