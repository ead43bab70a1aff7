//! Python rows: `multiprocessing.Pool(2).map(square, range(n))`, the program hecaton's README
//! starts from, run by `python3 -c`. Python times the `map` call alone with
//! `time.perf_counter` (the pool is started and warmed up before), as often as
//! [`fastest_of_runs`](crate::measure::fastest_of_runs) would, and prints the fastest in seconds.
//!
//! The start method is `fork` (Linux's default up to Python 3.13), which lets `python3 -c`
//! define the task in `__main__`.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::measure::{Calibration, MAX_RUNS, MIN_SECONDS, Measurement, RUNS};

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
    let args = [
        items.to_string(),
        mode_arg.to_owned(),
        WORKERS.to_string(),
        RUNS.to_string(),
        MIN_SECONDS.to_string(),
        MAX_RUNS.to_string(),
    ];
    timed(SCRIPT, &args, items)
}

/// Runs `script` with `python3 -c` and `args`, and reads the fastest run's seconds it prints as
/// the time of `items` tasks on [`WORKERS`] processes.
///
/// # Errors
/// `python3` is missing, fails, or prints something other than the seconds.
pub fn timed(script: &str, args: &[String], items: u64) -> Result<Measurement> {
    let stdout = run(script, args)?;
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

/// Runs `script` with `python3 -c` and `args`; returns what it printed on stdout.
fn run(script: &str, args: &[String]) -> Result<String> {
    let output = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .output()
        .context("cannot run python3")?;
    if !output.status.success() {
        bail!(
            "python3 failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// argv: the task sizes and what `spin` returns for each (comma-separated), the seed, workers,
/// and the calibration of [`sweep`](crate::sweep): target and probe seconds, fewest and most
/// items per run, timed runs per point.
const SPIN_SCRIPT: &str = r#"
import multiprocessing, sys, time

MASK = (1 << 64) - 1
SEED = int(sys.argv[3])

def spin(n):
    x = SEED
    for _ in range(n):
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
    return x

sizes = [int(size) for size in sys.argv[1].split(",")]
expected = dict(zip(sizes, (int(value) for value in sys.argv[2].split(","))))
workers, target, probe = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
min_items, max_items, runs = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])

def run(pool, n, items):
    inputs = [n] * items
    start = time.perf_counter()
    result = pool.map(spin, inputs)
    seconds = time.perf_counter() - start
    assert result == [expected[n]] * items, f"spin({n}) returned {result[0]}"
    return seconds

def clamp(items):
    return max(min_items, min(max_items, int(items)))

with multiprocessing.get_context("fork").Pool(workers) as pool:
    run(pool, 0, 1000)
    rate = None
    for n in sizes:
        items = min_items if rate is None else clamp(rate * probe)
        seconds = run(pool, n, items)
        while seconds < probe and items < max_items:
            items = clamp(max(items * 2, items * 1.5 * probe / max(seconds, 1e-9)))
            seconds = run(pool, n, items)
        timed_runs = 0
        if seconds >= target / 2 or items >= max_items:
            timed_runs = 1
        else:
            items = clamp(items / seconds * target)
            seconds = float("inf")
        while timed_runs < runs:
            seconds = min(seconds, run(pool, n, items))
            timed_runs += 1
        rate = items / seconds
        print(n, items, seconds, flush=True)
"#;

/// The task-size sweep's Python contender: `Pool(workers).map(spin, [n] * items)` with default
/// chunks for every `n` of `sizes`, in one `python3` process (one pool, warmed up once).
/// `spin(n)` is `spin_n`'s loop in Python ([`work::spin`](crate::work::spin): `n` xorshift64
/// steps, masked to 64 bits), each output checked against `expected`, what Rust's returns. The
/// items per point follow [`sweep`](crate::sweep)'s rule, in Python.
///
/// # Errors
/// `python3` is missing, fails, or prints something other than one `n items seconds` line per
/// size.
pub fn spin_sweep(
    sizes: &[u64],
    expected: &[u64],
    workers: usize,
    calibration: &Calibration,
) -> Result<Vec<Measurement>> {
    let list = |values: &[u64]| {
        values
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let args = [
        list(sizes),
        list(expected),
        crate::work::SPIN_SEED.to_string(),
        workers.to_string(),
        calibration.target_seconds.to_string(),
        calibration.probe_seconds.to_string(),
        calibration.min_items.to_string(),
        calibration.max_items_python.to_string(),
        calibration.runs.to_string(),
    ];
    let stdout = run(SPIN_SCRIPT, &args)?;
    let parse = |line: &str| -> Option<(u64, u64, f64)> {
        let mut fields = line.split_whitespace();
        let n = fields.next()?.parse().ok()?;
        let items = fields.next()?.parse().ok()?;
        let seconds = fields.next()?.parse().ok()?;
        Some((n, items, seconds))
    };
    let points: Vec<_> = stdout.lines().map(parse).collect();
    let expected: Vec<u64> = sizes.to_vec();
    match points
        .iter()
        .map(|p| p.map(|(n, _, _)| n))
        .collect::<Option<Vec<_>>>()
    {
        Some(ns) if ns == expected => {}
        _ => bail!("python3 printed {stdout:?}, not one `n items seconds` line per size"),
    }
    Ok(points
        .into_iter()
        .flatten()
        .map(|(_, items, seconds)| Measurement {
            items,
            workers,
            seconds,
        })
        .collect())
}
