//! The command line: one file per subcommand, anyhow only here, exit codes decided in one place.

mod build;
mod exit;
mod map;
mod run;
mod sandbox;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Build(args) => build::main(&args),
        Command::Run(args) => run::main(args),
        Command::Map(args) => map::main(args),
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
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
