//! A test guest with one task per behaviour the integration tests check.

use std::sync::atomic::{AtomicU32, Ordering};

use hecaton_guest::task;
use serde::{Deserialize, Serialize};

/// A serde struct in.
#[derive(Debug, Deserialize)]
pub struct Order {
    item: String,
    quantity: u32,
    unit_price_cents: u64,
}

/// A serde struct out.
#[derive(Debug, Serialize)]
pub struct Invoice {
    line: String,
    total_cents: u64,
    discounted: bool,
}

/// Structs in and out.
#[task]
fn invoice(order: Order) -> Invoice {
    let total = u64::from(order.quantity) * order.unit_price_cents;
    Invoice {
        line: format!("{} x {}", order.quantity, order.item),
        total_cents: if total > 10_000 {
            total * 9 / 10
        } else {
            total
        },
        discounted: total > 10_000,
    }
}

/// Several arguments (a JSON array), a vector and an `Option`.
#[task]
fn scale(values: Vec<f64>, factor: Option<f64>) -> Vec<f64> {
    let factor = factor.unwrap_or(1.0);
    values.into_iter().map(|v| v * factor).collect()
}

/// No arguments (`null`).
#[task]
fn answer() -> u32 {
    42
}

/// A `Result`: `Err` is a guest error.
#[task]
fn checked_divide(a: i64, b: i64) -> Result<i64, String> {
    a.checked_div(b)
        .ok_or_else(|| format!("cannot divide {a} by {b}"))
}

/// A panic is a guest error carrying its message.
#[task]
fn explode(reason: String) -> u32 {
    panic!("exploded: {reason}")
}

static CALLS: AtomicU32 = AtomicU32::new(0);

/// Counts its calls in a global: a fresh instance per task returns 1 every time.
#[task]
fn count_calls() -> u32 {
    CALLS.fetch_add(1, Ordering::SeqCst) + 1
}

/// The task's id and attempt, as the host reports them.
#[task]
fn identity() -> (u64, u32) {
    (hecaton_guest::task_id(), hecaton_guest::attempt())
}

/// Spins until killed.
#[task]
fn spin_forever() -> u64 {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Spins `n` iterations and returns `n`: a task of adjustable weight.
#[task]
fn spin(n: u64) -> u64 {
    let mut i = 0;
    while std::hint::black_box(i) < n {
        i += 1;
    }
    i
}

/// Fails at once when `id` is 0, else spins for a long time (for fail-fast tests).
#[task]
fn fail_or_spin(id: u64, _unused: u64) -> Result<u64, String> {
    if id == 0 {
        return Err("input 0 fails".into());
    }
    Ok(spin(2_000_000_000))
}

/// Sleeps `ms` milliseconds (a WASI clock wait): work that takes time but no CPU.
#[task]
fn nap(ms: u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    ms
}

/// Sleeps `ms` milliseconds, then divides as [`checked_divide`] does: a failure that comes late
/// (for fail-fast tests whose first failure by index is not the first in time).
#[task]
fn nap_then_divide(ms: u64, a: i64, b: i64) -> Result<i64, String> {
    nap(ms);
    checked_divide(a, b)
}

/// Sleeps `ms` milliseconds, then returns variable `key` (`null` when unset): which worker of a
/// cluster ran the task, when each grants its own value.
#[task]
fn nap_then_var(ms: u64, key: String) -> Option<String> {
    nap(ms);
    std::env::var(key).ok()
}
