//! hecaton's own rows, through its public library API: `Pool::map` with a fresh instance per
//! task, and `Process::spawn` + `join` of one task.

use std::time::Instant;

use anyhow::Result;
use hecaton::{Module, Pool, Process};

use crate::measure::{Measurement, Workload, fastest_of_runs};

/// `Pool::map` of the workload on a pool of `workers`, after an untimed warm-up map on the same
/// pool; the time (by [`fastest_of_runs`]) covers encoding the inputs, every task and decoding
/// the outputs.
///
/// # Errors
/// The pool cannot start, a task fails, or an output is wrong.
pub fn pool_map(module: &Module, workload: &Workload, workers: usize) -> Result<Measurement> {
    let pool = Pool::builder().workers(workers).build()?;
    let warm_up = workload.warm_up();
    let _: Vec<u64> = pool.map(module, warm_up.task, warm_up.inputs())?;
    let (outputs, seconds) =
        fastest_of_runs(|| Ok(pool.map(module, workload.task, workload.inputs())?))?;
    workload.check(&outputs)?;
    Ok(Measurement {
        items: workload.items,
        workers,
        seconds,
    })
}

/// The latency of one `Process::spawn(module, "square", 7)` + `join`, in µs.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
}

/// Spawns and joins `count` processes one after another (after a few untimed ones).
///
/// # Errors
/// A process cannot start or its task fails.
pub fn spawn_join(module: &Module, count: usize) -> Result<Latency> {
    for _ in 0..count.div_ceil(20) {
        spawn_join_once(module)?;
    }
    let mut micros = (0..count)
        .map(|_| spawn_join_once(module))
        .collect::<Result<Vec<f64>>>()?;
    micros.sort_by(f64::total_cmp);
    Ok(Latency {
        count,
        mean: micros.iter().sum::<f64>() / count as f64,
        median: micros[count / 2],
    })
}

fn spawn_join_once(module: &Module) -> Result<f64> {
    let start = Instant::now();
    let squared: i64 = Process::spawn(module, "square", &7)?.join()?;
    let micros = start.elapsed().as_secs_f64() * 1e6;
    anyhow::ensure!(squared == 49, "square(7) returned {squared}");
    Ok(micros)
}
