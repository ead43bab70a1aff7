//! `hecaton.Pool`: multiprocessing's `Pool` over the library's [`hecaton::Pool`].
//!
//! Ctrl-C while a call waits on the pool cancels every task of the pool (the library's
//! [`Canceller`](hecaton::Canceller), which also closes it) and puts a fresh library pool with
//! the same settings in its place, so the Python pool stays usable; the call raises
//! `KeyboardInterrupt`.

use std::num::NonZeroUsize;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use hecaton::{CommandInput, Isolation};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::async_result::{self, AsyncResult, Callbacks};
use crate::callbacks::CallbackThread;
use crate::errors::{self, IntoPyResult};
use crate::module::{ModuleArg, ModuleCacheByPath};
use crate::sandbox::{LimitArgs, Sandbox, Size};
use crate::shared::{PoolShared, State};
use crate::stream::{self, Call, Encode, MapSpec, Outcomes, POLL};

/// A pool of worker threads, every task in a fresh, sandboxed WebAssembly instance:
/// multiprocessing's ``Pool``, with a task module and an export name in place of a function.
///
/// ``processes`` workers (default: ``HECATON_WORKERS``, else the number of cores). Limits, per
/// task: ``max_memory`` (bytes of linear memory, default 256 MiB), ``timeout`` (seconds, default
/// none), ``fuel`` (a deterministic CPU budget, default none), ``max_output`` (bytes returned or
/// written to each stream, default 16 MiB), ``max_stack`` (the wasm stack, default 512 KiB, at
/// most 64 MiB), ``max_table_elements`` (default 100,000); sizes in bytes or as ``"16MiB"``.
/// Capabilities, granted (nothing is inherited):
/// ``dirs`` (``{host: guest}`` or entries ``host``, ``(host, guest)``, ``(host, guest, "rw")``;
/// read-only unless ``"rw"``) and ``env`` (``{name: value}``, ``None`` copies the host's value).
/// ``retries``: runs of a failed task, each in a fresh instance. ``isolation``: ``"task"`` (a
/// fresh instance per task, the default), ``"chunk"`` (one per chunk) or ``"worker"`` (one per
/// worker, replaced every ``maxtasksperchild`` tasks). ``chunksize``: items per chunk (default:
/// adaptive).
///
/// Values are JSON (``None``, ``bool``, ``int``, ``float``, ``str``, ``list``, ``tuple``,
/// ``dict``); nothing is pickled. The interpreter's lock is released while tasks run; Ctrl-C
/// while a call waits cancels the pool's tasks and leaves the pool usable. Leaving a ``with``
/// block terminates the pool, as multiprocessing's does.
#[pyclass(frozen, module = "hecaton")]
pub(crate) struct Pool {
    shared: Arc<PoolShared>,
}

/// The isolation level from `isolation` and `maxtasksperchild`.
fn isolation(name: &str, maxtasksperchild: Option<usize>) -> PyResult<Isolation> {
    let max = match maxtasksperchild {
        Some(0) => return Err(PyValueError::new_err("maxtasksperchild must be at least 1")),
        max => max.and_then(NonZeroUsize::new),
    };
    match (name, max) {
        ("task", None) => Ok(Isolation::Task),
        ("task", Some(max)) if max.get() == 1 => Ok(Isolation::Task),
        ("task" | "worker", max) => Ok(Isolation::Worker {
            max_tasks_per_instance: max,
        }),
        ("chunk", None) => Ok(Isolation::Chunk),
        ("chunk", Some(_)) => Err(PyValueError::new_err(
            "maxtasksperchild is for isolation=\"worker\" (or \"task\"), not \"chunk\"",
        )),
        (other, _) => Err(PyValueError::new_err(format!(
            "isolation is \"task\", \"chunk\" or \"worker\", not {other:?}"
        ))),
    }
}

impl Pool {
    /// A map's spec for `module`'s `call`.
    fn spec(
        &self,
        py: Python<'_>,
        module: &ModuleArg,
        call: Call,
        chunksize: Option<usize>,
        ordered: bool,
        fail_fast: bool,
    ) -> PyResult<MapSpec> {
        if chunksize == Some(0) {
            return Err(PyValueError::new_err("chunksize must be at least 1"));
        }
        let pool = self.shared.running(py)?;
        let module = ModuleCacheByPath::global().get(py, module, self.shared.engine)?;
        let spec = MapSpec {
            pool,
            module,
            call,
            chunksize,
            ordered,
            fail_fast,
        };
        spec.check(py)?;
        Ok(spec)
    }

    /// Runs a whole map now and returns its list (the first failure raised, unless
    /// `keep_going`).
    fn run_map(
        &self,
        py: Python<'_>,
        spec: MapSpec,
        inputs: Vec<Vec<u8>>,
        keep_going: bool,
    ) -> PyResult<Py<PyList>> {
        let count = inputs.len();
        let mut outcomes = Outcomes::start(
            spec,
            stream::ready_inputs(inputs),
            None,
            Arc::clone(&self.shared),
        )?;
        let list = PyList::empty(py);
        while let Some(item) = outcomes.next(py)? {
            list.append(item.to_python(py, keep_going)?)?;
        }
        if list.len() != count {
            // Every input has its outcome unless the pool was terminated under the map.
            return Err(errors::error(py, &hecaton::Error::Closed));
        }
        Ok(list.unbind())
    }

    /// A lazy iterator over a map of `iterable`.
    #[allow(clippy::too_many_arguments)]
    fn iterate(
        &self,
        py: Python<'_>,
        module: &ModuleArg,
        call: Call,
        iterable: &Bound<'_, PyAny>,
        encode: Encode,
        chunksize: Option<usize>,
        ordered: bool,
        keep_going: bool,
        indexed: bool,
    ) -> PyResult<MapIterator> {
        let spec = self.spec(py, module, call, chunksize, ordered, false)?;
        let (feed, input_error) = stream::PyFeed::new(iterable, encode)?;
        let outcomes = Outcomes::start(
            spec,
            Box::new(feed),
            Some(input_error),
            Arc::clone(&self.shared),
        )?;
        Ok(MapIterator {
            outcomes: Mutex::new(outcomes),
            keep_going,
            indexed,
        })
    }

    /// An async result for a map run on a thread of its own.
    fn start_async_map(
        &self,
        py: Python<'_>,
        spec: MapSpec,
        inputs: Vec<Vec<u8>>,
        callbacks: Callbacks,
    ) -> PyResult<AsyncResult> {
        let result = AsyncResult::pending(Arc::clone(&self.shared), callbacks);
        let shared = result.shared();
        let count = inputs.len();
        let (submitted, taken) = mpsc::channel();
        std::thread::Builder::new()
            .name("hecaton-py-map-async".into())
            .spawn(move || {
                let mut outputs = Vec::with_capacity(count);
                let mut failure = None;
                let submitted = move || {
                    let _ = submitted.send(());
                };
                spec.drive(
                    stream::ready_inputs(inputs),
                    submitted,
                    |message| match message {
                        Ok(batch) => {
                            for item in batch {
                                match item.result {
                                    Ok(output) => outputs.push(output),
                                    Err(error) => {
                                        failure = Some(async_result::Failure::Task {
                                            error,
                                            index: Some(item.index),
                                            attempts: Some(item.attempts),
                                        });
                                        return false;
                                    }
                                }
                            }
                            true
                        }
                        Err(error) => {
                            failure = Some(async_result::Failure::Pool(error));
                            false
                        }
                    },
                );
                let finished = match failure {
                    Some(failure) => Err(failure),
                    None if outputs.len() == count => Ok(async_result::Done::Many(outputs)),
                    None => Err(async_result::Failure::Pool(hecaton::Error::Closed)),
                };
                shared.finish(finished);
            })
            .map_err(errors::thread_error)?;
        // As multiprocessing's: the map is the pool's before this returns, so a `close` right
        // after it lets it run (and `join` waits for it and its callback).
        py.detach(move || {
            let _ = taken.recv();
        });
        Ok(result)
    }
}

#[pymethods]
impl Pool {
    #[new]
    #[pyo3(signature = (processes = None, *, max_memory = None, timeout = None, fuel = None,
        max_output = None, max_stack = None, max_table_elements = None, dirs = None, env = None, retries = 0, isolation = "task",
        maxtasksperchild = None, chunksize = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        processes: Option<usize>,
        max_memory: Option<Size>,
        timeout: Option<f64>,
        fuel: Option<u64>,
        max_output: Option<Size>,
        max_stack: Option<Size>,
        max_table_elements: Option<u64>,
        dirs: Option<&Bound<'_, PyAny>>,
        env: Option<&Bound<'_, PyDict>>,
        retries: u32,
        isolation: &str,
        maxtasksperchild: Option<usize>,
        chunksize: Option<usize>,
    ) -> PyResult<Self> {
        let limits = LimitArgs {
            max_memory,
            timeout,
            fuel,
            max_output,
            max_stack,
            max_table_elements,
        };
        let sandbox = Sandbox::new(py, limits, dirs, env)?;
        let engine = sandbox.engine.engine().py(py)?;
        let mut builder = hecaton::Pool::builder()
            .engine(&engine)
            .limits(sandbox.limits)
            .capabilities(sandbox.capabilities)
            // What a task prints reaches the caller's stdout and stderr, as a child process's.
            .prints(hecaton::Prints::AsChild)
            .retries(retries)
            .isolation(self::isolation(isolation, maxtasksperchild)?);
        if let Some(workers) = processes {
            if workers == 0 {
                return Err(PyValueError::new_err(
                    "Number of processes must be at least 1",
                ));
            }
            builder = builder.workers(workers);
        }
        if let Some(size) = chunksize {
            builder = builder.chunksize(size);
        }
        let pool = py.detach(|| builder.clone().build()).py(py)?;
        Ok(Self {
            shared: Arc::new(PoolShared {
                builder,
                engine: sandbox.engine,
                current: Mutex::new(Arc::new(pool)),
                state: Mutex::new(State::Running),
                callbacks: CallbackThread::default(),
            }),
        })
    }

    /// The number of worker threads.
    #[getter]
    fn processes(&self) -> usize {
        self.shared.current().workers()
    }

    /// Runs ``task`` of ``module`` on every item and returns the outputs in order. Fail-fast,
    /// as multiprocessing: the first failure by index is raised (a ``TaskError`` with its
    /// ``.index``) and the remaining items are cancelled. With ``keep_going=True`` every input
    /// gets its outcome: a failure is the ``TaskError`` instance in its place.
    #[pyo3(signature = (module, task, iterable, chunksize = None, *, keep_going = false))]
    fn map(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        task: String,
        iterable: &Bound<'_, PyAny>,
        chunksize: Option<usize>,
        keep_going: bool,
    ) -> PyResult<Py<PyList>> {
        let spec = self.spec(py, &module, Call::Json(task), chunksize, true, !keep_going)?;
        let inputs = stream::encode_all(iterable, Encode::Json)?;
        self.run_map(py, spec, inputs, keep_going)
    }

    /// As ``map``, for tasks of several parameters: each item is a tuple of arguments
    /// (``f(*args)``), passed as a JSON array.
    #[pyo3(signature = (module, task, iterable, chunksize = None, *, keep_going = false))]
    fn starmap(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        task: String,
        iterable: &Bound<'_, PyAny>,
        chunksize: Option<usize>,
        keep_going: bool,
    ) -> PyResult<Py<PyList>> {
        let spec = self.spec(py, &module, Call::Json(task), chunksize, true, !keep_going)?;
        let inputs = stream::encode_all(iterable, Encode::Star)?;
        self.run_map(py, spec, inputs, keep_going)
    }

    /// A lazy iterator of the outputs in input order. The iterable is read as the map needs
    /// it (a bounded read-ahead), so an endless generator works; a failure is raised when the
    /// iteration reaches it (``keep_going=True``: yielded instead) and the iteration can go on.
    /// Dropping or closing the iterator cancels the rest.
    #[pyo3(signature = (module, task, iterable, chunksize = None, *, keep_going = false))]
    fn imap(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        task: String,
        iterable: &Bound<'_, PyAny>,
        chunksize: Option<usize>,
        keep_going: bool,
    ) -> PyResult<MapIterator> {
        self.iterate(
            py,
            &module,
            Call::Json(task),
            iterable,
            Encode::Json,
            chunksize,
            true,
            keep_going,
            false,
        )
    }

    /// As ``imap``, but outputs come as tasks complete; ``indexed=True`` yields
    /// ``(index, output)`` pairs.
    #[pyo3(signature = (module, task, iterable, chunksize = None, *, keep_going = false, indexed = false))]
    #[allow(clippy::too_many_arguments)]
    fn imap_unordered(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        task: String,
        iterable: &Bound<'_, PyAny>,
        chunksize: Option<usize>,
        keep_going: bool,
        indexed: bool,
    ) -> PyResult<MapIterator> {
        self.iterate(
            py,
            &module,
            Call::Json(task),
            iterable,
            Encode::Json,
            chunksize,
            false,
            keep_going,
            indexed,
        )
    }

    /// Runs one task on ``args`` (``f(*args)``: one argument is passed as itself, several as a
    /// JSON array) and returns its output, or raises its ``TaskError``.
    #[pyo3(signature = (module, task, args = None))]
    fn apply(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        task: String,
        args: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let result = self.apply_async(py, module, task, args, None, None)?;
        result.get(py, None)
    }

    /// Queues one task and returns an ``AsyncResult`` at once. ``callback(output)`` or
    /// ``error_callback(exception)`` is called, on a thread of the pool's, when it ends.
    #[pyo3(signature = (module, task, args = None, callback = None, error_callback = None))]
    fn apply_async(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        task: String,
        args: Option<&Bound<'_, PyAny>>,
        callback: Option<Py<PyAny>>,
        error_callback: Option<Py<PyAny>>,
    ) -> PyResult<AsyncResult> {
        let pool = self.shared.running(py)?;
        let compiled = ModuleCacheByPath::global().get(py, &module, self.shared.engine)?;
        let input = crate::json::args_to_value(args)?;
        let handle = pool.apply_async(&compiled, &task, &input).py(py)?;
        AsyncResult::apply(
            Arc::clone(&self.shared),
            handle,
            Callbacks {
                callback,
                error_callback,
            },
        )
    }

    /// ``map`` without waiting: an ``AsyncResult`` whose ``get()`` is the list of outputs (or
    /// raises the first failure); ``callback(list)`` or ``error_callback(exception)`` is called
    /// when the map ends.
    #[pyo3(signature = (module, task, iterable, chunksize = None, callback = None, error_callback = None))]
    #[allow(clippy::too_many_arguments)]
    fn map_async(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        task: String,
        iterable: &Bound<'_, PyAny>,
        chunksize: Option<usize>,
        callback: Option<Py<PyAny>>,
        error_callback: Option<Py<PyAny>>,
    ) -> PyResult<AsyncResult> {
        let spec = self.spec(py, &module, Call::Json(task), chunksize, true, true)?;
        let inputs = stream::encode_all(iterable, Encode::Json)?;
        self.start_async_map(
            py,
            spec,
            inputs,
            Callbacks {
                callback,
                error_callback,
            },
        )
    }

    /// As ``starmap``, without waiting (see ``map_async``).
    #[pyo3(signature = (module, task, iterable, chunksize = None, callback = None, error_callback = None))]
    #[allow(clippy::too_many_arguments)]
    fn starmap_async(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        task: String,
        iterable: &Bound<'_, PyAny>,
        chunksize: Option<usize>,
        callback: Option<Py<PyAny>>,
        error_callback: Option<Py<PyAny>>,
    ) -> PyResult<AsyncResult> {
        let spec = self.spec(py, &module, Call::Json(task), chunksize, true, true)?;
        let inputs = stream::encode_all(iterable, Encode::Star)?;
        self.start_async_map(
            py,
            spec,
            inputs,
            Callbacks {
                callback,
                error_callback,
            },
        )
    }

    /// Runs the module's WASI command once per input and returns a ``CommandResult`` (exit
    /// code, stdout and stderr as bytes) per input, in order. Each input (``bytes`` or ``str``)
    /// is the command's stdin, or with ``stdin=False`` its last argument (or where ``{}``
    /// stands in ``args``). A non-zero exit is an output, unless ``fail_nonzero=True`` makes it
    /// a ``NonZeroExit`` failure.
    #[pyo3(signature = (module, inputs, args = None, stdin = true, *, chunksize = None,
        keep_going = false, fail_nonzero = false))]
    #[allow(clippy::too_many_arguments)]
    fn map_command(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        inputs: &Bound<'_, PyAny>,
        args: Option<Vec<String>>,
        stdin: bool,
        chunksize: Option<usize>,
        keep_going: bool,
        fail_nonzero: bool,
    ) -> PyResult<Py<PyList>> {
        let call = command_call(args, stdin, fail_nonzero);
        let spec = self.spec(py, &module, call, chunksize, true, !keep_going)?;
        let inputs = stream::encode_all(inputs, Encode::Bytes)?;
        self.run_map(py, spec, inputs, keep_going)
    }

    /// As ``map_command``, lazily (as ``imap``).
    #[pyo3(signature = (module, inputs, args = None, stdin = true, *, chunksize = None,
        keep_going = false, fail_nonzero = false))]
    #[allow(clippy::too_many_arguments)]
    fn imap_command(
        &self,
        py: Python<'_>,
        module: ModuleArg,
        inputs: &Bound<'_, PyAny>,
        args: Option<Vec<String>>,
        stdin: bool,
        chunksize: Option<usize>,
        keep_going: bool,
        fail_nonzero: bool,
    ) -> PyResult<MapIterator> {
        let call = command_call(args, stdin, fail_nonzero);
        self.iterate(
            py,
            &module,
            call,
            inputs,
            Encode::Bytes,
            chunksize,
            true,
            keep_going,
            false,
        )
    }

    /// Takes no new work; what was submitted goes on. Then ``join`` waits for it.
    fn close(&self) {
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *state == State::Running {
            *state = State::Closed;
            self.shared.current().close();
        }
    }

    /// Waits for the submitted work to end and the workers to stop; call ``close`` or
    /// ``terminate`` first.
    fn join(&self, py: Python<'_>) -> PyResult<()> {
        if self.shared.state() == State::Running {
            return Err(PyValueError::new_err("Pool is still running"));
        }
        let pool = self.shared.current();
        let shared = Arc::clone(&self.shared);
        let (done, finished) = mpsc::channel();
        std::thread::Builder::new()
            .name("hecaton-py-join".into())
            .spawn(move || {
                pool.join();
                // As multiprocessing's: the callbacks of the work it ran have run too.
                while !shared.callbacks.wait_idle(POLL) {}
                let _ = done.send(());
            })
            .map_err(errors::thread_error)?;
        let mut finished = Some(finished);
        loop {
            let Some(receiver) = finished.take() else {
                return Ok(());
            };
            let (receiver, ended) = py.detach(move || {
                let ended = receiver.recv_timeout(POLL).is_ok();
                (receiver, ended)
            });
            if ended {
                return Ok(());
            }
            finished = Some(receiver);
            if let Err(interrupt) = py.check_signals() {
                self.terminate(py);
                return Err(interrupt);
            }
        }
    }

    /// Stops now: running tasks are interrupted (they end ``Cancelled``), queued ones dropped.
    fn terminate(&self, py: Python<'_>) {
        *self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = State::Terminated;
        let pool = self.shared.current();
        py.detach(|| pool.terminate());
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) {
        self.terminate(py);
    }

    fn __repr__(&self) -> String {
        let state = match self.shared.state() {
            State::Running => "running",
            State::Closed => "closed",
            State::Terminated => "terminated",
        };
        format!(
            "<hecaton.Pool processes={} state={state}>",
            self.shared.current().workers()
        )
    }
}

/// A command map's call.
fn command_call(args: Option<Vec<String>>, stdin: bool, fail_nonzero: bool) -> Call {
    Call::Command {
        args: args.unwrap_or_default(),
        input: if stdin {
            CommandInput::Stdin
        } else {
            CommandInput::Arg
        },
        fail_nonzero,
    }
}

/// The lazy iterator of ``imap``, ``imap_unordered`` and ``imap_command``.
#[pyclass(frozen, module = "hecaton")]
pub(crate) struct MapIterator {
    outcomes: Mutex<Outcomes>,
    keep_going: bool,
    indexed: bool,
}

#[pymethods]
impl MapIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let Ok(mut outcomes) = self.outcomes.try_lock() else {
            return Err(PyValueError::new_err("the iterator is already being read"));
        };
        let Some(item) = outcomes.next(py)? else {
            return Ok(None);
        };
        let value = item.to_python(py, self.keep_going)?;
        Ok(Some(if self.indexed {
            (item.index, value).into_pyobject(py)?.into_any().unbind()
        } else {
            value.unbind()
        }))
    }

    /// Stops the map: the items not yet run are cancelled.
    fn close(&self) {
        self.outcomes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .close();
    }
}
