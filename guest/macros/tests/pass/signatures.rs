//! What `#[task]` takes: one argument, none, several, serde types, a `Result` return.

use hecaton_guest::task;

#[task]
fn square(x: i64) -> i64 {
    x * x
}

#[task]
fn answer() -> u32 {
    42
}

#[task]
fn scale(values: Vec<f64>, factor: Option<f64>) -> Vec<f64> {
    let factor = factor.unwrap_or(1.0);
    values.into_iter().map(|value| value * factor).collect()
}

#[task]
fn checked_divide(a: i64, b: i64) -> Result<i64, String> {
    a.checked_div(b).ok_or_else(|| format!("cannot divide {a} by {b}"))
}

fn main() {
    // The functions stay callable as written.
    assert_eq!(square(7), 49);
    assert_eq!(answer(), 42);
    assert_eq!(scale(vec![1.0, 2.0], Some(3.0)), [3.0, 6.0]);
    assert_eq!(checked_divide(1, 0), Err("cannot divide 1 by 0".to_owned()));
}
