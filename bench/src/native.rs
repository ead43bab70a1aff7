//! Native Rust rows: the same work without wasm — `x * x` mapped by rayon, and the same naive
//! `fib` serially and with rayon — the ceiling a sandbox is measured against. Every figure is the
//! fastest of several runs ([`fastest_of_runs`]) after an untimed warm-up.

use std::hint::black_box;

use anyhow::{Result, ensure};
use rayon::prelude::*;

use crate::measure::{Measurement, Workload, fastest_of_runs};
use crate::work::fib;

/// `(0..items).into_par_iter().map(|x| x * x).collect()`, inputs and outputs through
/// `black_box` so that nothing is computed ahead of time.
///
/// # Errors
/// A wrong output.
pub fn square_rayon(items: u64) -> Result<Measurement> {
    let map = || {
        (0..items)
            .into_par_iter()
            .map(|x| black_box(black_box(x) * black_box(x)))
    };
    let _warm_up: Vec<u64> = map().collect();
    let (squares, seconds) = fastest_of_runs(|| Ok(map().collect::<Vec<u64>>()))?;
    let last = items.saturating_sub(1);
    ensure!(squares.len() as u64 == items && squares.last().is_none_or(|&s| s == last * last));
    Ok(Measurement {
        items,
        workers: rayon::current_num_threads(),
        seconds,
    })
}

/// The workload's `fib` calls one after another on this thread.
///
/// # Errors
/// A wrong output.
pub fn fib_serial(workload: &Workload) -> Result<Measurement> {
    let run = || {
        workload
            .inputs()
            .map(|n| fib(black_box(n as u32)))
            .collect::<Vec<_>>()
    };
    run();
    let (outputs, seconds) = fastest_of_runs(|| Ok(run()))?;
    workload.check(&outputs)?;
    Ok(Measurement {
        items: workload.items,
        workers: 1,
        seconds,
    })
}

/// The workload's `fib` calls on rayon's global pool.
///
/// # Errors
/// A wrong output.
pub fn fib_rayon(workload: &Workload) -> Result<Measurement> {
    let inputs: Vec<u64> = workload.inputs().collect();
    let run = || {
        inputs
            .par_iter()
            .map(|&n| fib(black_box(n as u32)))
            .collect::<Vec<_>>()
    };
    run();
    let (outputs, seconds) = fastest_of_runs(|| Ok(run()))?;
    workload.check(&outputs)?;
    Ok(Measurement {
        items: workload.items,
        workers: rayon::current_num_threads(),
        seconds,
    })
}
