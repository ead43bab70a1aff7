//! Numeric tasks' half of the ABI: exports that take and return only wasm numbers. The library
//! calls them with typed values ([`Numbers`]: no JSON, the fast path of `Job::map_numeric`); the
//! CLI and the JSON API with JSON numbers ([`call_json`]).

use std::fmt;

use wasmtime::{Instance, ModuleExport, Store, Val, ValType};

use crate::abi::Failure;
use crate::error::TaskError;
use crate::sandbox::TaskState;

/// A wasm number type, the only types a numeric task takes and returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumType {
    /// 32-bit integer, read as signed.
    I32,
    /// 64-bit integer, read as signed.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl NumType {
    pub(crate) fn of(ty: &ValType) -> Option<Self> {
        match ty {
            ValType::I32 => Some(Self::I32),
            ValType::I64 => Some(Self::I64),
            ValType::F32 => Some(Self::F32),
            ValType::F64 => Some(Self::F64),
            _ => None,
        }
    }
}

impl fmt::Display for NumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
        })
    }
}

mod sealed {
    pub trait Sealed {}
}

/// The values a numeric task takes or returns, passed to and from wasm as they are: `i32`,
/// `i64`, `f32`, `f64`, `()` and tuples of two to four of them (a task of several parameters
/// takes a tuple).
///
/// Sealed: only these types implement it.
pub trait Numbers:
    wasmtime::WasmParams + wasmtime::WasmResults + Copy + Send + 'static + sealed::Sealed
{
    /// The wasm types, in order.
    fn types() -> Vec<NumType>;
}

macro_rules! numbers_scalar {
    ($($rust:ty => $wasm:ident),*) => {$(
        impl sealed::Sealed for $rust {}
        impl Numbers for $rust {
            fn types() -> Vec<NumType> {
                vec![NumType::$wasm]
            }
        }
    )*};
}

numbers_scalar!(i32 => I32, i64 => I64, f32 => F32, f64 => F64);

/// One wasm number type of a tuple element.
trait Scalar {
    const TYPE: NumType;
}

macro_rules! scalar {
    ($($rust:ty => $wasm:ident),*) => {$(
        impl Scalar for $rust {
            const TYPE: NumType = NumType::$wasm;
        }
    )*};
}

scalar!(i32 => I32, i64 => I64, f32 => F32, f64 => F64);

macro_rules! numbers_tuple {
    ($($name:ident)*) => {
        impl<$($name: Scalar + wasmtime::WasmTy + Copy + Send + 'static),*> sealed::Sealed
            for ($($name,)*) {}
        impl<$($name: Scalar + wasmtime::WasmTy + Copy + Send + 'static),*> Numbers
            for ($($name,)*)
        {
            fn types() -> Vec<NumType> {
                vec![$($name::TYPE),*]
            }
        }
    };
}

numbers_tuple!();
numbers_tuple!(A B);
numbers_tuple!(A B C);
numbers_tuple!(A B C D);

/// Calls numeric task `export` (of types `params` -> `results`) with the numbers of its JSON
/// `input`, and returns its results as JSON.
pub(crate) fn call_json(
    store: &mut Store<TaskState>,
    instance: &Instance,
    export: &ModuleExport,
    params: &[NumType],
    results: &[NumType],
    input: &[u8],
) -> Result<Vec<u8>, Failure> {
    let args = numeric_args(params, input).map_err(|message| TaskError::BadInput { message })?;
    let func = instance
        .get_module_export(&mut *store, export)
        .and_then(wasmtime::Extern::into_func)
        .ok_or_else(|| TaskError::Host("a numeric task is missing from the instance".into()))?;
    let mut values = vec![Val::I32(0); results.len()];
    func.call(&mut *store, &args, &mut values)?;
    let mut json: Vec<serde_json::Value> = values.iter().map(number_json).collect();
    let output = match json.len() {
        0 => serde_json::Value::Null,
        1 => json.remove(0),
        _ => serde_json::Value::Array(json),
    };
    Ok(serde_json::to_vec(&output).map_err(|error| TaskError::Host(error.to_string()))?)
}

/// The wasm arguments for a numeric task from its JSON input: one number, or an array of them.
fn numeric_args(params: &[NumType], input: &[u8]) -> Result<Vec<Val>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(input).map_err(|error| format!("input is not JSON: {error}"))?;
    let values = match value {
        serde_json::Value::Array(values) => values,
        serde_json::Value::Null if params.is_empty() => Vec::new(),
        single => vec![single],
    };
    if values.len() != params.len() {
        let types: Vec<String> = params.iter().map(ToString::to_string).collect();
        return Err(format!(
            "the task expects {} arguments ({}) as one JSON array, like [{}]; got {}",
            params.len(),
            types.join(", "),
            vec!["0"; params.len()].join(", "),
            values.len()
        ));
    }
    params
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, (ty, value))| {
            number_val(*ty, value)
                .ok_or_else(|| format!("argument {} is {value}, expected {ty}", i + 1))
        })
        .collect()
}

fn number_val(ty: NumType, value: &serde_json::Value) -> Option<Val> {
    Some(match ty {
        NumType::I32 => Val::I32(i32::try_from(value.as_i64()?).ok()?),
        NumType::I64 => Val::I64(value.as_i64()?),
        NumType::F32 => Val::F32((value.as_f64()? as f32).to_bits()),
        NumType::F64 => Val::F64(value.as_f64()?.to_bits()),
    })
}

fn number_json(value: &Val) -> serde_json::Value {
    match value {
        Val::I32(v) => (*v).into(),
        Val::I64(v) => (*v).into(),
        Val::F32(bits) => f64::from(f32::from_bits(*bits)).into(),
        Val::F64(bits) => f64::from_bits(*bits).into(),
        _ => serde_json::Value::Null,
    }
}
