//! Maps across machines on NATS JetStream (cargo feature `cluster`; issue #13, in progress).
//!
//! The design, of which this module so far holds the two lowest layers:
//!
//! - `broker`: the connection ([`Connection`]: URLs with user and password, several for a
//!   cluster, a `.creds` file) and the JetStream streams and buckets, made on first use with
//!   the same settings by producer and worker, replicated three times on a cluster of three or
//!   more servers: `HECATON_CHUNKS` (a work-queue stream, subject `hecaton.chunks.<map>`, one
//!   durable consumer per map, whose ack wait and maximum deliveries are the map's),
//!   `HECATON_RESULTS` (subject `hecaton.results.<map>`, read by the map's producer through an
//!   ordered consumer), `HECATON_MAPS` (a running map's specification, one message per map:
//!   workers watch it, and stop a map's chunks when it goes) and `HECATON_WORKERS` (each live
//!   worker's threads and grants, expiring unless refreshed); a key-value bucket would be the
//!   natural form of these two, but async-nats 0.51 cannot read nats-server 2.9.10's answer to
//!   a bucket's creation, and the object stores
//!   `hecaton-modules` (a module under its SHA-256: it travels once) and `hecaton-payloads` (a
//!   chunk or a run of outcomes larger than the server's maximum payload). tokio lives here
//!   only, behind the feature.
//! - `wire`: what crosses the broker — a map's specification (module hash, task, limits,
//!   isolation, retries, the directories and variables it asks a worker to grant), a chunk
//!   (its first index and inputs, a malformed input as a hole the producer fills), a run of
//!   outcomes (every [`TaskError`](crate::TaskError) kind, a command's bytes as they are) — in
//!   a length-prefixed framing that trusts nothing it reads.
//!
//! Still to come (see the note): the producer, an `Executor` (`map.rs`) of the one map
//! stream that publishes chunks and turns outcomes
//! back into batches (the stream's reading, in-flight bound, fail-fast and reordering are
//! those of a local map); the worker, which runs each chunk through the same
//! `MapShared::run_chunk` on its own scheduler, acknowledges it only after its outcomes are
//! stored, and sends in-progress heartbeats while it runs; `hecaton worker` and `map --nats`.
// The producer and the worker that use these layers are not written yet: until they are, the
// layers are reached only from their tests.
#![cfg_attr(not(test), allow(dead_code))]

mod broker;
mod wire;

pub use broker::Connection;
