//! hecaton's benchmark: what a fresh wasm instance per task costs, measured in one run on this
//! machine against raw wasmtime, native Rust (rayon), Python's `multiprocessing` and the
//! `hecaton` CLI.
//!
//! ```sh
//! cargo run --release -p hecaton-bench               # the full run (a few minutes)
//! cargo run --release -p hecaton-bench -- --quick    # a short run, to check that all works
//! cargo run --release -p hecaton-bench -- --items N  # N tiny tasks per row of section 1
//! ```
//!
//! One module per section, each printing a table whose every row is measured in this run:
//! 1. [`tiny`]: tiny tasks (`square`): throughput, 1→2 worker scaling, hecaton against the raw
//!    wasmtime limit, µs per task;
//! 2. [`cpu`]: CPU-bound tasks (`fib(25)`): speedup, and the cost of wasm against native code;
//! 3. [`overhead`]: per-task overhead, and the latency of `Process::spawn` + `join`.
//!
//! One module per contender: [`hecaton_rows`], [`raw`], [`native`], [`python`], [`cli`]; the
//! guest is `bench/guests/bench-tasks` ([`guest`]).

mod cli;
mod cpu;
mod guest;
mod hecaton_rows;
mod measure;
mod native;
mod overhead;
mod python;
mod raw;
mod report;
mod tiny;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

/// hecaton's benchmark: a fresh wasm instance per task against raw wasmtime, native Rust,
/// Python multiprocessing and the hecaton CLI.
#[derive(Debug, Parser)]
#[command(name = "hecaton-bench", about, long_about = None)]
struct Args {
    /// A short run (a tenth of the items) to check that everything works.
    #[arg(long)]
    quick: bool,
    /// Tiny tasks per row of section 1 [default: 200000, with --quick 20000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    items: Option<u64>,
    /// A task module to use instead of building bench/guests/bench-tasks (it needs a `square`
    /// task; section 2 also `fib`).
    #[arg(long, value_name = "PATH")]
    module: Option<PathBuf>,
}

/// How many items each kind of row runs.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Tiny tasks per row (hecaton, raw wasmtime, Python with chunks).
    pub items: u64,
    /// Lines piped through the CLI.
    pub cli_items: u64,
    /// Items of Python's process-per-item pool, a few hundred a second.
    pub fresh_process_items: u64,
    /// Squares computed natively: enough to be timed at all.
    pub native_items: u64,
    /// Items of the naive wasmtime loop, a few thousand a second.
    pub naive_items: u64,
    /// `fib(25)` tasks per row.
    pub fib_items: u64,
    /// `Process::spawn` + `join` round trips.
    pub spawns: usize,
}

impl Plan {
    fn new(args: &Args) -> Self {
        let scale = if args.quick { 10 } else { 1 };
        let items = args.items.unwrap_or(200_000 / scale);
        Self {
            items,
            cli_items: items * 5,
            fresh_process_items: 300 / scale,
            native_items: items * 50,
            naive_items: (items / 10).max(1),
            fib_items: 200,
            spawns: 1000,
        }
    }
}

/// The module under test: its file for raw wasmtime and the CLI, loaded once for hecaton.
#[derive(Debug)]
pub struct Guest {
    pub path: PathBuf,
    pub module: hecaton::Module,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let plan = Plan::new(&args);
    let path = match &args.module {
        Some(path) => path.clone(),
        None => guest::build()?,
    };
    let module =
        hecaton::Module::from_file(&path).with_context(|| format!("loading {}", path.display()))?;
    let guest = Guest { path, module };
    print_header(&args, &guest);

    let tiny = tiny::table(&plan, &guest)?;
    tiny.print();
    match guest.module.task_kind("fib") {
        Ok(_) => cpu::table(&plan, &guest)?.print(),
        Err(_) => println!("\n== 2. CPU-bound: skipped, the module has no `fib` task =="),
    }
    overhead::print(&plan, &guest, &tiny)?;
    println!("\nload average at the end: {}", load_average());
    Ok(())
}

fn print_header(args: &Args, guest: &Guest) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mode = if args.quick { "quick" } else { "full" };
    let load = load_average();
    println!("hecaton-bench ({mode} run): {cores} cores, load average {load} at the start");
    println!("module: {}", guest.path.display());
}

/// The 1-minute load average: other work on the machine skews every row.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}
