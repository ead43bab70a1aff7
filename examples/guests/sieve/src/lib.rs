//! A task that needs a table built first: the primes below 20 000 000, by a sieve of
//! Eratosthenes (tens of milliseconds). Exported `init` builds it; snapshotted after `init`
//! (`Module::snapshot("init")`, `hecaton map --initializer init`), every task starts from a fresh
//! instance that already holds the table and answers in microseconds. Without the snapshot each
//! task builds the table itself: the same answers, at the sieve's cost per task.
//!
//! `hecaton run examples/guests/sieve --initializer init --invoke nth_prime 1000000` prints
//! `15485863`.

use std::sync::OnceLock;

use hecaton_guest::task;

/// The sieve's bound.
const LIMIT: u32 = 20_000_000;

static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();

/// The primes below [`LIMIT`], built on first use.
fn primes() -> &'static [u32] {
    PRIMES.get_or_init(sieve)
}

/// The initializer: builds the table, so that a snapshot holds it.
#[unsafe(no_mangle)]
pub extern "C" fn init() {
    primes();
}

/// The `n`th prime, from 1 (`nth_prime(1) == 2`), for `n` up to the 1 270 607 primes below
/// 20 000 000.
#[task]
fn nth_prime(n: usize) -> Result<u32, String> {
    let primes = primes();
    n.checked_sub(1)
        .and_then(|i| primes.get(i))
        .copied()
        .ok_or_else(|| format!("n must be 1 to {}", primes.len()))
}

/// How many primes are below `x` (π(x)), for `x` up to 20 000 000.
#[task]
fn count_below(x: u32) -> Result<usize, String> {
    if x > LIMIT {
        return Err(format!("x must be at most {LIMIT}"));
    }
    Ok(primes().partition_point(|&p| p < x))
}

/// A sieve of the odd numbers below [`LIMIT`], one bit each; the bits are cleared before they
/// are freed, so that a snapshot holds the primes and no garbage.
fn sieve() -> Vec<u32> {
    let odds = (LIMIT / 2) as usize;
    let mut composite = vec![0u64; odds.div_ceil(64)];
    let mut i = 1;
    while (2 * i + 1) * (2 * i + 1) < LIMIT as usize {
        if composite[i / 64] & (1 << (i % 64)) == 0 {
            let p = 2 * i + 1;
            let mut multiple = p * p / 2;
            while multiple < odds {
                composite[multiple / 64] |= 1 << (multiple % 64);
                multiple += p;
            }
        }
        i += 1;
    }
    let mut primes = vec![2];
    primes.extend(
        (1..odds)
            .filter(|&i| composite[i / 64] & (1 << (i % 64)) == 0)
            .map(|i| (2 * i + 1) as u32),
    );
    composite.fill(0);
    primes.shrink_to_fit();
    primes
}
