//! `hecaton run`: one task in a fresh instance, like Python's `Process`.

use anyhow::Context;
use clap::Args;
use hecaton::{CommandOutput, Module, Process, ProcessBuilder, Stdio, TaskError, TaskKind};
use serde_json::Value;

use crate::cli::sandbox::{LoadedTask, TaskArgs};
use crate::cli::{Exit, print_stdout, say};

/// Run one task in a fresh sandboxed instance and print its output as JSON.
///
/// A function or numeric task takes its arguments as JSON values (`7`, `'"text"'`, `'{"a": 1}'`;
/// a word that is not JSON is taken as a string): one argument is the task's input, several are
/// an array. A WASI command runs with the arguments as its argv, the terminal's stdin, and its
/// stdout and stderr passed through (stderr with control characters escaped, each capped by
/// --max-output), and exits with its exit code.
///
/// Options are read wherever they stand; an argument that starts with `-` (other than a
/// number) goes after `--`, as with xargs and GNU parallel.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  hecaton run examples/guests/square --invoke square 7
  hecaton run examples/guests/square 7 --invoke square
  hecaton run prog.wasm -- -v --output - a b c")]
pub(crate) struct RunArgs {
    #[command(flatten)]
    task: TaskArgs,
    /// The task's arguments (after `--` when they start with `-`).
    #[arg(value_name = "ARGS", allow_negative_numbers = true)]
    args: Vec<String>,
}

pub(crate) fn main(args: RunArgs) -> anyhow::Result<Exit> {
    let LoadedTask {
        sandbox,
        module,
        task,
        ..
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
            let mut line = hecaton::to_json_line(&output)?;
            line.push(b'\n');
            Ok(print_stdout(&line))
        }
        Err(TaskError::Cancelled) => {
            say("interrupted");
            Ok(Exit::Interrupted)
        }
        Err(error) => {
            say(format_args!("task `{task}` failed: {error}"));
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
        // `| head` read enough: a quiet stop, as for hecaton's own output.
        Err(TaskError::StdoutClosed) => Ok(Exit::Success),
        Err(TaskError::Cancelled) => {
            say("interrupted");
            Ok(Exit::Interrupted)
        }
        Err(error) => {
            say(format_args!("{} failed: {error}", module.path().display()));
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
