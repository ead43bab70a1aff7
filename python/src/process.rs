//! `hecaton.Process`: multiprocessing's `Process` over the library's [`hecaton::Process`] — one
//! task on its own thread, in its own instance.
//!
//! The library's `Process::join` blocks and takes the process, so a thread of the binding's
//! joins it and stores the outcome; Python's `join(timeout)` waits for that, detached from the
//! interpreter, checking for Ctrl-C.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use hecaton::{CommandOutput, Killer, ProcessBuilder, Stdio, TaskError};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

use crate::errors::{self, IntoPyResult};
use crate::module::{ModuleArg, ModuleCacheByPath};
use crate::sandbox::{LimitArgs, Sandbox, Size};
use crate::stream::{self, Output};

/// What the process runs.
enum Call {
    Json { task: String, input: Value },
    Command { args: Vec<String>, stdin: Vec<u8> },
}

/// The process before `start`.
struct Spec {
    module: ModuleArg,
    call: Call,
    sandbox: Sandbox,
    retries: u32,
}

/// The process after `start`.
struct Started {
    id: u64,
    killer: Killer,
    killed: bool,
}

/// The outcome, stored by the joining thread.
#[derive(Default)]
struct Outcome {
    result: Mutex<Option<Result<Output, TaskError>>>,
    done: Condvar,
}

/// One task on its own thread, in a fresh instance: multiprocessing's ``Process``, with a task
/// module and an export name in place of a function.
///
/// ``args`` are the task's arguments (``f(*args)``: one argument is passed as itself, several as
/// a JSON array). The keywords are ``Pool``'s limits and capabilities. ``pid`` is the task's id,
/// the one the guest sees; ``join`` waits, ``result()`` also returns the task's output (or
/// raises its ``TaskError``).
#[pyclass(frozen, module = "hecaton")]
pub(crate) struct Process {
    spec: Mutex<Option<Spec>>,
    started: Mutex<Option<Started>>,
    outcome: Arc<Outcome>,
}

impl Process {
    fn start_spec(&self, py: Python<'_>, spec: Spec) -> PyResult<Started> {
        let module = ModuleCacheByPath::global().get(py, &spec.module, spec.sandbox.engine)?;
        let builder: ProcessBuilder = hecaton::Process::builder(&module)
            .limits(spec.sandbox.limits)
            .capabilities(spec.sandbox.capabilities)
            // What the task prints reaches the caller's stdout and stderr, as a child process's.
            .prints(hecaton::Prints::AsChild)
            .retries(spec.retries);
        let (process, command) = match spec.call {
            Call::Json { task, input } => (builder.spawn(&task, &input).py(py)?, false),
            Call::Command { args, stdin } => (
                builder
                    .spawn_command(args, Stdio::Capture { stdin })
                    .py(py)?,
                true,
            ),
        };
        let started = Started {
            id: process.id(),
            killer: process.killer(),
            killed: false,
        };
        let outcome = Arc::clone(&self.outcome);
        std::thread::Builder::new()
            .name("hecaton-py-process".into())
            // It only waits and decodes JSON (at most 128 levels deep).
            .stack_size(256 << 10)
            .spawn(move || {
                let result = if command {
                    process.join::<CommandOutput>().map(Output::Command)
                } else {
                    process.join::<Value>().map(Output::Json)
                };
                *outcome
                    .result
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(result);
                outcome.done.notify_all();
            })
            .map_err(errors::thread_error)?;
        Ok(started)
    }

    /// Waits up to `timeout` seconds (forever for `None`); whether the task has ended.
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        if self.lock_started().is_none() {
            return Err(PyValueError::new_err("can only join a started process"));
        }
        let deadline = stream::deadline(timeout);
        loop {
            let slice = stream::slice(deadline);
            let outcome = &self.outcome;
            let ended = py.detach(|| {
                let result = outcome
                    .result
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let (result, _) = outcome
                    .done
                    .wait_timeout_while(result, slice, |result| result.is_none())
                    .unwrap_or_else(PoisonError::into_inner);
                result.is_some()
            });
            if ended {
                return Ok(true);
            }
            if let Err(interrupt) = py.check_signals() {
                // As a child process gets the terminal's SIGINT too: the task stops.
                self.kill();
                return Err(interrupt);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(false);
            }
        }
    }

    fn lock_started(&self) -> std::sync::MutexGuard<'_, Option<Started>> {
        self.started.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl Process {
    #[new]
    #[pyo3(signature = (module, task, args = None, *, max_memory = None, timeout = None,
        fuel = None, max_output = None, max_stack = None, max_table_elements = None, dirs = None, env = None, retries = 0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        module: ModuleArg,
        task: String,
        args: Option<&Bound<'_, PyAny>>,
        max_memory: Option<Size>,
        timeout: Option<f64>,
        fuel: Option<u64>,
        max_output: Option<Size>,
        max_stack: Option<Size>,
        max_table_elements: Option<u64>,
        dirs: Option<&Bound<'_, PyAny>>,
        env: Option<&Bound<'_, PyDict>>,
        retries: u32,
    ) -> PyResult<Self> {
        let input = crate::json::args_to_value(args)?;
        let limits = LimitArgs {
            max_memory,
            timeout,
            fuel,
            max_output,
            max_stack,
            max_table_elements,
        };
        Self::with_call(
            py,
            module,
            Call::Json { task, input },
            limits,
            dirs,
            env,
            retries,
        )
    }

    /// A process that runs the module's WASI command with ``args`` (after argv[0], the module's
    /// file name) and ``stdin`` (``bytes`` or ``str``); its ``result()`` is a ``CommandResult``
    /// and its ``exitcode`` the command's exit code.
    #[staticmethod]
    #[pyo3(signature = (module, args = None, stdin = None, *, max_memory = None, timeout = None,
        fuel = None, max_output = None, max_stack = None, max_table_elements = None, dirs = None, env = None, retries = 0))]
    #[allow(clippy::too_many_arguments)]
    fn command(
        py: Python<'_>,
        module: ModuleArg,
        args: Option<Vec<String>>,
        stdin: Option<&Bound<'_, PyAny>>,
        max_memory: Option<Size>,
        timeout: Option<f64>,
        fuel: Option<u64>,
        max_output: Option<Size>,
        max_stack: Option<Size>,
        max_table_elements: Option<u64>,
        dirs: Option<&Bound<'_, PyAny>>,
        env: Option<&Bound<'_, PyDict>>,
        retries: u32,
    ) -> PyResult<Self> {
        let stdin = match stdin {
            Some(stdin) => crate::stream::Encode::Bytes.encode(stdin)?,
            None => Vec::new(),
        };
        let call = Call::Command {
            args: args.unwrap_or_default(),
            stdin,
        };
        let limits = LimitArgs {
            max_memory,
            timeout,
            fuel,
            max_output,
            max_stack,
            max_table_elements,
        };
        Self::with_call(py, module, call, limits, dirs, env, retries)
    }

    /// Starts the task on its own thread.
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let Some(spec) = self
            .spec
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return Err(PyRuntimeError::new_err("cannot start a process twice"));
        };
        let started = self.start_spec(py, spec)?;
        *self.lock_started() = Some(started);
        Ok(())
    }

    /// Waits until the task ends, ``timeout`` seconds at most.
    #[pyo3(signature = (timeout = None))]
    fn join(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        self.wait(py, timeout).map(drop)
    }

    /// Waits for the task and returns its output (a command's: a ``CommandResult``), or raises
    /// its ``TaskError``; ``TimeoutError`` when it has not ended within ``timeout`` seconds.
    #[pyo3(signature = (timeout = None))]
    fn result(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        if !self.wait(py, timeout)? {
            return Err(errors::wait_timeout(py, "the process has not ended"));
        }
        let result = self
            .outcome
            .result
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match result.as_ref() {
            Some(Ok(output)) => Ok(output.to_python(py)?.unbind()),
            Some(Err(error)) => Err(errors::task_error(py, error, None, None)),
            None => Err(errors::wait_timeout(py, "the process has not ended")),
        }
    }

    /// Whether the task was started and has not ended.
    fn is_alive(&self) -> bool {
        self.lock_started().is_some()
            && self
                .outcome
                .result
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_none()
    }

    /// Interrupts the task: it ends ``Cancelled`` at once (``exitcode`` -9).
    fn kill(&self) {
        if let Some(started) = self.lock_started().as_mut() {
            started.killed = true;
            started.killer.kill();
        }
    }

    /// As ``kill``.
    fn terminate(&self) {
        self.kill();
    }

    /// The task's id (the guest sees the same); ``None`` before ``start``.
    #[getter]
    fn pid(&self) -> Option<u64> {
        self.lock_started().as_ref().map(|started| started.id)
    }

    /// ``None`` while it runs; then 0 for an output, 1 for a failure, -9 when killed, and a
    /// command's own exit code.
    #[getter]
    fn exitcode(&self) -> Option<i32> {
        let killed = self
            .lock_started()
            .as_ref()
            .is_some_and(|started| started.killed);
        let result = self
            .outcome
            .result
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some(match result.as_ref()? {
            Ok(Output::Json(_)) => 0,
            Ok(Output::Command(output)) => output.exit_code,
            Err(TaskError::Cancelled) if killed => -9,
            Err(TaskError::Exit(code)) => *code,
            Err(_) => 1,
        })
    }

    fn __repr__(&self) -> String {
        let state = match (self.pid(), self.is_alive()) {
            (None, _) => "initial".to_owned(),
            (Some(id), true) => format!("started pid={id}"),
            (Some(id), false) => format!("stopped pid={id} exitcode={:?}", self.exitcode()),
        };
        format!("<hecaton.Process {state}>")
    }
}

impl Process {
    fn with_call(
        py: Python<'_>,
        module: ModuleArg,
        call: Call,
        limits: LimitArgs,
        dirs: Option<&Bound<'_, PyAny>>,
        env: Option<&Bound<'_, PyDict>>,
        retries: u32,
    ) -> PyResult<Self> {
        let sandbox = Sandbox::new(py, limits, dirs, env)?;
        Ok(Self {
            spec: Mutex::new(Some(Spec {
                module,
                call,
                sandbox,
                retries,
            })),
            started: Mutex::new(None),
            outcome: Arc::default(),
        })
    }
}
