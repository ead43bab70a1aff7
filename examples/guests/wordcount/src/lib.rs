//! A task that reads a file through WASI `std::fs`: it sees only the directories its host grants
//! (see `examples/host/wordcount.rs`, which grants one read-only as `/docs`).
//!
//! `hecaton run examples/guests/wordcount --dir guest/abi::/docs --invoke count_words /docs/ABI.md`

use hecaton_guest::task;

/// The file's path and its number of whitespace-separated words (invalid UTF-8 is replaced, not
/// an error); `Err` when the file cannot be read, e.g. because no directory holds it.
#[task]
fn count_words(path: String) -> Result<(String, usize), String> {
    let bytes = std::fs::read(&path).map_err(|error| format!("{path}: {error}"))?;
    let words = String::from_utf8_lossy(&bytes).split_whitespace().count();
    Ok((path, words))
}
