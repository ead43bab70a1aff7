//! The tasks of hecaton's benchmark (`bench/`): a tiny one, a CPU-bound one, and a loop of a
//! chosen length — each as an SDK function task (JSON in, JSON out) and as a numeric export
//! (`*_numeric`: wasm numbers in and out, for typed calls); and a lookup in a table built by an
//! initializer (`table_init`, `table_nth_prime`), for snapshots.
//!
//! The benchmark builds this crate itself; by hand:
//! `cargo build --release --target wasm32-wasip1 -p bench-tasks --target-dir target/bench-guests`.

use std::sync::OnceLock;

use hecaton_guest::task;

/// The square of `x`: a task whose cost is all overhead.
#[task]
fn square(x: i64) -> i64 {
    x * x
}

/// The `n`th Fibonacci number, by naive recursion: CPU-bound, call-heavy work.
#[task]
fn fib(n: u32) -> u64 {
    naive_fib(n)
}

/// Where `spin_n`'s xorshift starts (the benchmark's `work::SPIN_SEED`).
const SPIN_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// `n` steps of Marsaglia's xorshift64 from [`SPIN_SEED`], the last value returned: a task of a
/// chosen length. Each step depends on the one before, so the loop cannot be skipped and needs
/// no barrier; the benchmark runs the same loop natively (`work::spin`) and checks that both
/// return the same.
#[task]
fn spin_n(n: u64) -> u64 {
    let mut x = SPIN_SEED;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// `square` as a numeric export.
#[unsafe(no_mangle)]
pub extern "C" fn square_numeric(x: i64) -> i64 {
    x.wrapping_mul(x)
}

/// `spin_n` as a numeric export.
#[unsafe(no_mangle)]
pub extern "C" fn spin_numeric(n: i64) -> i64 {
    spin_n(n as u64) as i64
}

/// The bound of the table that `table_init` builds.
const TABLE_LIMIT: usize = 2_000_000;

static TABLE: OnceLock<Vec<u32>> = OnceLock::new();

/// The primes below [`TABLE_LIMIT`], by a sieve of Eratosthenes: a table a task needs built
/// before it can answer, built on first use.
fn table() -> &'static [u32] {
    TABLE.get_or_init(|| {
        let mut composite = vec![false; TABLE_LIMIT];
        let mut primes = Vec::new();
        for n in 2..TABLE_LIMIT {
            if !composite[n] {
                primes.push(n as u32);
                for multiple in (n * n..TABLE_LIMIT).step_by(n) {
                    composite[multiple] = true;
                }
            }
        }
        // Cleared before it is freed, so that a snapshot holds the table and no garbage.
        composite.fill(false);
        primes
    })
}

/// The initializer of the snapshot rows: builds the table.
#[unsafe(no_mangle)]
pub extern "C" fn table_init() {
    table();
}

/// The `i`th prime (from 0) below 2 000 000, from the table (built first if it is not).
#[task]
fn table_nth_prime(i: usize) -> Option<u32> {
    table().get(i).copied()
}

fn naive_fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        naive_fib(n - 1) + naive_fib(n - 2)
    }
}
