//! The JSON runner: tasks that take and give JSON bytes (function and numeric tasks), and WASI
//! commands, whose input is their stdin or an argument and whose output is their exit code and
//! streams. What a map of JSON, an `apply`, a process and the CLI run.

use std::sync::Arc;

use serde::Serialize;
use wasmtime::Store;

use crate::abi::{self, Failure};
use crate::error::{Error, TaskError};
use crate::module::{Export, Module, Task, TaskKind};
use crate::output::{CommandOutput, TaskOutput};
use crate::placeholders::Placeholders;
use crate::run::{Instance, Live, Ran, Runner, classified, start};
use crate::sandbox::{
    CancelFlag, Capabilities, Identity, Policy, Scratch, Stdio, TaskState, WasiSetup, classify,
    new_store,
};

/// What to call in a fresh instance; the per-item input is given to [`run`] separately.
#[derive(Clone, Debug)]
pub(crate) enum Call {
    /// A function or numeric task; the input is its JSON value.
    Json(Task),
    /// The module's WASI command with these arguments (without argv\[0\]).
    Command {
        args: Vec<String>,
        stdio: CommandStdio,
        /// A fresh folder of its own for each task.
        scratch: Option<Scratch>,
        /// Whether a non-zero exit code is a failure ([`TaskError::NonZeroExit`]).
        fail_nonzero: bool,
        /// Which strings of `args` stand for each input.
        placeholders: Placeholders,
    },
}

/// A command's fixed arguments, its streams and the placeholders in its arguments.
struct CommandLine<'c> {
    args: &'c [String],
    stdio: &'c CommandStdio,
    placeholders: &'c Placeholders,
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
        Ok(Self::Command {
            args,
            stdio,
            scratch: None,
            fail_nonzero: false,
            placeholders: Placeholders::default(),
        })
    }
}

/// Encodes a task input as JSON.
pub(crate) fn encode_input<I: Serialize + ?Sized>(task: &str, input: &I) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(input).map_err(|error| Error::Input {
        task: task.to_owned(),
        message: error.to_string(),
    })
}

impl Ran<TaskOutput> {
    /// With `fail_nonzero`, a command's non-zero exit code as its failure, output and all.
    fn failing_nonzero(self, fail_nonzero: bool) -> Self {
        match self.result {
            Ok(TaskOutput::Command(output)) if fail_nonzero && output.exit_code != 0 => Self {
                result: Err(TaskError::NonZeroExit(Box::new(output))),
                memory: self.memory,
            },
            result => Self { result, ..self },
        }
    }
}

/// The tasks of a map, an `apply` or a process that take and give JSON (function and numeric
/// tasks), or run a WASI command.
pub(crate) struct JsonRunner {
    pub(crate) module: Module,
    pub(crate) call: Call,
    pub(crate) policy: Policy,
}

impl JsonRunner {
    /// Runs one task on `input` in `session`'s instance, or in a fresh one that is left in
    /// `session` when the task succeeds. A command always runs in a fresh instance of its own.
    pub(crate) fn run_in(
        &self,
        session: &mut Option<Live>,
        input: &[u8],
        identity: Identity,
        cancel: &CancelFlag,
    ) -> Ran<TaskOutput> {
        let task = match &self.call {
            Call::Json(task) => task,
            Call::Command {
                args,
                stdio,
                scratch,
                fail_nonzero,
                placeholders,
            } => {
                let command = CommandLine {
                    args,
                    stdio,
                    placeholders,
                };
                let ran = self.run_command(&command, scratch.as_ref(), input, identity, cancel);
                return ran.failing_nonzero(*fail_nonzero);
            }
        };
        let live = match session {
            Some(live) => {
                live.reuse(identity, &self.policy.limits, &self.module);
                live
            }
            None => match Live::start(&self.module, &self.policy, identity, cancel.clone()) {
                Ok(live) => session.insert(live),
                Err(ran) => return ran,
            },
        };
        let outcome = match (&task.kind, &task.export, &live.instance) {
            (TaskKind::Function, Export::Core(export), Instance::Core(instance)) => {
                abi::call_function(
                    &mut live.store,
                    instance,
                    self.module.abi_exports(),
                    export,
                    input,
                )
            }
            (
                TaskKind::Numeric { params, results },
                Export::Core(export),
                Instance::Core(instance),
            ) => abi::call_json(&mut live.store, instance, export, params, results, input),
            (TaskKind::Wit { .. }, Export::Wit(func), Instance::Component(instance)) => {
                abi::call_wit(&mut live.store, instance, func, input)
            }
            _ => Err(Failure::Task(TaskError::Host(format!(
                "task of kind {} called as a function",
                task.kind
            )))),
        }
        .map(TaskOutput::Json);
        let result = live.settle(outcome);
        let memory = live.memory();
        if result.is_err() {
            // An instance a task failed in serves no other task.
            *session = None;
        }
        Ran { result, memory }
    }

    /// Runs the module's WASI command once in a fresh instance, its streams from `stdio`, with
    /// a scratch folder of its own when one is asked for.
    fn run_command(
        &self,
        command: &CommandLine<'_>,
        scratch: Option<&Scratch>,
        input: &[u8],
        identity: Identity,
        cancel: &CancelFlag,
    ) -> Ran<TaskOutput> {
        let Some(scratch) = scratch else {
            let capabilities = Arc::clone(&self.policy.capabilities);
            return self.run_command_with(command, capabilities, input, identity, cancel);
        };
        // A map's input is named by its index; a lone task by its id.
        let key = identity
            .input
            .unwrap_or_else(|| usize::try_from(identity.task_id).unwrap_or(usize::MAX));
        let (folder, capabilities) = match scratch.prepare(key, &self.policy.capabilities) {
            Ok(prepared) => prepared,
            Err(error) => {
                let folder = scratch.folder(key);
                return Ran {
                    result: Err(TaskError::Instantiate(format!(
                        "cannot make the scratch folder {}: {error}",
                        folder.display()
                    ))),
                    memory: 0,
                };
            }
        };
        let ran = self.run_command_with(command, Arc::new(capabilities), input, identity, cancel);
        scratch.finish(&folder);
        ran
    }

    fn run_command_with(
        &self,
        command: &CommandLine<'_>,
        capabilities: Arc<Capabilities>,
        input: &[u8],
        identity: Identity,
        cancel: &CancelFlag,
    ) -> Ran<TaskOutput> {
        let (args, stdio) = command_setup(command, input, identity.input);
        let wasi_setup = self.module.imports_wasi().then(|| WasiSetup {
            program: Arc::clone(self.module.program()),
            args,
            stdio,
            capabilities,
            prints: self.policy.prints,
        });
        let mut store = new_store(
            self.module.engine(),
            identity,
            &self.policy.limits,
            wasi_setup,
            cancel.clone(),
        );
        let outcome = start(&mut store, &self.module)
            .and_then(|instance| call_command(&mut store, &instance, &self.module));
        let outcome = outcome.map_err(|failure| classified(&mut store, failure));
        let memory = store.data().memory_in_use();
        let overflowed = store.data().output_overflowed();
        let result = match store.data_mut().captured.take() {
            _ if overflowed => Err(TaskError::OutputLimit {
                limit: self.policy.limits.max_output,
            }),
            Some(captured) => outcome.map(|output| {
                let (stdout, stderr) = captured.into_bytes();
                TaskOutput::Command(CommandOutput {
                    stdout,
                    stderr,
                    ..output
                })
            }),
            None => outcome.map(TaskOutput::Command),
        };
        Ran { result, memory }
    }
}

impl Runner for JsonRunner {
    type Input = Vec<u8>;
    type Output = TaskOutput;
    type Session = Live;

    fn module(&self) -> &Module {
        &self.module
    }

    fn run(
        &self,
        session: &mut Option<Live>,
        input: &Vec<u8>,
        identity: Identity,
        cancel: &CancelFlag,
    ) -> Ran<TaskOutput> {
        self.run_in(session, input, identity, cancel)
    }
}

/// A command's arguments (after argv\[0\]) and streams for input `index` of a map: in the
/// fixed arguments GNU parallel's placeholders (`{}`, `{#}`, …, [`crate::placeholders`]) are
/// expanded; with [`CommandInput::Arg`] and no placeholder of the input, the input is appended as
/// the last argument.
fn command_setup(
    command: &CommandLine<'_>,
    input: &[u8],
    index: Option<usize>,
) -> (Vec<String>, Stdio) {
    let CommandLine {
        args,
        stdio,
        placeholders,
    } = command;
    let per_item = match stdio {
        CommandStdio::Fixed(stdio) => return (args.to_vec(), stdio.clone()),
        CommandStdio::PerItem(per_item) => per_item,
    };
    let text = String::from_utf8_lossy(input);
    let index = index.map(|index| index.to_string()).unwrap_or_default();
    let placed = args.iter().any(|arg| placeholders.places_input(arg));
    let mut argv: Vec<String> = args
        .iter()
        .map(|arg| placeholders.expand(arg, &text, &index))
        .collect();
    let stdin = match per_item {
        CommandInput::Stdin => input.to_vec(),
        CommandInput::Arg => {
            if !placed {
                argv.push(text.into_owned());
            }
            Vec::new()
        }
    };
    (argv, Stdio::Capture { stdin })
}

/// Runs a command: a core module's `_start`, a component's `wasi:cli/run` (whose `run`
/// returning `err` is exit code 1, as `wasmtime run` has it).
fn call_command(
    store: &mut Store<TaskState>,
    instance: &Instance,
    module: &Module,
) -> Result<CommandOutput, Failure> {
    let start = module
        .task(hecaton_abi::START_EXPORT)
        .map_err(|error| TaskError::Host(error.to_string()))?;
    let ran = match (instance, &start.export) {
        (Instance::Core(instance), Export::Core(export)) => {
            // SAFETY: `_start` was checked at load to be `(func)`; `instance` is of `module`.
            let func = unsafe { abi::checked_func::<(), ()>(store, instance, Some(export)) }?;
            func.call(&mut *store, ()).map(|()| 0)
        }
        (Instance::Component(instance), Export::Run(command)) => command
            .load(&mut *store, instance)
            .and_then(|command| command.wasi_cli_run().call_run(&mut *store))
            .map(|outcome| i32::from(outcome.is_err())),
        _ => {
            return Err(Failure::Task(TaskError::Host(
                "the module's command is missing from its instance".into(),
            )));
        }
    };
    let exit_code = match ran {
        Ok(code) => code,
        Err(error) => match classify(error, store.data_mut()) {
            TaskError::Exit(code) => code,
            other => return Err(Failure::Task(other)),
        },
    };
    Ok(CommandOutput {
        exit_code,
        ..CommandOutput::default()
    })
}
