//! The command line: one file per subcommand, anyhow only here, exit codes decided in one place.

mod build;
mod compile;
mod exit;
mod inspect;
mod map;
mod run;
mod sandbox;
mod stats;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub(crate) use exit::Exit;

/// Run WebAssembly tasks in fresh sandboxed instances: one task (`run`), a task over many inputs on
/// every core (`map`), or a module built from a Rust crate (`build`).
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
    Map(map::MapArgs),
    Inspect(inspect::InspectArgs),
    Compile(compile::CompileArgs),
    Completions(CompletionsArgs),
}

/// Print a shell completion script (e.g. `hecaton completions bash > /etc/bash_completion.d/hecaton`).
#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let outcome = match cli.command {
        Command::Build(args) => build::main(&args),
        Command::Run(args) => run::main(args),
        Command::Map(args) => map::main(args),
        Command::Inspect(args) => inspect::main(&args),
        Command::Compile(args) => compile::main(&args),
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut Cli::command(),
                "hecaton",
                &mut std::io::stdout(),
            );
            Ok(Exit::Success)
        }
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprintln!("hecaton: error: {error:#}");
            Exit::Usage.into()
        }
    }
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
