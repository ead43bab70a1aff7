//! The keyword arguments of `Pool` and `Process` that fence a task: limits and capabilities.

use std::path::PathBuf;
use std::time::Duration;

use hecaton::{Access, Capabilities, Limits};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::errors::IntoPyResult;
use crate::module::EngineKind;

/// A task's limits and capabilities, and the engine that can enforce them.
#[derive(Clone, Debug)]
pub(crate) struct Sandbox {
    pub(crate) limits: Limits,
    pub(crate) capabilities: Capabilities,
    pub(crate) engine: EngineKind,
}

/// The limit keywords, as Python passed them.
#[derive(Default)]
pub(crate) struct LimitArgs {
    pub(crate) max_memory: Option<Size>,
    pub(crate) timeout: Option<f64>,
    pub(crate) fuel: Option<u64>,
    pub(crate) max_output: Option<Size>,
    pub(crate) max_stack: Option<Size>,
    pub(crate) max_table_elements: Option<u64>,
}

/// A size keyword: a number of bytes, or a string with its unit (`"16MiB"`, as the command
/// line takes it: `hecaton.parse_size`'s rules).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Size(pub(crate) u64);

impl<'a, 'py> FromPyObject<'a, 'py> for Size {
    type Error = PyErr;

    fn extract(value: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = value.extract::<String>() {
            return hecaton::parse_size(&text)
                .map(Self)
                .map_err(PyValueError::new_err);
        }
        value.extract::<u64>().map(Self).map_err(|_| {
            PyTypeError::new_err(format!(
                "a size is a number of bytes or a string like \"16MiB\", not {}",
                value
                    .repr()
                    .map_or_else(|_| "this".into(), |repr| repr.to_string())
            ))
        })
    }
}

impl Sandbox {
    pub(crate) fn new(
        py: Python<'_>,
        limit_args: LimitArgs,
        dirs: Option<&Bound<'_, PyAny>>,
        env: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut limits = Limits::default();
        if let Some(Size(bytes)) = limit_args.max_memory {
            limits = limits.max_memory(bytes);
        }
        if let Some(Size(bytes)) = limit_args.max_output {
            limits = limits.max_output(bytes);
        }
        if let Some(elements) = limit_args.max_table_elements {
            limits = limits.max_table_elements(elements);
        }
        let max_stack = match limit_args.max_stack {
            None => hecaton::DEFAULT_MAX_STACK,
            Some(Size(bytes)) => usize::try_from(bytes)
                .ok()
                .filter(|bytes| (1..=hecaton::MAX_STACK).contains(bytes))
                .ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "max_stack={bytes}: at least 1 byte, at most {} (\"64MiB\")",
                        hecaton::MAX_STACK
                    ))
                })?,
        };
        if let Some(seconds) = limit_args.timeout {
            limits = limits.timeout(Some(timeout(seconds)?));
        }
        limits = limits.fuel(limit_args.fuel);
        let mut capabilities = Capabilities::new();
        if let Some(dirs) = dirs {
            capabilities = grant_dirs(py, capabilities, dirs)?;
        }
        if let Some(env) = env {
            for (key, value) in env.iter() {
                let key: String = key.extract()?;
                capabilities = if value.is_none() {
                    capabilities.inherit_env(&key)
                } else {
                    capabilities.env(key, value.extract::<String>()?)
                };
            }
        }
        Ok(Self {
            limits,
            capabilities,
            engine: EngineKind {
                fuel: limit_args.fuel.is_some(),
                max_stack,
            },
        })
    }
}

/// A timeout in seconds as a duration.
pub(crate) fn timeout(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "timeout must be a positive number of seconds, not {seconds}"
            ))
        })
}

/// `dirs`: a mapping `{host: guest}`, or an iterable whose entries are a host path (seen at
/// the same path), `(host, guest)` or `(host, guest, "rw" | "ro")`. Read-only unless `"rw"`.
fn grant_dirs(
    py: Python<'_>,
    mut capabilities: Capabilities,
    dirs: &Bound<'_, PyAny>,
) -> PyResult<Capabilities> {
    let entries: Vec<Bound<'_, PyAny>> = match dirs.cast::<PyDict>() {
        Ok(mapping) => mapping.items().iter().collect(),
        Err(_) => dirs.try_iter()?.collect::<PyResult<_>>()?,
    };
    for entry in entries {
        let (host, guest, access) = dir_entry(&entry)?;
        capabilities = capabilities.dir(host, guest, access).py(py)?;
    }
    Ok(capabilities)
}

fn dir_entry(entry: &Bound<'_, PyAny>) -> PyResult<(PathBuf, String, Access)> {
    let Ok(tuple) = entry.cast::<PyTuple>() else {
        let host: PathBuf = entry.extract()?;
        let guest = host.to_string_lossy().into_owned();
        return Ok((host, guest, Access::ReadOnly));
    };
    let shape_error = || {
        PyTypeError::new_err(
            "a dirs entry is a host path, (host, guest) or (host, guest, \"rw\" | \"ro\")",
        )
    };
    let host: PathBuf = tuple.get_item(0).map_err(|_| shape_error())?.extract()?;
    let guest: String = match tuple.get_item(1) {
        Ok(guest) => guest.extract::<PathBuf>()?.to_string_lossy().into_owned(),
        Err(_) => return Err(shape_error()),
    };
    let access = match tuple.len() {
        2 => Access::ReadOnly,
        3 => match tuple.get_item(2)?.extract::<String>()?.as_str() {
            "ro" => Access::ReadOnly,
            "rw" => Access::ReadWrite,
            other => {
                return Err(PyValueError::new_err(format!(
                    "a directory's access is \"ro\" or \"rw\", not {other:?}"
                )));
            }
        },
        _ => return Err(shape_error()),
    };
    Ok((host, guest, access))
}
