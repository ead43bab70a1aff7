//! Section 2: a CPU-bound task, naive `fib(25)`, where the instance costs little and the
//! question is how fast wasm runs against native code, and how it scales from 1 to 2 workers.

use anyhow::Result;

use crate::measure::Workload;
use crate::raw::{Raw, Setup};
use crate::report::{Table, ratio};
use crate::{Guest, Plan, hecaton_rows, native, work};

const HECATON_2: &str = "hecaton Pool::map (2 workers)";
const HECATON_1: &str = "hecaton Pool::map (1 worker)";
const RAW_2: &str = "raw wasmtime, fresh instance per item (2 threads)";
const RAW_1: &str = "raw wasmtime, fresh instance per item (1 thread)";
const RAW_EPOCH_1: &str = "raw wasmtime + epoch interruption (1 thread)";
const SERIAL: &str = "native fib, serial";
const RAYON: &str = "native fib, rayon par_iter";

/// Measures every row of section 2.
///
/// # Errors
/// A row fails.
pub fn table(plan: &Plan, guest: &Guest) -> Result<Table> {
    let fib = Workload::fib(plan.fib_items);
    let title = format!(
        "2. CPU-bound: fib({}) × {} items, naive recursion",
        work::FIB_N,
        plan.fib_items
    );
    let mut table = Table::new(title, SERIAL);
    for (name, workers) in [(HECATON_2, 2), (HECATON_1, 1)] {
        table.add(name, hecaton_rows::pool_map(&guest.module, &fib, workers)?);
    }
    let (raw, allocator) = raw_loop(guest)?;
    for (name, threads) in [(RAW_2, 2), (RAW_1, 1)] {
        table.add(name, raw.run(&fib, threads)?);
    }
    if let Ok(raw) = Raw::load(&guest.path, Setup::KeepResidentEpoch) {
        table.add(RAW_EPOCH_1, raw.run(&fib, 1)?);
    }
    table.add(SERIAL, native::fib_serial(&fib)?);
    table.add(RAYON, native::fib_rayon(&fib)?);
    notes(&mut table, allocator);
    Ok(table)
}

/// The raw loop with hecaton's allocator settings (keep resident, `PAGEMAP_SCAN`) where the
/// kernel has them, else plain pooling; and which of the two it is.
fn raw_loop(guest: &Guest) -> Result<(Raw, &'static str)> {
    match Raw::load(&guest.path, Setup::KeepResident) {
        Ok(raw) => Ok((raw, "pooling + keep_resident + pagemap_scan")),
        Err(_) => Ok((Raw::load(&guest.path, Setup::Pooling)?, "pooling")),
    }
}

fn notes(table: &mut Table, raw_allocator: &str) {
    let speedup = |two, one| ratio(table.get(two), table.get(one));
    // A ratio of times is the inverse ratio of throughputs.
    let slowdown = |wasm, native| ratio(table.get(native), table.get(wasm));
    let notes = [
        format!(
            "speedup 1→2 workers: hecaton {}, raw wasmtime {}, native (rayon ÷ serial) {}",
            speedup(HECATON_2, HECATON_1),
            speedup(RAW_2, RAW_1),
            speedup(RAYON, SERIAL)
        ),
        format!(
            "wasm ÷ native time: hecaton {} (1 worker ÷ serial), {} (2 workers ÷ rayon); \
             raw wasmtime {} (1 thread ÷ serial), {} (2 threads ÷ rayon); \
             raw wasmtime + epoch interruption {} (1 thread ÷ serial)",
            slowdown(HECATON_1, SERIAL),
            slowdown(HECATON_2, RAYON),
            slowdown(RAW_1, SERIAL),
            slowdown(RAW_2, RAYON),
            slowdown(RAW_EPOCH_1, SERIAL)
        ),
        format!(
            "raw wasmtime: a fresh instance per fib call (as hecaton), {raw_allocator}, \
             InstancePre, no epoch interruption"
        ),
    ];
    table.notes.extend(notes);
}
