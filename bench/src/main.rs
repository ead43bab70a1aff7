//! hecaton's benchmark: what a fresh wasm instance per task costs, measured in one run on this
//! machine against raw wasmtime, native Rust (rayon), Python's `multiprocessing` and the
//! `hecaton` CLI.
//!
//! ```sh
//! cargo run --release -p hecaton-bench               # the full run (a few minutes)
//! cargo run --release -p hecaton-bench -- --quick    # a short run, to check that all works
//! cargo run --release -p hecaton-bench -- --items N  # N tiny tasks per row of section 1
//! cargo run --release -p hecaton-bench -- --only large-module  # section 4 alone
//! cargo run --release -p hecaton-bench -- --only real-programs # section 9 alone
//! cargo run --release -p hecaton-bench -- --only cluster       # section 10 alone
//! cargo run --release -p hecaton-bench -- --only components    # section 11 alone
//! ```
//!
//! One module per section, each printing a table whose every row is measured in this run:
//! 1. [`tiny`]: tiny tasks (`square`): throughput, 1→2 worker scaling, hecaton against the raw
//!    wasmtime limit, µs per task;
//! 2. [`cpu`]: CPU-bound tasks (`fib(25)`): speedup, and the cost of wasm against native code;
//! 3. [`overhead`]: per-task overhead, and the latency of `Process::spawn` + `join`;
//! 4. [`large_module`]: a large WASI program (CPython, 26 MB) started by `hecaton run`, cold
//!    (compiled) against warm (deserialized from the compile cache);
//! 5. [`isolation`]: isolation levels (task, chunk, worker) and typed calls against Python's
//!    default chunks;
//! 6. [`snapshot`]: an initializer paid once — a snapshot against building the table in every
//!    task, and against Python's `Pool(initializer=…)`;
//! 7. [`plot`]: the picture, throughput against task size;
//! 8. [`reset`]: a pooling slot's memory reset for a task dirtying many scattered pages;
//! 9. [`real_programs`]: a real program as tasks — CPython for WASI running a script over 24
//!    arguments: one `hecaton map` against 24 `hecaton run`s, one after another and under GNU
//!    parallel;
//! 10. [`cluster`]: many machines, on one — `hecaton map --nats` over two one-thread
//!     `hecaton worker`s against a local `map -j 2`, for `square` and `fib(25)`, and a new
//!     worker's start on a known module;
//! 11. [`components`]: an exported WIT function as a task — a Rust component against the same
//!     `square` as a core module, a Python (componentize-py) component's calls per second, and
//!     what a Python call's time goes to.
//!
//! One module per contender: [`hecaton_rows`], [`raw`] (and [`raw_component`]), [`native`],
//! [`python`], [`cli`]; the guest is `bench/guests/bench-tasks` ([`guest`], which builds the
//! components too), its work written natively in [`work`], what
//! every row measures and how in [`measure`]. No module imports another that imports it back,
//! however indirectly: `work` ← `measure` ← the contenders (and `sweep`) ← the sections.

mod cli;
mod cluster;
mod components;
mod cpu;
mod guest;
mod hecaton_rows;
mod isolation;
mod large_module;
mod measure;
mod native;
mod overhead;
mod plot;
mod python;
mod raw;
mod raw_component;
mod real_programs;
mod report;
mod reset;
mod snapshot;
mod sweep;
mod tiny;
mod work;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};

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
    /// The large WASI command of section 4 instead of the one bench/fetch-large-module.sh
    /// downloads (it runs as `hecaton run PATH -- --version`).
    #[arg(long, value_name = "PATH")]
    large_module: Option<PathBuf>,
    /// Run one section alone (`tiny` prints section 3 too, which is computed from it).
    #[arg(long, value_name = "SECTION")]
    only: Option<Section>,
}

/// A section that `--only` can pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Section {
    /// 1. Tiny tasks, and 3. per-task overhead.
    Tiny,
    /// 2. CPU-bound tasks.
    Cpu,
    /// 4. A large module's cold and warm start.
    LargeModule,
    /// 5. Isolation levels.
    Isolation,
    /// 6. An initializer: snapshot against plain.
    Initializer,
    /// 7. The picture: throughput against task size, drawn to docs/throughput.svg.
    Plot,
    /// 8. Memory reset: a task dirtying many scattered pages.
    Reset,
    /// 9. Real programs: CPython over 24 arguments, `hecaton map` against `hecaton run`s.
    RealPrograms,
    /// 10. Many machines, on one: `map --nats` over two workers against a local map.
    Cluster,
    /// 11. Components: a Rust one against a core module, a Python one's calls per second.
    Components,
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
    /// Cold starts of the large module, each compiling it (seconds each).
    pub large_cold_runs: usize,
    /// Whether to time the large module with `--no-cache` too (one more compile).
    pub large_no_cache: bool,
    /// Tiny tasks per row of the isolation levels (a tenth for task isolation).
    pub isolation_items: u64,
    /// Tasks that each build the initializer's table themselves, tens of milliseconds each.
    pub plain_initializer_items: u64,
    /// Lookups from the snapshotted table (and in Python's initialized pool).
    pub snapshot_items: u64,
    /// Tasks per row of the memory reset section.
    pub reset_items: u64,
    /// Squares per row of the cluster section.
    pub cluster_items: u64,
    /// `fib(25)` tasks per row of the cluster section: enough that a map's start (connecting,
    /// the first chunks of one item while chunk sizes adapt) weighs little.
    pub cluster_fib_items: u64,
    /// `square` tasks per run of a row of the Rust component and the core module (section 11):
    /// runs of tens of milliseconds, so that the fastest of many is kept.
    pub component_items: u64,
    /// Calls per run of a row of the Python component (section 11), about 0.5 ms each: runs of
    /// about 0.1 s, so that one burst of other work spoils only some of the many runs.
    pub python_component_items: u64,
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
            large_cold_runs: if args.quick { 1 } else { 2 },
            large_no_cache: !args.quick,
            isolation_items: items * 10,
            plain_initializer_items: 40 / scale,
            snapshot_items: 20_000 / scale,
            reset_items: 20_000 / scale,
            cluster_items: items,
            cluster_fib_items: 2000 / scale,
            component_items: (items / 40).max(2),
            python_component_items: if args.quick { 100 } else { 200 },
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
    let runs = |section| args.only.is_none_or(|only| only == section);
    let needs_guest = [
        Section::Tiny,
        Section::Cpu,
        Section::Isolation,
        Section::Initializer,
        Section::Plot,
        Section::Cluster,
        Section::Components,
    ];
    let guest = if needs_guest.into_iter().any(runs) {
        let path = match &args.module {
            Some(path) => path.clone(),
            None => guest::build()?,
        };
        let module = hecaton::Module::from_file(&path)
            .with_context(|| format!("loading {}", path.display()))?;
        Some(Guest { path, module })
    } else {
        None
    };
    print_header(&args, guest.as_ref());

    if let Some(guest) = &guest {
        let tiny = runs(Section::Tiny)
            .then(|| tiny::table(&plan, guest))
            .transpose()?;
        if let Some(tiny) = &tiny {
            tiny.print();
        }
        if runs(Section::Cpu) {
            match guest.module.task_kind("fib") {
                Ok(_) => cpu::table(&plan, guest)?.print(),
                Err(_) => println!("\n== 2. CPU-bound: skipped, the module has no `fib` task =="),
            }
        }
        if let Some(tiny) = &tiny {
            overhead::print(&plan, guest, tiny)?;
        }
    }
    if runs(Section::LargeModule) {
        large_module::print(&plan, args.large_module.as_deref());
    }
    if let Some(guest) = &guest {
        if runs(Section::Isolation) {
            isolation::table(&plan, guest)?.print();
        }
        if runs(Section::Initializer) {
            snapshot::table(&plan, guest)?.print();
        }
    }
    if let Some(guest) = guest.as_ref().filter(|_| runs(Section::Plot)) {
        plot::section(guest, args.quick)?;
    }
    if runs(Section::Reset) {
        for table in reset::tables(plan.reset_items)? {
            table.print();
        }
    }
    if runs(Section::RealPrograms) {
        real_programs::print()?;
    }
    if let Some(guest) = guest.as_ref().filter(|_| runs(Section::Cluster)) {
        let hecaton = cli::build(guest::workspace_root())?;
        cluster::print(&plan, guest, &hecaton)?;
    }
    if let Some(guest) = guest.as_ref().filter(|_| runs(Section::Components)) {
        components::print(&plan, guest)?;
    }
    println!("\nload average at the end: {}", load_average());
    Ok(())
}

fn print_header(args: &Args, guest: Option<&Guest>) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mode = if args.quick { "quick" } else { "full" };
    let load = load_average();
    println!("hecaton-bench ({mode} run): {cores} cores, load average {load} at the start");
    if let Some(guest) = guest {
        println!("module: {}", guest.path.display());
    }
}

/// The 1-minute load average: other work on the machine skews every row.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}
