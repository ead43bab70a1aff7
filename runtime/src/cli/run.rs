//! `hecaton run`: one task in a fresh instance, like Python's `Process`.

use anyhow::Context;
use clap::Args;
use hecaton::{CommandOutput, Module, Process, ProcessBuilder, Stdio, TaskError, TaskKind};
use serde_json::Value;

use crate::cli::Exit;
use crate::cli::sandbox::{LoadedTask, TaskArgs};

/// Run one task in a fresh sandboxed instance and print its output as JSON.
///
/// A function or numeric task takes its arguments as JSON values (`7`, `'"text"'`, `'{"a": 1}'`;
/// a word that is not JSON is taken as a string): one argument is the task's input, several are
/// an array. A WASI command runs with the arguments as its argv and the terminal's stdin, stdout
/// and stderr, and exits with its exit code.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hecaton run examples/guests/square --invoke square 7
  hecaton run prog.wasm -- a b c")]
pub(crate) struct RunArgs {
    #[command(flatten)]
    task: TaskArgs,
    /// The task's arguments; put options before them.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<String>,
}

pub(crate) fn main(args: RunArgs) -> anyhow::Result<Exit> {
    let LoadedTask {
        sandbox,
        module,
        task,
    } = args.task.load()?;
    let process = Process::builder(&module)
        .limits(sandbox.limits())
        .capabilities(sandbox.capabilities()?);
    if *module.task_kind(&task)? == TaskKind::Command {
        return run_command(&module, process, args.args);
    }
    let input = match args.args.as_slice() {
        [] => Value::Null,
        [single] => json_arg(single),
        several => Value::Array(several.iter().map(|arg| json_arg(arg)).collect()),
    };
    let process = process.spawn(&task, &input)?;
    on_ctrl_c(&process)?;
    match process.join::<Value>() {
        Ok(output) => {
            println!("{output}");
            Ok(Exit::Success)
        }
        Err(TaskError::Cancelled) => {
            eprintln!("hecaton: interrupted");
            Ok(Exit::Interrupted)
        }
        Err(error) => {
            eprintln!("hecaton: task `{task}` failed: {error}");
            Ok(Exit::of(&error))
        }
    }
}

fn run_command(
    module: &Module,
    process: ProcessBuilder,
    args: Vec<String>,
) -> anyhow::Result<Exit> {
    let process = process.spawn_command(args, Stdio::Inherit)?;
    on_ctrl_c(&process)?;
    match process.join::<CommandOutput>() {
        Ok(output) => Ok(Exit::Command(output.exit_code)),
        Err(TaskError::Cancelled) => {
            eprintln!("hecaton: interrupted");
            Ok(Exit::Interrupted)
        }
        Err(error) => {
            eprintln!("hecaton: {} failed: {error}", module.path().display());
            Ok(Exit::of(&error))
        }
    }
}

/// An argument as JSON; a word that is not JSON is a string.
fn json_arg(arg: &str) -> Value {
    serde_json::from_str(arg).unwrap_or_else(|_| Value::String(arg.to_owned()))
}

/// Ctrl-C kills the task (it ends as cancelled, within microseconds); a second one exits at once.
fn on_ctrl_c(process: &Process) -> anyhow::Result<()> {
    let killer = process.killer();
    let mut pressed = false;
    ctrlc::set_handler(move || {
        if pressed {
            std::process::exit(130);
        }
        pressed = true;
        killer.kill();
    })
    .context("cannot install the Ctrl-C handler")
}
