//! Section 7's measurements: the throughput of every contender at every task size — `spin_n`'s
//! loop of `n` xorshift steps ([`work::spin`]), `n` from 0 to 10⁷ — from which
//! [`plot`](crate::plot) draws the picture. Every contender does the same work: wasm runs the
//! guest's loop as compiled, native Rust the same loop with only `n` and the result hidden from
//! the optimizer, Python the same steps in CPython.
//!
//! Each point is the fastest of [`RUNS`](crate::measure::RUNS) timed runs of as many items as
//! take about [`Calibration::target_seconds`] (at least 2 per worker): short probe runs (the
//! first of them warm-ups) find the rate, starting from the previous point's, and a probe that
//! already took half the target counts as the first timed run. Every output is checked.

use std::hint::black_box;
use std::num::NonZeroUsize;

use anyhow::{Result, ensure};
use hecaton::{Isolation, Module, Pool};
use rayon::prelude::*;

use crate::measure::{Calibration, Measurement, timed};
use crate::python;
use crate::work;

/// The task sizes: iterations of `spin_n`'s loop.
pub const SIZES: [u64; 8] = [0, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// Workers (threads, processes) of every parallel contender.
pub const WORKERS: usize = 2;

/// The numeric export every hecaton contender calls.
pub const TASK: &str = "spin_numeric";

/// One line of the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    /// hecaton, a fresh instance per task.
    Task,
    /// hecaton, a fresh instance per chunk.
    Chunk,
    /// hecaton, an instance per worker for the whole map.
    Worker,
    /// Python's `multiprocessing.Pool(2).map`, default chunks.
    Python,
    /// The loop in native Rust on one thread.
    Serial,
    /// The loop in native Rust on rayon's 2 threads.
    Rayon,
}

impl Contender {
    pub const ALL: [Self; 6] = [
        Self::Task,
        Self::Chunk,
        Self::Worker,
        Self::Python,
        Self::Serial,
        Self::Rayon,
    ];

    /// The column header of the printed table.
    pub fn short(self) -> &'static str {
        match self {
            Self::Task => "hecaton task",
            Self::Chunk => "hecaton chunk",
            Self::Worker => "hecaton worker",
            Self::Python => "Python Pool(2)",
            Self::Serial => "native serial",
            Self::Rayon => "native rayon",
        }
    }

    /// What the line is, for the legend and the notes.
    pub fn label(self) -> &'static str {
        match self {
            Self::Task => "hecaton, task isolation (a fresh instance per task)",
            Self::Chunk => "hecaton, chunk isolation",
            Self::Worker => "hecaton, worker isolation",
            Self::Python => "Python Pool(2).map, the same loop in CPython",
            Self::Serial => "native Rust, 1 thread",
            Self::Rayon => "native Rust, rayon, 2 threads",
        }
    }

    fn isolation(self) -> Option<Isolation> {
        match self {
            Self::Task => Some(Isolation::Task),
            Self::Chunk => Some(Isolation::Chunk),
            Self::Worker => Some(Isolation::Worker {
                max_tasks_per_instance: None::<NonZeroUsize>,
            }),
            Self::Python | Self::Serial | Self::Rayon => None,
        }
    }
}

/// One contender's points, one per size of [`SIZES`], or why it has none.
#[derive(Debug)]
pub struct Series {
    pub contender: Contender,
    pub points: Result<Vec<Measurement>, String>,
}

impl Series {
    /// Items per second at `SIZES[index]`, if measured.
    pub fn rate(&self, index: usize) -> Option<f64> {
        let points = self.points.as_ref().ok()?;
        points.get(index).map(Measurement::per_second)
    }
}

/// Every contender at every size.
#[derive(Debug)]
pub struct Sweep {
    pub series: Vec<Series>,
}

impl Sweep {
    pub fn get(&self, contender: Contender) -> Option<&Series> {
        self.series.iter().find(|s| s.contender == contender)
    }
}

/// Measures every contender at every size.
///
/// # Errors
/// A hecaton or native point fails (Python's line is left out instead, with its reason).
pub fn run(module: &Module, calibration: &Calibration) -> Result<Sweep> {
    let mut series = Vec::new();
    for contender in Contender::ALL {
        let points = match contender.isolation() {
            Some(isolation) => Ok(hecaton(module, isolation, calibration)?),
            None if contender == Contender::Python => {
                let expected = SIZES.map(work::spin);
                python::spin_sweep(&SIZES, &expected, WORKERS, calibration)
                    .map_err(|error| format!("{error:#}"))
            }
            None if contender == Contender::Serial => Ok(serial(calibration)?),
            None => Ok(rayon_pool(calibration)?),
        };
        series.push(Series { contender, points });
    }
    Ok(Sweep { series })
}

/// One native task: [`work::spin`] of an `n` the optimizer cannot see, its result kept opaque
/// too, so that neither is computed once for all items; nothing inside the loop is hidden.
fn native_task(n: u64) -> u64 {
    black_box(work::spin(black_box(n)))
}

/// `pool.job(module, "spin_numeric").isolation(isolation).map_numeric(vec![n; items])`.
fn hecaton(
    module: &Module,
    isolation: Isolation,
    calibration: &Calibration,
) -> Result<Vec<Measurement>> {
    let pool = Pool::builder().workers(WORKERS).build()?;
    let run = |n: u64, items: u64| -> Result<f64> {
        let inputs = vec![n as i64; items as usize];
        let (outputs, seconds) = timed(|| {
            Ok(pool
                .job(module, TASK)?
                .isolation(isolation)
                .map_numeric::<i64, i64>(inputs)?)
        })?;
        let want = work::spin(n) as i64;
        ensure!(
            outputs.len() as u64 == items && outputs.iter().all(|&y| y == want),
            "{TASK}({n}) returned wrong outputs at {isolation} isolation"
        );
        Ok(seconds)
    };
    sweep(calibration, calibration.max_items, WORKERS, run)
}

/// The loop on this thread, `items` times.
fn serial(calibration: &Calibration) -> Result<Vec<Measurement>> {
    let run = |n: u64, items: u64| -> Result<f64> {
        let (sum, seconds) =
            timed(|| Ok((0..items).fold(0u64, |sum, _| sum.wrapping_add(native_task(n)))))?;
        ensure!(
            sum == work::spin(n).wrapping_mul(items),
            "serial spin({n}) went wrong"
        );
        Ok(seconds)
    };
    sweep(calibration, calibration.max_items_native, 1, run)
}

/// The loop on a rayon pool of [`WORKERS`] threads, `items` times.
fn rayon_pool(calibration: &Calibration) -> Result<Vec<Measurement>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()?;
    let run = |n: u64, items: u64| -> Result<f64> {
        let (sum, seconds) = timed(|| {
            Ok(pool.install(|| {
                (0..items)
                    .into_par_iter()
                    .map(|_| native_task(n))
                    .reduce(|| 0, u64::wrapping_add)
            }))
        })?;
        ensure!(
            sum == work::spin(n).wrapping_mul(items),
            "rayon spin({n}) went wrong"
        );
        Ok(seconds)
    };
    sweep(calibration, calibration.max_items_native, WORKERS, run)
}

/// One point per size of [`SIZES`]: `run(n, items)` runs `items` tasks of size `n` and returns
/// the seconds they took. A warm-up first; then, per size, probes from the previous point's rate
/// (or from [`Calibration::min_items`]) until one takes [`Calibration::probe_seconds`], and the
/// fastest of [`Calibration::runs`] timed runs of the target length (a probe that took half of
/// it already counts as the first).
fn sweep(
    calibration: &Calibration,
    max_items: u64,
    workers: usize,
    mut run: impl FnMut(u64, u64) -> Result<f64>,
) -> Result<Vec<Measurement>> {
    let Calibration {
        target_seconds,
        probe_seconds,
        min_items,
        runs,
        ..
    } = *calibration;
    let clamp = |items: f64| (items as u64).clamp(min_items, max_items);
    run(0, 1000.min(max_items))?;
    let mut rate: Option<f64> = None;
    let mut points = Vec::with_capacity(SIZES.len());
    for n in SIZES {
        let mut items = rate.map_or(min_items, |rate| clamp(rate * probe_seconds));
        let mut seconds = run(n, items)?;
        while seconds < probe_seconds && items < max_items {
            let scaled = items as f64 * 1.5 * probe_seconds / seconds.max(1e-9);
            items = clamp(scaled.max(items as f64 * 2.0));
            seconds = run(n, items)?;
        }
        let mut timed_runs = 0;
        if seconds >= target_seconds / 2.0 || items == max_items {
            timed_runs = 1;
        } else {
            items = clamp(items as f64 / seconds * target_seconds);
            seconds = f64::INFINITY;
        }
        while timed_runs < runs {
            seconds = seconds.min(run(n, items)?);
            timed_runs += 1;
        }
        rate = Some(items as f64 / seconds);
        points.push(Measurement {
            items,
            workers,
            seconds,
        });
    }
    Ok(points)
}
