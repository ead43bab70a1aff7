//! `hecaton.CommandResult`: what a WASI command did.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// What a WASI command did: its exit code and what it wrote (``bytes``), as
/// ``subprocess.CompletedProcess``.
#[pyclass(frozen, module = "hecaton", eq)]
#[derive(PartialEq)]
pub(crate) struct CommandResult {
    exit_code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl From<&hecaton::CommandOutput> for CommandResult {
    fn from(output: &hecaton::CommandOutput) -> Self {
        Self {
            exit_code: output.exit_code,
            stdout: output.stdout.clone(),
            stderr: output.stderr.clone(),
        }
    }
}

#[pymethods]
impl CommandResult {
    /// The exit code: ``proc_exit``'s argument, or 0 when ``_start`` returned.
    #[getter]
    fn exit_code(&self) -> i32 {
        self.exit_code
    }

    /// As ``exit_code`` (``subprocess``'s name).
    #[getter]
    fn returncode(&self) -> i32 {
        self.exit_code
    }

    /// Everything the command wrote to stdout.
    #[getter]
    fn stdout<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.stdout)
    }

    /// Everything the command wrote to stderr.
    #[getter]
    fn stderr<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.stderr)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "CommandResult(exit_code={}, stdout={}, stderr={})",
            self.exit_code,
            self.stdout(py).repr()?,
            self.stderr(py).repr()?
        ))
    }
}
