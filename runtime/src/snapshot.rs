//! Snapshot initializers ([`Module::snapshot`]): an expensive initializer runs once, and every
//! task then starts in a fresh instance of the state it left, copied on write.
//!
//! wasmtime-wizer does the rewriting: it instruments the module so that its globals and memories
//! can be read from outside, hecaton instantiates it in its own sandbox (limits, capabilities,
//! WASI) and runs the initializer, and wizer writes the state it left — memories as data
//! segments, globals as their initial values — into a new module without the initializer.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use wasmtime::Val;
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::abi::Failure;
use crate::error::{Error, TaskError};
use crate::module::{Module, TaskKind};
use crate::run::{self, Live};
use crate::sandbox::{CancelFlag, Capabilities, Identity, Limits, Policy};
use crate::stack;

impl Module {
    /// Runs export `initializer` (type `(func)`) once, in a fresh instance under the default
    /// [`Limits`] and no capabilities, and returns a module whose every instance starts from the
    /// state it left: its memory and globals. Python's `Pool(initializer=…)`, with each task
    /// still in a fresh instance: a task sees the initialized state and nothing of the task
    /// before it.
    ///
    /// Use it for work every task would otherwise repeat: a table built, a dictionary parsed,
    /// an interpreter booted. The snapshot's memory is a copy-on-write image, so a task pays
    /// only for the pages it writes. The initializer is gone from the new module. A module
    /// loaded through a [`crate::ModuleCache`] compiles its instrumented and its snapshotted
    /// forms through that cache too: the next snapshot of the same module compiles nothing.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use hecaton::{Engine, Module, Pool};
    ///
    /// // `init` fills a table of squares; `lookup` reads it.
    /// let wat = r#"(module
    ///     (memory (export "memory") 1)
    ///     (func (export "init") (local $i i32)
    ///         (loop $fill
    ///             (i32.store (i32.mul (local.get $i) (i32.const 4))
    ///                        (i32.mul (local.get $i) (local.get $i)))
    ///             (local.set $i (i32.add (local.get $i) (i32.const 1)))
    ///             (br_if $fill (i32.lt_u (local.get $i) (i32.const 1000)))))
    ///     (func (export "lookup") (param $i i32) (result i32)
    ///         (i32.load (i32.mul (local.get $i) (i32.const 4)))))"#;
    /// let module = Module::from_bytes(&Engine::shared()?, "table.wat", wat.as_bytes())?;
    /// let primed = module.snapshot("init")?;
    /// let pool = Pool::builder().workers(2).build()?;
    /// let squares: Vec<i32> = pool.map(&primed, "lookup", [3, 999])?;
    /// assert_eq!(squares, [9, 998_001]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::UnknownTask`] when there is no such export; [`Error::Snapshot`] when it is not a
    /// `(func)`, when the initializer fails (its [`TaskError`] in `failure`), or when the module
    /// uses what wasmtime-wizer cannot snapshot (`table.grow`, `data.drop`, imported memories or
    /// globals, reference-typed globals; a precompiled module).
    pub fn snapshot(&self, initializer: &str) -> Result<Module, Error> {
        self.snapshot_with(initializer, &Limits::default(), &Capabilities::default())
    }

    /// As [`Module::snapshot`], the initializer running under `limits` and with `capabilities`
    /// (a directory to read a dictionary from, say). Files it opened are not part of the
    /// snapshot: only memory and globals are.
    ///
    /// # Errors
    /// As [`Module::snapshot`], and [`Error::Config`] when the limits need fuel the module's
    /// engine does not meter.
    pub fn snapshot_with(
        &self,
        initializer: &str,
        limits: &Limits,
        capabilities: &Capabilities,
    ) -> Result<Module, Error> {
        let fail = |message: String, failure: Option<TaskError>| Error::Snapshot {
            path: self.path().to_owned(),
            initializer: initializer.to_owned(),
            message,
            failure,
        };
        if self.kind() == crate::module::ModuleKind::Component {
            return Err(Error::Component {
                path: self.path().to_owned(),
                message: "a snapshot initializer runs in a core module; a component is \
                          pre-initialized when it is built (componentize-py does it)"
                    .into(),
            });
        }
        match self.task_kind(initializer)? {
            TaskKind::Numeric { params, results } if params.is_empty() && results.is_empty() => {}
            other => {
                return Err(fail(
                    format!("an initializer takes and returns nothing, and this one is a {other}"),
                    None,
                ));
            }
        }
        let binary = self.binary().ok_or_else(|| {
            fail(
                "a precompiled module has no wasm binary to rewrite".into(),
                None,
            )
        })?;
        let mut wizer = Wizer::new();
        wizer.init_func(initializer);
        // wizer checks its own output with assertions in debug builds: nothing a module does may
        // turn them into a host panic.
        let wizer_panicked = |_| fail("wasmtime-wizer panicked".into(), None);
        let (context, instrumented) = catch_unwind(AssertUnwindSafe(|| wizer.instrument(binary)))
            .map_err(wizer_panicked)?
            .map_err(|error| fail(format!("{error:#}"), None))?;
        let probe = self.derived(&instrumented)?;
        let policy = Policy {
            limits: limits.clone(),
            capabilities: Arc::new(capabilities.clone()),
            prints: crate::sandbox::Prints::Prefixed,
        };
        policy.check(probe.engine(), probe.path())?;
        // The caller's thread may be too small for the engine's wasm stack: the initializer runs
        // on a thread sized for it.
        let mut live = stack::run_on_wasm_thread(probe.engine().max_stack(), || {
            initialized(&probe, initializer, &policy)
        })?
        .map_err(|failure| fail(format!("the initializer failed: {failure}"), Some(failure)))?;
        let mut state = Initialized {
            live: &mut live,
            missing: None,
        };
        let snapshot = catch_unwind(AssertUnwindSafe(|| {
            run_to_end(wizer.snapshot(&context, &mut state))
        }))
        .map_err(wizer_panicked)?
        .ok_or_else(|| fail("wasmtime-wizer's snapshot did not complete".into(), None))?
        .map_err(|error| fail(format!("{error:#}"), None))?;
        if let Some(missing) = state.missing {
            return Err(fail(
                format!("the instrumented instance lacks export `{missing}`"),
                None,
            ));
        }
        self.derived(&snapshot)
    }
}

/// A fresh instance of the instrumented module with `initializer` run in it.
fn initialized(probe: &Module, initializer: &str, policy: &Policy) -> Result<Live, TaskError> {
    let identity = Identity {
        task_id: run::next_task_id(),
        attempt: 1,
        input: None,
    };
    let mut live =
        Live::start::<()>(probe, policy, identity, CancelFlag::default()).map_err(|ran| {
            ran.result.err().unwrap_or_else(|| {
                TaskError::Host("the instance did not start, and reported no failure".into())
            })
        })?;
    let export = probe
        .task(initializer)
        .map_err(|error| TaskError::Host(error.to_string()))?
        .export
        .clone();
    let Live { store, instance } = &mut live;
    let outcome = instance
        .core()
        .zip(export.core())
        .and_then(|(instance, export)| instance.get_module_export(&mut *store, export))
        .and_then(wasmtime::Extern::into_func)
        .ok_or_else(|| Failure::Task(TaskError::Host("the initializer is missing".into())))
        .and_then(|func| Ok(func.typed::<(), ()>(&*store)?))
        .and_then(|func| Ok(func.call(&mut *store, ())?));
    live.settle(outcome)?;
    Ok(live)
}

/// The initialized instance, as wizer reads it.
struct Initialized<'a> {
    live: &'a mut Live,
    /// An export wizer asked for that the instance lacks (never, for a module wizer instrumented).
    missing: Option<String>,
}

impl InstanceState for Initialized<'_> {
    async fn global_get(&mut self, name: &str, type_hint: ValType) -> SnapshotVal {
        let Live { store, instance } = &mut *self.live;
        let value = instance
            .core()
            .and_then(|instance| instance.get_global(&mut *store, name))
            .map(|global| global.get(&mut *store));
        match value {
            Some(Val::I32(value)) => SnapshotVal::I32(value),
            Some(Val::I64(value)) => SnapshotVal::I64(value),
            Some(Val::F32(bits)) => SnapshotVal::F32(bits),
            Some(Val::F64(bits)) => SnapshotVal::F64(bits),
            Some(Val::V128(value)) => SnapshotVal::V128(value.as_u128()),
            _ => {
                self.missing.get_or_insert_with(|| name.to_owned());
                zero(type_hint)
            }
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let Live { store, instance } = &mut *self.live;
        match instance
            .core()
            .and_then(|instance| instance.get_memory(&mut *store, name))
        {
            Some(memory) => contents(memory.data(&*store)),
            None => {
                self.missing.get_or_insert_with(|| name.to_owned());
                contents(&[]);
            }
        }
    }
}

/// A zero of `ty`, to keep a snapshot well-typed when a global could not be read.
fn zero(ty: ValType) -> SnapshotVal {
    match ty {
        ValType::I64 => SnapshotVal::I64(0),
        ValType::F32 => SnapshotVal::F32(0),
        ValType::F64 => SnapshotVal::F64(0),
        ValType::V128 => SnapshotVal::V128(0),
        ValType::I32 | ValType::Ref(_) => SnapshotVal::I32(0),
    }
}

/// Polls `future` once: wizer's snapshot only awaits [`Initialized`], whose futures are ready at
/// once. `None` if it was not.
fn run_to_end<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
