//! The tasks of hecaton's benchmark (`bench/`): a tiny one, a CPU-bound one, and a loop of a
//! chosen length.
//!
//! The benchmark builds this crate itself; by hand:
//! `cargo build --release --target wasm32-wasip1 -p bench-tasks --target-dir target/bench-guests`.

use std::hint::black_box;

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

/// Spins for `n` iterations of opaque work and returns a checksum: a task of a chosen length.
#[task]
fn spin_n(n: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        sum = black_box(sum.wrapping_add(i));
    }
    sum
}

fn naive_fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        naive_fib(n - 1) + naive_fib(n - 2)
    }
}
