//! A snapshot initializer: a task that needs a 20 000 000-number prime sieve, each in a fresh
//! instance — first with every task building the sieve itself (10 tasks), then from a snapshot
//! taken once after the guest's `init` built it (200 tasks). The answers are the same; the time
//! per task is not.
//!
//! ```text
//! cargo run --release -p hecaton --example snapshot
//! ```
//!
//! The guest is `examples/guests/sieve`; `Module::snapshot` runs its `init` in the sandbox and
//! rewrites the module (wasmtime-wizer) so that every instance starts with the sieve built.

use std::time::{Duration, Instant};

use hecaton::{Module, Pool};

/// Queries answered from the snapshot; the first [`PLAIN_QUERIES`] also without it.
const QUERIES: usize = 200;
const PLAIN_QUERIES: usize = 10;

fn main() -> anyhow::Result<()> {
    let plain = Module::from_file(hecaton_tests::guests::SIEVE)?;
    let started = Instant::now();
    let primed = plain.snapshot("init")?;
    println!("snapshot after `init`: {:.1?}", started.elapsed());

    let pool = Pool::builder().workers(2).build()?;
    let queries: Vec<usize> = (1..=QUERIES).map(|i| i * 6_000).collect();
    let runs = [
        ("every task builds the sieve", &plain, PLAIN_QUERIES),
        ("from the snapshot", &primed, QUERIES),
    ];
    let mut answers = Vec::new();
    let mut per_task = Vec::new();
    for (name, module, count) in runs {
        // The fastest of 3 maps: the first also touches the pooling allocator's slots.
        let mut best = Duration::MAX;
        let mut primes: Vec<u32> = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            primes = pool.map(module, "nth_prime", &queries[..count])?;
            best = best.min(started.elapsed());
        }
        let micros = best.as_secs_f64() * 1e6 * 2.0 / count as f64;
        println!(
            "{name:>28}: {count:>3} tasks in {best:>9.2?} ({micros:>9.1} µs per task per worker)"
        );
        per_task.push(micros);
        answers.push(primes);
    }
    println!(
        "the snapshot makes each task {:.0}× faster",
        per_task[0] / per_task[1]
    );
    anyhow::ensure!(
        answers[0][..] == answers[1][..PLAIN_QUERIES],
        "the snapshot changed the answers: {:?} vs {:?}",
        &answers[0],
        &answers[1][..PLAIN_QUERIES]
    );
    // The 6 000th prime, and the 1 200 000th (the last query).
    anyhow::ensure!(answers[1][0] == 59_359 && answers[1][QUERIES - 1] == 18_815_231);
    println!("nth_prime(1 200 000) = {}", answers[1][QUERIES - 1]);
    Ok(())
}
