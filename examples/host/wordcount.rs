//! Granting a task one directory, read-only: count the words of every file in a folder, one task
//! per file, the guest reading each through WASI `std::fs`.
//!
//! ```text
//! cargo run --release -p hecaton --example wordcount            # the repository's guest/abi folder
//! cargo run --release -p hecaton --example wordcount -- DIR     # any folder of text files
//! ```
//!
//! The host lists the folder; the tasks of `examples/guests/wordcount` see it as `/docs` and
//! nothing else of the host's file system (and could not write to it).

use std::path::PathBuf;

use anyhow::Context;
use hecaton::{Access, Capabilities, Module, Pool};

fn main() -> anyhow::Result<()> {
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(hecaton_tests::guests::ROOT).join("guest/abi"),
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();

    let module = Module::from_file(hecaton_tests::guests::WORDCOUNT)?;
    let pool = Pool::builder()
        .capabilities(Capabilities::new().dir(&dir, "/docs", Access::ReadOnly)?)
        .build()?;
    let paths = names.iter().map(|name| format!("/docs/{name}"));
    let counts: Vec<Result<(String, usize), _>> = pool.map_all(&module, "count_words", paths)?;

    println!(
        "{} ({} files, seen by the tasks as /docs)",
        dir.display(),
        names.len()
    );
    println!("{:<32} {:>8}", "file", "words");
    let mut total = 0;
    for (name, count) in names.iter().zip(counts) {
        match count {
            Ok((_, words)) => {
                total += words;
                println!("{name:<32} {words:>8}");
            }
            Err(error) => println!("{name:<32} {:>8}  ({error})", "-"),
        }
    }
    println!("{:<32} {total:>8}", "total");
    Ok(())
}
