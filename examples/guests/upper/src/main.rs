//! An ordinary WASI command, not written for hecaton: it uppercases its stdin. `hecaton map`
//! runs it once per input line, each in a fresh instance (see `examples/wasi-parallel.sh`).
//!
//! `echo hello | cargo run -p hecaton -- run examples/guests/upper` prints `HELLO`.

use std::io::{Read, Write};

fn main() -> std::io::Result<()> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    std::io::stdout().write_all(text.to_uppercase().as_bytes())
}
