//! # hecaton: a sandboxed WebAssembly worker pool
//!
//! hecaton runs task functions compiled to WebAssembly the way Python's `multiprocessing` runs
//! Python functions: each task in a fresh, isolated instance, on as many OS threads as you like —
//! process-style isolation at the cost of microseconds, safe even for code nobody trusts.
//!
//! ## Quick start
//! A task module can be as small as one exported function; this one is WebAssembly text:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use hecaton::{Engine, Module, Pool, Process};
//!
//! let wat = r#"(module
//!     (func (export "square") (param i64) (result i64)
//!         local.get 0
//!         local.get 0
//!         i64.mul))"#;
//! let module = Module::from_bytes(&Engine::shared()?, "square.wat", wat.as_bytes())?;
//!
//! // Python's `Pool(2).map(square, [1, 2, 3, 4, 5])`: every task in a fresh instance.
//! let pool = Pool::builder().workers(2).build()?;
//! let squares: Vec<i64> = pool.map(&module, "square", [1, 2, 3, 4, 5])?;
//! assert_eq!(squares, [1, 4, 9, 16, 25]);
//!
//! // Python's `Process(target=square, args=(7,))`: one task on its own thread.
//! let process = Process::spawn(&module, "square", &7)?;
//! let squared: i64 = process.join()?;
//! assert_eq!(squared, 49);
//! # Ok(()) }
//! ```
//!
//! Rust tasks are written with the `hecaton-guest` SDK (`#[task] fn square(x: i64) -> i64`) and
//! take and return any serde type; C, WAT or any other language speaks the ABI of
//! `guest/abi/ABI.md` directly.
//!
//! ## Core concepts
//! | type | what it is | lifetime and cost |
//! |------|------------|-------------------|
//! | [`Engine`] | wasmtime configured by hecaton, with its epoch thread | one per process ([`Engine::shared`]); milliseconds to make |
//! | [`Module`] | a compiled, checked and linked task module | one per file; compiling costs milliseconds to seconds, cloning is free |
//! | [`Pool`] | worker threads on a work-stealing scheduler | one per workload; threads live until it is dropped (which waits for queued work) |
//! | [`Process`] | one task on its own thread, in its own instance | one per task; a thread and a fresh instance |
//! | instance | a task's memory, globals and tables | one per task, discarded when it ends; microseconds (or shared by a chunk's tasks: [`Isolation`]) |
//! | [`Limits`] | memory, table, output, time and fuel a task may use | copied into every task |
//! | [`Capabilities`] | directories and variables a task sees | shared by the tasks of a pool or process |
//!
//! ## Outcomes
//! A task ends with its output, or with a [`TaskError`] that says which of its own failures
//! stopped it: a trap, a limit, a guest error, a panic, an ABI violation, an exit, a cancel. A
//! failing task never affects the host or another task. [`Error`] is for everything else: a
//! module that cannot load, a task name that does not exist.
//!
//! ## Python `multiprocessing` → hecaton
//! | Python | hecaton |
//! |--------|---------|
//! | `Process(target=f, args=(x,)).start()` | [`Process::spawn(&module, "f", &x)`](Process::spawn) |
//! | `p.join()` | [`Process::join`], which also returns the task's value |
//! | `p.is_alive()` | `!`[`Process::is_finished`] |
//! | `p.kill()` / `p.terminate()` | [`Process::kill`] |
//! | `os.getpid()` in the child | `hecaton_guest::task_id()`, [`Process::id`] |
//! | `Pool(processes=n)` | [`Pool::builder()`](Pool::builder)`.workers(n).build()` |
//! | `pool.map(f, xs)` | [`Pool::map`] (fail-fast), [`Pool::map_all`] (every outcome) |
//! | `pool.starmap(f, pairs)` | [`Pool::starmap`] |
//! | `pool.imap(f, xs)` / `imap_unordered` | [`Pool::imap`] / [`Pool::imap_unordered`] (lazy, bounded read-ahead) |
//! | `pool.apply(f, (x,))` / `apply_async` | [`Pool::apply`] / [`Pool::apply_async`] → [`AsyncResult`] |
//! | `chunksize=` | [`Job::chunksize`], [`PoolBuilder::chunksize`] |
//! | `maxtasksperchild=1` | the default: every task gets a fresh instance ([`Isolation::Task`]) |
//! | `maxtasksperchild=n` | [`Job::isolation`]`(`[`Isolation::Worker`]` { max_tasks_per_instance })`, or [`Isolation::Chunk`] |
//! | `Pool(initializer=f)` | [`Module::snapshot`]`("f")`: run once, every fresh instance starts from its state |
//! | `pool.close()` / `join()` / `terminate()` | [`Pool::close`] / [`Pool::join`] / [`Pool::terminate`] |
//!
//! ## The source tree
//! Read bottom-up: each module uses only those above it in this list, and none imports another
//! through this file's re-exports (a test reads the sources and fails on a circle).
//! ```text
//! text, output, placeholders, isolation, proposals   leaves: escaping guest text; what a task
//!                                                      produced; GNU parallel's `{}`; proposals
//! error                      Error, TaskError (and decoding an output, the error it can give)
//! engine, cache, layout      the one wasmtime configuration; compiled modules on disk; what a
//!                            binary says before it is compiled
//! sandbox/                   a task's store: limits, capabilities, scratch folders, WASI p1,
//!                            capped streams, hecaton's poll_oneoff, classifying what stopped it
//! abi/                       the host half of ABI.md: function tasks' records, numbers and JSON
//! module/                    loading: compile, check imports and exports, link, InstancePre
//! run/                       one task: Runner (json, typed), Live, settle; attempt: the one
//!                            attempt loop (ids, span, retries) of maps, apply_async, Process
//! snapshot                   an initializer run once, the module rewritten by wizer
//! scheduler/                 work stealing; knows nothing of wasm
//! map                        the stream: lazy input, chunks, the in-flight bound, reordering
//! pool/, process/            the public fronts (a pool is built for an engine)
//! ```
//! One input of `hecaton map m.wasm --invoke square 1 2 3` goes: `cli/map/input.rs` (read,
//! checked) → `map.rs` (chunked, queued) → `scheduler/` (a worker) → `map.rs` (`run_chunk`) →
//! `run/attempt.rs` (identity, span) → `run/json.rs` (the JSON runner) → `run/mod.rs` (a fresh
//! instance) → `abi/numeric.rs` (the call) → back through `map.rs` (in order) →
//! `cli/map/output.rs` (written).

#![deny(missing_docs)]

mod abi;
mod cache;
#[cfg(feature = "cluster")]
pub mod cluster;
mod engine;
mod error;
mod isolation;
mod layout;
mod map;
mod memory_reset;
mod module;
mod output;
mod placeholders;
mod pool;
mod process;
mod proposals;
mod run;
mod sandbox;
mod scheduler;
mod size;
mod snapshot;
mod stack;
mod text;

pub use abi::{NumType, Numbers};
pub use cache::{CACHE_DIR_ENV, ModuleCache, UntrustedCache};
pub use engine::{DEFAULT_MAX_STACK, EPOCH_TICK, Engine, EngineBuilder, MAX_TABLE_ELEMENTS};
pub use error::{Error, TaskError};
pub use isolation::Isolation;
pub use map::Outcome;
pub use memory_reset::{MemoryReset, ResetCheck};
pub use module::{Module, ModuleKind, TaskKind};
pub use output::{CommandOutput, TaskOutput};
pub use placeholders::Placeholders;
pub use pool::{
    AsyncResult, Canceller, Imap, ImapUnordered, Job, NumericImap, Pool, PoolBuilder, RawImap,
    WORKERS_ENV,
};
pub use process::{Killer, Process, ProcessBuilder};
pub use run::json::CommandInput;
pub use sandbox::{
    Access, Capabilities, DEFAULT_MAX_MEMORY, DEFAULT_MAX_OUTPUT, DEFAULT_MAX_TABLE_ELEMENTS,
    Limits, Prints, Scratch, Stdio,
};
pub use size::parse_size;
pub use stack::MAX_STACK;
pub use text::{printable, to_json_line};
/// wasmtime's trap codes, as [`TaskError::Trap`] reports them.
pub use wasmtime::Trap;
