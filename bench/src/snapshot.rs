//! Section 6: an initializer paid once. A task needs a table (the primes below 2 000 000, a sieve
//! of tens of milliseconds) before it can answer; hecaton either builds it in every task's fresh
//! instance, or snapshots it once (`Module::snapshot`) and starts every fresh instance from the
//! initialized state. Python's answer is `Pool(initializer=…)`: once per worker process, the
//! table then shared by every task of that process.

use std::time::Instant;

use anyhow::{Result, ensure};
use hecaton::{Module, Pool};

use crate::measure::{MAX_RUNS, MIN_SECONDS, Measurement, RUNS, fastest_of_runs};
use crate::report::{Table, ratio};
use crate::{Guest, Plan, python};

const PLAIN: &str = "hecaton: every task builds the table (fresh instance)";
const SNAPSHOT: &str = "hecaton: snapshot after table_init (fresh instance)";
const PYTHON: &str = "Python Pool(2, initializer=build_table).map, default chunks";

/// The number of primes below 2 000 000.
const PRIMES: u64 = 148_933;

/// Measures every row of section 6.
///
/// # Errors
/// A hecaton row fails (the Python row becomes n/a instead).
pub fn table(plan: &Plan, guest: &Guest) -> Result<Table> {
    let title = "6. Initializer: the primes below 2 000 000 built once, then one lookup per task";
    let mut table = Table::new(title, PYTHON);
    let started = Instant::now();
    let primed = guest.module.snapshot("table_init")?;
    let snapshot_seconds = started.elapsed().as_secs_f64();
    table.add(PLAIN, lookups(&guest.module, plan.plain_initializer_items)?);
    table.add(SNAPSHOT, lookups(&primed, plan.snapshot_items)?);
    table.add_or_unavailable(PYTHON, python_lookups(plan.snapshot_items));
    let of = |a, b| ratio(table.get(a), table.get(b));
    let notes = [
        format!(
            "snapshot ÷ plain: {} per task; the snapshot itself (instrument, run table_init, \
             rewrite, compile) took {snapshot_seconds:.2} s, once",
            of(SNAPSHOT, PLAIN)
        ),
        "every hecaton task runs in a fresh instance (the table is copy-on-write); Python's \
         tasks share their worker's table and everything else a task leaves behind"
            .into(),
    ];
    table.notes.extend(notes);
    Ok(table)
}

/// `table_nth_prime(i)` for `i` in `0..items` on 2 workers, after a warm-up.
fn lookups(module: &Module, items: u64) -> Result<Measurement> {
    let pool = Pool::builder().workers(2).build()?;
    let run = |items: u64| -> Result<Vec<Option<u32>>> {
        Ok(pool.map(module, "table_nth_prime", (0..items).map(|i| i % PRIMES))?)
    };
    run(2)?;
    let (outputs, seconds) = fastest_of_runs(|| run(items))?;
    ensure!(
        outputs.first() == Some(&Some(2)) && outputs.iter().all(Option::is_some),
        "table_nth_prime returned wrong outputs"
    );
    Ok(Measurement {
        items,
        workers: 2,
        seconds,
    })
}

/// argv: items, and `fastest_of_runs`'s runs, seconds and most runs.
const SCRIPT: &str = r#"
import multiprocessing, sys, time

LIMIT = 2_000_000
table = None

def build_table():
    global table
    composite = bytearray(LIMIT)
    primes = []
    for n in range(2, LIMIT):
        if not composite[n]:
            primes.append(n)
            composite[n * n::n] = b"\x01" * len(range(n * n, LIMIT, n))
    table = primes

def nth_prime(i):
    return table[i]

n = int(sys.argv[1])
runs, min_seconds, max_runs = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
times = []
with multiprocessing.get_context("fork").Pool(2, initializer=build_table) as pool:
    pool.map(nth_prime, range(4), 1)
    while len(times) < runs or (sum(times) < min_seconds and len(times) < max_runs):
        start = time.perf_counter()
        result = pool.map(nth_prime, [i % 148933 for i in range(n)])
        times.append(time.perf_counter() - start)
        assert result[0] == 2 and len(result) == n
print(min(times))
"#;

/// Times `items` lookups in Python's pool of 2 processes, each initialized once.
fn python_lookups(items: u64) -> Result<Measurement> {
    let args = [
        items.to_string(),
        RUNS.to_string(),
        MIN_SECONDS.to_string(),
        MAX_RUNS.to_string(),
    ];
    python::timed(SCRIPT, &args, items)
}
