//! The fence around one task: its store data ([`TaskState`]), its limits, the capabilities it
//! gets through WASI, the host functions of the ABI, and the classification of whatever stopped
//! it into a [`TaskError`].

mod capabilities;
mod classify;
mod host_stream;
mod limits;
mod linker;
mod poll;
mod scratch;
mod wasi;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;

pub use capabilities::{Access, Capabilities};
pub(crate) use classify::classify;
pub use limits::{DEFAULT_MAX_MEMORY, DEFAULT_MAX_OUTPUT, DEFAULT_MAX_TABLE_ELEMENTS, Limits};
pub(crate) use linker::{TASK_CONTEXT_INTERFACE, component_linker, linker};
pub use scratch::Scratch;
pub(crate) use wasi::CapturedOutput;
pub use wasi::{Prints, Stdio};
use wasi::{WatchedOutput, wasi_context};

use crate::engine::{Engine, MAX_TABLE_ELEMENTS};
use crate::error::{Error, TaskError};

/// The data of one task's store: who the task is, what it may use, and why the host stopped it.
pub(crate) struct TaskState {
    /// Made on the task's first WASI call, from `wasi_setup`: a function task that never calls
    /// WASI (most do not) does not pay for a WASI context.
    wasi: Option<WasiP1Ctx>,
    wasi_setup: Option<WasiSetup>,
    /// The task's captured stdout and stderr, once its WASI context exists.
    pub(crate) captured: Option<CapturedOutput>,
    /// A command's stdout and stderr passed through to the host's ([`Stdio::Inherit`]).
    passed_through: Option<[host_stream::HostStream; 2]>,
    task_id: u64,
    attempt: u32,
    input: Option<usize>,
    pub(crate) limits: Limits,
    memory_in_use: u64,
    /// Elements of all the task's tables, as the limiter last allowed them.
    table_elements_in_use: u64,
    cancel: CancelFlag,
    /// When the task times out, and its timeout.
    deadline: Option<(Instant, Duration)>,
    /// When the WASI context was made: the origin of the task's monotonic clock.
    wasi_started: Option<Instant>,
    /// Set by the host when it stops the task (limit, deadline, cancel, guest panic); takes
    /// precedence over whatever error wasmtime reports for the same stop.
    stopped: Option<TaskError>,
}

/// What a task's WASI context will hold: its argv, its streams, its capabilities.
pub(crate) struct WasiSetup {
    /// argv\[0\].
    pub(crate) program: Arc<str>,
    /// The arguments after argv\[0\].
    pub(crate) args: Vec<String>,
    pub(crate) stdio: Stdio,
    pub(crate) capabilities: Arc<Capabilities>,
    /// Where a function task's prints go.
    pub(crate) prints: Prints,
}

/// Everything that fences the tasks of a pool or process: limits and capabilities.
#[derive(Clone, Debug, Default)]
pub(crate) struct Policy {
    pub(crate) limits: Limits,
    pub(crate) capabilities: Arc<Capabilities>,
    pub(crate) prints: Prints,
}

impl Policy {
    /// Checks that `engine`, which compiled the module at `path`, can enforce these limits.
    pub(crate) fn check(&self, engine: &Engine, path: &Path) -> Result<(), Error> {
        if self.limits.fuel.is_some() && !engine.fuel_enabled() {
            return Err(Error::Config(format!(
                "a fuel limit needs an engine with fuel metering, and {} was compiled without it \
                 (load it with `Module::from_file_in(&Engine::builder().fuel(true).build()?, …)`)",
                path.display()
            )));
        }
        if self.limits.max_table_elements > MAX_TABLE_ELEMENTS {
            return Err(Error::Config(format!(
                "a table limit of {} elements (--max-table-elements, \
                 Limits::max_table_elements) is more than any table can hold here: at most {} \
                 (hecaton::MAX_TABLE_ELEMENTS)",
                self.limits.max_table_elements, MAX_TABLE_ELEMENTS
            )));
        }
        Ok(())
    }
}

/// WASI 0.2 (components) uses the same lazily made context as WASI preview 1: the same
/// arguments, streams, capabilities and output caps.
impl wasmtime_wasi::WasiView for TaskState {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        self.wasi_ctx().ctx()
    }
}

impl TaskState {
    /// The task's WASI context, made on first use.
    fn wasi_ctx(&mut self) -> &mut WasiP1Ctx {
        let (setup, limits, captured) = (&mut self.wasi_setup, &self.limits, &mut self.captured);
        let passed_through = &mut self.passed_through;
        let started = &mut self.wasi_started;
        self.wasi.get_or_insert_with(|| {
            *started = Some(Instant::now());
            let setup = setup.take().unwrap_or_else(|| WasiSetup {
                program: "task.wasm".into(),
                args: Vec::new(),
                stdio: Stdio::Diagnostics { stdin: Vec::new() },
                capabilities: Arc::default(),
                prints: Prints::default(),
            });
            let (ctx, watched) = wasi_context(&setup, limits);
            match watched {
                WatchedOutput::Captured(output) => *captured = Some(output),
                WatchedOutput::PassedThrough(streams) => *passed_through = Some(streams),
            }
            ctx
        })
    }

    /// Readies the store of a kept instance for its next task: its identity, a fresh deadline,
    /// no stop recorded.
    pub(crate) fn begin_task(&mut self, identity: Identity) {
        self.task_id = identity.task_id;
        self.attempt = identity.attempt;
        self.input = identity.input;
        self.deadline = deadline(&self.limits);
        self.stopped = None;
    }

    /// Copies the task's new prints to the host's stderr, each line prefixed with the map input
    /// it runs on, else its task id (the prefix is made only when there is something to copy).
    pub(crate) fn forward_prints(&mut self) {
        let (input, task_id) = (self.input, self.task_id);
        if let Some(captured) = self.captured.as_mut() {
            captured.forward(|| match input {
                Some(index) => format!("[input {index}] "),
                None => format!("[task {task_id}] "),
            });
        }
    }

    /// Bytes of linear memory the task has (its peak: memory never shrinks).
    pub(crate) fn memory_in_use(&self) -> u64 {
        self.memory_in_use
    }

    /// Stops the task if it was cancelled, its deadline passed or it wrote past its output limit;
    /// called at every epoch tick and while a WASI call waits.
    fn check_interrupt(&mut self) -> wasmtime::Result<()> {
        if self.cancel.is_cancelled() {
            return Err(self.stop(TaskError::Cancelled));
        }
        // A task that goes on writing after its output limit (ignoring the write errors) is
        // stopped here rather than left to spin.
        if self.output_overflowed() {
            let limit = self.limits.max_output;
            return Err(self.stop(TaskError::OutputLimit { limit }));
        }
        match self.deadline {
            Some((at, timeout)) if Instant::now() >= at => {
                Err(self.stop(TaskError::Timeout(timeout)))
            }
            _ => Ok(()),
        }
    }

    /// Whether the task wrote more than its output limit to its stdout or its stderr.
    pub(crate) fn output_overflowed(&self) -> bool {
        self.captured
            .as_ref()
            .is_some_and(CapturedOutput::overflowed)
            || self
                .passed_through
                .iter()
                .flatten()
                .any(host_stream::HostStream::overflowed)
    }

    /// Records why the task is being stopped and returns the error that unwinds the guest.
    fn stop(&mut self, reason: TaskError) -> wasmtime::Error {
        let error = wasmtime::Error::msg(reason.to_string());
        self.stopped.get_or_insert(reason);
        error
    }
}

/// A flag that cancels tasks: one task (a `Process`), or every task of a map or a pool. A flag
/// made by [`CancelFlag::child`] is also cancelled when its parent is.
#[derive(Clone, Debug, Default)]
pub(crate) struct CancelFlag(Arc<CancelNode>);

#[derive(Debug, Default)]
struct CancelNode {
    cancelled: AtomicBool,
    parent: Option<CancelFlag>,
}

impl CancelFlag {
    /// A flag cancelled by its own `cancel` or by this one's.
    pub(crate) fn child(&self) -> Self {
        Self(Arc::new(CancelNode {
            cancelled: AtomicBool::new(false),
            parent: Some(self.clone()),
        }))
    }

    /// Cancels: running tasks stop at their next epoch check (within one [`crate::EPOCH_TICK`]),
    /// tasks not started yet are not started.
    pub(crate) fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
    }

    /// Cancels and makes the engine's running tasks check at once.
    pub(crate) fn cancel_now(&self, engine: &Engine) {
        self.cancel();
        engine.interrupt_now();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        let mut node = &self.0;
        loop {
            if node.cancelled.load(Ordering::Relaxed) {
                return true;
            }
            match &node.parent {
                Some(parent) => node = &parent.0,
                None => return false,
            }
        }
    }
}

/// Who a task is, for [`new_store`].
pub(crate) struct Identity {
    pub(crate) task_id: u64,
    pub(crate) attempt: u32,
    /// The index of the map input the task runs on (`None` for a process): what prefixes the
    /// task's prints on the host's stderr.
    pub(crate) input: Option<usize>,
}

/// A fresh store for one task, its limiter and epoch deadline armed.
pub(crate) fn new_store(
    engine: &Engine,
    identity: Identity,
    limits: &Limits,
    wasi_setup: Option<WasiSetup>,
    cancel: CancelFlag,
) -> Store<TaskState> {
    let state = TaskState {
        cancel,
        deadline: deadline(limits),
        wasi_started: None,
        wasi: None,
        wasi_setup,
        captured: None,
        passed_through: None,
        task_id: identity.task_id,
        attempt: identity.attempt,
        input: identity.input,
        limits: limits.clone(),
        memory_in_use: 0,
        table_elements_in_use: 0,
        stopped: None,
    };
    let max_output = limits.max_output;
    let mut store = Store::new(engine.wasmtime(), state);
    store.limiter(|state| state);
    // What a component's call may copy out of the guest (a result lifted into host values,
    // about 40 bytes of host memory per list element): a result whose JSON could not be under
    // the output limit stops before the host holds it ([`TaskError::OutputLimit`]).
    store.set_hostcall_fuel(hostcall_fuel(max_output));
    if engine.fuel_enabled() {
        // Setting fuel cannot fail on an engine that meters it.
        let _ = store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
    }
    // Every tick (and every `interrupt_now`) the task checks whether it must stop; otherwise it
    // goes on for one more tick.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut context| {
        context.data_mut().check_interrupt()?;
        Ok(UpdateDeadline::Continue(1))
    });
    store
}

/// The hostcall fuel of a store whose task may output `max_output` bytes: room for as many
/// list elements (each at least one byte of JSON) and wasmtime's own bookkeeping.
fn hostcall_fuel(max_output: u64) -> usize {
    const HOST_BYTES_PER_ELEMENT: u64 = 64;
    const MINIMUM: u64 = 16 << 20;
    let fuel = max_output
        .saturating_mul(HOST_BYTES_PER_ELEMENT)
        .max(MINIMUM);
    usize::try_from(fuel).unwrap_or(usize::MAX)
}

/// When a task starting now times out, and its timeout; none for a timeout too far away to
/// be a time (it cannot be reached).
fn deadline(limits: &Limits) -> Option<(Instant, Duration)> {
    let timeout = limits.timeout?;
    Some((Instant::now().checked_add(timeout)?, timeout))
}
