//! Python values ↔ JSON, the tasks' values: `None`, `bool`, `int` (any size), `float`, `str`,
//! `list` and `tuple` (arrays), `dict` with `str` keys (objects). Nothing is pickled: any other
//! type is a `TypeError` naming it.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde_json::Value;

/// Nesting deeper than this is refused (a list that contains itself would recurse forever); it
/// is also the depth serde_json, and so a Rust guest, reads.
const MAX_DEPTH: usize = 128;

/// `value` as JSON bytes.
///
/// # Errors
/// `TypeError` for a value of another type (or a dict key that is not a `str`), `ValueError` for a
/// float that JSON cannot hold (NaN, infinity) or nesting deeper than 128 levels.
pub(crate) fn to_json(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    serde_json::to_vec(&Json { value, depth: 0 }).map_err(into_py_err)
}

/// `value` as a JSON value, for the library's calls that take one.
///
/// # Errors
/// As [`to_json`].
pub(crate) fn to_value(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    serde_json::to_value(Json { value, depth: 0 }).map_err(into_py_err)
}

/// The one value that stands for `args`, as ABI.md's "Values" says a task takes its
/// parameters: one argument is itself, several an array, none `null` (`f(*args)` in Python).
fn single_argument<'py>(args: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let tuple = match args.cast::<PyTuple>() {
        Ok(tuple) => tuple.clone(),
        Err(_) => match args.cast::<PyList>() {
            Ok(list) => list.to_tuple(),
            Err(_) => {
                return Err(PyTypeError::new_err(format!(
                    "the arguments must be a tuple or a list, not {}",
                    type_name(args)
                )));
            }
        },
    };
    match tuple.len() {
        0 => Ok(args.py().None().into_bound(args.py())),
        1 => tuple.get_item(0),
        _ => Ok(tuple.into_any()),
    }
}

/// `args` as a task's input bytes (see [`single_argument`]).
pub(crate) fn args_to_json(args: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    to_json(&single_argument(args)?)
}

/// `args` as a task's input value (see [`single_argument`]); none given is no arguments.
pub(crate) fn args_to_value(args: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
    match args {
        Some(args) => to_value(&single_argument(args)?),
        None => Ok(Value::Null),
    }
}

/// The error a conversion raises: serde's custom message carries the Python error's text, and
/// its first word the exception type.
fn into_py_err(error: serde_json::Error) -> PyErr {
    let message = error.to_string();
    match message.strip_prefix("TypeError: ") {
        Some(rest) => PyTypeError::new_err(rest.to_owned()),
        None => PyValueError::new_err(message.trim_start_matches("ValueError: ").to_owned()),
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |name| name.to_string())
}

/// A Python value serialized as JSON, read while attached to the interpreter.
struct Json<'a, 'py> {
    value: &'a Bound<'py, PyAny>,
    depth: usize,
}

impl Json<'_, '_> {
    fn child<'b, 'py>(&self, value: &'b Bound<'py, PyAny>) -> Json<'b, 'py> {
        Json {
            value,
            depth: self.depth + 1,
        }
    }
}

impl serde::Serialize for Json<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = self.value;
        if self.depth > MAX_DEPTH {
            return Err(S::Error::custom(format!(
                "ValueError: nesting deeper than {MAX_DEPTH} levels (or a container that holds itself)"
            )));
        }
        if value.is_none() {
            return serializer.serialize_unit();
        }
        // `bool` first: it is a subclass of `int`.
        if let Ok(flag) = value.cast::<PyBool>() {
            return serializer.serialize_bool(flag.is_true());
        }
        if value.is_instance_of::<PyInt>() {
            if let Ok(number) = value.extract::<i64>() {
                return serializer.serialize_i64(number);
            }
            if let Ok(number) = value.extract::<u64>() {
                return serializer.serialize_u64(number);
            }
            // Larger than 64 bits: written exactly, as its decimal digits.
            let digits = value.str().map_err(S::Error::custom)?;
            let number: serde_json::Number =
                serde_json::from_str(&digits.to_string()).map_err(S::Error::custom)?;
            return number.serialize(serializer);
        }
        if let Ok(float) = value.cast::<PyFloat>() {
            let float = float.value();
            if !float.is_finite() {
                return Err(S::Error::custom(format!(
                    "ValueError: {float} is not a JSON number"
                )));
            }
            return serializer.serialize_f64(float);
        }
        if let Ok(text) = value.cast::<PyString>() {
            let text = text.to_cow().map_err(S::Error::custom)?;
            return serializer.serialize_str(&text);
        }
        if let Ok(list) = value.cast::<PyList>() {
            let mut seq = serializer.serialize_seq(Some(list.len()))?;
            for item in list.iter() {
                seq.serialize_element(&self.child(&item))?;
            }
            return seq.end();
        }
        if let Ok(tuple) = value.cast::<PyTuple>() {
            let mut seq = serializer.serialize_seq(Some(tuple.len()))?;
            for item in tuple.iter() {
                seq.serialize_element(&self.child(&item))?;
            }
            return seq.end();
        }
        if let Ok(dict) = value.cast::<PyDict>() {
            let mut map = serializer.serialize_map(Some(dict.len()))?;
            for (key, item) in dict.iter() {
                let Ok(key) = key.cast::<PyString>() else {
                    return Err(S::Error::custom(format!(
                        "TypeError: a JSON object's keys are str, not {}",
                        type_name(&key)
                    )));
                };
                map.serialize_entry(
                    &*key.to_cow().map_err(S::Error::custom)?,
                    &self.child(&item),
                )?;
            }
            return map.end();
        }
        Err(S::Error::custom(format!(
            "TypeError: a task's value is None, bool, int, float, str, list, tuple or dict \
             (JSON; nothing is pickled), not {}",
            type_name(value)
        )))
    }
}

/// A JSON value as a Python value: numbers with a fraction or an exponent become `float`, others
/// `int` of any size; objects become `dict`s.
pub(crate) fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(flag) => PyBool::new(py, *flag).to_owned().into_any(),
        Value::Number(number) => number_to_python(py, number)?,
        Value::String(text) => PyString::new(py, text).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

fn number_to_python<'py>(
    py: Python<'py>,
    number: &serde_json::Number,
) -> PyResult<Bound<'py, PyAny>> {
    if let Some(integer) = number.as_i64() {
        return Ok(integer.into_pyobject(py)?.into_any());
    }
    if let Some(integer) = number.as_u64() {
        return Ok(integer.into_pyobject(py)?.into_any());
    }
    // Kept exactly as the guest wrote it (serde_json's `arbitrary_precision`).
    let text = number.as_str();
    if !text.contains(['.', 'e', 'E']) {
        // An integer beyond 64 bits: Python reads its digits.
        return py.get_type::<PyInt>().call1((text,));
    }
    match number.as_f64() {
        Some(float) => Ok(PyFloat::new(py, float).into_any()),
        // Beyond f64's range: Python's `float` makes it an infinity, as `json.loads` does.
        None => py.get_type::<PyFloat>().call1((text,)),
    }
}
