//! A WASI command for the tests: prints its arguments (after argv[0]) on one line of stdout,
//! copies stdin to stdout, writes `to stderr` on stderr, and exits with the code given by an
//! argument `exit=N` (0 otherwise).

use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("{}", args.join(" "));
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).expect("stdin");
    std::io::stdout().write_all(&input).expect("stdout");
    eprint!("to stderr");
    let code = args
        .iter()
        .find_map(|arg| arg.strip_prefix("exit="))
        .map_or(0, |code| code.parse().expect("exit=N"));
    std::process::exit(code);
}
