//! Python rows: `multiprocessing.Pool(2).map(square, range(n))`, the program hecaton's README
//! starts from, run by `python3 -c`. Python times the `map` call alone with
//! `time.perf_counter` (the pool is started and warmed up before), as often as
//! [`fastest_of_runs`](crate::measure::fastest_of_runs) would, and prints the fastest in seconds.
//!
//! The start method is `fork` (Linux's default up to Python 3.13), which lets `python3 -c`
//! define the task in `__main__`.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::measure::{MAX_RUNS, MIN_SECONDS, Measurement, RUNS};

/// How the pool hands out work.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// `pool.map(square, range(n))`: Python's default chunks (`n / (4 × workers)` items each).
    DefaultChunks,
    /// `chunksize=1`: one item per message.
    ChunkOne,
    /// `maxtasksperchild=1, chunksize=1`: a fresh worker process per item — the isolation
    /// hecaton gives every task.
    FreshProcess,
}

const WORKERS: usize = 2;

/// argv: items, mode, workers, and `fastest_of_runs`'s runs, seconds and most runs.
const SCRIPT: &str = r#"
import multiprocessing, sys, time

def square(x):
    return x * x

n, mode, workers = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
runs, min_seconds, max_runs = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
options = {"maxtasksperchild": 1} if mode == "fresh" else {}
chunksize = None if mode == "default" else 1
times = []
with multiprocessing.get_context("fork").Pool(workers, **options) as pool:
    pool.map(square, range(4), 1)
    while len(times) < runs or (sum(times) < min_seconds and len(times) < max_runs):
        start = time.perf_counter()
        result = pool.map(square, range(n), chunksize)
        times.append(time.perf_counter() - start)
        assert result == [x * x for x in range(n)]
print(min(times))
"#;

/// Times `items` squares in Python's pool of 2 processes.
///
/// # Errors
/// `python3` is missing, fails, or prints something other than the seconds.
pub fn pool_map(mode: Mode, items: u64) -> Result<Measurement> {
    let mode_arg = match mode {
        Mode::DefaultChunks => "default",
        Mode::ChunkOne => "chunk1",
        Mode::FreshProcess => "fresh",
    };
    let output = Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            &items.to_string(),
            mode_arg,
            &WORKERS.to_string(),
            &RUNS.to_string(),
            &MIN_SECONDS.to_string(),
            &MAX_RUNS.to_string(),
        ])
        .output()
        .context("cannot run python3")?;
    if !output.status.success() {
        bail!(
            "python3 failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let seconds = stdout
        .trim()
        .parse()
        .with_context(|| format!("python3 printed {stdout:?}, not seconds"))?;
    Ok(Measurement {
        items,
        workers: WORKERS,
        seconds,
    })
}
