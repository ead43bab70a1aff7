//! Running one task: a fresh store and instance, the call its kind asks for, and its outcome.
//! Everything a pool or a process does to a task happens here.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use wasmtime::{Instance, Store, Val};

use crate::abi::{self, Failure};
use crate::module::{Module, NumType, Task, TaskKind};
use crate::sandbox::{
    CancelFlag, Identity, Policy, Stdio, TaskState, WasiSetup, classify, new_store,
};
use crate::{Error, TaskError};

/// What one WASI command wrote and how it exited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandOutput {
    /// The exit code: `proc_exit`'s argument, or 0 when `_start` returned.
    pub exit_code: i32,
    /// Everything written to stdout (empty when stdout was the host's own).
    pub stdout: Vec<u8>,
    /// Everything written to stderr (empty when stderr was the host's own).
    pub stderr: Vec<u8>,
}

/// What to call in a fresh instance; the per-item input is given to [`run`] separately.
#[derive(Clone, Debug)]
pub(crate) enum Call {
    /// A function or numeric task; the input is its JSON value.
    Json(Task),
    /// The module's WASI command with these arguments (without argv\[0\]).
    Command {
        args: Vec<String>,
        stdio: CommandStdio,
    },
}

/// How a WASI command gets each input of a map.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandInput {
    /// The input's bytes are the command's whole stdin.
    Stdin,
    /// The input (UTF-8 text) is appended to the command's arguments; stdin is empty.
    Arg,
}

/// How a command's streams are set up: fixed, or from each item's input.
#[derive(Clone, Debug)]
pub(crate) enum CommandStdio {
    Fixed(Stdio),
    PerItem(CommandInput),
}

impl Call {
    /// A call of function or numeric task `name`.
    pub(crate) fn json(module: &Module, name: &str) -> Result<Self, Error> {
        let task = module.task(name)?.clone();
        if task.kind == TaskKind::Command {
            return Err(Error::Input {
                task: name.to_owned(),
                message: "a WASI command takes arguments and stdin, not a JSON input".into(),
            });
        }
        Ok(Self::Json(task))
    }

    /// A call of the module's WASI command.
    pub(crate) fn command(
        module: &Module,
        args: Vec<String>,
        stdio: CommandStdio,
    ) -> Result<Self, Error> {
        module.task(hecaton_abi::START_EXPORT)?;
        Ok(Self::Command { args, stdio })
    }
}

/// Encodes a task input as JSON.
pub(crate) fn encode_input<I: Serialize + ?Sized>(task: &str, input: &I) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(input).map_err(|error| Error::Input {
        task: task.to_owned(),
        message: error.to_string(),
    })
}

/// What a task produced, before decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskOutput {
    /// A function or numeric task's JSON value.
    Json(Vec<u8>),
    /// A command's exit code and captured streams.
    Command(CommandOutput),
}

impl TaskOutput {
    /// The output decoded into `O`: the JSON value itself, or a [`CommandOutput`] for a command.
    ///
    /// # Errors
    /// [`TaskError::AbiViolation`] when the output does not decode into `O`.
    pub fn decode<O: serde::de::DeserializeOwned>(&self) -> Result<O, TaskError> {
        let decoded = match self {
            Self::Json(bytes) => serde_json::from_slice(bytes),
            Self::Command(output) => serde_json::to_value(output).and_then(serde_json::from_value),
        };
        decoded.map_err(|error| {
            TaskError::AbiViolation(format!(
                "output does not decode into the requested type: {error}"
            ))
        })
    }
}

/// A process-wide task id, like a process id.
pub(crate) fn next_task_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What one run of a task produced, and the linear memory it ended with (its peak: memory
/// never shrinks).
pub(crate) struct Ran {
    pub(crate) result: Result<TaskOutput, TaskError>,
    pub(crate) memory: u64,
}

/// Runs `call` once in a fresh instance of `module`. Never panics: a host-side panic while running
/// is the task's [`TaskError::Host`].
pub(crate) fn run(
    module: &Module,
    call: &Call,
    input: &[u8],
    policy: &Policy,
    identity: Identity,
    cancel: CancelFlag,
) -> Ran {
    catch_unwind(AssertUnwindSafe(|| {
        run_fresh(module, call, input, policy, identity, cancel)
    }))
    .unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Ran {
            result: Err(TaskError::Host(format!("panic: {message}"))),
            memory: 0,
        }
    })
}

fn run_fresh(
    module: &Module,
    call: &Call,
    input: &[u8],
    policy: &Policy,
    identity: Identity,
    cancel: CancelFlag,
) -> Ran {
    // Only a module that imports WASI gets a setup, and the context itself is made on the
    // task's first WASI call: most function tasks never make one.
    let wasi_setup = module.imports_wasi().then(|| {
        let (args, stdio) = match call {
            Call::Json(_) => (Vec::new(), Stdio::Diagnostics { stdin: Vec::new() }),
            Call::Command { args, stdio } => command_setup(args, stdio, input),
        };
        WasiSetup {
            program: Arc::clone(module.program()),
            args,
            stdio,
            capabilities: Arc::clone(&policy.capabilities),
        }
    });
    let mut store = new_store(
        module.engine(),
        identity,
        &policy.limits,
        wasi_setup,
        cancel,
    );
    let result = call_in(&mut store, module, call, input, policy);
    Ran {
        result,
        memory: store.data().memory_in_use(),
    }
}

/// Starts the instance in `store` and makes the call its kind asks for.
fn call_in(
    store: &mut Store<TaskState>,
    module: &Module,
    call: &Call,
    input: &[u8],
    policy: &Policy,
) -> Result<TaskOutput, TaskError> {
    let outcome = start(store, module).and_then(|instance| match call {
        Call::Json(task) => match &task.kind {
            TaskKind::Function => abi::call_function(store, &instance, module, &task.export, input)
                .map(TaskOutput::Json),
            TaskKind::Numeric { params, results } => {
                call_numeric(store, &instance, task, params, results, input).map(TaskOutput::Json)
            }
            TaskKind::Command => Err(Failure::Task(TaskError::Host(
                "a command called as a function".into(),
            ))),
        },
        Call::Command { .. } => call_command(store, &instance, module),
    });
    let outcome = outcome.map_err(|failure| match failure {
        Failure::Wasm(error) => classify(error, store.data_mut()),
        Failure::Task(error) => error,
    });
    let Some(captured) = store.data_mut().captured.take() else {
        return outcome;
    };
    if captured.overflowed() {
        return Err(TaskError::OutputLimit {
            limit: policy.limits.max_output,
        });
    }
    if let Call::Json(_) = call {
        captured.forward_to_stderr();
    }
    match outcome {
        Ok(TaskOutput::Command(output)) => {
            let (stdout, stderr) = captured.into_bytes();
            Ok(TaskOutput::Command(CommandOutput {
                stdout,
                stderr,
                ..output
            }))
        }
        other => other,
    }
}

/// A command's arguments (after argv\[0\]) and streams for one input.
fn command_setup(args: &[String], stdio: &CommandStdio, input: &[u8]) -> (Vec<String>, Stdio) {
    let mut argv = args.to_vec();
    let stdio = match stdio {
        CommandStdio::Fixed(stdio) => stdio.clone(),
        CommandStdio::PerItem(CommandInput::Stdin) => Stdio::Capture {
            stdin: input.to_vec(),
        },
        CommandStdio::PerItem(CommandInput::Arg) => {
            argv.push(String::from_utf8_lossy(input).into_owned());
            Stdio::Capture { stdin: Vec::new() }
        }
    };
    (argv, stdio)
}

/// A fresh instance, its start function and reactor initializer run.
fn start(store: &mut Store<TaskState>, module: &Module) -> Result<Instance, Failure> {
    let instance = module.instance_pre().instantiate(&mut *store)?;
    if let Some(initialize) = module.initialize_export() {
        let func = instance
            .get_module_export(&mut *store, initialize)
            .and_then(wasmtime::Extern::into_func)
            .ok_or_else(|| {
                Failure::Task(TaskError::AbiViolation(
                    "`_initialize` is not a function".into(),
                ))
            })?;
        func.typed::<(), ()>(&*store)?.call(&mut *store, ())?;
    }
    Ok(instance)
}

fn call_command(
    store: &mut Store<TaskState>,
    instance: &Instance,
    module: &Module,
) -> Result<TaskOutput, Failure> {
    let start = module
        .task(hecaton_abi::START_EXPORT)
        .map_err(|error| TaskError::Host(error.to_string()))?;
    let func = instance
        .get_module_export(&mut *store, &start.export)
        .and_then(wasmtime::Extern::into_func)
        .ok_or_else(|| TaskError::Host("`_start` is missing from the instance".into()))?;
    let exit_code = match func.typed::<(), ()>(&*store)?.call(&mut *store, ()) {
        Ok(()) => 0,
        Err(error) => match classify(error, store.data_mut()) {
            TaskError::Exit(code) => code,
            other => return Err(Failure::Task(other)),
        },
    };
    Ok(TaskOutput::Command(CommandOutput {
        exit_code,
        ..CommandOutput::default()
    }))
}

fn call_numeric(
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
        return Err(format!(
            "expected {} numbers, got {}",
            params.len(),
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
