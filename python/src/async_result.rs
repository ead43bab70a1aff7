//! `hecaton.AsyncResult`, of `apply_async` and `map_async`.
//!
//! An `apply_async` without callbacks keeps the library's [`hecaton::AsyncResult`] and waits on
//! it when asked. With a callback, and for every `map_async`, a thread of the binding's waits
//! for the outcome (detached from the interpreter), stores it, and hands the result to the
//! pool's one callback thread, which calls the callbacks in the order results complete, as
//! multiprocessing's result handler does. As there, a result is ready (`get`, `wait`, `ready`
//! return) only once its callback has run, and the pool's `join` waits for every callback.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hecaton::TaskError;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::Value;

use crate::errors;
use crate::shared::PoolShared;
use crate::stream::{self, Output};

/// The callbacks of an async result.
pub(crate) struct Callbacks {
    pub(crate) callback: Option<Py<PyAny>>,
    pub(crate) error_callback: Option<Py<PyAny>>,
}

impl Callbacks {
    fn any(&self) -> bool {
        self.callback.is_some() || self.error_callback.is_some()
    }
}

/// A finished task's or map's output.
pub(crate) enum Done {
    One(Output),
    Many(Vec<Output>),
}

/// Why an async result failed.
pub(crate) enum Failure {
    Task {
        error: TaskError,
        index: Option<usize>,
        attempts: Option<u32>,
    },
    /// The map could not run (its pool closed under it).
    Pool(hecaton::Error),
}

type Finished = Result<Done, Failure>;

/// Where the outcome comes from.
enum Source {
    /// The library's handle, waited on by `get`.
    Apply(hecaton::AsyncResult<Value>),
    /// A thread of the binding's, which stores the outcome.
    Thread,
}

struct State {
    source: Source,
    finished: Option<Finished>,
    /// Whether `finished` is there and its callbacks, if any, have run.
    ready: bool,
    /// The Python value (or exception) made from `finished`, the same object on every `get`.
    converted: Option<Result<Py<PyAny>, Py<PyAny>>>,
}

/// What an async result's handle, its thread and the callback thread share.
pub(crate) struct Shared {
    state: Mutex<State>,
    done: Condvar,
    callbacks: Callbacks,
    pool: Arc<PoolShared>,
}

impl Shared {
    /// Stores the outcome, and either wakes the waiters or queues the callbacks, which wake
    /// them once they have run.
    pub(crate) fn finish(self: &Arc<Self>, finished: Finished) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .finished = Some(finished);
        if self.callbacks.any() {
            let result = Arc::clone(self);
            let queued = self.pool.callbacks.queue(Box::new(move || {
                run_callbacks(&result);
                result.make_ready();
                result.pool.callbacks.done_one();
            }));
            // No callback thread: the result is ready without its callbacks (said by `queue`).
            if queued.is_err() {
                self.make_ready();
                self.pool.callbacks.done_one();
            }
        } else {
            self.make_ready();
        }
    }

    /// Marks the outcome ready and wakes the waiters.
    fn make_ready(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ready = true;
        self.done.notify_all();
    }

    /// Waits up to `slice` for the outcome, detached from the interpreter; whether it is there.
    fn wait_slice(&self, slice: Duration) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.ready {
            return true;
        }
        if let Source::Apply(handle) = &mut state.source {
            if let Some(outcome) = handle.get_timeout(slice) {
                state.finished = Some(apply_finished(outcome));
                state.ready = true;
            }
            return state.ready;
        }
        let (state, _) = self
            .done
            .wait_timeout_while(state, slice, |state| !state.ready)
            .unwrap_or_else(PoisonError::into_inner);
        state.ready
    }

    /// The outcome as a Python value or exception, made once.
    fn converted(&self, py: Python<'_>) -> Option<Result<Py<PyAny>, Py<PyAny>>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.converted.is_none() {
            let converted = match state.finished.as_ref()? {
                Ok(done) => match to_python(py, done) {
                    Ok(value) => Ok(value),
                    Err(error) => Err(error.into_value(py).into_any()),
                },
                Err(Failure::Task {
                    error,
                    index,
                    attempts,
                }) => Err(errors::task_error(py, error, *index, *attempts)
                    .into_value(py)
                    .into_any()),
                Err(Failure::Pool(error)) => {
                    Err(errors::error(py, error).into_value(py).into_any())
                }
            };
            state.converted = Some(converted);
        }
        state.converted.as_ref().map(|converted| match converted {
            Ok(value) => Ok(value.clone_ref(py)),
            Err(error) => Err(error.clone_ref(py)),
        })
    }
}

fn apply_finished(outcome: Result<Value, TaskError>) -> Finished {
    outcome
        .map(|value| Done::One(Output::Json(value)))
        .map_err(|error| Failure::Task {
            error,
            index: Some(0),
            attempts: None,
        })
}

fn to_python(py: Python<'_>, done: &Done) -> PyResult<Py<PyAny>> {
    Ok(match done {
        Done::One(output) => output.to_python(py)?.unbind(),
        Done::Many(outputs) => {
            let list = PyList::empty(py);
            for output in outputs {
                list.append(output.to_python(py)?)?;
            }
            list.into_any().unbind()
        }
    })
}

/// The result of ``apply_async`` or ``map_async``, as multiprocessing's ``AsyncResult``.
#[pyclass(frozen, module = "hecaton")]
pub(crate) struct AsyncResult {
    shared: Arc<Shared>,
}

impl AsyncResult {
    /// A result that a thread of the binding's will finish.
    pub(crate) fn pending(pool: Arc<PoolShared>, callbacks: Callbacks) -> Self {
        Self::with_source(pool, Source::Thread, callbacks)
    }

    fn with_source(pool: Arc<PoolShared>, source: Source, callbacks: Callbacks) -> Self {
        if callbacks.any() {
            pool.callbacks.expect_one();
        }
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    source,
                    finished: None,
                    ready: false,
                    converted: None,
                }),
                done: Condvar::new(),
                callbacks,
                pool,
            }),
        }
    }

    /// The shared state, for the thread that finishes it.
    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// The result of the library's `apply_async`: waited on by `get`, or, with callbacks, by a
    /// thread that runs them.
    pub(crate) fn apply(
        pool: Arc<PoolShared>,
        handle: hecaton::AsyncResult<Value>,
        callbacks: Callbacks,
    ) -> PyResult<Self> {
        if !callbacks.any() {
            return Ok(Self::with_source(pool, Source::Apply(handle), callbacks));
        }
        let result = Self::pending(pool, callbacks);
        let shared = result.shared();
        std::thread::Builder::new()
            .name("hecaton-py-apply".into())
            // It only waits and decodes JSON (at most 128 levels deep).
            .stack_size(256 << 10)
            .spawn(move || shared.finish(apply_finished(handle.get())))
            .map_err(errors::thread_error)?;
        Ok(result)
    }

    /// Waits for the outcome, `timeout` seconds at most; whether it arrived.
    fn wait_for(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = stream::deadline(timeout);
        loop {
            let slice = stream::slice(deadline);
            let shared = &self.shared;
            if py.detach(|| shared.wait_slice(slice)) {
                return Ok(true);
            }
            if let Err(interrupt) = py.check_signals() {
                self.shared.pool.interrupt(py);
                return Err(interrupt);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(false);
            }
        }
    }

    /// The output, or the failure raised; `TimeoutError` when it has not ended by `timeout`.
    pub(crate) fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        if !self.wait_for(py, timeout)? {
            return Err(errors::wait_timeout(py, "the result is not ready"));
        }
        match self.shared.converted(py) {
            Some(Ok(value)) => Ok(value),
            Some(Err(exception)) => Err(PyErr::from_value(exception.into_bound(py))),
            None => Err(errors::wait_timeout(py, "the result is not ready")),
        }
    }
}

#[pymethods]
impl AsyncResult {
    /// The output (for ``map_async``, the list of outputs); raises the task's ``TaskError``, or
    /// ``TimeoutError`` when it has not ended within ``timeout`` seconds.
    #[pyo3(name = "get", signature = (timeout = None))]
    fn py_get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        self.get(py, timeout)
    }

    /// Waits until the result is ready, ``timeout`` seconds at most.
    #[pyo3(signature = (timeout = None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        self.wait_for(py, timeout).map(drop)
    }

    /// Whether the task (or map) has ended.
    fn ready(&self, py: Python<'_>) -> bool {
        let shared = &self.shared;
        py.detach(|| shared.wait_slice(Duration::ZERO))
    }

    /// Whether it ended without failing; ``ValueError`` if it has not ended.
    fn successful(&self, py: Python<'_>) -> PyResult<bool> {
        if !self.ready(py) {
            return Err(PyValueError::new_err("the result is not ready"));
        }
        let state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(matches!(state.finished, Some(Ok(_))))
    }
}

/// Calls a finished result's callback with its value, or its error callback with its exception;
/// an exception a callback raises is reported as unraisable (it has no caller to go to).
fn run_callbacks(result: &Shared) {
    let _ = Python::try_attach(|py| {
        let (callback, argument) = match result.converted(py) {
            Some(Ok(value)) => (result.callbacks.callback.as_ref(), value),
            Some(Err(exception)) => (result.callbacks.error_callback.as_ref(), exception),
            None => return,
        };
        if let Some(callback) = callback
            && let Err(error) = callback.call1(py, (argument,))
        {
            error.write_unraisable(py, Some(callback.bind(py)));
        }
    });
}
