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

#[cfg(test)]
mod tests {
    use super::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
