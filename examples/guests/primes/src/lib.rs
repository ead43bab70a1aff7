//! A CPU-bound task: count the primes in a range by trial division (see
//! `examples/host/primes.rs`, which splits 1..2 000 000 into 200 ranges on the pool).
//!
//! `hecaton run examples/guests/primes --invoke count_primes '[1, 100]'` prints `25`.

use hecaton_guest::task;

/// The number of primes `p` with `start <= p < end`.
#[task]
fn count_primes(range: (u64, u64)) -> u64 {
    let (start, end) = range;
    (start..end).filter(|&n| is_prime(n)).map(|_| 1).sum()
}

/// Trial division by 2 and by every odd number up to √n.
fn is_prime(n: u64) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n.is_multiple_of(2) {
        return false;
    }
    let mut divisor = 3;
    while divisor * divisor <= n {
        if n.is_multiple_of(divisor) {
            return false;
        }
        divisor += 2;
    }
    true
}
