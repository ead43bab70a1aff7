//! `hecaton compile`: ahead-of-time compilation of a module into a `.cwasm` file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hecaton::Module;

use crate::cli::Exit;
use crate::cli::sandbox::SandboxArgs;

/// Compile a module ahead of time into a `.cwasm` file, for `run`/`map --allow-precompiled`.
///
/// The engine settings that shape compiled code (`--fuel`, `--max-stack`) must be the same when
/// the file is run. Usually the compile cache makes this unnecessary: it keeps compiled modules
/// for you, keyed and checksummed.
#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    /// The module (.wasm or .wat).
    #[arg(value_name = "MODULE")]
    module: PathBuf,
    /// The output file.
    #[arg(short, long, value_name = "FILE.cwasm")]
    output: PathBuf,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

pub(crate) fn main(args: &CompileArgs) -> anyhow::Result<Exit> {
    let compiled = Module::precompile(&args.sandbox.resolve()?.engine()?, &args.module)?;
    std::fs::write(&args.output, compiled)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(Exit::Success)
}
