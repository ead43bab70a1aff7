//! Numeric tasks: exports that take and return only wasm numbers. The library calls them with
//! typed values ([`Numbers`]: no JSON, the fast path of `Job::map_numeric`); the CLI and the JSON
//! API with JSON numbers.

use std::marker::PhantomData;

use wasmtime::{Instance, Store, TypedFunc, Val};

use crate::abi::{self, Failure};
use crate::map::Runner;
use crate::module::{Module, NumType, Task};
use crate::sandbox::{CancelFlag, Identity, Policy, TaskState};
use crate::task::{Live, Ran};
use crate::{Error, TaskError};

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

/// The tasks of a typed numeric map: numbers in, numbers out, no JSON anywhere.
pub(crate) struct NumericTasks<P, R> {
    module: Module,
    task: Task,
    policy: Policy,
    _types: PhantomData<fn(P) -> R>,
}

impl<P: Numbers, R: Numbers> NumericTasks<P, R> {
    /// The typed calls of numeric task `name`, checked against its signature before any runs.
    pub(crate) fn new(module: &Module, name: &str, policy: Policy) -> Result<Self, Error> {
        let task = module.task(name)?.clone();
        let crate::TaskKind::Numeric { params, results } = &task.kind else {
            return Err(Error::Input {
                task: name.to_owned(),
                message: format!(
                    "a typed numeric map calls numeric exports only, and `{name}` is a {}",
                    task.kind
                ),
            });
        };
        if *params != P::types() || *results != R::types() {
            let kind = crate::TaskKind::Numeric {
                params: P::types(),
                results: R::types(),
            };
            return Err(Error::WrongSignature {
                path: module.path().to_owned(),
                export: name.to_owned(),
                expected: format!("{kind} (the Rust types asked for)"),
                found: task.kind.to_string(),
            });
        }
        Ok(Self {
            module: module.clone(),
            task,
            policy,
            _types: PhantomData,
        })
    }
}

impl<P: Numbers, R: Numbers> Runner for NumericTasks<P, R> {
    type Input = P;
    type Output = R;
    type Session = (Live, TypedFunc<P, R>);

    fn module(&self) -> &Module {
        &self.module
    }

    fn run(
        &self,
        session: &mut Option<Self::Session>,
        input: &P,
        identity: Identity,
        cancel: &CancelFlag,
    ) -> Ran<R> {
        let (live, func) = match session {
            Some((live, func)) => {
                live.reuse(identity, &self.policy.limits, &self.module);
                (live, &*func)
            }
            None => {
                let mut live =
                    match Live::start(&self.module, &self.policy, identity, cancel.clone()) {
                        Ok(live) => live,
                        Err(ran) => return ran,
                    };
                // SAFETY: the export's type, checked at load, is `self.task.kind`, and `new`
                // checked that `P` and `R` are its parameter and result types; `live.instance`
                // is an instance of `self.module`.
                let func = unsafe {
                    abi::checked_func::<P, R>(
                        &mut live.store,
                        &live.instance,
                        Some(&self.task.export),
                    )
                };
                let func = match func {
                    Ok(func) => func,
                    Err(failure) => {
                        return Ran {
                            result: live.settle(Err(failure)),
                            memory: live.memory(),
                        };
                    }
                };
                let (live, func) = session.insert((live, func));
                (live, &*func)
            }
        };
        let outcome = func.call(&mut live.store, *input).map_err(Failure::Wasm);
        let result = live.settle(outcome);
        let memory = live.memory();
        if result.is_err() {
            *session = None;
        }
        Ran { result, memory }
    }
}

pub(crate) fn call_json(
    store: &mut Store<TaskState>,
    instance: &Instance,
    task: &Task,
    params: &[NumType],
    results: &[NumType],
    input: &[u8],
) -> Result<Vec<u8>, Failure> {
    let args = numeric_args(params, input).map_err(|message| TaskError::BadInput { message })?;
    let func = instance
        .get_module_export(&mut *store, &task.export)
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
