//! The `hecaton` binary as a whole (`--help`, completions), and the helpers every CLI test uses:
//! [`hecaton`] runs the real binary, [`assert_exit`], [`assert_stdout`] and [`assert_stderr_has`]
//! show its stderr when they fail. The subcommands' tests are `cli_run`, `cli_map`, `cli_build`
//! and `cli_inspect`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use hecaton_tests::guests::{GUESTS_TARGET_DIR, ROOT};

/// `hecaton ARGS` from the repository's root, ready to spawn: guest crates build into the tests'
/// warm guest target folder, compiled modules go to the tests' cache.
pub(crate) fn hecaton_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hecaton"));
    command
        .args(args)
        .current_dir(ROOT)
        .env("CARGO_TARGET_DIR", GUESTS_TARGET_DIR)
        .env(
            "HECATON_CACHE_DIR",
            std::env::temp_dir().join("hecaton-tests-cache"),
        );
    command
}

/// Runs `hecaton ARGS` with `stdin`.
pub(crate) fn hecaton(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = hecaton_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hecaton");
    // Written on a thread of its own: a map writes outputs while it reads, and a pipe's buffer
    // holds only so much of either.
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // A command that exits before reading all of it closes the pipe; that is its business.
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

/// Asserts that `output`'s stderr holds `text`, showing the stderr when it does not.
#[track_caller]
pub(crate) fn assert_stderr_has(output: &Output, text: &str) {
    let stderr = stderr(output);
    assert!(stderr.contains(text), "stderr lacks {text:?}:\n{stderr}");
}

/// Asserts that `hecaton` exited with `code`, showing its stderr when it did not.
#[track_caller]
pub(crate) fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status {}, stderr:\n{}",
        output.status,
        stderr(output)
    );
}

/// Asserts that `hecaton`'s stdout is `expected`, showing its stderr when it is not.
#[track_caller]
pub(crate) fn assert_stdout(output: &Output, expected: &str) {
    assert_eq!(stdout(output), expected, "stderr:\n{}", stderr(output));
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_the_exit_codes() {
    let output = hecaton(&["--help"], b"");
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("130  interrupted"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = hecaton(&["completions", shell], b"");
        assert_exit(&output, 0);
        assert!(stdout(&output).contains("hecaton"), "{shell}");
        assert!(
            stdout(&output).contains("max-memory"),
            "{shell}: the flags are completed"
        );
    }
}
