//! Running code nobody trusts: the same map under tight limits, over inputs of which some are
//! hostile. Each bad input ends as a named `TaskError`; the good ones around it are unaffected,
//! and the whole map ends within about its timeout.
//!
//! ```text
//! cargo run --release -p hecaton --example untrusted
//! ```
//!
//! The plugin, `examples/guests/plugin`, reverses text, but loops forever on `loop`, allocates
//! without bound on `hog` and returns 1 MiB on `flood`. `Pool::map_all` returns every outcome;
//! `Pool::map` would stop at the first failure.

use std::time::{Duration, Instant};

use hecaton::{Limits, Module, Pool, TaskError};

fn main() -> anyhow::Result<()> {
    let module = Module::from_file(hecaton_tests::guests::PLUGIN)?;
    let limits = Limits::default()
        .timeout(Some(Duration::from_millis(500)))
        .max_memory(16 << 20)
        .max_output(64 << 10);
    let pool = Pool::builder().limits(limits).build()?;

    let inputs = ["hello", "loop", "wasm", "hog", "sandbox", "flood", "world"];
    let start = Instant::now();
    let outputs: Vec<Result<String, TaskError>> = pool.map_all(&module, "transform", inputs)?;
    for (input, output) in inputs.iter().zip(&outputs) {
        match output {
            Ok(text) => println!("{input:>8} -> {text:?}"),
            Err(error) => println!("{input:>8} -> {} ({error})", error.kind()),
        }
    }
    let failed = outputs.iter().filter(|output| output.is_err()).count();
    println!(
        "{} inputs, {failed} stopped, in {:.2?}",
        inputs.len(),
        start.elapsed()
    );
    Ok(())
}
