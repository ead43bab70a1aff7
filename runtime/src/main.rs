//! The `hecaton` command-line tool: glue over the `hecaton` library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
