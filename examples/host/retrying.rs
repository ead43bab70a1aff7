//! A retry policy of your own, on the public API: submit every request with
//! `Pool::apply_async`, then resubmit the ones that failed *transiently* after an exponential
//! backoff, deciding per kind of failure (`TaskError::kind()`) what is worth another try.
//!
//! ```text
//! cargo run --release -p hecaton --example retrying
//! ```
//!
//! `Pool::builder().retries(n)` retries every failure at once, the same way for all; this shows
//! the policy you write when that is not enough. The guest, `examples/guests/flaky`, fails some
//! requests with a guest error or by being too slow for the timeout on their first attempts, and
//! panics on one every time.

use std::thread::sleep;
use std::time::Duration;

use hecaton::{Limits, Module, Pool, TaskError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The guest's `Request`: which record, and which attempt this is.
#[derive(Serialize)]
struct Request {
    id: u32,
    attempt: u32,
}

/// The policy: the service's own errors and timeouts may pass; a panic, a trap, a bad input or a
/// limit would only happen again.
fn is_transient(error: &TaskError) -> bool {
    matches!(error.kind(), "guest_error" | "timeout")
}

/// An item's last outcome, and how many times it was run.
struct Attempted<O> {
    result: Result<O, TaskError>,
    attempts: u32,
}

/// Runs tasks on a pool, retrying transient failures with exponential backoff.
struct Retrying<'p> {
    pool: &'p Pool,
    max_attempts: u32,
    backoff: Duration,
}

impl Retrying<'_> {
    /// Runs `task` on items `0..items` (`input(i, attempt)` is item `i`'s input); their
    /// outcomes, in order.
    fn map<I: Serialize, O: DeserializeOwned>(
        &self,
        module: &Module,
        task: &str,
        items: usize,
        input: impl Fn(usize, u32) -> I,
    ) -> Result<Vec<Attempted<O>>, hecaton::Error> {
        let mut outcomes: Vec<Option<Attempted<O>>> = (0..items).map(|_| None).collect();
        let mut pending: Vec<usize> = (0..items).collect();
        let mut attempt = 1;
        while !pending.is_empty() {
            // Every pending item at once: they run in parallel, each in a fresh instance.
            let mut handles = Vec::new();
            for &i in &pending {
                handles.push((i, self.pool.apply_async(module, task, &input(i, attempt))?));
            }
            pending.clear();
            for (i, handle) in handles {
                let result = handle.get();
                if let Err(error) = &result {
                    let retry = is_transient(error) && attempt < self.max_attempts;
                    let verdict = if retry { "retry" } else { "give up" };
                    println!(
                        "  attempt {attempt}, item {i}: {} -> {verdict}",
                        error.kind()
                    );
                    if retry {
                        pending.push(i);
                    }
                }
                outcomes[i] = Some(Attempted {
                    result,
                    attempts: attempt,
                });
            }
            if !pending.is_empty() {
                let delay = self.backoff * 2u32.pow(attempt - 1);
                println!("  waiting {delay:?} before attempt {}", attempt + 1);
                sleep(delay);
            }
            attempt += 1;
        }
        Ok(outcomes.into_iter().flatten().collect())
    }
}

fn main() -> anyhow::Result<()> {
    let module = Module::from_file(hecaton_tests::guests::FLAKY)?;
    let limits = Limits::default().timeout(Some(Duration::from_millis(500)));
    let pool = Pool::builder().limits(limits).build()?;
    let policy = Retrying {
        pool: &pool,
        max_attempts: 4,
        backoff: Duration::from_millis(100),
    };
    let ids = [0, 1, 2, 3, 4, 5, 6];
    let outcomes: Vec<Attempted<String>> =
        policy.map(&module, "fetch", ids.len(), |i, attempt| Request {
            id: ids[i],
            attempt,
        })?;
    for (id, Attempted { result, attempts }) in ids.iter().zip(outcomes) {
        match result {
            Ok(record) => println!("request {id}: {record} ({attempts} attempt(s))"),
            Err(error) => println!("request {id}: failed after {attempts} attempt(s): {error}"),
        }
    }
    Ok(())
}
