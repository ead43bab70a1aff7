//! `hecaton compile`: ahead-of-time compilation of a module into a `.cwasm` file.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hecaton::{Engine, Module};

use crate::cli::Exit;
use crate::cli::sandbox::parse_size;

/// Compile a module ahead of time into a `.cwasm` file, for `run`/`map --allow-precompiled`.
///
/// Only two settings change compiled code, and they must be the same when the file is run: fuel
/// metering (`run`/`map --fuel N` need a module compiled with `--fuel`) and the wasm stack limit
/// (`--max-stack`). Usually the compile cache makes this command unnecessary: it keeps compiled
/// modules for you, keyed and checksummed.
#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    /// The module (.wasm or .wat).
    #[arg(value_name = "MODULE")]
    module: PathBuf,
    /// The output file.
    #[arg(short, long, value_name = "FILE.cwasm")]
    output: PathBuf,
    /// Compile fuel metering in, for runs with `--fuel N`.
    #[arg(long)]
    fuel: bool,
    /// Native stack wasm code may use before a stack overflow; runs must give the same
    /// `--max-stack` [default: 512KiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_stack: Option<u64>,
}

pub(crate) fn main(args: &CompileArgs) -> anyhow::Result<Exit> {
    let max_stack = match args.max_stack {
        Some(bytes) => usize::try_from(bytes).context("--max-stack is too large")?,
        None => hecaton::DEFAULT_MAX_STACK,
    };
    let engine = Engine::builder()
        .fuel(args.fuel)
        .max_stack(max_stack)
        .build()?;
    let compiled = Module::precompile(&engine, &args.module)?;
    std::fs::write(&args.output, compiled)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(Exit::Success)
}
