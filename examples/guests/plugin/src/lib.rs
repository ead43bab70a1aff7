//! An untrusted plugin: it transforms text, and on special inputs it misbehaves the ways a
//! plugin can — it loops forever, allocates without bound, or returns a flood of output (see
//! `examples/host/untrusted.rs`, which runs it under tight limits).
//!
//! `hecaton run examples/guests/plugin --timeout 1s --invoke transform '"loop"'` exits 3 with a
//! timeout; `... --invoke transform '"hello"'` prints `"olleh"`.

use std::hint::black_box;

use hecaton_guest::task;

/// `text` reversed — except `"loop"`, `"hog"` and `"flood"`, which never return normally.
#[task]
fn transform(text: String) -> String {
    match text.as_str() {
        // Spins forever: only a timeout stops it.
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = black_box(n.wrapping_add(1));
            }
        }
        // Keeps every 1 MiB block it allocates: only a memory limit stops it.
        "hog" => {
            let mut blocks = Vec::new();
            loop {
                blocks.push(black_box(vec![0xa5u8; 1 << 20]));
            }
        }
        // Returns 1 MiB of `x`: fine under the default output limit (16 MiB), not a tight one.
        "flood" => "x".repeat(1 << 20),
        _ => text.chars().rev().collect(),
    }
}
