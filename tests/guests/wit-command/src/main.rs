//! A test guest that is a WASI 0.2 command component (its `main` is exported as `wasi:cli/run`).
//! The first argument chooses what it does:
//!
//! - `echo ARGS…` prints ARGS joined by spaces;
//! - `cat` copies stdin to stdout;
//! - `exit N` prints `exiting`, then exits with code N;
//! - `sleep MS` sleeps MS milliseconds;
//! - `write PATH TEXT` writes TEXT to the file PATH (prints the error and exits 2 when it cannot);
//! - `read PATH` prints the file PATH (prints the error and exits 2 when it cannot);
//! - `env NAME` prints the variable NAME, or `unset`;
//! - `connect ADDR` opens a TCP connection to ADDR and prints `connected` or `refused: <error>`;
//! - `flood N` prints N lines;
//! - `stderr TEXT` writes TEXT to stderr;
//! - `trap` panics.
//!
//! Without an argument (or with an unknown one) it prints its usage to stderr and exits 2.

use std::io::Write;
use std::process::exit;
use std::time::Duration;

const USAGE: &str = "usage: wit-command echo ARGS… | cat | exit N | sleep MS | write PATH TEXT | read PATH | env NAME | connect ADDR | flood N | stderr TEXT | trap";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["echo", words @ ..] => println!("{}", words.join(" ")),
        ["cat"] => {
            std::io::copy(&mut std::io::stdin(), &mut std::io::stdout()).expect("copy stdin");
        }
        ["exit", code] => {
            println!("exiting");
            exit(number(code));
        }
        ["sleep", ms] => std::thread::sleep(Duration::from_millis(number(ms))),
        ["write", path, text] => {
            if let Err(error) = std::fs::write(path, text) {
                eprintln!("cannot write {path}: {error}");
                exit(2);
            }
        }
        ["read", path] => match std::fs::read_to_string(path) {
            Ok(text) => print!("{text}"),
            Err(error) => {
                eprintln!("cannot read {path}: {error}");
                exit(2);
            }
        },
        ["env", name] => match std::env::var(name) {
            Ok(value) => println!("{value}"),
            Err(_) => println!("unset"),
        },
        ["connect", addr] => match std::net::TcpStream::connect(addr) {
            Ok(_) => println!("connected"),
            Err(error) => println!("refused: {error}"),
        },
        ["flood", lines] => {
            let mut stdout = std::io::stdout().lock();
            for i in 0..number::<u64>(lines) {
                writeln!(stdout, "line {i}").expect("write stdout");
            }
        }
        ["stderr", text] => eprint!("{text}"),
        ["trap"] => panic!("trap"),
        _ => {
            eprintln!("{USAGE}");
            exit(2);
        }
    }
}

/// An argument that must be a number: the usage and exit 2 otherwise.
fn number<T: std::str::FromStr>(arg: &str) -> T {
    arg.parse().unwrap_or_else(|_| {
        eprintln!("not a number: {arg}\n{USAGE}");
        exit(2)
    })
}
