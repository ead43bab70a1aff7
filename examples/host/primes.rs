//! A CPU-bound map that scales with workers: count the primes below 2 000 000 by trial division,
//! as 200 ranges on a pool of 2 workers and then of 1, and print the count and the speedup (the
//! best of 3 runs each).
//!
//! ```text
//! cargo run --release -p hecaton --example primes
//! ```
//!
//! Each range is one task in a fresh instance of `examples/guests/primes`. The ranges get slower
//! as the numbers grow; the work-stealing scheduler keeps both workers busy anyway.

use std::time::{Duration, Instant};

use hecaton::{Module, Pool};

const LIMIT: u64 = 2_000_000;
const RANGES: u64 = 200;

fn main() -> anyhow::Result<()> {
    let module = Module::from_file(hecaton_tests::guests::PRIMES)?;
    let step = LIMIT / RANGES;
    let ranges: Vec<(u64, u64)> = (0..RANGES)
        .map(|i| ((i * step).max(1), (i + 1) * step))
        .collect();

    // The best of 3 runs for each pool size, so that a busy machine disturbs the ratio less.
    let mut timings = Vec::new();
    for workers in [2, 1] {
        let pool = Pool::builder().workers(workers).build()?;
        let (mut best, mut primes) = (Duration::MAX, 0);
        for _ in 0..3 {
            let start = Instant::now();
            let counts: Vec<u64> = pool.map(&module, "count_primes", &ranges)?;
            best = best.min(start.elapsed());
            primes = counts.iter().sum();
        }
        println!("{workers} worker(s): {primes} primes below {LIMIT} in {best:.2?}");
        assert_eq!(primes, 148_933);
        timings.push(best);
    }
    let speedup = timings[1].as_secs_f64() / timings[0].as_secs_f64();
    println!("speedup with 2 workers: {speedup:.2}x");
    Ok(())
}
