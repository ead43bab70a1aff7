//! Running one task: a fresh instance (or one kept from the task before, under a weaker
//! [`Isolation`](crate::isolation::Isolation)), the call its kind asks for, and its outcome
//! settled. What a map, `apply_async` and a [`Process`](crate::process::Process) do to one task
//! is here, written once:
//!
//! - [`Runner`]: what one attempt runs — JSON in and out ([`json::JsonRunner`]: function,
//!   numeric and command tasks) or typed numbers ([`typed::TypedRunner`]);
//! - [`attempt`]: the attempt loop every entry point uses — a task id and attempt number per
//!   attempt, the tracing span, retries each in a fresh instance, cancellation;
//! - [`Live`], [`settle`]: an instance and its store, and a call's outcome made the task's
//!   result (a failure classified, the output cap enforced, prints forwarded).

pub(crate) mod attempt;
pub(crate) mod json;
pub(crate) mod typed;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Store;

use crate::abi::{self, Failure};
use crate::error::TaskError;
use crate::module::{Module, Pre};
use crate::sandbox::{
    CancelFlag, Identity, Limits, Policy, Stdio, TaskState, WasiSetup, classify, new_store,
};
use crate::stack;

/// What a task's inputs are and how one attempt runs: JSON bytes ([`json::JsonRunner`]) or
/// typed numbers ([`typed::TypedRunner`]).
pub(crate) trait Runner: Send + Sync + 'static {
    /// One item's input.
    type Input: Send + 'static;
    /// One item's output.
    type Output: Send + 'static;
    /// A live instance kept between tasks, with whatever the runner looked up in it.
    type Session: Send + 'static;

    /// The module the tasks run.
    fn module(&self) -> &Module;

    /// Runs one attempt on `input` in `session`'s instance, or in a fresh one left in `session`
    /// for the next task; `session` is emptied when its instance must serve no other task.
    fn run(
        &self,
        session: &mut Option<Self::Session>,
        input: &Self::Input,
        identity: Identity,
        cancel: &CancelFlag,
    ) -> Ran<Self::Output>;
}

/// A process-wide task id, like a process id. Each thread takes ids in blocks, so that workers
/// running tiny tasks do not contend on one counter: ids are unique, not in start order.
pub(crate) fn next_task_id() -> u64 {
    const BLOCK: u64 = 1024;
    static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    IDS.with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
            end = next + BLOCK;
        }
        ids.set((next + 1, end));
        next
    })
}

/// What one run of a task produced, and the linear memory its instance ended with (its peak:
/// memory never shrinks).
pub(crate) struct Ran<T> {
    pub(crate) result: Result<T, TaskError>,
    pub(crate) memory: u64,
}

/// Runs `body`, turning a host-side panic into the task's [`TaskError::Host`]: running a task
/// never panics.
pub(crate) fn guarded<T>(body: impl FnOnce() -> Ran<T>) -> Ran<T> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Ran {
            result: Err(TaskError::Host(format!("panic: {message}"))),
            memory: 0,
        }
    })
}

/// A started instance and its store: made for one task, or kept for the next tasks of a chunk
/// or a worker ([`crate::Isolation`]).
pub(crate) struct Live {
    pub(crate) store: Store<TaskState>,
    pub(crate) instance: Instance,
}

/// A live instance of a core module or of a component.
pub(crate) enum Instance {
    Core(wasmtime::Instance),
    Component(wasmtime::component::Instance),
}

impl Instance {
    /// The core module's instance, if it is one.
    pub(crate) fn core(&self) -> Option<&wasmtime::Instance> {
        match self {
            Self::Core(instance) => Some(instance),
            Self::Component(_) => None,
        }
    }
}

impl Live {
    /// A fresh instance of `module` for function or numeric tasks, its start function and
    /// reactor initializer run; on failure, the task's outcome.
    pub(crate) fn start<T>(
        module: &Module,
        policy: &Policy,
        identity: Identity,
        cancel: CancelFlag,
    ) -> Result<Self, Ran<T>> {
        let mut store = new_store(
            module.engine(),
            identity,
            &policy.limits,
            function_wasi_setup(module, policy),
            cancel,
        );
        match start(&mut store, module) {
            Ok(instance) => Ok(Self { store, instance }),
            Err(failure) => Err(Ran {
                result: settle(&mut store, Err(failure)),
                memory: store.data().memory_in_use(),
            }),
        }
    }

    /// Readies a kept instance for its next task: a new identity, a fresh deadline and fuel.
    pub(crate) fn reuse(&mut self, identity: Identity, limits: &Limits, module: &Module) {
        self.store.data_mut().begin_task(identity);
        if module.engine().fuel_enabled() {
            // Setting fuel cannot fail on an engine that meters it.
            let _ = self.store.set_fuel(limits.fuel.unwrap_or(u64::MAX));
        }
    }

    /// Bytes of linear memory the instance has.
    pub(crate) fn memory(&self) -> u64 {
        self.store.data().memory_in_use()
    }

    /// The task's result from its call's outcome (see [`settle`]).
    pub(crate) fn settle<T>(&mut self, outcome: Result<T, Failure>) -> Result<T, TaskError> {
        settle(&mut self.store, outcome)
    }
}

/// The result of a function or numeric task from its call's outcome: a failure classified, an
/// output past the limit refused, and the task's prints copied to the host's stderr.
pub(crate) fn settle<T>(
    store: &mut Store<TaskState>,
    outcome: Result<T, Failure>,
) -> Result<T, TaskError> {
    let outcome = outcome.map_err(|failure| classified(store, failure));
    let state = store.data_mut();
    let Some(captured) = state.captured.as_ref() else {
        return outcome;
    };
    if captured.overflowed() {
        return Err(TaskError::OutputLimit {
            limit: state.limits.max_output,
        });
    }
    state.forward_prints();
    outcome
}

/// The task's error for a failure: what stopped wasmtime, classified, or the host's refusal. A
/// trap or an error while the instance was being made is [`TaskError::Instantiate`]; a limit,
/// a timeout or a cancel keeps its own kind wherever it struck.
pub(crate) fn classified(store: &mut Store<TaskState>, failure: Failure) -> TaskError {
    match failure {
        Failure::Wasm(error) => classify(error, store.data_mut()),
        Failure::Start(error) => match classify(error, store.data_mut()) {
            TaskError::Trap { trap, .. } => {
                TaskError::Instantiate(format!("the module's start code trapped: {trap}"))
            }
            TaskError::Host(message) => TaskError::Instantiate(message),
            other => other,
        },
        Failure::Task(error) => error,
    }
}

/// The WASI setup of a function or numeric task: no arguments, no stdin, its prints captured.
/// Only a module that imports WASI gets one, and the context itself is made on the task's first
/// WASI call: most function tasks never make one.
fn function_wasi_setup(module: &Module, policy: &Policy) -> Option<WasiSetup> {
    module.imports_wasi().then(|| WasiSetup {
        program: Arc::clone(module.program()),
        args: Vec::new(),
        stdio: Stdio::Diagnostics { stdin: Vec::new() },
        capabilities: Arc::clone(&policy.capabilities),
        prints: policy.prints,
    })
}

/// A fresh instance, its start function and reactor initializer run (a component's start
/// functions run as it is instantiated).
pub(crate) fn start(store: &mut Store<TaskState>, module: &Module) -> Result<Instance, Failure> {
    stack::check_fits(module.engine().max_stack()).map_err(Failure::Task)?;
    let pre = match module.instance_pre() {
        Pre::Core(pre) => pre,
        Pre::Component(pre) => {
            let instance = pre.instantiate(&mut *store).map_err(Failure::Start)?;
            return Ok(Instance::Component(instance));
        }
    };
    let instance = pre.instantiate(&mut *store).map_err(Failure::Start)?;
    if let Some(initialize) = module.initialize_export() {
        // SAFETY: `_initialize` was checked at load to be `(func)`; `instance` is of `module`.
        let func = unsafe { abi::checked_func::<(), ()>(store, &instance, Some(initialize)) }?;
        func.call(&mut *store, ()).map_err(Failure::Start)?;
    }
    Ok(Instance::Core(instance))
}
