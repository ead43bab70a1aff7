//! A WASI command for the tests: prints its arguments (after argv[0]) on one line of stdout,
//! copies stdin to stdout, writes `to stderr` on stderr, and exits with the code given by an
//! argument `exit=N` (0 otherwise).
//!
//! Three more arguments work on files: `write=PATH=TEXT` writes TEXT to the file PATH (exit 3
//! when it cannot), `link=LINK=TARGET` makes LINK a symbolic link to TARGET (exit 3 when it
//! cannot), and `list=DIR` prints `DIR: NAME NAME…`, the folder's entries sorted (what an
//! earlier task left there, if anything).

use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("{}", args.join(" "));
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).expect("stdin");
    std::io::stdout().write_all(&input).expect("stdout");
    for arg in &args {
        if let Some((path, text)) = arg.strip_prefix("write=").and_then(|w| w.split_once('='))
            && let Err(error) = std::fs::write(path, text)
        {
            eprintln!("cannot write {path}: {error}");
            std::process::exit(3);
        }
        // `soft_link` is std's one stable way to make a symbolic link on WASI.
        #[allow(deprecated)]
        if let Some((link, target)) = arg.strip_prefix("link=").and_then(|l| l.split_once('='))
            && let Err(error) = std::fs::soft_link(target, link)
        {
            eprintln!("cannot link {link}: {error}");
            std::process::exit(3);
        }
        if let Some(dir) = arg.strip_prefix("list=") {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .map(|entry| entry.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            println!("{dir}: {}", names.join(" "));
        }
    }
    eprint!("to stderr");
    let code = args
        .iter()
        .find_map(|arg| arg.strip_prefix("exit="))
        .map_or(0, |code| code.parse().expect("exit=N"));
    std::process::exit(code);
}
