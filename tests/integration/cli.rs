use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use hecaton_tests::fixture;
use hecaton_tests::guests::{ECHO, GUESTS_TARGET_DIR, PROBE, ROOT, SQUARE};

/// Runs `hecaton ARGS` with `stdin`; guest crates build into the tests' warm guest target folder.
fn hecaton(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .args(args)
        .current_dir(ROOT)
        .env("CARGO_TARGET_DIR", GUESTS_TARGET_DIR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hecaton");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn run_module_prints_json_output() {
    let output = hecaton(&["run", SQUARE, "--invoke", "square", "7"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "49\n");
}

#[test]
fn run_negative_number_argument() {
    let output = hecaton(&["run", SQUARE, "--invoke", "square", "-5"], b"");
    assert_eq!(stdout(&output), "25\n", "{}", stderr(&output));
}

#[test]
fn run_crate_folder_builds_it_first() {
    let output = hecaton(
        &["run", "examples/guests/square", "--invoke", "square", "7"],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "49\n");
}

#[test]
fn build_prints_the_module_path() {
    let output = hecaton(&["build", "examples/guests/square"], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let path = stdout(&output);
    let path = Path::new(path.trim_end());
    assert!(
        path.ends_with("wasm32-wasip1/release/square.wasm"),
        "{}",
        path.display()
    );
    assert!(path.is_file());
}

#[test]
fn build_of_a_folder_without_a_crate_is_a_usage_error() {
    let output = hecaton(&["build", "tests/fixtures"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("without a Cargo.toml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn several_arguments_are_a_json_array_and_words_are_strings() {
    let output = hecaton(&["run", PROBE, "--invoke", "scale", "[1, 2]", "3"], b"");
    assert_eq!(stdout(&output), "[3.0,6.0]\n", "{}", stderr(&output));
    let output = hecaton(
        &[
            "run",
            hecaton_tests::guests::GREET,
            "--invoke",
            "greet",
            "Process-0",
        ],
        b"",
    );
    assert!(
        stdout(&output).starts_with("\"Child process Process-0 is running"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn guest_error_exits_1_with_the_message_on_stderr() {
    let output = hecaton(&["run", PROBE, "--invoke", "checked_divide", "1", "0"], b"");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("guest error: cannot divide 1 by 0"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn panic_exits_1_with_the_panic_message() {
    let output = hecaton(&["run", PROBE, "--invoke", "explode", "now"], b"");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("guest panic: exploded: now"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn trap_exits_3_naming_the_trap() {
    let path = fixture("trap-unreachable.wat");
    let output = hecaton(&["run", path.to_str().unwrap(), "--invoke", "boom"], b"");
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("unreachable"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn load_error_exits_2_naming_the_file_and_import() {
    let path = fixture("unknown-import.wat");
    let output = hecaton(
        &["run", path.to_str().unwrap(), "--invoke", "square", "1"],
        b"",
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("unknown-import.wat") && message.contains("env::launch_missiles"),
        "{message}"
    );
}

#[test]
fn unknown_task_exits_2_listing_the_tasks() {
    let output = hecaton(&["run", SQUARE, "--invoke", "cube", "2"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no task `cube`; its tasks: square"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn no_invoke_on_a_module_without_a_command_lists_the_tasks() {
    let output = hecaton(&["run", SQUARE], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--invoke (its tasks: square)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn command_runs_with_argv_stdio_and_exit_code() {
    let output = hecaton(&["run", ECHO, "--", "a", "--flag", "exit=5"], b"piped in");
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert_eq!(stdout(&output), "a --flag exit=5\npiped in");
    assert_eq!(stderr(&output), "to stderr");
}

#[test]
fn command_exit_code_zero() {
    let output = hecaton(&["run", ECHO], b"");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "\n");
}

#[test]
fn help_lists_the_exit_codes() {
    let output = hecaton(&["--help"], b"");
    assert!(
        stdout(&output).contains("130  interrupted"),
        "{}",
        stdout(&output)
    );
}
