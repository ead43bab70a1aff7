//! The library's errors as Python exceptions, whose classes live in `hecaton/_errors.py`: a
//! [`TaskError`] becomes the `hecaton.TaskError` subclass of its `kind()`, with the input's
//! index and the attempts made; an [`Error`] one of `hecaton.Error`'s subclasses.

use hecaton::{Error, TaskError};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict};

/// The module that holds the exception classes.
fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE
        .get_or_try_init(py, || Ok(py.import("hecaton._errors")?.unbind()))
        .map(|module| module.bind(py))
}

/// `error` of the input at `index` (`None` for a process) after `attempts` runs (`None` when
/// unknown), as an exception instance of its kind's class.
pub(crate) fn task_error(
    py: Python<'_>,
    error: &TaskError,
    index: Option<usize>,
    attempts: Option<u32>,
) -> PyErr {
    match task_error_value(py, error, index, attempts) {
        Ok(exception) => PyErr::from_value(exception),
        Err(failure) => failure,
    }
}

/// As [`task_error`], the exception object itself (for `keep_going`, which returns it).
pub(crate) fn task_error_value<'py>(
    py: Python<'py>,
    error: &TaskError,
    index: Option<usize>,
    attempts: Option<u32>,
) -> PyResult<Bound<'py, PyAny>> {
    let details = PyDict::new(py);
    match error {
        TaskError::Trap { trap, backtrace } => {
            details.set_item("trap", trap.to_string())?;
            details.set_item("backtrace", backtrace)?;
        }
        TaskError::Timeout(timeout) => details.set_item("timeout", timeout.as_secs_f64())?,
        TaskError::MemoryLimit { requested, limit }
        | TaskError::TableLimit { requested, limit } => {
            details.set_item("requested", requested)?;
            details.set_item("limit", limit)?;
        }
        TaskError::OutputLimit { limit } => details.set_item("limit", limit)?,
        TaskError::Guest { message }
        | TaskError::Panic { message }
        | TaskError::BadInput { message } => details.set_item("guest_message", message)?,
        TaskError::Exit(code) => details.set_item("exit_code", code)?,
        TaskError::NonZeroExit(output) => {
            details.set_item("exit_code", output.exit_code)?;
            details.set_item("stdout", PyBytes::new(py, &output.stdout))?;
            details.set_item("stderr", PyBytes::new(py, &output.stderr))?;
        }
        _ => {}
    }
    errors_module(py)?.getattr("_task_error")?.call1((
        in_python_words(&error.to_string()),
        error.kind(),
        index,
        attempts,
        details,
    ))
}

/// A library error as the exception of its class.
pub(crate) fn error(py: Python<'_>, error: &Error) -> PyErr {
    let class = match error {
        Error::Task { index, source } => return task_error(py, source, Some(*index), None),
        Error::Closed => "PoolClosed",
        Error::UnknownTask { .. } => "UnknownTask",
        Error::Config(_) | Error::Capability(_) => "ConfigError",
        Error::Input { .. } => "InputError",
        Error::Read { .. }
        | Error::NotWasm { .. }
        | Error::Wat { .. }
        | Error::Precompiled { .. }
        | Error::Component { .. }
        | Error::Compile { .. }
        | Error::Unsupported { .. }
        | Error::SegmentOutOfBounds { .. }
        | Error::UnknownImport { .. }
        | Error::UnknownComponentImport { .. }
        | Error::Link { .. }
        | Error::MissingExport { .. }
        | Error::WrongSignature { .. } => "ModuleError",
        _ => "Error",
    };
    let made = errors_module(py)
        .and_then(|module| module.getattr(class))
        .and_then(|class| class.call1((in_python_words(&error.to_string()),)));
    match made {
        Ok(exception) => PyErr::from_value(exception),
        Err(failure) => failure,
    }
}

/// The library's and the command line's names for a setting, and the package's: a message
/// raised in Python names what a Python caller sets.
const PYTHON_WORDS: &[(&str, &str)] = &[
    ("(EngineBuilder::max_stack, --max-stack)", "(max_stack=)"),
    ("(Limits::timeout, --timeout)", "(timeout=)"),
    ("(Limits::fuel, --fuel)", "(fuel=)"),
    ("(Limits::max_memory, --max-memory)", "(max_memory=)"),
    ("(--max-memory, Limits::max_memory)", "(max_memory=)"),
    (
        "(Limits::max_table_elements, --max-table-elements)",
        "(max_table_elements=)",
    ),
    (
        "(--max-table-elements, Limits::max_table_elements)",
        "(max_table_elements=)",
    ),
    ("(Limits::max_output, --max-output)", "(max_output=)"),
    (
        "load it with `Module::from_precompiled_file` or `--allow-precompiled` if you trust its \
         origin",
        "give the Python package the wasm module it was compiled from",
    ),
];

/// `message` with the Rust and command-line names of settings replaced by the package's.
fn in_python_words(message: &str) -> String {
    PYTHON_WORDS
        .iter()
        .fold(message.to_owned(), |text, (rust, python)| {
            text.replace(rust, python)
        })
}

/// Converts library results, attached to the interpreter.
pub(crate) trait IntoPyResult<T> {
    /// The result, its error as the Python exception of its class.
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|failure| error(py, &failure))
    }
}

/// A wait with a timeout ran out of time: `hecaton.WaitTimeout`, a `TimeoutError` and a
/// `multiprocessing.TimeoutError`.
pub(crate) fn wait_timeout(py: Python<'_>, message: &str) -> PyErr {
    match errors_module(py).and_then(|module| module.getattr("WaitTimeout")?.call1((message,))) {
        Ok(exception) => PyErr::from_value(exception),
        Err(failure) => failure,
    }
}

/// A thread of the binding's own could not start.
pub(crate) fn thread_error(error: std::io::Error) -> PyErr {
    PyRuntimeError::new_err(format!("cannot start a thread: {error}"))
}
