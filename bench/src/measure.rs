//! What every row measures: a workload (a task, its inputs, its expected outputs), and how it
//! is timed (the fastest of [`RUNS`] runs of it).

use std::time::Instant;

use anyhow::{Result, ensure};

use crate::work;

/// A task run over `items` inputs, with a way to check every output.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// The task's name (`square`, `fib`).
    pub task: &'static str,
    /// How many tasks a run executes.
    pub items: u64,
    /// The input of item `i`.
    pub input: fn(u64) -> u64,
    /// The output expected for an input.
    pub expected: fn(u64) -> u64,
}

impl Workload {
    /// `square(i)` for `i` in `0..items`.
    pub fn square(items: u64) -> Self {
        Self {
            task: "square",
            items,
            input: |i| i,
            expected: |x| x * x,
        }
    }

    /// `fib(25)`, `items` times.
    pub fn fib(items: u64) -> Self {
        Self {
            task: "fib",
            items,
            input: |_| u64::from(work::FIB_N),
            expected: |n| work::fib(n as u32),
        }
    }

    /// The same workload with fewer items, run untimed first so that every row starts warm
    /// (threads started, pooling slots and page tables touched).
    pub fn warm_up(&self) -> Self {
        Self {
            items: (self.items / 20).max(2),
            ..*self
        }
    }

    /// The inputs, in order.
    pub fn inputs(&self) -> impl Iterator<Item = u64> + use<> {
        (0..self.items).map(self.input)
    }

    /// Fails unless `outputs` are exactly the expected outputs, in order.
    pub fn check(&self, outputs: &[u64]) -> Result<()> {
        ensure!(
            outputs.len() as u64 == self.items,
            "{}: {} outputs for {} items",
            self.task,
            outputs.len(),
            self.items
        );
        for (input, output) in self.inputs().zip(outputs) {
            let expected = (self.expected)(input);
            ensure!(
                *output == expected,
                "{}({input}) returned {output}, expected {expected}",
                self.task
            );
        }
        Ok(())
    }
}

/// One timed run: `items` tasks on `workers` threads took `seconds` of wall time.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    pub items: u64,
    pub workers: usize,
    pub seconds: f64,
}

impl Measurement {
    /// Throughput.
    pub fn per_second(&self) -> f64 {
        self.items as f64 / self.seconds
    }

    /// What one task costs the worker that runs it: wall time × workers ÷ items, in µs.
    pub fn micros_per_task(&self) -> f64 {
        self.seconds * 1e6 * self.workers as f64 / self.items as f64
    }
}

/// Timed runs behind every figure, at least; the fastest is kept, as other work on the machine
/// can only slow a run down.
pub const RUNS: usize = 3;
/// Short runs are repeated until they add up to this many seconds (at most [`MAX_RUNS`] runs), so
/// that one burst of other work cannot spoil a figure of a few milliseconds.
pub const MIN_SECONDS: f64 = 1.0;
/// The most runs behind one figure.
pub const MAX_RUNS: usize = 30;

/// Runs `work` [`RUNS`] times, or more while the runs add up to less than [`MIN_SECONDS`];
/// returns the last run's value and the fastest run's wall time.
pub fn fastest_of_runs<T>(mut work: impl FnMut() -> Result<T>) -> Result<(T, f64)> {
    let (mut value, mut fastest) = timed(&mut work)?;
    let (mut runs, mut total) = (1, fastest);
    while runs < RUNS || (total < MIN_SECONDS && runs < MAX_RUNS) {
        let (next, seconds) = timed(&mut work)?;
        (value, fastest) = (next, fastest.min(seconds));
        (runs, total) = (runs + 1, total + seconds);
    }
    Ok((value, fastest))
}

/// How many items a point of a sweep (section 7) runs, by any contender.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    /// Wall time each timed run of a point aims at.
    pub target_seconds: f64,
    /// Timed runs per point; the fastest is kept.
    pub runs: usize,
    /// Probe runs grow until one takes this long.
    pub probe_seconds: f64,
    /// The fewest items of any run: 2 per worker.
    pub min_items: u64,
    /// The most items of a hecaton run (inputs and outputs are held in memory).
    pub max_items: u64,
    /// The most items of a Python run (a list of them is pickled to the workers).
    pub max_items_python: u64,
    /// The most items of a native run (nothing is held).
    pub max_items_native: u64,
}

impl Calibration {
    /// The calibration of a full run, or of a `--quick` one, for contenders of `workers`
    /// workers each.
    pub fn new(quick: bool, workers: usize) -> Self {
        Self {
            target_seconds: if quick { 0.03 } else { 0.1 },
            runs: RUNS,
            probe_seconds: if quick { 0.005 } else { 0.02 },
            min_items: 2 * workers as u64,
            max_items: 4_000_000,
            max_items_python: 2_000_000,
            max_items_native: 1_000_000_000,
        }
    }
}

/// Runs `work` and returns its value with the wall time it took, in seconds.
pub fn timed<T>(work: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let start = Instant::now();
    let value = work()?;
    Ok((value, start.elapsed().as_secs_f64()))
}
