//! A call to an unreliable service: depending on the request, it fails transiently (a guest
//! error, or too slow for the host's timeout) for its first attempts, or permanently (a panic).
//! `examples/host/retrying.rs` shows a host policy that retries some of these and not others.
//!
//! `hecaton run examples/guests/flaky --invoke fetch '{"id": 1, "attempt": 1}'` exits 1 with
//! `guest error: service busy (request 1, attempt 1)`.

use hecaton_guest::task;
use serde::Deserialize;

/// One request. The host passes its own attempt count: each `Pool::apply_async` is a new task,
/// whose `hecaton_guest::attempt()` is always 1.
#[derive(Debug, Deserialize)]
pub struct Request {
    /// Which record to fetch.
    pub id: u32,
    /// 1 for the first try, 2 for the second, ...
    pub attempt: u32,
}

/// The record `id`. Requests 0 and 4 succeed at once; 1 and 5 fail once with a guest error; 2
/// fails twice; 3 is too slow the first time (it sleeps 2 s); 6 panics every time.
#[task]
fn fetch(request: Request) -> Result<String, String> {
    let Request { id, attempt } = request;
    let busy_attempts = match id {
        1 | 5 => 1,
        2 => 2,
        _ => 0,
    };
    if attempt <= busy_attempts {
        return Err(format!("service busy (request {id}, attempt {attempt})"));
    }
    if id == 3 && attempt == 1 {
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    if id == 6 {
        panic!("record {id} is corrupt");
    }
    Ok(format!("record {id}"))
}
