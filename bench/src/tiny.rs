//! Section 1: a tiny task, `square(x)`, whose cost is all overhead — items per second of every
//! contender, hecaton's 1→2 worker scaling and its distance to the raw wasmtime limit.

use anyhow::Result;

use crate::measure::{MIN_SECONDS, RUNS, Workload};
use crate::raw::Setup;
use crate::report::{Table, ratio};
use crate::{Guest, Plan, cli, guest, hecaton_rows, native, python, raw};

pub const HECATON_2: &str = "hecaton Pool::map, fresh instance (2 workers)";
pub const HECATON_1: &str = "hecaton Pool::map, fresh instance (1 worker)";
pub const RAW_2: &str = "raw wasmtime: pooling + InstancePre (2 threads)";
pub const RAW_1: &str = "raw wasmtime: pooling + InstancePre (1 thread)";
pub const RESIDENT_2: &str = "raw: + keep_resident 2 MiB + pagemap_scan (2 threads)";
pub const RESIDENT_1: &str = "raw: + keep_resident 2 MiB + pagemap_scan (1 thread)";
const NAIVE_2: &str = "raw naive: on-demand + Linker::instantiate (2 threads)";
const RAYON: &str = "native rayon: into_par_iter().map(x * x)";
const PY_DEFAULT: &str = "Python Pool(2).map, default chunks";
const PY_CHUNK_1: &str = "Python Pool(2).map, chunksize=1";
const PY_FRESH: &str = "Python Pool(2, maxtasksperchild=1).map, chunksize=1";
const CLI: &str = "CLI: seq 1 N | hecaton map --invoke square (whole run)";

/// Measures every row of section 1.
///
/// # Errors
/// A hecaton, raw wasmtime or native row fails (Python and the CLI rows become n/a instead).
pub fn table(plan: &Plan, guest: &Guest) -> Result<Table> {
    let title = "1. Tiny task: square(x), one fresh instance (or process) per task";
    let mut table = Table::new(title, HECATON_2);
    let square = Workload::square(plan.items);
    for (name, workers) in [(HECATON_2, 2), (HECATON_1, 1)] {
        table.add(
            name,
            hecaton_rows::pool_map(&guest.module, &square, workers)?,
        );
    }
    raw_rows(&mut table, guest, plan)?;
    table.add(RAYON, native::square_rayon(plan.native_items)?);
    python_rows(&mut table, plan);
    cli_row(&mut table, guest, plan.cli_items);
    notes(&mut table);
    Ok(table)
}

/// Rows of one set-up: each row's name and its number of threads.
type ThreadRows = &'static [(&'static str, usize)];

/// The raw wasmtime loop in its three set-ups. Keeping memory resident with `PAGEMAP_SCAN`
/// needs Linux 6.7: elsewhere its rows are n/a.
fn raw_rows(table: &mut Table, guest: &Guest, plan: &Plan) -> Result<()> {
    let setups: [(Setup, u64, ThreadRows); 3] = [
        (Setup::Pooling, plan.items, &[(RAW_2, 2), (RAW_1, 1)]),
        (
            Setup::KeepResident,
            plan.items,
            &[(RESIDENT_2, 2), (RESIDENT_1, 1)],
        ),
        (Setup::Naive, plan.naive_items, &[(NAIVE_2, 2)]),
    ];
    for (setup, items, rows) in setups {
        let square = Workload::square(items);
        match raw::Raw::load(&guest.path, setup) {
            Ok(raw) => {
                for &(name, threads) in rows {
                    table.add(name, raw.run(&square, threads)?);
                }
            }
            Err(error) if setup == Setup::KeepResident => {
                for &(name, _) in rows {
                    table.add_unavailable(name, format!("{error:#}"));
                }
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

fn python_rows(table: &mut Table, plan: &Plan) {
    let modes = [
        (PY_DEFAULT, python::Mode::DefaultChunks, plan.items),
        (PY_CHUNK_1, python::Mode::ChunkOne, plan.items),
        (
            PY_FRESH,
            python::Mode::FreshProcess,
            plan.fresh_process_items,
        ),
    ];
    for (name, mode, items) in modes {
        table.add_or_unavailable(name, python::pool_map(mode, items));
    }
}

/// The CLI's row: n/a when the CLI does not build or has no working `hecaton map`.
fn cli_row(table: &mut Table, guest: &Guest, items: u64) {
    let hecaton = match cli::build(guest::workspace_root()) {
        Ok(hecaton) => hecaton,
        Err(error) => return table.add_unavailable(CLI, format!("{error:#}")),
    };
    if let Err(error) = cli::probe(&hecaton, &guest.path) {
        let reason = format!("hecaton map unavailable: {error:#}");
        return table.add_unavailable(CLI, reason);
    }
    table.add_or_unavailable(CLI, cli::map_pipeline(&hecaton, &guest.path, items));
}

fn notes(table: &mut Table) {
    let of = |a, b| ratio(table.get(a), table.get(b));
    let notes = [
        format!(
            "scaling 1→2 workers: hecaton {}, raw pooling {}, raw keep-resident {}",
            of(HECATON_2, HECATON_1),
            of(RAW_2, RAW_1),
            of(RESIDENT_2, RESIDENT_1)
        ),
        format!(
            "hecaton ÷ raw (items/s), 2 workers: {} of pooling, {} of keep-resident; \
             1 worker: {} of pooling, {} of keep-resident",
            of(HECATON_2, RAW_2),
            of(HECATON_2, RESIDENT_2),
            of(HECATON_1, RAW_1),
            of(HECATON_1, RESIDENT_1)
        ),
        "raw rows: wasmtime's defaults and the allocator named; no epoch interruption, no \
         limiter, no WASI context (imports defined as traps); the same ABI calls as hecaton"
            .into(),
        "µs/task·wkr = seconds × workers ÷ items: what one task costs the worker running it".into(),
        format!(
            "every figure: the fastest of {RUNS}+ timed runs (more until they add up to \
             {MIN_SECONDS} s) after a warm-up; outputs checked"
        ),
        "Python times pool.map alone (pool started before); the CLI row times the whole \
         process, module compilation included"
            .into(),
    ];
    table.notes.extend(notes);
}
