//! The seed's second program, `Pool.map(square, [1, 2, 3, 4, 5])`: the task.
//!
//! `hecaton run examples/guests/square --invoke square 7` prints `49`.

use hecaton_guest::task;

/// The square of `x`.
#[task]
fn square(x: i64) -> i64 {
    x * x
}
