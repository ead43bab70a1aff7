//! The work itself, written once in native Rust as the guest (`bench/guests/bench-tasks`) writes
//! it: the native contenders run these functions, and every contender's outputs — wasm's and
//! Python's too — are checked against theirs.

/// The argument of the CPU-bound task: `fib(25)`, about 250,000 calls.
pub const FIB_N: u32 = 25;

/// The `n`th Fibonacci number by naive recursion, as the guest's `fib` computes it.
pub fn fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// Where [`spin`]'s xorshift starts: any odd 64-bit number will do.
pub const SPIN_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// The guest's `spin_n`: `n` steps of Marsaglia's xorshift64 from [`SPIN_SEED`]. Each step is a
/// chain of three shifts and three xors on the one before, so the result depends on every
/// iteration and no compiler can skip, merge or overlap them: the loop needs no barrier, and
/// the native and the wasm side do the same work (a caller hides only `n` and the result).
pub fn spin(n: u64) -> u64 {
    let mut x = SPIN_SEED;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_depends_on_every_iteration() {
        // xorshift64's period is 2⁶⁴ - 1: no two lengths of the loop end on the same value.
        let mut seen = std::collections::HashSet::new();
        assert!((0..10_000).all(|n| seen.insert(spin(n))));
        assert_eq!(spin(0), SPIN_SEED);
    }
}
