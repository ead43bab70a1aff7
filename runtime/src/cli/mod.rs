//! The command line: one file per subcommand, anyhow only here, exit codes decided in one place.

mod build;
mod compile;
mod exit;
mod inspect;
mod map;
mod run;
mod sandbox;
mod stats;
mod worker;

use std::fmt::Display;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub(crate) use exit::Exit;

/// Run WebAssembly tasks in fresh sandboxed instances: one task (`run`), a task over many inputs on
/// every core (`map`) or on many machines (`map --nats`, `worker`), or a module built from a
/// Rust crate (`build`).
#[derive(Debug, Parser)]
#[command(name = "hecaton", version, about, long_about = None, after_help = exit::CODES)]
struct Cli {
    /// Log to stderr: -v failures of tasks (with index, attempt, worker), -vv every task. `RUST_LOG`
    /// (e.g. `RUST_LOG=hecaton=trace`) overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Build(build::BuildArgs),
    Run(run::RunArgs),
    Map(Box<map::MapArgs>),
    Inspect(inspect::InspectArgs),
    Compile(compile::CompileArgs),
    Worker(worker::WorkerArgs),
    Completions(CompletionsArgs),
}

/// Print a shell completion script (e.g. `hecaton completions bash > /etc/bash_completion.d/hecaton`).
#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` are "errors" that print to stdout; a closed or full
            // stdout loses them, and is no reason to panic.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    init_logging(cli.verbose);
    let outcome = match cli.command {
        Command::Build(args) => build::main(&args),
        Command::Run(args) => run::main(args),
        Command::Map(args) => map::main(*args),
        Command::Inspect(args) => inspect::main(&args),
        Command::Compile(args) => compile::main(&args),
        Command::Worker(args) => worker::main(&args),
        Command::Completions(args) => completions(args.shell),
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err(error) => {
            say(format_args!("error: {}", chain(&error)));
            Exit::Usage.into()
        }
    }
}

/// Writes `hecaton: MESSAGE` on stderr, each line of it [`hecaton::printable`]: whatever a
/// message quotes (a module's export names, a WAT source line, a guest's words), it writes no
/// control character. A closed or full stderr loses the message; it never panics (as
/// `eprintln!` would).
pub(crate) fn say(message: impl Display) {
    let message = message.to_string();
    let lines: Vec<String> = message
        .lines()
        .map(|line| hecaton::printable(line.as_bytes()))
        .collect();
    let _ = writeln!(io::stderr().lock(), "hecaton: {}", lines.join("\n"));
}

/// Writes `text` to stdout and flushes it: a closed pipe is a quiet stop (`Exit::Success`),
/// any other write error a failure of its own.
pub(crate) fn print_stdout(text: &[u8]) -> Exit {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text).and_then(|()| stdout.flush()) {
        Ok(()) => Exit::Success,
        Err(error) => output_failed(&error),
    }
}

/// The exit for an error writing stdout: none for a closed pipe (`| head`), else the error
/// named on stderr and [`Exit::Output`].
pub(crate) fn output_failed(error: &io::Error) -> Exit {
    if error.kind() == io::ErrorKind::BrokenPipe {
        return Exit::Success;
    }
    say(format_args!("cannot write the output: {error}"));
    Exit::Output
}

/// An error and its causes, each cause said once: a cause whose text the message already
/// holds (a `thiserror` message that shows its source) is not repeated.
fn chain(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// `hecaton completions SHELL`: the script, written once it is whole.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "hecaton", &mut script);
    Ok(print_stdout(&script))
}

/// Logs go to stderr, nothing by default beyond errors; each line names its worker thread.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "hecaton=debug",
        _ => "hecaton=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_thread_names(true)
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
