//! hecaton's integration tests: real guests compiled by `tests/build.rs`, the `.wat` fixtures
//! of `tests/fixtures`, and the `hecaton` binary.

// The ABI: lying pointers, lengths and statuses are ABI violations, never host panics.
mod abi_violations;
// The compile cache: hits; corrupt, truncated or foreign entries recompiled; untrusted folders,
// keys and planted entries never run.
mod cache;
// Capabilities granted, never inherited: directories, variables; a map of hostile inputs.
mod capabilities;
// The `hecaton` binary as a whole (help, completions), and the helpers of every CLI test.
mod cli;
// `hecaton build` and `hecaton compile`: a crate into a module, a module into a `.cwasm`.
mod cli_build;
// `hecaton inspect`: tasks, imports, host functions and memory, as text and JSON.
mod cli_inspect;
// `hecaton map`: order, fail-fast and keep-going, commands, retries, Ctrl-C, stats, logs,
// isolation levels, initializers, workers (`-j`, HECATON_WORKERS).
mod cli_map;
// `hecaton run`: output, exit codes and messages of each failure, limit and capability flags,
// the config file.
mod cli_run;
// `map --nats` over `hecaton worker`s on nats-servers: the local map's output, refusals, Ctrl-C.
mod cluster;
// Real components from Rust (wasm32-wasip2), componentize-py and componentize-js: every WIT
// shape, a command, every limit and grant, the CLI, the compile cache.
mod component_corpus;
// Components made by hand: WIT-typed exports called with JSON, bad input naming the parameter,
// isolation levels, refusals at load naming the import or export.
mod components;
// Real programs (boolector, CPython, resvg, usvg, svg-flatten, yosys, GCC's cc1, QuickJS)
// fetched by tests/corpus/fetch.sh, run and mapped through the CLI against independent oracles.
mod corpus;
// A reused pooling slot shows no task the memory of the task before, thousands of times over.
mod freshness;
// Fuzz target: wasm-smith modules, mutants and garbage loaded and run: typed, within limits.
mod fuzz_modules;
// Fuzz target: limit values from their edges and at random, on guests pushing each limit:
// refused or obeyed, never a crash.
mod fuzz_limits;
// Fuzz target: hostile payloads and lying records, read by the library and written by the CLI.
mod fuzz_results;
// The fuzz targets' seeded generator, budget (HECATON_FUZZ_SECONDS, HECATON_FUZZ_SEED), kinds.
mod fuzzing;
// Rust guests through the SDK: serde values, several arguments, `Err`, panics, identity.
mod guest_sdk;
// A fresh instance for every task: a global counter is 1 on every call.
mod isolation;
// Isolation levels: what a chunk's or a worker's tasks share, and what they never share.
mod isolation_levels;
// WAT, C and AssemblyScript tasks written from ABI.md, and numeric exports called with JSON
// numbers.
mod languages;
// Failure kinds say what happened: a guest's exit, `instantiate`, load errors, README's table.
mod failure_kinds;
// What hecaton writes is its own: forged lines, control characters, non-UTF-8, capped streams.
mod hostile_output;
// Every limit flag over its whole range, the stack limit above all: a documented outcome, never
// a signal.
mod limits;
// Every load error is reported at load time, naming the file and the export or import.
mod loading;
// A command mapped as GNU parallel maps a program: `--` and `:::`, `{}` and `{#}`, --raw,
// --results, --scratch, --fail-nonzero.
mod parallel_map;
// The runtime's module graph: no import circle, nothing imported through lib.rs's re-exports.
mod module_graph;
// The CLI in real pipes: /dev/full, a closed pipe, flags anywhere, a slow producer, a terminal.
mod pipes;
// WebAssembly proposals: exceptions, GC, multi-memory run under the limits; legacy exceptions
// and shared memories refused at load, named; `inspect` lists what a module uses.
mod proposals;
// README's shell examples, run and their output compared: the guide cannot drift from the tool.
mod readme;
// `Pool`: map, map_all, imap, imap_unordered, starmap, apply, apply_async, close, terminate.
mod pool;
// `Process`: spawn, join, id, is_finished, kill.
mod process;
// Limits obeyed and violated: timeouts (in wasm, start functions, allocators, WASI sleeps),
// fuel, stack, memory, tables, output, exits, state after a trap.
mod sandbox;
// Snapshot initializers: the initialized state in every fresh instance, and clear refusals.
mod snapshots;
// Traps are `TaskError::Trap` with their wasmtime code.
mod traps;

use hecaton::{Module, Process, TaskError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Loads a guest module, panicking with the load error.
fn load(path: impl AsRef<std::path::Path>) -> Module {
    Module::from_file(path.as_ref()).unwrap_or_else(|error| panic!("{error}"))
}

/// Runs one task to its end.
fn run<O: DeserializeOwned>(
    module: &Module,
    task: &str,
    input: &(impl Serialize + ?Sized),
) -> Result<O, TaskError> {
    Process::spawn(module, task, input).expect("spawn").join()
}
