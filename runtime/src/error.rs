//! The two error types: [`Error`] for what stops hecaton before or around tasks (a module that
//! cannot load, a task name that does not exist), and [`TaskError`] for the outcome of one task.

use std::path::PathBuf;
use std::time::Duration;

use crate::output::{CommandOutput, TaskOutput};
use crate::text::printable;

/// A failure of hecaton itself or of its input, before or around the tasks: loading a module,
/// naming a task, encoding an input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The module file could not be read.
    #[error("cannot read module {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes are neither a WebAssembly binary nor WebAssembly text.
    #[error("{path} is not a WebAssembly module (no `\\0asm` header and not WAT text)")]
    NotWasm {
        /// The file.
        path: PathBuf,
    },
    /// The file is WebAssembly text with a syntax error.
    #[error("{path}: invalid WebAssembly text: {message}")]
    Wat {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file is a precompiled module (machine code), which is only loaded on request.
    #[error(
        "{path} is a precompiled module (machine code, unsafe to load from an untrusted source); load it with `Module::from_precompiled_file` or `--allow-precompiled` if you trust its origin"
    )]
    Precompiled {
        /// The file.
        path: PathBuf,
    },
    /// A component has something hecaton cannot run as a task: an export of a resource, a
    /// future, a stream or an async function, or it was asked of a component what only a core
    /// module does (a snapshot initializer, typed numbers).
    #[error("{path}: {message}")]
    Component {
        /// The file.
        path: PathBuf,
        /// What, naming the export.
        message: String,
    },
    /// A component imports something other than WASI 0.2.
    #[error(
        "{path} imports `{name}`, which hecaton does not provide (a component may import WASI 0.2: wasi:cli, wasi:clocks, wasi:filesystem, wasi:io, wasi:random, wasi:sockets, each at 0.2.x; and hecaton:task/context@0.1.0)"
    )]
    UnknownComponentImport {
        /// The file.
        path: PathBuf,
        /// The import's name: `wasi:http/types@0.2.0`, `example:pkg/iface`, a function's.
        name: String,
    },
    /// The binary failed validation or compilation.
    #[error("{path}: cannot compile: {message}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// wasmtime's message.
        message: String,
    },
    /// The module needs something hecaton does not run (a 64-bit memory, a WebAssembly proposal
    /// the engine does not enable).
    #[error("{path} needs {feature}, which hecaton does not run")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What it uses.
        feature: String,
    },
    /// A data segment can never fit its memory: every instance would fail to start.
    #[error("{path}: {message}: no task of this module can start")]
    SegmentOutOfBounds {
        /// The file.
        path: PathBuf,
        /// Which segment, where it lies and how large the memory is.
        message: String,
    },
    /// The module imports something the host does not provide.
    #[error(
        "{path} imports `{module}::{name}`, which hecaton does not provide (only `wasi_snapshot_preview1` and `hecaton`)"
    )]
    UnknownImport {
        /// The file.
        path: PathBuf,
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// An import of a known module could not be linked (unknown name or wrong type).
    #[error("{path}: cannot link imports: {message}")]
    Link {
        /// The file.
        path: PathBuf,
        /// wasmtime's message.
        message: String,
    },
    /// A required export is missing.
    #[error("{path} has no export `{export}` ({why}); it exports: {available}")]
    MissingExport {
        /// The file.
        path: PathBuf,
        /// The export that is missing.
        export: String,
        /// Why it is needed.
        why: &'static str,
        /// The module's exports, comma-separated.
        available: String,
    },
    /// An export has a type the ABI does not allow for it.
    #[error("{path}: export `{export}` has type {found}, expected {expected}")]
    WrongSignature {
        /// The file.
        path: PathBuf,
        /// The export.
        export: String,
        /// The type the ABI requires.
        expected: String,
        /// The type the module has.
        found: String,
    },
    /// The module has no task of this name.
    #[error(
        "{path} has no task `{task}`{}; its tasks: {available}",
        did_you_mean(nearest)
    )]
    UnknownTask {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        task: String,
        /// The module's tasks, comma-separated.
        available: String,
        /// The task whose name is nearest to the one asked for, when one is near.
        nearest: Option<String>,
    },
    /// The input could not be encoded for the task.
    #[error("cannot encode the input of task `{task}`: {message}")]
    Input {
        /// The task.
        task: String,
        /// What is wrong with the input.
        message: String,
    },
    /// wasmtime could not be configured or an engine-level operation failed.
    #[error("wasmtime: {0}")]
    Engine(String),
    /// A task of a fail-fast `map` or an `apply` failed: the first failure by input index.
    #[error("task {index} failed: {source}")]
    Task {
        /// The input's index (0 for `apply`).
        index: usize,
        /// How it failed.
        source: TaskError,
    },
    /// A snapshot's initializer failed, or the module cannot be snapshotted.
    #[error("{path}: cannot snapshot after initializer `{initializer}`: {message}")]
    Snapshot {
        /// The module's file.
        path: PathBuf,
        /// The initializer export.
        initializer: String,
        /// What went wrong: the initializer's failure, or what wasmtime-wizer refused.
        message: String,
        /// The initializer's own failure, when it ran and failed.
        failure: Option<TaskError>,
    },
    /// A capability could not be granted (a directory that does not exist).
    #[error("{0}")]
    Capability(String),
    /// A limit or setting is out of range, or needs an engine setting the module's engine lacks.
    #[error("{0}")]
    Config(String),
    /// The pool was closed or terminated; it takes no new work.
    #[error("the pool is closed")]
    Closed,
    /// An OS thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
    /// The cluster's broker could not be reached or used: a refused connection, a wrong
    /// password, a server without JetStream (the message names the servers, never a password).
    #[error("{0}")]
    Cluster(String),
}

/// The ways one task can fail. A failure is always this task's own: other tasks, the worker and
/// the host are unaffected.
///
/// The fields hold what the guest said as it said it; the `Display` text shows every part that
/// came from the guest (messages, backtrace frame names) through [`printable`](crate::printable),
/// so that printing an error can never write a guest's control characters to a terminal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The guest trapped: wasmtime's trap code and the wasm backtrace.
    #[error("trap: {trap}{}", backtrace_suffix(backtrace))]
    Trap {
        /// wasmtime's trap code.
        trap: wasmtime::Trap,
        /// The wasm backtrace, one frame a line, innermost first (empty when unknown).
        backtrace: String,
    },
    /// The wasm call stack overflowed its limit.
    #[error(
        "stack overflow: the wasm stack limit was reached (EngineBuilder::max_stack, --max-stack)"
    )]
    StackOverflow,
    /// The task ran longer than its timeout.
    #[error("timeout after {0:?} (Limits::timeout, --timeout)")]
    Timeout(Duration),
    /// The task used up its fuel.
    #[error("out of fuel: the task burned its fuel budget (Limits::fuel, --fuel)")]
    OutOfFuel,
    /// The task asked for more linear memory than its limit.
    #[error(
        "memory limit: linear memory of {requested} bytes asked for, the limit is {limit} bytes \
         (Limits::max_memory, --max-memory)"
    )]
    MemoryLimit {
        /// Bytes of linear memory asked for.
        requested: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The task asked for more table elements than its limit.
    #[error(
        "table limit: {requested} table elements asked for, the limit is {limit} elements \
         (Limits::max_table_elements, --max-table-elements)"
    )]
    TableLimit {
        /// Table elements asked for.
        requested: u64,
        /// The limit, in elements.
        limit: u64,
    },
    /// The task returned or wrote more bytes than its output limit.
    #[error(
        "output limit: more than {limit} bytes returned or written to a stream (Limits::max_output, \
         --max-output)"
    )]
    OutputLimit {
        /// The limit in bytes.
        limit: u64,
    },
    /// The task reported an error of its own (a Rust `Err`, a C error status).
    #[error("guest error: {}", printable(message.as_bytes()))]
    Guest {
        /// The guest's message.
        message: String,
    },
    /// The guest panicked; the message is the panic's.
    #[error("guest panic: {}", printable(message.as_bytes()))]
    Panic {
        /// The panic message, with its source location when the guest gave it.
        message: String,
    },
    /// The guest could not decode its input (wrong JSON type, wrong number of arguments).
    #[error("bad input: {}", printable(message.as_bytes()))]
    BadInput {
        /// The guest's message.
        message: String,
    },
    /// The guest broke the ABI: what it returned, and why that is not acceptable.
    #[error("ABI violation: {}", printable(.0.as_bytes()))]
    AbiViolation(String),
    /// The task called `proc_exit` (a command's exit code is not an error: this is a function
    /// task that exited).
    #[error("the task exited with code {0}")]
    Exit(i32),
    /// A WASI command exited with a non-zero code, and its job asked for that to be a failure
    /// ([`Job::fail_nonzero`](crate::Job::fail_nonzero), `hecaton map --fail-nonzero`): what it
    /// wrote and its code.
    #[error("the command exited with code {}", .0.exit_code)]
    NonZeroExit(Box<CommandOutput>),
    /// A command's stdout was the host's own ([`Stdio::Inherit`](crate::Stdio::Inherit)), and
    /// the host's stdout closed while the command wrote to it (`hecaton run … | head`): the
    /// command was stopped there, as a process is by `SIGPIPE`.
    #[error("stdout was closed")]
    StdoutClosed,
    /// The task was cancelled (`kill`, `terminate`, Ctrl-C) before it finished.
    #[error("cancelled")]
    Cancelled,
    /// The task could not be started (an instance could not be created).
    #[error("cannot start the task: {}", printable(.0.as_bytes()))]
    Instantiate(String),
    /// Running the task failed in the host (a host-side panic or an unexpected wasmtime error).
    #[error("host failure while running the task: {}", printable(.0.as_bytes()))]
    Host(String),
    /// A cluster map's chunk holding this input was handed to workers as many times as the map
    /// allows, and none of them finished it (each died, was killed or lost its connection
    /// first): the input has no outcome of its own.
    #[error("worker lost: {}", printable(.0.as_bytes()))]
    WorkerLost(String),
}

impl TaskError {
    /// A short name of the kind of failure, stable for machines: `trap`, `stack_overflow`,
    /// `timeout`, `out_of_fuel`, `memory_limit`, `table_limit`, `output_limit`, `guest_error`, `panic`,
    /// `bad_input`, `abi_violation`, `exit`, `nonzero_exit`, `stdout_closed`, `cancelled`,
    /// `instantiate`, `host`, `worker_lost`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Trap { .. } => "trap",
            Self::StackOverflow => "stack_overflow",
            Self::Timeout(_) => "timeout",
            Self::OutOfFuel => "out_of_fuel",
            Self::MemoryLimit { .. } => "memory_limit",
            Self::TableLimit { .. } => "table_limit",
            Self::OutputLimit { .. } => "output_limit",
            Self::Guest { .. } => "guest_error",
            Self::Panic { .. } => "panic",
            Self::BadInput { .. } => "bad_input",
            Self::AbiViolation(_) => "abi_violation",
            Self::Exit(_) => "exit",
            Self::NonZeroExit(_) => "nonzero_exit",
            Self::StdoutClosed => "stdout_closed",
            Self::Cancelled => "cancelled",
            Self::Instantiate(_) => "instantiate",
            Self::Host(_) => "host",
            Self::WorkerLost(_) => "worker_lost",
        }
    }
}

fn did_you_mean(nearest: &Option<String>) -> String {
    nearest
        .as_ref()
        .map(|name| format!(" (did you mean `{name}`?)"))
        .unwrap_or_default()
}

/// The backtrace under its heading, each frame made printable (frame names come from the
/// guest's name section).
fn backtrace_suffix(backtrace: &str) -> String {
    if backtrace.is_empty() {
        return String::new();
    }
    let frames: Vec<String> = backtrace
        .lines()
        .map(|frame| printable(frame.as_bytes()))
        .collect();
    format!("\nwasm backtrace:\n{}", frames.join("\n"))
}

/// Decoding an output makes the one error an output can give, an ABI violation.
impl TaskOutput {
    /// The output decoded into `O`: the JSON value itself, or a [`CommandOutput`] for a command.
    ///
    /// # Errors
    /// [`TaskError::AbiViolation`] when the output does not decode into `O`.
    pub fn decode<O: serde::de::DeserializeOwned>(&self) -> Result<O, TaskError> {
        let decoded = match self {
            Self::Json(bytes) => serde_json::from_slice(bytes),
            Self::Command(output) => serde_json::to_value(output).and_then(serde_json::from_value),
        };
        decoded.map_err(|error| {
            TaskError::AbiViolation(format!(
                "output does not decode into the requested type: {error}"
            ))
        })
    }
}
