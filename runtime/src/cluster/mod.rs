//! Maps across machines on NATS JetStream (cargo feature `cluster`): [`Cluster`], a pool whose
//! maps run on the workers of a cluster, and [`Worker`], one of those workers.
//!
//! ```text
//! producer (Cluster, `hecaton map --nats`)        worker (Worker, `hecaton worker`)
//!   module ──put once, by SHA-256──▶ hecaton-modules ──get by hash, check, compile cache──▶
//!   spec   ──────────────────────▶ HECATON_MAPS (last per map) ──watched──▶ grants? serve
//!   chunks ──hecaton.chunks.<map>─▶ HECATON_CHUNKS (work queue) ──fetch 1 per free slot──▶
//!                                   ◀──────── heartbeats every 1 s while it runs ────────
//!   outcomes ◀─hecaton.results.<map>─ HECATON_RESULTS (work queue) ◀──publish, then ack──
//! ```
//!
//! The layers, one module each:
//!
//! - `broker`: the connection ([`Connection`]: URLs with user and password, several for a
//!   cluster, a `.creds` file) and the JetStream streams and object stores, made on first use
//!   with the same settings by producer and worker, replicated three times on a cluster of
//!   three or more servers: `HECATON_CHUNKS` and `HECATON_RESULTS` (work queues: one durable
//!   consumer per map each, a message gone once acknowledged, so the broker holds what is in
//!   flight and no more), `HECATON_MAPS` (a running map's specification, the last per map,
//!   renewed every 3 s by its producer and expiring after 15 s: workers watch it, stop a map's
//!   chunks when an empty one replaces it, and remove the leftovers of a map whose
//!   specification expired, its producer dead) and
//!   `HECATON_WORKERS` (each live worker's threads and grants, expiring unless renewed every
//!   3 s). A key-value bucket would be the natural form of the last two, but async-nats 0.51
//!   cannot read nats-server 2.9.10's answer to a bucket's creation. The object stores are
//!   `hecaton-modules` (a module under its SHA-256: it travels once) and `hecaton-payloads`
//!   (a chunk or a run of outcomes larger than the server's maximum payload). tokio lives
//!   here only, behind the feature.
//! - `wire`: what crosses the broker, in a length-prefixed framing that trusts nothing it
//!   reads: a map's specification (module hash, task, limits, engine settings, isolation,
//!   retries, the directories and variables it asks a worker to grant), a chunk (its first
//!   index and inputs; a malformed input as a hole the producer fills), a run of outcomes
//!   (every [`TaskError`](crate::TaskError) kind, a command's bytes as they are).
//! - `producer`: [`Cluster`] and its map executor (an `Executor` of the one map stream of
//!   `map.rs`): the stream's reading, chunking, in-flight bound, fail-fast and reordering are
//!   a local map's. The executor publishes each chunk (deduplicated by its id), fills each
//!   input's slot from the first outcome that comes for it (a redelivered chunk never gives an
//!   output twice), hands each whole chunk back as a batch, says when no worker takes the map,
//!   and on Ctrl-C gives every pending input [`Cancelled`](crate::TaskError::Cancelled). When
//!   the map ends it removes its specification (workers stop its chunks), consumers, chunks,
//!   outcomes and payloads.
//! - `worker`: [`Worker`] registers, watches the specifications, and serves each map it can
//!   grant: it fetches the module by hash, checks the hash, compiles through its compile cache
//!   (a known module starts in milliseconds), and runs each chunk with the same
//!   `MapShared::run_chunk` as a local map, on its own scheduler, under the map's limits. It
//!   acknowledges a chunk only after its outcomes are stored.
//!
//! Failure semantics. A chunk taken by a worker that dies goes back to the work queue once
//! nothing was heard of it for 4 s (a running chunk's worker sends a heartbeat every second,
//! whatever its tasks take, so a long chunk is never handed out twice while its worker lives);
//! a worker that stops hands its chunks back at once. A chunk delivered a fourth time (three
//! workers died on it) is not run again: its inputs get [`WorkerLost`] records. A chunk is
//! published by a task of its own, retried until it is stored or the map is cancelled (the
//! message id makes a retry harmless), so a server's loss, or its restart, holds up nothing
//! else: the map says once that its connection is lost, and asks nothing of the server until
//! it is back. A pending chunk whose message is gone while no outcome is left to read (a
//! worker acknowledged it without publishing) gets `WorkerLost` records too: no map waits for
//! what will not come. A worker drops a map when its specification is missing at three
//! checks in a row (its producer died), and removes what the map left.
//!
//! Security. A producer chooses the module, its inputs, its limits and which of a worker's
//! grants it uses; a worker grants only its own `--allow-dir` and `--allow-env` (a map may set
//! a variable's value itself), checks the module's hash, and runs every task in its own
//! sandboxed instance, as a local map does. Anyone who can publish on the cluster's subjects
//! can submit maps: secure the NATS server (users, `.creds`, TLS) as for any NATS service.
//!
//! [`WorkerLost`]: crate::TaskError::WorkerLost

mod broker;
mod producer;
mod wire;
mod worker;

pub use broker::Connection;
pub use producer::{Cluster, ClusterBuilder, Notices};
pub use worker::{Worker, WorkerBuilder};
