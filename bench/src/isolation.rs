//! Section 5: isolation levels on the tiny task — how much a shared instance buys, against
//! Python's `Pool(2).map` with its default chunks (which shares a process among a chunk's items,
//! and among chunks too).

use std::num::NonZeroUsize;

use anyhow::{Result, ensure};
use hecaton::{Isolation, Module, Pool};

use crate::measure::{Measurement, fastest_of_runs};
use crate::report::{Table, ratio};
use crate::{Guest, Plan, native, python};

const TASK_2: &str = "hecaton map_numeric, task isolation (2 workers)";
const CHUNK_2: &str = "hecaton map_numeric, chunk isolation (2 workers)";
const CHUNK_1: &str = "hecaton map_numeric, chunk isolation (1 worker)";
const WORKER_2: &str = "hecaton map_numeric, worker isolation, 10k/instance (2 wkr)";
const JSON_CHUNK_2: &str = "hecaton Pool::map (JSON), chunk isolation (2 workers)";
const JSON_TASK_2: &str = "hecaton Pool::map (JSON), task isolation (2 workers)";
const PY_DEFAULT: &str = "Python Pool(2).map, default chunks";
const RAYON: &str = "native rayon: into_par_iter().map(x * x)";

/// Tasks a worker-isolated instance serves before it is replaced.
const WORKER_TASKS: usize = 10_000;

/// Measures every row of section 5.
///
/// # Errors
/// A hecaton or native row fails (the Python row becomes n/a instead).
pub fn table(plan: &Plan, guest: &Guest) -> Result<Table> {
    let items = plan.isolation_items;
    let title = format!(
        "5. Isolation levels: square(x) × {items}, default chunks (Python's rule: 4 per worker; hecaton caps a chunk at 16 Ki)"
    );
    let mut table = Table::new(title, PY_DEFAULT);
    let worker = Isolation::Worker {
        max_tasks_per_instance: NonZeroUsize::new(WORKER_TASKS),
    };
    let typed = [
        (TASK_2, Isolation::Task, 2, items / 10),
        (CHUNK_2, Isolation::Chunk, 2, items),
        (CHUNK_1, Isolation::Chunk, 1, items),
        (WORKER_2, worker, 2, items),
    ];
    for (name, isolation, workers, items) in typed {
        table.add(name, map_numeric(&guest.module, isolation, workers, items)?);
    }
    for (name, isolation, items) in [
        (JSON_CHUNK_2, Isolation::Chunk, items),
        (JSON_TASK_2, Isolation::Task, items / 10),
    ] {
        table.add(name, map_json(&guest.module, isolation, items)?);
    }
    table.add_or_unavailable(
        PY_DEFAULT,
        python::pool_map(python::Mode::DefaultChunks, items),
    );
    table.add(RAYON, native::square_rayon(items)?);
    let of = |a, b| ratio(table.get(a), table.get(b));
    let notes = [
        format!(
            "chunk isolation ÷ Python default chunks: {} (target ≥ 3×); ÷ task isolation: {}; \
             scaling 1→2 workers: {}",
            of(CHUNK_2, PY_DEFAULT),
            of(CHUNK_2, TASK_2),
            of(CHUNK_2, CHUNK_1)
        ),
        format!(
            "typed calls ÷ JSON, chunk isolation: {}; task isolation: {}",
            of(CHUNK_2, JSON_CHUNK_2),
            of(TASK_2, JSON_TASK_2)
        ),
        "map_numeric: `square_numeric(i64) -> i64` called with typed values, inputs and outputs \
         as Vec<i64>; Pool::map: the SDK task `square`, JSON in and out; task-isolation rows run \
         a tenth of the items"
            .into(),
    ];
    table.notes.extend(notes);
    Ok(table)
}

/// `Job::map_numeric` of `square_numeric` over `0..items` at `isolation`.
fn map_numeric(
    module: &Module,
    isolation: Isolation,
    workers: usize,
    items: u64,
) -> Result<Measurement> {
    let pool = Pool::builder().workers(workers).build()?;
    squares(workers, items, |items| {
        Ok(pool
            .job(module, "square_numeric")?
            .isolation(isolation)
            .map_numeric(0..items as i64)?)
    })
}

/// `Pool::map` (JSON) of the SDK task `square` over `0..items` at `isolation`, on 2 workers.
fn map_json(module: &Module, isolation: Isolation, items: u64) -> Result<Measurement> {
    let pool = Pool::builder().workers(2).build()?;
    squares(2, items, |items| {
        Ok(pool
            .job(module, "square")?
            .isolation(isolation)
            .map(0..items as i64)?)
    })
}

/// Times `map(items)` (the squares of `0..items`) by [`fastest_of_runs`] after a warm-up, and
/// checks its outputs.
fn squares(
    workers: usize,
    items: u64,
    map: impl Fn(u64) -> Result<Vec<i64>>,
) -> Result<Measurement> {
    map(items / 20)?;
    let (outputs, seconds) = fastest_of_runs(|| map(items))?;
    ensure!(
        outputs.len() as u64 == items
            && outputs
                .iter()
                .enumerate()
                .all(|(i, &y)| y == (i * i) as i64),
        "square returned wrong outputs"
    );
    Ok(Measurement {
        items,
        workers,
        seconds,
    })
}
