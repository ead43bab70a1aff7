//! Section 8: what making a pooling slot's memory fresh costs a task that dirties many scattered
//! pages. A guest writes one byte into each of `n` pages 32 KiB apart in an 8 MiB memory (and
//! counts first how many of them a previous task left written: always 0, or the row fails), in a
//! fresh instance per task, on one thread. Three resets, each in the same raw wasmtime loop
//! (pooling + `InstancePre`, nothing of hecaton's around it), then hecaton itself:
//! - **madvise**: wasmtime's default pooling, no page kept resident: every dirty page is returned
//!   to the kernel with `madvise` and faults back in;
//! - **keep_resident + pagemap_scan**: 2 MiB kept resident, the dirty pages found with
//!   `PAGEMAP_SCAN` and rewritten (what hecaton uses without swap); wasmtime 48.0.11 resumes the
//!   scan after a full buffer of regions (48.0.0-48.0.10 decommitted everything after the 32nd,
//!   so 200 scattered pages were mostly decommitted and faulted back in);
//! - **keep_resident, no scan**: the first 2 MiB rewritten whatever was touched, the rest
//!   returned with `madvise` (what hecaton uses when swap is active);
//! - **hecaton**: `Job::map_numeric` on one worker with the reset its engine chose here.

use anyhow::{Result, ensure};
use hecaton::{Engine as HecatonEngine, Module as HecatonModule, Pool};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, Store,
};

use crate::measure::{Measurement, fastest_of_runs};
use crate::raw::IntoAnyhow;
use crate::report::{Table, ratio};

/// `dirty(n)`: counts the first `n` of 256 pages (32 KiB apart) that are not zero, then writes
/// a byte into each; a fresh memory returns 0.
const DIRTY_PAGES_WAT: &str = r#"(module
  (memory 128)
  (func (export "dirty") (param $n i64) (result i64)
    (local $at i32) (local $end i32) (local $stale i64)
    (local.set $end (i32.mul (i32.wrap_i64 (local.get $n)) (i32.const 32768)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (if (i32.load8_u (local.get $at))
          (then (local.set $stale (i64.add (local.get $stale) (i64.const 1)))))
        (i32.store8 (local.get $at) (i32.const 1))
        (local.set $at (i32.add (local.get $at) (i32.const 32768)))
        (br $next)))
    (local.get $stale)))"#;

/// Bytes of each slot kept resident by the keep-resident rows: hecaton's setting.
const KEEP_RESIDENT: usize = 2 << 20;

/// A slot's reset in the raw rows.
#[derive(Clone, Copy, Debug)]
enum Reset {
    Madvise,
    PagemapScan,
    KeepResidentNoScan,
}

const MADVISE: &str = "raw pooling, madvise (no keep_resident)";
const PAGEMAP: &str = "raw pooling, keep_resident + pagemap_scan";
const NO_SCAN: &str = "raw pooling, keep_resident, no pagemap_scan";

/// Measures section 8 for a light task (8 pages: fewer than one scan buffer's regions; `items` tasks
/// per row) and a heavy one (200 pages, a tenth of the tasks).
///
/// # Errors
/// A module does not compile, or a task finds a page a previous task wrote.
pub fn tables(items: u64) -> Result<Vec<Table>> {
    let hecaton_engine = HecatonEngine::shared()?;
    let hecaton_row = format!(
        "hecaton Job::map_numeric ({})",
        hecaton_engine.memory_reset()
    );
    let module = HecatonModule::from_bytes(
        &hecaton_engine,
        "dirty-pages.wat",
        DIRTY_PAGES_WAT.as_bytes(),
    )?;
    let mut tables = Vec::new();
    for (pages, items) in [(8, items), (200, items / 10)] {
        let title = format!(
            "8. Memory reset: a fresh instance per task, each dirtying {pages} scattered pages"
        );
        let mut table = Table::new(title, MADVISE);
        for (name, reset) in [
            (MADVISE, Reset::Madvise),
            (PAGEMAP, Reset::PagemapScan),
            (NO_SCAN, Reset::KeepResidentNoScan),
        ] {
            table.add_or_unavailable(name, raw(reset, pages, items));
        }
        table.add(&hecaton_row, hecaton(&module, pages, items)?);
        table.notes.push(format!(
            "throughput ÷ madvise: keep_resident + pagemap_scan {}, keep_resident without the \
             scan {}; hecaton uses {} on this machine",
            ratio(table.get(PAGEMAP), table.get(MADVISE)),
            ratio(table.get(NO_SCAN), table.get(MADVISE)),
            hecaton_engine.reset_check()
        ));
        tables.push(table);
    }
    Ok(tables)
}

fn config(reset: Reset) -> Config {
    let mut pooling = PoolingAllocationConfig::new();
    match reset {
        Reset::Madvise => {}
        Reset::PagemapScan | Reset::KeepResidentNoScan => {
            pooling.linear_memory_keep_resident(KEEP_RESIDENT);
            pooling.table_keep_resident(KEEP_RESIDENT);
        }
    }
    if let Reset::PagemapScan = reset {
        pooling.pagemap_scan(Enabled::Yes);
    }
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    config
}

/// `items` calls of `dirty(pages)`, each in a fresh instance, after an untimed warm-up.
fn raw(reset: Reset, pages: u64, items: u64) -> Result<Measurement> {
    let engine = Engine::new(&config(reset)).into_anyhow()?;
    let module = Module::new(&engine, DIRTY_PAGES_WAT).into_anyhow()?;
    let pre: InstancePre<()> = Linker::new(&engine)
        .instantiate_pre(&module)
        .into_anyhow()?;
    let run = |items: u64| -> Result<()> {
        for _ in 0..items {
            let mut store = Store::new(&engine, ());
            let instance = pre.instantiate(&mut store).into_anyhow()?;
            let dirty = instance
                .get_typed_func::<i64, i64>(&mut store, "dirty")
                .into_anyhow()?;
            let stale = dirty.call(&mut store, pages as i64).into_anyhow()?;
            ensure!(stale == 0, "a fresh instance found {stale} pages written");
        }
        Ok(())
    };
    measured(items, run)
}

/// The same tasks through hecaton, on one worker, a fresh instance per task.
fn hecaton(module: &HecatonModule, pages: u64, items: u64) -> Result<Measurement> {
    let pool = Pool::builder().workers(1).build()?;
    let run = |items: u64| -> Result<()> {
        let inputs = std::iter::repeat_n(pages as i64, items as usize);
        let stale: Vec<i64> = pool.job(module, "dirty")?.map_numeric(inputs)?;
        ensure!(
            stale.iter().all(|&pages| pages == 0),
            "a fresh instance found pages written"
        );
        Ok(())
    };
    measured(items, run)
}

/// `run` of `items` tasks on one thread: a warm-up of a twentieth, then the fastest of the runs.
fn measured(items: u64, run: impl Fn(u64) -> Result<()>) -> Result<Measurement> {
    run(items / 20 + 1)?;
    let ((), seconds) = fastest_of_runs(|| run(items))?;
    Ok(Measurement {
        items,
        workers: 1,
        seconds,
    })
}
